// The guardrail form's values, and the requests made from them: the whole request to create (and
// to validate, field by field, in Rust), and only what changed to update (a cleared list or budget
// is sent as null).
import type { CreateGuardrailRequest } from "../../lib/bindings/CreateGuardrailRequest";
import type { Guardrail } from "../../lib/bindings/Guardrail";
import type { LimitReset } from "../../lib/bindings/LimitReset";
import type { UpdateGuardrailRequest } from "../../lib/bindings/UpdateGuardrailRequest";

export const ZDR_GROUPS = [
  ["enforce_zdr_openai", "OpenAI"], ["enforce_zdr_anthropic", "Anthropic"], ["enforce_zdr_google", "Google"],
  ["enforce_zdr_xai", "xAI"], ["enforce_zdr_other", "Other providers"],
] as const;

export const DATA_SWITCHES = [
  ["enable_paid_model_training", "Allow paid models to train on prompts"],
  ["enable_free_model_training", "Allow free models to train on prompts"],
  ["enable_free_model_publication", "Allow free models to publish prompts"],
] as const;

type SwitchField = (typeof ZDR_GROUPS)[number][0] | (typeof DATA_SWITCHES)[number][0];

export type FormValues = {
  name: string;
  description: string;
  /** The budget field ("" or null = no budget; a number input binds numbers). */
  limit: string | number | null;
  reset: LimitReset | "";
  models: string[];
  /** Comma- or space-separated provider slugs. */
  allowedProviders: string;
  ignoredProviders: string;
  switches: Record<SwitchField, boolean>;
  includeByok: boolean;
};

export function valuesOf(g: Guardrail | null): FormValues {
  const switches = {} as Record<SwitchField, boolean>;
  for (const [field] of [...ZDR_GROUPS, ...DATA_SWITCHES]) switches[field] = Boolean(g?.[field] ?? (field.startsWith("enforce_zdr_") ? g?.enforce_zdr : false));
  return {
    name: g?.name ?? "",
    description: g?.description ?? "",
    limit: g?.limit_usd === null || g?.limit_usd === undefined ? "" : String(g.limit_usd),
    reset: g?.reset_interval ?? "",
    models: [...(g?.allowed_models ?? [])],
    allowedProviders: (g?.allowed_providers ?? []).join(", "),
    ignoredProviders: (g?.ignored_providers ?? []).join(", "),
    switches,
    includeByok: g?.include_byok_in_budgets ?? false,
  };
}

const text = (value: string | number | null): string => (value === null ? "" : String(value).trim());

const list = (text: string): string[] => text.split(/[\s,]+/).filter(Boolean);

/** The create request (also what Rust validates as the person types). */
export function createRequest(v: FormValues): CreateGuardrailRequest {
  const request: CreateGuardrailRequest = { name: v.name };
  if (v.description.trim() !== "") request.description = v.description;
  if (text(v.limit) !== "") request.limit_usd = Number(v.limit);
  if (v.reset !== "") request.reset_interval = v.reset;
  if (v.models.length) request.allowed_models = v.models;
  if (list(v.allowedProviders).length) request.allowed_providers = list(v.allowedProviders);
  if (list(v.ignoredProviders).length) request.ignored_providers = list(v.ignoredProviders);
  for (const [field] of [...ZDR_GROUPS, ...DATA_SWITCHES]) if (v.switches[field]) request[field] = true;
  if (v.includeByok) request.include_byok_in_budgets = true;
  return request;
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Only what differs from `before`; `{}` when nothing changed. */
export function updateRequest(before: FormValues, v: FormValues): UpdateGuardrailRequest {
  const u: UpdateGuardrailRequest = {};
  if (v.name !== before.name) u.name = v.name;
  if (v.description !== before.description) u.description = v.description.trim() === "" ? null : v.description;
  if (text(v.limit) !== text(before.limit)) u.limit_usd = text(v.limit) === "" ? null : Number(v.limit);
  if (v.reset !== before.reset) u.reset_interval = v.reset === "" ? null : v.reset;
  if (!same(v.models, before.models)) u.allowed_models = v.models.length ? v.models : null;
  for (const [key, field] of [["allowedProviders", "allowed_providers"], ["ignoredProviders", "ignored_providers"]] as const) {
    const now = list(v[key]);
    if (!same(now, list(before[key]))) u[field] = now.length ? now : null;
  }
  for (const [field] of [...ZDR_GROUPS, ...DATA_SWITCHES]) if (v.switches[field] !== before.switches[field]) u[field] = v.switches[field];
  if (v.includeByok !== before.includeByok) u.include_byok_in_budgets = v.includeByok;
  return u;
}
