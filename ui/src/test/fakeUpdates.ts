// The shell's updater for the component tests: what `update_check` answers, and what
// `update_install` does (emit progress, then fail as told or "restart" — resolve — otherwise).
import { emit } from "@tauri-apps/api/event";
import type { AppError } from "../lib/bindings/AppError";
import type { UpdateCheck } from "../lib/bindings/UpdateCheck";

export class FakeUpdates {
  /** The next checks' answer. */
  check: UpdateCheck = { status: "none", current_version: "0.1.0" };
  /** When set, `update_install` rejects with it (after the progress events). */
  installError: AppError | null = null;
  /** Download progress events `update_install` emits first: [downloaded, total] pairs. */
  progress: Array<[number, number | null]> = [[512 * 1024, 2 * 1024 * 1024], [2 * 1024 * 1024, 2 * 1024 * 1024]];
  /** While true, `update_install` waits until `finishInstall()`. */
  holdInstall = false;
  /** Versions installed ("restarted into"). */
  installed: string[] = [];
  /** Whether the tray asked for a check before the page listened. */
  tray = false;
  private release: (() => void) | null = null;

  finishInstall(): void {
    this.release?.();
  }

  async run(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "update_check":
        return structuredClone(this.check);
      case "update_check_take": {
        const asked = this.tray;
        this.tray = false;
        return asked;
      }
      case "update_install": {
        for (const [downloaded, total] of this.progress) await emit("update-progress", { downloaded, total });
        if (this.holdInstall) await new Promise<void>((resolve) => (this.release = resolve));
        if (this.installError) throw this.installError;
        this.installed.push(String(args.version));
        return null;
      }
      default:
        throw new Error(`unknown command ${cmd}`);
    }
  }
}
