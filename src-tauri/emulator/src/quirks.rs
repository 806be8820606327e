//! Wire quirks of an unusual or hostile server, for the client's hardening tests: a redirect instead
//! of an answer, a create answer with odd fields, a huge body, another page size. Set with
//! `POST /_emulator/quirks`, read with `GET`, cleared with `DELETE` and by `/_emulator/reset`.
//! Separate from `/faults` (transport failures): a quirk is an answer the server does give.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State as AxumState};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::app::{ApiError, ApiResult, App, json_response};

/// Largest `huge_body.bytes` accepted (1 GiB): a body is streamed, never held.
const MAX_HUGE_BODY: u64 = 1 << 30;
/// Largest `page_size` accepted.
const MAX_PAGE_SIZE: usize = 1000;
/// Chunk of a huge body.
const CHUNK: usize = 64 * 1024;

/// Every API request (under `path_prefix`, if given) is answered with this redirect.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedirectQuirk {
    pub location: String,
    #[serde(default = "default_redirect_status")]
    pub status: u16,
    #[serde(default)]
    pub path_prefix: Option<String>,
}

fn default_redirect_status() -> u16 {
    302
}

/// Changes to the 2xx body of `POST /keys`: top-level fields set or removed, fields of `data` set
/// or removed (the secret at `key` stays unless `remove` names it).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateResponseQuirk {
    #[serde(default)]
    pub set: Map<String, Value>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub data_set: Map<String, Value>,
    #[serde(default)]
    pub data_remove: Vec<String>,
}

/// A 200 whose body is `bytes` long (`{"data":[` then blanks), streamed in chunks; with
/// `content_length` the length is announced up front, otherwise the body is chunked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HugeBodyQuirk {
    pub bytes: u64,
    #[serde(default)]
    pub content_length: bool,
    #[serde(default)]
    pub path_prefix: Option<String>,
}

/// The body of `POST /_emulator/quirks`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuirkConfig {
    #[serde(default)]
    pub redirect: Option<RedirectQuirk>,
    #[serde(default)]
    pub create_response: Option<CreateResponseQuirk>,
    #[serde(default)]
    pub huge_body: Option<HugeBodyQuirk>,
    /// Items per page of `GET /keys` and of every `offset`/`limit` list (which then ignore the
    /// `limit` asked for, like a server with a fixed page size). Default: 100 and `limit`.
    #[serde(default)]
    pub page_size: Option<usize>,
    /// Paged lists answer without `total_count` (the client must page on to a short page).
    #[serde(default)]
    pub omit_total_count: bool,
}

impl QuirkConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(redirect) = &self.redirect {
            if !(300..=399).contains(&redirect.status) {
                return Err("\"redirect.status\" must be between 300 and 399".to_owned());
            }
            if HeaderValue::from_str(&redirect.location).is_err() || redirect.location.is_empty() {
                return Err("\"redirect.location\" must be a non-empty header value".to_owned());
            }
        }
        if let Some(huge) = &self.huge_body
            && huge.bytes > MAX_HUGE_BODY
        {
            return Err(format!(
                "\"huge_body.bytes\" must be at most {MAX_HUGE_BODY}"
            ));
        }
        if matches!(self.page_size, Some(size) if size == 0 || size > MAX_PAGE_SIZE) {
            return Err(format!("\"page_size\" must be from 1 to {MAX_PAGE_SIZE}"));
        }
        Ok(())
    }
}

tokio::task_local! {
    /// The page size of the request being handled, when a quirk sets one.
    static PAGE_SIZE: Option<usize>;
}

/// The page size a quirk imposes on the list being answered, if any.
pub fn page_size() -> Option<usize> {
    PAGE_SIZE.try_with(|size| *size).ok().flatten()
}

pub fn router() -> Router<Arc<App>> {
    Router::new().route(
        "/quirks",
        get(get_quirks).post(set_quirks).delete(clear_quirks),
    )
}

async fn get_quirks(AxumState(app): AxumState<Arc<App>>) -> ApiResult {
    Ok(json_response(StatusCode::OK, app.quirks().clone()))
}

