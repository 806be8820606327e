// The "Where keys live" half of the fake shell: chosen folders (the native picker answers with
// `pickNext`), a scan that can be held open to show progress and be cancelled, the report, one key's
// places and the rotation's deploy suggestions. FakeBackend routes the locate commands here.
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { DeployTarget } from "../lib/bindings/DeployTarget";
import type { KeyLocations } from "../lib/bindings/KeyLocations";
import type { LocateReport } from "../lib/bindings/LocateReport";
import type { Place } from "../lib/bindings/Place";
import type { ScanProgress } from "../lib/bindings/ScanProgress";
import type { ScanSummary } from "../lib/bindings/ScanSummary";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export function makePlace(overrides: Partial<Place> & { path: string; key_hash: string }): Place {
  return { kind: "env_file", variable: "OPENROUTER_API_KEY", line: 1, modified_at: iso(Date.now() - 3600e3), found_at: iso(Date.now() - 600e3), ...overrides };
}

export function makeSummary(overrides: Partial<ScanSummary> = {}): ScanSummary {
  return {
    folders: ["/home/me/code"], started_at: iso(Date.now() - 601e3), finished_at: iso(Date.now() - 600e3),
    dirs_scanned: 120, files_scanned: 9, keychain_entries_checked: 1, places_found: 0, problems: [],
    cancelled: false, saved: true, ...overrides,
  };
}

export class FakeLocate {
  folders: string[] = [];
  /** What the native folder picker answers next (`null`: the person cancels). */
  pickNext: string | null = null;
  report: LocateReport = { folders: [], last_scan: null, keys: [], stale: [] };
  /** The report the next scan answers with (its summary gets `saved`). */
  nextScan: LocateReport | null = null;
  /** While true, `locate_scan` waits until `finishScan()` or a cancel. */
  holdScan = false;
  private pending: ((cancelled: boolean) => void) | null = null;
  suggestions: DeployTarget[] = [];

  async progress(p: ScanProgress): Promise<void> {
    await emit("locate-progress", p);
  }

  finishScan(): void {
    this.pending?.(false);
  }

  private placesOf(hash: string): Place[] {
    return this.report.keys.filter((k) => k.key_hash === hash).flatMap((k) => k.places);
  }

  run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "locate_folders":
        return [...this.folders];
      case "locate_folder_pick":
        if (this.pickNext && !this.folders.includes(this.pickNext)) this.folders.push(this.pickNext);
        this.pickNext = null;
        return [...this.folders];
      case "locate_folder_remove":
        this.folders = this.folders.filter((f) => f !== a.path);
        return [...this.folders];
      case "locate_report":
        return { ...this.report, folders: [...this.folders] };
      case "locate_scan": {
        if (this.folders.length === 0) {
          const error: AppError = { kind: "invalid_input", message: "no folders", field: "folders", retry_after_ms: null };
          throw error;
        }
        const done = (cancelled: boolean): LocateReport => {
          this.pending = null;
          if (cancelled) return { ...this.report, last_scan: makeSummary({ cancelled: true, saved: false }) };
          this.report = this.nextScan ?? { ...this.report, last_scan: makeSummary({ folders: [...this.folders] }) };
          return { ...this.report, folders: [...this.folders] };
        };
        if (!this.holdScan) return done(false);
        return new Promise<LocateReport>((resolve) => {
          this.pending = (cancelled) => resolve(done(cancelled));
        });
      }
      case "locate_scan_cancel": {
        const running = this.pending !== null;
        this.pending?.(true);
        return running;
      }
      case "key_locations": {
        const hash = String(a.key_hash);
        const replaced = this.report.stale.filter((e) => e.status === "rotated_away" && e.replaced_by?.key_hash === hash).map((e) => e.place);
        const result: KeyLocations = {
          key_hash: hash, places: this.placesOf(hash), replaced_key_places: replaced, scanned_at: this.report.last_scan?.finished_at ?? null,
        };
        return result;
      }
      case "locate_deploy_suggestions":
        return [...this.suggestions];
      default:
        throw new Error(`not a locate command: ${cmd}`);
    }
  }
}
