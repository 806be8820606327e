//! `POST /analytics/query` and `GET /analytics/meta`: spend and request metrics from the emulator's
//! per-day usage buckets, grouped by up to two dimensions (key hash, model, provider, workspace,
//! user) and by day, week or month, with filters. The buckets are daily, so the emulator offers no
//! minute or hour granularity (its meta says so; such a query is a 400).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use serde_json::{Map, Value, json};

use super::validation::body_object;
use super::{AppState, require_management};
use crate::app::{ApiError, ApiResult, App, json_response};
use crate::models;
use crate::state::{ModelUsage, State, money};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/analytics/query", post(query))
        .route("/analytics/meta", get(meta))
}

/// (name, label, display format, value of one bucket).
type MetricDef = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ModelUsage) -> f64,
);

const METRICS: &[MetricDef] = &[
    ("request_count", "Request Count", "number", |u| {
        u.requests as f64
    }),
    ("total_usage", "Spend", "currency", |u| u.usage),
    ("byok_usage", "BYOK Spend", "currency", |u| u.byok_usage),
    ("prompt_tokens", "Prompt Tokens", "number", |u| {
        u.prompt_tokens as f64
    }),
    ("completion_tokens", "Completion Tokens", "number", |u| {
        u.completion_tokens as f64
    }),
    ("reasoning_tokens", "Reasoning Tokens", "number", |u| {
        u.reasoning_tokens as f64
    }),
];

const DIMENSIONS: &[(&str, &str)] = &[
    ("api_key_id", "API Key"),
    ("model", "Model"),
    ("provider", "Provider"),
    ("workspace", "Workspace"),
    ("user", "User"),
];

const GRANULARITIES: &[(&str, &str)] = &[("day", "Day"), ("week", "Week"), ("month", "Month")];

const OPERATORS: &[(&str, &str)] = &[
    ("eq", "scalar"),
    ("neq", "scalar"),
    ("in", "array"),
    ("not_in", "array"),
];

const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;
const MAX_RANGE_DAYS: i64 = 366;

async fn meta(AxumState(app): AppState, headers: HeaderMap) -> ApiResult {
    let state = app.state();
    require_management(&state, &headers)?;
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(name, label, format, _)| {
            json!({"name": name, "display_label": label, "is_rate": false, "display_format": format})
        })
        .collect();
    let dimensions: Vec<Value> = DIMENSIONS
        .iter()
        .map(|(name, label)| json!({"name": name, "display_label": label}))
        .collect();
    let operators: Vec<Value> = OPERATORS
        .iter()
        .map(|(name, kind)| json!({"name": name, "value_type": kind}))
        .collect();
    let granularities: Vec<Value> = GRANULARITIES
        .iter()
        .map(|(name, label)| json!({"name": name, "display_label": label}))
        .collect();
    Ok(json_response(
        StatusCode::OK,
        json!({"data": {"metrics": metrics, "dimensions": dimensions,
                        "operators": operators, "granularities": granularities}}),
    ))
}

/// One day's usage of one model by one key (or by deleted keys: no `key`).
struct Fact<'a> {
    date: NaiveDate,
    key: Option<&'a str>,
    workspace: &'a str,
    user: Option<&'a str>,
    usage: &'a ModelUsage,
}

impl Fact<'_> {
    fn dimension(&self, name: &str) -> Option<String> {
        match name {
            "api_key_id" => self.key.map(str::to_owned),
            "model" => Some(self.usage.model.clone()),
            "provider" => Some(models::describe(&self.usage.model).2),
            "workspace" => Some(self.workspace.to_owned()),
            "user" => self.user.map(str::to_owned),
            _ => None,
        }
    }
}

struct Filter {
    field: String,
    operator: String,
    values: Vec<String>,
    include_unset: bool,
}

impl Filter {
    fn admits(&self, fact: &Fact<'_>) -> bool {
        let value = fact.dimension(&self.field);
        let matches = |value: &str| {
            self.values.iter().any(|wanted| {
                wanted == value || (self.field == "model" && models::describe(value).0 == *wanted)
            })
        };
        match (self.operator.as_str(), value.as_deref()) {
            ("eq" | "in", Some(value)) => matches(value),
            ("neq" | "not_in", Some(value)) => !matches(value),
            ("in" | "not_in", None) => self.include_unset,
            ("neq", None) => true,
            _ => false,
        }
    }
}

