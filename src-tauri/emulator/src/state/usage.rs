//! Usage accounting: the `limit_reset` windows, per-model spend buckets per UTC day, and the spend
//! of one window.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `limit_reset` values, named in lowercase on the wire (serde) and in text (strum) alike.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum LimitReset {
    Daily,
    Weekly,
    Monthly,
}

impl LimitReset {
    /// First UTC day of the window containing `today`.
    pub fn window_start(self, today: NaiveDate) -> NaiveDate {
        match self {
            Self::Daily => today,
            Self::Weekly => today
                .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
                .unwrap_or(today),
            Self::Monthly => today.with_day(1).unwrap_or(today),
        }
    }

    /// The next UTC midnight at which this window resets.
    pub fn next_reset(self, today: NaiveDate) -> Option<DateTime<Utc>> {
        let day = match self {
            Self::Daily => today.checked_add_days(Days::new(1)),
            Self::Weekly => self.window_start(today).checked_add_days(Days::new(7)),
            Self::Monthly => self.window_start(today).checked_add_months(Months::new(1)),
        }?;
        Some(day.and_hms_opt(0, 0, 0)?.and_utc())
    }
}

/// Spend of one key on one model on one UTC day.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    pub model: String,
    pub usage: f64,
    pub byok_usage: f64,
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub reasoning_tokens: u64,
    pub cached_tokens: u64,
}

impl ModelUsage {
    /// A record of `requests` requests costing `usage` (+ `byok_usage`) with plausible token counts.
    pub fn synthetic(model: &str, usage: f64, byok_usage: f64, requests: u64) -> Self {
        // Token counts follow from the spend at a blended $3 per million tokens, 35% of it output.
        let tokens = ((usage + byok_usage) / 3.0e-6).round().clamp(0.0, 1.0e15) as u64;
        let completion_tokens = tokens * 35 / 100;
        let prompt_tokens = tokens - completion_tokens;
        let reasoning_tokens =
            if model.contains("o3") || model.contains("r1") || model.contains("thinking") {
                completion_tokens / 3
            } else {
                0
            };
        Self {
            model: model.to_owned(),
            usage,
            byok_usage,
            requests,
            prompt_tokens,
            completion_tokens,
            reasoning_tokens,
            cached_tokens: prompt_tokens / 5,
        }
    }

    pub fn absorb(&mut self, other: &ModelUsage) {
        self.usage += other.usage;
        self.byok_usage += other.byok_usage;
        self.requests = self.requests.saturating_add(other.requests);
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
    }
}

/// One day's usage buckets (one per model), kept small: a key uses a handful of models a day.
pub type DayBuckets = Vec<ModelUsage>;

fn add_to_day(day: &mut DayBuckets, usage: &ModelUsage) {
    match day.iter_mut().find(|bucket| bucket.model == usage.model) {
        Some(bucket) => bucket.absorb(usage),
        None => day.push(usage.clone()),
    }
}

/// A key's usage per UTC day, sorted by date (a flat vector: cheap to scan and to append to).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DailyUsage(Vec<(NaiveDate, DayBuckets)>);

impl DailyUsage {
    /// The days `from..=to`.
    pub fn range(&self, from: NaiveDate, to: NaiveDate) -> &[(NaiveDate, DayBuckets)] {
        let start = self.0.partition_point(|(date, _)| *date < from);
        let end = self.0.partition_point(|(date, _)| *date <= to);
        self.0.get(start..end.max(start)).unwrap_or(&[])
    }

    pub fn day(&self, date: NaiveDate) -> Option<&DayBuckets> {
        self.range(date, date).first().map(|(_, day)| day)
    }

    /// The buckets of `date`, created (in order) if missing.
    pub fn day_mut(&mut self, date: NaiveDate) -> &mut DayBuckets {
        let index = match self.0.binary_search_by_key(&date, |(day, _)| *day) {
            Ok(index) => index,
            Err(index) => {
                self.0.insert(index, (date, DayBuckets::new()));
                index
            }
        };
        &mut self.0[index].1
    }

    pub fn add(&mut self, date: NaiveDate, usage: &ModelUsage) {
        add_to_day(self.day_mut(date), usage);
    }

    /// Drops the days before `cutoff`.
    pub fn prune_before(&mut self, cutoff: NaiveDate) {
        let keep_from = self.0.partition_point(|(date, _)| *date < cutoff);
        self.0.drain(..keep_from);
    }

    pub fn iter(&self) -> impl Iterator<Item = &(NaiveDate, DayBuckets)> {
        self.0.iter()
    }
}

/// Spend in one window: OpenRouter credits and BYOK.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spend {
    pub usage: f64,
    pub byok: f64,
}

impl Spend {
    pub fn counted(self, include_byok: bool) -> f64 {
        if include_byok {
            self.usage + self.byok
        } else {
            self.usage
        }
    }
}
