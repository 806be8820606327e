// The rotation half of the in-memory shell: policies, rotations, batch starts and `rotation-changed`
// events. A rotation does not step here: it REPLAYS what the core's own service announced for one of the
// scenarios in fixtures/rotation-replays.json (recorded by `cargo test -p keyward-core --test
// ui_fixtures`, which fails when the file is stale): every view, with the step statuses, the actions
// offered, the errors and the words, is the core's. The fake only recasts a recording onto the key
// being rotated (its id, hash and name, today's date and time) and keeps its key list in step with
// what the views say happened (a new key, the old one disabled or deleted).
//
// A started rotation replays `scenario` (or, by default, the recording that fits its policy). The
// frames the core produced by itself (`start`, `tick`, the run after an action) are played by
// `advance` / `advanceUntil` / `runToStop`, or on a timer (`autoMs`, not ticks) in the browser test; a
// frame caused by an action plays only when that action is asked for, and only if the view offers it.
//
// The policy rules it answers with (default policy, validation by field, the new key's name, the name
// glob) stand in for the core's; fakeRotation.test.ts holds them to the answers the core recorded in
// fixtures/rotation-rules.json.
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { Attachment, NewExpiry, RotationAction, RotationPlan, RotationPolicy, RotationView } from "../lib/rotation-types";
import replays from "./fixtures/rotation-replays.json";

type Host = {
  keys: Record<string, KeyRow[]>;
  keychain: Map<string, string>;
};

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const err = (kind: AppError["kind"], message: string, field: string | null = null): AppError =>
  ({ kind, message, field, retry_after_ms: null });
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const badVariable = (name: string) =>
  `"${name}" is not a valid variable name: use a letter or '_' followed by letters, digits or '_' (at most 256), e.g. OPENROUTER_API_KEY`;

/** The core's default policy (RotationPolicy::default_for). */
export function defaultPolicy(profileId: string, keyHash: string): RotationPolicy {
  return {
    profile_id: profileId, key_hash: keyHash, every_days: null, before_expiry_days: null, auto_rotate: false,
    targets: [], quiet_period_secs: 900, grace_period_secs: 86400, new_expiry: "keep_lifetime", keep_new_secret: false,
  };
}

/** The core's new_key_name: "prod-api · rotated 2026-11-23" (an earlier rotation's suffix replaced). */
export function rotatedName(oldName: string, now: number = Date.now()): string {
  const base = oldName.split(" · rotated ")[0].trim() || "key";
  return `${base} · rotated ${new Date(now).toISOString().slice(0, 10)}`;
}

/** The core's name_matches: `*` any run, `?` one character, everything else literal, whole name. */
export function nameMatches(pattern: string, name: string): boolean {
  const body = Array.from(pattern)
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "su").test(name);
}


/** A recorded rotation: each view the core announced, with what caused it (`start`, `tick`, an action). */
type Frame = { by: string; view: RotationView };
export type ScenarioName = keyof typeof replays.scenarios;
const SCENARIOS = replays.scenarios as unknown as Record<ScenarioName, { about: string; frames: Frame[] }>;

/** The clock the core recorded at (core/tests/ui_fixtures/replays.rs), and its stand-ins. */
const RECORDED_AT = Date.parse("2026-11-23T12:00:00Z");
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

type Cast = { id: string; profileId: string; oldHash: string; oldName: string; newHash: string; startedAt: number };

/** The recording, told of this rotation: its ids and names, and its times moved to `startedAt`. */
function recast<T>(value: T, c: Cast): T {
  if (typeof value === "string") {
    if (value === "rot-1") return c.id as T;
    if (value === "p1") return c.profileId as T;
    if (ISO.test(value)) return iso(Date.parse(value) - RECORDED_AT + c.startedAt) as T;
    return value
      .replaceAll("old-hash", c.oldHash)
      .replaceAll("new-hash", c.newHash)
      .replaceAll("prod-api · rotated 2026-11-23", rotatedName(c.oldName, c.startedAt))
      .replaceAll("prod-api", c.oldName) as T;
  }
  if (Array.isArray(value)) return value.map((v) => recast(v, c)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, recast(v, c)])) as T;
  }
  return value;
}

