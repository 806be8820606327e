//! `POST /analytics/query` and `GET /analytics/meta`: metrics by up to two dimensions over time.
//! Keyward asks for per-key spend by day and model ([`AnalyticsQuery::key_spend_by_day`]) and reads
//! the rows back as [`SpendRow`]s; any other query can be built and sent as well.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use ts_rs::TS;

use super::client::{Call, OpenRouterClient};
use super::models::DataEnvelope;
use super::retry::Replay;
use super::validation::validate_hash;
use crate::Error;

/// Spend in USD (credits) — the metric [`SpendRow::spend`] reads.
pub const METRIC_SPEND: &str = "total_usage";
/// Requests — the metric [`SpendRow::requests`] reads.
pub const METRIC_REQUESTS: &str = "request_count";
/// The dimension that groups or filters by API key; it takes the key's hash.
pub const DIMENSION_KEY: &str = "api_key_id";
pub const DIMENSION_MODEL: &str = "model";

/// A filter operator (`GET /analytics/meta` lists the ones a server supports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOperator {
    Eq,
    Neq,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl FilterOperator {
    fn takes_array(self) -> bool {
        matches!(self, FilterOperator::In | FilterOperator::NotIn)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsFilter {
    pub field: String,
    pub operator: FilterOperator,
    /// A string or number; an array of them for `in` / `not_in`.
    pub value: Value,
}

impl AnalyticsFilter {
    /// `field = value`.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self {
            field: field.to_owned(),
            operator: FilterOperator::Eq,
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeRange {
    #[serde(serialize_with = "wire_datetime")]
    pub start: DateTime<Utc>,
    #[serde(serialize_with = "wire_datetime")]
    pub end: DateTime<Utc>,
}

fn wire_datetime<S: serde::Serializer>(
    at: &DateTime<Utc>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderBy {
    pub field: String,
    /// `asc` or `desc`.
    pub direction: String,
}

/// Body of `POST /analytics/query`; unset fields are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AnalyticsQuery {
    pub metrics: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<AnalyticsFilter>,
    /// `minute`, `hour`, `day`, `week` or `month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_by: Option<OrderBy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

const GRANULARITIES: &[&str] = &["minute", "hour", "day", "week", "month"];

impl AnalyticsQuery {
    /// Spend and requests of the key `hash` per day and model in `[start, end)`.
    pub fn key_spend_by_day(hash: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            metrics: vec![METRIC_SPEND.into(), METRIC_REQUESTS.into()],
            dimensions: vec![DIMENSION_MODEL.into()],
            filters: vec![AnalyticsFilter::eq(DIMENSION_KEY, hash)],
            granularity: Some("day".into()),
            time_range: Some(TimeRange { start, end }),
            order_by: None,
            limit: None,
        }
    }

    /// Spend and requests of every key per day in `[start, end)`.
    pub fn spend_by_key_and_day(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            metrics: vec![METRIC_SPEND.into(), METRIC_REQUESTS.into()],
            dimensions: vec![DIMENSION_KEY.into()],
            granularity: Some("day".into()),
            time_range: Some(TimeRange { start, end }),
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        if self.metrics.is_empty() {
            return Err(Error::invalid("metrics", "name at least one metric"));
        }
        if self.metrics.iter().any(|metric| metric.trim().is_empty()) {
            return Err(Error::invalid("metrics", "a metric name is empty"));
        }
        if self.dimensions.len() > 2 {
            return Err(Error::invalid("dimensions", "at most two dimensions"));
        }
        if self.dimensions.iter().any(|name| name.trim().is_empty()) {
            return Err(Error::invalid("dimensions", "a dimension name is empty"));
        }
        if self.filters.len() > 20 {
            return Err(Error::invalid("filters", "at most 20 filters"));
        }
        for filter in &self.filters {
            validate_filter(filter)?;
        }
        if let Some(granularity) = &self.granularity
            && !GRANULARITIES.contains(&granularity.as_str())
        {
            return Err(Error::invalid(
                "granularity",
                format!(
                    "\"{granularity}\" is not one of {}",
                    GRANULARITIES.join(", ")
                ),
            ));
        }
        if let Some(range) = &self.time_range
            && range.start >= range.end
        {
            return Err(Error::invalid("time_range", "start must be before end"));
        }
        if let Some(order) = &self.order_by
            && !matches!(order.direction.as_str(), "asc" | "desc")
        {
            return Err(Error::invalid("order_by", "direction is asc or desc"));
        }
        if self.limit == Some(0) {
            return Err(Error::invalid("limit", "must be at least 1"));
        }
        Ok(())
    }
}

fn validate_filter(filter: &AnalyticsFilter) -> Result<(), Error> {
    if filter.field.trim().is_empty() {
        return Err(Error::invalid("filters", "a filter has no field"));
    }
    let scalar = |value: &Value| value.is_string() || value.is_number();
    let fits = match &filter.value {
        Value::Array(values) => {
            filter.operator.takes_array() && !values.is_empty() && values.iter().all(scalar)
        }
        value => !filter.operator.takes_array() && scalar(value),
    };
    if !fits {
        return Err(Error::invalid(
            "filters",
            format!(
                "the value of the {} filter must be {}",
                filter.field,
                if filter.operator.takes_array() {
                    "a non-empty list of strings or numbers"
                } else {
                    "a string or a number"
                }
            ),
        ));
    }
    if filter.field == DIMENSION_KEY {
        // The key dimension takes hashes; a typo would silently match nothing.
        let hashes: Vec<&Value> = match &filter.value {
            Value::Array(values) => values.iter().collect(),
            value => vec![value],
        };
        for hash in hashes.into_iter().filter_map(Value::as_str) {
            validate_hash(hash).map_err(|err| match err {
                Error::InvalidInput { message, .. } => Error::invalid("filters", message),
                other => other,
            })?;
        }
    }
    Ok(())
}

/// What a query answered: rows of dimension and metric values keyed by name (time buckets under
/// `date__<granularity>`), and whether the server cut them short.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnalyticsResult {
    #[serde(rename = "data")]
    pub rows: Vec<Map<String, Value>>,
    pub metadata: AnalyticsMetadata,
    /// e.g. a key hash the server could not resolve.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnalyticsMetadata {
    #[serde(default)]
    pub query_time_ms: f64,
    #[serde(default)]
    pub row_count: u64,
    #[serde(default)]
    pub truncated: bool,
}

/// One row of spend: the day, the key and model when grouped by them, the spend and requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SpendRow {
    pub date: Option<NaiveDate>,
    pub api_key_hash: Option<String>,
    pub model: Option<String>,
    pub spend: f64,
    pub requests: u64,
}

impl AnalyticsResult {
    /// The rows as spend rows (day buckets, `api_key_id`, `model`, `total_usage`, `request_count`);
    /// a missing value is `None` / 0.
    pub fn spend_rows(&self) -> Vec<SpendRow> {
        self.rows
            .iter()
            .map(|row| SpendRow {
                date: row
                    .iter()
                    .find(|(name, _)| name.starts_with("date__"))
                    .and_then(|(_, value)| value.as_str())
                    .and_then(|text| text.get(..10))
                    .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()),
                api_key_hash: row
                    .get(DIMENSION_KEY)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                model: row
                    .get(DIMENSION_MODEL)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                spend: row.get(METRIC_SPEND).and_then(Value::as_f64).unwrap_or(0.0),
                requests: row
                    .get(METRIC_REQUESTS)
                    .and_then(Value::as_f64)
                    .map_or(0, |n| n.max(0.0).round() as u64),
            })
            .collect()
    }
}

