//! The client's own parsing of answers, reachable without a server, for the fuzz harness
//! (`src-tauri/fuzz`). Each endpoint decodes with the very type and `decode` its method uses, so a
//! change to a model or to `decode` is fuzzed as it ships; nothing here is a copy of that code.

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::Call;
use super::pages::ListPage;
use super::response::{decode, error_for_status};
use crate::Error;
use crate::api::catalog::ModelsPage;
use crate::api::guardrails::{AssignedCount, UnassignedCount};
use crate::api::models::{DataEnvelope, DeleteResponse};
use crate::api::workspaces::{MembersAdded, MembersRemoved};
use crate::api::{
    ActivityItem, AnalyticsMeta, AnalyticsResult, ApiKey, ByokKey, Credits, CurrentKey, Guardrail,
    KeyAssignment, MemberAssignment, NewKey, ObservabilityDestination, OrganizationMember,
    Workspace, WorkspaceBudgetAnswer, WorkspaceBudgets, WorkspaceMember,
};

/// Every answer body the client parses, by the shape it is parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /keys`.
    ListKeys,
    /// `GET /keys/{hash}`, `PATCH /keys/{hash}`.
    Key,
    /// `POST /keys`.
    CreateKey,
    /// Every `DELETE` (keys, guardrails, workspaces, budgets).
    Delete,
    /// `GET /key`.
    CurrentKey,
    /// `GET /credits`.
    Credits,
    /// `GET /activity`.
    Activity,
    /// `GET /guardrails` (one page).
    ListGuardrails,
    /// `GET/POST/PATCH /guardrails/{id}`.
    Guardrail,
    /// `GET /guardrails/{id}/assignments/keys`, `GET /guardrails/assignments/keys` (one page).
    KeyAssignments,
    /// `GET …/assignments/members` (one page).
    MemberAssignments,
    /// `POST …/assignments/{keys,members}`.
    Assigned,
    /// `POST …/assignments/{keys,members}/remove`.
    Unassigned,
    /// `GET /models` (one page).
    Models,
    /// `GET /workspaces` (one page).
    ListWorkspaces,
    /// `GET/POST/PATCH /workspaces/{id}`.
    Workspace,
    /// `GET /workspaces/{id}/members` (one page).
    WorkspaceMembers,
    /// `POST /workspaces/{id}/members/add`.
    MembersAdded,
    /// `POST /workspaces/{id}/members/remove`.
    MembersRemoved,
    /// `GET /workspaces/{id}/budgets`.
    WorkspaceBudgets,
    /// `GET/PUT /workspaces/{id}/budgets/{interval}`.
    WorkspaceBudget,
    /// `GET /organization/members` (one page).
    OrganizationMembers,
    /// `GET /byok` (one page).
    ListByok,
    /// `GET/PATCH /byok/{id}`.
    Byok,
    /// `GET /observability/destinations` (one page).
    ListDestinations,
    /// `GET/PATCH /observability/destinations/{id}`.
    Destination,
    /// `POST /analytics/query`, then its rows read as spend rows.
    Analytics,
    /// `GET /analytics/meta`.
    AnalyticsMeta,
}

impl Endpoint {
    pub const ALL: [Endpoint; 28] = [
        Endpoint::ListKeys,
        Endpoint::Key,
        Endpoint::CreateKey,
        Endpoint::Delete,
        Endpoint::CurrentKey,
        Endpoint::Credits,
        Endpoint::Activity,
        Endpoint::ListGuardrails,
        Endpoint::Guardrail,
        Endpoint::KeyAssignments,
        Endpoint::MemberAssignments,
        Endpoint::Assigned,
        Endpoint::Unassigned,
        Endpoint::Models,
        Endpoint::ListWorkspaces,
        Endpoint::Workspace,
        Endpoint::WorkspaceMembers,
        Endpoint::MembersAdded,
        Endpoint::MembersRemoved,
        Endpoint::WorkspaceBudgets,
        Endpoint::WorkspaceBudget,
        Endpoint::OrganizationMembers,
        Endpoint::ListByok,
        Endpoint::Byok,
        Endpoint::ListDestinations,
        Endpoint::Destination,
        Endpoint::Analytics,
        Endpoint::AnalyticsMeta,
    ];
}

