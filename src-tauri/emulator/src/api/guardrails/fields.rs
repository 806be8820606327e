//! The body of `POST /guardrails` and `PATCH /guardrails/{id}`: each field validated (400 naming it)
//! and applied with replace semantics (a list that is sent replaces the old one whole).

use serde_json::{Map, Value};

use crate::app::ApiError;
use crate::models;
use crate::state::{Guardrail, LimitReset};

const MAX_NAME_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 1000;

pub(super) fn valid_guardrail_name(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(name)
            if !name.trim().is_empty() && name.chars().count() <= MAX_NAME_CHARS =>
        {
            Ok(name.clone())
        }
        _ => Err(ApiError::bad_request(
            "\"name\" is required and must be a string of 1 to 200 characters",
        )),
    }
}

fn valid_description(value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.chars().count() <= MAX_DESCRIPTION_CHARS => {
            Ok(Some(text.clone()))
        }
        _ => Err(ApiError::bad_request(
            "\"description\" must be a string of at most 1000 characters or null",
        )),
    }
}

fn valid_limit_usd(value: &Value) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Number(number) => match number.as_f64() {
            Some(limit) if limit.is_finite() && limit >= 0.0 => Ok(Some(limit)),
            _ => Err(ApiError::bad_request(
                "\"limit_usd\" must be a non-negative number or null",
            )),
        },
        _ => Err(ApiError::bad_request(
            "\"limit_usd\" must be a non-negative number or null",
        )),
    }
}

fn valid_reset_interval(value: &Value) -> Result<Option<LimitReset>, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "\"reset_interval\" must be one of \"daily\", \"weekly\", \"monthly\" or null",
        )
    };
    match value {
        Value::Null => Ok(None),
        Value::String(text) => text.parse::<LimitReset>().map(Some).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

fn valid_optional_bool(name: &str, value: &Value) -> Result<Option<bool>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(flag) => Ok(Some(*flag)),
        _ => Err(ApiError::bad_request(format!(
            "\"{name}\" must be a boolean or null"
        ))),
    }
}

/// A non-empty array of non-empty strings, or null; duplicates dropped, order kept.
pub(super) fn valid_string_list(
    name: &str,
    value: &Value,
) -> Result<Option<Vec<String>>, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "\"{name}\" must be a non-empty array of non-empty strings or null"
        ))
    };
    let items = match value {
        Value::Null => return Ok(None),
        Value::Array(items) if !items.is_empty() => items,
        _ => return Err(invalid()),
    };
    let mut list: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let text = item
            .as_str()
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(invalid)?;
        if !list.iter().any(|existing| existing == text) {
            list.push(text.to_owned());
        }
    }
    Ok(Some(list))
}

/// Model lists: every entry a known model (slug or canonical slug), stored as canonical slugs.
fn valid_models(name: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let Some(list) = valid_string_list(name, value)? else {
        return Ok(None);
    };
    let mut canonical: Vec<String> = Vec::with_capacity(list.len());
    for slug in list {
        let model = models::find_model(&slug).ok_or_else(|| {
            ApiError::bad_request(format!("\"{name}\": unknown model \"{slug}\""))
        })?;
        if !canonical
            .iter()
            .any(|existing| existing == model.canonical_slug)
        {
            canonical.push(model.canonical_slug.to_owned());
        }
    }
    Ok(Some(canonical))
}

/// Provider lists: provider slugs (lowercase letters, digits, `-`, `.`, `_`).
fn valid_providers(name: &str, value: &Value) -> Result<Option<Vec<String>>, ApiError> {
    let list = valid_string_list(name, value)?;
    if let Some(bad) = list.iter().flatten().find(|provider| {
        !provider
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c))
    }) {
        return Err(ApiError::bad_request(format!(
            "\"{name}\": \"{bad}\" is not a provider slug (e.g. \"openai\")"
        )));
    }
    Ok(list)
}

