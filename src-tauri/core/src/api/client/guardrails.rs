//! `OpenRouterClient` methods for `/guardrails` (CRUD, key and member assignments) and the public
//! `/models` list, which is cached in memory for `MODELS_TTL` (model pickers ask for it often; it
//! changes a few times a day). Lists that page on the server are fetched whole.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Call, CallError, OpenRouterClient, decode};
use crate::Error;
use crate::api::catalog::{Model, ModelsPage};
use crate::api::guardrails::{
    AssignedCount, CreateGuardrailRequest, Guardrail, KeyAssignment, ListPage, MemberAssignment,
    UnassignedCount, UpdateGuardrailRequest, validate_guardrail_id, validate_key_hashes,
    validate_user_ids, validate_uuid,
};
use crate::api::models::{DataEnvelope, DeleteResponse};
use crate::api::retry::Replay;

/// How long `models()` answers from memory.
pub const MODELS_TTL: Duration = Duration::from_secs(15 * 60);

/// The guardrail endpoints' page size (their maximum).
const GUARDRAIL_PAGE: usize = 100;
/// Pages fetched before giving up on a server that never ends a list (10,000 entries per list).
const MAX_PAGES: usize = 100;

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

fn encode(body: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|err| Error::Decode {
        message: format!("could not encode the request: {err}"),
        source: Some(err.into()),
    })
}

fn call(method: Method, path: String, body: Option<Vec<u8>>, replay: Replay) -> Call {
    Call {
        method,
        path,
        query: Vec::new(),
        body,
        replay,
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
    /// Every entry of a guardrail list endpoint, paging by 100 until `total_count` (or a short page).
    async fn all_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Vec<T>, Error> {
        let mut items: Vec<T> = Vec::new();
        for _ in 0..MAX_PAGES {
            let mut pairs = query.to_vec();
            pairs.push(("offset", items.len().to_string()));
            pairs.push(("limit", GUARDRAIL_PAGE.to_string()));
            let page: ListPage<T> = self.json(&Call::get(path, pairs)).await?;
            let count = page.data.len();
            items.extend(page.data);
            let total_reached = page
                .total_count
                .is_some_and(|total| items.len() as u64 >= total);
            if count < GUARDRAIL_PAGE || total_reached {
                return Ok(items);
            }
        }
        Err(Error::Decode {
            message: format!(
                "GET {path} did not end after {} entries; the server may be ignoring \"offset\"",
                items.len()
            ),
            source: None,
        })
    }

    /// `GET /guardrails`: every guardrail of the default workspace.
    pub async fn list_guardrails(&self) -> Result<Vec<Guardrail>, Error> {
        self.all_pages("/guardrails", &[]).await
    }

    /// `GET /guardrails?workspace_id=…`: every guardrail of one workspace.
    pub async fn list_guardrails_in(&self, workspace_id: &str) -> Result<Vec<Guardrail>, Error> {
        validate_uuid("workspace_id", workspace_id, "workspace id")?;
        self.all_pages("/guardrails", &[("workspace_id", workspace_id.to_owned())])
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
        let call = call(
            Method::POST,
            "/guardrails".to_owned(),
            Some(encode(request)?),
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
        let call = call(
            Method::PATCH,
            format!("/guardrails/{id}"),
            Some(encode(update)?),
            Replay::Idempotent,
        );
        let envelope: DataEnvelope<Guardrail> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `DELETE /guardrails/{id}` (its assignments go with it). As with `delete_key`, a 404 on a retry
    /// after an attempt that may have landed counts as deleted.
    pub async fn delete_guardrail(&self, id: &str) -> Result<(), Error> {
        validate_guardrail_id(id)?;
        let call = call(
            Method::DELETE,
            format!("/guardrails/{id}"),
            None,
            Replay::Idempotent,
        );
        let bytes = match self.execute(&call).await {
            Ok(bytes) => bytes,
            Err(CallError {
                error: Error::NotFound { .. },
                earlier_attempt_may_have_landed: true,
                ..
            }) => return Ok(()),
            Err(failed) => return Err(failed.error),
        };
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

    /// `GET /guardrails/{id}/assignments/keys`, whole.
    pub async fn guardrail_key_assignments(&self, id: &str) -> Result<Vec<KeyAssignment>, Error> {
        validate_guardrail_id(id)?;
        self.all_pages(&format!("/guardrails/{id}/assignments/keys"), &[])
            .await
    }

    /// `GET /guardrails/assignments/keys`: every key assignment of the account, whole.
    pub async fn all_key_assignments(&self) -> Result<Vec<KeyAssignment>, Error> {
        self.all_pages("/guardrails/assignments/keys", &[]).await
    }

    /// `POST /guardrails/{id}/assignments/keys`: assigns keys by hash, replacing any guardrail they
    /// held. Answers how many were newly assigned. Idempotent (assigning twice assigns once).
    pub async fn assign_keys(&self, id: &str, hashes: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_key_hashes(hashes)?;
        let body = encode(&json!({"key_hashes": distinct(hashes)}))?;
        let call = call(
            Method::POST,
            format!("/guardrails/{id}/assignments/keys"),
            Some(body),
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
        let call = call(
            Method::POST,
            format!("/guardrails/{id}/assignments/keys/remove"),
            Some(body),
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
        self.all_pages(&format!("/guardrails/{id}/assignments/members"), &[])
            .await
    }

    /// `GET /guardrails/assignments/members`, whole.
    pub async fn all_member_assignments(&self) -> Result<Vec<MemberAssignment>, Error> {
        self.all_pages("/guardrails/assignments/members", &[]).await
    }

    /// `POST /guardrails/{id}/assignments/members`: answers how many were newly assigned.
    pub async fn assign_members(&self, id: &str, user_ids: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_user_ids(user_ids)?;
        let body = encode(&json!({"member_user_ids": distinct(user_ids)}))?;
        let call = call(
            Method::POST,
            format!("/guardrails/{id}/assignments/members"),
            Some(body),
            Replay::Idempotent,
        );
        let answer: AssignedCount = self.json(&call).await?;
        Ok(answer.assigned_count)
    }

    /// `POST /guardrails/{id}/assignments/members/remove`: answers how many were unassigned.
    pub async fn unassign_members(&self, id: &str, user_ids: &[String]) -> Result<u64, Error> {
        validate_guardrail_id(id)?;
        validate_user_ids(user_ids)?;
        let body = encode(&json!({"member_user_ids": distinct(user_ids)}))?;
        let call = call(
            Method::POST,
            format!("/guardrails/{id}/assignments/members/remove"),
            Some(body),
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
        for _ in 0..MAX_PAGES {
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
