// An in-memory stand-in for the Rust shell, following the generated contract (src/lib/bindings/Commands.ts, Events.ts): the component
// tests hand it to mockIPC, and the browser test bundles it into the page before the app loads.
import { FakeAbout } from "./fakeAbout";
import type { KeyAccount } from "../lib/bindings/KeyAccount";
import { defaultAccount } from "./fakeAccount";
import type { AppError } from "../lib/bindings/AppError";
import type { AppState } from "../lib/bindings/AppState";
import type { CheckedKey } from "../lib/bindings/CheckedKey";
import type { Commands } from "../lib/bindings/Commands";
import type { Connectivity } from "../lib/bindings/Connectivity";
import type { CreateKeyArgs } from "../lib/bindings/CreateKeyArgs";
import type { ErrorKind } from "../lib/bindings/ErrorKind";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { KeyMetadata } from "../lib/bindings/KeyMetadata";
import type { SecretIndexEntry } from "../lib/bindings/SecretIndexEntry";
import type { Profile } from "../lib/bindings/Profile";
import { FakeGuardrails } from "./fakeGuardrails";
import { FakeAudit } from "./fakeAudit";
import { FakeOrganise } from "./fakeOrganise";
import { FakeLocate } from "./fakeLocate";
import { FakeBatch } from "./fakeBatch";
import { FakeRotation } from "./fakeRotation";
import { FakeWatch } from "./fakeWatch";
import { FakeCsv } from "./fakeCsv";
import { FakeUpdates } from "./fakeUpdates";
import type { CreatedKey } from "../lib/bindings/CreatedKey";
import { DEFAULT_WS, FakeWorkspaces, RESEARCH_WS } from "./fakeWorkspaces";

export type Call = { cmd: string; args: unknown };

export function appError(kind: ErrorKind, message: string, field: string | null = null, retry_after_ms: number | null = null): AppError {
  return { kind, message, field, retry_after_ms };
}

/** Deterministic pseudo-random numbers, so seeded lists are the same in every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function hex(random: () => number, length: number): string {
  let out = "";
  while (out.length < length) out += Math.floor(random() * 16).toString(16);
  return out;
}

const DAY = 24 * 3600e3;

export const emptyMetadata = (): KeyMetadata => ({ tags: [], environment: null, project: null, owner: null, notes: null });

/** Stands in for the core's metadata rules (metadata.rs): the errors a form shows, per field. */
function metadataErrors(m: KeyMetadata): AppError[] {
  const bad = m.tags.map((t) => t.trim()).find((t) => t === "" || !/^[\p{L}\p{N}\-_.:/]+$/u.test(t) || t.length > 40);
  return bad === undefined ? [] : [appError("invalid_input", `the tag "${bad}" is not allowed`, "tags")];
}
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function makeKey(overrides: Partial<KeyRow> & { name: string }, random: () => number = Math.random): KeyRow {
  const hash = overrides.hash ?? hex(random, 64);
  const limit = overrides.limit === undefined ? null : overrides.limit;
  const usage = overrides.usage ?? 0;
  const row: KeyRow = {
    hash,
    label: `sk-or-v1-${hash.slice(0, 3)}...${hash.slice(-3)}`,
    disabled: false,
    status: "active",
    limit,
    limit_remaining: limit === null ? null : Math.max(0, limit - usage),
    limit_reset: null,
    include_byok_in_limit: false,
    usage,
    usage_daily: 0,
    usage_weekly: 0,
    usage_monthly: 0,
    byok_usage: 0,
    byok_usage_daily: 0,
    byok_usage_weekly: 0,
    byok_usage_monthly: 0,
    created_at: iso(Date.now() - 30 * DAY),
    updated_at: null,
    expires_at: null,
    last_used_at: null,
    creator_user_id: null,
    external_user: null,
    workspace_id: null,
    ...overrides,
    metadata: overrides.metadata ?? emptyMetadata(),
    // As the core: the latest known use is at least the API's; idle days unknown unless given.
    last_used: overrides.last_used ?? overrides.last_used_at ?? null,
    idle_days: overrides.idle_days ?? null,
  };
  return row;
}

