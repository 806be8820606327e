import { describe, expect, it } from "vitest";
import { clockTime, interval, thresholdLabel } from "./watch-format";
import { isSnoozed, sortAlerts } from "./watch.svelte";
import { makeAlert } from "../test/fakeWatch";

describe("watch words", () => {
  it("names a folded threshold the way a person reads it", () => {
    expect(thresholdLabel({ kind: "limit", threshold: "80" })).toBe("80 %");
    expect(thresholdLabel({ kind: "expiry", threshold: "7d" })).toBe("the 7-day mark");
    expect(thresholdLabel({ kind: "forecast", threshold: "forecast" })).toBe("forecast");
  });

  it("says check intervals the short way", () => {
    expect(interval(45)).toBe("45 s");
    expect(interval(300)).toBe("5 min");
    expect(interval(90)).toBe("1 min 30 s");
    expect(interval(3600)).toBe("1 h");
    expect(interval(5400)).toBe("1 h 30 min");
  });

  it("a time today is just the time; another day names the day", () => {
    const now = new Date(2026, 10, 23, 12, 0).getTime();
    const today = new Date(2026, 10, 23, 14, 5);
    const tomorrow = new Date(2026, 10, 24, 9, 0);
    const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(today);
    expect(clockTime(today.toISOString(), now)).toBe(time);
    expect(clockTime(tomorrow.toISOString(), now)).toMatch(/24/);
    expect(clockTime("not a time", now)).toBe("");
  });

  it("sorts most severe first, then soonest due, then newest", () => {
    const a = makeAlert({ key_hash: "a", key_name: "a", severity: "warning", due_at: "2026-12-01T00:00:00Z" });
    const b = makeAlert({ key_hash: "b", key_name: "b", severity: "critical" });
    const c = makeAlert({ key_hash: "c", key_name: "c", severity: "warning", due_at: "2026-11-25T00:00:00Z" });
    const d = makeAlert({ key_hash: "d", key_name: "d", severity: "info" });
    expect(sortAlerts([a, b, c, d]).map((x) => x.key_name)).toEqual(["b", "c", "a", "d"]);
  });

  it("a snooze counts only until it ends", () => {
    const now = Date.parse("2026-11-23T12:00:00Z");
    const alert = makeAlert({ key_hash: "a", key_name: "a", snoozed_until: "2026-11-23T13:00:00Z" });
    expect(isSnoozed(alert, now)).toBe(true);
    expect(isSnoozed(alert, now + 2 * 3600e3)).toBe(false);
    expect(isSnoozed({ ...alert, snoozed_until: null }, now)).toBe(false);
  });
});