/// `GET /analytics/meta`: what a query may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AnalyticsMeta {
    pub metrics: Vec<AnalyticsMetric>,
    pub dimensions: Vec<AnalyticsName>,
    pub operators: Vec<AnalyticsOperator>,
    pub granularities: Vec<AnalyticsName>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AnalyticsMetric {
    pub name: String,
    pub display_label: String,
    #[serde(default)]
    pub is_rate: bool,
    /// `number`, `currency`, `percent`, `latency` or `throughput`.
    #[serde(default)]
    pub display_format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AnalyticsName {
    pub name: String,
    pub display_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AnalyticsOperator {
    pub name: String,
    /// `scalar` or `array`.
    pub value_type: String,
}

impl OpenRouterClient {
    /// `POST /analytics/query`. Retried like a GET: it only reads.
    pub async fn analytics_query(&self, query: &AnalyticsQuery) -> Result<AnalyticsResult, Error> {
        query.validate()?;
        let body = serde_json::to_vec(query).map_err(|err| Error::Decode {
            message: format!("could not encode the request: {err}"),
            source: Some(err.into()),
        })?;
        let call = Call {
            method: Method::POST,
            path: "/analytics/query".to_owned(),
            query: Vec::new(),
            body: Some(body),
            replay: Replay::Idempotent,
        };
        let envelope: DataEnvelope<AnalyticsResult> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `GET /analytics/meta`.
    pub async fn analytics_meta(&self) -> Result<AnalyticsMeta, Error> {
        let envelope: DataEnvelope<AnalyticsMeta> =
            self.json(&Call::get("/analytics/meta", Vec::new())).await?;
        Ok(envelope.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 0, 0, 0).unwrap()
    }

    #[test]
    fn key_spend_query_is_sent_as_the_spec_shows() {
        let hash = "a".repeat(64);
        let query = AnalyticsQuery::key_spend_by_day(&hash, at(1), at(8));
        query.validate().unwrap();
        assert_eq!(
            serde_json::to_value(&query).unwrap(),
            json!({"metrics": ["total_usage", "request_count"], "dimensions": ["model"],
                   "filters": [{"field": "api_key_id", "operator": "eq", "value": hash}],
                   "granularity": "day",
                   "time_range": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-08T00:00:00Z"}})
        );
    }

    #[test]
    fn bad_queries_name_the_field() {
        let field = |query: AnalyticsQuery| match query.validate().unwrap_err() {
            Error::InvalidInput { field, .. } => field.unwrap(),
            other => panic!("{other:?}"),
        };
        let good = AnalyticsQuery::spend_by_key_and_day(at(1), at(2));
        assert_eq!(field(AnalyticsQuery::default()), "metrics");
        let mut query = good.clone();
        query.dimensions = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(field(query), "dimensions");
        let mut query = good.clone();
        query.granularity = Some("year".into());
        assert_eq!(field(query), "granularity");
        let mut query = good.clone();
        query.time_range = Some(TimeRange {
            start: at(2),
            end: at(1),
        });
        assert_eq!(field(query), "time_range");
        let mut query = good.clone();
        query.filters = vec![AnalyticsFilter::eq("api_key_id", "not-a-hash")];
        assert_eq!(field(query), "filters");
        let mut query = good.clone();
        query.filters = vec![AnalyticsFilter {
            field: "model".into(),
            operator: FilterOperator::In,
            value: json!("openai/gpt-4.1"),
        }];
        assert_eq!(field(query), "filters");
        let mut query = good;
        query.limit = Some(0);
        assert_eq!(field(query), "limit");
    }

    #[test]
    fn spend_rows_read_days_keys_and_models() {
        let result: AnalyticsResult = serde_json::from_value(json!({
            "data": [{"date__day": "2026-11-02T00:00:00.000Z", "model": "openai/gpt-4.1",
                      "total_usage": 1.25, "request_count": 10},
                     {"api_key_id": null, "total_usage": 2}],
            "metadata": {"query_time_ms": 3, "row_count": 2, "truncated": false}
        }))
        .unwrap();
        assert_eq!(
            result.spend_rows(),
            vec![
                SpendRow {
                    date: NaiveDate::from_ymd_opt(2026, 11, 2),
                    api_key_hash: None,
                    model: Some("openai/gpt-4.1".into()),
                    spend: 1.25,
                    requests: 10
                },
                SpendRow {
                    date: None,
                    api_key_hash: None,
                    model: None,
                    spend: 2.0,
                    requests: 0
                },
            ]
        );
    }
}
