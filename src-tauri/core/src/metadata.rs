//! Local key metadata: tags, environment, project, owner and notes that a person keeps on a key. It is
//! Keyward's own (never sent to OpenRouter) and follows a key through a rotation. This module owns the
//! type and its one set of rules; the store keeps it, the UI, the CLI and the CSV import all ask here.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Error;

/// At most this many tags on one key: enough for environment-, team- and incident-style labels, few
/// enough to show in a list row.
pub const MAX_TAGS: usize = 20;
/// Characters in one tag.
pub const MAX_TAG_LEN: usize = 40;
/// Characters in environment, project or owner.
pub const MAX_FIELD_LEN: usize = 100;
/// Characters in the notes.
pub const MAX_NOTES_LEN: usize = 2000;

/// What a person keeps on a key. Empty strings mean "not set"; [`KeyMetadata::normalized`] turns them
/// into `None` so one state has one spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct KeyMetadata {
    /// Lower-case, unique, in the order given: letters, digits and `-_.:/`.
    pub tags: Vec<String>,
    pub environment: Option<String>,
    pub project: Option<String>,
    pub owner: Option<String>,
    pub notes: Option<String>,
}

impl KeyMetadata {
    /// Nothing set: the store keeps no row for it.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
            && self.environment.is_none()
            && self.project.is_none()
            && self.owner.is_none()
            && self.notes.is_none()
    }

    /// The metadata as stored: tags trimmed, lower-cased and de-duplicated, fields trimmed with empty
    /// ones cleared; or the first rule it breaks (the field named as `tags`, `environment`, …).
    pub fn normalized(&self) -> Result<KeyMetadata, Error> {
        self.normalize().map_err(|mut errors| errors.remove(0))
    }

    /// Every rule the metadata breaks, one error per field (for a form); empty = valid.
    pub fn errors(&self) -> Vec<Error> {
        self.normalize().err().unwrap_or_default()
    }

    fn normalize(&self) -> Result<KeyMetadata, Vec<Error>> {
        let mut errors = Vec::new();
        let mut tags: Vec<String> = Vec::new();
        for raw in &self.tags {
            match normalize_tag(raw) {
                Ok(tag) if !tags.contains(&tag) => tags.push(tag),
                Ok(_) => {}
                Err(error) => {
                    errors.push(error);
                    break;
                }
            }
        }
        if errors.is_empty() && tags.len() > MAX_TAGS {
            errors.push(Error::invalid(
                "tags",
                format!(
                    "a key can have at most {MAX_TAGS} tags ({} given)",
                    tags.len()
                ),
            ));
        }
        let mut field = |name: &str, value: &Option<String>, max: usize, multi_line: bool| {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            if let Some(value) = value {
                if value.chars().count() > max {
                    errors.push(Error::invalid(
                        name,
                        format!("{name} is longer than {max} characters"),
                    ));
                } else if value
                    .chars()
                    .any(|c| c.is_control() && !(multi_line && matches!(c, '\n' | '\t')))
                {
                    let what = if multi_line {
                        "control characters other than line breaks and tabs"
                    } else {
                        "line breaks or control characters"
                    };
                    errors.push(Error::invalid(name, format!("{name} can't contain {what}")));
                }
            }
            value.map(str::to_owned)
        };
        let normalized = KeyMetadata {
            tags,
            environment: field("environment", &self.environment, MAX_FIELD_LEN, false),
            project: field("project", &self.project, MAX_FIELD_LEN, false),
            owner: field("owner", &self.owner, MAX_FIELD_LEN, false),
            notes: field("notes", &self.notes, MAX_NOTES_LEN, true),
        };
        if errors.is_empty() {
            Ok(normalized)
        } else {
            Err(errors)
        }
    }

    /// Whether the key carries `tag` (compared as normalized).
    pub fn has_tag(&self, tag: &str) -> bool {
        let wanted = tag.trim().to_lowercase();
        self.tags.contains(&wanted)
    }
}

/// A change to a key's metadata rather than a whole new one (`keyward-cli tag`): tags added and
/// removed, fields set (an empty value clears one), notes set or cleared; what is not named stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct KeyMetadataEdit {
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    pub environment: Option<String>,
    pub project: Option<String>,
    pub owner: Option<String>,
    pub notes: Option<String>,
    pub clear_notes: bool,
}

impl KeyMetadataEdit {
    /// `current` with this edit applied, not yet normalized (the caller's `normalized()` checks it).
    /// A tag both added and removed ends removed; a tag to remove that is not valid is refused.
    pub fn apply_to(&self, current: &KeyMetadata) -> Result<KeyMetadata, Error> {
        if self.clear_notes && self.notes.is_some() {
            return Err(Error::invalid(
                "notes",
                "set the notes or clear them, not both",
            ));
        }
        let remove = self
            .remove_tags
            .iter()
            .map(|tag| normalize_tag(tag))
            .collect::<Result<Vec<_>, _>>()?;
        let mut tags = current.tags.clone();
        tags.extend(self.add_tags.iter().cloned());
        tags.retain(|tag| !remove.contains(&tag.trim().to_lowercase()));
        let pick =
            |wanted: &Option<String>, now: &Option<String>| wanted.clone().or_else(|| now.clone());
        Ok(KeyMetadata {
            tags,
            environment: pick(&self.environment, &current.environment),
            project: pick(&self.project, &current.project),
            owner: pick(&self.owner, &current.owner),
            notes: if self.clear_notes {
                None
            } else {
                pick(&self.notes, &current.notes)
            },
        })
    }
}

/// A tag and how many of a profile's listed keys carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TagCount {
    pub tag: String,
    pub keys: u32,
}

