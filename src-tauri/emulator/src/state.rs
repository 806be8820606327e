//! The emulated account: API and management keys, usage of deleted keys, credits and the emulator
//! clock; the listing order and authentication. Keys and their JSON shapes are in `keys`, usage
//! buckets and limit windows in `usage`.

mod byok;
mod guardrails;
mod keys;
mod usage;
mod workspaces;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// The workspace every key lands in unless a `workspace_id` is given (the reference's example UUID).
pub const DEFAULT_WORKSPACE_ID: &str = "0df9e665-d932-5740-b2c7-b52af166bc11";
/// The user the emulated account belongs to; `creator_user_id` of keys created without one.
pub const ACCOUNT_USER_ID: &str = "user_2dHFtVWx2n56w6HkM0000000000";
/// Credits the account starts with; seeding adds enough to stay above the seeded spend.
pub const INITIAL_CREDITS: f64 = 100.0;
/// Per-day buckets older than this (relative to the day of the latest recording) are folded away; lifetime
/// totals keep their spend. 62 days covers every window (≤ 31 days) and `/activity` (30 days).
const BUCKET_RETENTION_DAYS: u64 = 62;

/// The most API keys the emulator holds (memory stays bounded whatever a client does).
pub const MAX_KEYS: usize = 200_000;
/// The most management keys it holds.
pub const MAX_MANAGEMENT_KEYS: usize = 1_000;

pub use byok::{ByokKey, ByokState, Destination, MASK_PREFIX, byok_label, mask_config};
pub use guardrails::{Guardrail, Guardrails};
pub use keys::{
    KeyObject, KeyRecord, ManagementKey, label_for, money, new_secret, sha256_hex, wire_time,
};
pub use usage::{DailyUsage, LimitReset, ModelUsage};
pub use workspaces::{
    Budget, BudgetInterval, Membership, OrgMember, WorkspaceRecord, Workspaces, new_id,
    workspace_role,
};

/// Usage of deleted keys: still part of `/credits` and `/activity`, as on the real account.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RetiredUsage {
    pub total_usage: f64,
    /// Per day: (workspace_id, creator_user_id, usage).
    pub days: BTreeMap<NaiveDate, Vec<(String, Option<String>, ModelUsage)>>,
}

/// Who called: the caller's role decides what it may do.
#[derive(Clone, Debug)]
pub enum Caller {
    Management(String),
    Inference(String),
}

/// Position of a key in the newest-first order: (created_at in ms, creation sequence).
type OrderKey = (i64, u64);

/// What listing needs to know about a key, kept in one flat, sorted vector so that skipping
/// thousands of keys to reach an `offset` is a quick scan.
#[derive(Clone, Debug)]
struct ListEntry {
    order: OrderKey,
    /// `i64::MAX` for keys that never expire.
    expires_ms: i64,
    disabled: bool,
    workspace_id: String,
    hash: String,
}

impl ListEntry {
    fn of(record: &KeyRecord) -> Self {
        Self {
            order: (record.created_at.timestamp_millis(), record.seq),
            expires_ms: record
                .expires_at
                .map_or(i64::MAX, |at| at.timestamp_millis()),
            disabled: record.disabled,
            workspace_id: record.workspace_id.clone(),
            hash: record.hash.clone(),
        }
    }
}

/// Everything the emulator knows. Guarded by one mutex in [`crate::app::App`].
#[derive(Debug, Default)]
pub struct State {
    keys: HashMap<String, KeyRecord>,
    /// Every key, oldest first.
    listing: Vec<ListEntry>,
    next_seq: u64,
    management: HashMap<String, ManagementKey>,
    pub clock_offset_ms: i64,
    pub total_credits: f64,
    pub retired: RetiredUsage,
    /// BYOK credentials and observability destinations.
    pub byok: ByokState,
    guardrails: Guardrails,
    /// Workspaces (the default one always), their members and budgets, the organization's members.
    pub workspaces: Workspaces,
}

/// What `--state FILE` holds.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub keys: Vec<KeyRecord>,
    pub next_seq: u64,
    pub management_keys: Vec<ManagementKey>,
    pub clock_offset_ms: i64,
    pub total_credits: f64,
    #[serde(default)]
    pub retired: RetiredUsage,
    #[serde(default)]
    pub byok: ByokState,
    #[serde(default)]
    pub guardrails: Guardrails,
    #[serde(default)]
    pub workspaces: Workspaces,
}

