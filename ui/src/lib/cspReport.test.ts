import { describe, expect, it } from "vitest";
import { recordCspViolations } from "./cspReport";

describe("recordCspViolations", () => {
  it("keeps each violation's directive and blocked URI on the window", () => {
    const seen = recordCspViolations(window);
    const event = new Event("securitypolicyviolation") as Event & Record<string, string>;
    Object.assign(event, { effectiveDirective: "style-src-attr", violatedDirective: "style-src", blockedURI: "inline" });
    document.dispatchEvent(event);
    expect(window.__kwCspViolations).toBe(seen);
    expect(seen).toEqual([{ directive: "style-src-attr", blocked: "inline" }]);
  });
});
