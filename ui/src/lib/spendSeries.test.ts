import { describe, expect, it } from "vitest";
import { FORECAST_HORIZON_DAYS, buildSpendSeries, periodStart } from "./spendSeries";
import type { DailySpend } from "./bindings/DailySpend";

const DAY = 86400;
/** 30 days ending on `last` (YYYY-MM-DD), each spending `spend`. */
function days(last: string, spend = 1): DailySpend[] {
  const end = Date.parse(`${last}T00:00:00Z`);
  return Array.from({ length: 30 }, (_, i) => ({ date: new Date(end - (29 - i) * DAY * 1000).toISOString().slice(0, 10), spend }));
}
const utc = (d: string) => Date.parse(`${d}T00:00:00Z`);

describe("spend series", () => {
  it("finds the period start for each reset across week and month boundaries", () => {
    const first = utc("2026-10-26");
    expect(periodStart(utc("2026-11-23"), "daily", first)).toBe(utc("2026-11-23"));
    expect(periodStart(utc("2026-11-23"), "weekly", first)).toBe(utc("2026-11-23")); // a Monday
    expect(periodStart(utc("2026-11-22"), "weekly", first)).toBe(utc("2026-11-16")); // Sunday → last Monday
    expect(periodStart(utc("2026-12-01"), "monthly", first)).toBe(utc("2026-12-01"));
    expect(periodStart(utc("2026-11-30"), "monthly", first)).toBe(utc("2026-11-01"));
    expect(periodStart(utc("2026-11-23"), null, first)).toBe(first);
  });

  it("without a limit: only the daily bars", () => {
    const s = buildSpendSeries({ days: days("2026-11-23", 2) });
    expect(s.x).toHaveLength(30);
    expect(s.daily.every((v) => v === 2)).toBe(true);
    expect(s.limit.every((v) => v === null)).toBe(true);
    expect(s.period.every((v) => v === null)).toBe(true);
    expect(s.forecastEnd).toBeNull();
  });

  it("monthly limit: running total from the 1st walks back from the period spend; the limit is flat", () => {
    const s = buildSpendSeries({ days: days("2026-11-23", 1), limit: 50, limitReset: "monthly", periodSpend: 23 });
    const nov1 = s.x.findIndex((x) => x === utc("2026-11-01") / 1000 + 12 * 3600);
    expect(s.period[nov1 - 1]).toBeNull();
    expect(s.period[nov1]).toBe(1);
    expect(s.period[29]).toBe(23);
    expect(s.limit.every((v) => v === 50)).toBe(true);
  });

  it("forecast: a dashed segment from today's total to the limit on the day it is hit", () => {
    const hits = "2026-11-28T06:00:00Z";
    const s = buildSpendSeries({
      days: days("2026-11-23", 1), limit: 50, limitReset: "monthly", periodSpend: 40,
      forecast: { burn_per_day: 2, projected_period_spend: 54, hits_limit_at: hits, period_end: "2026-12-01T00:00:00Z", projected_until: "2026-12-01T00:00:00Z" },
    });
    expect(s.x).toHaveLength(31);
    expect(s.x[30]).toBe(Date.parse(hits) / 1000);
    expect(s.forecast[29]).toBe(40);
    expect(s.forecast[30]).toBe(50);
    expect(s.forecast.slice(0, 29).every((v) => v === null)).toBe(true);
    expect(s.daily[30]).toBeNull();
    expect(s.forecastEnd).toEqual({ at: Date.parse(hits) / 1000, value: 50, hitsLimit: true });
  });

  it("forecast without hitting the limit ends at the period end with the projected spend", () => {
    const s = buildSpendSeries({
      days: days("2026-11-23", 1), limit: 100, limitReset: "monthly", periodSpend: 23,
      forecast: { burn_per_day: 1, projected_period_spend: 30, hits_limit_at: null, period_end: "2026-12-01T00:00:00Z", projected_until: "2026-12-01T00:00:00Z" },
    });
    expect(s.forecastEnd).toEqual({ at: Date.parse("2026-12-01T00:00:00Z") / 1000, value: 30, hitsLimit: false });
  });

  it("a limit that never resets: the line runs to the end of the projection", () => {
    const s = buildSpendSeries({
      days: days("2026-11-23", 1), limit: 100, periodSpend: 40,
      forecast: { burn_per_day: 1, projected_period_spend: 52, hits_limit_at: null, period_end: null, projected_until: "2026-12-05T12:00:00Z" },
    });
    expect(s.forecastEnd).toEqual({ at: Date.parse("2026-12-05T12:00:00Z") / 1000, value: 52, hitsLimit: false });
    expect(s.forecast[29]).toBe(40);
    expect(s.forecast[30]).toBe(52);
  });

  it("a far-off forecast is cut at the horizon, on the same straight line", () => {
    const s = buildSpendSeries({
      days: days("2026-11-23", 1), limit: 1000, periodSpend: 100,
      forecast: { burn_per_day: 1, projected_period_spend: 100, hits_limit_at: "2029-01-01T00:00:00Z", period_end: null, projected_until: "2026-12-23T00:00:00Z" },
    });
    const now = s.x[29];
    expect(s.forecastEnd?.at).toBe(now + FORECAST_HORIZON_DAYS * DAY);
    expect(s.forecastEnd?.hitsLimit).toBe(false);
    const full = Date.parse("2029-01-01T00:00:00Z") / 1000 - now;
    expect(s.forecastEnd?.value).toBeCloseTo(100 + 900 * ((FORECAST_HORIZON_DAYS * DAY) / full), 6);
  });

  it("a forecast date already past draws nothing", () => {
    const s = buildSpendSeries({
      days: days("2026-11-23", 1), limit: 10, limitReset: "monthly", periodSpend: 12,
      forecast: { burn_per_day: 1, projected_period_spend: 20, hits_limit_at: "2026-11-20T00:00:00Z", period_end: null, projected_until: "2026-12-23T00:00:00Z" },
    });
    expect(s.forecastEnd).toBeNull();
    expect(s.x).toHaveLength(30);
  });
});
