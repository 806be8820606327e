// The rotation half of the in-memory shell: policies, rotations that step through the contract's
// state machine (create → store secret → deploy → verify → drain → disable old → delete old), batch
// starts, and `rotation-changed` events. Steps advance when a test calls `advance`, or on a timer
// (`autoMs`) in the browser test; failures are scripted with `failDeploy` / `failVerify`.
//
// The rules it answers with (default policy, validation by field, the new key's name, the name glob)
// stand in for the core's; fakeRotation.test.ts holds them to the answers the core recorded in
// fixtures/rotation-rules.json (written by `cargo test -p keyward-core --test ui_fixtures`).
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type {
  DeployOutcome, DeployTarget, RotationAction, RotationPolicy, RotationStepName, RotationStepView, RotationView,
} from "../lib/rotation-types";
import { STEP_ORDER } from "../lib/rotation";

type Host = {
  keys: Record<string, KeyRow[]>;
  keychain: Map<string, string>;
};

const iso = (ms: number = Date.now()) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
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

export function makeSteps(): RotationStepView[] {
  return STEP_ORDER.map((step) => ({ step, status: "pending", detail: null, started_at: null, finished_at: null, deploy: [], attempts: 0 }));
}

/** A rotation view for tests that set a state directly; every field can be overridden. */
export function makeRotation(overrides: Partial<RotationView> = {}): RotationView {
  const now = iso();
  return settle({
    id: "rot-1", profile_id: "p1", old_key_hash: "old-hash", old_key_name: "prod-api", new_key_hash: null,
    new_key_name: "prod-api · rotated 2026-11-23", new_key_label: null, status: "running", current_step: null,
    steps: makeSteps(), waiting_for: null, detail: null, error: null, actions: ["abandon"], drain: null,
    grace_until: null, secret_deployed: false, started_at: now, updated_at: now, finished_at: null, ...overrides,
  }, overrides);
}

/** Fills the fields the core derives from the steps (current step, whether the secret went out). */
function settle(view: RotationView, given: Partial<RotationView> = {}): RotationView {
  const finished = ["completed", "rolled_back", "abandoned"].includes(view.status);
  if (!("current_step" in given)) view.current_step = finished ? null : view.steps.find((s) => s.status !== "done" && s.status !== "skipped")?.step ?? null;
  if (!("secret_deployed" in given)) {
    const deploy = view.steps.find((s) => s.step === "deploy");
    view.secret_deployed = !!deploy && (deploy.status === "done" || deploy.deploy.some((o) => o.ok));
  }
  return view;
}

/** Sets the statuses of the steps in order: e.g. ["done", "done", "running"]; the rest stay pending. */
export function withSteps(statuses: RotationStepView["status"][], patch: Partial<Record<RotationStepName, Partial<RotationStepView>>> = {}): RotationStepView[] {
  return makeSteps().map((s, i) => ({
    ...s,
    status: statuses[i] ?? "pending",
    started_at: statuses[i] && statuses[i] !== "pending" ? iso(Date.now() - 60_000) : null,
    finished_at: statuses[i] === "done" || statuses[i] === "failed" ? iso(Date.now() - 30_000) : null,
    ...(patch[s.step] ?? {}),
  }));
}

type Internal = { view: RotationView; deleteAtOnce: boolean; targets: DeployTarget[]; secret: string | null };

export class FakeRotation {
  policies = new Map<string, RotationPolicy>();
  rotations = new Map<string, Internal>();
  /** Deploy targets for which deploy fails (decided per target) until cleared. */
  failDeploy: ((t: DeployTarget) => string | null) | null = null;
  failVerify: AppError | null = null;
  /** When set, running rotations advance one step every `autoMs` ms (the browser test). */
  autoMs: number | null = null;
  /** Emits rotation-changed for every change (off in tests that only look at command answers). */
  emitEvents = true;
  private counter = 0;

