// Watching keys, as the window sees it: the open alerts (live through `alerts-changed`), the watch
// settings, pausing and snoozing, and usage history for the charts. Never holds a secret.
import type { AppError } from "./bindings/AppError";
import type { Clock } from "./clock.svelte";
import { parseTime } from "./format";
import type { Session } from "./session.svelte";
import { call, on } from "./ipc";
import type { AlertSeverity } from "./bindings/AlertSeverity";
import type { AlertView } from "./bindings/AlertView";
import type { AlertsSnapshot } from "./bindings/AlertsSnapshot";
import type { OpenKeyEvent } from "./bindings/OpenKeyEvent";
import type { UsageHistory } from "./bindings/UsageHistory";
import type { UsageOverview } from "./bindings/UsageOverview";
import type { WatchSettings } from "./bindings/WatchSettings";

export const SEVERITIES: AlertSeverity[] = ["critical", "warning", "info"];
const RANK: Record<AlertSeverity, number> = { critical: 0, warning: 1, info: 2 };

/** Most severe first; within a severity the soonest due (or newest raised) first. */
export function sortAlerts(alerts: AlertView[]): AlertView[] {
  const due = (a: AlertView) => parseTime(a.due_at) ?? Number.POSITIVE_INFINITY;
  return [...alerts].sort((a, b) =>
    RANK[a.severity] - RANK[b.severity] || due(a) - due(b) || (parseTime(b.raised_at) ?? 0) - (parseTime(a.raised_at) ?? 0));
}

export function isSnoozed(alert: AlertView, now: number): boolean {
  const until = parseTime(alert.snoozed_until);
  return until !== null && until > now;
}

/**
 * The alerts to show on their own: a superseded one (80 % while 95 % of the same key and kind is
 * open) folds under its higher threshold — unless that one is missing from the list, when it stands.
 */
export function foldSuperseded(alerts: AlertView[]): AlertView[] {
  const tops = new Set(alerts.filter((a) => !a.superseded).map(foldId));
  return alerts.filter((a) => !a.superseded || !tops.has(foldId(a)));
}

function foldId(alert: AlertView): string {
  return `${alert.profile_id}|${alert.key_hash}|${alert.kind}`;
}

export function keyId(profileId: string, hash: string): string {
  return `${profileId}|${hash}`;
}

export class Watch {
  snapshot = $state.raw<AlertsSnapshot | null>(null);
  settings = $state.raw<WatchSettings | null>(null);
  alertsError = $state<AppError | null>(null);
  refreshing = $state(false);
  #session: Session;
  #clock: Clock;
  #unlisten: Array<() => void> = [];

  constructor(session: Session, clock: Clock) {
    this.#session = session;
    this.#clock = clock;
  }

  // Snoozes and pauses end on their own; a per-minute "now" is precise enough and cheap to follow.
  #minute = $derived.by(() => Math.floor(this.#clock.now / 60_000) * 60_000);

  /** Every alert not snoozed right now, superseded ones folded, most severe first. */
  open = $derived.by(() => {
    const now = Math.max(this.#minute, Date.now());
    return sortAlerts(foldSuperseded((this.snapshot?.alerts ?? []).filter((a) => !isSnoozed(a, now))));
  });
  snoozed = $derived.by(() => {
    const now = Math.max(this.#minute, Date.now());
    return sortAlerts(foldSuperseded((this.snapshot?.alerts ?? []).filter((a) => isSnoozed(a, now))));
  });
  /** `profile|hash|kind` → the lower thresholds a shown alert folds (for "also crossed 80 %"). */
  folded = $derived.by(() => {
    const map = new Map<string, AlertView[]>();
    for (const a of this.snapshot?.alerts ?? []) {
      if (!a.superseded) continue;
      const id = foldId(a);
      const list = map.get(id);
      if (list) list.push(a);
      else map.set(id, [a]);
    }
    return map;
  });

  /** The superseded alerts folded under `alert` (empty unless it is the highest of its key and kind). */
  foldedUnder(alert: AlertView): AlertView[] {
    return alert.superseded ? [] : (this.folded.get(foldId(alert)) ?? []);
  }
  count = $derived(this.open.length);
  worst = $derived<AlertSeverity | null>(this.open[0]?.severity ?? null);
  /** Open alerts by `profile|hash`, for the key rows. */
  byKey = $derived.by(() => {
    const map = new Map<string, AlertView[]>();
    for (const a of this.open) {
      const id = keyId(a.profile_id, a.key_hash);
      const list = map.get(id);
      if (list) list.push(a);
      else map.set(id, [a]);
    }
    return map;
  });
  pausedUntil = $derived.by(() => {
    const until = parseTime(this.snapshot?.paused_until);
    return until !== null && until > Math.max(this.#minute, Date.now()) ? (this.snapshot?.paused_until ?? null) : null;
  });

  async start(openKey: (event: OpenKeyEvent) => void): Promise<void> {
    try {
      this.#unlisten.push(await on("alerts-changed", (s) => {
        this.snapshot = s;
        this.#cycleReported();
      }));
      this.#unlisten.push(await on("open-key", openKey));
    } catch {
      // Without events the panel still loads on open and after every action.
    }
    try {
      // A notification clicked while the window was closed: the shell built the window for it and
      // kept the key for this page to take.
      const pending = await call("open_key_take", {});
      if (pending) openKey(pending);
    } catch {
      // An older shell without the command: nothing was pending.
    }
    // Alerts load when a profile is open (App follows the active profile); settings are wanted at once.
    await this.loadSettings();
  }

