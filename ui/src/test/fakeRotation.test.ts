// The fake shell's rotation rules against the core's own answers, recorded by a Rust test into
// fixtures/rotation-rules.json (`cargo test -p keyward-core --test ui_fixtures` fails when that file
// is stale): a fake that drifts from the core fails here, not in a component test that trusts it.
// Its rotations replay fixtures/rotation-replays.json (recorded by the same test): the replayer only
// recasts them and refuses what the recorded views do not offer.
import { describe, expect, it } from "vitest";
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { RotationPolicy } from "../lib/rotation-types";
import type { RotationView } from "../lib/rotation-types";
import recorded from "./fixtures/rotation-rules.json";
import replays from "./fixtures/rotation-replays.json";
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

describe("the fake shell replays the core's rotations", () => {
  const scenarios = replays.scenarios as unknown as Record<string, { frames: { by: string; view: RotationView }[] }>;
  const host = () => ({ keys: { p1: [{ hash: "h-w", name: "prod-worker" } as KeyRow] }, keychain: new Map<string, string>() });

  it("every recorded action was offered by the view before it", () => {
    let actions = 0;
    for (const [name, { frames }] of Object.entries(scenarios)) {
      expect(frames[0].by, name).toBe("start");
      frames.forEach((f, i) => {
        if (f.by === "start" || f.by === "tick" || f.by === frames[i - 1].by) return;
        actions += 1;
        expect(frames[i - 1].view.actions, `${name} #${i}`).toContain(f.by);
      });
      expect(frames.at(-1)!.view.status, name).not.toBe("running");
    }
    expect(actions).toBeGreaterThan(3);
  });

  it("recasts a recording onto the key and plays only what the core did", () => {
    const fake = new FakeRotation(host());
    fake.emitEvents = false;
    fake.scenario = "deploy_fails";
    const started = fake.start("p1", "h-w", false);
    expect(started).toMatchObject({ profile_id: "p1", old_key_hash: "h-w", old_key_name: "prod-worker", new_key_name: rotatedName("prod-worker"), status: "running" });
    expect(() => fake.start("p1", "h-w", false)).toThrow(expect.objectContaining({ kind: "conflict" }));
    // Not offered by the view: refused as the core refuses it.
    expect(() => fake.act(started.id, "confirm_drained")).toThrow(expect.objectContaining({ kind: "invalid_input" }));
    const failed = fake.runToStop(started.id);
    expect(failed.status).toBe("failed");
    expect(failed).toEqual(expect.objectContaining({ actions: scenarios.deploy_fails.frames.find((f) => f.view.status === "failed")!.view.actions }));
    // The new key the views announce joins the key list.
    expect(fake["host"].keys.p1.map((k: KeyRow) => k.hash)).toEqual([failed.new_key_hash, "h-w"]);
    // Offered, but not what the recording did next: the test must replay another scenario.
    expect(() => fake.act(started.id, "abandon")).toThrow(expect.objectContaining({ kind: "internal" }));
    expect(fake.act(started.id, "retry").status).toBe("running");
    expect(fake.runToStop(started.id).current_step).toBe("drain");
  });
});
