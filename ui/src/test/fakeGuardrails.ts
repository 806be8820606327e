// The guardrails half of the fake shell: guardrails with key/member assignments, the model list for
// the picker, and the Rust validation messages (field by field), so the UI's tests see what the
// real service answers. FakeBackend routes the guardrail commands here.
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { CreateGuardrailRequest } from "../lib/bindings/CreateGuardrailRequest";
import type { Guardrail } from "../lib/bindings/Guardrail";
import type { GuardrailEntry } from "../lib/bindings/GuardrailEntry";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { Model } from "../lib/bindings/Model";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const invalid = (field: string, message: string): AppError => ({ kind: "invalid_input", message, field, retry_after_ms: null });

export const FAKE_MODELS: Model[] = [
  ["openai/gpt-4.1", "OpenAI: GPT-4.1"], ["openai/gpt-4.1-mini", "OpenAI: GPT-4.1 Mini"], ["openai/o3", "OpenAI: o3"],
  ["anthropic/claude-sonnet-4", "Anthropic: Claude Sonnet 4"], ["anthropic/claude-opus-4", "Anthropic: Claude Opus 4"],
  ["google/gemini-2.5-pro", "Google: Gemini 2.5 Pro"], ["google/gemini-2.5-flash", "Google: Gemini 2.5 Flash"],
  ["meta-llama/llama-3.3-70b-instruct", "Meta: Llama 3.3 70B Instruct"], ["mistralai/mistral-large", "Mistral Large"],
  ["x-ai/grok-4", "xAI: Grok 4"],
].map(([id, name]) => ({
  id, canonical_slug: id, name, description: null, created: null, context_length: 128000,
  pricing: { prompt: "0.000002", completion: "0.000008", request: null, image: null }, architecture: null,
}));

export function makeGuardrail(overrides: Partial<Guardrail> & { id: string; name: string }): Guardrail {
  return {
    description: null, limit_usd: null, reset_interval: null, allowed_models: null, ignored_models: null,
    allowed_providers: null, ignored_providers: null, enforce_zdr: null, enforce_zdr_anthropic: null,
    enforce_zdr_google: null, enforce_zdr_openai: null, enforce_zdr_other: null, enforce_zdr_xai: null,
    enable_free_model_publication: null, enable_free_model_training: null, enable_paid_model_training: null,
    include_byok_in_budgets: false, content_filters: null, content_filter_builtins: null, workspace_id: null,
    created_at: iso(Date.now() - 10 * 86400e3), updated_at: null, ...overrides,
  };
}

/** The messages of `CreateGuardrailRequest::validate` (core/src/api/guardrails.rs), one per field. */
export function validateGuardrail(r: Partial<CreateGuardrailRequest>): AppError[] {
  const errors: AppError[] = [];
  const name = r.name ?? "";
  if (name.trim() === "") errors.push(invalid("name", "must not be empty"));
  else if ([...name].length > 200) errors.push(invalid("name", "must be at most 200 characters"));
  if (r.description && [...r.description].length > 1000) errors.push(invalid("description", "must be at most 1000 characters"));
  if (r.limit_usd !== undefined && r.limit_usd !== null) {
    if (!Number.isFinite(r.limit_usd)) errors.push(invalid("limit_usd", "must be a number of US dollars (not NaN or infinite)"));
    else if (r.limit_usd < 0) errors.push(invalid("limit_usd", "must not be negative"));
  }
  for (const field of ["allowed_models", "ignored_models"] as const) {
    const list = r[field];
    if (!list) continue;
    if (list.length === 0) errors.push(invalid(field, "must name at least one entry (clear the list to allow everything)"));
    const bad = list.find((m) => !/^[^/\s]+\/[^\s]+$/.test(m));
    if (bad !== undefined) errors.push(invalid(field, `"${bad}" is not a model slug (e.g. openai/gpt-4.1)`));
  }
  for (const field of ["allowed_providers", "ignored_providers"] as const) {
    const list = r[field];
    if (!list) continue;
    if (list.length === 0) errors.push(invalid(field, "must name at least one entry (clear the list to allow everything)"));
    const bad = list.find((p) => !/^[a-z0-9._-]+$/.test(p));
    if (bad !== undefined) errors.push(invalid(field, `"${bad}" is not a provider slug (e.g. openai, google-vertex)`));
  }
  return errors;
}

export class FakeGuardrails {
  guardrails: GuardrailEntry[] = [];
  models: Model[] = FAKE_MODELS;
  counter = 0;

  constructor(private keysOf: (profileId: string) => KeyRow[]) {}

