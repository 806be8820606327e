// Turns a key's usage history into the columns the spend chart draws: daily spend (bars), spend so far
// in the current limit period (a line), the limit (a flat line) and the forecast (a dashed line from
// today to the day the key is projected to hit its limit, or to the end of the projection: the
// next reset, or the key's expiry / 30 days out for a limit that never resets). Pure; x in Unix seconds.
import { DAY_MS, parseTime } from "./format";
import type { DailySpend } from "./bindings/DailySpend";
import type { SpendForecast } from "./bindings/SpendForecast";

export type SpendSeries = {
  x: number[];
  daily: Array<number | null>;
  /** Spend in the current limit period up to each day; null outside it (or without a limit). */
  period: Array<number | null>;
  limit: Array<number | null>;
  forecast: Array<number | null>;
  /** When the dashed line ends, and at what amount (null: no forecast drawn). */
  forecastEnd: { at: number; value: number; hitsLimit: boolean } | null;
};

export type SpendInput = {
  days: DailySpend[];
  limit?: number | null;
  limitReset?: string | null;
  periodSpend?: number | null;
  forecast?: SpendForecast | null;
};

/** How far past today the chart may reach to show a forecast (further out, the line is cut there). */
export const FORECAST_HORIZON_DAYS = 45;

const dayStart = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** The first UTC day of the period a `limit_reset` describes, given the last day in the data. */
export function periodStart(lastDay: number, reset: string | null | undefined, firstDay: number): number {
  const d = new Date(lastDay);
  switch (reset) {
    case "daily":
      return lastDay;
    case "weekly": {
      const sinceMonday = (d.getUTCDay() + 6) % 7;
      return lastDay - sinceMonday * DAY_MS;
    }
    case "monthly":
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    default:
      // A limit that never resets: everything in view counts toward it.
      return firstDay;
  }
}

export function buildSpendSeries(input: SpendInput): SpendSeries {
  const days = input.days;
  const x = days.map((d) => dayStart(d.date) / 1000 + 12 * 3600);
  const daily: Array<number | null> = days.map((d) => d.spend);
  const hasLimit = input.limit !== null && input.limit !== undefined;
  const n = days.length;
  const period: Array<number | null> = new Array(n).fill(null);
  const limit: Array<number | null> = new Array(n).fill(hasLimit ? input.limit : null);
  const forecast: Array<number | null> = new Array(n).fill(null);
  let forecastEnd: SpendSeries["forecastEnd"] = null;

  if (hasLimit && n > 0) {
    const last = dayStart(days[n - 1].date);
    const start = periodStart(last, input.limitReset, dayStart(days[0].date));
    // Walk back from today's known period total, so days before the window's data still add up.
    let running = input.periodSpend ?? days.filter((d) => dayStart(d.date) >= start).reduce((s, d) => s + d.spend, 0);
    for (let i = n - 1; i >= 0 && dayStart(days[i].date) >= start; i--) {
      period[i] = Math.max(0, Math.round(running * 1e6) / 1e6);
      running -= days[i].spend;
    }
  }

  const f = input.forecast;
  if (f && n > 0 && hasLimit) {
    const now = x[n - 1];
    const hits = parseTime(f.hits_limit_at);
    // The next reset, or for a limit that never resets the end of the projection (expiry or 30 days).
    const end = parseTime(f.projected_until) ?? parseTime(f.period_end);
    const startValue = period[n - 1] ?? 0;
    let target: { at: number; value: number; hitsLimit: boolean } | null = null;
    if (hits !== null) target = { at: hits / 1000, value: input.limit as number, hitsLimit: true };
    else if (end !== null) target = { at: end / 1000, value: f.projected_period_spend, hitsLimit: false };
    if (target && target.at > now) {
      const horizon = now + FORECAST_HORIZON_DAYS * 86400;
      if (target.at > horizon) {
        const share = (horizon - now) / (target.at - now);
        target = { at: horizon, value: startValue + (target.value - startValue) * share, hitsLimit: false };
      }
      forecast[n - 1] = startValue;
      x.push(target.at);
      daily.push(null);
      period.push(null);
      limit.push(input.limit as number);
      forecast.push(target.value);
      forecastEnd = target;
    }
  }
  return { x, daily, period, limit, forecast, forecastEnd };
}
