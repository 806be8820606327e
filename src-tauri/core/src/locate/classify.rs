//! Matching found hashes to what Keyward knows: pure functions over a [`Knowledge`] snapshot (every
//! profile's cached key list, completed rotations, every hash the journal or the held-secret index
//! ever named), so the same places read differently after a refresh or a rotation without a rescan.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::{KeyPlaces, LocatedPlace, Place, PlaceStatus, Replacement};

/// A live key of some profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKey {
    pub profile_id: String,
    pub profile_name: String,
    pub name: String,
    pub disabled: bool,
}

/// The old key of a completed rotation, and what replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKey {
    pub profile_id: String,
    pub profile_name: String,
    pub old_name: String,
    pub new_hash: String,
    pub new_name: String,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What Keyward knows about key hashes, across profiles.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// Hash → the key in a cached key list (the first profile listing it wins).
    pub live: HashMap<String, KnownKey>,
    /// Old key hash of a completed rotation → the rotation's outcome.
    pub rotated: HashMap<String, RotatedKey>,
    /// Every other hash Keyward has seen (rotations' old and new keys, held secrets), with the
    /// profile and the name it had.
    pub seen: HashMap<String, (String, String, String)>,
}

impl Knowledge {
    /// Adds a live key unless another profile already lists it.
    pub fn add_live(&mut self, hash: &str, key: KnownKey) {
        self.live.entry(hash.to_owned()).or_insert(key);
    }

    /// Remembers a hash Keyward saw (`profile_id`, `profile_name`, the key's name).
    pub fn add_seen(&mut self, hash: &str, profile_id: &str, profile_name: &str, name: &str) {
        self.seen.entry(hash.to_owned()).or_insert_with(|| {
            (
                profile_id.to_owned(),
                profile_name.to_owned(),
                name.to_owned(),
            )
        });
    }
}

/// A sentence for the report, naming the place and never the secret.
pub fn place_message(located: &LocatedPlace) -> String {
    let place = located.place.describe();
    let name = located.key_name.as_deref().unwrap_or("?");
    let profile = located.profile_name.as_deref().unwrap_or("?");
    match located.status {
        PlaceStatus::Live if located.key_disabled => {
            format!("{place} holds key \"{name}\" ({profile}), which is disabled")
        }
        PlaceStatus::Live => format!("{place} holds key \"{name}\" ({profile})"),
        PlaceStatus::RotatedAway => {
            let new = located
                .replaced_by
                .as_ref()
                .map_or("?", |replacement| replacement.key_name.as_str());
            format!(
                "the old key \"{name}\" ({profile}) is still in {place} after the rotation that \
                 replaced it with \"{new}\""
            )
        }
        PlaceStatus::Gone => {
            format!("{place} holds key \"{name}\" ({profile}), which no longer exists")
        }
        PlaceStatus::Foreign => format!(
            "{place} holds a key that belongs to no profile of Keyward (another account's, or one \
             Keyward never saw)"
        ),
    }
}

/// Each place with what it holds. A completed rotation's old key is `RotatedAway` even while a
/// stale cache still lists it.
pub fn classify(places: &[Place], knowledge: &Knowledge) -> Vec<LocatedPlace> {
    places
        .iter()
        .map(|place| {
            let hash = place.key_hash.as_str();
            let mut located = LocatedPlace {
                place: place.clone(),
                status: PlaceStatus::Foreign,
                profile_id: None,
                profile_name: None,
                key_name: None,
                key_disabled: false,
                replaced_by: None,
                message: String::new(),
            };
            if let Some(rotated) = knowledge.rotated.get(hash) {
                located.status = PlaceStatus::RotatedAway;
                located.profile_id = Some(rotated.profile_id.clone());
                located.profile_name = Some(rotated.profile_name.clone());
                located.key_name = Some(rotated.old_name.clone());
                located.replaced_by = Some(Replacement {
                    key_hash: rotated.new_hash.clone(),
                    key_name: rotated.new_name.clone(),
                    rotated_at: rotated.finished_at,
                });
            } else if let Some(key) = knowledge.live.get(hash) {
                located.status = PlaceStatus::Live;
                located.profile_id = Some(key.profile_id.clone());
                located.profile_name = Some(key.profile_name.clone());
                located.key_name = Some(key.name.clone());
                located.key_disabled = key.disabled;
            } else if let Some((profile_id, profile_name, name)) = knowledge.seen.get(hash) {
                located.status = PlaceStatus::Gone;
                located.profile_id = Some(profile_id.clone());
                located.profile_name = Some(profile_name.clone());
                located.key_name = Some(name.clone());
            }
            located.message = place_message(&located);
            located
        })
        .collect()
}

/// Live places grouped per key (by profile name, key name), and the rest in report order
/// (rotated away, gone, foreign).
pub fn group(located: Vec<LocatedPlace>) -> (Vec<KeyPlaces>, Vec<LocatedPlace>) {
    let mut keys: BTreeMap<(String, String, String), KeyPlaces> = BTreeMap::new();
    let mut stale = Vec::new();
    for entry in located {
        if entry.status != PlaceStatus::Live {
            stale.push(entry);
            continue;
        }
        let profile_id = entry.profile_id.unwrap_or_default();
        let profile_name = entry.profile_name.unwrap_or_default();
        let key_name = entry.key_name.unwrap_or_default();
        let hash = entry.place.key_hash.clone();
        keys.entry((profile_name.clone(), key_name.clone(), hash.clone()))
            .or_insert_with(|| KeyPlaces {
                profile_id,
                profile_name,
                key_hash: hash,
                key_name,
                key_disabled: entry.key_disabled,
                places: Vec::new(),
            })
            .places
            .push(entry.place);
    }
    stale.sort_by_key(|entry| match entry.status {
        PlaceStatus::RotatedAway => 0,
        PlaceStatus::Gone => 1,
        PlaceStatus::Foreign | PlaceStatus::Live => 2,
    });
    (keys.into_values().collect(), stale)
}

#[cfg(test)]
mod tests {
    use super::super::PlaceKind;
    use super::*;

    fn place(hash: &str) -> Place {
        Place {
            kind: PlaceKind::EnvFile,
            path: "/p/.env".into(),
            variable: "K".into(),
            line: Some(1),
            key_hash: hash.into(),
            modified_at: None,
            found_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn classifies_each_kind() {
        let mut knowledge = Knowledge::default();
        let key = |name: &str| KnownKey {
            profile_id: "p".into(),
            profile_name: "work".into(),
            name: name.into(),
            disabled: false,
        };
        knowledge.add_live("live", key("api"));
        knowledge.add_live("old", key("api-old"));
        knowledge.rotated.insert(
            "old".into(),
            RotatedKey {
                profile_id: "p".into(),
                profile_name: "work".into(),
                old_name: "api-old".into(),
                new_hash: "live".into(),
                new_name: "api".into(),
                finished_at: None,
            },
        );
        knowledge.add_seen("gone", "p", "work", "deleted-one");
        let located = classify(
            &[place("live"), place("old"), place("gone"), place("x")],
            &knowledge,
        );
        let statuses: Vec<_> = located.iter().map(|l| l.status).collect();
        assert_eq!(
            statuses,
            [
                PlaceStatus::Live,
                PlaceStatus::RotatedAway,
                PlaceStatus::Gone,
                PlaceStatus::Foreign
            ]
        );
        assert!(located[1].message.contains("still in /p/.env:1 (K)"));
        let (keys, stale) = group(located);
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].places.len(), 1);
        assert_eq!(stale.len(), 3);
    }
}