const randomHash = () => Array.from({ length: 64 }, () => Math.floor(Math.random() * 16).toString(16)).join("");

type Replay = { scenario: ScenarioName; frames: Frame[]; at: number };

export class FakeRotation {
  policies = new Map<string, RotationPolicy>();
  rotations = new Map<string, Replay>();
  /** What the next started rotation replays: a scenario, or one chosen per key (null: the default). */
  scenario: ScenarioName | ((key: KeyRow) => ScenarioName | null) | null = null;
  /** When set, running rotations play their next frame every `autoMs` ms (the browser test). */
  autoMs: number | null = null;
  /** Emits rotation-changed for every change (off in tests that only look at command answers). */
  emitEvents = true;
  /** What the person answers in the shell's native dialog when a policy brings a command target
   *  not approved yet (the shell asks; the web view can't answer). */
  commandApproval: "approve" | "refuse" = "approve";
  /** Command targets approved so far (the core keeps a digest of program, args, variable, dir). */
  approvedCommands = new Set<string>();
  /** Every command target the dialog was shown for. */
  approvalsAsked: Extract<RotationPolicy["targets"][number], { kind: "command" }>[] = [];
  private counter = 0;

  constructor(private host: Host) {}

  /** What names each key (by hash), for `rotation_plan`: the core reads it from the account. */
  private attachments = new Map<string, Attachment[]>();

  setAttachments(hash: string, attachments: Attachment[]) {
    this.attachments.set(hash, structuredClone(attachments));
  }

  private policyKey(profileId: string, hash: string) {
    return `${profileId}|${hash}`;
  }

  policy(profileId: string, hash: string): RotationPolicy {
    return structuredClone(this.policies.get(this.policyKey(profileId, hash)) ?? defaultPolicy(profileId, hash));
  }

  setPolicy(p: RotationPolicy): void {
    this.policies.set(this.policyKey(p.profile_id, p.key_hash), structuredClone(p));
  }

  /** Every problem of a policy, by field, in the core's order (RotationPolicy::problems). */
  problems(p: RotationPolicy): AppError[] {
    const out: AppError[] = [];
    const bad = (field: string, message: string) => out.push(err("invalid_input", message, field));
    if (p.every_days !== null && (!Number.isInteger(p.every_days) || p.every_days < 1)) bad("every_days", "must be at least 1 day");
    if (p.before_expiry_days !== null && (!Number.isInteger(p.before_expiry_days) || p.before_expiry_days < 1)) bad("before_expiry_days", "must be at least 1 day");
    if (typeof p.new_expiry === "object" && "days" in p.new_expiry && (!Number.isInteger(p.new_expiry.days) || p.new_expiry.days < 1)) bad("new_expiry", "must be at least 1 day");
    for (const field of ["quiet_period_secs", "grace_period_secs"] as const) {
      if (p[field] > 30 * 86400) bad(field, "must be at most 2592000 s (30 days)");
    }
    if (p.auto_rotate && p.targets.length === 0) bad("auto_rotate", "needs at least one deploy target: a rotation nobody watches must put the new secret somewhere by itself");
    else if (p.auto_rotate && p.every_days === null && p.before_expiry_days === null) bad("auto_rotate", "needs a schedule: set every_days or before_expiry_days");
    for (const [i, t] of p.targets.entries()) {
      const f = (name: string) => `targets[${i}].${name}`;
      if (t.kind === "env_file") {
        if (t.path.trim() === "") bad(f("path"), "must name the .env file, e.g. /home/me/app/.env");
        else if (!t.path.startsWith("/")) bad(f("path"), `"${t.path}" is relative; give the full path (Keyward's working directory is not your project's)`);
        else if (!ENV_NAME.test(t.variable)) bad(f("variable"), badVariable(t.variable));
      } else if (t.kind === "keychain") {
        if (t.service.trim() === "") bad(f("service"), "must not be empty");
        else if (t.account.trim() === "") bad(f("account"), "must not be empty");
      } else if (t.kind === "command") {
        if (t.program.trim() === "") bad(f("program"), "must name the program to run, e.g. /usr/local/bin/update-key");
        else if (!t.program.startsWith("/")) bad(f("program"), `must be an absolute path, e.g. /usr/local/bin/update-key ("${t.program}" is not): Keyward does not look programs up on PATH`);
        else if (!ENV_NAME.test(t.env_var)) bad(f("env_var"), badVariable(t.env_var));
      }
    }
    return out;
  }