const NAMES = ["backend", "frontend", "ci", "staging", "prod", "analytics", "support-bot", "search", "mobile", "batch"];
const CUSTOMERS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka", "tyrell", "cyberdyne"];

/** `count` varied keys: some with limits (a few near them), some disabled, some expiring or expired. */
export function seedKeys(count: number, seed = 42): KeyRow[] {
  const random = rng(seed);
  const now = Date.now();
  const keys: KeyRow[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${CUSTOMERS[i % CUSTOMERS.length]}-${NAMES[Math.floor(i / CUSTOMERS.length) % NAMES.length]}${i >= 100 ? `-${i}` : ""}`;
    const hasLimit = random() < 0.6;
    const limit = hasLimit ? [5, 10, 25, 50, 100, 250][Math.floor(random() * 6)] : null;
    // About one key in six with a limit is at 80 % or more of it.
    const share = random() < 0.17 ? 0.8 + random() * 0.2 : random() * 0.75;
    const monthly = Math.round((limit ?? 60) * share * 100) / 100;
    const usage = Math.round(monthly * (1 + random()) * 100) / 100;
    const weekly = Math.round(monthly * 0.35 * 100) / 100;
    const daily = Math.round(weekly * 0.2 * 100) / 100;
    const disabled = random() < 0.1;
    const expiryRoll = random();
    const expires = expiryRoll < 0.08 ? now + random() * 6 * DAY + 3600e3
      : expiryRoll < 0.12 ? now - random() * 20 * DAY - 3600e3
      : expiryRoll < 0.4 ? now + (10 + random() * 300) * DAY : null;
    const expired = expires !== null && expires <= now;
    keys.push(makeKey({
      name,
      limit,
      usage,
      usage_monthly: monthly,
      usage_weekly: weekly,
      usage_daily: daily,
      limit_remaining: limit === null ? null : Math.max(0, Math.round((limit - monthly) * 100) / 100),
      limit_reset: hasLimit ? (["daily", "weekly", "monthly", null] as const)[Math.floor(random() * 4)] : null,
      include_byok_in_limit: random() < 0.3,
      disabled,
      status: expired ? "expired" : disabled ? "disabled" : "active",
      created_at: iso(now - (1 + random() * 400) * DAY),
      expires_at: expires === null ? null : iso(expires),
      last_used_at: random() < 0.8 ? iso(now - random() * 20 * DAY) : null,
      // Every third key in the second workspace (no randomness used: the other fields stay as they were).
      workspace_id: i % 3 === 2 ? RESEARCH_WS : DEFAULT_WS,
    }, random));
  }
  return keys;
}

export type FakeOptions = {
  profiles?: Profile[];
  activeId?: string | null;
  keys?: Record<string, KeyRow[]>;
  pending?: SecretIndexEntry[];
  /** How many demo keys `sandbox_open` seeds. */
  sandboxKeys?: number;
};

export function makeProfile(id: string, name: string, extra: Partial<Profile> = {}): Profile {
  return {
    id, name, base_url: "https://openrouter.ai/api/v1", workspace_id: null, is_sandbox: false,
    created_at: iso(Date.now() - 90 * DAY), updated_at: iso(Date.now() - 90 * DAY), last_used_at: null, ...extra,
  };
}

export class FakeBackend {
  profiles: Profile[];
  activeId: string | null;
  keys: Record<string, KeyRow[]>;
  pending: SecretIndexEntry[];
  connectivity: Record<string, Connectivity> = {};
  /** URLs opened in the browser through the opener plugin. */
  openedUrls: string[] = [];
  fetchedAt: Record<string, string> = {};
  credits = { total_credits: 150, total_usage: 42.37 };
  /** `key_account` answers by key hash (src/test/fakeAccount.ts); other keys get a default. */
  accounts = new Map<string, KeyAccount>();
  /** Secrets of created keys, so key_check can recognise them (stands in for OpenRouter). */
  secrets = new Map<string, KeyRow>();
  /** The keychain: pending/kept secrets by key hash. */
  keychain = new Map<string, string>();
  keychainBroken: AppError | null = null;
  calls: Call[] = [];
  failures = new Map<string, AppError[]>();
  sandboxKeys: number;
  counter = 0;
  /** Rotation policies and rotations (src/test/fakeRotation.ts). */
  rotation: FakeRotation = new FakeRotation(this);
  /** Alerts, usage history and watch settings (src/test/fakeWatch.ts). */
  /** Workspaces, their budgets and members (src/test/fakeWorkspaces.ts). */
  workspaces: FakeWorkspaces = new FakeWorkspaces({ keysOf: (id) => this.keys[id] ?? [], error: (kind, message, field = null) => appError(kind, message, field) });
  /** Guardrails, their assignments and the model list (src/test/fakeGuardrails.ts). */
  guardrails: FakeGuardrails = new FakeGuardrails((id) => this.keys[id] ?? []);
  /** The audit log: seeded entries, verify and export answers (src/test/fakeAudit.ts). */
  audit: FakeAudit = new FakeAudit();
  /** Saved filters and tag counts (src/test/fakeOrganise.ts). */
  organise: FakeOrganise = new FakeOrganise({ keysOf: (id) => this.keys[id] ?? [], error: (kind, message, field = null) => appError(kind, message, field) });
  /** Folders, scans and findings of "Where keys live" (src/test/fakeLocate.ts). */
  locate: FakeLocate = new FakeLocate();
  /** CSV files: what the native dialogs "pick", apply and bulk create (src/test/fakeCsv.ts). */
  csv: FakeCsv = new FakeCsv({
    createKey: (args) => this.run("key_create", args) as CreatedKey,
    keysOf: (id) => this.keys[id] ?? [],
    setKeys: (id, keys) => { this.keys[id] = keys; },
    error: (kind, message, field = null) => appError(kind, message, field),
  });
  /** Batch runs and emergency revokes (src/test/fakeBatch.ts). */
  batch: FakeBatch = new FakeBatch({
    keysOf: (id) => this.keys[id] ?? [],
    setKeys: (id, keys) => (this.keys[id] = keys),
    error: (kind, message, field = null) => appError(kind, message, field),
  });
  /** About, diagnostics, crash notes (src/test/fakeAbout.ts). */
  about: FakeAbout = new FakeAbout();
  /** The updater: check answers, install progress and failures (src/test/fakeUpdates.ts). */
  updates: FakeUpdates = new FakeUpdates();
  watch: FakeWatch = new FakeWatch({ profileIds: () => this.profiles.map((p) => p.id), keysOf: (id) => this.keys[id] ?? [] });

  constructor(options: FakeOptions = {}) {
    this.profiles = options.profiles ?? [];
    this.activeId = options.activeId ?? this.profiles[0]?.id ?? null;
    this.keys = options.keys ?? {};
    this.pending = options.pending ?? [];
    this.sandboxKeys = options.sandboxKeys ?? 60;
  }

  /** Makes the next call(s) of `cmd` reject with `error`. */
  failNext(cmd: keyof Commands, error: AppError, times = 1): void {
    const list = this.failures.get(cmd) ?? [];
    for (let i = 0; i < times; i++) list.push(error);
    this.failures.set(cmd, list);
  }

  callsOf(cmd: keyof Commands): unknown[] {
    return this.calls.filter((c) => c.cmd === cmd).map((c) => c.args);
  }

  state(): AppState {
    return { profiles: this.profiles, active_profile_id: this.activeId, pending_secrets: this.pending };
  }

  /** The mockIPC handler: `invoke(cmd, { args })`. */
  handle = async (cmd: string, payload?: unknown): Promise<unknown> => {
    // The opener plugin's command (not Keyward's): the page it would open in the browser.
    if (cmd === "plugin:opener|open_url") {
      this.openedUrls.push(String((payload as { url?: unknown } | undefined)?.url));
      return null;
    }
    const args = (payload as { args?: unknown } | undefined)?.args ?? {};
    this.calls.push({ cmd, args: structuredClone(args) });
    const failure = this.failures.get(cmd)?.shift();
    if (failure) throw failure;
    if (this.about.handles(cmd)) return this.about.run(cmd, args as Record<string, unknown>);
    if (cmd.startsWith("update_")) return this.updates.run(cmd, args as Record<string, unknown>);
    if (cmd.startsWith("batch_") || cmd.startsWith("revoke") || cmd === "emergency_revoke_take") {
      return this.batch.run(cmd, args as Record<string, unknown>);
    }
    const result = this.run(cmd, args as Record<string, unknown>);
    this.audit.observe(cmd, args, result);
    return result;
  };

  private profile(id: unknown): Profile {
    const p = this.profiles.find((x) => x.id === id);
    if (!p) throw appError("not_found", `no profile ${String(id)}`);
    return p;
  }

  private findKey(profileId: unknown, hash: unknown): KeyRow {
    const k = (this.keys[String(profileId)] ?? []).find((x) => x.hash === hash);
    if (!k) throw appError("not_found", "Not found on OpenRouter: Key not found. The key may have been deleted; refresh the list.");
    return k;
  }

  validate(a: CreateKeyArgs): AppError[] {
    const errors: AppError[] = [];
    if (a.name.trim() === "") errors.push(appError("invalid_input", "must not be empty", "name"));
    if (a.limit !== null && (!Number.isFinite(a.limit) || a.limit < 0)) errors.push(appError("invalid_input", "must not be negative", "limit"));
    if (a.limit_reset !== null && !["daily", "weekly", "monthly"].includes(a.limit_reset)) errors.push(appError("invalid_input", "is not one of daily, weekly, monthly", "limit_reset"));
    if (a.expires_at !== null) {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(a.expires_at)) errors.push(appError("invalid_input", "must be UTC with seconds", "expires_at"));
      else if (Date.parse(a.expires_at) <= Date.now()) errors.push(appError("invalid_input", `${a.expires_at} is in the past`, "expires_at"));
    }
    return errors;
  }

  private checkManagementKey(key: string): void {
    if (this.keychainBroken) throw this.keychainBroken;
    if (key.startsWith("sk-or-v1-")) {
      throw appError("not_management_key", `${key.slice(0, 12)}... is an inference key: it can call models but cannot manage keys. Keyward needs a management key, which manages keys but cannot call models. Create one at https://openrouter.ai/settings/management-keys`);
    }
    if (!key.startsWith("sk-or-mgmt-")) throw appError("unauthorized", "OpenRouter rejected the key (Invalid API key). Check the key Keyward uses, or paste a new one.");
  }

  private run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "app_state":
        return this.state();
      case "profile_add": {
        this.checkManagementKey(String(a.management_key));
        let id = `profile-${++this.counter}`;
        while (this.profiles.some((x) => x.id === id)) id = `profile-${++this.counter}`;
        const p = makeProfile(id, String(a.name), {
          base_url: (a.base_url as string | null) ?? "https://openrouter.ai/api/v1",
          workspace_id: (a.workspace_id as string | null) ?? null,
        });
        this.profiles = [...this.profiles, p];
        this.keys[p.id] = this.keys[p.id] ?? [];
        this.activeId = p.id;
        return p;
      }
      case "profile_replace_key": {
        this.checkManagementKey(String(a.management_key));
        return this.profile(a.id);
      }
      case "profile_rename": {
        const p = { ...this.profile(a.id), name: String(a.name) };
        this.profiles = this.profiles.map((x) => (x.id === p.id ? p : x));
        return p;
      }
      case "profile_remove": {
        this.profile(a.id);
        this.profiles = this.profiles.filter((x) => x.id !== a.id);
        if (this.activeId === a.id) this.activeId = this.profiles[0]?.id ?? null;
        return this.state();
      }
      case "profile_switch":
        this.profile(a.id);
        this.activeId = String(a.id);
        return this.state();
      case "sandbox_open": {
        let p = this.profiles.find((x) => x.is_sandbox);
        if (!p) {
          p = makeProfile("sandbox", "sandbox", { is_sandbox: true, base_url: "http://127.0.0.1:47113/api/v1" });
          this.profiles = [...this.profiles, p];
          this.keys[p.id] = seedKeys(this.sandboxKeys, 7);
        }
        this.activeId = p.id;
        return p;
      }
      case "keys_list": {
        const id = String(a.profile_id);
        this.profile(id);
        const connectivity = this.connectivity[id] ?? { state: "online" };
        if (a.refresh && connectivity.state === "online") this.fetchedAt[id] = iso(Date.now());
        const keys = (this.keys[id] ?? []).filter(
          (k) => (a.include_disabled || !k.disabled) && (a.include_expired || k.status !== "expired"),
        );
        return {
          profile_id: id, keys, fetched_at: this.fetchedAt[id] ?? null,
          from_cache: !a.refresh || connectivity.state !== "online", connectivity,
        };
      }
      case "key_account": {
        const k = this.findKey(a.profile_id, a.key_hash);
        return this.accounts.get(k.hash) ?? defaultAccount(String(a.profile_id), k, this.credits);
      }
      case "credits_get":
        this.profile(a.profile_id);
        return this.credits;
      case "key_validate_create":
        return this.validate(a as unknown as CreateKeyArgs);
      case "key_create": {
        const args = a as unknown as CreateKeyArgs;
        const errors = this.validate(args);
        if (errors.length > 0) throw errors[0];
        const hash = hex(Math.random, 64);
        const secret = `sk-or-v1-${hex(Math.random, 64)}`;
        const key = makeKey({
          hash, name: args.name, limit: args.limit, limit_reset: args.limit_reset,
          include_byok_in_limit: args.include_byok_in_limit, expires_at: args.expires_at,
          created_at: iso(Date.now()), label: `sk-or-v1-${secret.slice(9, 12)}...${secret.slice(-3)}`,
          workspace_id: args.workspace_id ?? DEFAULT_WS,
        });
        this.keys[args.profile_id] = [key, ...(this.keys[args.profile_id] ?? [])];
        this.secrets.set(secret, key);
        if (this.keychainBroken) {
          return { key, secret, pending_saved: false, keychain_error: this.keychainBroken };
        }
        this.keychain.set(hash, secret);
        this.pending = [...this.pending, {
          profile_id: args.profile_id, key_hash: hash, key_name: key.name, label: key.label,
          created_at: key.created_at ?? iso(Date.now()), state: "pending",
        }];
        return { key, secret, pending_saved: true, keychain_error: null };
      }
      case "key_update": {
        const k = this.findKey(a.profile_id, a.hash);
        const next: KeyRow = { ...k };
        if ("name" in a) next.name = String(a.name);
        if ("disabled" in a) next.disabled = Boolean(a.disabled);
        if ("limit" in a) {
          next.limit = a.limit as number | null;
          next.limit_remaining = next.limit === null ? null : Math.max(0, next.limit - next.usage_monthly);
        }
        if ("limit_reset" in a) next.limit_reset = a.limit_reset as string | null;
        if ("include_byok_in_limit" in a) next.include_byok_in_limit = Boolean(a.include_byok_in_limit);
        next.status = next.expires_at && Date.parse(next.expires_at) <= Date.now() ? "expired" : next.disabled ? "disabled" : "active";
        next.updated_at = iso(Date.now());
        const id = String(a.profile_id);
        this.keys[id] = this.keys[id].map((x) => (x.hash === next.hash ? next : x));
        return next;
      }
      case "key_metadata_validate":
        return metadataErrors(a as unknown as KeyMetadata);
      case "key_metadata_set": {
        const k = this.findKey(a.profile_id, a.hash);
        const wanted = a.metadata as KeyMetadata;
        const errors = metadataErrors(wanted);
        if (errors.length) throw errors[0];
        const clean = (v: string | null) => (v && v.trim() ? v.trim() : null);
        const metadata: KeyMetadata = {
          tags: [...new Set(wanted.tags.map((t) => t.trim().toLowerCase()))],
          environment: clean(wanted.environment),
          project: clean(wanted.project),
          owner: clean(wanted.owner),
          notes: clean(wanted.notes),
        };
        const next: KeyRow = { ...k, metadata };
        const id = String(a.profile_id);
        this.keys[id] = this.keys[id].map((x) => (x.hash === next.hash ? next : x));
        return next;
      }
      case "key_delete": {
        this.findKey(a.profile_id, a.hash);
        const id = String(a.profile_id);
        this.keys[id] = this.keys[id].filter((x) => x.hash !== a.hash);
        return null;
      }
      case "key_check": {
        const secret = String(a.secret);
        if (secret.startsWith("sk-or-mgmt-")) {
          return { ...this.checked(makeKey({ name: "mgmt" })), is_management_key: true };
        }
        const k = this.secrets.get(secret);
        if (!k) throw appError("unauthorized", "OpenRouter rejected the key (User not found). Check the key Keyward uses, or paste a new one.");
        return this.checked(k);
      }
      case "secret_copy": {
        if (!this.keychain.has(String(a.key_hash))) throw appError("secret_not_found", "The secret of this key is not in the system keychain");
        return { clears_at: iso(Date.now() + 30_000) };
      }
      case "pending_resolve": {
        const hash = String(a.key_hash);
        if (a.action === "forget") {
          this.keychain.delete(hash);
          this.pending = this.pending.filter((p) => p.key_hash !== hash);
        } else {
          this.pending = this.pending.map((p) => (p.key_hash === hash ? { ...p, state: "kept" as const } : p));
        }
        return this.state();
      }
      case "rotation_policy_get": case "rotation_policy_set": case "rotation_start": case "rotation_action":
      case "rotations_list": case "rotation_history": case "rotation_start_batch":
      case "rotation_policy_validate": case "rotation_plan": case "rotation_batch_plan":
        return this.rotation.run(cmd, a);
      case "workspaces_list": case "workspace_details": case "workspace_budget_set": case "workspace_budget_delete":
        this.profile(a.profile_id);
        return this.workspaces.run(cmd, a);
      case "guardrails_list": case "guardrail_get": case "guardrail_validate": case "guardrail_create":
      case "guardrail_update": case "guardrail_delete": case "guardrail_assign": case "guardrail_unassign":
      case "models_list": case "key_guardrails":
        return this.guardrails.run(cmd, a);
      case "open_key_take":
        return null as never;
      case "tray_status":
        return structuredClone(this.watch.tray);
      case "startup_painted":
        return null as never;
      case "audit_list": case "audit_verify": case "audit_export":
        return this.audit.run(cmd, a);
      case "saved_filters_list": case "saved_filter_save": case "saved_filter_delete": case "key_tags":
        return this.organise.run(cmd, a) as never;
      case "locate_folders": case "locate_folder_pick": case "locate_folder_remove": case "locate_scan":
      case "locate_scan_cancel": case "locate_report": case "key_locations": case "locate_deploy_suggestions":
        return this.locate.run(cmd, a);
      case "labels_export_pick": case "labels_import_pick": case "labels_import_apply":
      case "keys_csv_pick": case "keys_csv_create": case "keys_csv_cancel":
        return this.csv.run(cmd, a);
      case "watch_settings_get": case "watch_settings_set": case "alerts_list": case "alerts_snooze": case "alerts_pause":
      case "watch_refresh_now": case "usage_history": case "usage_overview":
        return this.watch.run(cmd, a, (profileId, hash) => this.findKey(profileId, hash));
      default:
        throw appError("internal", `unknown command ${cmd}`);
    }
  }

  private checked(k: KeyRow): CheckedKey {
    return {
      label: k.label, limit: k.limit, limit_remaining: k.limit_remaining, limit_reset: k.limit_reset,
      include_byok_in_limit: k.include_byok_in_limit, usage: k.usage, usage_daily: k.usage_daily,
      usage_weekly: k.usage_weekly, usage_monthly: k.usage_monthly, is_free_tier: false,
      is_management_key: false, expires_at: k.expires_at,
    };
  }
}
