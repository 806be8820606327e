// The watching half of the fake shell (alerts, usage history, watch settings), following the
// session-2 contract: FakeBackend routes the watch commands here. Alerts are derived from the fake's
// keys the way the watcher would (limit share, expiry), unless a test sets `alerts` itself.
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { LimitReset } from "../lib/bindings/LimitReset";
import type { AlertView } from "../lib/bindings/AlertView";
import type { AlertsSnapshot } from "../lib/bindings/AlertsSnapshot";
import type { DailySpend } from "../lib/bindings/DailySpend";
import type { UsageHistory } from "../lib/bindings/UsageHistory";
import type { UsageOverview } from "../lib/bindings/UsageOverview";
import type { TrayStatus } from "../lib/bindings/TrayStatus";
import type { WatchSettings } from "../lib/bindings/WatchSettings";

const DAY = 24 * 3600e3;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const err = (message: string, field: string): AppError => ({ kind: "invalid_input", message, field, retry_after_ms: null });


export function defaultWatchSettings(): WatchSettings {
  return {
    interval_secs: 300, expiry_days: [7, 1], limit_percents: [80, 95, 100], anomaly_factor: 3, anomaly_min_usd: 1,
    notify: { expiry: true, limit: true, forecast: true, anomaly: true, disabled: true, rotation_due: true },
    quiet_hours: null, notifications_enabled: true, start_at_login: false, slower_on_battery: true,
  };
}

export function makeAlert(overrides: Partial<AlertView> & { key_name: string; key_hash: string }): AlertView {
  const kind = overrides.kind ?? "limit";
  const threshold = overrides.threshold ?? "80";
  const profile = overrides.profile_id ?? "p1";
  const period = overrides.period ?? "2026-11";
  return {
    id: `${profile}|${overrides.key_hash}|${kind}|${threshold}|${period}`,
    profile_id: profile, kind, severity: "warning", threshold, period,
    title: `${overrides.key_name} has used ${threshold} % of its limit`,
    body: `${overrides.key_name} has used ${threshold} % of its monthly limit.`,
    action: "Raise the limit or rotate the key",
    raised_at: iso(Date.now() - 20 * 60_000), due_at: null, snoozed_until: null, limit: null, superseded: false,
    ...overrides,
  };
}