  /** The shell's native dialog for each command target not approved yet (RotationPolicy save). */
  private approveCommands(p: RotationPolicy): void {
    for (const [i, t] of p.targets.entries()) {
      if (t.kind !== "command") continue;
      const digest = JSON.stringify([t.program, t.args, t.env_var, t.working_dir]);
      if (this.approvedCommands.has(digest)) continue;
      this.approvalsAsked.push(structuredClone(t));
      if (this.commandApproval === "refuse") {
        throw err("invalid_input", `was not approved: running "${t.program}" was refused in the approval prompt (or no one could be asked), so Keyward will not run it`, `targets[${i}].program`);
      }
      this.approvedCommands.add(digest);
    }
  }

  private findKey(profileId: string, hash: string): KeyRow {
    const k = (this.host.keys[profileId] ?? []).find((x) => x.hash === hash);
    if (!k) throw err("not_found", "Key not found");
    return k;
  }

  /** The shell announces every change to the cached key list (a key created, disabled, deleted). */
  private keysChanged(profileId: string): void {
    if (this.emitEvents) emit("keys-changed", { profile_id: profileId }).catch(() => {});
  }

  /** The view a rotation shows now. */
  view(id: string): RotationView {
    const r = this.get(id);
    return structuredClone(r.frames[r.at].view);
  }

  private choose(profileId: string, key: KeyRow, deleteAtOnce: boolean): ScenarioName {
    const chosen = typeof this.scenario === "function" ? this.scenario(key) : this.scenario;
    if (chosen) return chosen;
    if (this.policy(profileId, key.hash).targets.length === 0) return "no_targets_rolled_back";
    return deleteAtOnce ? "confirm_drained" : "happy";
  }

  private cast(scenario: ScenarioName, c: Omit<Cast, "id" | "startedAt">): { id: string; replay: Replay } {
    const id = `rot-${++this.counter}`;
    const frames = recast(SCENARIOS[scenario].frames, { ...c, id, startedAt: Date.now() });
    return { id, replay: { scenario, frames, at: 0 } };
  }

  start(profileId: string, keyHash: string, deleteAtOnce: boolean): RotationView {
    const key = this.findKey(profileId, keyHash);
    for (const id of this.rotations.keys()) {
      const v = this.view(id);
      if (v.old_key_hash === keyHash && !v.finished) throw err("conflict", `${key.name} is already being rotated`);
    }
    const scenario = this.choose(profileId, key, deleteAtOnce);
    const { id, replay } = this.cast(scenario, { profileId, oldHash: keyHash, oldName: key.name, newHash: randomHash() });
    this.rotations.set(id, replay);
    this.announce(id);
    return this.view(id);
  }

  /**
   * A rotation of `scenario` already at its first view that `where` picks (no key changes played: for
   * tests of one state, and past rotations). The old key need not exist.
   */
  replayTo(scenario: ScenarioName, where: (v: RotationView) => boolean, c: { profileId?: string; oldHash?: string; oldName?: string; newHash?: string } = {}): RotationView {
    const { id, replay } = this.cast(scenario, {
      profileId: c.profileId ?? "p1", oldHash: c.oldHash ?? "old-hash", oldName: c.oldName ?? "prod-api", newHash: c.newHash ?? randomHash(),
    });
    replay.at = replay.frames.findIndex((f) => where(f.view));
    if (replay.at < 0) throw new Error(`no view of ${scenario} fits`);
    this.rotations.set(id, replay);
    this.announce(id);
    return this.view(id);
  }

  startBatch(profileId: string, pattern: string): RotationView[] {
    if (pattern.trim() === "") throw err("invalid_input", "must not be empty", "name_pattern");
    const glob = pattern.trim();
    // Keys already in a rotation (as the old key or the new one) are left out.
    const busy = new Set([...this.rotations.keys()].map((id) => this.view(id)).filter((v) => !v.finished)
      .flatMap((v) => [v.old_key_hash, v.new_key_hash ?? ""]));
    const keys = (this.host.keys[profileId] ?? []).filter((k) => nameMatches(glob, k.name) && !k.disabled && !busy.has(k.hash));
    if (keys.length === 0) throw err("invalid_input", `no key matches ${pattern}`, "name_pattern");
    return keys.map((k) => this.start(profileId, k.hash, false));
  }

