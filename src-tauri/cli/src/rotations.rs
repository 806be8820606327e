//! Rotation commands: `rotate` (with `--dry-run`), `rotations`, `resume`, `rotation-action`.

use keyward_core::rotation::{NewExpiry, RotationAction, RotationPlanArgs, RotationStartArgs};

use crate::context::{Ctx, resolve_key, resolve_profile};
use crate::error::CliError;
use crate::output::{print_json, print_rotation};
use crate::rotate;

pub async fn rotate(
    ctx: &Ctx,
    key: &str,
    profile: Option<&str>,
    delete_at_once: bool,
    expires: Option<NewExpiry>,
    dry_run: bool,
) -> Result<(), CliError> {
    let service = &ctx.service;
    let profile = resolve_profile(service, profile)?;
    let key_hash = resolve_key(service, &profile, key).await?;
    // With --json only the dry run prints the plan (a script reads one JSON document).
    if dry_run || !ctx.json {
        let plan = service
            .rotation_plan(&RotationPlanArgs {
                profile_id: profile.id.clone(),
                key_hash: key_hash.clone(),
                new_expiry: expires,
            })
            .await?;
        if ctx.json {
            return print_json(&plan);
        }
        for line in rotate::plan_lines(&plan) {
            println!("{line}");
        }
        if dry_run {
            println!("(dry run: nothing was changed)");
            return Ok(());
        }
    }
    let view = service
        .rotation_start(RotationStartArgs {
            profile_id: profile.id.clone(),
            key_hash,
            delete_at_once,
            new_expiry: expires,
        })
        .await?;
    print_rotation(&view, ctx.json)
}

pub fn list(ctx: &Ctx, profile: Option<&str>, all: bool) -> Result<(), CliError> {
    let profile_id = match profile {
        Some(profile) => Some(resolve_profile(&ctx.service, Some(profile))?.id),
        None => None,
    };
    let views = ctx.service.rotations(profile_id.as_deref(), !all)?;
    if ctx.json {
        return print_json(&views);
    }
    if views.is_empty() {
        println!("No {}rotations.", if all { "" } else { "unfinished " });
    }
    for view in &views {
        print_rotation(view, false)?;
    }
    Ok(())
}

pub async fn resume(ctx: &Ctx) -> Result<(), CliError> {
    let views = ctx.service.resume_rotations().await?;
    let ticked = ctx.service.rotation_tick().await?;
    let mut all = views;
    for view in ticked {
        if !all.iter().any(|seen| seen.id == view.id) {
            all.push(view);
        }
    }
    if ctx.json {
        return print_json(&all);
    }
    if all.is_empty() {
        println!("No unfinished rotations.");
    }
    for view in &all {
        print_rotation(view, false)?;
    }
    Ok(())
}

pub async fn action(ctx: &Ctx, id: &str, action: RotationAction) -> Result<(), CliError> {
    let view = ctx.service.rotation_action(id, action).await?;
    print_rotation(&view, ctx.json)
}
