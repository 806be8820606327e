//! Requests: byte 0 picks what is validated, the rest is its JSON (or the typed text). Whatever
//! passes validation must encode (the client sends `serde_json::to_vec` of it) and, read back as
//! the server would, pass validation again: what is sent is what was checked.

use chrono::{DateTime, Duration, TimeZone, Utc};
use keyward_core::Error;
use keyward_core::api::{
    ActivityQuery, AnalyticsFilter, AnalyticsQuery, BudgetInterval, CreateGuardrailRequest,
    CreateKeyRequest, CreateWorkspaceRequest, FilterOperator, LimitReset, ListKeysQuery, OrderBy,
    Patch, SetWorkspaceBudgetRequest, TimeRange, UpdateByokKeyRequest, UpdateDestinationRequest,
    UpdateGuardrailRequest, UpdateKeyRequest, UpdateWorkspaceRequest, format_expiry, parse_expiry,
    validate_hash, validate_slug, validate_workspace_ref,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A fixed "now" (validation of expiries depends on it).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 31, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn requests(input: &[u8]) {
    let Some((&select, rest)) = input.split_first() else {
        return;
    };
    match select % 16 {
        0 => json_request::<CreateKeyRequest>(
            rest,
            |r| r.validate(now()),
            |r| {
                // The expiry is sent in whole seconds: up to a second earlier than validated.
                r.validate(now() - Duration::seconds(1))
            },
        ),
        1 => json_request::<UpdateKeyRequest>(rest, UpdateKeyRequest::validate, |r| r.validate()),
        2 => json_request::<ListKeysQuery>(rest, ListKeysQuery::validate, |r| r.validate()),
        3 => json_request::<ActivityQuery>(rest, ActivityQuery::validate, |r| r.validate()),
        4 => json_request::<CreateWorkspaceRequest>(rest, |r| r.validate(), |r| r.validate()),
        5 => json_request::<UpdateWorkspaceRequest>(rest, |r| r.validate(), |r| r.validate()),
        6 => json_request::<SetWorkspaceBudgetRequest>(rest, |r| r.validate(), |r| r.validate()),
        7 => json_request::<CreateGuardrailRequest>(rest, |r| r.validate(), |r| r.validate()),
        8 => json_request::<UpdateGuardrailRequest>(rest, |r| r.validate(), |r| r.validate()),
        9 => byok_update(rest),
        10 => destination_update(rest),
        11 => analytics_query(rest),
        _ => typed_text(select, &String::from_utf8_lossy(rest)),
    }
}

/// Parses `bytes` as a `T`; when `validate` passes, the encoded request read back must pass
/// `revalidate`.
fn json_request<T: DeserializeOwned + Serialize + std::fmt::Debug>(
    bytes: &[u8],
    validate: impl Fn(&T) -> Result<(), Error>,
    revalidate: impl Fn(&T) -> Result<(), Error>,
) {
    let Ok(request) = serde_json::from_slice::<T>(bytes) else {
        return;
    };
    let Ok(()) = validate(&request).map_err(expect_invalid) else {
        return;
    };
    let sent = match serde_json::to_vec(&request) {
        Ok(sent) => sent,
        Err(err) => panic!("a validated {request:?} does not encode: {err}"),
    };
    let back: T = match serde_json::from_slice(&sent) {
        Ok(back) => back,
        Err(err) => panic!(
            "{} does not read back: {err}",
            String::from_utf8_lossy(&sent)
        ),
    };
    if let Err(err) = revalidate(&back) {
        panic!(
            "{request:?} passed validation but is sent as {} which does not: {err}",
            String::from_utf8_lossy(&sent)
        );
    }
}

/// Validation fails only with `invalid_input`, naming what is wrong.
fn expect_invalid(error: Error) -> Error {
    assert_eq!(error.kind(), "invalid_input", "{error}");
    assert!(!error.to_string().is_empty());
    error
}

/// The typed strings: hashes, slugs, workspace references, expiries, limit resets, intervals.
fn typed_text(select: u8, text: &str) {
    let _ = validate_hash(text).map_err(expect_invalid);
    let _ = validate_slug(text).map_err(expect_invalid);
    let _ = validate_workspace_ref(text).map_err(expect_invalid);
    let _ = LimitReset::from_input(text).map_err(expect_invalid);
    let _ = BudgetInterval::from_input(text).map_err(expect_invalid);
    if let Ok(at) = parse_expiry(text, now()).map_err(expect_invalid) {
        assert!(at > now(), "{text:?} read as {at}, not in the future");
        // What the CLI prints and sends reads back as the same second.
        let wire = format_expiry(at);
        if select.is_multiple_of(2) && at.timestamp_subsec_nanos() == 0 {
            match parse_expiry(&wire, now()) {
                Ok(again) => assert_eq!(again, at, "{text:?} -> {wire}"),
                Err(err) => panic!("{text:?} is accepted, but its wire form {wire} is not: {err}"),
            }
        }
    }
}

/// `UpdateByokKeyRequest` has no `Deserialize` (Keyward only sends it): built from JSON here.
fn byok_update(bytes: &[u8]) {
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        name: Patch<String>,
        disabled: Option<bool>,
        #[serde(default)]
        allowed_api_key_hashes: Patch<Vec<String>>,
    }
    let Ok(shape) = serde_json::from_slice::<Shape>(bytes) else {
        return;
    };
    let request = UpdateByokKeyRequest {
        name: shape.name,
        disabled: shape.disabled,
        allowed_api_key_hashes: shape.allowed_api_key_hashes,
    };
    if request.validate().map_err(expect_invalid).is_ok() {
        let sent = serde_json::to_vec(&request).unwrap_or_default();
        let back: Shape = serde_json::from_slice(&sent).unwrap_or_else(|err| panic!("{err}"));
        let back = UpdateByokKeyRequest {
            name: back.name,
            disabled: back.disabled,
            allowed_api_key_hashes: back.allowed_api_key_hashes,
        };
        assert_eq!(back, request);
    }
}

