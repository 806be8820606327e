//! Workspaces, their members and budgets, and the organization's members: the typed answers of
//! `/workspaces…` and `/organization/members`, the create/update/budget bodies, and their checks
//! before anything is sent. The client methods are in `client/workspaces.rs`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::models::{ApiKey, lenient_datetime};
use super::requests::Patch;
use crate::Error;

/// One workspace (`GET /workspaces/{id}`). Unknown fields are ignored; the ones a person sees or
/// Keyward needs are typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default_guardrail_id: Option<String>,
    #[serde(default)]
    pub default_text_model: Option<String>,
    #[serde(default)]
    pub default_image_model: Option<String>,
    #[serde(default)]
    pub default_provider_sort: Option<String>,
    #[serde(default)]
    pub is_observability_io_logging_enabled: bool,
    #[serde(default)]
    pub is_observability_broadcast_enabled: bool,
    #[serde(default)]
    pub is_data_discount_logging_enabled: bool,
    #[serde(default)]
    pub io_logging_sampling_rate: Option<f64>,
    #[serde(default)]
    pub io_logging_api_key_ids: Option<Vec<i64>>,
    /// Whether BYOK spend counts toward the workspace's budgets (optional in the spec).
    #[serde(default)]
    pub include_byok_in_budgets: bool,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_by: Option<String>,
}

/// A person's membership of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceMember {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    /// `admin` or `member` (the role the person holds in the organization).
    pub role: String,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
}

/// A member of the organization (`GET /organization/members`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct OrganizationMember {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// `org:admin` or `org:member`.
    pub role: String,
}

/// The interval of a workspace budget; `Lifetime` never resets.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    TS,
    strum::Display,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case", ascii_case_insensitive)]
pub enum BudgetInterval {
    Daily,
    Weekly,
    Monthly,
    Lifetime,
}

impl BudgetInterval {
    /// Parses what a person typed; anything else is an `InvalidInput` naming `interval`.
    pub fn from_input(input: &str) -> Result<Self, Error> {
        input.trim().parse().map_err(|_| {
            Error::invalid(
                "interval",
                format!(
                    "\"{}\" is not one of daily, weekly, monthly, lifetime",
                    input.trim()
                ),
            )
        })
    }
}

/// A workspace's spending limit for one interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudget {
    pub id: String,
    pub workspace_id: String,
    pub limit_usd: f64,
    /// `daily` / `weekly` / `monthly`; `None` for the lifetime budget.
    #[serde(default)]
    pub reset_interval: Option<String>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl WorkspaceBudget {
    /// The interval this budget covers.
    pub fn interval(&self) -> BudgetInterval {
        match self.reset_interval.as_deref() {
            Some("daily") => BudgetInterval::Daily,
            Some("weekly") => BudgetInterval::Weekly,
            Some("monthly") => BudgetInterval::Monthly,
            _ => BudgetInterval::Lifetime,
        }
    }
}

/// Every budget of a workspace and the workspace-wide BYOK flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudgets {
    #[serde(rename = "data")]
    pub budgets: Vec<WorkspaceBudget>,
    #[serde(default)]
    pub include_byok_in_budgets: bool,
}

/// One budget and the workspace-wide BYOK flag (`GET`/`PUT /workspaces/{id}/budgets/{interval}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudgetAnswer {
    #[serde(rename = "data")]
    pub budget: WorkspaceBudget,
    #[serde(default)]
    pub include_byok_in_budgets: bool,
}

/// Every key of an account across its workspaces, with the workspaces they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountKeys {
    pub workspaces: Vec<Workspace>,
    /// Newest first within each workspace, workspaces in the API's order; each key once.
    pub keys: Vec<ApiKey>,
}

#[derive(Deserialize)]
pub(crate) struct MembersAdded {
    pub data: Vec<WorkspaceMember>,
}

#[derive(Deserialize)]
pub(crate) struct MembersRemoved {
    pub removed_count: u64,
}

// ---------------------------------------------------------------------------------------------
// Requests

/// Body of `POST /workspaces`. `name` and `slug` are required; unset fields are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreateWorkspaceRequest {
    pub name: String,
    pub slug: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_text_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_image_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_provider_sort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_observability_io_logging_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_observability_broadcast_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_data_discount_logging_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_logging_sampling_rate: Option<f64>,
}

impl CreateWorkspaceRequest {
    pub fn new(name: impl Into<String>, slug: impl Into<String>) -> Self {
        CreateWorkspaceRequest {
            name: name.into(),
            slug: slug.into(),
            ..CreateWorkspaceRequest::default()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        validate_workspace_name(&self.name)?;
        validate_slug(&self.slug)?;
        if let Some(description) = &self.description {
            validate_description(description)?;
        }
        if let Some(rate) = self.io_logging_sampling_rate {
            validate_sampling_rate(rate)?;
        }
        Ok(())
    }
}

/// Body of `PATCH /workspaces/{id}`: fields left `None`/`Keep` are not sent; `description` and the
/// default models can be cleared.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UpdateWorkspaceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub default_text_model: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub default_image_model: Patch<String>,
    #[serde(default, skip_serializing_if = "Patch::is_keep")]
    pub default_provider_sort: Patch<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_observability_io_logging_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_observability_broadcast_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_data_discount_logging_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io_logging_sampling_rate: Option<f64>,
}

