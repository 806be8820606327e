//! `OpenRouterClient` methods for `/guardrails` (CRUD, key and member assignments) and the public
//! `/models` list, which is cached in memory for `MODELS_TTL` (model pickers ask for it often; it
//! changes a few times a day). Lists that page on the server are fetched whole.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use super::{Call, OpenRouterClient, encode};
use crate::Error;
use crate::api::catalog::{Model, ModelsPage};
use crate::api::guardrails::{
    AssignedCount, CreateGuardrailRequest, Guardrail, KeyAssignment, MemberAssignment,
    UnassignedCount, UpdateGuardrailRequest, validate_guardrail_id, validate_key_hashes,
};
use crate::api::models::DataEnvelope;
use crate::api::retry::Replay;
use crate::api::validation::{validate_user_ids, validate_uuid};

/// How long `models()` answers from memory.
pub const MODELS_TTL: Duration = Duration::from_secs(15 * 60);

/// Pages of `/models` fetched before giving up on a server that never ends the list.
const MAX_MODEL_PAGES: usize = 100;

/// The last `/models` answer and when it came.
#[derive(Default)]
pub(super) struct ModelCache(Mutex<Option<(Instant, Arc<Vec<Model>>)>>);

impl ModelCache {
    fn fresh(&self) -> Option<Arc<Vec<Model>>> {
        let cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < MODELS_TTL)
            .map(|(_, models)| Arc::clone(models))
    }

    fn store(&self, models: Arc<Vec<Model>>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), models));
    }

    fn clear(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Keeps the first copy of each id (a repeated id would count twice in nothing but confusion).
fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen: Vec<&str> = Vec::with_capacity(ids.len());
    for id in ids {
        if !seen.contains(&id.as_str()) {
            seen.push(id);
        }
    }
    seen
}

impl OpenRouterClient {
    /// `GET /guardrails`: every guardrail of the default workspace.
    pub async fn list_guardrails(&self) -> Result<Vec<Guardrail>, Error> {
        self.list_every_page("/guardrails", &[]).await
    }

    /// `GET /guardrails?workspace_id=…`: every guardrail of one workspace.
    pub async fn list_guardrails_in(&self, workspace_id: &str) -> Result<Vec<Guardrail>, Error> {
        validate_uuid("workspace_id", workspace_id, "workspace id")?;
        self.list_every_page("/guardrails", &[("workspace_id", workspace_id.to_owned())])
            .await
    }

    /// `GET /guardrails/{id}`.
    pub async fn get_guardrail(&self, id: &str) -> Result<Guardrail, Error> {
        validate_guardrail_id(id)?;
        let envelope: DataEnvelope<Guardrail> = self
            .json(&Call::get(&format!("/guardrails/{id}"), Vec::new()))
            .await?;
        Ok(envelope.data)
    }

