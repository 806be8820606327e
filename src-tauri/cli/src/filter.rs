//! The key list's filters, the same rules as the app's list (`ui/src/lib/keys.ts` and
//! `components/organise/labels.ts`): a search over name, label, hash prefix and tags, a status, "has a
//! limit", "≥ 80 % of its limit used", "expires within N days" (the app's chip is 7), a workspace,
//! the local labels (tag, environment, project, owner) and "unused for N days".

use chrono::{DateTime, Duration, Utc};
use keyward_core::ipc::{KeyRow, KeyStatus};

/// The share of the limit that makes a key "near its limit" (the app's `NEAR_LIMIT_FRACTION`).
pub const NEAR_LIMIT_FRACTION: f64 = 0.8;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Disabled,
    Expired,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Filters {
    /// Only keys whose name or label contains this (case-insensitive), or whose hash starts with it.
    #[arg(long)]
    pub search: Option<String>,
    /// Only keys in this state (implies listing disabled or expired ones when asked for).
    #[arg(long, value_enum)]
    pub status: Option<StatusFilter>,
    /// Only keys with a spending limit.
    #[arg(long)]
    pub has_limit: bool,
    /// Only keys that used 80 % or more of their limit.
    #[arg(long)]
    pub near_limit: bool,
    /// Only keys that expire within this many days (and have not expired yet).
    #[arg(long, value_name = "DAYS")]
    pub expiring: Option<u32>,
    /// Only keys of this workspace (id); default: every workspace of the account.
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only keys carrying this local tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only keys whose local environment label is this (case-insensitive).
    #[arg(long)]
    pub environment: Option<String>,
    /// Only keys whose local project label is this (case-insensitive).
    #[arg(long)]
    pub project: Option<String>,
    /// Only keys whose local owner label is this (case-insensitive).
    #[arg(long)]
    pub owner: Option<String>,
    /// Only keys unused for at least this many days (from OpenRouter's last use, the usage
    /// snapshots and /activity; a key never seen used counts from its creation).
    #[arg(long, value_name = "DAYS")]
    pub unused: Option<u32>,
}

/// A label filter: unset matches all; otherwise the label equals it, ignoring case and spaces around.
fn label_matches(value: Option<&str>, wanted: Option<&str>) -> bool {
    match wanted.map(str::trim).filter(|w| !w.is_empty()) {
        None => true,
        Some(wanted) => value.is_some_and(|v| v.trim().eq_ignore_ascii_case(wanted)),
    }
}

/// Share of the limit spent (0‥1+), `None` without a limit.
pub fn limit_used(key: &KeyRow) -> Option<f64> {
    let limit = key.key.limit?;
    if limit <= 0.0 {
        return Some(1.0);
    }
    let remaining = key
        .key
        .limit_remaining
        .unwrap_or_else(|| (limit - key.key.usage).max(0.0));
    Some(((limit - remaining) / limit).max(0.0))
}

