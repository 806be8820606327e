// The key list's multi-select: click toggles a key, shift-click selects the range from the last
// clicked key (in the order shown), "select all" takes every key matching the filter, Esc clears.
// Keys that leave the list (deleted, filtered out by a refresh) leave the selection too.
import { SvelteSet } from "svelte/reactivity";

export class KeySelection {
  readonly hashes = new SvelteSet<string>();
  #anchor: string | null = null;

  readonly size = $derived(this.hashes.size);

  has(hash: string): boolean {
    return this.hashes.has(hash);
  }

  /** A click on a key's box: `shift` extends from the last clicked key over `order` (the list as shown). */
  click(hash: string, shift: boolean, order: readonly string[]): void {
    const from = this.#anchor === null ? -1 : order.indexOf(this.#anchor);
    const to = order.indexOf(hash);
    if (shift && from >= 0 && to >= 0) {
      const [start, end] = from < to ? [from, to] : [to, from];
      // The range takes the anchor's state: selecting extends a selection, clearing clears it.
      const select = this.hashes.has(this.#anchor as string);
      for (const h of order.slice(start, end + 1)) {
        if (select) this.hashes.add(h);
        else this.hashes.delete(h);
      }
    } else if (this.hashes.has(hash)) {
      this.hashes.delete(hash);
    } else {
      this.hashes.add(hash);
    }
    this.#anchor = hash;
  }

  selectAll(order: readonly string[]): void {
    for (const h of order) this.hashes.add(h);
  }

  clear(): void {
    this.hashes.clear();
    this.#anchor = null;
  }

  /** Drops keys no longer in `present`. */
  keepOnly(present: ReadonlySet<string>): void {
    for (const h of [...this.hashes]) if (!present.has(h)) this.hashes.delete(h);
  }

  list(): string[] {
    return [...this.hashes];
  }
}