/// Parses a 2xx `body` as the client does for `endpoint`, with the checks the client makes on the
/// parsed answer (a create's secret and key, `deleted: false`, analytics rows as spend rows).
pub fn parse_answer(endpoint: Endpoint, body: &[u8]) -> Result<(), Error> {
    let call = Call::get("/fuzz", Vec::new());
    fn data<T: DeserializeOwned>(call: &Call, body: &[u8]) -> Result<T, Error> {
        decode::<DataEnvelope<T>>(call, body).map(|envelope| envelope.data)
    }
    fn page<T: DeserializeOwned>(call: &Call, body: &[u8]) -> Result<Vec<T>, Error> {
        decode::<ListPage<T>>(call, body).map(|page| page.data)
    }
    match endpoint {
        Endpoint::ListKeys => data::<Vec<ApiKey>>(&call, body).map(drop),
        Endpoint::Key => data::<ApiKey>(&call, body).map(drop),
        Endpoint::CreateKey => {
            // The client's own two-phase reading: secret and hash first, the rest leniently.
            let request = crate::api::CreateKeyRequest::new("fuzz");
            let new: NewKey = crate::api::created::parse_created(body, &request)?;
            // The secret must never show in a Debug print.
            let _ = format!("{new:?}");
            Ok(())
        }
        Endpoint::Delete => decode::<DeleteResponse>(&call, body).map(|_| ()),
        Endpoint::CurrentKey => data::<CurrentKey>(&call, body).map(|_| ()),
        Endpoint::Credits => data::<Credits>(&call, body).map(|_| ()),
        Endpoint::Activity => data::<Vec<ActivityItem>>(&call, body).map(drop),
        Endpoint::ListGuardrails => page::<Guardrail>(&call, body).map(drop),
        Endpoint::Guardrail => data::<Guardrail>(&call, body).map(|_| ()),
        Endpoint::KeyAssignments => page::<KeyAssignment>(&call, body).map(drop),
        Endpoint::MemberAssignments => page::<MemberAssignment>(&call, body).map(drop),
        Endpoint::Assigned => decode::<AssignedCount>(&call, body).map(|_| ()),
        Endpoint::Unassigned => decode::<UnassignedCount>(&call, body).map(|_| ()),
        Endpoint::Models => decode::<ModelsPage>(&call, body).map(|page| {
            for model in &page.data {
                let _ = (model.author(), model.matches("gpt"));
            }
        }),
        Endpoint::ListWorkspaces => page::<Workspace>(&call, body).map(drop),
        Endpoint::Workspace => data::<Workspace>(&call, body).map(drop),
        Endpoint::WorkspaceMembers => page::<WorkspaceMember>(&call, body).map(drop),
        Endpoint::MembersAdded => decode::<MembersAdded>(&call, body).map(drop),
        Endpoint::MembersRemoved => decode::<MembersRemoved>(&call, body).map(|_| ()),
        Endpoint::WorkspaceBudgets => decode::<WorkspaceBudgets>(&call, body).map(drop),
        Endpoint::WorkspaceBudget => decode::<WorkspaceBudgetAnswer>(&call, body).map(drop),
        Endpoint::OrganizationMembers => page::<OrganizationMember>(&call, body).map(drop),
        Endpoint::ListByok => page::<ByokKey>(&call, body).map(drop),
        Endpoint::Byok => data::<ByokKey>(&call, body).map(drop),
        Endpoint::ListDestinations => page::<ObservabilityDestination>(&call, body).map(drop),
        Endpoint::Destination => data::<ObservabilityDestination>(&call, body).map(drop),
        Endpoint::Analytics => data::<AnalyticsResult>(&call, body).map(|r| drop(r.spend_rows())),
        Endpoint::AnalyticsMeta => data::<AnalyticsMeta>(&call, body).map(drop),
    }
}

/// The error the client makes of a non-2xx answer with this status and body.
pub fn error_answer(status: u16, body: &[u8]) -> Error {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error_for_status(status, body, None)
}
