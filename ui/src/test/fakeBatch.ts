// The fake shell's batch operations and emergency revokes (batch_run, batch_cancel, revoke_*,
// emergency_revoke_take) over the fake's keys; `failOnce` makes keys fail their next operation (to
// exercise "Retry the failed"), `gate` holds batch_run until a test releases it.
import type { AppError } from "../lib/bindings/AppError";
import type { BatchArgs } from "../lib/bindings/BatchArgs";
import type { BatchKeyResult } from "../lib/bindings/BatchKeyResult";
import type { BatchReport } from "../lib/bindings/BatchReport";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { RevokeRecord } from "../lib/bindings/RevokeRecord";
import type { RevokeSelection } from "../lib/bindings/RevokeSelection";

type Host = {
  keysOf: (profileId: string) => KeyRow[];
  setKeys: (profileId: string, keys: KeyRow[]) => void;
  error: (kind: AppError["kind"], message: string, field?: string | null) => AppError;
};

export class FakeBatch {
  /** Keys whose next operation fails (a 503), then succeeds. */
  failOnce = new Set<string>();
  /** When set, batch_run waits for it. */
  gate: Promise<void> | null = null;
  revokes: RevokeRecord[] = [];
  tray = false;
  cancelled = new Set<string>();

  constructor(private host: Host) {}

  async run(cmd: string, a: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "batch_run": {
        if (this.gate) await this.gate;
        return this.apply(a as unknown as BatchArgs);
      }
      case "batch_cancel":
        this.cancelled.add(String(a.run_id));
        return true;
      case "revoke_preview": {
        const matched = this.match(String(a.profile_id), a.selection as RevokeSelection);
        return { profile_id: a.profile_id, matched: matched.map((k) => ({ hash: k.hash, name: k.name, disabled: k.disabled })) };
      }
      case "revoke_start": {
        const profileId = String(a.profile_id);
        const matched = this.match(profileId, a.selection as RevokeSelection);
        if (matched.length === 0) throw this.host.error("invalid_input", "matches no key", "filter");
        const toDisable = matched.filter((k) => !k.disabled).map((k) => k.hash);
        const report = this.apply({ profile_id: profileId, run_id: String(a.run_id), hashes: toDisable, operation: { kind: "disable" } });
        const record: RevokeRecord = {
          id: `revoke-${this.revokes.length + 1}`, profile_id: profileId, created_at: new Date().toISOString(),
          selection: "test", matched: matched.map((k) => k.hash),
          disabled: report.results.filter((r) => r.outcome === "done").map((r) => r.hash), reenabled_at: null, deleted_at: null,
        };
        this.revokes.push(record);
        return { revoke: record, already_disabled: matched.filter((k) => k.disabled).map((k) => k.hash), report };
      }
      case "revoke_delete": case "revoke_reenable": {
        const record = this.revokes.find((r) => r.id === a.revoke_id);
        if (!record) throw this.host.error("invalid_input", `no revoke ${String(a.revoke_id)} in this profile`, "revoke_id");
        const del = cmd === "revoke_delete";
        return this.apply({
          profile_id: String(a.profile_id), run_id: String(a.run_id), hashes: del ? record.matched : record.disabled,
          operation: { kind: del ? "delete" : "enable" },
        });
      }
      case "revokes_list":
        return this.revokes.filter((r) => r.profile_id === a.profile_id);
      case "emergency_revoke_take": {
        const asked = this.tray;
        this.tray = false;
        return asked;
      }
      default:
        throw this.host.error("internal", `unknown command ${cmd}`);
    }
  }

  /** Like Rust's filter, for the terms the tests use; unknown fields are refused the same way. */
  private match(profileId: string, selection: RevokeSelection): KeyRow[] {
    const keys = this.host.keysOf(profileId);
    if (selection.kind === "hashes") return keys.filter((k) => selection.hashes.includes(k.hash));
    const terms = selection.expression.trim().split(/\s+/).filter(Boolean);
    if (terms.length === 0) throw this.host.error("invalid_input", "is empty", "filter");
    return keys.filter((k) =>
      terms.every((term) => {
        const [field, value = ""] = term.split(/:(.*)/s);
        if (field === "name") return new RegExp(`^${value.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(k.name);
        if (field === "status") return k.status === value;
        if (field === "hash") return k.hash.startsWith(value);
        throw this.host.error("invalid_input", `unknown field "${field}" (use name:<glob>, workspace:<name or id>, hash:<prefix>, status:active|disabled|expired or tag:<tag>)`, "filter");
      }),
    );
  }

  private apply(args: BatchArgs): BatchReport {
    const op = args.operation;
    if (op.kind === "set_limit" && !(op.limit >= 0)) throw this.host.error("invalid_input", "must not be negative", "limit");
    if (args.hashes.length === 0) throw this.host.error("invalid_input", "choose at least one key", "hashes");
    let keys = this.host.keysOf(args.profile_id);
    const results: BatchKeyResult[] = [];
    for (const hash of [...new Set(args.hashes)]) {
      const key = keys.find((k) => k.hash === hash);
      const base = { hash, name: key?.name ?? null, note: null, rate_limited: 0 };
      if (this.cancelled.has(args.run_id)) {
        results.push({ ...base, outcome: "not_run", error: null });
        continue;
      }
      if (this.failOnce.delete(hash)) {
        results.push({ ...base, outcome: "failed", error: this.host.error("server", "OpenRouter answered 503") });
        continue;
      }
      if (op.kind === "delete") {
        keys = keys.filter((k) => k.hash !== hash);
      } else if (key) {
        const next = { ...key };
        if (op.kind === "disable" || op.kind === "enable") {
          next.disabled = op.kind === "disable";
          next.status = next.status === "expired" ? "expired" : next.disabled ? "disabled" : "active";
        }
        if (op.kind === "set_limit") {
          next.limit = op.limit;
          if (op.limit_reset) next.limit_reset = op.limit_reset;
        }
        if (op.kind === "clear_limit") {
          next.limit = null;
          next.limit_reset = null;
        }
        keys = keys.map((k) => (k.hash === hash ? next : k));
      }
      results.push({ ...base, outcome: "done", error: null });
    }
    this.host.setKeys(args.profile_id, keys);
    const count = (o: BatchKeyResult["outcome"]) => results.filter((r) => r.outcome === o).length;
    return {
      run_id: args.run_id, profile_id: args.profile_id, operation: op, results, total: results.length,
      done: count("done"), failed: count("failed"), not_run: count("not_run"), cancelled: this.cancelled.has(args.run_id),
    };
  }
}