fn valid_filters(name: &str, value: &Value) -> Result<Option<Value>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::Array(items) if items.iter().all(Value::is_object) => Ok(Some(value.clone())),
        _ => Err(ApiError::bad_request(format!(
            "\"{name}\" must be an array of objects or null"
        ))),
    }
}

const ZDR_FIELDS: [&str; 5] = [
    "enforce_zdr_anthropic",
    "enforce_zdr_google",
    "enforce_zdr_openai",
    "enforce_zdr_other",
    "enforce_zdr_xai",
];

pub(super) const UPDATE_FIELDS: [&str; 20] = [
    "name",
    "description",
    "limit_usd",
    "reset_interval",
    "allowed_models",
    "ignored_models",
    "allowed_providers",
    "ignored_providers",
    "enforce_zdr",
    "enforce_zdr_anthropic",
    "enforce_zdr_google",
    "enforce_zdr_openai",
    "enforce_zdr_other",
    "enforce_zdr_xai",
    "enable_free_model_publication",
    "enable_free_model_training",
    "enable_paid_model_training",
    "include_byok_in_budgets",
    "content_filters",
    "content_filter_builtins",
];

/// Applies every field present in `body` to `guardrail` (replace semantics: arrays are whole).
pub(super) fn apply(guardrail: &mut Guardrail, body: &Map<String, Value>) -> Result<(), ApiError> {
    let mut next = guardrail.clone();
    for (field, value) in body {
        match field.as_str() {
            "name" => next.name = valid_guardrail_name(value)?,
            "description" => next.description = valid_description(value)?,
            "limit_usd" => next.limit_usd = valid_limit_usd(value)?,
            "reset_interval" => next.reset_interval = valid_reset_interval(value)?,
            "allowed_models" => next.allowed_models = valid_models(field, value)?,
            "ignored_models" => next.ignored_models = valid_models(field, value)?,
            "allowed_providers" => next.allowed_providers = valid_providers(field, value)?,
            "ignored_providers" => next.ignored_providers = valid_providers(field, value)?,
            "enforce_zdr_anthropic" => {
                next.enforce_zdr_anthropic = valid_optional_bool(field, value)?
            }
            "enforce_zdr_google" => next.enforce_zdr_google = valid_optional_bool(field, value)?,
            "enforce_zdr_openai" => next.enforce_zdr_openai = valid_optional_bool(field, value)?,
            "enforce_zdr_other" => next.enforce_zdr_other = valid_optional_bool(field, value)?,
            "enforce_zdr_xai" => next.enforce_zdr_xai = valid_optional_bool(field, value)?,
            "enable_free_model_publication" => {
                next.enable_free_model_publication = valid_optional_bool(field, value)?;
            }
            "enable_free_model_training" => {
                next.enable_free_model_training = valid_optional_bool(field, value)?;
            }
            "enable_paid_model_training" => {
                next.enable_paid_model_training = valid_optional_bool(field, value)?;
            }
            "include_byok_in_budgets" => {
                next.include_byok_in_budgets = value.as_bool().ok_or_else(|| {
                    ApiError::bad_request("\"include_byok_in_budgets\" must be a boolean")
                })?;
            }
            "content_filters" => next.content_filters = valid_filters(field, value)?,
            "content_filter_builtins" => {
                next.content_filter_builtins = valid_filters(field, value)?;
            }
            _ => {}
        }
    }
    // The deprecated `enforce_zdr` fills every per-provider field the request did not name.
    if let Some(value) = body.get("enforce_zdr") {
        let zdr = valid_optional_bool("enforce_zdr", value)?;
        for field in ZDR_FIELDS
            .iter()
            .filter(|field| !body.contains_key(**field))
        {
            let slot = match *field {
                "enforce_zdr_anthropic" => &mut next.enforce_zdr_anthropic,
                "enforce_zdr_google" => &mut next.enforce_zdr_google,
                "enforce_zdr_openai" => &mut next.enforce_zdr_openai,
                "enforce_zdr_other" => &mut next.enforce_zdr_other,
                _ => &mut next.enforce_zdr_xai,
            };
            *slot = zdr;
        }
    }
    *guardrail = next;
    Ok(())
}