impl Filters {
    pub fn matches(&self, key: &KeyRow, now: DateTime<Utc>) -> bool {
        if let Some(status) = self.status {
            let wanted = match status {
                StatusFilter::Active => KeyStatus::Active,
                StatusFilter::Disabled => KeyStatus::Disabled,
                StatusFilter::Expired => KeyStatus::Expired,
            };
            if key.status != wanted {
                return false;
            }
        }
        if self.has_limit && key.key.limit.is_none() {
            return false;
        }
        if self.near_limit && !limit_used(key).is_some_and(|used| used >= NEAR_LIMIT_FRACTION) {
            return false;
        }
        if let Some(days) = self.expiring {
            let within = now + Duration::days(i64::from(days));
            if !key
                .key
                .expires_at
                .is_some_and(|at| at > now && at <= within)
            {
                return false;
            }
        }
        if let Some(workspace) = self.workspace.as_deref().map(str::trim)
            && key.key.workspace_id.as_deref() != Some(workspace)
        {
            return false;
        }
        let labels = &key.metadata;
        if let Some(tag) = &self.tag
            && !labels.has_tag(tag)
        {
            return false;
        }
        if !label_matches(labels.environment.as_deref(), self.environment.as_deref())
            || !label_matches(labels.project.as_deref(), self.project.as_deref())
            || !label_matches(labels.owner.as_deref(), self.owner.as_deref())
        {
            return false;
        }
        if let Some(days) = self.unused
            && key.idle_days.is_none_or(|idle| idle < days)
        {
            return false;
        }
        if let Some(query) = self.search.as_deref().map(str::trim)
            && !query.is_empty()
        {
            let query = query.to_lowercase();
            return key.key.name.to_lowercase().contains(&query)
                || key.key.label.to_lowercase().contains(&query)
                || key.key.hash.starts_with(&query)
                || labels.tags.iter().any(|tag| tag.contains(&query));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::api::ApiKey;

    fn row(name: &str, limit: Option<f64>, usage: f64, expires_in_days: Option<i64>) -> KeyRow {
        let now = Utc::now();
        let key: ApiKey = serde_json::from_value(serde_json::json!({
            "hash": format!("{:0>64}", name.len()),
            "name": name,
            "label": "sk-or-v1-abc...def",
            "disabled": false,
            "limit": limit,
            "limit_remaining": limit.map(|l| (l - usage).max(0.0)),
            "limit_reset": null,
            "usage": usage, "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0,
            "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0,
            "byok_usage_monthly": 0.0,
            "workspace_id": "ws-1",
            "expires_at": expires_in_days.map(|d| (now + Duration::days(d)).to_rfc3339()),
        }))
        .unwrap_or_else(|err| panic!("{err}"));
        KeyRow::new(&key, now)
    }

    #[test]
    fn near_limit_is_eighty_percent_of_the_limit() {
        let filters = Filters {
            near_limit: true,
            ..Filters::default()
        };
        let now = Utc::now();
        assert!(filters.matches(&row("a", Some(10.0), 8.0, None), now));
        assert!(!filters.matches(&row("a", Some(10.0), 7.9, None), now));
        assert!(!filters.matches(&row("a", None, 100.0, None), now));
    }

    #[test]
    fn expiring_counts_days_ahead_and_skips_the_expired() {
        let filters = Filters {
            expiring: Some(7),
            ..Filters::default()
        };
        let now = Utc::now();
        assert!(filters.matches(&row("a", None, 0.0, Some(3)), now));
        assert!(!filters.matches(&row("a", None, 0.0, Some(30)), now));
        assert!(!filters.matches(&row("a", None, 0.0, None), now));
    }

    #[test]
    fn search_workspace_and_has_limit() {
        let now = Utc::now();
        let search = Filters {
            search: Some("PROD".into()),
            ..Filters::default()
        };
        assert!(search.matches(&row("prod-api", None, 0.0, None), now));
        assert!(!search.matches(&row("staging", None, 0.0, None), now));
        let workspace = Filters {
            workspace: Some("ws-2".into()),
            ..Filters::default()
        };
        assert!(!workspace.matches(&row("a", None, 0.0, None), now));
        let has_limit = Filters {
            has_limit: true,
            ..Filters::default()
        };
        assert!(has_limit.matches(&row("a", Some(1.0), 0.0, None), now));
        assert!(!has_limit.matches(&row("a", None, 0.0, None), now));
    }

    #[test]
    fn labels_and_idle_days() {
        let now = Utc::now();
        let mut tagged =
            row("a", None, 0.0, None).with_metadata(keyward_core::metadata::KeyMetadata {
                tags: vec!["leaked".into(), "team:core".into()],
                environment: Some("Production".into()),
                ..Default::default()
            });
        tagged.idle_days = Some(40);
        let plain = row("b", None, 0.0, None);
        let by = |filters: Filters| (filters.matches(&tagged, now), filters.matches(&plain, now));
        let tag = Filters {
            tag: Some("Leaked".into()),
            ..Filters::default()
        };
        assert_eq!(by(tag), (true, false));
        let env = Filters {
            environment: Some(" production ".into()),
            ..Filters::default()
        };
        assert_eq!(by(env), (true, false));
        let unused = Filters {
            unused: Some(30),
            ..Filters::default()
        };
        assert_eq!(by(unused), (true, false));
        let too_long = Filters {
            unused: Some(41),
            ..Filters::default()
        };
        assert_eq!(by(too_long), (false, false));
        let search = Filters {
            search: Some("TEAM:".into()),
            ..Filters::default()
        };
        assert_eq!(by(search), (true, false));
    }
}