    /// `POST /guardrails`. Like `create_key`, not retried once it may have reached the server (a
    /// second copy would create a second guardrail).
    pub async fn create_guardrail(
        &self,
        request: &CreateGuardrailRequest,
    ) -> Result<Guardrail, Error> {
        request.validate()?;
        let call = Call::with_body(
            Method::POST,
            "/guardrails".to_owned(),
            encode(request)?,
            Replay::CreatesSomething,
        );
        let envelope: DataEnvelope<Guardrail> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `PATCH /guardrails/{id}`: every list set in `update` replaces the old one whole. Retried like
    /// a GET (absolute values).
    pub async fn update_guardrail(
        &self,
        id: &str,
        update: &UpdateGuardrailRequest,
    ) -> Result<Guardrail, Error> {
        validate_guardrail_id(id)?;
        update.validate()?;
        let call = Call::with_body(
            Method::PATCH,
            format!("/guardrails/{id}"),
            encode(update)?,
            Replay::Idempotent,
        );
        let envelope: DataEnvelope<Guardrail> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `DELETE /guardrails/{id}` (its assignments go with it). As with `delete_key`, a 404 on a retry
    /// after an attempt that may have landed counts as deleted.
    pub async fn delete_guardrail(&self, id: &str) -> Result<(), Error> {
        validate_guardrail_id(id)?;
        self.delete_resource(format!("/guardrails/{id}")).await
    }

    /// `GET /guardrails/{id}/assignments/keys`, whole.
    pub async fn guardrail_key_assignments(&self, id: &str) -> Result<Vec<KeyAssignment>, Error> {
        validate_guardrail_id(id)?;
        self.list_every_page(&format!("/guardrails/{id}/assignments/keys"), &[])
            .await
    }

    /// `GET /guardrails/assignments/keys`: every key assignment of the account, whole.
    pub async fn all_key_assignments(&self) -> Result<Vec<KeyAssignment>, Error> {
        self.list_every_page("/guardrails/assignments/keys", &[])
            .await
    }

    /// `POST /guardrails/{id}/assignments/keys`: assigns keys by hash, replacing any guardrail they
    /// held. Answers how many were newly assigned. Idempotent (assigning twice assigns once).
    pub async fn assign_keys(&self, id: &str, hashes: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_key_hashes(hashes)?;
        let body = encode(&json!({"key_hashes": distinct(hashes)}))?;
        let call = Call::with_body(
            Method::POST,
            format!("/guardrails/{id}/assignments/keys"),
            body,
            Replay::Idempotent,
        );
        let answer: AssignedCount = self.json(&call).await?;
        Ok(answer.assigned_count)
    }

    /// `POST /guardrails/{id}/assignments/keys/remove`: answers how many were unassigned.
    pub async fn unassign_keys(&self, id: &str, hashes: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_key_hashes(hashes)?;
        let body = encode(&json!({"key_hashes": distinct(hashes)}))?;
        let call = Call::with_body(
            Method::POST,
            format!("/guardrails/{id}/assignments/keys/remove"),
            body,
            Replay::Idempotent,
        );
        let answer: UnassignedCount = self.json(&call).await?;
        Ok(answer.unassigned_count)
    }

    /// `GET /guardrails/{id}/assignments/members`, whole.
    pub async fn guardrail_member_assignments(
        &self,
        id: &str,
    ) -> Result<Vec<MemberAssignment>, Error> {
        validate_guardrail_id(id)?;
        self.list_every_page(&format!("/guardrails/{id}/assignments/members"), &[])
            .await
    }

    /// `GET /guardrails/assignments/members`, whole.
    pub async fn all_member_assignments(&self) -> Result<Vec<MemberAssignment>, Error> {
        self.list_every_page("/guardrails/assignments/members", &[])
            .await
    }

    /// `POST /guardrails/{id}/assignments/members`: answers how many were newly assigned.
    pub async fn assign_members(&self, id: &str, user_ids: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_user_ids("member_user_ids", user_ids)?;
        let body = encode(&json!({"member_user_ids": distinct(user_ids)}))?;
        let call = Call::with_body(
            Method::POST,
            format!("/guardrails/{id}/assignments/members"),
            body,
            Replay::Idempotent,
        );
        let answer: AssignedCount = self.json(&call).await?;
        Ok(answer.assigned_count)
    }

    /// `POST /guardrails/{id}/assignments/members/remove`: answers how many were unassigned.
    pub async fn unassign_members(&self, id: &str, user_ids: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_user_ids("member_user_ids", user_ids)?;
        let body = encode(&json!({"member_user_ids": distinct(user_ids)}))?;
        let call = Call::with_body(
            Method::POST,
            format!("/guardrails/{id}/assignments/members/remove"),
            body,
            Replay::Idempotent,
        );
        let answer: UnassignedCount = self.json(&call).await?;
        Ok(answer.unassigned_count)
    }

    /// OpenRouter's public model list (`GET /models`), newest first, from memory when fetched less
    /// than `MODELS_TTL` ago. Concurrent first calls may each fetch; the last answer is kept.
    pub async fn models(&self) -> Result<Arc<Vec<Model>>, Error> {
        if let Some(models) = self.inner.models_cache.fresh() {
            return Ok(models);
        }
        let models = Arc::new(self.fetch_models().await?);
        self.inner.models_cache.store(Arc::clone(&models));
        Ok(models)
    }

    /// Forgets the cached model list; the next `models()` asks the server.
    pub fn forget_models(&self) {
        self.inner.models_cache.clear();
    }

    /// The whole list: without `offset`/`limit` the API answers everything; should a server page
    /// anyway, the rest is fetched while `links.next` says there is more.
    async fn fetch_models(&self) -> Result<Vec<Model>, Error> {
        let mut models: Vec<Model> = Vec::new();
        let mut query = Vec::new();
        for _ in 0..MAX_MODEL_PAGES {
            let page: ModelsPage = self.json(&Call::get("/models", query)).await?;
            let count = page.data.len();
            models.extend(page.data);
            let more = page.links.next.is_some()
                && page
                    .total_count
                    .is_none_or(|total| (models.len() as u64) < total);
            if count == 0 || !more {
                return Ok(models);
            }
            query = vec![
                ("offset", models.len().to_string()),
                ("limit", "500".into()),
            ];
        }
        Err(Error::Decode {
            message: "GET /models did not end; the server may be ignoring \"offset\"".into(),
            source: None,
        })
    }
}