  constructor(private host: Host) {}

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
    if (typeof p.new_expiry === "object" && (!Number.isInteger(p.new_expiry.days) || p.new_expiry.days < 1)) bad("new_expiry", "must be at least 1 day");
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
        else if (!ENV_NAME.test(t.env_var)) bad(f("env_var"), badVariable(t.env_var));
      }
    }
    return out;
  }

  private findKey(profileId: string, hash: string): KeyRow {
    const k = (this.host.keys[profileId] ?? []).find((x) => x.hash === hash);
    if (!k) throw err("not_found", "Key not found");
    return k;
  }

  private updateKey(profileId: string, hash: string, patch: Partial<KeyRow>): void {
    this.host.keys[profileId] = (this.host.keys[profileId] ?? []).map((k) => (k.hash === hash ? { ...k, ...patch } : k));
    this.keysChanged(profileId);
  }

  /** The shell announces every change to the cached key list (a key created, disabled, deleted). */
  private keysChanged(profileId: string): void {
    if (this.emitEvents) emit("keys-changed", { profile_id: profileId }).catch(() => {});
  }

  start(profileId: string, keyHash: string, deleteAtOnce: boolean): RotationView {
    const key = this.findKey(profileId, keyHash);
    for (const r of this.rotations.values()) {
      if (r.view.old_key_hash === keyHash && !["completed", "rolled_back", "abandoned"].includes(r.view.status)) {
        throw err("conflict", `${key.name} is already being rotated`);
      }
    }
    const id = `rot-${++this.counter}`;
    const view = makeRotation({
      id, profile_id: profileId, old_key_hash: keyHash, old_key_name: key.name, new_key_name: rotatedName(key.name),
      steps: makeSteps(), actions: ["abandon"], status: "running",
    });
    view.steps[0] = { ...view.steps[0], status: "running", started_at: iso(), attempts: 1 };
    this.rotations.set(id, { view, deleteAtOnce, targets: this.policy(profileId, keyHash).targets, secret: null });
    this.changed(id);
    return structuredClone(view);
  }

  startBatch(profileId: string, pattern: string): RotationView[] {
    if (pattern.trim() === "") throw err("invalid_input", "must not be empty", "name_pattern");
    const glob = pattern.trim();
    // Keys already in a rotation (as the old key or the new one) are left out.
    const busy = new Set([...this.rotations.values()].filter((r) => !["completed", "rolled_back", "abandoned"].includes(r.view.status))
      .flatMap((r) => [r.view.old_key_hash, r.view.new_key_hash ?? ""]));
    const keys = (this.host.keys[profileId] ?? []).filter((k) => nameMatches(glob, k.name) && !k.disabled && !busy.has(k.hash));
    if (keys.length === 0) throw err("invalid_input", `no key matches ${pattern}`, "name_pattern");
    return keys.map((k) => this.start(profileId, k.hash, false));
  }

  list(profileId: string, activeOnly: boolean): RotationView[] {
    return [...this.rotations.values()]
      .map((r) => r.view)
      .filter((v) => v.profile_id === profileId && (!activeOnly || !["completed", "rolled_back", "abandoned"].includes(v.status)))
      .map((v) => structuredClone(v));
  }

  history(profileId: string, hash: string): RotationView[] {
    return [...this.rotations.values()]
      .map((r) => r.view)
      .filter((v) => v.profile_id === profileId && (v.old_key_hash === hash || v.new_key_hash === hash))
      .sort((a, b) => b.started_at.localeCompare(a.started_at))
      .map((v) => structuredClone(v));
  }

  /** Puts a ready-made view in place (tests of one state) and announces it. */
  put(view: RotationView, targets: DeployTarget[] = []): void {
    this.rotations.set(view.id, { view: structuredClone(view), deleteAtOnce: false, targets, secret: null });
    this.changed(view.id);
  }

  private get(id: string): Internal {
    const r = this.rotations.get(id);
    if (!r) throw err("not_found", `no rotation ${id}`);
    return r;
  }

  private changed(id: string): void {
    const r = this.get(id);
    // Strictly increasing, so the UI's "never step back" rule sees every change as new.
    settle(r.view);
    const last = Date.parse(r.view.updated_at);
    r.view.updated_at = new Date(Math.max(Date.now(), last + 1)).toISOString();
    // Before the IPC mock is installed (a test's set-up) nothing listens yet: the emit just fails.
    if (this.emitEvents) emit("rotation-changed", structuredClone(r.view)).catch(() => {});
    if (this.autoMs !== null && r.view.status === "running") {
      setTimeout(() => {
        if (this.rotations.get(id)?.view.status === "running") this.advance(id);
      }, this.autoMs);
    }
  }

  private step(r: Internal, name: RotationStepName): RotationStepView {
    const s = r.view.steps.find((x) => x.step === name);
    if (!s) throw err("internal", `no step ${name}`);
    return s;
  }

  private finish(s: RotationStepView, status: RotationStepView["status"], detail: string | null = s.detail): void {
    s.status = status;
    s.detail = detail;
    s.finished_at = iso();
  }

  private begin(r: Internal, name: RotationStepName): void {
    const s = this.step(r, name);
    s.status = "running";
    s.started_at = iso();
    s.attempts += 1;
    r.view.status = "running";
    r.view.waiting_for = null;
    r.view.actions = this.actionsWhileRunning(r);
  }

  private actionsWhileRunning(r: Internal): RotationAction[] {
    return this.deployed(r) ? ["abandon"] : ["roll_back", "abandon"];
  }

  private deployed(r: Internal): boolean {
    const d = this.step(r, "deploy");
    return d.status === "done" || d.deploy.some((o) => o.ok);
  }

  /** Runs the step that is running now to its end, and starts the next one. */
  advance(id: string): RotationView {
    const r = this.get(id);
    const v = r.view;
    const current = v.steps.find((s) => s.status === "running");
    if (!current) return structuredClone(v);
    switch (current.step) {
      case "create": {
        const old = this.findKey(v.profile_id, v.old_key_hash);
        const hash = Array.from({ length: 64 }, () => Math.floor(Math.random() * 16).toString(16)).join("");
        r.secret = `sk-or-v1-${hash.slice(0, 64)}`;
        const row: KeyRow = { ...old, hash, name: v.new_key_name, label: `sk-or-v1-${hash.slice(0, 3)}...${hash.slice(-3)}`, usage: 0, usage_daily: 0, usage_weekly: 0, usage_monthly: 0, created_at: iso(), last_used_at: null, disabled: false, status: "active" };
        this.host.keys[v.profile_id] = [row, ...(this.host.keys[v.profile_id] ?? [])];
        this.keysChanged(v.profile_id);
        v.new_key_hash = hash;
        v.new_key_label = row.label;
        this.finish(current, "done", `${v.new_key_name} (${row.label})`);
        this.begin(r, "store_secret");
        break;
      }
      case "store_secret":
        if (v.new_key_hash && r.secret) this.host.keychain.set(v.new_key_hash, r.secret);
        this.finish(current, "done", "kept in the OS keychain as pending");
        this.begin(r, "deploy");
        break;
      case "deploy": {
        const outcomes: DeployOutcome[] = r.targets.map((target) => {
          const failure = this.failDeploy?.(target) ?? null;
          if (failure) return { target, ok: false, message: failure, backup_path: null, undo: null };
          const done = current.deploy.find((o) => o.ok && JSON.stringify(o.target) === JSON.stringify(target));
          if (done) return done;
          return {
            target, ok: true,
            message: target.kind === "env_file" ? `replaced ${target.variable}` : target.kind === "clipboard" ? "copied; clears in 30 s" : target.kind === "keychain" ? "entry updated" : "exited with 0",
            backup_path: target.kind === "env_file" ? `${target.path}.keyward-backup` : null,
            undo: target.kind === "env_file" ? { kind: "restore_env_variable", path: target.path, variable: target.variable, backup_path: `${target.path}.keyward-backup` }
              : target.kind === "keychain" ? { kind: "restore_keychain_entry", service: target.service, account: target.account, backup_account: null } : null,
          };
        });
        current.deploy = outcomes;
        const failed = outcomes.filter((o) => !o.ok);
        if (r.targets.length === 0) {
          // As the core does: nowhere to put the secret, so the person does it and says Resume.
          current.status = "waiting";
          v.status = "waiting";
          v.waiting_for = "you to put the new secret where the old key is used (no deploy targets are configured; copy it from the held secrets), then Resume";
          v.actions = ["resume", "roll_back", "abandon"];
        } else if (failed.length > 0) {
          this.finish(current, "failed", `${failed.length} of ${outcomes.length} targets failed`);
          v.status = "failed";
          v.error = err("internal", `Deploying to ${failed.length === 1 ? "one target" : `${failed.length} targets`} failed: ${failed[0].message}`);
          v.actions = ["retry", "roll_back", "abandon"];
        } else {
          this.finish(current, "done", `${outcomes.length} of ${outcomes.length} targets updated`);
          this.begin(r, "verify");
        }
        break;
      }
      case "verify":
        if (this.failVerify) {
          this.finish(current, "failed", "GET /key with the new secret failed");
          v.status = "failed";
          v.error = this.failVerify;
          v.actions = ["retry", "roll_back", "abandon"];
        } else {
          this.finish(current, "done", "GET /key answered 200");
          this.begin(r, "drain");
        }
        break;
      case "drain": {
        const old = this.findKey(v.profile_id, v.old_key_hash);
        current.status = "waiting";
        v.status = "waiting";
        const since = iso(Date.now() - 2 * 60_000);
        const period = this.policy(v.profile_id, v.old_key_hash).quiet_period_secs;
        v.drain = { last_used_at: old.last_used_at ?? iso(Date.now() - 4 * 60_000), usage: old.usage, quiet_since: since, quiet_period_secs: period, next_check_at: iso(Date.now() + 60_000) };
        v.waiting_for = `usage of the old key to stay still for ${Math.round(period / 60)} min`;
        v.actions = r.deleteAtOnce ? ["confirm_drained", "roll_back", "abandon"] : ["confirm_drained", "roll_back", "delete_now", "abandon"];
        break;
      }
      case "disable_old":
        this.updateKey(v.profile_id, v.old_key_hash, { disabled: true, status: "disabled" });
        this.finish(current, "done", `${v.old_key_name} disabled`);
        this.begin(r, "delete_old");
        if (!r.deleteAtOnce) {
          const s = this.step(r, "delete_old");
          s.status = "waiting";
          v.status = "waiting";
          const grace = this.policy(v.profile_id, v.old_key_hash).grace_period_secs;
          v.grace_until = iso(Date.now() + grace * 1000);
          v.waiting_for = `the grace period before deleting ${v.old_key_name}`;
          v.actions = ["delete_now", "roll_back", "abandon"];
        }
        break;
      case "delete_old":
        this.deleteOld(r);
        break;
    }
    this.changed(id);
    return structuredClone(v);
  }

  private deleteOld(r: Internal): void {
    const v = r.view;
    this.host.keys[v.profile_id] = (this.host.keys[v.profile_id] ?? []).filter((k) => k.hash !== v.old_key_hash);
    this.keysChanged(v.profile_id);
    this.finish(this.step(r, "delete_old"), "done", `${v.old_key_name} deleted`);
    v.status = "completed";
    v.waiting_for = null;
    v.grace_until = null;
    v.actions = [];
    v.finished_at = iso();
  }

  act(id: string, action: RotationAction): RotationView {
    const r = this.get(id);
    const v = r.view;
    if (!v.actions.includes(action)) throw err("conflict", `${action} is not possible now (${v.status})`);
    switch (action) {
      case "retry":
      case "resume": {
        const deploy = this.step(r, "deploy");
        if (action === "resume" && deploy.status === "waiting") {
          this.finish(deploy, "done", "put in place by hand");
          this.begin(r, "verify");
          break;
        }
        const failed = v.steps.find((s) => s.status === "failed" || s.status === "running");
        v.error = null;
        if (failed) this.begin(r, failed.step);
        break;
      }
      case "confirm_drained": {
        const drain = this.step(r, "drain");
        this.finish(drain, "done", "confirmed: the old key is no longer used");
        v.drain = null;
        this.begin(r, "disable_old");
        break;
      }
      case "delete_now": {
        const drain = this.step(r, "drain");
        if (drain.status === "waiting") {
          this.finish(drain, "done", "skipped: the old key is deleted now");
          v.drain = null;
          this.updateKey(v.profile_id, v.old_key_hash, { disabled: true, status: "disabled" });
          this.finish(this.step(r, "disable_old"), "done", `${v.old_key_name} disabled`);
        }
        this.deleteOld(r);
        break;
      }
      case "roll_back": {
        if (v.new_key_hash && !this.deployed(r)) {
          const hash = v.new_key_hash;
          this.host.keys[v.profile_id] = (this.host.keys[v.profile_id] ?? []).filter((k) => k.hash !== hash);
          this.host.keychain.delete(hash);
          this.keysChanged(v.profile_id);
        }
        if (this.step(r, "disable_old").status === "done") this.updateKey(v.profile_id, v.old_key_hash, { disabled: false, status: "active" });
        v.status = "rolled_back";
        v.error = null;
        v.waiting_for = null;
        v.actions = [];
        v.finished_at = iso();
        for (const s of v.steps) if (s.status === "running" || s.status === "waiting" || s.status === "pending") s.status = "skipped";
        break;
      }
      case "abandon":
        v.status = "abandoned";
        v.waiting_for = null;
        v.actions = [];
        v.finished_at = iso();
        for (const s of v.steps) if (s.status === "running" || s.status === "waiting") s.status = "skipped";
        break;
    }
    this.changed(id);
    return structuredClone(v);
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
        return { policy: this.policy(String(a.profile_id), String(a.key_hash)), new_key_name: rotatedName(key.name) };
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
