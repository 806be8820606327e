//! `profiles` and `profile-add`: the accounts Keyward knows, and adding one (its management key read
//! from the environment or standard input, stored in the keychain).

use keyward_core::ipc::ProfileAddArgs;

use crate::context::{Ctx, read_management_key};
use crate::error::CliError;
use crate::output::print_json;

pub fn list(ctx: &Ctx) -> Result<(), CliError> {
    let state = ctx.service.app_state()?;
    if ctx.json {
        return print_json(&state.profiles);
    }
    if state.profiles.is_empty() {
        println!("No profiles yet: add one with `keyward-cli profile-add --name NAME`.");
    }
    for profile in &state.profiles {
        let active = state.active_profile_id.as_deref() == Some(profile.id.as_str());
        println!(
            "{} {:<24} {}  {}",
            if active { "*" } else { " " },
            profile.name,
            profile.id,
            profile.base_url
        );
    }
    Ok(())
}

pub async fn add(
    ctx: &Ctx,
    name: &str,
    base_url: Option<&str>,
    workspace_id: Option<&str>,
) -> Result<(), CliError> {
    let management_key = read_management_key()?;
    let profile = ctx
        .service
        .profile_add(ProfileAddArgs {
            name: name.to_owned(),
            base_url: base_url.map(str::to_owned),
            workspace_id: workspace_id.map(str::to_owned),
            management_key,
        })
        .await?;
    if ctx.json {
        return print_json(&profile);
    }
    println!(
        "Added profile {} ({}); its management key is in the keychain.",
        profile.name, profile.id
    );
    Ok(())
}