/// `UpdateDestinationRequest`, built from JSON like `byok_update`.
fn destination_update(bytes: &[u8]) {
    #[derive(Deserialize)]
    struct Shape {
        name: Option<String>,
        enabled: Option<bool>,
        #[serde(default)]
        api_key_hashes: Patch<Vec<String>>,
    }
    let Ok(shape) = serde_json::from_slice::<Shape>(bytes) else {
        return;
    };
    let request = UpdateDestinationRequest {
        name: shape.name,
        enabled: shape.enabled,
        api_key_hashes: shape.api_key_hashes,
    };
    if request.validate().map_err(expect_invalid).is_ok() {
        assert!(serde_json::to_vec(&request).is_ok());
    }
}

/// `AnalyticsQuery`, built from JSON (times as Unix seconds).
fn analytics_query(bytes: &[u8]) {
    #[derive(Deserialize)]
    struct Filter {
        field: String,
        operator: FilterOperator,
        value: serde_json::Value,
    }
    #[derive(Deserialize)]
    struct Shape {
        #[serde(default)]
        metrics: Vec<String>,
        #[serde(default)]
        dimensions: Vec<String>,
        #[serde(default)]
        filters: Vec<Filter>,
        granularity: Option<String>,
        time_range: Option<(i64, i64)>,
        order_by: Option<(String, String)>,
        limit: Option<u32>,
    }
    let Ok(shape) = serde_json::from_slice::<Shape>(bytes) else {
        return;
    };
    let at = |secs: i64| Utc.timestamp_opt(secs, 0).single();
    let time_range = match shape.time_range {
        Some((start, end)) => match (at(start), at(end)) {
            (Some(start), Some(end)) => Some(TimeRange { start, end }),
            _ => return,
        },
        None => None,
    };
    let query = AnalyticsQuery {
        metrics: shape.metrics,
        dimensions: shape.dimensions,
        filters: shape
            .filters
            .into_iter()
            .map(|f| AnalyticsFilter {
                field: f.field,
                operator: f.operator,
                value: f.value,
            })
            .collect(),
        granularity: shape.granularity,
        time_range,
        order_by: shape
            .order_by
            .map(|(field, direction)| OrderBy { field, direction }),
        limit: shape.limit,
    };
    if query.validate().map_err(expect_invalid).is_ok() {
        assert!(serde_json::to_vec(&query).is_ok());
    }
}