impl UpdateWorkspaceRequest {
    pub fn validate(&self) -> Result<(), Error> {
        let empty = self.name.is_none()
            && self.slug.is_none()
            && self.description.is_keep()
            && self.default_text_model.is_keep()
            && self.default_image_model.is_keep()
            && self.default_provider_sort.is_keep()
            && self.is_observability_io_logging_enabled.is_none()
            && self.is_observability_broadcast_enabled.is_none()
            && self.is_data_discount_logging_enabled.is_none()
            && self.io_logging_sampling_rate.is_none();
        if empty {
            return Err(Error::InvalidInput {
                field: None,
                message: "nothing to change: set at least one field".to_owned(),
            });
        }
        if let Some(name) = &self.name {
            validate_workspace_name(name)?;
        }
        if let Some(slug) = &self.slug {
            validate_slug(slug)?;
        }
        if let Patch::Set(description) = &self.description {
            validate_description(description)?;
        }
        if let Some(rate) = self.io_logging_sampling_rate {
            validate_sampling_rate(rate)?;
        }
        Ok(())
    }
}

/// Body of `PUT /workspaces/{id}/budgets/{interval}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SetWorkspaceBudgetRequest {
    /// More than 0 USD.
    pub limit_usd: f64,
    /// Workspace-wide (every interval); `None` leaves it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_byok_in_budgets: Option<bool>,
}

impl SetWorkspaceBudgetRequest {
    pub fn new(limit_usd: f64) -> Self {
        SetWorkspaceBudgetRequest {
            limit_usd,
            include_byok_in_budgets: None,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        if !self.limit_usd.is_finite() || self.limit_usd <= 0.0 {
            return Err(Error::invalid(
                "limit_usd",
                "must be a number of US dollars greater than 0",
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

/// A workspace as a path segment: its UUID or slug. Anything with characters outside letters,
/// digits and hyphens could address another endpoint, so it is refused before sending.
pub fn validate_workspace_ref(reference: &str) -> Result<(), Error> {
    if reference.is_empty() {
        return Err(Error::invalid("workspace_id", "is empty"));
    }
    if reference.len() > 100
        || !reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(Error::invalid(
            "workspace_id",
            format!(
                "\"{}\" is not a workspace id or slug (a UUID, or lowercase letters, digits and hyphens)",
                reference.chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok(())
}

pub fn validate_workspace_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        Err(Error::invalid("name", "must not be empty"))
    } else if name.chars().count() > 100 {
        Err(Error::invalid("name", "must be at most 100 characters"))
    } else {
        Ok(())
    }
}

/// Lowercase letters and digits in segments joined by single hyphens, 1–50 characters.
pub fn validate_slug(slug: &str) -> Result<(), Error> {
    let well_formed = !slug.is_empty()
        && slug.len() <= 50
        && slug.split('-').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(
            "slug",
            format!(
                "\"{slug}\" must be 1-50 lowercase letters or digits in segments joined by single hyphens, e.g. \"research-team\""
            ),
        ))
    }
}

fn validate_description(description: &str) -> Result<(), Error> {
    if description.chars().count() > 500 {
        Err(Error::invalid(
            "description",
            "must be at most 500 characters",
        ))
    } else {
        Ok(())
    }
}

fn validate_sampling_rate(rate: f64) -> Result<(), Error> {
    if rate.is_finite() && (0.0001..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(Error::invalid(
            "io_logging_sampling_rate",
            "must be from 0.0001 to 1 (1 logs every request)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::validation::validate_user_ids;

    #[test]
    fn slugs_and_refs_are_checked() {
        for good in ["a", "research", "team-2", "a1-b2-c3"] {
            assert!(validate_slug(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "a--b", "-a", "a-", "a_b", &"a".repeat(51)] {
            assert!(
                matches!(validate_slug(bad), Err(Error::InvalidInput { field: Some(ref f), .. }) if f == "slug"),
                "{bad}"
            );
        }
        assert!(validate_workspace_ref("0df9e665-d932-5740-b2c7-b52af166bc11").is_ok());
        for bad in ["", "a/b", "../keys", "a?b", "x y"] {
            assert!(validate_workspace_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_send_only_what_is_set() {
        let create = CreateWorkspaceRequest::new("Research", "research");
        assert_eq!(
            serde_json::to_value(&create).unwrap(),
            serde_json::json!({"name": "Research", "slug": "research"})
        );
        let update = UpdateWorkspaceRequest {
            description: Patch::Clear,
            ..UpdateWorkspaceRequest::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            serde_json::json!({"description": null})
        );
        assert!(UpdateWorkspaceRequest::default().validate().is_err());
        assert!(SetWorkspaceBudgetRequest::new(0.0).validate().is_err());
        assert!(SetWorkspaceBudgetRequest::new(f64::NAN).validate().is_err());
        assert!(SetWorkspaceBudgetRequest::new(0.01).validate().is_ok());
        assert_eq!(
            BudgetInterval::from_input(" Lifetime ").unwrap(),
            BudgetInterval::Lifetime
        );
        assert!(BudgetInterval::from_input("yearly").is_err());
        assert!(validate_user_ids("user_ids", &[]).is_err());
        assert!(validate_user_ids("user_ids", &["".into()]).is_err());
        assert!(validate_user_ids("user_ids", &vec!["u".to_owned(); 101]).is_err());
    }
}
