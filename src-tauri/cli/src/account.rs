//! `check` (GET /key for a key read from standard input or an environment variable, never an
//! argument; nothing stored) and `credits` (the account's credits and usage).

use std::io::{IsTerminal, Read};

use keyward_core::ipc::{KeyCheckArgs, ProfileScopedArgs};
use secrecy::SecretString;

use crate::Cli;
use crate::context::{Ctx, Target, resolve_profile};
use crate::error::CliError;
use crate::output::print_json;

#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// Read the key from this environment variable instead of standard input.
    #[arg(long, value_name = "VAR")]
    pub from_env: Option<String>,
    /// Profile whose API base URL to ask (wins over --base-url).
    #[arg(long)]
    pub profile: Option<String>,
    /// The API base URL to ask (default: the active profile's, else OpenRouter's).
    #[arg(long, env = "KEYWARD_BASE_URL")]
    pub base_url: Option<String>,
}

pub async fn check(cli: &Cli, args: &CheckArgs) -> Result<(), CliError> {
    let secret = read_checked_key(args.from_env.as_deref())?;
    let ctx = Ctx::open(cli)?;
    let base_url = match (&args.profile, &args.base_url) {
        (Some(profile), _) => Some(resolve_profile(&ctx.service, Some(profile))?.base_url),
        (None, Some(url)) => Some(url.clone()),
        (None, None) => resolve_profile(&ctx.service, None)
            .ok()
            .map(|profile| profile.base_url),
    };
    let checked = ctx
        .service
        .key_check(KeyCheckArgs { secret, base_url })
        .await?;
    if ctx.json {
        return print_json(&checked);
    }
    let money = |value: Option<f64>| value.map_or_else(|| "—".to_owned(), |v| format!("${v:.2}"));
    println!("label          {}", checked.label);
    println!(
        "kind           {}",
        if checked.is_management_key {
            "management key"
        } else {
            "inference key"
        }
    );
    println!(
        "usage          ${:.2} (today ${:.2})",
        checked.usage, checked.usage_daily
    );
    println!("limit          {}", money(checked.limit));
    println!("remaining      {}", money(checked.limit_remaining));
    println!(
        "expires        {}",
        checked
            .expires_at
            .map_or_else(|| "never".to_owned(), |at| at.to_rfc3339())
    );
    Ok(())
}

fn read_checked_key(from_env: Option<&str>) -> Result<SecretString, CliError> {
    let key = match from_env {
        Some(var) => std::env::var(var)
            .map_err(|_| CliError::Usage(format!("the environment variable {var} is not set")))?,
        None => {
            let mut stdin = std::io::stdin();
            if stdin.is_terminal() {
                rpassword::prompt_password("Key to check (not shown): ").map_err(CliError::Stdin)?
            } else {
                let mut key = String::new();
                stdin.read_to_string(&mut key).map_err(CliError::Stdin)?;
                key
            }
        }
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(CliError::Usage(
            "no key to check: pipe it on standard input or name a variable with --from-env".into(),
        ));
    }
    Ok(SecretString::from(key))
}

#[derive(clap::Args, Debug, Clone)]
pub struct CreditsArgs {
    #[command(flatten)]
    pub target: Target,
}

pub async fn credits(cli: &Cli, args: &CreditsArgs) -> Result<(), CliError> {
    let (ctx, profile) = Ctx::for_keys(cli, &args.target)?;
    let credits = ctx
        .service
        .credits(ProfileScopedArgs {
            profile_id: profile.id.clone(),
        })
        .await?;
    if ctx.json {
        return print_json(&serde_json::json!({
            "total_credits": credits.total_credits,
            "total_usage": credits.total_usage,
            "remaining": credits.remaining(),
        }));
    }
    println!("credits    ${:.2}", credits.total_credits);
    println!("usage      ${:.2}", credits.total_usage);
    println!("remaining  ${:.2}", credits.remaining());
    Ok(())
}
