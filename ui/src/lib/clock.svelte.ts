// One shared ticking "now" for relative times and countdowns, so rows don't each run a timer.
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | null = null;
  #users = 0;

  /** Starts ticking while at least one user holds it; returns the release function. */
  use(): () => void {
    this.#users += 1;
    if (this.#timer === null) {
      this.now = Date.now();
      this.#timer = setInterval(() => (this.now = Date.now()), 1000);
    }
    return () => {
      this.#users -= 1;
      if (this.#users === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }
}

