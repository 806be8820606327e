//! Where each key lives. The person picks folders (their projects); a scan reads the `.env*` files
//! under them ([`is_env_file_name`]) and the keychain entries Keyward deploys rotated secrets to
//! (rotation policies' keychain targets), finds every OpenRouter secret in them, hashes it with
//! SHA-256 (OpenRouter's key hash: the hex digest of the whole secret, e.g. `sk-or-v1-…`) and keeps
//! only the hash with where it was found (path, variable, line, the file's mtime). The value itself
//! is never stored, logged, returned or sent: it lives in a buffer only while it is hashed.
//!
//! [`classify`] then matches each place against what Keyward knows (every profile's cached key
//! list and the rotation journal): a live key, the old key of a completed rotation, a key that no
//! longer exists, or a key of another account.

mod classify;
mod scan;
mod store;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::api::endpoint::{KEY_PREFIX, is_key_char};

pub use classify::{Knowledge, KnownKey, RotatedKey, classify, group, place_message};
pub use scan::{ScanOptions, scan_folders};

/// The setting (JSON list of absolute paths) holding the folders to scan.
pub const FOLDERS_SETTING: &str = "locate.folders";
/// Files larger than this are not read (an `.env` file is a few KiB): reported as skipped.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The fewest characters (prefix included) a value needs to count as a secret: OpenRouter keys
/// are 73 (`sk-or-v1-` + 64 hex digits); masked labels (`sk-or-v1-d35...55d`) are far shorter.
pub const MIN_SECRET_LEN: usize = 32;
/// At most this many folders may be chosen.
pub const MAX_FOLDERS: usize = 64;

/// Folders never entered: version control, dependencies and build output (heavy, and nobody's
/// configuration), caches and virtual environments.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".gradle",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".cache",
    ".terraform",
    "Pods",
    "DerivedData",
];

/// Which file names are scanned: `.env`, `.env.<anything>` (`.env.local`, `.env.production`,
/// `.env.development.local`, `.env.example`, …) and `.envrc` (direnv). Keyward's own deploy
/// backups (`….keyward-backup`) are not: they hold replaced secrets on purpose.
pub fn is_env_file_name(name: &str) -> bool {
    if name.ends_with(".keyward-backup") {
        return false;
    }
    name == ".env" || name == ".envrc" || name.starts_with(".env.")
}

/// OpenRouter's key hash of a secret: the SHA-256 hex digest of its bytes.
pub fn secret_hash(secret: &[u8]) -> String {
    hex::encode(Sha256::digest(secret))
}

/// One secret found in a line: its hash and the variable it is assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSecret {
    pub key_hash: String,
    /// The variable name before `=` or `:` (`export` dropped); empty when the line has none.
    pub variable: String,
}

/// Every secret-shaped value in `line` ([`KEY_PREFIX`] then key characters, at least
/// [`MIN_SECRET_LEN`] long, not inside a longer word), hashed.
pub fn secrets_in_line(line: &[u8]) -> Vec<LineSecret> {
    let prefix = KEY_PREFIX.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = find(&line[at..], prefix) {
        let start = at + offset;
        let mut end = start + prefix.len();
        while end < line.len() && is_key_char(line[end]) {
            end += 1;
        }
        let inside_word = start > 0 && is_key_char(line[start - 1]);
        if !inside_word && end - start >= MIN_SECRET_LEN {
            found.push(LineSecret {
                key_hash: secret_hash(&line[start..end]),
                variable: variable_of(&line[..start]),
            });
        }
        at = end;
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `NAME` of `NAME=…`, `export NAME=…` or `NAME: …` (`line` is the text before the secret, so no
/// copy of the secret is made); empty otherwise.
fn variable_of(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_start();
    let text = text.strip_prefix("export ").unwrap_or(text).trim_start();
    let name: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    let rest = text[name.len()..].trim_start();
    if !name.is_empty() && (rest.starts_with('=') || rest.starts_with(':')) {
        name
    } else {
        String::new()
    }
}

// --- Types (cross to the UI) -----------------------------------------------------------------------

/// What kind of place holds a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PlaceKind {
    /// A line of a `.env*` file.
    EnvFile,
    /// A keychain entry a rotation policy deploys to.
    Keychain,
}

impl PlaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PlaceKind::EnvFile => "env_file",
            PlaceKind::Keychain => "keychain",
        }
    }
}

/// One place a secret was found. Holds its hash, never the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Place {
    pub kind: PlaceKind,
    /// The file's absolute, real path (links resolved), or the keychain entry's service.
    pub path: String,
    /// The variable the secret is assigned to (empty when the line names none), or the keychain
    /// entry's account.
    pub variable: String,
    /// 1-based line number in the file; `null` for keychain entries.
    pub line: Option<u32>,
    /// SHA-256 hex of the secret: OpenRouter's key hash.
    pub key_hash: String,
    /// The file's modification time; `null` for keychain entries.
    pub modified_at: Option<DateTime<Utc>>,
    pub found_at: DateTime<Utc>,
}

impl Place {
    /// `/app/.env:3 (OPENROUTER_API_KEY)` or `keychain my-app / prod`.
    pub fn describe(&self) -> String {
        match self.kind {
            PlaceKind::EnvFile => {
                let line = self.line.map(|n| format!(":{n}")).unwrap_or_default();
                if self.variable.is_empty() {
                    format!("{}{line}", self.path)
                } else {
                    format!("{}{line} ({})", self.path, self.variable)
                }
            }
            PlaceKind::Keychain => format!("keychain {} / {}", self.path, self.variable),
        }
    }
}

