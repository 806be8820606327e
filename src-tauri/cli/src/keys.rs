//! Reading keys: `list` (alias `keys`; a table, `--json` or `--csv`, with the app's filters over
//! every workspace of the account) and `get` (one key by hash or name).

use keyward_core::ipc::{Connectivity, KeyRow, KeysListArgs};

use crate::Cli;
use crate::context::{Ctx, Target, resolve_key};
use crate::error::CliError;
use crate::filter::{Filters, StatusFilter};
use crate::output::print_json;

#[derive(clap::Args, Debug, Clone)]
pub struct ListArgs {
    #[command(flatten)]
    pub target: Target,
    /// Answer from the local cache instead of asking OpenRouter.
    #[arg(long)]
    pub cached: bool,
    #[arg(long)]
    pub include_disabled: bool,
    #[arg(long)]
    pub include_expired: bool,
    #[command(flatten)]
    pub filters: Filters,
    /// Print CSV (a header line, then one line per key) instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct GetArgs {
    /// The key's hash or exact name.
    pub key: String,
    #[command(flatten)]
    pub target: Target,
}

pub async fn list(cli: &Cli, args: &ListArgs) -> Result<(), CliError> {
    let (ctx, profile) = Ctx::for_keys(cli, &args.target)?;
    if args.cached && ctx.ad_hoc {
        return Err(CliError::Usage(
            "--cached needs a stored profile (the ad-hoc mode keeps no cache)".into(),
        ));
    }
    let status = args.filters.status;
    let mut snapshot = ctx
        .service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: args.include_disabled || status == Some(StatusFilter::Disabled),
            include_expired: args.include_expired || status == Some(StatusFilter::Expired),
            refresh: !args.cached,
        })
        .await?;
    // Without a cache to fall back on (ad-hoc), a refresh that failed is the answer.
    if ctx.ad_hoc
        && let Connectivity::Offline { error, .. } | Connectivity::RateLimited { error, .. } =
            &snapshot.connectivity
    {
        return Err(CliError::Remote(error.clone()));
    }
    let now = chrono::Utc::now();
    snapshot.keys.retain(|key| args.filters.matches(key, now));
    if ctx.json {
        return print_json(&snapshot);
    }
    if snapshot.from_cache {
        eprintln!("(from the local cache; OpenRouter was not asked or did not answer)");
    }
    if args.csv {
        print!("{}", csv(&snapshot.keys));
        return Ok(());
    }
    for key in &snapshot.keys {
        println!("{}", table_line(key));
    }
    println!("{} keys", snapshot.keys.len());
    Ok(())
}

pub async fn get(cli: &Cli, args: &GetArgs) -> Result<(), CliError> {
    let (ctx, profile) = Ctx::for_keys(cli, &args.target)?;
    let key = resolve_key(&ctx.service, &profile, &args.key).await?;
    let row = ctx
        .service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: false,
        })
        .await?
        .keys
        .into_iter()
        .find(|row| row.key.hash == key)
        .ok_or_else(|| CliError::NotFound(format!("no key with the hash {key}")))?;
    if ctx.json {
        return print_json(&row);
    }
    print_key(&row);
    Ok(())
}

/// A key's fields, one per line (`get`, and `create`/`update` on standard error).
pub fn key_lines(row: &KeyRow) -> Vec<String> {
    let key = &row.key;
    let date = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(
            || "—".to_owned(),
            |at| at.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
    };
    vec![
        format!("name        {}", key.name),
        format!("hash        {}", key.hash),
        format!("label       {}", key.label),
        format!("status      {}", status_word(row)),
        format!("usage       ${:.2}", key.usage),
        format!("limit       {}", limit_text(row)),
        format!(
            "reset       {}",
            key.limit_reset
                .as_ref()
                .map_or_else(|| "never".to_owned(), ToString::to_string)
        ),
        format!(
            "BYOK usage  {} the limit",
            if key.include_byok_in_limit {
                "counts toward"
            } else {
                "does not count toward"
            }
        ),
        format!(
            "workspace   {}",
            key.workspace_id.as_deref().unwrap_or("default")
        ),
        format!("created     {}", date(key.created_at)),
        format!("expires     {}", date(key.expires_at)),
        format!("last used   {}", date(key.last_used_at)),
    ]
}

fn print_key(row: &KeyRow) {
    for line in key_lines(row) {
        println!("{line}");
    }
}

fn status_word(row: &KeyRow) -> String {
    format!("{:?}", row.status).to_lowercase()
}

fn limit_text(row: &KeyRow) -> String {
    row.key
        .limit
        .map_or_else(|| "no limit".to_owned(), |limit| format!("${limit:.2}"))
}

fn table_line(key: &KeyRow) -> String {
    format!(
        "{:<20} {:<32} {:<9} ${:>9.2} / {:<10} {}",
        key.key.hash.get(..16).unwrap_or(&key.key.hash),
        key.key.name,
        status_word(key),
        key.key.usage,
        limit_text(key),
        key.key.expires_at.map_or_else(String::new, |at| format!(
            "expires {}",
            at.format("%Y-%m-%d %H:%M UTC")
        ))
    )
}

/// The CSV columns of `list --csv`.
pub const CSV_HEADER: &str = "hash,name,label,status,usage,limit,limit_remaining,limit_reset,\
include_byok_in_limit,workspace_id,created_at,expires_at,last_used_at";

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. A field starting
/// with `=`, `+`, `-` or `@` gets a leading `'` so a spreadsheet does not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

pub fn csv(keys: &[KeyRow]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    let time = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| at.to_rfc3339());
    for row in keys {
        let key = &row.key;
        let fields = [
            Some(key.hash.clone()),
            Some(key.name.clone()),
            Some(key.label.clone()),
            Some(status_word(row)),
            Some(key.usage.to_string()),
            key.limit.map(|l| l.to_string()),
            key.limit_remaining.map(|l| l.to_string()),
            key.limit_reset.as_ref().map(ToString::to_string),
            Some(key.include_byok_in_limit.to_string()),
            key.workspace_id.clone(),
            time(key.created_at),
            time(key.expires_at),
            time(key.last_used_at),
        ];
        let line: Vec<String> = fields
            .iter()
            .map(|field| csv_field(field.as_deref().unwrap_or("")))
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
