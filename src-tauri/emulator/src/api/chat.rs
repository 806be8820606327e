//! `POST /chat/completions`: a minimal, non-streaming chat completion with a canned answer. It exists
//! so the sandbox and the tests meet what a key's requests meet on OpenRouter: the key itself (401),
//! budgets and credits (402), the key's guardrail and its BYOK access (403), and usage charged to the
//! key so its limit, `/activity` and `/analytics` move.
//!
//! The checks run in the order of `keyward_core::usage::stops`: workspace budgets (pooled over the
//! workspace's keys), the key's guardrail budget (per key), the key's own limit, the account's
//! credits; then the guardrail's model and provider lists; then BYOK access.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::authenticate;
use super::validation::body_object;
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::models::{self, ModelInfo};
use crate::state::{BudgetInterval, Caller, KeyRecord, LimitReset, ModelUsage, State, money};

/// What every completion answers.
pub const CANNED_ANSWER: &str = "Hello from the OpenRouter emulator. This answer is canned.";

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/chat/completions", post(send))
}

/// A validated request: the model, how much prompt text it carries, and `provider.only`.
#[derive(Debug)]
struct ChatRequest {
    model: &'static ModelInfo,
    prompt_chars: usize,
    only: Option<Vec<String>>,
}

fn parse_request(body: &Map<String, Value>) -> Result<ChatRequest, ApiError> {
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        return Err(ApiError::bad_request(
            "The emulator does not stream: send \"stream\": false or leave it out",
        ));
    }
    let model = match body.get("model") {
        Some(Value::String(slug)) => models::find_model(slug).ok_or_else(|| {
            ApiError::bad_request(format!("\"model\" is not a valid model ID: {slug}"))
        })?,
        _ => {
            return Err(ApiError::bad_request(
                "\"model\" is required and must be a model ID (the emulator does not pick one)",
            ));
        }
    };
    let messages = match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        _ => {
            return Err(ApiError::bad_request(
                "\"messages\" is required and must be a non-empty array",
            ));
        }
    };
    let mut prompt_chars = 0;
    for message in messages {
        let role_ok = message.get("role").is_some_and(Value::is_string);
        if !role_ok {
            return Err(ApiError::bad_request(
                "each of \"messages\" must be an object with a string \"role\"",
            ));
        }
        prompt_chars += match message.get("content") {
            Some(Value::String(text)) => text.chars().count(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|part| part.get("text").and_then(Value::as_str))
                .map(|text| text.chars().count())
                .sum(),
            _ => 0,
        };
    }
    let only = match body
        .get("provider")
        .and_then(|provider| provider.get("only"))
    {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_owned).ok_or_else(|| {
                        ApiError::bad_request(
                            "\"provider.only\" must be an array of provider slugs",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"provider.only\" must be an array of provider slugs",
            ));
        }
    };
    Ok(ChatRequest {
        model,
        prompt_chars,
        only,
    })
}

/// Where a request goes: the model's provider, and whether a BYOK credential serves it.
#[derive(Debug, PartialEq)]
pub struct Route {
    pub provider: &'static str,
    pub byok: bool,
}

fn payment_required(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYMENT_REQUIRED, message)
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

fn budget_window(interval: BudgetInterval) -> Option<LimitReset> {
    match interval {
        BudgetInterval::Daily => Some(LimitReset::Daily),
        BudgetInterval::Weekly => Some(LimitReset::Weekly),
        BudgetInterval::Monthly => Some(LimitReset::Monthly),
        BudgetInterval::Lifetime => None,
    }
}

fn window_name(window: Option<LimitReset>) -> &'static str {
    window.map_or("lifetime", <&'static str>::from)
}