  stop(): void {
    this.#cycleReported();
    for (const unlisten of this.#unlisten) {
      try {
        unlisten();
      } catch {
        // The event bridge is already gone (window closing).
      }
    }
    this.#unlisten = [];
  }

  async loadAlerts(): Promise<void> {
    try {
      this.snapshot = await call("alerts_list", { profile_id: null });
      this.alertsError = null;
    } catch (e) {
      this.alertsError = e as AppError;
    }
  }

  async loadSettings(): Promise<WatchSettings | null> {
    try {
      await this.getSettings();
    } catch {
      // The settings dialog asks again and shows the error itself.
    }
    return this.settings;
  }

  /** The current settings from the shell; rejects with its AppError. */
  async getSettings(): Promise<WatchSettings> {
    const settings = await call("watch_settings_get", {});
    this.settings = settings;
    return settings;
  }

  /** Validated by the shell; rejects with an AppError whose `field` names the setting at fault. */
  async saveSettings(settings: WatchSettings): Promise<WatchSettings> {
    const saved = await call("watch_settings_set", settings);
    this.settings = saved;
    return saved;
  }

  /** Snoozes every alert of one key for `ms` (null: wake them now). */
  async snooze(alert: { profile_id: string; key_hash: string; key_name: string }, ms: number | null): Promise<void> {
    const until = ms === null ? null : new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, "Z");
    try {
      await call("alerts_snooze", { profile_id: alert.profile_id, key_hash: alert.key_hash, until });
      await this.loadAlerts();
      this.#session.notify(ms === null ? `Alerts for ${alert.key_name} back on` : `Alerts for ${alert.key_name} snoozed`, "success");
    } catch (e) {
      this.#session.notify(`Could not snooze: ${(e as AppError).message}`, "error");
    }
  }

  /** Pauses all alerts for `minutes`; null resumes them. */
  async pause(minutes: number | null): Promise<void> {
    try {
      await call("alerts_pause", { minutes });
      await this.loadAlerts();
      this.#session.notify(minutes === null ? "Alerts resumed" : "Alerts paused", "success");
    } catch (e) {
      this.#session.notify(`Could not ${minutes === null ? "resume" : "pause"} alerts: ${(e as AppError).message}`, "error");
    }
  }

  #cycleTimer: ReturnType<typeof setTimeout> | null = null;

  #cycleReported(): void {
    if (this.#cycleTimer !== null) clearTimeout(this.#cycleTimer);
    this.#cycleTimer = null;
    this.refreshing = false;
  }

  /**
   * Asks the shell for a watch cycle now. The shell answers at once and reports the cycle's outcome
   * through `alerts-changed`; "checking" lasts until then (at most 30 s, should the event not come).
   */
  async refreshNow(): Promise<void> {
    this.refreshing = true;
    try {
      await call("watch_refresh_now", {});
      if (this.#cycleTimer !== null) clearTimeout(this.#cycleTimer);
      this.#cycleTimer = setTimeout(() => {
        this.#cycleTimer = null;
        this.refreshing = false;
        void this.loadAlerts();
      }, 30_000);
      await this.loadAlerts();
    } catch (e) {
      this.refreshing = false;
      this.#session.notify(`Check failed: ${(e as AppError).message}`, "error");
    }
  }

  usageHistory(profileId: string, keyHash: string): Promise<UsageHistory> {
    return call("usage_history", { profile_id: profileId, key_hash: keyHash });
  }

  usageOverview(profileId: string): Promise<UsageOverview> {
    return call("usage_overview", { profile_id: profileId });
  }
}
