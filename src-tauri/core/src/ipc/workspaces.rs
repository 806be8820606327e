//! What the Workspaces view shows and sends: a workspace's key count, spend, budgets (with what
//! its keys spent in each interval) and members, and the budget edits.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::api::BudgetInterval;

/// Arguments of `workspace_details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceDetailsArgs {
    pub profile_id: String,
    pub workspace_id: String,
}

/// One workspace as the Workspaces view shows it. Spend comes from the cached keys' usage
/// counters (the latest refresh), so it needs no extra request per key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceDetails {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub key_count: u32,
    /// Sum of the workspace's keys' `usage_monthly` (USD).
    pub spend_month: f64,
    /// Whether BYOK spend counts toward the workspace's budgets (and so in `spent` below).
    pub include_byok_in_budgets: bool,
    /// One entry per interval (daily, weekly, monthly, lifetime), set or not.
    pub budgets: Vec<WorkspaceBudgetStatus>,
    pub members: Vec<WorkspaceMemberInfo>,
}

/// A workspace budget for one interval and how much of it its keys used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudgetStatus {
    pub interval: BudgetInterval,
    /// `None`: no budget for this interval.
    pub limit_usd: Option<f64>,
    /// What the workspace's keys spent in the current interval (lifetime: all time).
    pub spent: f64,
    /// `limit_usd - spent`, never below 0; `None` without a budget.
    pub left: Option<f64>,
}

/// A member of a workspace, named from the organization's member list when it lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceMemberInfo {
    pub user_id: String,
    /// First and last name; `None` when the organization list has none.
    pub name: Option<String>,
    pub email: Option<String>,
    /// `admin` or `member`.
    pub role: String,
}

/// Arguments of `workspace_budget_set`. `limit_usd` is what the person typed: Rust parses and
/// checks it (a number greater than 0) before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudgetSetArgs {
    pub profile_id: String,
    pub workspace_id: String,
    pub interval: BudgetInterval,
    pub limit_usd: String,
}

/// Arguments of `workspace_budget_delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct WorkspaceBudgetDeleteArgs {
    pub profile_id: String,
    pub workspace_id: String,
    pub interval: BudgetInterval,
}
