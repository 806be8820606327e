//! Key commands: listing a profile's keys.

use keyward_core::ipc::KeysListArgs;

use crate::context::{Ctx, resolve_profile};
use crate::error::CliError;
use crate::output::print_json;

pub async fn list(
    ctx: &Ctx,
    profile: Option<&str>,
    cached: bool,
    include_disabled: bool,
    include_expired: bool,
) -> Result<(), CliError> {
    let profile = resolve_profile(&ctx.service, profile)?;
    let snapshot = ctx
        .service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled,
            include_expired,
            refresh: !cached,
        })
        .await?;
    if ctx.json {
        return print_json(&snapshot);
    }
    if snapshot.from_cache {
        eprintln!("(from the local cache; OpenRouter was not asked or did not answer)");
    }
    for key in &snapshot.keys {
        let limit = key
            .key
            .limit
            .map_or_else(|| "no limit".to_owned(), |limit| format!("${limit:.2}"));
        println!(
            "{:<20} {:<32} {:<9} ${:>9.2} / {:<10} {}",
            key.key.hash.get(..16).unwrap_or(&key.key.hash),
            key.key.name,
            format!("{:?}", key.status).to_lowercase(),
            key.key.usage,
            limit,
            key.key.expires_at.map_or_else(String::new, |at| format!(
                "expires {}",
                at.format("%Y-%m-%d %H:%M UTC")
            ))
        );
    }
    println!("{} keys", snapshot.keys.len());
    Ok(())
}