  /** A guardrail (with `keys` assigned by hash) as if it existed on OpenRouter. */
  add(guardrail: Guardrail, keyHashes: string[] = [], profileId = "p1"): Guardrail {
    this.guardrails.push({ guardrail, keys: [], members: [] });
    if (keyHashes.length) this.assign(profileId, guardrail.id, keyHashes);
    return guardrail;
  }

  private entry(id: unknown): GuardrailEntry {
    const e = this.guardrails.find((x) => x.guardrail.id === id);
    if (!e) throw { kind: "not_found", message: "Not found on OpenRouter: Guardrail not found.", field: null, retry_after_ms: null } satisfies AppError;
    return e;
  }

  private assign(profileId: string, id: string, hashes: string[]): number {
    const target = this.entry(id);
    let added = 0;
    for (const hash of hashes) {
      for (const e of this.guardrails) e.keys = e.keys.filter((k) => k.key_hash !== hash || e === target);
      if (target.keys.some((k) => k.key_hash === hash)) continue;
      const key = this.keysOf(profileId).find((k) => k.hash === hash);
      target.keys.push({
        id: `ka-${++this.counter}`, key_hash: hash, guardrail_id: id, key_name: key?.name ?? "",
        key_label: key?.label ?? "", assigned_by: null, created_at: iso(Date.now()),
      });
      added++;
    }
    return added;
  }

  private changed(profileId: string) {
    void emit("keys-changed", { profile_id: profileId }).catch(() => {});
  }

  run(cmd: string, a: Record<string, unknown>): unknown {
    const profileId = String(a.profile_id ?? "");
    switch (cmd) {
      case "guardrails_list":
        return structuredClone([...this.guardrails].sort((x, y) => x.guardrail.name.localeCompare(y.guardrail.name)));
      case "guardrail_get":
        return structuredClone(this.entry(a.guardrail_id));
      case "guardrail_validate":
        return validateGuardrail(a as Partial<CreateGuardrailRequest>);
      case "guardrail_create": {
        const request = a.request as CreateGuardrailRequest;
        const errors = validateGuardrail(request);
        if (errors.length) throw errors[0];
        const g = makeGuardrail({ ...(request as Partial<Guardrail>), id: `00000000-0000-4000-8000-${String(++this.counter).padStart(12, "0")}`, name: request.name, created_at: iso(Date.now()) });
        this.guardrails.push({ guardrail: g, keys: [], members: [] });
        this.changed(profileId);
        return g;
      }
      case "guardrail_update": {
        const e = this.entry(a.guardrail_id);
        const request = a.request as Record<string, unknown>;
        if (Object.keys(request).length === 0) throw invalid("update", "nothing to change (set at least one field of the guardrail)");
        const errors = validateGuardrail({ name: e.guardrail.name, ...(request as Partial<CreateGuardrailRequest>) });
        if (errors.length) throw errors[0];
        e.guardrail = { ...e.guardrail, ...(request as Partial<Guardrail>), updated_at: iso(Date.now()) };
        this.changed(profileId);
        return e.guardrail;
      }
      case "guardrail_delete":
        this.entry(a.guardrail_id);
        this.guardrails = this.guardrails.filter((x) => x.guardrail.id !== a.guardrail_id);
        this.changed(profileId);
        return null;
      case "guardrail_assign": case "guardrail_unassign": {
        const hashes = (a.key_hashes as string[] | undefined) ?? [];
        const members = (a.member_user_ids as string[] | undefined) ?? [];
        if (hashes.length === 0 && members.length === 0) throw invalid("key_hashes", "name at least one key or member");
        const e = this.entry(a.guardrail_id);
        let keys = 0;
        if (cmd === "guardrail_assign") keys = this.assign(profileId, e.guardrail.id, hashes);
        else {
          const before = e.keys.length;
          e.keys = e.keys.filter((k) => !hashes.includes(k.key_hash));
          keys = before - e.keys.length;
          e.members = e.members.filter((m) => !members.includes(m.user_id));
        }
        this.changed(profileId);
        return { keys, members: 0 };
      }
      case "models_list":
        return this.models;
      case "key_guardrails": {
        const by_key: Record<string, { id: string; name: string }> = {};
        for (const e of this.guardrails) for (const k of e.keys) by_key[k.key_hash] = { id: e.guardrail.id, name: e.guardrail.name };
        return { by_key };
      }
      default:
        throw { kind: "internal", message: `unknown command ${cmd}`, field: null, retry_after_ms: null } satisfies AppError;
    }
  }
}
