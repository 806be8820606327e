// Hand-written twins of the Rust view types for watching keys (session-2 contract), used only until
// ts-rs generates them into ./bindings/; then this file re-exports the generated ones or goes away.
import type { LimitReset } from "./bindings/LimitReset";

export type AlertKind = "expiry" | "limit" | "forecast" | "anomaly" | "disabled" | "rotation_due";
export type AlertSeverity = "info" | "warning" | "critical";

export type AlertView = {
  /** Stable de-dup identity: profile|hash|kind|threshold|period. */
  id: string;
  profile_id: string;
  key_hash: string;
  key_name: string;
  kind: AlertKind;
  severity: AlertSeverity;
  /** "7d" | "1d" | "expired" | "80" | "95" | "100" | "forecast" | … */
  threshold: string;
  /** The reset period it belongs to: "2026-11", "2026-W48", "2026-11-23", "none". */
  period: string;
  title: string;
  body: string;
  /** What to do about it ("Raise the limit or rotate the key"). */
  action: string;
  raised_at: string;
  /** When the key expires or is forecast to hit its limit. */
  due_at: string | null;
  snoozed_until: string | null;
};

export type AlertsSnapshot = {
  alerts: Array<AlertView>;
  paused_until: string | null;
  last_check_at: string | null;
  next_check_at: string | null;
};

export type NotifyKinds = {
  expiry: boolean;
  limit: boolean;
  forecast: boolean;
  anomaly: boolean;
  disabled: boolean;
  rotation_due: boolean;
};

/** Local wall-clock times, "HH:MM". */
export type QuietHours = { start: string; end: string };

export type WatchSettings = {
  interval_secs: number;
  expiry_days: Array<number>;
  limit_percents: Array<number>;
  anomaly_factor: number;
  anomaly_min_usd: number;
  notify: NotifyKinds;
  quiet_hours: QuietHours | null;
  notifications_enabled: boolean;
  start_at_login: boolean;
};

/** `date` is a UTC day, "YYYY-MM-DD". */
export type DailySpend = { date: string; spend: number };

export type SpendForecast = {
  burn_per_day: number;
  projected_period_spend: number;
  hits_limit_at: string | null;
  period_end: string | null;
};

export type UsageHistory = {
  profile_id: string;
  key_hash: string;
  key_name: string;
  /** 30 UTC days, oldest first, today last. */
  days: Array<DailySpend>;
  limit: number | null;
  limit_reset: LimitReset | null;
  period_spend: number;
  forecast: SpendForecast | null;
};

export type TopKey = { key_hash: string; key_name: string; spend_30d: number };

export type UsageOverview = { profile_id: string; days: Array<DailySpend>; top_keys: Array<TopKey> };

export type AlertsListArgs = { profile_id: string | null };
export type AlertsSnoozeArgs = { profile_id: string; key_hash: string; until: string | null };
export type AlertsPauseArgs = { minutes: number | null };
export type UsageHistoryArgs = { profile_id: string; key_hash: string };
export type UsageOverviewArgs = { profile_id: string };
export type OpenKeyEvent = { profile_id: string; key_hash: string };

/** The watching commands, in the shape of bindings/Commands.ts, until the generated one lists them. */
export type WatchCommands = {
  watch_settings_get: { args: Record<string, never>; result: WatchSettings };
  watch_settings_set: { args: WatchSettings; result: WatchSettings };
  alerts_list: { args: AlertsListArgs; result: AlertsSnapshot };
  alerts_snooze: { args: AlertsSnoozeArgs; result: unknown };
  alerts_pause: { args: AlertsPauseArgs; result: unknown };
  watch_refresh_now: { args: Record<string, never>; result: unknown };
  usage_history: { args: UsageHistoryArgs; result: UsageHistory };
  usage_overview: { args: UsageOverviewArgs; result: UsageOverview };
};
