// Words the Audit view shows for the core's stable action names. A Record over the generated union:
// an action added in Rust without a label here fails `npm run check`.
import type { AuditAction } from "../../lib/bindings/AuditAction";

export const ACTION_LABELS: Record<AuditAction, string> = {
  key_create: "Key created",
  key_update: "Key updated",
  key_disable: "Key disabled",
  key_enable: "Key enabled",
  key_delete: "Key deleted",
  rotation_start: "Rotation started",
  rotation_step: "Rotation step",
  rotation_action: "Rotation action",
  rotation_end: "Rotation ended",
  deploy: "Secret deployed",
  guardrail_create: "Guardrail created",
  guardrail_update: "Guardrail updated",
  guardrail_delete: "Guardrail deleted",
  guardrail_assign: "Guardrail assigned",
  guardrail_unassign: "Guardrail unassigned",
  workspace_budget_update: "Workspace budget changed",
  profile_add: "Profile added",
  profile_remove: "Profile removed",
  profile_rename: "Profile renamed",
  profile_replace_key: "Management key replaced",
  secret_resolve: "Held secret resolved",
  batch_run: "Batch run",
  emergency_revoke: "Emergency revoke",
  emergency_reenable: "Emergency re-enable",
  metadata_set: "Metadata changed",
  bulk_create: "Bulk create",
  import: "Import",
};

export const ACTIONS = Object.keys(ACTION_LABELS) as AuditAction[];

/** A `<input type="date">` value as the start (or the end) of that local day, in UTC; null if empty. */
export function dayBoundary(value: string, end: boolean): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const [, y, mo, d] = m;
  const date = end
    ? new Date(Number(y), Number(mo) - 1, Number(d), 23, 59, 59, 999)
    : new Date(Number(y), Number(mo) - 1, Number(d), 0, 0, 0, 0);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
