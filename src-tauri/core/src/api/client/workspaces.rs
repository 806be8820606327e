//! The client's workspace endpoints: `/workspaces` (CRUD, members, budgets),
//! `/organization/members`, and listing the keys of one or every workspace.
//!
//! Paged lists are fetched whole (`list_every_page`). Every key listing reuses `list_all`'s paging;
//! listing every workspace runs the workspaces concurrently, so 5 workspaces cost about as long as
//! the largest one.

use futures::StreamExt;
use reqwest::Method;

use super::super::models::{ApiKey, DataEnvelope, DeleteResponse};
use super::super::requests::ListKeysQuery;
use super::super::retry::Replay;
use super::super::validation::validate_user_ids;
use super::super::workspaces::{
    AccountKeys, BudgetInterval, CreateWorkspaceRequest, MembersAdded, MembersRemoved,
    OrganizationMember, SetWorkspaceBudgetRequest, UpdateWorkspaceRequest, Workspace,
    WorkspaceBudgetAnswer, WorkspaceBudgets, WorkspaceMember, validate_workspace_ref,
};
use super::{Call, OpenRouterClient, encode};
use crate::Error;

impl OpenRouterClient {
    /// `GET /workspaces`, every page.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, Error> {
        self.list_every_page("/workspaces", &[]).await
    }

    /// `GET /workspaces/{id}` (`id`: UUID or slug).
    pub async fn get_workspace(&self, id: &str) -> Result<Workspace, Error> {
        validate_workspace_ref(id)?;
        let envelope: DataEnvelope<Workspace> = self
            .json(&Call::get(&format!("/workspaces/{id}"), Vec::new()))
            .await?;
        Ok(envelope.data)
    }

    /// `POST /workspaces`. Not retried once it may have reached the server (a second copy would
    /// fail on the slug or create a twin).
    pub async fn create_workspace(
        &self,
        request: &CreateWorkspaceRequest,
    ) -> Result<Workspace, Error> {
        request.validate()?;
        let call = Call::with_body(
            Method::POST,
            "/workspaces".to_owned(),
            encode(request)?,
            Replay::CreatesSomething,
        );
        let envelope: DataEnvelope<Workspace> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `PATCH /workspaces/{id}`: absolute values, so retried like a GET.
    pub async fn update_workspace(
        &self,
        id: &str,
        request: &UpdateWorkspaceRequest,
    ) -> Result<Workspace, Error> {
        validate_workspace_ref(id)?;
        request.validate()?;
        let call = Call::with_body(
            Method::PATCH,
            format!("/workspaces/{id}"),
            encode(request)?,
            Replay::Idempotent,
        );
        let envelope: DataEnvelope<Workspace> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `DELETE /workspaces/{id}`. The default workspace, and one that still holds keys, are refused
    /// by the server (`InvalidInput`).
    pub async fn delete_workspace(&self, id: &str) -> Result<(), Error> {
        validate_workspace_ref(id)?;
        self.delete_resource(format!("/workspaces/{id}")).await
    }

    /// `GET /workspaces/{id}/members`, every page.
    pub async fn list_workspace_members(&self, id: &str) -> Result<Vec<WorkspaceMember>, Error> {
        validate_workspace_ref(id)?;
        self.list_every_page(&format!("/workspaces/{id}/members"), &[])
            .await
    }

    /// `POST /workspaces/{id}/members/add`: the memberships created or updated. Adding twice adds
    /// once, so it is retried like a GET.
    pub async fn add_workspace_members(
        &self,
        id: &str,
        user_ids: &[String],
    ) -> Result<Vec<WorkspaceMember>, Error> {
        validate_workspace_ref(id)?;
        validate_user_ids("user_ids", user_ids)?;
        let call = Call::with_body(
            Method::POST,
            format!("/workspaces/{id}/members/add"),
            encode(&serde_json::json!({ "user_ids": user_ids }))?,
            Replay::Idempotent,
        );
        let added: MembersAdded = self.json(&call).await?;
        Ok(added.data)
    }

    /// `POST /workspaces/{id}/members/remove`: how many memberships were removed.
    pub async fn remove_workspace_members(
        &self,
        id: &str,
        user_ids: &[String],
    ) -> Result<u64, Error> {
        validate_workspace_ref(id)?;
        validate_user_ids("user_ids", user_ids)?;
        let call = Call::with_body(
            Method::POST,
            format!("/workspaces/{id}/members/remove"),
            encode(&serde_json::json!({ "user_ids": user_ids }))?,
            Replay::Idempotent,
        );
        let removed: MembersRemoved = self.json(&call).await?;
        Ok(removed.removed_count)
    }

    /// `GET /workspaces/{id}/budgets`.
    pub async fn workspace_budgets(&self, id: &str) -> Result<WorkspaceBudgets, Error> {
        validate_workspace_ref(id)?;
        self.json(&Call::get(&format!("/workspaces/{id}/budgets"), Vec::new()))
            .await
    }

    /// `GET /workspaces/{id}/budgets/{interval}`; `NotFound` when there is no such budget.
    pub async fn workspace_budget(
        &self,
        id: &str,
        interval: BudgetInterval,
    ) -> Result<WorkspaceBudgetAnswer, Error> {
        validate_workspace_ref(id)?;
        self.json(&Call::get(
            &format!("/workspaces/{id}/budgets/{interval}"),
            Vec::new(),
        ))
        .await
    }

    /// `PUT /workspaces/{id}/budgets/{interval}` (create or replace). The server refuses limits that
    /// don't narrow with the interval (lifetime > monthly > weekly > daily).
    pub async fn set_workspace_budget(
        &self,
        id: &str,
        interval: BudgetInterval,
        request: &SetWorkspaceBudgetRequest,
    ) -> Result<WorkspaceBudgetAnswer, Error> {
        validate_workspace_ref(id)?;
        request.validate()?;
        let call = Call::with_body(
            Method::PUT,
            format!("/workspaces/{id}/budgets/{interval}"),
            encode(request)?,
            Replay::Idempotent,
        );
        self.json(&call).await
    }

    /// `DELETE /workspaces/{id}/budgets/{interval}`; deleting a missing budget succeeds.
    pub async fn delete_workspace_budget(
        &self,
        id: &str,
        interval: BudgetInterval,
    ) -> Result<(), Error> {
        validate_workspace_ref(id)?;
        let call = Call::delete(format!("/workspaces/{id}/budgets/{interval}"));
        let _: DeleteResponse = self.json(&call).await?;
        Ok(())
    }

    /// `GET /organization/members`, every page.
    pub async fn organization_members(&self) -> Result<Vec<OrganizationMember>, Error> {
        self.list_every_page("/organization/members", &[]).await
    }

    /// Every key of one workspace matching `query`'s flags (its `workspace_id` is replaced).
    /// Keys the server returns without a workspace get this one.
    pub async fn list_all_in(
        &self,
        workspace_id: &str,
        query: &ListKeysQuery,
    ) -> Result<Vec<ApiKey>, Error> {
        let query = ListKeysQuery {
            workspace_id: Some(workspace_id.to_owned()),
            ..query.clone()
        };
        let mut keys = self.list_all(&query).await?;
        for key in &mut keys {
            if key.workspace_id.is_none() {
                key.workspace_id = Some(workspace_id.to_owned());
            }
        }
        Ok(keys)
    }

    /// Every key of every workspace (`GET /workspaces`, then each workspace's keys concurrently,
    /// each paged like `list_all`), merged in the workspaces' order, each key once.
    pub async fn list_all_workspaces(&self, query: &ListKeysQuery) -> Result<AccountKeys, Error> {
        query.validate()?;
        let workspaces = self.list_workspaces().await?;
        // Up to `list_concurrency` workspaces at once, each paging with its own window: a few
        // workspaces all run together, hundreds don't flood the API.
        let ids: Vec<(usize, String)> = workspaces
            .iter()
            .map(|workspace| workspace.id.clone())
            .enumerate()
            .collect();
        let mut pending = futures::stream::iter(ids)
            .map(|(index, id)| async move {
                self.list_all_in(&id, query).await.map(|keys| (index, keys))
            })
            .buffer_unordered(self.list_concurrency());
        let mut per_workspace: Vec<Vec<ApiKey>> = vec![Vec::new(); workspaces.len()];
        while let Some(result) = pending.next().await {
            let (index, keys) = result?;
            per_workspace[index] = keys;
        }
        drop(pending);
        let mut seen = std::collections::HashSet::new();
        let keys = per_workspace
            .into_iter()
            .flatten()
            .filter(|key| seen.insert(key.hash.clone()))
            .collect();
        Ok(AccountKeys { workspaces, keys })
    }
}