  list(profileId: string, activeOnly: boolean): RotationView[] {
    return [...this.rotations.keys()]
      .map((id) => this.view(id))
      .filter((v) => v.profile_id === profileId && (!activeOnly || !v.finished));
  }

  history(profileId: string, hash: string): RotationView[] {
    return [...this.rotations.keys()]
      .map((id) => this.view(id))
      .filter((v) => v.profile_id === profileId && (v.old_key_hash === hash || v.new_key_hash === hash))
      .sort((a, b) => b.started_at.localeCompare(a.started_at));
  }

  private get(id: string): Replay {
    const r = this.rotations.get(id);
    if (!r) throw err("not_found", `no rotation ${id}`);
    return r;
  }

  /** Whether the next frame came from the core by itself (not from an action still to be asked for). */
  private automatic(r: Replay): boolean {
    const next = r.frames[r.at + 1];
    return !!next && (next.by === "start" || next.by === "tick" || next.by === r.frames[r.at].by);
  }

  private announce(id: string): void {
    const r = this.get(id);
    // Before the IPC mock is installed (a test's set-up) nothing listens yet: the emit just fails.
    if (this.emitEvents) emit("rotation-changed", this.view(id)).catch(() => {});
    // On a timer, the rest of what the last cause made the core do (not the ticks: time passing).
    if (this.autoMs !== null && r.frames[r.at + 1]?.by === r.frames[r.at].by) {
      const at = r.at;
      setTimeout(() => {
        if (this.rotations.get(id)?.at === at) this.play(id);
      }, this.autoMs);
    }
  }

  private play(id: string): RotationView {
    const r = this.get(id);
    const before = r.frames[r.at].view;
    r.at += 1;
    this.follow(before, r.frames[r.at].view);
    this.announce(id);
    return this.view(id);
  }

  /** The key list follows what the views say happened: the new key, the old one disabled or deleted. */
  private follow(before: RotationView, after: RotationView): void {
    const p = after.profile_id;
    const keys = () => this.host.keys[p] ?? [];
    const stepDone = (v: RotationView, step: string) => v.steps.some((s) => s.step === step && s.status === "done");
    let changed = false;
    if (!before.new_key_hash && after.new_key_hash) {
      const old = this.findKey(p, after.old_key_hash);
      const row: KeyRow = {
        ...old, hash: after.new_key_hash, name: after.new_key_name, label: after.new_key_label ?? "", usage: 0, usage_daily: 0,
        usage_weekly: 0, usage_monthly: 0, created_at: after.updated_at, last_used_at: null, disabled: false, status: "active",
      };
      this.host.keys[p] = [row, ...keys()];
      this.host.keychain.set(after.new_key_hash, `sk-or-v1-${after.new_key_hash}`);
      changed = true;
    }
    if (!stepDone(before, "disable_old") && stepDone(after, "disable_old")) {
      this.host.keys[p] = keys().map((k) => (k.hash === after.old_key_hash ? { ...k, disabled: true, status: "disabled" } : k));
      changed = true;
    }
    if (before.status !== "completed" && after.status === "completed") {
      this.host.keys[p] = keys().filter((k) => k.hash !== after.old_key_hash);
      changed = true;
    }
    if (before.status !== "rolled_back" && after.status === "rolled_back" && !after.secret_deployed && after.new_key_hash) {
      const hash = after.new_key_hash;
      this.host.keys[p] = keys().filter((k) => k.hash !== hash);
      this.host.keychain.delete(hash);
      changed = true;
    }
    if (changed) this.keysChanged(p);
  }

  /** Plays the next frame the core produced by itself (a step's start or end, a tick); none left: as is. */
  advance(id: string): RotationView {
    return this.automatic(this.get(id)) ? this.play(id) : this.view(id);
  }