/// Each tag of `metadata` with its key count: most used first, then by name.
pub fn tag_counts<'a>(metadata: impl IntoIterator<Item = &'a KeyMetadata>) -> Vec<TagCount> {
    let mut counts: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for meta in metadata {
        for tag in &meta.tags {
            *counts.entry(tag.as_str()).or_insert(0) += 1;
        }
    }
    let mut list: Vec<TagCount> = counts
        .into_iter()
        .map(|(tag, keys)| TagCount {
            tag: tag.to_owned(),
            keys,
        })
        .collect();
    list.sort_by(|a, b| b.keys.cmp(&a.keys).then_with(|| a.tag.cmp(&b.tag)));
    list
}

/// One tag as stored: trimmed and lower-cased; letters, digits and `-_.:/` only (no spaces or commas,
/// so a tag list reads and writes unambiguously in a filter or a CSV cell).
pub fn normalize_tag(raw: &str) -> Result<String, Error> {
    let tag = raw.trim().to_lowercase();
    if tag.is_empty() {
        return Err(Error::invalid("tags", "a tag can't be empty"));
    }
    if tag.chars().count() > MAX_TAG_LEN {
        return Err(Error::invalid(
            "tags",
            format!("the tag {tag:?} is longer than {MAX_TAG_LEN} characters"),
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/')))
    {
        return Err(Error::invalid(
            "tags",
            format!(
                "the tag {tag:?} contains {bad:?}; use letters, digits and - _ . : / (no spaces or commas)"
            ),
        ));
    }
    Ok(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(tags: &[&str]) -> KeyMetadata {
        KeyMetadata {
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..KeyMetadata::default()
        }
    }

    #[test]
    fn tags_are_trimmed_lowercased_and_deduplicated_in_order() {
        let normalized = meta(&[" Prod ", "team:core", "PROD", "leaked"])
            .normalized()
            .unwrap();
        assert_eq!(normalized.tags, ["prod", "team:core", "leaked"]);
        assert!(normalized.has_tag("Leaked"));
        assert!(!normalized.has_tag("staging"));
    }

    #[test]
    fn bad_tags_are_refused_with_the_field_named() {
        for bad in ["", "two words", "a,b", &"x".repeat(MAX_TAG_LEN + 1)] {
            let error = meta(&["ok", bad]).normalized().unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
            assert!(matches!(&error, Error::InvalidInput { field: Some(f), .. } if f == "tags"));
        }
        let too_many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
        assert!(meta(&refs).normalized().is_err());
        assert!(meta(&refs[..MAX_TAGS]).normalized().is_ok());
    }

    #[test]
    fn an_edit_adds_removes_and_sets_only_what_it_names() {
        let current = KeyMetadata {
            tags: vec!["prod".into(), "team:core".into()],
            project: Some("checkout".into()),
            notes: Some("keep".into()),
            ..KeyMetadata::default()
        };
        let edit = KeyMetadataEdit {
            add_tags: vec!["Leaked".into(), "x".into()],
            remove_tags: vec!["PROD".into(), "x".into()],
            environment: Some("staging".into()),
            owner: Some("".into()),
            ..KeyMetadataEdit::default()
        };
        let edited = edit.apply_to(&current).unwrap().normalized().unwrap();
        assert_eq!(edited.tags, ["team:core", "leaked"]);
        assert_eq!(edited.environment.as_deref(), Some("staging"));
        assert_eq!(edited.project.as_deref(), Some("checkout"));
        assert_eq!(edited.owner, None);
        assert_eq!(edited.notes.as_deref(), Some("keep"));
        let cleared = KeyMetadataEdit {
            clear_notes: true,
            ..KeyMetadataEdit::default()
        };
        assert_eq!(cleared.apply_to(&current).unwrap().notes, None);
        let both = KeyMetadataEdit {
            clear_notes: true,
            notes: Some("n".into()),
            ..KeyMetadataEdit::default()
        };
        assert!(both.apply_to(&current).is_err());
        let bad_remove = KeyMetadataEdit {
            remove_tags: vec!["a b".into()],
            ..KeyMetadataEdit::default()
        };
        assert!(bad_remove.apply_to(&current).is_err());
    }

    #[test]
    fn tags_are_counted_most_used_first() {
        let counts = tag_counts(&[meta(&["prod", "b"]), meta(&["prod", "a"]), meta(&[])]);
        let pairs: Vec<(&str, u32)> = counts.iter().map(|c| (c.tag.as_str(), c.keys)).collect();
        assert_eq!(pairs, [("prod", 2), ("a", 1), ("b", 1)]);
    }

    #[test]
    fn empty_fields_clear_and_long_or_multi_line_ones_are_refused() {
        let normalized = KeyMetadata {
            environment: Some("  ".into()),
            project: Some(" checkout ".into()),
            notes: Some("line one\nline two".into()),
            ..KeyMetadata::default()
        }
        .normalized()
        .unwrap();
        assert_eq!(normalized.environment, None);
        assert_eq!(normalized.project.as_deref(), Some("checkout"));
        assert!(!normalized.is_empty());
        assert!(KeyMetadata::default().normalized().unwrap().is_empty());

        let bad = KeyMetadata {
            owner: Some("a\nb".into()),
            project: Some("p".repeat(MAX_FIELD_LEN + 1)),
            notes: Some("n".repeat(MAX_NOTES_LEN + 1)),
            ..KeyMetadata::default()
        };
        let fields: Vec<String> = bad
            .errors()
            .iter()
            .filter_map(|e| match e {
                Error::InvalidInput { field, .. } => field.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(fields, ["project", "owner", "notes"]);
    }
}
