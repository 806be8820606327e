//! Walks the chain in seq order and names the first problem: an entry whose hash does not match its
//! fields (edited), a gap (removed), an entry the next one skips over (inserted), an entry that
//! belongs elsewhere in the chain (reordered), or a log that ends before (truncated) or after
//! (inserted) the head kept in the settings table.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::AuditEntry;
use super::chain::{GENESIS_HASH, entry_hash};
use crate::Error;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum AuditProblemKind {
    Edited,
    Removed,
    Inserted,
    Reordered,
    Truncated,
}

/// The first thing wrong, at `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditProblem {
    #[ts(type = "number")]
    pub seq: i64,
    pub kind: AuditProblemKind,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditHead {
    #[ts(type = "number")]
    pub seq: i64,
    pub hash: String,
}

/// `ok` with the number of entries checked, or the first problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditVerification {
    pub ok: bool,
    #[ts(type = "number")]
    pub count: u64,
    pub head: Option<AuditHead>,
    pub problem: Option<AuditProblem>,
}

/// Verifies the whole log of `store`.
pub fn verify(store: &Store) -> Result<AuditVerification, Error> {
    let entries = store.audit_chain()?;
    let head = store.audit_head()?;
    let count = entries.len() as u64;
    let problem = find_problem(&entries, head.as_ref().map(|h| (h.seq, h.hash.as_str())));
    Ok(AuditVerification {
        ok: problem.is_none(),
        count,
        head: head.map(|head| AuditHead {
            seq: head.seq,
            hash: head.hash,
        }),
        problem,
    })
}

fn problem(seq: i64, kind: AuditProblemKind, message: String) -> Option<AuditProblem> {
    Some(AuditProblem { seq, kind, message })
}

/// Each entry's position in the chain as its links say (1 for the one after genesis), by index.
fn chain_positions(entries: &[AuditEntry]) -> HashMap<usize, i64> {
    let by_prev: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.prev_hash.as_str(), index))
        .collect();
    let mut positions = HashMap::new();
    let mut hash = GENESIS_HASH;
    let mut position = 1;
    while let Some(&index) = by_prev.get(hash) {
        if positions.insert(index, position).is_some() {
            break; // a loop (a forged link back): stop
        }
        hash = entries[index].hash.as_str();
        position += 1;
    }
    positions
}

pub(crate) fn find_problem(
    entries: &[AuditEntry],
    head: Option<(i64, &str)>,
) -> Option<AuditProblem> {
    use AuditProblemKind::*;
    let hashes: HashMap<&str, usize> = entries
        .iter()
        .enumerate()
        .map(|(index, entry)| (entry.hash.as_str(), index))
        .collect();
    let positions = chain_positions(entries);
    for (index, entry) in entries.iter().enumerate() {
        let prev_hash = index
            .checked_sub(1)
            .map_or(GENESIS_HASH, |prev| entries[prev].hash.as_str());
        let expected_seq = index.checked_sub(1).map_or(1, |prev| entries[prev].seq + 1);
        // The entry before this one is skipped over by this one's link: it was put in between.
        if index >= 2 && entry.prev_hash == entries[index - 2].hash {
            let inserted = &entries[index - 1];
            return problem(
                inserted.seq,
                Inserted,
                format!(
                    "entry {} is not part of the chain: entry {} links to entry {}",
                    inserted.seq,
                    entry.seq,
                    entries[index - 2].seq
                ),
            );
        }
        if index == 1 && entry.prev_hash == GENESIS_HASH {
            return problem(
                entries[0].seq,
                Inserted,
                format!("entry {} was put before the first entry", entries[0].seq),
            );
        }
        if entry_hash(entry) != entry.hash {
            let moved = positions
                .get(&index)
                .filter(|&&position| position != entry.seq)
                .map(|position| {
                    let mut original = entry.clone();
                    original.seq = *position;
                    entry_hash(&original) == entry.hash
                })
                .unwrap_or(false);
            if moved {
                return problem(
                    entry.seq,
                    Reordered,
                    format!(
                        "entry {} was written as entry {}: entries were reordered",
                        entry.seq, positions[&index]
                    ),
                );
            }
            return problem(
                entry.seq,
                Edited,
                format!("entry {} does not match its hash: it was edited", entry.seq),
            );
        }
        if entry.prev_hash != prev_hash {
            if hashes.contains_key(entry.prev_hash.as_str()) {
                return problem(
                    entry.seq,
                    Reordered,
                    format!(
                        "entry {} links to an entry other than the one before it: entries were \
                         reordered",
                        entry.seq
                    ),
                );
            }
            return problem(
                expected_seq,
                Removed,
                format!(
                    "entry {} links to an entry that is missing: entries {expected_seq}..{} were \
                     removed",
                    entry.seq,
                    entry.seq - 1
                ),
            );
        }
        if entry.seq != expected_seq {
            return problem(
                expected_seq,
                Removed,
                format!("entries {expected_seq}..{} are missing", entry.seq - 1),
            );
        }
    }
    let last = entries.last().map(|entry| (entry.seq, entry.hash.as_str()));
    match (head, last) {
        (None, None) => None,
        (None, Some((seq, _))) => problem(
            1.min(seq),
            Inserted,
            "the log has entries but no recorded head: it was written outside Keyward".to_owned(),
        ),
        (Some((head_seq, _)), None) => problem(
            1,
            Truncated,
            format!("the log is empty but {head_seq} entries were recorded"),
        ),
        (Some((head_seq, head_hash)), Some((seq, hash))) => {
            if seq < head_seq {
                problem(
                    seq + 1,
                    Truncated,
                    format!("the log ends at entry {seq} but {head_seq} entries were recorded"),
                )
            } else if seq > head_seq {
                problem(
                    head_seq + 1,
                    Inserted,
                    format!("entries after {head_seq}, the last one recorded, were added"),
                )
            } else if hash != head_hash {
                problem(
                    seq,
                    Edited,
                    format!("entry {seq} is not the last entry recorded"),
                )
            } else {
                None
            }
        }
    }
}