/// Why part of a tree was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// Holds NUL bytes: not a text file.
    Binary,
    /// A folder or file that could not be opened (permissions, I/O error) or a missing folder.
    Unreadable,
    /// A folder link pointing outside the chosen folders (add its target to scan it).
    LinkNotFollowed,
    /// A `.env*` link whose target does not exist.
    BrokenLink,
    /// A keychain entry that could not be read (locked, denied).
    Keychain,
}

/// Something the scan skipped or could not read; the scan went on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanProblem {
    pub kind: ProblemKind,
    pub path: String,
    pub message: String,
}

/// How far a running scan has got (sent every few dozen folders).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanProgress {
    pub dirs_scanned: u32,
    pub files_scanned: u32,
    pub places_found: u32,
    /// The folder being read.
    pub current: String,
}

/// What a scan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ScanSummary {
    pub folders: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub dirs_scanned: u32,
    pub files_scanned: u32,
    pub keychain_entries_checked: u32,
    pub places_found: u32,
    pub problems: Vec<ScanProblem>,
    /// Stopped by the person: nothing was saved, the previous scan's findings stand.
    pub cancelled: bool,
    /// The findings replaced the stored ones (a scan of the saved folders that ran to the end).
    pub saved: bool,
}

/// How a found secret relates to the keys Keyward knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PlaceStatus {
    /// A key in some profile's key list.
    Live,
    /// The old key of a completed rotation: this place still holds what the rotation replaced.
    RotatedAway,
    /// A key Keyward knew (rotation journal, held secrets) that no longer exists.
    Gone,
    /// Not a key of any profile: another account's, or one Keyward never saw.
    Foreign,
}

/// The key a rotation put in place of the one found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Replacement {
    pub key_hash: String,
    pub key_name: String,
    pub rotated_at: Option<DateTime<Utc>>,
}

/// A place with what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LocatedPlace {
    pub place: Place,
    pub status: PlaceStatus,
    pub profile_id: Option<String>,
    pub profile_name: Option<String>,
    /// The key's name (for rotated-away and gone keys, the name it had).
    pub key_name: Option<String>,
    pub key_disabled: bool,
    pub replaced_by: Option<Replacement>,
    /// One sentence for the report ("the old key is still in /app/.env after the rotation…").
    pub message: String,
}

/// A live key with every place it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyPlaces {
    pub profile_id: String,
    pub profile_name: String,
    pub key_hash: String,
    pub key_name: String,
    pub key_disabled: bool,
    pub places: Vec<Place>,
}

/// The whole map: live keys with their places, and the places holding anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LocateReport {
    pub folders: Vec<String>,
    /// `null` before the first saved scan.
    pub last_scan: Option<ScanSummary>,
    /// Live keys found at least once, by profile then name.
    pub keys: Vec<KeyPlaces>,
    /// Rotated-away, gone and foreign places, in that order.
    pub stale: Vec<LocatedPlace>,
}

/// Where one key was found ("in N places").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyLocations {
    pub key_hash: String,
    pub places: Vec<Place>,
    /// Places still holding a key this one replaced in a completed rotation ("the old key is still
    /// in ~/proj/.env after the rotation").
    pub replaced_key_places: Vec<Place>,
    /// When the findings were made; `null` before the first saved scan.
    pub scanned_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // A made-up, key-shaped fixture (never a real key).
    const KEY: &str = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn env_file_names() {
        for name in [
            ".env",
            ".env.local",
            ".env.production",
            ".envrc",
            ".env.example",
        ] {
            assert!(is_env_file_name(name), "{name}");
        }
        for name in [
            "env",
            "x.env",
            ".environment",
            ".env.abc.keyward-backup",
            "README",
        ] {
            assert!(!is_env_file_name(name), "{name}");
        }
    }

    #[test]
    fn hash_is_sha256_hex_of_the_whole_secret() {
        assert_eq!(
            secret_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn finds_secrets_with_their_variable() {
        let hash = secret_hash(KEY.as_bytes());
        for (line, variable) in [
            (format!("OPENROUTER_API_KEY={KEY}"), "OPENROUTER_API_KEY"),
            (format!("export A_KEY=\"{KEY}\""), "A_KEY"),
            (format!("  key: '{KEY}' # prod"), "key"),
            (KEY.to_owned(), ""),
        ] {
            let found = secrets_in_line(line.as_bytes());
            assert_eq!(
                found,
                [LineSecret {
                    key_hash: hash.clone(),
                    variable: variable.to_owned()
                }],
                "{line}"
            );
        }
        let two = format!("A={KEY},{KEY}x");
        assert_eq!(secrets_in_line(two.as_bytes()).len(), 2);
    }

    #[test]
    fn ignores_masked_labels_and_words() {
        assert!(secrets_in_line(b"LABEL=sk-or-v1-d35...55d").is_empty());
        assert!(secrets_in_line(format!("X=ask-or-{}", "a".repeat(40)).as_bytes()).is_empty());
        assert!(secrets_in_line(b"nothing here").is_empty());
    }
}
