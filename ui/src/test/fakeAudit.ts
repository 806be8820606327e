// The fake shell's audit log: `audit_list` (filters, newest first, pages), `audit_verify` and
// `audit_export` (the save dialog answered by `exportPath`: null = the person cancelled), over
// entries a test seeds or the fake records as it changes keys.
import type { AuditAction } from "../lib/bindings/AuditAction";
import type { AuditEntry } from "../lib/bindings/AuditEntry";
import type { AuditExportArgs } from "../lib/bindings/AuditExportArgs";
import type { AuditExported } from "../lib/bindings/AuditExported";
import type { AuditFilter } from "../lib/bindings/AuditFilter";
import type { AuditPage } from "../lib/bindings/AuditPage";
import type { AuditVerification } from "../lib/bindings/AuditVerification";

let clock = Date.parse("2026-12-07T09:00:00Z");

export function makeEntry(overrides: Partial<AuditEntry> & { action: AuditAction }, seq = 1): AuditEntry {
  clock += 60e3;
  return {
    seq,
    at: new Date(clock).toISOString(),
    profile_id: "p1",
    profile_name: "acme-prod",
    front_end: "app",
    key_hash: null,
    key_name: null,
    before: null,
    after: null,
    change: "",
    outcome: "ok",
    error_kind: null,
    error_message: null,
    prev_hash: "0".repeat(64),
    hash: seq.toString(16).padStart(64, "0"),
    ...overrides,
  };
}

export class FakeAudit {
  entries: AuditEntry[] = [];
  /** What `audit_verify` answers; by default ok with the number of entries. */
  verification: AuditVerification | null = null;
  /** The path the save dialog "chooses"; null: cancelled. */
  exportPath: string | null = "/home/me/keyward-audit.csv";
  /** Throw this from `audit_list` (the error state). */
  listError: unknown = null;

  /** Appends an entry (seq assigned). */
  record(entry: Partial<AuditEntry> & { action: AuditAction }): AuditEntry {
    const made = makeEntry(entry, this.entries.length + 1);
    this.entries.push(made);
    return made;
  }

  /** Records what a successful command of the fake changed, like the core does (keys only). */
  observe(cmd: string, args: unknown, result: unknown): void {
    const a = args as { profile_id?: string; hash?: string; name?: string; disabled?: boolean };
    const key = result as { hash?: string; name?: string } | null;
    const base = { profile_id: a.profile_id ?? "p1" };
    if (cmd === "key_create") {
      const created = result as { key: { hash: string; name: string } };
      this.record({ ...base, action: "key_create", key_hash: created.key.hash, key_name: created.key.name, change: `name: ${created.key.name}` });
    } else if (cmd === "key_update" && key) {
      const only = Object.keys(a).filter((k) => !["profile_id", "hash"].includes(k));
      const action: AuditAction = only.length === 1 && only[0] === "disabled" ? (a.disabled ? "key_disable" : "key_enable") : "key_update";
      const change = action === "key_update" ? "updated" : `disabled: ${!a.disabled} → ${Boolean(a.disabled)}`;
      this.record({ ...base, action, key_hash: key.hash ?? null, key_name: key.name ?? null, change });
    } else if (cmd === "key_delete") {
      this.record({ ...base, action: "key_delete", key_hash: a.hash ?? null });
    }
  }

  private matching(f: AuditFilter): AuditEntry[] {
    const key = f.key?.toLowerCase();
    return this.entries
      .filter((e) =>
        (!f.profile_id || e.profile_id === f.profile_id) &&
        (!f.action || e.action === f.action) &&
        (!key || (e.key_hash ?? "").toLowerCase().includes(key) || (e.key_name ?? "").toLowerCase().includes(key)) &&
        (!f.front_end || e.front_end === f.front_end) &&
        (!f.since || e.at >= f.since) &&
        (!f.until || e.at <= f.until) &&
        (f.before_seq === undefined || f.before_seq === null || e.seq < f.before_seq))
      .sort((a, b) => b.seq - a.seq);
  }

  run(cmd: string, args: unknown): unknown {
    switch (cmd) {
      case "audit_list": {
        if (this.listError) throw this.listError;
        const f = args as AuditFilter;
        const all = this.matching(f);
        const limit = f.limit ?? 200;
        const entries = limit === 0 ? all : all.slice(0, limit);
        const page: AuditPage = { entries, next_before_seq: limit > 0 && all.length > limit ? entries[entries.length - 1].seq : null };
        return page;
      }
      case "audit_verify": {
        const last = this.entries[this.entries.length - 1];
        return this.verification ?? {
          ok: true,
          count: this.entries.length,
          head: last ? { seq: last.seq, hash: last.hash } : null,
          problem: null,
        } satisfies AuditVerification;
      }
      case "audit_export": {
        const a = args as AuditExportArgs;
        const count = this.matching({ ...a.filter, limit: 0 }).length;
        const done: AuditExported = this.exportPath
          ? { path: this.exportPath.replace(/\.(csv|json)$/, `.${a.format}`), count }
          : { path: null, count: 0 };
        return done;
      }
      default:
        throw new Error(`fakeAudit: unknown command ${cmd}`);
    }
  }
}
