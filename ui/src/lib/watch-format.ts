// Words for watching keys: alert kinds, check intervals, "until 14:05".
import type { AlertKind } from "./bindings/AlertKind";
import type { AlertSeverity } from "./bindings/AlertSeverity";

export const KIND_LABEL: Record<AlertKind, string> = {
  expiry: "Expiry",
  limit: "Limit",
  forecast: "Forecast",
  anomaly: "Unusual spend",
  disabled: "Disabled",
  rotation_due: "Rotation due",
};

export const SEVERITY_LABEL: Record<AlertSeverity, string> = {
  critical: "Critical",
  warning: "Warning",
  info: "Info",
};

/** 300 → "5 min", 45 → "45 s", 5400 → "1 h 30 min". */
export function interval(secs: number): string {
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return secs % 60 === 0 ? `${secs / 60} min` : `${Math.floor(secs / 60)} min ${secs % 60} s`;
  const h = Math.floor(secs / 3600);
  const m = Math.round((secs % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** The check interval on battery with the window closed: 3×, at most 30 min (never shortened);
 * the watcher's `paced_interval` in keyward-core decides, this only says it. */
export function batteryInterval(secs: number): number {
  return Math.min(secs * 3, Math.max(1800, secs));
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayAndTime = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

/** A local time: "14:05" today, "Tue 24 Nov, 14:05" another day. */
export function clockTime(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const sameDay = new Date(t).toDateString() === new Date(now).toDateString();
  return (sameDay ? timeOnly : dayAndTime).format(t);
}

/** A threshold as a person reads it after "Also crossed": "80" → "80 %", "7d" → "the 7-day mark". */
export function thresholdLabel(alert: { kind: AlertKind; threshold: string }): string {
  if (alert.kind === "limit" && /^\d+$/.test(alert.threshold)) return `${alert.threshold} %`;
  const days = /^(\d+)d$/.exec(alert.threshold);
  if (alert.kind === "expiry" && days) return `the ${days[1]}-day mark`;
  return alert.threshold;
}
