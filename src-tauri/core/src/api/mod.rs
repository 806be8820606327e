//! The OpenRouter key-management client: typed models, validation, retries and paging.
//!
//! Entry point: `OpenRouterClient::new(ClientConfig::new(base_url, key))`, then one async method per
//! endpoint (`list_page`, `list_all`, `create_key`, `get_key`, `update_key`, `delete_key`,
//! `current_key`, `credits`, `activity`; BYOK, log destinations and analytics in `byok` and
//! `analytics`). Every failure is a `keyward_core::Error`.

mod analytics;
mod byok;
mod catalog;
mod client;
mod created;
pub mod endpoint;
mod guardrails;
mod models;
mod paging;
mod requests;
pub mod retry;
mod validation;
mod workspaces;

pub use analytics::{
    AnalyticsFilter, AnalyticsMeta, AnalyticsMetadata, AnalyticsMetric, AnalyticsName,
    AnalyticsOperator, AnalyticsQuery, AnalyticsResult, FilterOperator, OrderBy, SpendRow,
    TimeRange,
};
pub use byok::{
    ByokKey, MAX_ALLOWED_KEY_HASHES, ObservabilityDestination, UpdateByokKeyRequest,
    UpdateDestinationRequest, list_adding, list_removing,
};
pub use catalog::{Model, ModelArchitecture, ModelPricing};
#[doc(hidden)]
pub use client::fuzzing;
pub use client::{
    ClientConfig, Clock, DEFAULT_BASE_URL, MAX_RESPONSE_BYTES, MODELS_TTL, OpenRouterClient,
};
pub use guardrails::{
    CreateGuardrailRequest, Guardrail, KeyAssignment, MemberAssignment, UpdateGuardrailRequest,
};
pub use models::{
    ActivityItem, ApiKey, Credits, CurrentKey, FreeModelDailyRequests, KeyBudget, LimitReset,
    NewKey, RateLimitInfo, parse_server_datetime,
};
pub use paging::PAGE_SIZE;
pub use requests::{ActivityQuery, CreateKeyRequest, ListKeysQuery, Patch, UpdateKeyRequest};
pub use retry::RetryPolicy;
pub use validation::{format_expiry, parse_expiry, validate_hash};
pub use workspaces::{
    AccountKeys, BudgetInterval, CreateWorkspaceRequest, OrganizationMember,
    SetWorkspaceBudgetRequest, UpdateWorkspaceRequest, Workspace, WorkspaceBudget,
    WorkspaceBudgetAnswer, WorkspaceBudgets, WorkspaceMember, validate_slug,
    validate_workspace_ref,
};
