// Tells the shell, once per page load, that the first key table with rows was painted: the
// start-up time it logs (and `cargo xtask bench startup` reads) ends here. The effect that calls
// `mark` runs after the DOM update but before the frame is painted, so the report waits for the next
// animation frame and then a task, which runs once that frame is on screen.
import { call } from "./ipc";

type Schedule = (then: () => void) => void;

const afterNextPaint: Schedule = (then) => {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => setTimeout(then, 0));
  else setTimeout(then, 0);
};

export class FirstPaintMark {
  #sent = false;
  constructor(
    private readonly send: (rows: number) => Promise<unknown>,
    private readonly schedule: Schedule = afterNextPaint,
  ) {}

  /** A table with `rows` keys is in the DOM: report it after it is painted, the first time only. */
  mark(rows: number): void {
    if (this.#sent || rows <= 0) return;
    this.#sent = true;
    this.schedule(() => {
      // Only timing: a shell that can't take it changes nothing for the person.
      void this.send(rows).catch(() => {});
    });
  }

  get sent(): boolean {
    return this.#sent;
  }
}

export const firstPaint = new FirstPaintMark((rows) => call("startup_painted", { rows }));
