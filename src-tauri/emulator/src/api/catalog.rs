//! `GET /models` (OpenRouter's public model list: no key needed) and `GET /models/user` (the
//! management spec's listing for the account), both served from `crate::models::MODELS`, newest
//! first. Paging: `offset` and `limit` (1–1000); without either the whole list comes back, with
//! `links.next` pointing at the following page when there is one.

use std::sync::Arc;

use axum::Router;
use axum::extract::{OriginalUri, RawQuery, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};

use super::validation::query_params;
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::models::{MODELS, ModelInfo};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/models", get(public_models))
        .route("/models/user", get(user_models))
}

const MAX_LIMIT: usize = 1000;

const SUPPORTED_PARAMETERS: &[&str] = &[
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "tools",
    "tool_choice",
    "response_format",
];

/// The `Model` object of `ModelsListResponse`.
fn model_json(model: &ModelInfo) -> Value {
    let inputs = model.input_modalities;
    let modality = if inputs.len() > 1 {
        format!("{}->text", inputs.join("+"))
    } else {
        "text->text".to_owned()
    };
    json!({
        "id": model.id,
        "canonical_slug": model.canonical_slug,
        "hugging_face_id": null,
        "name": model.name,
        "created": model.created,
        "description": model.description,
        "context_length": model.context_length,
        "architecture": {
            "modality": modality,
            "input_modalities": inputs,
            "output_modalities": ["text"],
            "tokenizer": model.tokenizer,
            "instruct_type": null,
        },
        "pricing": {
            "prompt": model.prompt,
            "completion": model.completion,
            "request": "0",
            "image": "0",
        },
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": model.max_completion_tokens,
            "is_moderated": matches!(model.provider, "openai" | "anthropic"),
        },
        "per_request_limits": null,
        "supported_parameters": SUPPORTED_PARAMETERS,
        "default_parameters": null,
        "supported_voices": null,
        "expiration_date": null,
        "knowledge_cutoff": null,
        "links": {"details": format!("/api/v1/models/{}/endpoints", model.id)},
    })
}

fn list(path: &str, query: Option<&str>) -> ApiResult {
    let params = query_params(query);
    let offset = match params.get("offset").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<usize>()
                .map_err(|_| ApiError::bad_request("\"offset\" must be a non-negative integer"))?,
        ),
    };
    let limit = match params.get("limit").map(String::as_str) {
        None | Some("") => None,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Some(limit),
            _ => {
                return Err(ApiError::bad_request(
                    "\"limit\" must be an integer from 1 to 1000",
                ));
            }
        },
    };
    let mut models: Vec<&ModelInfo> = MODELS.iter().collect();
    models.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(b.id)));
    let total = models.len();
    // Neither given: the whole list (documented); otherwise the documented defaults 0 and 500.
    let (offset, limit) = match (offset, limit) {
        (None, None) => (0, total.max(1)),
        (offset, limit) => (offset.unwrap_or(0), limit.unwrap_or(500)),
    };
    let page: Vec<Value> = models
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(model_json)
        .collect();
    let end = offset.saturating_add(limit);
    let next = (end < total).then(|| format!("{path}?offset={end}&limit={limit}"));
    Ok(json_response(
        StatusCode::OK,
        json!({"data": page, "total_count": total, "links": {"next": next}}),
    ))
}

async fn public_models(OriginalUri(uri): OriginalUri, RawQuery(query): RawQuery) -> ApiResult {
    list(uri.path(), query.as_deref())
}

/// Management key only, like every account endpoint here (the spec documents the 403).
async fn user_models(
    AxumState(app): AppState,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> ApiResult {
    require_management(&app.state(), &headers)?;
    list(uri.path(), query.as_deref())
}
