//! Workspaces, their members and budgets, and the organization's members: the records, the rules
//! that hold between them (the default workspace always exists, slugs are unique, budgets narrow
//! as the interval does) and their JSON shapes. The HTTP side is `api/workspaces.rs`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use strum::{EnumString, IntoStaticStr, VariantArray};

use super::keys::wire_time;
use super::{ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID, State};

/// A workspace budget's interval; `Lifetime` never resets (its `reset_interval` is `null`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    EnumString,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum BudgetInterval {
    Daily,
    Weekly,
    Monthly,
    Lifetime,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Budget {
    pub id: String,
    pub limit_usd: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Membership {
    pub id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// One workspace. Fields the API only stores and echoes are kept as given.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub default_text_model: Option<String>,
    pub default_image_model: Option<String>,
    pub default_provider_sort: Option<String>,
    pub is_observability_io_logging_enabled: bool,
    pub is_observability_broadcast_enabled: bool,
    pub is_data_discount_logging_enabled: bool,
    pub io_logging_sampling_rate: f64,
    pub io_logging_api_key_ids: Option<Vec<i64>>,
    pub include_byok_in_budgets: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    #[serde(default)]
    pub members: Vec<Membership>,
    #[serde(default)]
    pub budgets: BTreeMap<BudgetInterval, Budget>,
}

/// A member of the organization (`GET /organization/members`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgMember {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `org:admin` or `org:member`.
    pub role: String,
}

/// Every workspace (creation order, the default one first) and the organization's members.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workspaces {
    pub list: Vec<WorkspaceRecord>,
    pub organization: Vec<OrgMember>,
}

impl Default for Workspaces {
    fn default() -> Self {
        let mut workspaces = Workspaces {
            list: Vec::new(),
            organization: Vec::new(),
        };
        workspaces.ensure_defaults();
        workspaces
    }
}

/// The default workspace's creation time: fixed, so a reset or a fresh state looks the same.
fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_735_689_600, 0).unwrap_or_default()
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A UUID derived from `text` (stable across runs).
fn derived_id(text: &str) -> String {
    let digest = super::keys::sha256_hex(text);
    let mut bytes = [0u8; 16];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(digest.get(index * 2..index * 2 + 2).unwrap_or("00"), 16)
            .unwrap_or(0);
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// The deterministic id of a workspace's default guardrail (the API derives it from the
/// workspace id; so does this).
pub fn default_guardrail_id(workspace_id: &str) -> String {
    derived_id(&format!("default-guardrail:{workspace_id}"))
}

impl WorkspaceRecord {
    pub fn new(id: String, name: String, slug: String, now: DateTime<Utc>) -> Self {
        WorkspaceRecord {
            id,
            name,
            slug,
            description: None,
            default_text_model: None,
            default_image_model: None,
            default_provider_sort: None,
            is_observability_io_logging_enabled: false,
            is_observability_broadcast_enabled: false,
            is_data_discount_logging_enabled: false,
            io_logging_sampling_rate: 1.0,
            io_logging_api_key_ids: None,
            include_byok_in_budgets: false,
            created_at: now,
            updated_at: None,
            created_by: Some(ACCOUNT_USER_ID.to_owned()),
            members: Vec::new(),
            budgets: BTreeMap::new(),
        }
    }

    /// The API's Workspace object.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "default_guardrail_id": default_guardrail_id(&self.id),
            "name": self.name,
            "slug": self.slug,
            "description": self.description,
            "default_text_model": self.default_text_model,
            "default_image_model": self.default_image_model,
            "default_provider_sort": self.default_provider_sort,
            "is_observability_io_logging_enabled": self.is_observability_io_logging_enabled,
            "is_observability_broadcast_enabled": self.is_observability_broadcast_enabled,
            "is_data_discount_logging_enabled": self.is_data_discount_logging_enabled,
            "io_logging_sampling_rate": self.io_logging_sampling_rate,
            "io_logging_api_key_ids": self.io_logging_api_key_ids,
            "include_byok_in_budgets": self.include_byok_in_budgets,
            "created_at": wire_time(self.created_at),
            "updated_at": self.updated_at.map(wire_time),
            "created_by": self.created_by,
        })
    }

    pub fn member_json(&self, member: &Membership) -> Value {
        json!({
            "id": member.id,
            "workspace_id": self.id,
            "user_id": member.user_id,
            "role": member.role,
            "created_at": wire_time(member.created_at),
        })
    }

    pub fn budget_json(&self, interval: BudgetInterval, budget: &Budget) -> Value {
        let reset: Option<&'static str> = match interval {
            BudgetInterval::Lifetime => None,
            other => Some(other.into()),
        };
        json!({
            "id": budget.id,
            "workspace_id": self.id,
            "limit_usd": budget.limit_usd,
            "reset_interval": reset,
            "created_at": wire_time(budget.created_at),
            "updated_at": wire_time(budget.updated_at),
        })
    }

    /// Why `limit` can't be the `interval` budget: limits must strictly decrease as the interval
    /// narrows (lifetime > monthly > weekly > daily), as the SDK documents for the upsert.
    pub fn budget_conflict(&self, interval: BudgetInterval, limit: f64) -> Option<String> {
        for (other, budget) in &self.budgets {
            let bad = (*other < interval && budget.limit_usd >= limit)
                || (*other > interval && budget.limit_usd <= limit);
            if bad {
                let (other_name, name): (&str, &str) = ((*other).into(), interval.into());
                return Some(format!(
                    "Budget limits must strictly decrease as the interval narrows (lifetime > monthly > weekly > daily): the {other_name} budget is {} and the {name} one would be {limit}",
                    budget.limit_usd
                ));
            }
        }
        None
    }
}

