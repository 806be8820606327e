import { describe, expect, it } from "vitest";
import { countdown, localInputToUtc, relative, usd, usdCompact, utcToLocalInput } from "./format";

describe("formatting", () => {
  it("shows money as USD, keeping sub-cent spend visible", () => {
    expect(usd(1234.5)).toBe("$1,234.50");
    expect(usd(0)).toBe("$0.00");
    expect(usd(0.0042)).toBe("$0.0042");
    expect(usd(null)).toBe("—");
  });

  it("compacts five figures and more for narrow columns, and leaves smaller amounts exact", () => {
    expect(usdCompact(9999.99)).toBe("$9,999.99");
    expect(usdCompact(12_345.67)).toBe("$12.35K");
    expect(usdCompact(987_654.32)).toBe("$987.65K");
    expect(usdCompact(1_234_567.89)).toBe("$1.23M");
    expect(usdCompact(0.0042)).toBe("$0.0042");
    expect(usdCompact(null)).toBe("—");
  });

  it("turns the local date-time input into UTC RFC 3339 with seconds", () => {
    const local = "2031-03-04T05:06";
    const utc = localInputToUtc(local);
    expect(utc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Date(utc!).getTime()).toBe(new Date(2031, 2, 4, 5, 6, 0).getTime());
    expect(utcToLocalInput(Date.parse(utc!))).toBe(local);
    expect(localInputToUtc("2031-03-04T05:06:07")).toBe(new Date(2031, 2, 4, 5, 6, 7).toISOString().replace(".000", ""));
    expect(localInputToUtc("garbage")).toBeNull();
  });

  it("says times relative to now", () => {
    const now = Date.parse("2030-01-10T12:00:00Z");
    expect(relative("2030-01-10T11:58:00Z", now)).toBe("2 min. ago");
    expect(relative("2030-01-13T12:00:00Z", now)).toBe("in 3 days");
    expect(relative("2030-01-10T12:00:10Z", now)).toBe("in under a minute");
    expect(relative(null, now)).toBe("");
  });

  it("counts down in seconds, then minutes", () => {
    expect(countdown(42)).toBe("42 s");
    expect(countdown(125)).toBe("2 min 05 s");
  });
});
