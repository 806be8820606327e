// Accessibility and "nothing cut off" checks the browser suites run on every screen they photograph:
// axe-core (pinned in ui/package.json) for serious and critical violations, icon-only buttons without a
// tooltip or an accessible name, and text clipped with no way to read it. Findings are collected per
// screen (light and dark) and reported by one step at the end, so a finding never hides the flows.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/** Every screen checked, and what was found on it. */
export const audited = [];

/**
 * axe over the whole page plus the icon-button check. Injected with page.evaluate (DevTools protocol),
 * which the app's CSP does not govern, so the shipped CSP stays as strict as it is.
 */
export async function audit(page, screen) {
  const has = await page.evaluate(() => typeof window.axe !== "undefined");
  if (!has) await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    const violations = r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}${v.nodes.length > 3 ? ` (+${v.nodes.length - 3})` : ""}`);
    // An icon-only button (no word in its visible text: an icon, "✕", "?", a bare count) needs both a
    // tooltip and an accessible name.
    const icons = [...document.querySelectorAll("button, [role=button]")]
      .filter((b) => b.getClientRects().length > 0 && !/[\p{L}\p{N}]{2,}/u.test([...b.querySelectorAll("*")].some((c) => c.classList.contains("sr-only")) ? b.innerText : b.textContent ?? ""))
      .filter((b) => !b.getAttribute("title") || !(b.getAttribute("aria-label") || b.getAttribute("aria-labelledby")))
      .map((b) => `icon-only button without ${b.getAttribute("title") ? "aria-label" : "title"}: ${b.outerHTML.slice(0, 120)}`);
    return [...violations, ...icons];
  });
  audited.push({ screen, findings: result });
  return result;
}

/**
 * Text that is clipped (wider than its box, with overflow hidden or an ellipsis) and carries no title
 * (on itself or an ancestor) to read it by: what "cut off" means. `root` narrows the search.
 */
export async function clipped(page, root = "body") {
  return page.evaluate((sel) => {
    const out = [];
    const all = [...document.querySelectorAll(sel)].flatMap((r) => [r, ...r.querySelectorAll("*")]);
    for (const el of all) {
      if (el.getClientRects().length === 0) continue;
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
      if (!text) continue;
      const css = getComputedStyle(el);
      // Visually hidden text (.sr-only) is meant to be; form fields scroll their own text.
      if (el.closest(".sr-only")) continue;
      if (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.tagName === "OPTION") continue;
      // Cut off in its own box (overflow hidden, an ellipsis, a line clamp), or sticking out of an
      // ancestor that hides overflow (scrollable ancestors can be scrolled to it).
      const own = ["hidden", "clip"].includes(css.overflowX) || css.textOverflow === "ellipsis"
        ? el.scrollWidth > el.clientWidth + 1 || (css.webkitLineClamp !== "none" && el.scrollHeight > el.clientHeight + 2)
        : false;
      let byAncestor = false;
      // The text's own extent (a button narrower than its text lets it spill out of its box).
      const range = document.createRange();
      range.selectNodeContents(el);
      const r = range.getBoundingClientRect();
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const ac = getComputedStyle(a);
        if (["auto", "scroll"].includes(ac.overflowX)) break;
        if (["hidden", "clip"].includes(ac.overflowX)) {
          const ar = a.getBoundingClientRect();
          byAncestor = r.right > ar.right + 1 || r.left < ar.left - 1;
          break;
        }
      }
      if (!own && !byAncestor) continue;
      if (el.closest("[title]")) continue;
      out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")}: “${text.slice(0, 60)}” (${el.scrollWidth} > ${el.clientWidth} px)`);
    }
    return out;
  }, root);
}

/** Clipped text that has a title: readable on hover, but still cut off on screen. */
export async function clippedEvenWithTitle(page, root) {
  return page.evaluate((sel) => {
    const out = [];
    const all = [...document.querySelectorAll(sel)].flatMap((r) => [r, ...r.querySelectorAll("*")]);
    for (const el of all) {
      if (el.getClientRects().length === 0) continue;
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
      if (!text) continue;
      const css = getComputedStyle(el);
      if (!["hidden", "clip"].includes(css.overflowX) && css.textOverflow !== "ellipsis") continue;
      if (el.closest(".sr-only")) continue;
      if (el.scrollWidth > el.clientWidth + 1) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join(".")}: “${text.slice(0, 60)}” (${el.scrollWidth} > ${el.clientWidth} px)`);
    }
    return out;
  }, root);
}

/** The closing report: screens × schemes checked, and every finding. */
export function summary() {
  const bad = audited.filter((a) => a.findings.length > 0);
  const lines = bad.map((a) => `${a.screen}:\n      ${a.findings.join("\n      ")}`);
  return { checked: audited.length, bad: bad.length, text: lines.join("\n    ") };
}
