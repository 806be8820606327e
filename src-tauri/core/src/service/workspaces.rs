//! The workspaces of a profile: a profile's key list covers every workspace of its account (list
//! `/workspaces`, then each workspace's keys concurrently), and the workspaces seen by the latest
//! refresh are kept in memory for the UI (workspace column, filter, "create in which workspace").
//!
//! A profile pinned to one workspace (`Profile::workspace_id`) lists only that one. A server
//! without `/workspaces` (404, or 403 for a key that may list keys but not workspaces) falls back to
//! the default workspace alone, as before workspaces existed.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::Keyward;
use crate::Error;
use crate::api::{ApiKey, ListKeysQuery, OpenRouterClient, Workspace, validate_workspace_ref};
use crate::ipc::{WorkspaceInfo, WorkspacesListArgs};
use crate::store::Profile;

/// The workspaces each profile's latest refresh found, by profile id.
#[derive(Default)]
pub(super) struct ProfileWorkspaces(Mutex<HashMap<String, Vec<WorkspaceInfo>>>);

impl ProfileWorkspaces {
    pub(super) fn get(&self, profile_id: &str) -> Option<Vec<WorkspaceInfo>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(profile_id)
            .cloned()
    }

    fn set(&self, profile_id: &str, workspaces: Vec<WorkspaceInfo>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(profile_id.to_owned(), workspaces);
    }
}

impl From<&Workspace> for WorkspaceInfo {
    fn from(workspace: &Workspace) -> Self {
        WorkspaceInfo {
            id: workspace.id.clone(),
            name: workspace.name.clone(),
            slug: workspace.slug.clone(),
        }
    }
}

/// `/workspaces` is not there for this server or key: list the default workspace only.
pub(super) fn no_workspaces_endpoint(error: &Error) -> bool {
    matches!(error, Error::NotFound { .. } | Error::Forbidden { .. })
}

impl Keyward {
    /// Every key of `profile` (disabled and expired included): all workspaces, or the one the
    /// profile is pinned to. Remembers the workspaces for [`Keyward::workspaces_list`].
    pub(super) async fn list_profile_keys(
        &self,
        client: &OpenRouterClient,
        profile: &Profile,
    ) -> Result<Vec<ApiKey>, Error> {
        let everything = ListKeysQuery::everything();
        if let Some(pinned) = &profile.workspace_id {
            return client.list_all_in(pinned, &everything).await;
        }
        match client.list_all_workspaces(&everything).await {
            Ok(account) => {
                let infos = account.workspaces.iter().map(WorkspaceInfo::from).collect();
                self.inner.workspaces.set(&profile.id, infos);
                Ok(account.keys)
            }
            Err(error) if no_workspaces_endpoint(&error) => {
                tracing::info!(profile = %profile.id, kind = %error.kind(), "no workspace list; listing the default workspace");
                client.list_all(&everything).await
            }
            Err(error) => Err(error),
        }
    }

    /// The workspaces of a profile (id, name, slug), as the latest refresh found them; fetched now
    /// when `refresh` is set or none was seen yet.
    pub async fn workspaces_list(
        &self,
        args: WorkspacesListArgs,
    ) -> Result<Vec<WorkspaceInfo>, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        if !args.refresh
            && let Some(known) = self.inner.workspaces.get(&profile.id)
        {
            return Ok(known);
        }
        let client = self.client_for(&profile).await?;
        let workspaces: Vec<WorkspaceInfo> = match client.list_workspaces().await {
            Ok(list) => list.iter().map(WorkspaceInfo::from).collect(),
            Err(error) if no_workspaces_endpoint(&error) => Vec::new(),
            Err(error) => return Err(error),
        };
        let workspaces: Vec<WorkspaceInfo> = match &profile.workspace_id {
            Some(pinned) => workspaces
                .into_iter()
                .filter(|workspace| &workspace.id == pinned)
                .collect(),
            None => workspaces,
        };
        self.inner.workspaces.set(&profile.id, workspaces.clone());
        Ok(workspaces)
    }

    /// Where a new key goes: the workspace asked for (checked against the profile's known
    /// workspaces when there are any), else the profile's pinned workspace, else the default one.
    pub(super) fn creation_workspace(
        &self,
        profile: &Profile,
        asked: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let Some(asked) = asked.map(str::trim).filter(|id| !id.is_empty()) else {
            return Ok(profile.workspace_id.clone());
        };
        validate_workspace_ref(asked)?;
        if let Some(known) = self.inner.workspaces.get(&profile.id)
            && !known.is_empty()
            && !known.iter().any(|workspace| workspace.id == asked)
        {
            return Err(Error::invalid(
                "workspace_id",
                format!(
                    "\"{asked}\" is not a workspace of this account; refresh and pick one from the list"
                ),
            ));
        }
        Ok(Some(asked.to_owned()))
    }
}