fn strings(field: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let invalid = || ApiError::bad_request(format!("\"{field}\" must be an array of strings"));
    value
        .as_array()
        .ok_or_else(invalid)?
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
        .collect()
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn parse_filters(value: &Value) -> Result<Vec<Filter>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::bad_request("\"filters\" must be an array"))?;
    if items.len() > 20 {
        return Err(ApiError::bad_request(
            "\"filters\" holds at most 20 filters",
        ));
    }
    let mut filters = Vec::with_capacity(items.len());
    for item in items {
        let field = item.get("field").and_then(Value::as_str).unwrap_or("");
        if !DIMENSIONS.iter().any(|(name, _)| *name == field) {
            return Err(ApiError::bad_request(format!(
                "filter \"field\" {field:?} is not a dimension (see GET /analytics/meta)"
            )));
        }
        let operator = item.get("operator").and_then(Value::as_str).unwrap_or("");
        let Some((_, kind)) = OPERATORS.iter().find(|(name, _)| *name == operator) else {
            return Err(ApiError::bad_request(format!(
                "filter \"operator\" {operator:?} is not supported here (eq, neq, in, not_in)"
            )));
        };
        let value = item.get("value").unwrap_or(&Value::Null);
        let values = match (*kind, value) {
            ("array", Value::Array(values)) if !values.is_empty() => {
                values.iter().map(scalar_text).collect::<Option<Vec<_>>>()
            }
            ("scalar", value) => scalar_text(value).map(|text| vec![text]),
            _ => None,
        }
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "filter \"value\" of {operator} must be {}",
                if *kind == "array" {
                    "a non-empty array of strings or numbers"
                } else {
                    "a string or a number"
                }
            ))
        })?;
        let include_unset = match item.get("include_unset") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(ApiError::bad_request("\"include_unset\" must be a boolean")),
        };
        filters.push(Filter {
            field: field.to_owned(),
            operator: operator.to_owned(),
            values,
            include_unset,
        });
    }
    Ok(filters)
}

fn parse_time(field: &str, value: Option<&Value>) -> Result<DateTime<Utc>, ApiError> {
    value
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|at| at.to_utc())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "\"time_range.{field}\" must be an ISO 8601 datetime, e.g. 2026-01-01T00:00:00Z"
            ))
        })
}

/// The UTC days `[start, end)` covers: the default is the last 30 days, today included.
fn day_range(
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let today = now.date_naive();
    let Some(range) = body.get("time_range") else {
        return Ok((
            today.checked_sub_days(Days::new(29)).unwrap_or(today),
            today,
        ));
    };
    let start = parse_time("start", range.get("start"))?;
    let end = parse_time("end", range.get("end"))?;
    if start >= end {
        return Err(ApiError::bad_request(
            "\"time_range.start\" must be before \"time_range.end\"",
        ));
    }
    if (end - start).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::bad_request(format!(
            "\"time_range\" spans at most {MAX_RANGE_DAYS} days"
        )));
    }
    let last = if end.time() == NaiveTime::MIN {
        end.date_naive().pred_opt().unwrap_or(end.date_naive())
    } else {
        end.date_naive()
    };
    Ok((start.date_naive(), last))
}

fn bucket_start(granularity: &str, date: NaiveDate) -> NaiveDate {
    match granularity {
        "week" => date
            .checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
            .unwrap_or(date),
        "month" => date.with_day(1).unwrap_or(date),
        _ => date,
    }
}

fn usize_field(
    body: &Map<String, Value>,
    field: &str,
    max: usize,
) -> Result<Option<usize>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 && n as usize <= max => Ok(Some(n as usize)),
            _ => Err(ApiError::bad_request(format!(
                "\"{field}\" must be an integer from 1 to {max}"
            ))),
        },
    }
}

/// Every fact of the account in `[from, to]`: live keys' buckets and deleted keys' usage.
fn facts(state: &State, from: NaiveDate, to: NaiveDate) -> Vec<Fact<'_>> {
    let mut facts = Vec::new();
    for key in state.all_newest_first() {
        for (date, buckets) in key.days.range(from, to) {
            for usage in buckets {
                facts.push(Fact {
                    date: *date,
                    key: Some(&key.hash),
                    workspace: &key.workspace_id,
                    user: key.creator_user_id.as_deref(),
                    usage,
                });
            }
        }
    }
    for (date, buckets) in state.retired().days.range(from..=to) {
        for (workspace, user, usage) in buckets {
            facts.push(Fact {
                date: *date,
                key: None,
                workspace,
                user: user.as_deref(),
                usage,
            });
        }
    }
    facts
}

type Group = (Option<NaiveDate>, Vec<Option<String>>);

