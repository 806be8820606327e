//! The client's workspace endpoints: `/workspaces` (CRUD, members, budgets),
//! `/organization/members`, and listing the keys of one or every workspace.
//!
//! Paged lists are fetched whole: the first page (100 items) tells the total, the rest are
//! fetched concurrently. Every key listing reuses `list_all`'s paging; listing every workspace runs
//! the workspaces concurrently, so 5 workspaces cost about as long as the largest one.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::models::{ApiKey, DataEnvelope, DeleteResponse};
use super::super::requests::ListKeysQuery;
use super::super::retry::Replay;
use super::super::workspaces::{
    AccountKeys, BudgetInterval, CreateWorkspaceRequest, MembersAdded, MembersRemoved,
    OrganizationMember, PagedEnvelope, SetWorkspaceBudgetRequest, UpdateWorkspaceRequest,
    Workspace, WorkspaceBudgetAnswer, WorkspaceBudgets, WorkspaceMember, validate_user_ids,
    validate_workspace_ref,
};
use super::{Call, OpenRouterClient, decode};
use crate::Error;

/// Items per page asked of the paged lists (the API's maximum).
const LIST_LIMIT: u64 = 100;
/// A server that never stops paging must not page forever.
const MAX_ITEMS: u64 = 100_000;

fn encode(body: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|err| Error::Decode {
        message: format!("could not encode the request: {err}"),
        source: Some(err.into()),
    })
}

impl Call {
    fn with_body(method: Method, path: String, body: Vec<u8>, replay: Replay) -> Call {
        Call {
            method,
            path,
            query: Vec::new(),
            body: Some(body),
            replay,
        }
    }
}

impl OpenRouterClient {
    /// Every item of a paged list (`{data, total_count}`): page 0, then the rest at once.
    async fn paged_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, Error> {
        let page = |offset: u64| {
            let call = Call::get(
                path,
                vec![
                    ("offset", offset.to_string()),
                    ("limit", LIST_LIMIT.to_string()),
                ],
            );
            async move { self.json::<PagedEnvelope<T>>(&call).await }
        };
        let first = page(0).await?;
        let mut items = first.data;
        let short = (items.len() as u64) < LIST_LIMIT;
        match first.total_count {
            Some(total) if total > LIST_LIMIT && !short => {
                let total = total.min(MAX_ITEMS);
                let mut rest: Vec<(u64, Vec<T>)> = Vec::new();
                let mut pending: FuturesUnordered<_> = (1..total.div_ceil(LIST_LIMIT))
                    .map(|index| {
                        let offset = index * LIST_LIMIT;
                        let fetch = page(offset);
                        async move { fetch.await.map(|envelope| (offset, envelope.data)) }
                    })
                    .collect();
                while let Some(result) = pending.next().await {
                    rest.push(result?);
                }
                rest.sort_by_key(|(offset, _)| *offset);
                items.extend(rest.into_iter().flat_map(|(_, data)| data));
            }
            Some(_) => {}
            // No total: page on until a short page.
            None if !short => {
                let mut offset = LIST_LIMIT;
                loop {
                    if offset > MAX_ITEMS {
                        return Err(Error::Decode {
                            message: format!("GET {path} does not stop paging"),
                            source: None,
                        });
                    }
                    let next = page(offset).await?;
                    let done = (next.data.len() as u64) < LIST_LIMIT;
                    items.extend(next.data);
                    if done {
                        break;
                    }
                    offset += LIST_LIMIT;
                }
            }
            None => {}
        }
        Ok(items)
    }

    /// `GET /workspaces`, every page.
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>, Error> {
        self.paged_all("/workspaces").await
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
        let call = Call {
            method: Method::DELETE,
            path: format!("/workspaces/{id}"),
            query: Vec::new(),
            body: None,
            replay: Replay::Idempotent,
        };
        let bytes = self.execute(&call).await?;
        let answer: DeleteResponse = decode(&call, &bytes)?;
        if answer.deleted {
            Ok(())
        } else {
            Err(Error::Decode {
                message: format!("{} answered \"deleted\": false", call.describe()),
                source: None,
            })
        }
    }

    /// `GET /workspaces/{id}/members`, every page.
    pub async fn list_workspace_members(&self, id: &str) -> Result<Vec<WorkspaceMember>, Error> {
        validate_workspace_ref(id)?;
        self.paged_all(&format!("/workspaces/{id}/members")).await
    }

    /// `POST /workspaces/{id}/members/add`: the memberships created or updated. Adding twice adds
    /// once, so it is retried like a GET.
    pub async fn add_workspace_members(
        &self,
        id: &str,
        user_ids: &[String],
    ) -> Result<Vec<WorkspaceMember>, Error> {
        validate_workspace_ref(id)?;
        validate_user_ids(user_ids)?;
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
        validate_user_ids(user_ids)?;
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
        let call = Call {
            method: Method::DELETE,
            path: format!("/workspaces/{id}/budgets/{interval}"),
            query: Vec::new(),
            body: None,
            replay: Replay::Idempotent,
        };
        let _: DeleteResponse = self.json(&call).await?;
        Ok(())
    }

    /// `GET /organization/members`, every page.
    pub async fn organization_members(&self) -> Result<Vec<OrganizationMember>, Error> {
        self.paged_all("/organization/members").await
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
