// What the page-level browser suites (guardrails.mjs, fit.mjs) share: the fake shell built as one
// script, a built page served on 127.0.0.1 under the shipped CSP, Debian's Chromium, and a runner in
// which each step passes or fails and the run goes on, ending with a JUnit report.
import { createServer } from "node:http";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { chromium } from "playwright-core";
import { writeJunit } from "../../../tests/junit.mjs";
import { htmlNeedsNoTauriAdditions, shippedCsp } from "./csp.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const uiRoot = resolve(here, "../..");
export const artifacts = resolve(uiRoot, "../tests/artifacts/ui");
mkdirSync(artifacts, { recursive: true });

/** fake-entry.ts as one IIFE script, injected into each page before the app runs. */
export async function buildFakeScript() {
  const fake = await build({
    configFile: false,
    logLevel: "warn",
    build: { write: false, minify: false, lib: { entry: join(here, "fake-entry.ts"), formats: ["iife"], name: "KeywardFake", fileName: () => "fake.js" } },
  });
  return (Array.isArray(fake) ? fake[0] : fake).output.find((o) => o.type === "chunk").code;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

/** Serves the built page in `root` on 127.0.0.1 under the CSP the app ships, as Tauri serves it. */
export async function serveUnderCsp(root) {
  const csp = shippedCsp();
  htmlNeedsNoTauriAdditions(readFileSync(join(root, "index.html"), "utf8"));
  const server = await new Promise((ok) => {
    const s = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path === "/favicon.ico") return void res.writeHead(204).end();
      const file = normalize(join(root, path === "/" ? "index.html" : path));
      if (!file.startsWith(root) || !existsSync(file)) return void res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-security-policy": csp });
      res.end(readFileSync(file));
    });
    s.listen(0, "127.0.0.1", () => ok(s));
  });
  return { server, base: `http://127.0.0.1:${server.address().port}/` };
}

/** Debian's Chromium, headless, at the app's default window size, in a throwaway profile. */
export async function launchChromium() {
  const profileDir = mkdtempSync(join(tmpdir(), "kw-chromium-"));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, viewport: { width: 1200, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

export function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/**
 * Steps that pass or fail while the run goes on. A failed step screenshots `runner.lastPage` as
 * `<prefix>-failed-N.png`; `finish` writes the JUnit report (JUNIT_FILE, for cargo xtask test),
 * prints the count and exits 0 only when every step passed.
 */
export function createRunner(prefix, { messageLines = 6, timings = false } = {}) {
  let passed = 0;
  let failed = 0;
  const cases = [];
  const runner = {
    lastPage: null,
    async step(name, fn) {
      const started = Date.now();
      try {
        await fn();
        cases.push({ name, seconds: (Date.now() - started) / 1000 });
        passed += 1;
        console.log(`  ✓ ${name}${timings ? ` (${Date.now() - started} ms)` : ""}`);
      } catch (e) {
        failed += 1;
        cases.push({ name, seconds: (Date.now() - started) / 1000, failure: String(e?.stack ?? e) });
        await runner.lastPage?.screenshot({ path: join(artifacts, `${prefix}-failed-${failed}.png`) }).catch(() => {});
        console.log(`  ✗ ${name}\n    ${String(e?.message ?? e).split("\n").slice(0, messageLines).join("\n    ")}`);
      }
    },
    finish(suite) {
      writeJunit(process.env.JUNIT_FILE, suite, cases);
      console.log(`${passed} passed, ${failed} failed — screenshots: ${artifacts}/${prefix}-*.png`);
      process.exit(failed === 0 ? 0 : 1);
    },
  };
  return runner;
}
