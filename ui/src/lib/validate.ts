// The core's create rules, checked locally so obvious mistakes show at once; the shell's
// `key_validate_create` stays the authority and its errors are shown the same way.
import type { AppError } from "./bindings/AppError";

export type CreateForm = {
  name: string;
  limit: string;
  limitReset: "" | "daily" | "weekly" | "monthly";
  includeByok: boolean;
  expiresLocal: string;
};

export type FieldErrors = Partial<Record<"name" | "limit" | "limit_reset" | "expires_at" | "form", string>>;

function invalid(field: string, message: string): AppError {
  return { kind: "invalid_input", field, message, retry_after_ms: null };
}

export function parseLimit(text: string): number | null | "invalid" {
  const t = text.trim().replace(/^\$/, "");
  if (t === "") return null;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return "invalid";
  return Number(t);
}

export function localCreateErrors(form: CreateForm, expiresUtc: string | null, now: number): AppError[] {
  const errors: AppError[] = [];
  if (form.name.trim() === "") errors.push(invalid("name", "must not be empty"));
  const limit = parseLimit(form.limit);
  if (limit === "invalid") errors.push(invalid("limit", "must be a number of US dollars, e.g. 25 or 12.50"));
  else if (limit !== null && limit < 0) errors.push(invalid("limit", "must not be negative"));
  if (form.expiresLocal !== "") {
    if (expiresUtc === null) errors.push(invalid("expires_at", "is not a valid date and time"));
    else if (Date.parse(expiresUtc) <= now) errors.push(invalid("expires_at", "is in the past"));
  }
  return errors;
}

/** One message per field (the first wins), keyed by the contract's field names. */
export function byField(errors: readonly AppError[]): FieldErrors {
  const out: FieldErrors = {};
  for (const e of errors) {
    const f = (e.field ?? "form") as keyof FieldErrors;
    const key: keyof FieldErrors = f in { name: 1, limit: 1, limit_reset: 1, expires_at: 1 } ? f : "form";
    if (!out[key]) out[key] = e.message;
  }
  return out;
}
