//! The chain: each entry's hash is SHA-256 over a canonical encoding of every stored field and the
//! previous entry's hash. Canonical: a version tag, then each field in a fixed order as a presence
//! byte and a length-prefixed UTF-8 value, so no two different entries encode alike (no separator
//! ambiguity, `None` distinct from `""`). Times are encoded as stored (fixed RFC 3339, microseconds).

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const VERSION_TAG: &[u8] = b"keyward-audit-v1";

/// How `at` is stored and hashed: one fixed format, so it reads back to the same text.
pub(crate) fn format_at(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The fields of an entry as stored, in hashing order.
pub(crate) struct ChainFields<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub profile_id: &'a str,
    pub profile_name: &'a str,
    pub front_end: &'a str,
    pub action: &'a str,
    pub key_hash: Option<&'a str>,
    pub key_name: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub outcome: &'a str,
    pub error_kind: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub prev_hash: &'a str,
}

fn put(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    }
}

pub(crate) fn hash_fields(fields: &ChainFields<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(VERSION_TAG);
    hasher.update(fields.seq.to_be_bytes());
    for value in [
        Some(fields.at),
        Some(fields.profile_id),
        Some(fields.profile_name),
        Some(fields.front_end),
        Some(fields.action),
        fields.key_hash,
        fields.key_name,
        fields.before,
        fields.after,
        Some(fields.outcome),
        fields.error_kind,
        fields.error_message,
        Some(fields.prev_hash),
    ] {
        put(&mut hasher, value);
    }
    hex::encode(hasher.finalize())
}

/// The hash a stored entry should have (what `verify` recomputes).
pub fn entry_hash(entry: &super::AuditEntry) -> String {
    hash_fields(&ChainFields {
        seq: entry.seq,
        at: &format_at(entry.at),
        profile_id: &entry.profile_id,
        profile_name: &entry.profile_name,
        front_end: entry.front_end.into(),
        action: entry.action.as_str(),
        key_hash: entry.key_hash.as_deref(),
        key_name: entry.key_name.as_deref(),
        before: entry.before.as_deref(),
        after: entry.after.as_deref(),
        outcome: entry.outcome.into(),
        error_kind: entry.error_kind.as_deref(),
        error_message: entry.error_message.as_deref(),
        prev_hash: &entry.prev_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(key_hash: Option<&'a str>, key_name: Option<&'a str>) -> ChainFields<'a> {
        ChainFields {
            seq: 1,
            at: "2026-12-07T10:00:00.000000Z",
            profile_id: "p",
            profile_name: "Work",
            front_end: "app",
            action: "key_create",
            key_hash,
            key_name,
            before: None,
            after: None,
            outcome: "ok",
            error_kind: None,
            error_message: None,
            prev_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn no_two_encodings_collide_by_shifting_text_between_fields() {
        let a = hash_fields(&fields(Some("ab"), Some("c")));
        let b = hash_fields(&fields(Some("a"), Some("bc")));
        let c = hash_fields(&fields(None, Some("")));
        let d = hash_fields(&fields(Some(""), None));
        assert_ne!(a, b);
        assert_ne!(c, d);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn the_stored_time_format_reads_back_to_the_same_text() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = format_at(at);
        assert_eq!(text, "2026-12-07T10:00:00.123456Z");
        let back = DateTime::parse_from_rfc3339(&text)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_at(back), text);
    }
}
