// The Content-Security-Policy the desktop app ships, for the browser tests to serve ui/dist under.
// Read from src-tauri/tauri.conf.json (never a second copy here) and rendered the way Tauri 2
// renders it for the Content-Security-Policy header of an HTML asset (tauri::manager::set_csp):
// `directive sources; …`. Tauri also appends nonces/hashes to script-src and style-src for inline
// <script>/<style> elements it finds in the HTML; ui/dist/index.html has none, so the header is
// exactly the configured policy — and `htmlNeedsNoTauriAdditions` checks that stays so.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const confPath = resolve(dirname(fileURLToPath(import.meta.url)), "../../../src-tauri/tauri.conf.json");

/** `app.security` of tauri.conf.json. */
export function securityConfig() {
  return JSON.parse(readFileSync(confPath, "utf8")).app.security;
}

/** The CSP header value the app's HTML is served with. */
export function shippedCsp() {
  const { csp } = securityConfig();
  if (!csp) throw new Error(`${confPath} sets no CSP`);
  if (typeof csp === "string") return csp;
  return Object.entries(csp)
    .map(([directive, sources]) => `${directive} ${Array.isArray(sources) ? sources.join(" ") : sources}`)
    .join("; ");
}

/**
 * Throws when the HTML holds an inline <script> or <style>: Tauri would add a hash or nonce for it
 * to the header, which this test's server does not imitate.
 */
export function htmlNeedsNoTauriAdditions(html) {
  const inlineScript = /<script(?![^>]*\bsrc=)[^>]*>/i.test(html);
  const inlineStyle = /<style[\s>]/i.test(html);
  if (inlineScript || inlineStyle) throw new Error("the HTML has an inline <script> or <style>; serve it with Tauri's hash/nonce");
}

/**
 * Runs in the page: tries an inline style attribute and an inline script, the two things a CSP
 * without 'unsafe-inline' refuses; returns which got through and the violations reported.
 */
export async function probeInline(page) {
  return page.evaluate(async () => {
    const violations = [];
    const onViolation = (e) => violations.push(`${e.violatedDirective}`);
    document.addEventListener("securitypolicyviolation", onViolation);
    const div = document.createElement("div");
    div.setAttribute("style", "color: rgb(1, 2, 3)");
    document.body.append(div);
    const styleApplied = getComputedStyle(div).color === "rgb(1, 2, 3)";
    div.remove();
    window.__kwInlineRan = false;
    const script = document.createElement("script");
    script.textContent = "window.__kwInlineRan = true;";
    document.body.append(script);
    script.remove();
    // Violation events are queued as tasks: let them arrive.
    await new Promise((r) => setTimeout(r, 50));
    document.removeEventListener("securitypolicyviolation", onViolation);
    return { styleApplied, scriptRan: window.__kwInlineRan === true, violations };
  });
}
