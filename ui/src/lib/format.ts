// Formatting for people: money in USD, times relative with the absolute kept for tooltips, and the
// conversion between the local date-time input and the UTC RFC 3339 the shell expects.

const usdFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 4 });

export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  // Sub-cent spend is common on cheap models; show it instead of rounding it to $0.00.
  if (value !== 0 && Math.abs(value) < 0.01) return usdSmall.format(value);
  return usdFormat.format(value);
}

const usdCompactFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact", maximumFractionDigits: 2 });
/** From this amount on, a narrow table column shows "$987.65K" (the exact amount goes in its tooltip). */
export const COMPACT_FROM = 10_000;

/** `usd`, but five figures and more in compact form ("$12.35K", "$1.23M"), for narrow number columns. */
export function usdCompact(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value) || Math.abs(value) < COMPACT_FROM) return usd(value);
  return usdCompactFormat.format(value);
}

const absoluteFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

export function absolute(iso: string | null | undefined): string {
  const t = parseTime(iso);
  return t === null ? "" : absoluteFormat.format(t);
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 24 * 3600e3], ["month", 30 * 24 * 3600e3], ["week", 7 * 24 * 3600e3],
  ["day", 24 * 3600e3], ["hour", 3600e3], ["minute", 60e3],
];
const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });

/** "2 min. ago", "in 3 days", "last wk.", "just now" (short forms: they fit table cells). */
export function relative(iso: string | null | undefined, now: number = Date.now()): string {
  const t = parseTime(iso);
  if (t === null) return "";
  const diff = t - now;
  if (Math.abs(diff) < 45e3) return diff > 0 && Math.abs(diff) > 5e3 ? "in under a minute" : "just now";
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === "minute") {
      const n = Math.round(diff / ms);
      return rtf.format(n, unit);
    }
  }
  return "";
}

/** Seconds until `iso`, never negative. */
export function secondsUntil(iso: string, now: number = Date.now()): number {
  const t = parseTime(iso);
  return t === null ? 0 : Math.max(0, Math.ceil((t - now) / 1000));
}

export function countdown(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m} min ${s.toString().padStart(2, "0")} s`;
}

/** `<input type="datetime-local">` value (local wall time) → "YYYY-MM-DDTHH:MM:SSZ" in UTC, or null if unparsable. */
export function localInputToUtc(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0));
  if (Number.isNaN(date.getTime())) return null;
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A timestamp → the local wall-time value a datetime-local input shows. */
export function utcToLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => n.toString().padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const DAY_MS = 24 * 3600e3;