/** Deterministic numbers from a key's hash, so a key's chart looks the same every time. */
function rngFrom(text: string): () => number {
  let s = 0;
  for (let i = 0; i < text.length; i++) s = (s * 31 + text.charCodeAt(i)) >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function utcDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

function periodEnd(now: number, reset: string | null): number | null {
  const today = utcDay(now);
  const d = new Date(today);
  switch (reset) {
    case "daily": return today + DAY;
    case "weekly": return today + (7 - ((d.getUTCDay() + 6) % 7)) * DAY;
    case "monthly": return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    default: return null;
  }
}

function periodSpend(key: KeyRow): number {
  switch (key.limit_reset) {
    case "daily": return key.usage_daily;
    case "weekly": return key.usage_weekly;
    case "monthly": return key.usage_monthly;
    default: return key.usage;
  }
}

export type KeySource = { profileIds(): string[]; keysOf(profileId: string): KeyRow[] };

export class FakeWatch {
  settings: WatchSettings = defaultWatchSettings();
  /** What `tray_status` answers: a tray by default; a test sets a desktop without one. */
  tray: TrayStatus = { stays_in_tray: true, host: "status_notifier", reason: null };
  /** Set to fix the alerts; null derives them from the keys on every call. */
  alerts: AlertView[] | null = null;
  /** Snoozes by `profile|hash` (the fake's memory of alerts_snooze). */
  snoozes = new Map<string, string | null>();
  pausedUntil: string | null = null;
  lastCheckAt: string | null = iso(Date.now() - 2 * 60_000);
  /** Usage histories a test pins, by key hash. */
  usage = new Map<string, UsageHistory>();
  refreshes = 0;
  /** How long a "Check now" cycle takes before `alerts-changed` arrives. */
  cycleMs = 50;

  constructor(private readonly source: KeySource) {}

  snapshot(profileId: string | null): AlertsSnapshot {
    const all = this.alerts ?? this.derive();
    const alerts = all
      .filter((a) => profileId === null || a.profile_id === profileId)
      .map((a) => {
        const snooze = this.snoozes.get(`${a.profile_id}|${a.key_hash}`);
        return snooze === undefined ? a : { ...a, snoozed_until: snooze };
      });
    const last = this.lastCheckAt ? Date.parse(this.lastCheckAt) : null;
    return {
      alerts, paused_until: this.pausedUntil, last_check_at: this.lastCheckAt,
      next_check_at: last === null ? null : iso(last + this.settings.interval_secs * 1000),
    };
  }

  // The fake replaces a profile's key array on every change, so the array itself keys the cache.
  #derived = new WeakMap<KeyRow[], { settings: WatchSettings; alerts: AlertView[] }>();

  /** What the watcher would raise for the fake's keys: limit shares and expiry. */
  derive(): AlertView[] {
    const out: AlertView[] = [];
    for (const profileId of this.source.profileIds()) {
      const keys = this.source.keysOf(profileId);
      const cached = this.#derived.get(keys);
      if (cached && cached.settings === this.settings) {
        out.push(...cached.alerts);
        continue;
      }
      const alerts = this.deriveFor(profileId, keys);
      this.#derived.set(keys, { settings: this.settings, alerts });
      out.push(...alerts);
    }
    return out;
  }

  deriveFor(profileId: string, keys: KeyRow[]): AlertView[] {
    const now = Date.now();
    const month = new Date(now).toISOString().slice(0, 7);
    const percents = [...this.settings.limit_percents].sort((a, b) => b - a);
    const expiryDays = [...this.settings.expiry_days].sort((a, b) => a - b);
    const out: AlertView[] = [];
    {
      for (const key of keys) {
        if (key.limit !== null && key.limit > 0 && key.status === "active") {
          const share = (periodSpend(key) / key.limit) * 100;
          // Like the core: every crossed threshold is its own alert; all but the highest are superseded.
          const crossed = percents.filter((p) => share >= p);
          for (const passed of crossed) {
            out.push(makeAlert({
              profile_id: profileId, key_hash: key.hash, key_name: key.name, kind: "limit", threshold: String(passed),
              period: key.limit_reset ? month : "none", severity: passed >= 95 ? "critical" : "warning",
              title: `${key.name} has used ${Math.floor(share)} % of its limit`,
              body: `${key.name} has used $${periodSpend(key).toFixed(2)} of its $${key.limit.toFixed(2)} ${key.limit_reset ?? "lifetime"} limit.`,
              action: passed >= 100 ? "Requests are refused now: raise the limit or wait for the reset" : "Raise the limit or rotate the key",
              limit: key.limit, superseded: passed !== crossed[0],
            }));
          }
        }
        const expires = key.expires_at ? Date.parse(key.expires_at) : null;
        if (expires !== null) {
          const left = expires - now;
          // An expired key raises only `expired`; otherwise every crossed day count, the nearest on top.
          const crossed: Array<number | "expired"> = left <= 0 ? ["expired"] : expiryDays.filter((d) => left <= d * DAY);
          for (const threshold of crossed) {
            const label = threshold === "expired" ? "expired" : `${threshold}d`;
            out.push(makeAlert({
              profile_id: profileId, key_hash: key.hash, key_name: key.name, kind: "expiry", threshold: label, period: "none",
              severity: threshold === "expired" || threshold <= 1 ? "critical" : "warning",
              title: threshold === "expired" ? `${key.name} has expired` : `${key.name} expires soon`,
              body: threshold === "expired" ? `${key.name} expired and no longer works.` : `${key.name} stops working on ${new Date(expires).toUTCString()}.`,
              action: "Rotate the key, or create a new one and update where it is used",
              due_at: key.expires_at, superseded: threshold !== crossed[0],
            }));
          }
        }
      }
    }
    return out;
  }

  validate(s: WatchSettings): AppError | null {
    if (!Number.isInteger(s.interval_secs) || s.interval_secs < 10) return err("must be at least 10 seconds", "interval_secs");
    if (s.expiry_days.some((d) => !Number.isInteger(d) || d < 1)) return err("days must be whole and at least 1", "expiry_days");
    if (s.limit_percents.some((p) => !Number.isInteger(p) || p < 1 || p > 100)) return err("percentages must be 1–100", "limit_percents");
    if (!(s.anomaly_factor > 1)) return err("must be above 1", "anomaly_factor");
    if (!(s.anomaly_min_usd >= 0)) return err("must not be negative", "anomaly_min_usd");
    const hhmm = /^([01]\d|2[0-3]):[0-5]\d$/;
    if (s.quiet_hours && !hhmm.test(s.quiet_hours.start)) return err("must be HH:MM", "quiet_hours.start");
    if (s.quiet_hours && !hhmm.test(s.quiet_hours.end)) return err("must be HH:MM", "quiet_hours.end");
    return null;
  }

  history(profileId: string, key: KeyRow): UsageHistory {
    const pinned = this.usage.get(key.hash);
    if (pinned) return pinned;
    const now = Date.now();
    const today = utcDay(now);
    const random = rngFrom(key.hash);
    const avg = Math.max(key.usage_weekly / 7, key.usage_monthly / 30, key.usage_daily, 0);
    const days: DailySpend[] = [];
    for (let i = 29; i >= 0; i--) {
      const date = new Date(today - i * DAY).toISOString().slice(0, 10);
      const spend = i === 0 ? key.usage_daily : Math.round(avg * (0.3 + random() * 1.4) * 100) / 100;
      days.push({ date, spend });
    }
    // A limit that never resets counts everything, so it is at least what the window shows.
    const spent = key.limit_reset ? periodSpend(key) : Math.max(periodSpend(key), Math.round(days.reduce((t, d) => t + d.spend, 0) * 100) / 100);
    const recent = days.slice(-7).reduce((s, d) => s + d.spend, 0) / 7;
    const end = periodEnd(now, key.limit_reset);
    // Like the core: project to the next reset, or for a limit that never resets to the key's expiry
    // or 30 days out, whichever is first; the limit is hit only if before then.
    const expires = key.expires_at ? Date.parse(key.expires_at) : null;
    const projectedUntil = end ?? Math.min(now + 30 * DAY, expires !== null && expires > now ? expires : Infinity);
    let hits: number | null = null;
    if (key.limit !== null && recent > 0) {
      const at = now + ((key.limit - spent) / recent) * DAY;
      if (at > now && at < projectedUntil) hits = at;
    }
    const projected = spent + (recent * (projectedUntil - now)) / DAY;
    return {
      profile_id: profileId, key_hash: key.hash, key_name: key.name, days, limit: key.limit,
      limit_reset: (["daily", "weekly", "monthly"].includes(key.limit_reset ?? "") ? key.limit_reset : null) as LimitReset | null,
      period_spend: spent,
      forecast: recent > 0 ? {
        burn_per_day: Math.round(recent * 100) / 100, projected_period_spend: Math.round(projected * 100) / 100,
        hits_limit_at: hits === null ? null : iso(hits), period_end: end === null ? null : iso(end),
        projected_until: iso(projectedUntil),
      } : null,
    };
  }

  overview(profileId: string): UsageOverview {
    const keys = this.source.keysOf(profileId);
    const totals = new Map<string, number>();
    const top: UsageOverview["top_keys"] = [];
    for (const key of keys) {
      const h = this.history(profileId, key);
      let sum = 0;
      for (const d of h.days) {
        totals.set(d.date, (totals.get(d.date) ?? 0) + d.spend);
        sum += d.spend;
      }
      top.push({ key_hash: key.hash, key_name: key.name, spend_30d: Math.round(sum * 100) / 100 });
    }
    top.sort((a, b) => b.spend_30d - a.spend_30d);
    const days = [...totals.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([date, spend]) => ({ date, spend: Math.round(spend * 100) / 100 }));
    return { profile_id: profileId, days, top_keys: top.slice(0, 10) };
  }

  run(cmd: string, a: Record<string, unknown>, findKey: (profileId: unknown, hash: unknown) => KeyRow): unknown {
    switch (cmd) {
      case "watch_settings_get":
        return structuredClone(this.settings);
      case "watch_settings_set": {
        const next = a as unknown as WatchSettings;
        const problem = this.validate(next);
        if (problem) throw problem;
        this.settings = structuredClone(next);
        return structuredClone(this.settings);
      }
      case "alerts_list":
        return this.snapshot((a.profile_id as string | null) ?? null);
      case "alerts_snooze":
        findKey(a.profile_id, a.key_hash);
        this.snoozes.set(`${String(a.profile_id)}|${String(a.key_hash)}`, (a.until as string | null) ?? null);
        return this.snapshot(null);
      case "alerts_pause":
        this.pausedUntil = a.minutes === null || a.minutes === undefined ? null : iso(Date.now() + Number(a.minutes) * 60_000);
        return this.snapshot(null);
      case "watch_refresh_now":
        // Like the shell: answer at once, report the cycle through `alerts-changed` when it is done.
        this.refreshes += 1;
        setTimeout(() => {
          this.lastCheckAt = iso(Date.now());
          void emit("alerts-changed", this.snapshot(null)).catch(() => {});
        }, this.cycleMs);
        return null;
      case "usage_history":
        return this.history(String(a.profile_id), findKey(a.profile_id, a.key_hash));
      case "usage_overview":
        return this.overview(String(a.profile_id));
      default:
        throw { kind: "internal", message: `unknown command ${cmd}`, field: null, retry_after_ms: null } satisfies AppError;
    }
  }
}
