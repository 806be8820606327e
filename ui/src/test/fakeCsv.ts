// The CSV commands of the fake backend: what the next native file dialog "picks" is set by a test
// (`labelsPick`, `keysPick`, `exportSaved`; null = the person cancelled); apply and create act on the
// fake's keys, pending list and keychain like the real core (rows listed in `failRows` fail).
import type { AppError } from "../lib/bindings/AppError";
import type { CreatedKey } from "../lib/bindings/CreatedKey";
import type { CsvSaved } from "../lib/bindings/CsvSaved";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { KeysCsvPicked } from "../lib/bindings/KeysCsvPicked";
import type { KeysCsvRowOutcome } from "../lib/bindings/KeysCsvRowOutcome";
import type { KeysCsvRun } from "../lib/bindings/KeysCsvRun";
import type { LabelsImportPicked } from "../lib/bindings/LabelsImportPicked";

export interface CsvHost {
  createKey(args: Record<string, unknown>): CreatedKey;
  keysOf(profileId: string): KeyRow[];
  setKeys(profileId: string, keys: KeyRow[]): void;
  error(kind: AppError["kind"], message: string, field?: string | null): AppError;
}

export class FakeCsv {
  labelsPick: LabelsImportPicked | null = null;
  keysPick: KeysCsvPicked | null = null;
  exportSaved: CsvSaved | null = { path: "/home/me/keyward-labels.csv", keys: 2 };
  /** Rows whose create fails (once each: a retry succeeds). */
  failRows = new Set<number>();

  constructor(private host: CsvHost) {}

  run(cmd: string, a: Record<string, unknown>): unknown {
    const profileId = String(a.profile_id);
    switch (cmd) {
      case "labels_export_pick":
        return this.exportSaved;
      case "labels_import_pick":
        return this.labelsPick;
      case "keys_csv_pick":
        return this.keysPick;
      case "keys_csv_cancel":
        return null;
      case "labels_import_apply": {
        const picked = this.labelsPick;
        if (!picked || picked.file_id !== a.file_id) throw this.host.error("invalid_input", "that file is no longer open", "file_id");
        const { changes, problems } = picked.preview;
        if (problems.length > 0 && !a.valid_only) {
          throw this.host.error("invalid_input", `${problems.length} row(s) have problems; nothing was applied`, "file");
        }
        const byHash = new Map(changes.map((c) => [c.hash, c.to]));
        this.host.setKeys(profileId, this.host.keysOf(profileId).map((k) => (byHash.has(k.hash) ? { ...k, metadata: byHash.get(k.hash)! } : k)));
        return { applied: changes, skipped_rows: [...new Set(problems.map((p) => p.row))] };
      }
      case "keys_csv_create": {
        const picked = this.keysPick;
        if (!picked || picked.file_id !== a.file_id) throw this.host.error("invalid_input", "that file is no longer open", "file_id");
        const only = a.only_rows as number[] | undefined;
        const outcomes: KeysCsvRowOutcome[] = [];
        for (const k of picked.preview.keys.filter((k) => !only || only.includes(k.row))) {
          if (this.failRows.delete(k.row)) {
            outcomes.push({ row: k.row, name: k.name, result: { status: "failed", error: this.host.error("server", "OpenRouter answered 502"), may_exist: true } });
            continue;
          }
          const created = this.host.createKey({
            profile_id: profileId, name: k.name, limit: k.limit, limit_reset: k.limit_reset,
            include_byok_in_limit: k.include_byok_in_limit, expires_at: k.expires_at,
          });
          outcomes.push({ row: k.row, name: k.name, result: { status: "created", hash: created.key.hash, metadata_error: null } });
        }
        const count = (s: string) => outcomes.filter((o) => o.result.status === s).length;
        const run: KeysCsvRun = { outcomes, created: count("created"), failed: count("failed"), not_run: 0, cancelled: false };
        return run;
      }
    }
    throw this.host.error("internal", `unknown command ${cmd}`);
  }
}