impl Workspaces {
    /// The default workspace and the account's own user always exist.
    pub fn ensure_defaults(&mut self) {
        if !self.list.iter().any(|ws| ws.id == DEFAULT_WORKSPACE_ID) {
            let mut default = WorkspaceRecord::new(
                DEFAULT_WORKSPACE_ID.to_owned(),
                "Default Workspace".to_owned(),
                "default".to_owned(),
                epoch(),
            );
            default.members.push(Membership {
                id: derived_id(&format!("membership:{ACCOUNT_USER_ID}")),
                user_id: ACCOUNT_USER_ID.to_owned(),
                role: "admin".to_owned(),
                created_at: epoch(),
            });
            self.list.insert(0, default);
        }
        if !self.organization.iter().any(|m| m.id == ACCOUNT_USER_ID) {
            self.organization.insert(
                0,
                OrgMember {
                    id: ACCOUNT_USER_ID.to_owned(),
                    email: "owner@example.com".to_owned(),
                    first_name: Some("Account".to_owned()),
                    last_name: Some("Owner".to_owned()),
                    role: "org:admin".to_owned(),
                },
            );
        }
    }

    /// A workspace by id (any case) or slug.
    pub fn find(&self, reference: &str) -> Option<&WorkspaceRecord> {
        let position = self.position(reference)?;
        self.list.get(position)
    }

    pub fn find_mut(&mut self, reference: &str) -> Option<&mut WorkspaceRecord> {
        let position = self.position(reference)?;
        self.list.get_mut(position)
    }

    fn position(&self, reference: &str) -> Option<usize> {
        let reference = reference.trim();
        let canonical = uuid::Uuid::parse_str(reference)
            .ok()
            .map(|id| id.hyphenated().to_string());
        self.list.iter().position(|ws| {
            Some(&ws.id) == canonical.as_ref() || (canonical.is_none() && ws.slug == reference)
        })
    }

    pub fn exists(&self, id: &str) -> bool {
        self.list.iter().any(|ws| ws.id == id)
    }

    pub fn slug_taken(&self, slug: &str, except_id: Option<&str>) -> bool {
        self.list
            .iter()
            .any(|ws| ws.slug == slug && Some(ws.id.as_str()) != except_id)
    }

    pub fn remove(&mut self, id: &str) -> Option<WorkspaceRecord> {
        let position = self.list.iter().position(|ws| ws.id == id)?;
        Some(self.list.remove(position))
    }

    pub fn org_member(&self, user_id: &str) -> Option<&OrgMember> {
        self.organization.iter().find(|m| m.id == user_id)
    }

    /// Adds (or replaces, by id) an organization member.
    pub fn upsert_org_member(&mut self, member: OrgMember) {
        match self.organization.iter_mut().find(|m| m.id == member.id) {
            Some(existing) => *existing = member,
            None => self.organization.push(member),
        }
    }
}

/// `org:admin` → `admin`, anything else → `member`: a workspace member takes its organization role.
pub fn workspace_role(org_role: &str) -> &'static str {
    if org_role == "org:admin" {
        "admin"
    } else {
        "member"
    }
}

impl State {
    /// How many keys live in a workspace (a workspace holding keys can't be deleted).
    pub fn keys_in_workspace(&self, workspace_id: &str) -> usize {
        self.listing
            .iter()
            .filter(|entry| entry.workspace_id == workspace_id)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_must_narrow_with_the_interval() {
        let now = Utc::now();
        let mut ws = WorkspaceRecord::new(new_id(), "w".into(), "w".into(), now);
        let budget = |limit| Budget {
            id: new_id(),
            limit_usd: limit,
            created_at: now,
            updated_at: now,
        };
        ws.budgets.insert(BudgetInterval::Monthly, budget(100.0));
        assert!(ws.budget_conflict(BudgetInterval::Weekly, 50.0).is_none());
        assert!(ws.budget_conflict(BudgetInterval::Weekly, 100.0).is_some());
        assert!(
            ws.budget_conflict(BudgetInterval::Lifetime, 100.0)
                .is_some()
        );
        assert!(
            ws.budget_conflict(BudgetInterval::Lifetime, 500.0)
                .is_none()
        );
        assert!(ws.budget_conflict(BudgetInterval::Monthly, 1.0).is_none());
    }

    #[test]
    fn default_workspace_is_found_by_id_and_slug() {
        let workspaces = Workspaces::default();
        assert!(workspaces.find(DEFAULT_WORKSPACE_ID).is_some());
        assert!(
            workspaces
                .find(&DEFAULT_WORKSPACE_ID.to_uppercase())
                .is_some()
        );
        assert!(workspaces.find("default").is_some());
        assert!(workspaces.find("nope").is_none());
    }
}
