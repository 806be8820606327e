import { describe, expect, it } from "vitest";
import { makeKey, seedKeys } from "../test/fakeBackend";
import { NO_FILTERS, filterKeys, isExpiringSoon, isNearLimit, limitUsed, sortKeys } from "./keys";

const DAY = 24 * 3600e3;

describe("key list logic", () => {
  it("measures spend against the limit from limit_remaining", () => {
    expect(limitUsed(makeKey({ name: "a", limit: 100, limit_remaining: 20 }))).toBeCloseTo(0.8);
    expect(limitUsed(makeKey({ name: "b", limit: null }))).toBeNull();
    expect(isNearLimit(makeKey({ name: "c", limit: 100, limit_remaining: 20 }))).toBe(true);
    expect(isNearLimit(makeKey({ name: "d", limit: 100, limit_remaining: 20.01 }))).toBe(false);
  });

  it("knows what expires within 7 days (not what already expired)", () => {
    const now = Date.now();
    expect(isExpiringSoon(makeKey({ name: "a", expires_at: new Date(now + 6 * DAY).toISOString() }), now)).toBe(true);
    expect(isExpiringSoon(makeKey({ name: "b", expires_at: new Date(now + 8 * DAY).toISOString() }), now)).toBe(false);
    expect(isExpiringSoon(makeKey({ name: "c", expires_at: new Date(now - DAY).toISOString() }), now)).toBe(false);
    expect(isExpiringSoon(makeKey({ name: "d", expires_at: null }), now)).toBe(false);
  });

  it("filters and sorts 10,000 keys correctly", () => {
    const keys = seedKeys(10_000);
    const now = Date.now();
    const near = filterKeys(keys, { ...NO_FILTERS, nearLimit: true }, now);
    const sorted = sortKeys(keys, { column: "usage", direction: "desc" });
    const byExpiry = sortKeys(keys, { column: "expires_at", direction: "asc" });
    const searched = filterKeys(keys, { ...NO_FILTERS, query: "GLOBEX-ci" }, now);

    expect(near.length).toBe(keys.filter((k) => k.limit !== null && (k.limit - (k.limit_remaining ?? 0)) / k.limit >= 0.8).length);
    expect(near.length).toBeGreaterThan(100);
    expect(sorted[0].usage).toBe(Math.max(...keys.map((k) => k.usage)));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i - 1].usage).toBeGreaterThanOrEqual(sorted[i].usage);
    // Keys that never expire go last, whatever the direction.
    const firstNever = byExpiry.findIndex((k) => k.expires_at === null);
    expect(byExpiry.slice(firstNever).every((k) => k.expires_at === null)).toBe(true);
    expect(searched.length).toBeGreaterThan(0);
    expect(searched.every((k) => k.name.includes("globex-ci"))).toBe(true);
  });

  it("combines status, has-limit and expiring filters", () => {
    const now = Date.now();
    const keys = [
      makeKey({ name: "on", limit: 10, limit_remaining: 5 }),
      makeKey({ name: "off", disabled: true, status: "disabled" }),
      makeKey({ name: "soon", expires_at: new Date(now + DAY).toISOString() }),
    ];
    expect(filterKeys(keys, { ...NO_FILTERS, status: "disabled" }, now).map((k) => k.name)).toEqual(["off"]);
    expect(filterKeys(keys, { ...NO_FILTERS, hasLimit: true }, now).map((k) => k.name)).toEqual(["on"]);
    expect(filterKeys(keys, { ...NO_FILTERS, expiringSoon: true }, now).map((k) => k.name)).toEqual(["soon"]);
  });
});
