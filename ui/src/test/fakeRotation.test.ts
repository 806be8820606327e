// The fake shell's rotation rules against the core's own answers, recorded by a Rust test into
// fixtures/rotation-rules.json (`cargo test -p keyward-core --test ui_fixtures` fails when that file
// is stale): a fake that drifts from the core fails here, not in a component test that trusts it.
import { describe, expect, it } from "vitest";
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { RotationPolicy } from "../lib/rotation-types";
import recorded from "./fixtures/rotation-rules.json";
import { FakeRotation, defaultPolicy, nameMatches, rotatedName } from "./fakeRotation";

type Recorded = {
  today: string;
  default_policy: RotationPolicy;
  new_key_names: { old: string; new: string }[];
  matches: { pattern: string; name: string; matches: boolean }[];
  policies: { policy: RotationPolicy; problems: { field: string | null; message: string }[] }[];
};
const core = recorded as unknown as Recorded;
const today = Date.parse(`${core.today}T12:00:00Z`);

describe("the fake shell's rotation rules are the core's", () => {
  it("default policy", () => {
    expect(defaultPolicy("p1", "old-hash")).toEqual(core.default_policy);
  });

  it("the new key's name", () => {
    expect(core.new_key_names.length).toBeGreaterThan(5);
    for (const c of core.new_key_names) expect(rotatedName(c.old, today), c.old).toBe(c.new);
  });

  it("the name glob", () => {
    expect(core.matches.some((m) => m.matches) && core.matches.some((m) => !m.matches)).toBe(true);
    for (const m of core.matches) expect(nameMatches(m.pattern, m.name), `${m.pattern} ~ ${m.name}`).toBe(m.matches);
  });

  it("every problem of a policy, by field and in words", () => {
    const fake = new FakeRotation({ keys: {} as Record<string, KeyRow[]>, keychain: new Map() });
    expect(core.policies.some((p) => p.problems.length === 0) && core.policies.some((p) => p.problems.length > 1)).toBe(true);
    for (const c of core.policies) {
      const answer = fake.run("rotation_policy_validate", c.policy as unknown as Record<string, unknown>) as AppError[];
      expect(answer.map((e) => ({ field: e.field, message: e.message })), JSON.stringify(c.policy)).toEqual(c.problems);
    }
  });
});