  /** Plays the core's own frames until `where` holds; throws when the recording does not get there by itself. */
  advanceUntil(id: string, where: (v: RotationView) => boolean): RotationView {
    while (!where(this.view(id))) {
      const r = this.get(id);
      if (!this.automatic(r)) throw new Error(`the recording "${r.scenario}" stops at ${r.frames[r.at].view.status} before that`);
      this.play(id);
    }
    return this.view(id);
  }

  /** Plays the rest of what the last cause (the start, a tick, an action) made the core do, to where it stopped. */
  runToStop(id: string): RotationView {
    const r = this.get(id);
    while (r.frames[r.at + 1]?.by === r.frames[r.at].by) this.play(id);
    return this.view(id);
  }

  /** The person's action: refused unless the view offers it; plays the frame the core recorded for it. */
  act(id: string, action: RotationAction): RotationView {
    const r = this.get(id);
    const view = r.frames[r.at].view;
    if (!view.actions.includes(action)) throw err("invalid_input", `${action} is not possible now: the rotation is ${view.status}`);
    const next = r.frames[r.at + 1];
    if (next?.by !== action) {
      throw err("internal", `the recording "${r.scenario}" has no ${action} here (next: ${next?.by ?? "nothing"}); replay one that does`);
    }
    return this.play(id);
  }

  run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "rotation_policy_get":
        this.findKey(String(a.profile_id), String(a.key_hash));
        return this.policy(String(a.profile_id), String(a.key_hash));
      case "rotation_policy_validate":
        return this.problems(a as unknown as RotationPolicy);
      case "rotation_plan": {
        const key = this.findKey(String(a.profile_id), String(a.key_hash));
        // The core's expiry rules (rotation/expiry.rs): at least a day, at most 3,650, not in the past.
        const asked = a.new_expiry as NewExpiry | undefined;
        const invalid = (message: string) => ({ kind: "invalid_input", message: `Invalid new_expiry: ${message}`, field: "new_expiry", retry_after_ms: null });
        if (asked && typeof asked === "object" && "days" in asked && (asked.days < 1 || asked.days > 3650)) {
          throw invalid(asked.days < 1 ? "must be at least 1 day" : `${asked.days} days is more than the longest life Keyward gives a key (3650 days)`);
        }
        if (asked && typeof asked === "object" && "at" in asked && Date.parse(asked.at) <= Date.now()) throw invalid(`${asked.at} is in the past`);
        const policy = this.policy(String(a.profile_id), String(a.key_hash));
        // The expiry date and the attachments are the core's to work out (rotation_attachments.rs);
        // the fake plans none unless a test sets some.
        const plan: RotationPlan = {
          policy, new_key_name: rotatedName(key.name), workspace_id: key.workspace_id ?? null, limit: key.limit,
          limit_reset: key.limit_reset, include_byok_in_limit: key.include_byok_in_limit,
          new_expiry: (a.new_expiry as NewExpiry | undefined) ?? policy.new_expiry, expires_at: null,
          old_expires_at: key.expires_at, attachments: structuredClone(this.attachments.get(key.hash) ?? []), targets: policy.targets,
        };
        return plan;
      }
      case "rotation_batch_plan": {
        const glob = String(a.name_pattern).trim();
        if (glob === "") return [];
        return (this.host.keys[String(a.profile_id)] ?? []).filter((k) => nameMatches(glob, k.name))
          .map((k) => ({ key_hash: k.hash, old_key_name: k.name, new_key_name: rotatedName(k.name) }));
      }
      case "rotation_policy_set": {
        const p = a as unknown as RotationPolicy;
        const problem = this.problems(p)[0];
        if (problem) throw problem;
        this.approveCommands(p);
        this.setPolicy(p);
        return this.policy(p.profile_id, p.key_hash);
      }
      case "rotation_start":
        return this.start(String(a.profile_id), String(a.key_hash), Boolean(a.delete_at_once));
      case "rotation_action":
        return this.act(String(a.id), a.action as RotationAction);
      case "rotations_list":
        return this.list(String(a.profile_id), Boolean(a.active_only));
      case "rotation_history":
        return this.history(String(a.profile_id), String(a.key_hash));
      case "rotation_start_batch":
        return this.startBatch(String(a.profile_id), String(a.name_pattern));
      default:
        throw err("internal", `unknown command ${cmd}`);
    }
  }
}