async fn set_quirks(AxumState(app): AxumState<Arc<App>>, body: Bytes) -> ApiResult {
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &body
    };
    let config: QuirkConfig = serde_json::from_slice(text)
        .map_err(|error| ApiError::bad_request(format!("Invalid JSON body: {error}")))?;
    config.validate().map_err(ApiError::bad_request)?;
    *app.quirks() = config.clone();
    Ok(json_response(StatusCode::OK, config))
}

async fn clear_quirks(AxumState(app): AxumState<Arc<App>>) -> ApiResult {
    *app.quirks() = QuirkConfig::default();
    Ok(json_response(StatusCode::OK, QuirkConfig::default()))
}

fn applies(prefix: Option<&str>, path: &str) -> bool {
    prefix.is_none_or(|prefix| path.starts_with(prefix))
}

/// The quirks in front of every `/api/v1` handler (inside the fault gate, so faults and the
/// request log see what the client sees).
pub async fn gate(AxumState(app): AxumState<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.extensions().get::<OriginalUri>().map_or_else(
        || request.uri().path().to_owned(),
        |uri| uri.0.path().to_owned(),
    );
    let config = app.quirks().clone();
    if let Some(redirect) = config
        .redirect
        .filter(|redirect| applies(redirect.path_prefix.as_deref(), &path))
    {
        return redirect_response(&redirect);
    }
    if let Some(huge) = config
        .huge_body
        .filter(|huge| applies(huge.path_prefix.as_deref(), &path))
    {
        return huge_response(&huge);
    }
    let is_create = request.method() == Method::POST && path == "/api/v1/keys";
    let is_get = request.method() == Method::GET;
    let response = PAGE_SIZE.scope(config.page_size, next.run(request)).await;
    if !response.status().is_success() {
        return response;
    }
    match config.create_response {
        Some(quirk) if is_create => {
            rewrite_json(response, |answer| {
                if let Some(Value::Object(data)) = answer.get_mut("data") {
                    for field in &quirk.data_remove {
                        data.remove(field);
                    }
                    data.extend(quirk.data_set.clone());
                }
                for field in &quirk.remove {
                    answer.remove(field);
                }
                answer.extend(quirk.set.clone());
            })
            .await
        }
        _ if is_get && config.omit_total_count => {
            rewrite_json(response, |answer| {
                answer.remove("total_count");
            })
            .await
        }
        _ => response,
    }
}

fn redirect_response(redirect: &RedirectQuirk) -> Response {
    let status = StatusCode::from_u16(redirect.status).unwrap_or(StatusCode::FOUND);
    let mut response = json_response(status, json!({"moved_to": redirect.location}));
    if let Ok(location) = HeaderValue::from_str(&redirect.location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn huge_response(huge: &HugeBodyQuirk) -> Response {
    let total = huge.bytes;
    let head: &[u8] = b"{\"data\":[";
    let stream = futures::stream::unfold(0u64, move |sent| async move {
        if sent >= total {
            return None;
        }
        let size = (total - sent).min(CHUNK as u64) as usize;
        let mut chunk = vec![b' '; size];
        if sent == 0 {
            let head_len = head.len().min(size);
            chunk[..head_len].copy_from_slice(&head[..head_len]);
        }
        Some((
            Ok::<Bytes, std::io::Error>(Bytes::from(chunk)),
            sent + size as u64,
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if huge.content_length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
    }
    response
}

/// `response` with its JSON object body changed by `change` (other bodies pass unchanged).
async fn rewrite_json(
    response: Response,
    change: impl FnOnce(&mut Map<String, Value>),
) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 20).await else {
        return json_response(StatusCode::INTERNAL_SERVER_ERROR, json!({}));
    };
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    change(&mut answer);
    let body = serde_json::to_vec(&Value::Object(answer)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_quirks_are_rejected() {
        let bad: QuirkConfig =
            serde_json::from_value(json!({"redirect": {"location": "http://x", "status": 200}}))
                .unwrap();
        assert!(bad.validate().is_err());
        let bad: QuirkConfig = serde_json::from_value(json!({"page_size": 0})).unwrap();
        assert!(bad.validate().is_err());
        assert!(serde_json::from_value::<QuirkConfig>(json!({"page_sise": 5})).is_err());
        let good: QuirkConfig =
            serde_json::from_value(json!({"page_size": 7, "huge_body": {"bytes": 10}})).unwrap();
        assert!(good.validate().is_ok());
    }
}