async fn query(AxumState(app): AppState, headers: HeaderMap, body: Bytes) -> ApiResult {
    let started = Instant::now();
    let state = app.state();
    require_management(&state, &headers)?;
    let body = body_object(&body)?;
    let metric_names = match body.get("metrics") {
        Some(value) => strings("metrics", value)?,
        None => return Err(ApiError::bad_request("\"metrics\" is required")),
    };
    if metric_names.is_empty() {
        return Err(ApiError::bad_request(
            "\"metrics\" needs at least one metric",
        ));
    }
    let metrics: Vec<&MetricDef> = metric_names
        .iter()
        .map(|name| {
            METRICS
                .iter()
                .find(|metric| metric.0 == name)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown metric {name:?} (see GET /analytics/meta)"
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => strings("dimensions", value)?,
    };
    if dimensions.len() > 2 {
        return Err(ApiError::bad_request(
            "\"dimensions\" holds at most 2 dimensions",
        ));
    }
    if let Some(unknown) = dimensions
        .iter()
        .find(|name| !DIMENSIONS.iter().any(|(known, _)| known == name))
    {
        return Err(ApiError::bad_request(format!(
            "unknown dimension {unknown:?} (see GET /analytics/meta)"
        )));
    }
    let granularity = match body.get("granularity") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if GRANULARITIES.iter().any(|(known, _)| known == name) => {
            Some(name.clone())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "\"granularity\" must be \"day\", \"week\" or \"month\" (the emulator keeps daily usage)",
            ));
        }
    };
    if body.contains_key("classifier_dimensions") || body.contains_key("classifier_filters") {
        return Err(ApiError::bad_request(
            "This workspace has no active classifier",
        ));
    }
    let filters = match body.get("filters") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => parse_filters(value)?,
    };
    let (from, to) = day_range(&body, state.now())?;
    let limit = usize_field(&body, "limit", MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
    let group_limit = usize_field(&body, "group_limit", MAX_LIMIT)?;
    let order = match body.get("order_by") {
        None | Some(Value::Null) => None,
        Some(order) => {
            let field = order.get("field").and_then(Value::as_str).unwrap_or("");
            let known = field == "date"
                || field == "request_count"
                || metric_names.iter().any(|name| name == field)
                || dimensions.iter().any(|name| name == field);
            let descending = match order.get("direction").and_then(Value::as_str) {
                Some("asc") => false,
                Some("desc") => true,
                _ => {
                    return Err(ApiError::bad_request(
                        "\"order_by.direction\" must be \"asc\" or \"desc\"",
                    ));
                }
            };
            if !known {
                return Err(ApiError::bad_request(
                    "\"order_by.field\" must be a requested metric or dimension, \"request_count\" or \"date\"",
                ));
            }
            Some((field.to_owned(), descending))
        }
    };

    let warnings: Vec<String> = filters
        .iter()
        .filter(|filter| filter.field == "api_key_id")
        .flat_map(|filter| filter.values.iter())
        .filter(|hash| state.get(hash).is_none())
        .map(|hash| format!("api_key_id {hash:?} could not be resolved to a key of this account"))
        .collect();

    // request_count is always summed: ordering may use it without requesting it.
    let mut groups: BTreeMap<Group, (Vec<f64>, f64)> = BTreeMap::new();
    for fact in facts(&state, from, to) {
        if !filters.iter().all(|filter| filter.admits(&fact)) {
            continue;
        }
        let date = granularity.as_deref().map(|g| bucket_start(g, fact.date));
        let dims = dimensions.iter().map(|name| fact.dimension(name)).collect();
        let entry = groups
            .entry((date, dims))
            .or_insert_with(|| (vec![0.0; metrics.len()], 0.0));
        for (sum, metric) in entry.0.iter_mut().zip(&metrics) {
            *sum += (metric.3)(fact.usage);
        }
        entry.1 += fact.usage.requests as f64;
    }
    let mut rows: Vec<(Group, Vec<f64>, f64)> = groups
        .into_iter()
        .map(|(group, (sums, requests))| (group, sums, requests))
        .collect();
    if let Some((field, descending)) = &order {
        let metric_index = metric_names.iter().position(|name| name == field);
        let dimension_index = dimensions.iter().position(|name| name == field);
        rows.sort_by(|a, b| {
            let ordering = if let Some(i) = metric_index {
                a.1[i].total_cmp(&b.1[i])
            } else if field == "request_count" {
                a.2.total_cmp(&b.2)
            } else if let Some(i) = dimension_index {
                a.0.1[i].cmp(&b.0.1[i])
            } else {
                a.0.0.cmp(&b.0.0)
            };
            if *descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    if let Some(group_limit) = group_limit.filter(|_| !dimensions.is_empty()) {
        let mut seen: BTreeMap<Vec<Option<String>>, usize> = BTreeMap::new();
        rows.retain(|row| {
            let count = seen.entry(row.0.1.clone()).or_default();
            *count += 1;
            *count <= group_limit
        });
    }
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    let date_column = granularity.as_deref().map(|g| format!("date__{g}"));
    let data: Vec<Value> = rows
        .into_iter()
        .map(|((date, dims), sums, _)| {
            let mut row = Map::new();
            if let (Some(column), Some(date)) = (&date_column, date) {
                row.insert(column.clone(), json!(format!("{date}T00:00:00.000Z")));
            }
            for (name, value) in dimensions.iter().zip(dims) {
                row.insert(name.clone(), json!(value));
            }
            for (metric, sum) in metrics.iter().zip(sums) {
                let value = if metric.2 == "currency" {
                    json!(money(sum))
                } else {
                    json!(sum.round() as u64)
                };
                row.insert(metric.0.to_owned(), value);
            }
            Value::Object(row)
        })
        .collect();
    let mut answer = json!({
        "data": data,
        "metadata": {
            "query_time_ms": started.elapsed().as_secs_f64() * 1000.0,
            "row_count": data.len(),
            "truncated": truncated,
        },
    });
    if !warnings.is_empty()
        && let Some(map) = answer.as_object_mut()
    {
        map.insert("warnings".into(), json!(warnings));
    }
    Ok(json_response(StatusCode::OK, json!({"data": answer})))
}