impl State {
    /// Every check a request by `key` meets, in OpenRouter's order; the route when it passes.
    fn admit(
        &self,
        key: &KeyRecord,
        request: &ChatRequest,
        now: DateTime<Utc>,
    ) -> Result<Route, ApiError> {
        let today = now.date_naive();
        let provider = request.model.provider;
        if let Some(only) = &request.only
            && !only.iter().any(|slug| slug == provider)
        {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "No endpoints found for {} among \"provider.only\" (the emulator serves it through {provider})",
                    request.model.id
                ),
            ));
        }

        // Workspace budgets: pooled over every key of the workspace.
        if let Some(workspace) = self.workspaces.find(&key.workspace_id) {
            for (interval, budget) in &workspace.budgets {
                let window = budget_window(*interval);
                let spent: f64 = self
                    .all_newest_first()
                    .filter(|other| other.workspace_id == key.workspace_id)
                    .map(|other| {
                        other
                            .window_spend(window, today)
                            .counted(workspace.include_byok_in_budgets)
                    })
                    .sum();
                if spent >= budget.limit_usd {
                    return Err(payment_required(format!(
                        "Workspace \"{}\" has used up its {} budget of ${}",
                        workspace.name,
                        window_name(window),
                        budget.limit_usd
                    )));
                }
            }
        }
        // The guardrail's budget: each assigned key has its own.
        let guardrail = self.guardrail_of(&key.hash);
        if let Some(guardrail) = guardrail
            && let Some(limit) = guardrail.limit_usd
        {
            let spent = key
                .window_spend(guardrail.reset_interval, today)
                .counted(guardrail.include_byok_in_budgets);
            if spent >= limit {
                return Err(payment_required(format!(
                    "Guardrail \"{}\" budget exceeded: this key has used its {} budget of ${limit}",
                    guardrail.name,
                    window_name(guardrail.reset_interval)
                )));
            }
        }
        if let Some(limit) = key.limit
            && key.limit_spend(now) >= limit
        {
            return Err(payment_required(format!(
                "Key limit exceeded: this key's {} limit of ${limit} is used up",
                window_name(key.limit_reset)
            )));
        }
        if self.total_credits - self.total_usage() <= 0.0 {
            return Err(payment_required(
                "Insufficient credits: this account has no credits left".to_owned(),
            ));
        }

        if let Some(guardrail) = guardrail {
            if !guardrail.allows_model(request.model.id) {
                return Err(forbidden(format!(
                    "Guardrail \"{}\" does not allow the model {}",
                    guardrail.name, request.model.id
                )));
            }
            if !guardrail.allows_provider(provider) {
                return Err(forbidden(format!(
                    "Guardrail \"{}\" does not allow the provider {provider}",
                    guardrail.name
                )));
            }
        }

        // BYOK: the workspace's credentials for the provider, the first that admits the key serves.
        let credentials = self.byok_for(provider, &key.workspace_id);
        let creator = key.creator_user_id.as_deref();
        let admitted = credentials.iter().any(|credential| {
            credential.admits(&key.hash, creator, request.model.id)
                || credential.admits(&key.hash, creator, request.model.canonical_slug)
        });
        if !credentials.is_empty() && !admitted && request.only.is_some() {
            return Err(forbidden(format!(
                "No BYOK credential for {provider} in this workspace admits this API key, and \"provider.only\" demands {provider}"
            )));
        }
        Ok(Route {
            provider,
            byok: admitted,
        })
    }
}

/// USD per token of a model's price string.
fn price(text: &str) -> f64 {
    text.parse::<f64>().unwrap_or(0.0)
}

fn tokens(chars: usize) -> u64 {
    u64::try_from(chars.div_ceil(4).max(1)).unwrap_or(u64::MAX)
}

async fn send(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let mut state = app.state();
    let hash = match authenticate(&state, &headers)? {
        Caller::Management(_) => {
            return Err(forbidden(
                "Management keys cannot make completion requests: use an API key".to_owned(),
            ));
        }
        Caller::Inference(hash) => hash,
    };
    let now = state.now();
    let key = state
        .get(&hash)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Invalid API key"))?;
    if key.disabled {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "API key is disabled",
        ));
    }
    if key.is_expired(now) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "API key has expired",
        ));
    }
    let request = parse_request(&body_object(&body)?)?;
    let route = state.admit(key, &request, now)?;

    let model = request.model;
    let prompt_tokens = tokens(request.prompt_chars);
    let completion_tokens = tokens(CANNED_ANSWER.len());
    let cost = money(
        prompt_tokens as f64 * price(model.prompt)
            + completion_tokens as f64 * price(model.completion),
    );
    let usage = ModelUsage {
        model: model.id.to_owned(),
        usage: if route.byok { 0.0 } else { cost },
        byok_usage: if route.byok { cost } else { 0.0 },
        requests: 1,
        prompt_tokens,
        completion_tokens,
        ..ModelUsage::default()
    };
    if let Some(key) = state.get_mut(&hash) {
        key.record(now, &usage);
    }
    drop(state);
    app.changed();
    let answer = json!({
        "id": format!("gen-{}", uuid::Uuid::new_v4().simple()),
        "object": "chat.completion",
        "created": now.timestamp(),
        "model": model.id,
        "provider": route.provider,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "finish_reason": "stop",
            "native_finish_reason": "stop",
            "logprobs": null,
            "message": {"role": "assistant", "content": CANNED_ANSWER, "refusal": null, "reasoning": null},
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "cost": cost,
            "is_byok": route.byok,
        },
    });
    Ok(json_response(StatusCode::OK, answer))
}

type AppState = AxumState<Arc<App>>;
