// Tells the shell, once per page load, that the first key table with rows was painted: the
// start-up time it logs (and `cargo xtask bench startup` reads) ends here. The effect that calls
// `mark` runs after the DOM update but before the frame is painted, so the report waits for the next
// animation frame and then a task, which runs once that frame is on screen.
import type { StartupPaintedArgs } from "./bindings/StartupPaintedArgs";
import { call } from "./ipc";

/** The page's clock (0 when the web view began loading the page). */
const pageNow = (): number => (typeof performance === "undefined" ? 0 : Math.round(performance.now()));
/** When the UI's script began to run: this module is evaluated with the bundle, before the app mounts. */
const scriptMs = pageNow();

type Schedule = (then: () => void) => void;

const afterNextPaint: Schedule = (then) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => setTimeout(then, 0));
  else setTimeout(then, 0);
};

export class FirstPaintMark {
  #sent = false;
  #keysMs: number | null = null;
  constructor(
    private readonly send: (args: StartupPaintedArgs) => Promise<unknown>,
    private readonly schedule: Schedule = afterNextPaint,
  ) {}

  /** The first key list arrived from the shell (the session calls this; later lists change nothing). */
  keysArrived(): void {
    this.#keysMs ??= pageNow();
  }

  /** A table with `rows` keys is in the DOM: report it after it is painted, the first time only. */
  mark(rows: number): void {
    if (this.#sent || rows <= 0) return;
    this.#sent = true;
    const rowsMs = pageNow();
    const keysMs = this.#keysMs ?? rowsMs;
    this.schedule(() => {
      // Only timing: a shell that can't take it changes nothing for the person.
      void this.send({ rows, script_ms: scriptMs, keys_ms: keysMs, rows_ms: rowsMs, painted_ms: pageNow() }).catch(() => {});
    });
  }

  get sent(): boolean {
    return this.#sent;
  }
}

export const firstPaint = new FirstPaintMark((args) => call("startup_painted", args));
