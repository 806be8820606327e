//! Request validation for the emulated API: query parameters (the paging of every list too) and
//! the JSON body's fields, each refused with the status and message the real API gives.

use std::collections::BTreeMap;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::app::ApiError;
use crate::state::{LimitReset, sha256_hex};

/// Query parameters; the first occurrence of a name wins.
pub(super) fn query_params(query: Option<&str>) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    params
}

pub(super) fn query_bool(params: &BTreeMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None => Ok(false),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ApiError::bad_request(format!(
            "\"{name}\" must be true or false"
        ))),
    }
}

/// A workspace id in canonical form (lowercase, hyphenated).
pub(super) fn parse_workspace(value: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value.trim())
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| ApiError::bad_request("\"workspace_id\" must be a UUID"))
}

/// The body as a JSON object; an empty body counts as `{}`.
pub(super) fn body_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(error) => Err(ApiError::bad_request(format!("Invalid JSON body: {error}"))),
    }
}

pub(super) fn valid_name(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(name.clone()),
        _ => Err(ApiError::bad_request(
            "\"name\" is required and must be a non-empty string",
        )),
    }
}

pub(super) fn valid_limit(value: &Value) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => match number.as_f64() {
            Some(limit) if limit.is_finite() && limit >= 0.0 => Ok(Some(limit)),
            _ => Err(ApiError::bad_request(
                "\"limit\" must be a non-negative number or null",
            )),
        },
        _ => Err(ApiError::bad_request(
            "\"limit\" must be a non-negative number or null",
        )),
    }
}

pub(super) fn valid_limit_reset(value: &Value) -> Result<Option<LimitReset>, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "\"limit_reset\" must be one of \"daily\", \"weekly\", \"monthly\" or null",
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::String(text) => text.parse::<LimitReset>().map(Some).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

pub(super) fn valid_bool(name: &str, value: &Value) -> Result<bool, ApiError> {
    value
        .as_bool()
        .ok_or_else(|| ApiError::bad_request(format!("\"{name}\" must be a boolean")))
}

pub(super) fn valid_expires_at(
    value: &Value,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "\"expires_at\" must be an ISO 8601 datetime with seconds and a zone, e.g. 2030-01-02T03:04:05Z",
        )
    };
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(text) => text,
        _ => return Err(invalid()),
    };
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| invalid())?
        .to_utc();
    if at <= now {
        return Err(ApiError::bad_request(
            "\"expires_at\" must be in the future",
        ));
    }
    Ok(Some(at))
}

pub(super) fn valid_workspace(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(text) => parse_workspace(text),
        _ => Err(ApiError::bad_request("\"workspace_id\" must be a UUID")),
    }
}

/// `external`: the partner's end user (required) and optional partner key (stored as SHA-256).
pub(super) fn valid_external(value: &Value) -> Result<(Option<String>, Option<String>), ApiError> {
    let external = match value {
        Value::Null => return Ok((None, None)),
        Value::Object(external) => external,
        _ => return Err(ApiError::bad_request("\"external\" must be an object")),
    };
    let user = match external.get("user") {
        Some(Value::String(user)) if !user.trim().is_empty() => user.clone(),
        _ => {
            return Err(ApiError::bad_request(
                "\"external.user\" is required and must be a non-empty string",
            ));
        }
    };
    let api_key = match external.get("api_key") {
        None | Some(Value::Null) => None,
        Some(Value::String(key)) if key.chars().count() >= 32 => Some(sha256_hex(key)),
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"external.api_key\" must be a string of at least 32 characters",
            ));
        }
    };
    Ok((Some(user), api_key))
}

/// `offset` (≥ 0, `null`/empty = 0) and `limit` (1–100, default 50) of a paged list.
pub(crate) fn page_params(params: &BTreeMap<String, String>) -> Result<(usize, usize), ApiError> {
    let offset = match params.get("offset").map(String::as_str) {
        None | Some("") | Some("null") => 0,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request("\"offset\" must be a non-negative integer"))?,
    };
    let limit = match params.get("limit").map(String::as_str) {
        None | Some("") => 50,
        Some(text) => match text.parse::<usize>() {
            Ok(limit) if (1..=100).contains(&limit) => limit,
            _ => {
                return Err(ApiError::bad_request(
                    "\"limit\" must be an integer from 1 to 100",
                ));
            }
        },
    };
    // A page-size quirk (`/_emulator/quirks`) answers its own page size whatever was asked.
    Ok((offset, crate::quirks::page_size().unwrap_or(limit)))
}

/// `{"data": [...page], "total_count": N}`.
pub(crate) fn page_body(items: Vec<Value>, offset: usize, limit: usize) -> Value {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    json!({"data": page, "total_count": total})
}
