//! `keyward-cli tag` (add/remove a key's tags, set its environment, project, owner and notes) and
//! `keyward-cli tags` (each tag of a profile with its key count). Local metadata only: nothing here
//! is sent to OpenRouter; the rules are keyward-core's (`metadata`).

use keyward_core::Keyward;
use keyward_core::ipc::{KeyRow, KeysListArgs};
use keyward_core::metadata::KeyMetadataEdit;
use keyward_core::store::Profile;

use crate::error::CliError;

/// `tag`'s options (the key and profile are resolved by the caller's usual rules).
#[derive(clap::Args)]
pub struct TagArgs {
    /// The key: its hash or exact name.
    pub key: String,
    /// Profile name or id (default: the active profile).
    #[arg(long)]
    pub profile: Option<String>,
    /// Tags to add, comma-separated (lower-cased; letters, digits and - _ . : /).
    #[arg(long, value_delimiter = ',')]
    pub add: Vec<String>,
    /// Tags to remove, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub remove: Vec<String>,
    /// The key's environment ("" clears it).
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// The key's project ("" clears it).
    #[arg(long)]
    pub project: Option<String>,
    /// The key's owner ("" clears it).
    #[arg(long)]
    pub owner: Option<String>,
    /// The key's notes.
    #[arg(long, conflicts_with = "clear_notes")]
    pub notes: Option<String>,
    /// Removes the key's notes.
    #[arg(long)]
    pub clear_notes: bool,
}

/// `tags`'s options.
#[derive(clap::Args)]
pub struct TagsArgs {
    /// Profile name or id (default: the active profile).
    #[arg(long)]
    pub profile: Option<String>,
    /// Count over the local cache instead of refreshing the key list first.
    #[arg(long)]
    pub cached: bool,
}

/// Applies the edit to the key and prints its row (JSON: the key list's row, metadata included).
pub async fn tag(
    service: &Keyward,
    profile: &Profile,
    args: &TagArgs,
    json: bool,
) -> Result<(), CliError> {
    let edit = KeyMetadataEdit {
        add_tags: args.add.clone(),
        remove_tags: args.remove.clone(),
        environment: args.environment.clone(),
        project: args.project.clone(),
        owner: args.owner.clone(),
        notes: args.notes.clone(),
        clear_notes: args.clear_notes,
    };
    if edit == KeyMetadataEdit::default() {
        return Err(CliError::Usage(
            "nothing to change: pass --add, --remove, --env, --project, --owner, --notes or --clear-notes"
                .to_owned(),
        ));
    }
    let hash = resolve(service, profile, &args.key).await?;
    let row = service.key_metadata_edit(&profile.id, &hash, &edit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&row)?);
        return Ok(());
    }
    for line in describe(&row) {
        println!("{line}");
    }
    Ok(())
}

/// Prints each tag with its key count, most used first.
pub async fn tags(
    service: &Keyward,
    profile: &Profile,
    args: &TagsArgs,
    json: bool,
) -> Result<(), CliError> {
    if !args.cached {
        // Counts over the keys that exist now (a refresh that can't reach OpenRouter falls back
        // to the cache inside the service).
        service
            .keys_list(list_args(profile, true))
            .await
            .map(drop)?;
    }
    let counts = service.key_tags(&profile.id)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&counts)?);
        return Ok(());
    }
    if counts.is_empty() {
        println!(
            "No tags in profile {}: add some with `keyward-cli tag KEY --add TAG`.",
            profile.name
        );
    }
    for count in &counts {
        println!(
            "{:<40} {:>5} {}",
            count.tag,
            count.keys,
            if count.keys == 1 { "key" } else { "keys" }
        );
    }
    Ok(())
}

fn list_args(profile: &Profile, refresh: bool) -> KeysListArgs {
    KeysListArgs {
        profile_id: profile.id.clone(),
        include_disabled: true,
        include_expired: true,
        refresh,
    }
}

/// A key by hash or exact name (refused when several keys share the name).
async fn resolve(service: &Keyward, profile: &Profile, wanted: &str) -> Result<String, CliError> {
    let snapshot = service.keys_list(list_args(profile, true)).await?;
    if let Some(key) = snapshot.keys.iter().find(|key| key.key.hash == wanted) {
        return Ok(key.key.hash.clone());
    }
    let named: Vec<&KeyRow> = snapshot
        .keys
        .iter()
        .filter(|key| key.key.name == wanted)
        .collect();
    match named.as_slice() {
        [one] => Ok(one.key.hash.clone()),
        [] => Err(CliError::NotFound(format!(
            "no key with the hash or name `{wanted}` in profile {}",
            profile.name
        ))),
        several => Err(CliError::Usage(format!(
            "{} keys are named `{wanted}`: pass the hash of the one to tag",
            several.len()
        ))),
    }
}

/// The key's metadata as text lines.
fn describe(row: &KeyRow) -> Vec<String> {
    let meta = &row.metadata;
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    let mut lines = vec![
        format!(
            "{} ({})",
            row.key.name,
            row.key.hash.get(..16).unwrap_or(&row.key.hash)
        ),
        format!(
            "  tags         {}",
            if meta.tags.is_empty() {
                "-".to_owned()
            } else {
                meta.tags.join(", ")
            }
        ),
        format!("  environment  {}", or_dash(&meta.environment)),
        format!("  project      {}", or_dash(&meta.project)),
        format!("  owner        {}", or_dash(&meta.owner)),
    ];
    if let Some(notes) = &meta.notes {
        lines.push(format!(
            "  notes        {}",
            notes.replace('\n', "\n               ")
        ));
    }
    lines
}