/// Filters of `GET /keys`.
#[derive(Clone, Debug)]
pub struct ListFilter<'a> {
    pub include_disabled: bool,
    pub include_expired: bool,
    pub workspace_id: &'a str,
}

pub const PAGE_SIZE: usize = 100;

impl State {
    pub fn new() -> Self {
        Self {
            total_credits: INITIAL_CREDITS,
            ..Self::default()
        }
    }

    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut state = Self {
            next_seq: snapshot.next_seq,
            clock_offset_ms: snapshot.clock_offset_ms,
            total_credits: snapshot.total_credits,
            retired: snapshot.retired,
            byok: snapshot.byok,
            guardrails: snapshot.guardrails,
            workspaces: snapshot.workspaces,
            ..Self::default()
        };
        state.workspaces.ensure_defaults();
        for key in snapshot.management_keys {
            state.management.insert(key.hash.clone(), key);
        }
        for key in snapshot.keys {
            state.next_seq = state.next_seq.max(key.seq.saturating_add(1));
            state.insert(key);
        }
        state
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            version: 1,
            keys: self.all_newest_first().cloned().collect(),
            next_seq: self.next_seq,
            management_keys: self.management.values().cloned().collect(),
            clock_offset_ms: self.clock_offset_ms,
            total_credits: self.total_credits,
            retired: self.retired.clone(),
            byok: self.byok.clone(),
            guardrails: self.guardrails.clone(),
            workspaces: self.workspaces.clone(),
        }
    }

    /// The emulator's "now": real time shifted by the clock offset.
    pub fn now(&self) -> DateTime<Utc> {
        let real = Utc::now();
        TimeDelta::try_milliseconds(self.clock_offset_ms)
            .and_then(|offset| real.checked_add_signed(offset))
            .unwrap_or(real)
    }

    /// Forgets keys, usage, credits and the clock offset; management keys stay.
    pub fn reset(&mut self) {
        let management = std::mem::take(&mut self.management);
        *self = Self::new();
        self.management = management;
    }

    /// Adds a management key; false when the emulator already holds the most it keeps.
    pub fn add_management_key(&mut self, secret: &str) -> bool {
        let key = ManagementKey::from_secret(secret);
        if self.management.len() >= MAX_MANAGEMENT_KEYS && !self.management.contains_key(&key.hash)
        {
            return false;
        }
        self.management.insert(key.hash.clone(), key);
        true
    }

    pub fn management_key(&self, hash: &str) -> Option<&ManagementKey> {
        self.management.get(hash)
    }

    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        let hash = sha256_hex(token);
        if self.management.contains_key(&hash) {
            Some(Caller::Management(hash))
        } else if self.keys.contains_key(&hash) {
            Some(Caller::Inference(hash))
        } else {
            None
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    pub fn insert(&mut self, record: KeyRecord) {
        self.detach(&record.hash);
        let entry = ListEntry::of(&record);
        let position = self
            .listing
            .partition_point(|existing| existing.order < entry.order);
        self.listing.insert(position, entry);
        self.keys.insert(record.hash.clone(), record);
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn get(&self, hash: &str) -> Option<&KeyRecord> {
        self.keys.get(hash)
    }

    /// For changes that do not affect listing (usage); use [`State::patch`] for the others.
    pub fn get_mut(&mut self, hash: &str) -> Option<&mut KeyRecord> {
        self.keys.get_mut(hash)
    }

    /// Changes a key and keeps the listing in step (disabled, workspace).
    pub fn patch<R>(&mut self, hash: &str, change: impl FnOnce(&mut KeyRecord) -> R) -> Option<R> {
        let record = self.keys.get_mut(hash)?;
        let result = change(record);
        let entry = ListEntry::of(record);
        if let Ok(position) = self
            .listing
            .binary_search_by(|existing| existing.order.cmp(&entry.order))
        {
            self.listing[position] = entry;
        }
        Some(result)
    }

    /// Takes a key out of the map and the listing.
    fn detach(&mut self, hash: &str) -> Option<KeyRecord> {
        let record = self.keys.remove(hash)?;
        let order = ListEntry::of(&record).order;
        if let Ok(position) = self
            .listing
            .binary_search_by(|existing| existing.order.cmp(&order))
        {
            self.listing.remove(position);
        }
        Some(record)
    }

    /// Deletes a key; its spend stays in the account's credits and activity.
    pub fn remove(&mut self, hash: &str, today: NaiveDate) -> Option<KeyRecord> {
        let record = self.detach(hash)?;
        self.guardrails.forget_key(hash);
        self.retired.total_usage += record.total_usage;
        for (date, buckets) in record.days.iter() {
            let day = self.retired.days.entry(*date).or_default();
            for bucket in buckets {
                match day.iter_mut().find(|(workspace, creator, existing)| {
                    *workspace == record.workspace_id
                        && *creator == record.creator_user_id
                        && existing.model == bucket.model
                }) {
                    Some((_, _, existing)) => existing.absorb(bucket),
                    None => day.push((
                        record.workspace_id.clone(),
                        record.creator_user_id.clone(),
                        bucket.clone(),
                    )),
                }
            }
        }
        if let Some(cutoff) = today.checked_sub_days(Days::new(BUCKET_RETENTION_DAYS))
            && self
                .retired
                .days
                .first_key_value()
                .is_some_and(|(oldest, _)| *oldest < cutoff)
        {
            self.retired.days = self.retired.days.split_off(&cutoff);
        }
        Some(record)
    }

    /// Every key, newest first.
    pub fn all_newest_first(&self) -> impl Iterator<Item = &KeyRecord> {
        self.listing
            .iter()
            .rev()
            .filter_map(|entry| self.keys.get(&entry.hash))
    }

    /// One page of `GET /keys`: up to 100 keys from `offset`, newest first. A plain loop over the
    /// flat listing: it stays fast even unoptimised, with 10,000 keys and a large offset.
    pub fn list_page(
        &self,
        filter: &ListFilter<'_>,
        offset: usize,
        now: DateTime<Utc>,
    ) -> Vec<&KeyRecord> {
        let now_ms = now.timestamp_millis();
        let page_size = crate::quirks::page_size().unwrap_or(PAGE_SIZE);
        let mut page = Vec::with_capacity(page_size);
        let mut skipped = 0;
        for entry in self.listing.iter().rev() {
            if (!filter.include_disabled && entry.disabled)
                || (!filter.include_expired && entry.expires_ms <= now_ms)
                || entry.workspace_id != filter.workspace_id
            {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            if let Some(record) = self.keys.get(&entry.hash) {
                page.push(record);
            }
            if page.len() == page_size {
                break;
            }
        }
        page
    }

    /// Lifetime credit spend of the account (BYOK excluded: it is not paid with credits).
    pub fn total_usage(&self) -> f64 {
        self.retired.total_usage + self.keys.values().map(|key| key.total_usage).sum::<f64>()
    }

    pub fn retired(&self) -> &RetiredUsage {
        &self.retired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn limit_reset_names_agree_in_serde_and_strum() {
        for &reset in LimitReset::VARIANTS {
            let name: &'static str = reset.into();
            assert_eq!(serde_json::to_value(reset).unwrap(), name);
            assert_eq!(name.parse::<LimitReset>().unwrap(), reset);
        }
        assert!("Daily".parse::<LimitReset>().is_err());
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weekly_window_runs_monday_to_sunday() {
        // 2026-11-23 is a Monday.
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-23")),
            date("2026-11-23")
        );
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-29")),
            date("2026-11-23")
        );
        assert_eq!(
            LimitReset::Weekly.window_start(date("2026-11-30")),
            date("2026-11-30")
        );
        assert_eq!(
            LimitReset::Weekly
                .next_reset(date("2026-11-29"))
                .map(wire_time)
                .as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
    }

    #[test]
    fn monthly_and_daily_resets() {
        assert_eq!(
            LimitReset::Monthly
                .next_reset(date("2026-12-31"))
                .map(wire_time)
                .as_deref(),
            Some("2027-01-01T00:00:00Z")
        );
        assert_eq!(
            LimitReset::Daily
                .next_reset(date("2026-02-28"))
                .map(wire_time)
                .as_deref(),
            Some("2026-03-01T00:00:00Z")
        );
    }

    #[test]
    fn label_masks_the_secret() {
        let secret = "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";
        assert_eq!(label_for(secret), "sk-or-v1-d35...55d");
    }

    #[test]
    fn money_removes_float_noise() {
        assert_eq!(money(0.1 + 0.2), 0.3);
        assert_eq!(money(f64::NAN), 0.0);
    }
}
