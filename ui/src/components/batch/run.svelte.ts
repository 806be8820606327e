// One batch run as the UI follows it: starts `batch_run` with a run id of its own, counts progress
// from `batch-progress` events (the run's own only), keeps the per-key results, cancels, and runs
// the same operation again on the failed keys ("Retry the failed").
import type { AppError } from "../../lib/bindings/AppError";
import type { BatchKeyResult } from "../../lib/bindings/BatchKeyResult";
import type { BatchOperation } from "../../lib/bindings/BatchOperation";
import type { BatchReport } from "../../lib/bindings/BatchReport";
import { call, on } from "../../lib/ipc";

export type BatchKind = BatchOperation["kind"];

export function newRunId(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `run-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

/** How an operation is named in titles, buttons and notices. */
export function operationLabel(op: BatchOperation): string {
  switch (op.kind) {
    case "disable": return "Disable";
    case "enable": return "Enable";
    case "set_limit": return "Set limit";
    case "clear_limit": return "Clear limit";
    case "assign_guardrail": return "Assign guardrail";
    case "delete": return "Delete";
  }
}

export class BatchRun {
  runId = $state("");
  total = $state(0);
  done = $state(0);
  failed = $state(0);
  notRun = $state(0);
  running = $state(false);
  cancelling = $state(false);
  /** Results as they arrive (the final report replaces them, in the order asked). */
  results = $state<BatchKeyResult[]>([]);
  report = $state<BatchReport | null>(null);
  error = $state<AppError | null>(null);

  readonly finished = $derived(this.done + this.failed + this.notRun);
  readonly failedHashes = $derived(this.results.filter((r) => r.outcome === "failed").map((r) => r.hash));

  constructor(private profileId: string, readonly operation: BatchOperation) {}

  /**
   * Runs the operation over `hashes`; resolves with the report (or null when the run was refused:
   * `error` says why, e.g. a limit Rust found invalid, and nothing was sent).
   */
  async start(hashes: string[], send: (args: { profile_id: string; run_id: string; hashes: string[]; operation: BatchOperation }) => Promise<BatchReport> = (args) => call("batch_run", args)): Promise<BatchReport | null> {
    const runId = newRunId();
    this.runId = runId;
    this.total = new Set(hashes).size;
    this.done = this.failed = this.notRun = 0;
    this.results = [];
    this.report = null;
    this.error = null;
    this.running = true;
    this.cancelling = false;
    const unlisten = await on("batch-progress", (event) => {
      if (event.run_id !== runId) return;
      this.total = event.total;
      this.done = event.done;
      this.failed = event.failed;
      this.notRun = event.not_run;
      this.results = [...this.results, event.last];
    });
    try {
      // Plain copies: the arguments cross to Rust (and must not be reactive proxies).
      const report = await send({ profile_id: this.profileId, run_id: runId, hashes: [...hashes], operation: $state.snapshot(this.operation) as BatchOperation });
      this.report = report;
      this.results = report.results;
      this.total = report.total;
      this.done = report.done;
      this.failed = report.failed;
      this.notRun = report.not_run;
      return report;
    } catch (e) {
      this.error = e as AppError;
      return null;
    } finally {
      unlisten();
      this.running = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.running || this.cancelling) return;
    this.cancelling = true;
    await call("batch_cancel", { run_id: this.runId });
  }
}
