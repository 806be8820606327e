// Every icon-only button in the UI's source (an <Icon>, "✕", "?", a bare count: no word of visible text)
// carries both a tooltip (title) and an accessible name (aria-label), so pointer and screen-reader users
// both learn what it does. The browser suites check the same on every screen they show (a11y.mjs);
// this catches buttons no screen reaches.
import { describe, expect, it } from "vitest";

/** Every component's source, by path (Vite reads them at build time of the test). */
const sources = import.meta.glob<string>("../**/*.svelte", { query: "?raw", import: "default", eager: true });

/** The buttons of a component's markup: their attributes and the text they show. */
export function iconOnlyButtons(source: string): { attrs: string; inner: string }[] {
  const markup = source.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<style[\s\S]*?<\/style>/g, "").replace(/<!--[\s\S]*?-->/g, "");
  const found: { attrs: string; inner: string }[] = [];
  // Attributes may hold `{...}` expressions with ">" inside (arrow functions): match braces first.
  for (const m of markup.matchAll(/<button((?:\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}|[^>{])*)>([\s\S]*?)<\/button>/g)) {
    const [, attrs, inner] = m;
    // Visible words: text outside tags, with expressions counted as words (a label in a variable).
    const text = inner.replace(/<[^>]*>/g, " ").replace(/\{[#:/@][^}]*\}/g, " ").replace(/\{[^}]*\}/g, " word ");
    if (!/[\p{L}\p{N}]{2,}/u.test(text)) found.push({ attrs, inner: inner.trim() });
  }
  return found;
}

describe("icon-only buttons", () => {
  it("finds icon-only buttons and tells them from labelled ones", () => {
    const sample = `<button aria-label="Edit" title="Edit" onclick={() => go(1 > 0)}><Icon name="edit" /></button>
      <button class="x">✕</button><button>Save</button><button>{label}</button>`;
    const found = iconOnlyButtons(sample);
    expect(found.map((b) => b.inner)).toEqual(['<Icon name="edit" />', "✕"]);
  });

  it("every one in the source has a title and an aria-label", () => {
    const missing: string[] = [];
    let count = 0;
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    for (const [file, source] of Object.entries(sources)) {
      for (const b of iconOnlyButtons(source)) {
        count += 1;
        const title = /\stitle=/.test(b.attrs);
        const label = /\saria-label(ledby)?=/.test(b.attrs);
        if (!title || !label) missing.push(`${file}: ${!title ? "title" : ""} ${!label ? "aria-label" : ""} missing on <button${b.attrs.slice(0, 80)}>${b.inner.slice(0, 40)}`);
      }
    }
    expect(count).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
