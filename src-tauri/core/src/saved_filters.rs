//! Saved filters for the key list: a named set of filters (search text, status, tag, environment,
//! project, owner, "unused for N days", grouping) a person picks again later. This module owns the
//! type and its rules; the service keeps the list in the settings table (never sent anywhere).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::Error;
use crate::metadata::{MAX_FIELD_LEN, normalize_tag};

/// Saved filters a person can keep: enough for every team and environment, few enough for a menu.
pub const MAX_SAVED_FILTERS: usize = 50;
/// Characters in a saved filter's name.
pub const MAX_FILTER_NAME_LEN: usize = 60;
/// Characters in the search text.
pub const MAX_QUERY_LEN: usize = 200;
/// The longest "unused for N days" (ten years).
pub const MAX_UNUSED_DAYS: u32 = 3650;

/// The key list's status filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    #[default]
    All,
    Active,
    Disabled,
    Expired,
}

/// How the key list groups its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    None,
    Workspace,
    Environment,
    Project,
    Owner,
    Tag,
}

/// The filters of the key list, as saved. Empty strings and `null` mean "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct KeyFilterSet {
    pub query: String,
    pub status: StatusFilter,
    pub has_limit: bool,
    pub near_limit: bool,
    pub expiring_soon: bool,
    /// Keys carrying this tag.
    pub tag: Option<String>,
    pub environment: Option<String>,
    pub project: Option<String>,
    pub owner: Option<String>,
    /// Keys unused for at least this many days (see `KeyRow.idle_days`).
    pub unused_days: Option<u32>,
    pub group_by: GroupBy,
}

/// A named [`KeyFilterSet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SavedFilter {
    pub name: String,
    pub filters: KeyFilterSet,
}

impl SavedFilter {
    /// The filter as stored: name and fields trimmed, the tag normalized like a key's tags, empty
    /// fields cleared; or the first rule it breaks (field `name`, `query`, `tag`, `unused_days`, …).
    pub fn normalized(&self) -> Result<SavedFilter, Error> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("name", "give the filter a name"));
        }
        if name.chars().count() > MAX_FILTER_NAME_LEN {
            return Err(Error::invalid(
                "name",
                format!("the name is longer than {MAX_FILTER_NAME_LEN} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "name",
                "the name can't contain line breaks or control characters",
            ));
        }
        let f = &self.filters;
        let query = f.query.trim();
        if query.chars().count() > MAX_QUERY_LEN {
            return Err(Error::invalid(
                "query",
                format!("the search is longer than {MAX_QUERY_LEN} characters"),
            ));
        }
        let tag = match f.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(tag) => Some(normalize_tag(tag).map_err(|e| retarget(e, "tag"))?),
            None => None,
        };
        let field = |name: &str, value: &Option<String>| -> Result<Option<String>, Error> {
            let value = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
            match value {
                Some(v) if v.chars().count() > MAX_FIELD_LEN => Err(Error::invalid(
                    name,
                    format!("{name} is longer than {MAX_FIELD_LEN} characters"),
                )),
                Some(v) if v.chars().any(char::is_control) => Err(Error::invalid(
                    name,
                    format!("{name} can't contain line breaks or control characters"),
                )),
                other => Ok(other.map(str::to_owned)),
            }
        };
        if let Some(days) = f.unused_days
            && !(1..=MAX_UNUSED_DAYS).contains(&days)
        {
            return Err(Error::invalid(
                "unused_days",
                format!("unused for 1 to {MAX_UNUSED_DAYS} days"),
            ));
        }
        Ok(SavedFilter {
            name: name.to_owned(),
            filters: KeyFilterSet {
                query: query.to_owned(),
                tag,
                environment: field("environment", &f.environment)?,
                project: field("project", &f.project)?,
                owner: field("owner", &f.owner)?,
                ..f.clone()
            },
        })
    }

    /// Whether two names are the same filter's (case-insensitive, as a person reads them).
    pub fn same_name(&self, name: &str) -> bool {
        self.name.trim().to_lowercase() == name.trim().to_lowercase()
    }
}

/// A tag error reported on another field (a filter's `tag`).
fn retarget(error: Error, field: &str) -> Error {
    match error {
        Error::InvalidInput { message, .. } => Error::invalid(field, message),
        other => other,
    }
}

/// Adds `filter` to `list` (replacing one of the same name, keeping its place), or the rule it breaks.
pub fn save_into(list: &mut Vec<SavedFilter>, filter: &SavedFilter) -> Result<(), Error> {
    let filter = filter.normalized()?;
    if let Some(existing) = list.iter_mut().find(|f| f.same_name(&filter.name)) {
        *existing = filter;
        return Ok(());
    }
    if list.len() >= MAX_SAVED_FILTERS {
        return Err(Error::invalid(
            "name",
            format!("at most {MAX_SAVED_FILTERS} saved filters; delete one first"),
        ));
    }
    list.push(filter);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> SavedFilter {
        SavedFilter {
            name: name.into(),
            filters: KeyFilterSet::default(),
        }
    }

    fn field_of(error: &Error) -> Option<&str> {
        match error {
            Error::InvalidInput { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    #[test]
    fn a_filter_is_trimmed_and_its_tag_normalized() {
        let mut filter = named("  Leaked in prod ");
        filter.filters.tag = Some(" Leaked ".into());
        filter.filters.project = Some("  ".into());
        filter.filters.owner = Some(" ana ".into());
        let normalized = filter.normalized().unwrap();
        assert_eq!(normalized.name, "Leaked in prod");
        assert_eq!(normalized.filters.tag.as_deref(), Some("leaked"));
        assert_eq!(normalized.filters.project, None);
        assert_eq!(normalized.filters.owner.as_deref(), Some("ana"));
    }

    #[test]
    fn bad_filters_name_their_field() {
        let cases: Vec<(SavedFilter, &str)> = vec![
            (named(" "), "name"),
            (named(&"n".repeat(MAX_FILTER_NAME_LEN + 1)), "name"),
            (named("a\nb"), "name"),
            (
                SavedFilter {
                    filters: KeyFilterSet {
                        tag: Some("two words".into()),
                        ..KeyFilterSet::default()
                    },
                    ..named("x")
                },
                "tag",
            ),
            (
                SavedFilter {
                    filters: KeyFilterSet {
                        unused_days: Some(0),
                        ..KeyFilterSet::default()
                    },
                    ..named("x")
                },
                "unused_days",
            ),
            (
                SavedFilter {
                    filters: KeyFilterSet {
                        query: "q".repeat(MAX_QUERY_LEN + 1),
                        ..KeyFilterSet::default()
                    },
                    ..named("x")
                },
                "query",
            ),
        ];
        for (filter, field) in cases {
            let error = filter.normalized().unwrap_err();
            assert_eq!(field_of(&error), Some(field), "{filter:?}");
        }
    }

    #[test]
    fn saving_replaces_a_same_named_filter_and_stops_at_the_maximum() {
        let mut list = vec![named("Prod"), named("Staging")];
        let mut again = named("prod");
        again.filters.unused_days = Some(30);
        save_into(&mut list, &again).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "prod");
        assert_eq!(list[0].filters.unused_days, Some(30));
        for i in list.len()..MAX_SAVED_FILTERS {
            save_into(&mut list, &named(&format!("f{i}"))).unwrap();
        }
        let error = save_into(&mut list, &named("one more")).unwrap_err();
        assert_eq!(field_of(&error), Some("name"));
        assert_eq!(list.len(), MAX_SAVED_FILTERS);
    }
}
