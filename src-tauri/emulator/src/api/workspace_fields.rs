//! Field validation of the workspace endpoints: names, slugs, the optional settings shared by create
//! and update, `user_ids` and budget intervals, each refused with a 400 naming the field.

use axum::body::Bytes;
use serde_json::{Map, Value};

use super::validation::body_object;
use crate::app::ApiError;
use crate::state::{BudgetInterval, WorkspaceRecord};

pub(super) fn text_field(
    body: &Map<String, Value>,
    name: &str,
    max: usize,
    nullable: bool,
) -> Result<Option<Option<String>>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Null) if nullable => Ok(Some(None)),
        Some(Value::String(text)) if text.chars().count() <= max => Ok(Some(Some(text.clone()))),
        Some(_) => Err(ApiError::bad_request(format!(
            "\"{name}\" must be a string of at most {max} characters{}",
            if nullable { " or null" } else { "" }
        ))),
    }
}

pub(super) fn valid_name(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(name) if !name.trim().is_empty() && name.chars().count() <= 100 => {
            Ok(name.clone())
        }
        _ => Err(ApiError::bad_request(
            "\"name\" must be a non-empty string of at most 100 characters",
        )),
    }
}

/// Lowercase alphanumeric segments joined by single hyphens, 1–50 characters.
pub(super) fn valid_slug(value: &Value) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "\"slug\" must be 1-50 lowercase letters or digits in segments joined by single hyphens (e.g. \"research-team\")",
        )
    };
    let Value::String(slug) = value else {
        return Err(invalid());
    };
    let well_formed = !slug.is_empty()
        && slug.len() <= 50
        && slug.split('-').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if well_formed {
        Ok(slug.clone())
    } else {
        Err(invalid())
    }
}

pub(super) fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(ApiError::bad_request(format!(
            "\"{name}\" must be a boolean"
        ))),
    }
}

/// Applies the optional settings shared by create and update; refuses a bad value.
pub(super) fn apply_settings(
    workspace: &mut WorkspaceRecord,
    body: &Map<String, Value>,
) -> Result<(), ApiError> {
    if let Some(description) = text_field(body, "description", 500, true)? {
        workspace.description = description;
    }
    for (name, slot) in [
        ("default_text_model", &mut workspace.default_text_model),
        ("default_image_model", &mut workspace.default_image_model),
        (
            "default_provider_sort",
            &mut workspace.default_provider_sort,
        ),
    ] {
        if let Some(value) = text_field(body, name, 200, true)? {
            *slot = value;
        }
    }
    for (name, slot) in [
        (
            "is_observability_io_logging_enabled",
            &mut workspace.is_observability_io_logging_enabled,
        ),
        (
            "is_observability_broadcast_enabled",
            &mut workspace.is_observability_broadcast_enabled,
        ),
        (
            "is_data_discount_logging_enabled",
            &mut workspace.is_data_discount_logging_enabled,
        ),
    ] {
        if let Some(value) = bool_field(body, name)? {
            *slot = value;
        }
    }
    if let Some(value) = body.get("io_logging_sampling_rate") {
        match value.as_f64() {
            Some(rate) if (0.0001..=1.0).contains(&rate) => {
                workspace.io_logging_sampling_rate = rate
            }
            _ => {
                return Err(ApiError::bad_request(
                    "\"io_logging_sampling_rate\" must be a number from 0.0001 to 1",
                ));
            }
        }
    }
    if let Some(value) = body.get("io_logging_api_key_ids") {
        workspace.io_logging_api_key_ids = match value {
            Value::Null => None,
            Value::Array(items) => Some(
                items
                    .iter()
                    .map(Value::as_i64)
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "\"io_logging_api_key_ids\" must be an array of integers or null",
                        )
                    })?,
            ),
            _ => {
                return Err(ApiError::bad_request(
                    "\"io_logging_api_key_ids\" must be an array of integers or null",
                ));
            }
        };
    }
    Ok(())
}

/// `user_ids`: 1–100 non-empty strings, duplicates folded.
pub(super) fn user_ids(body: &Bytes) -> Result<Vec<String>, ApiError> {
    let body = body_object(body)?;
    let invalid = || {
        ApiError::bad_request("\"user_ids\" must be an array of 1 to 100 non-empty user id strings")
    };
    let Some(Value::Array(items)) = body.get("user_ids") else {
        return Err(invalid());
    };
    if items.is_empty() || items.len() > 100 {
        return Err(invalid());
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(id) if !id.trim().is_empty() => {
                if !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(ids)
}

pub(super) fn interval(text: &str) -> Result<BudgetInterval, ApiError> {
    text.parse::<BudgetInterval>().map_err(|_| {
        ApiError::bad_request(
            "\"interval\" must be one of \"daily\", \"weekly\", \"monthly\", \"lifetime\"",
        )
    })
}
