// Browser test: builds nothing itself (npm run test:browser builds ui/dist first), serves ui/dist on
// 127.0.0.1, injects the fake shell before the app loads and drives the main flows in Debian's
// Chromium with playwright-core. Screenshots go to /work/main/tests/artifacts/ui/.
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { chromium } from "playwright-core";
import { writeJunit } from "../../../tests/junit.mjs";
import { htmlNeedsNoTauriAdditions, probeInline, shippedCsp } from "./csp.mjs";
import { audit, summary } from "./a11y.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const uiRoot = resolve(here, "../..");
const dist = join(uiRoot, "dist");
const artifacts = resolve(uiRoot, "../tests/artifacts/ui");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
mkdirSync(artifacts, { recursive: true });

// ---- the fake shell, bundled into one classic script for addInitScript ----
async function bundleFake() {
  const out = await build({
    configFile: false,
    logLevel: "warn",
    build: {
      write: false,
      minify: false,
      lib: { entry: join(here, "fake-entry.ts"), formats: ["iife"], name: "KeywardFake", fileName: () => "fake.js" },
    },
  });
  const chunk = (Array.isArray(out) ? out[0] : out).output.find((o) => o.type === "chunk");
  return chunk.code;
}

// ---- a tiny static server for ui/dist, with the CSP the app ships (read from tauri.conf.json) ----
const CSP = shippedCsp();
htmlNeedsNoTauriAdditions(readFileSync(join(dist, "index.html"), "utf8"));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon" };
function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(dist, path === "/" ? "index.html" : path));
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-security-policy": CSP,
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ---- a minimal runner: each step passes or fails, the run goes on ----
let passed = 0;
let failed = 0;
const cases = [];
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    cases.push({ name, seconds: (Date.now() - started) / 1000 });
    passed += 1;
    console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    cases.push({ name, seconds: (Date.now() - started) / 1000, failure: String(e?.stack ?? e) });
    failed += 1;
    console.log(`  ✗ ${name}\n    ${String(e?.message ?? e).split("\n").slice(0, 6).join("\n    ")}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}

const fakeScript = await bundleFake();
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}/`;
const profileDir = mkdtempSync(join(tmpdir(), "kw-chromium-"));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1200, height: 800 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});

const cspViolations = [];
const pageErrors = [];
async function openPage(scenario, colorScheme = "light") {
  const page = await context.newPage();
  page.setDefaultTimeout(5000);
  await page.emulateMedia({ colorScheme });
  page.on("console", (m) => {
    if (m.type() === "error" && /Content.Security.Policy|Refused to/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  await page.addInitScript(`window.__KW_SCENARIO__ = ${JSON.stringify(scenario)};`);
  await page.addInitScript(fakeScript);
  await page.goto(base);
  return page;
}
// Every screen photographed is also checked: axe-core and icon-only buttons (tests/browser/a11y.mjs).
const shot = async (page, name) => {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
  await audit(page, name);
};

console.log(`browser test: ${CHROMIUM} against ${base}\n  CSP (src-tauri/tauri.conf.json): ${CSP}`);
let secret = "";
let createdName = "browser-test-key";

for (const scheme of ["light", "dark"]) {
  console.log(`-- ${scheme}`);
  const page = await openPage({ kind: "fresh", sandboxKeys: 10000 }, scheme);

  await step(`${scheme}: welcome screen`, async () => {
    await page.getByRole("heading", { name: "Welcome to Keyward" }).waitFor();
    await shot(page, `${scheme}-01-welcome`);
  });

  await step(`${scheme}: an inference key is refused with an explanation`, async () => {
    await page.getByRole("button", { name: /Add your management key/ }).click();
    const field = page.getByLabel("Management key");
    await field.fill("sk-or-v1-0123456789abcdef");
    assert(await field.getAttribute("type") === "password", "key field is masked");
    await page.keyboard.press("Enter");
    await page.getByText(/is an inference key: it can call models but cannot manage keys/).waitFor();
    await page.getByRole("link", { name: "Open the management keys page" }).waitFor();
    assert(await field.inputValue() === "", "field cleared after use");
    await shot(page, `${scheme}-01b-inference-key-refused`);
    await page.getByRole("button", { name: "Cancel" }).click();
  });

  await step(`${scheme}: sandbox opens with 10,000 keys, virtualized`, async () => {
    await page.getByRole("button", { name: /Try the sandbox/ }).click();
    await page.getByText("SANDBOX", { exact: true }).first().waitFor();
    await page.getByText(/^[\d,]+ keys$/).waitFor();
    const rows = await page.locator(".rows [role=row]").count();
    assert(rows > 5 && rows < 80, `expected a window of rows, got ${rows}`);
    await page.getByText(/updated/).waitFor();
    // Every header action fits one row at 1200 px (it wrapped to two once the bell, usage, settings
    // and rotations buttons came); the status filter shows its whole label.
    const bar = await page.locator("header .bar").boundingBox();
    assert(bar && bar.height <= 60, `header is ${bar?.height} px high at 1200 px: it wraps`);
    const room = await page.locator("#status-filter").evaluate((el) => {
      const css = getComputedStyle(el);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = `${css.fontWeight} ${css.fontSize} ${css.fontFamily}`;
      const text = ctx.measureText(el.options[el.selectedIndex].text).width;
      // The drop-down arrow takes about 20 px beside the padding.
      return el.clientWidth - parseFloat(css.paddingLeft) - parseFloat(css.paddingRight) - 20 - text;
    });
    assert(room >= 0, `the status filter's label is cut off (${room.toFixed(1)} px short)`);
    await shot(page, `${scheme}-02-list`);
  });

  await step(`${scheme}: scrolls through 10,000 rows, rendering only a window`, async () => {
    const table = page.locator("[data-virtual-scroll]");
    const total = Number((await page.getByText(/^[\d,]+ keys$/).textContent()).replace(/\D/g, ""));
    await table.evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.locator(`.rows [role=row][aria-rowindex="${total + 1}"]`).waitFor();
    const rows = await page.locator(".rows [role=row]").count();
    assert(rows < 80, `after scrolling, ${rows} rows in the DOM`);
    await table.evaluate((el) => { el.scrollTop = el.scrollHeight / 2; });
    await page.waitForTimeout(50);
    const mid = await page.locator(".rows [role=row]").first().getAttribute("aria-rowindex");
    assert(Number(mid) > total / 3, `middle window starts at row ${mid}`);
    await table.evaluate((el) => { el.scrollTop = 0; });
    await page.locator('.rows [role=row][aria-rowindex="2"]').waitFor();
  });

  await step(`${scheme}: smallest window (900×600) still reads`, async () => {
    await page.setViewportSize({ width: 900, height: 600 });
    await page.getByText("SANDBOX", { exact: true }).first().waitFor();
    await shot(page, `${scheme}-02b-list-900x600`);
    await page.setViewportSize({ width: 1200, height: 800 });
  });

  await step(`${scheme}: search, filter, sort`, async () => {
    const search = page.getByRole("searchbox", { name: "Search keys" });
    await page.keyboard.press("/");
    assert(await search.evaluate((el) => el === document.activeElement), "/ should focus search");
    await search.fill("globex-ci");
    await page.getByText(/^[\d,]+ of [\d,]+$/).waitFor();
    const names = await page.locator(".rows .who .name").allTextContents();
    assert(names.length > 0 && names.every((n) => n.includes("globex-ci")), `search results: ${names.slice(0, 3)}`);
    await search.fill("");
    await page.getByLabel("Status").selectOption("disabled");
    const statuses = await page.locator(".rows .badge").allTextContents();
    assert(statuses.length > 0 && statuses.every((s) => s === "disabled"), `status filter: ${statuses.slice(0, 3)}`);
    await page.getByLabel("Status").selectOption("all");
    const t0 = Date.now();
    await page.getByRole("button", { name: "Total", exact: true }).click();
    await page.locator('[role=columnheader][aria-sort="descending"]').getByText("Total").waitFor();
    const elapsed = Date.now() - t0;
    const totals = (await page.locator(".rows [role=row] .cell[data-col=usage]").allTextContents())
      .map((t) => Number(t.replace(/[$,]/g, "")));
    assert(totals.length > 3 && totals.every((v, i) => i === 0 || totals[i - 1] >= v), `not sorted desc: ${totals.slice(0, 5)}`);
    assert(elapsed < 1500, `sorting 10,000 rows took ${elapsed} ms`);
    await page.getByText("≥ 80 % of limit").click();
    await page.getByText(/^[\d,]+ of [\d,]+$/).waitFor();
    await shot(page, `${scheme}-03-filtered`);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    // Keyboard sorting: focus a header and press Enter.
    await page.getByRole("button", { name: "Name", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.locator('[role=columnheader][aria-sort="ascending"]').getByText("Name").waitFor();
  });

  createdName = `browser-test-${scheme}`;
  await step(`${scheme}: create a key (validation, secret shown once, forget)`, async () => {
    // Leave the search field without clicking a row (a row click opens the key's details).
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.press("n");
    const dialog = page.getByRole("dialog", { name: "New key" });
    await dialog.waitFor();
    await dialog.getByLabel("Spending limit (USD)").fill("-5");
    await dialog.getByLabel("Name").fill("");
    await dialog.getByRole("button", { name: "Create key" }).click();
    await dialog.getByText("Name must not be empty").waitFor();
    await dialog.getByText("Limit must not be negative").waitFor();
    await shot(page, `${scheme}-04-create-errors`);
    await dialog.getByLabel("Name").fill(createdName);
    await dialog.getByLabel("Spending limit (USD)").fill("10");
    await dialog.getByLabel("Limit resets").selectOption("monthly");
    await dialog.getByRole("button", { name: "30 days" }).click();
    await dialog.getByText(/Sent as \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(UTC\)/).waitFor();
    await dialog.getByLabel("Name").focus();
    await page.keyboard.press("Enter");
    const secretDialog = page.getByRole("dialog", { name: /Key created/ });
    await secretDialog.waitFor();
    secret = await secretDialog.getByLabel("Secret").inputValue();
    assert(await secretDialog.evaluate((d) => d.contains(document.activeElement)), "focus is inside the secret dialog");
    assert(secret.startsWith("sk-or-v1-"), "secret shown");
    await secretDialog.getByRole("button", { name: "Copy" }).click();
    await secretDialog.getByText("Copied — clipboard clears in 30 s").waitFor();
    await shot(page, `${scheme}-05-secret`);
    await secretDialog.getByRole("button", { name: /forget it/ }).click();
    await secretDialog.waitFor({ state: "detached" });
    const leftovers = await page.evaluate((text) => document.body.innerHTML.includes(text)
      || [...document.querySelectorAll("input, textarea")].some((el) => el.value.includes(text)), secret);
    assert(!leftovers, "secret still on the page after close");
  });

  await step(`${scheme}: edit the limit`, async () => {
    await page.getByRole("searchbox", { name: "Search keys" }).fill(createdName);
    await page.getByRole("button", { name: `Edit ${createdName}` }).click();
    const dialog = page.getByRole("dialog", { name: `Edit ${createdName}` });
    await dialog.getByLabel("Spending limit (USD)").fill("20");
    await shot(page, `${scheme}-06-edit`);
    await dialog.getByRole("button", { name: "Save changes" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.locator(".rows [role=row]").filter({ hasText: createdName }).getByText(/left of \$20\.00$/).waitFor();
    const sent = await page.evaluate(() => window.__kw.fake.callsOf("key_update").at(-1));
    assert(JSON.stringify(Object.keys(sent).sort()) === JSON.stringify(["hash", "limit", "profile_id"]), `sent ${JSON.stringify(sent)}`);
  });

  await step(`${scheme}: disable from the row`, async () => {
    await page.getByRole("button", { name: `Disable ${createdName}` }).click();
    await page.locator(".rows [role=row]").filter({ hasText: createdName }).getByText("disabled", { exact: true }).waitFor();
  });

  await step(`${scheme}: delete with confirmation`, async () => {
    await page.getByRole("button", { name: `Delete ${createdName}` }).click();
    const dialog = page.getByRole("dialog", { name: `Delete “${createdName}”?` });
    await dialog.getByText("This cannot be undone.").waitFor();
    await shot(page, `${scheme}-07-delete`);
    await dialog.getByRole("button", { name: "Delete key" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("heading", { name: "No keys match" }).waitFor();
    await page.getByRole("searchbox", { name: "Search keys" }).fill("");
  });

  await step(`${scheme}: check a key`, async () => {
    await page.getByRole("button", { name: "Check a key" }).click();
    const dialog = page.getByRole("dialog", { name: "Check a key" });
    await dialog.getByLabel("Key", { exact: true }).fill(secret);
    await dialog.getByRole("button", { name: "Check", exact: true }).click();
    await dialog.getByText("Inference key").waitFor();
    assert((await dialog.getByLabel("Key", { exact: true }).inputValue()) === "", "field cleared after check");
    await shot(page, `${scheme}-08-check`);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  await step(`${scheme}: shortcuts help`, async () => {
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await page.keyboard.press("Escape");
  });
  await page.close();

  const offline = await openPage({ kind: "offline", keys: 40 }, scheme);
  await step(`${scheme}: offline banner, read-only, recovers`, async () => {
    await offline.getByText("OpenRouter is unreachable").waitFor();
    await offline.getByText(/read-only until OpenRouter answers again/).waitFor();
    assert(await offline.getByRole("button", { name: "New key" }).getAttribute("aria-disabled") === "true", "New key disabled offline");
    await shot(offline, `${scheme}-09-offline`);
    await offline.evaluate(() => window.__kw.setConnectivity({ state: "rate_limited", retry_at: new Date(Date.now() + 45_000).toISOString(), error: { kind: "rate_limited", message: "Rate limit exceeded", field: null, retry_after_ms: 45000 } }));
    await offline.getByText(/Retrying in \d+ s/).waitFor();
    await shot(offline, `${scheme}-10-rate-limited`);
    await offline.evaluate(() => window.__kw.setConnectivity({ state: "online" }));
    await offline.getByText("OpenRouter is rate limiting Keyward").waitFor({ state: "detached" });
    assert(await offline.getByRole("button", { name: "New key" }).getAttribute("aria-disabled") === "false", "New key enabled again");
  });
  await offline.close();

  // ---- watching keys: alerts, key details with the spend chart, usage, settings ----
  const watch = await openPage({ kind: "watch", keys: 40 }, scheme);
  /** Pixels of a chart's canvas that are drawn on (not transparent): a blank canvas has none. */
  const inked = (loc) => loc.locator("canvas").first().evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });

  await step(`${scheme}: key rows show their alerts; the header counts them`, async () => {
    await watch.getByText(/^[\d,]+ keys$/).waitFor();
    const bell = watch.getByRole("button", { name: /^Alerts: \d+/ });
    await bell.waitFor();
    const count = Number((await bell.getAttribute("aria-label")).match(/\d+/)[0]);
    assert(count > 0, "the seeded keys raise alerts");
    assert(await watch.locator(".rows .alert-badge").count() > 0, "badges in the rows");
    await shot(watch, `${scheme}-11-list-alerts`);
  });

  await step(`${scheme}: alerts panel (keyboard), snooze, pause and resume`, async () => {
    await watch.keyboard.press("a");
    const panel = watch.getByRole("dialog", { name: "Alerts" });
    await panel.waitFor();
    await panel.getByRole("heading", { name: /Critical|Warning/ }).first().waitFor();
    await shot(watch, `${scheme}-12-alerts`);
    const before = Number((await watch.getByRole("button", { name: /^Alerts: \d+/ }).getAttribute("aria-label")).match(/\d+/)[0]);
    const first = panel.getByRole("button", { name: /^Snooze 1 day: / }).first();
    await first.click();
    await watch.getByRole("button", { name: `Alerts: ${before - 1}` }).or(watch.getByRole("button", { name: `Alerts: ${before - 2}` })).first().waitFor();
    await panel.getByRole("button", { name: "Pause 1 h" }).click();
    await panel.getByText(/Paused until/).waitFor();
    await shot(watch, `${scheme}-13-alerts-paused`);
    await panel.getByRole("button", { name: "Resume" }).click();
    await panel.getByText(/Paused until/).waitFor({ state: "detached" });
    await watch.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
  });

  await step(`${scheme}: key details with the 30-day chart, limit and forecast`, async () => {
    const name = await watch.evaluate(() => {
      const f = window.__kw.fake;
      const key = f.keys.p1.find((k) => k.status === "active" && k.limit !== null && f.watch.history("p1", k).forecast?.hits_limit_at);
      return key?.name ?? null;
    });
    assert(name, "a seeded key forecast to hit its limit");
    await watch.getByRole("searchbox", { name: "Search keys" }).fill(name);
    // Enter on the focused name opens it (keyboard path).
    await watch.getByRole("button", { name, exact: true }).focus();
    await watch.keyboard.press("Enter");
    const details = watch.getByRole("dialog", { name });
    await details.locator("figure.chart canvas").first().waitFor();
    assert(await details.locator("figure.chart").getAttribute("data-forecast") === "hits-limit", "forecast line drawn to the limit");
    await details.getByText("Forecast", { exact: true }).waitFor();
    assert(await inked(details) > 500, "the chart canvas is drawn on");
    await details.getByRole("region", { name: "Rotation" }).waitFor();
    await shot(watch, `${scheme}-14-key-details`);
    // Its guardrail, BYOK and logs, and what stops it first (the guardrail's daily budget, highlighted).
    const stops = details.getByRole("region", { name: "What stops this key first" });
    await stops.locator("tr.first").waitFor();
    assert((await stops.locator("tr.first th").innerText()).startsWith("Guardrail · Production allowlist"), "the guardrail stops it first");
    await details.getByRole("region", { name: "BYOK and logs" }).getByText("Langfuse (prod)").waitFor();
    await stops.evaluate((el) => el.scrollIntoView({ block: "end" }));
    // Earlier steps' notices would cover the table's right columns in the picture.
    const dismiss = watch.getByRole("button", { name: "Dismiss" });
    for (let i = 0; i < 10 && (await dismiss.count()) > 0; i++) await dismiss.first().click();
    await shot(watch, `${scheme}-14b-key-account`);
    const table = await stops.locator("table").boundingBox();
    const wrap = await stops.locator(".table-wrap").boundingBox();
    assert(table.width <= wrap.width + 1, `the stops table fits the drawer (${table.width} > ${wrap.width})`);
    await watch.keyboard.press("Escape");
    await details.waitFor({ state: "detached" });
    await watch.getByRole("searchbox", { name: "Search keys" }).fill("");
    await watch.evaluate(() => document.activeElement?.blur());
  });

  await step(`${scheme}: open-key from a notification selects and opens the key`, async () => {
    const key = await watch.evaluate(() => window.__kw.fake.keys.p1[7]);
    await watch.evaluate((hash) => window.__kw.emit("open-key", { profile_id: "p1", key_hash: hash }), key.hash);
    const details = watch.getByRole("dialog", { name: key.name });
    await details.waitFor();
    await watch.locator(`.rows [role=row].selected[data-hash="${key.hash}"]`).waitFor();
    await watch.keyboard.press("Escape");
  });

  await step(`${scheme}: extend expiry from a notification: dialog, Rust's check, then the rotation wizard`, async () => {
    const key = await watch.evaluate(() => window.__kw.fake.keys.p1.find((k) => k.status === "active" && k.expires_at));
    assert(key, "a seeded key with an expiry");
    await watch.evaluate((hash) => window.__kw.emit("open-key", { profile_id: "p1", key_hash: hash, action: "extend_expiry" }), key.hash);
    const dialog = watch.getByRole("dialog", { name: `Extend the expiry of ${key.name}` });
    await dialog.waitFor();
    await dialog.getByRole("textbox", { name: "Days from now" }).fill("0");
    await dialog.getByRole("button", { name: "Continue to rotation…" }).click();
    await dialog.getByRole("alert").getByText("Expiry must be at least 1 day").waitFor();
    await shot(watch, `${scheme}-15a-extend-expiry`);
    await dialog.getByRole("textbox", { name: "Days from now" }).fill("180");
    await dialog.getByRole("button", { name: "Continue to rotation…" }).click();
    const wizard = watch.getByRole("dialog", { name: `Rotate ${key.name}?` });
    await wizard.getByText(/expires 180 days after rotation/).waitFor();
    await shot(watch, `${scheme}-15b-extend-expiry-wizard`);
    await watch.keyboard.press("Escape");
    await wizard.waitFor({ state: "detached" });
    await watch.keyboard.press("Escape");
    await watch.getByRole("dialog", { name: key.name }).waitFor({ state: "detached" });
  });

  await step(`${scheme}: usage across keys`, async () => {
    await watch.keyboard.press("u");
    const panel = watch.getByRole("dialog", { name: /^Usage/ });
    await panel.locator("figure.chart canvas").first().waitFor();
    assert(await inked(panel) > 500, "the usage chart is drawn on");
    await shot(watch, `${scheme}-15-usage`);
    await watch.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
  });

  await step(`${scheme}: settings, with inline validation`, async () => {
    await watch.keyboard.press("s");
    const dialog = watch.getByRole("dialog", { name: "Settings" });
    const interval = dialog.getByLabel("Check every (minutes)");
    await interval.waitFor();
    assert(await interval.evaluate((el) => el === document.activeElement), "focus on the first field");
    await shot(watch, `${scheme}-16-settings`);
    await interval.fill("0.05");
    await dialog.getByLabel("Limit used reaches (%)").fill("80, 150");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("Check no more often than every 10 seconds (0.17 min)").waitFor();
    await dialog.getByText("Whole percentages between 1 and 100, separated by commas").waitFor();
    await shot(watch, `${scheme}-17-settings-errors`);
    await interval.fill("10");
    await dialog.getByLabel("Limit used reaches (%)").fill("75, 100");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.waitFor({ state: "detached" });
    const saved = await watch.evaluate(() => window.__kw.fake.watch.settings);
    assert(saved.interval_secs === 600 && saved.limit_percents.join() === "75,100", `saved ${JSON.stringify(saved)}`);
  });

  await step(`${scheme}: no alerts — when Keyward checks`, async () => {
    await watch.evaluate(() => {
      const f = window.__kw.fake;
      f.watch.alerts = [];
      return window.__kw.emit("alerts-changed", f.watch.snapshot(null));
    });
    await watch.getByRole("button", { name: "Alerts: 0" }).click();
    const panel = watch.getByRole("dialog", { name: "Alerts" });
    await panel.getByText(/Keyward checks every 10 min; last check/).waitFor();
    await shot(watch, `${scheme}-18-alerts-empty`);
    await watch.keyboard.press("Escape");
  });
  await watch.close();

  // ---- rotation: policy editor, the wizard (failure, waiting), the Rotations panel, batch rotation ----
  const rot = await openPage({ kind: "rotation" }, scheme);
  await step(`${scheme}: rotation policy editor — targets, inline errors from the shell`, async () => {
    await rot.getByRole("button", { name: "prod-api", exact: true }).click();
    const details = rot.getByRole("dialog", { name: "prod-api" });
    const section = details.getByRole("region", { name: "Rotation" });
    await section.getByText("no schedule (by hand only)").waitFor();
    await section.getByRole("button", { name: "Rotation policy…" }).click();
    const dialog = rot.getByRole("dialog", { name: "Rotation policy — prod-api" });
    await dialog.getByRole("button", { name: "+ .env file" }).click();
    await dialog.getByLabel(".env file path").fill("srv/app/.env");
    await dialog.getByRole("button", { name: "+ Command" }).click();
    await dialog.getByLabel("Program").fill("/usr/local/bin/reload-app");
    await dialog.getByLabel("Arguments (one per line)").fill("--service\napi");
    await dialog.getByRole("button", { name: "+ Clipboard" }).click();
    await dialog.getByRole("button", { name: "Move target 3 up" }).click();
    await dialog.getByLabel("Rotate every", { exact: true }).check();
    await dialog.getByLabel("Rotate every how many days").fill("30");
    await dialog.getByRole("button", { name: "Save policy" }).click();
    await dialog.getByText(/^Path "srv\/app\/\.env" is relative; give the full path/).waitFor();
    assert(await dialog.getByLabel(".env file path").evaluate((el) => el === document.activeElement), "focus on the field at fault");
    await shot(rot, `${scheme}-20-rotation-policy`);
    await dialog.getByLabel(".env file path").fill("/srv/app/.env");
    await dialog.getByRole("button", { name: "Save policy" }).click();
    await dialog.waitFor({ state: "detached" });
    await section.getByText("every 30 days").waitFor();
    await section.getByText("OPENROUTER_API_KEY in /srv/app/.env").waitFor();
  });

  await step(`${scheme}: rotation wizard — what will happen, a failed deploy, retry, waiting for drain`, async () => {
    await rot.evaluate(() => {
      // The deploy to /srv/worker/.env fails, as the core's did (src/test/fixtures/rotation-replays.json).
      window.__kw.fake.rotation.scenario = "deploy_fails";
    });
    const section = rot.getByRole("dialog", { name: "prod-api" }).getByRole("region", { name: "Rotation" });
    await section.getByRole("button", { name: "Rotate…" }).click();
    const confirm = rot.getByRole("dialog", { name: "Rotate prod-api?" });
    await confirm.getByText("OPENROUTER_API_KEY in /srv/app/.env").waitFor();
    await shot(rot, `${scheme}-21-rotation-confirm`);
    await confirm.getByRole("button", { name: "Start rotation" }).click();
    const wizard = rot.getByRole("dialog", { name: "Rotating prod-api" });
    await wizard.getByRole("button", { name: "Retry" }).waitFor({ timeout: 8000 });
    await wizard.getByText(/the directory \/srv\/worker does not exist/).first().waitFor();
    await shot(rot, `${scheme}-22-rotation-failed`);
    await wizard.getByRole("button", { name: "Roll back…" }).click();
    await wizard.getByRole("group", { name: "Roll back this rotation?" }).getByText(/kept, because its secret already went/).waitFor();
    await rot.keyboard.press("Tab");
    await wizard.getByRole("button", { name: "Cancel" }).click();
    await wizard.getByRole("button", { name: "Retry" }).click();
    await wizard.getByText(/Waiting for the old key's usage to stay still for 15 min — quiet since/).waitFor({ timeout: 8000 });
    await shot(rot, `${scheme}-23-rotation-waiting`);
    await wizard.getByRole("button", { name: "Old key is no longer used" }).click();
    await wizard.getByRole("button", { name: "Yes, disable the old key" }).click();
    await wizard.getByText(/prod-api is disabled; Keyward deletes it in/).waitFor({ timeout: 8000 });
    await rot.keyboard.press("Escape");
    await wizard.waitFor({ state: "detached" });
    // Back in the key's details: the rotation under way, its policy, and focus on the button that opened it.
    await section.getByText("Rotation waiting").waitFor();
    assert(await section.getByRole("button", { name: "Open rotation" }).evaluate((el) => el === document.activeElement), "focus back on the section's button");
    await section.scrollIntoViewIfNeeded();
    await shot(rot, `${scheme}-23b-rotation-in-details`);
    await rot.keyboard.press("Escape");
  });

  await step(`${scheme}: rotations under way — header count, row marker, batch by pattern`, async () => {
    await rot.getByRole("button", { name: "Rotations: 1" }).waitFor();
    await rot.locator(".rows [role=row]").filter({ has: rot.getByRole("button", { name: "prod-api", exact: true }) }).getByText("rotating").waitFor();
    await rot.locator(".rows [role=row]").filter({ hasText: "prod-api · rotated" }).getByText("new").waitFor();
    await rot.evaluate(() => {
      window.__kw.fake.rotation.scenario = (key) => (key.name === "prod-worker" ? "deploy_fails" : null);
    });
    await rot.getByRole("button", { name: "Rotations: 1" }).click();
    const panel = rot.getByRole("dialog", { name: "Rotations" });
    await panel.getByRole("button", { name: "Rotate several keys…" }).click();
    const batch = rot.getByRole("dialog", { name: "Rotate several keys" });
    await batch.getByLabel("Key names matching").fill("prod-*");
    // The new key of prod-api's rotation matches too, but is left out like prod-api itself.
    await batch.getByText("2 of 5 matching keys will be rotated").waitFor();
    await shot(rot, `${scheme}-24-batch-preview`);
    await rot.keyboard.press("Enter");
    const confirm = rot.getByRole("dialog", { name: "Rotate 2 keys?" });
    await confirm.getByRole("button", { name: "Rotate 2 keys" }).click();
    const progress = rot.getByRole("dialog", { name: "Rotating keys" });
    await progress.getByText("0 completed · 1 waiting · 1 failed · 0 running").waitFor({ timeout: 10000 });
    await progress.getByText(/deploying failed for .env file \/srv\/worker\/.env/).waitFor();
    await shot(rot, `${scheme}-25-batch-results`);
    await progress.getByRole("button", { name: "Open the rotation of prod-worker" }).click();
    await rot.getByRole("dialog", { name: "Rotating prod-worker" }).getByRole("button", { name: "Retry" }).waitFor();
    await rot.keyboard.press("Escape");
    await rot.keyboard.press("Escape");
    await rot.getByRole("button", { name: "Rotations: 3" }).waitFor();
  });
  await rot.close();

  // ---- workspaces: the key list's column, filter and grouping; the Workspaces view; editing a budget ----
  const ws = await openPage({ kind: "workspaces", keys: 3000 }, scheme);
  await step(`${scheme}: workspace column, filter and grouping, nothing cut off at 1200 px`, async () => {
    const all = ws.getByText(/^[\d,]+ keys$/);
    await all.waitFor();
    const total = Number((await all.textContent()).replace(/\D/g, ""));
    await ws.getByRole("columnheader", { name: "Workspace" }).waitFor();
    const cells = await ws.locator(".rows .cell.workspace").allTextContents();
    assert(cells.includes("Research") && cells.includes("Default Workspace"), `workspace cells: ${cells.slice(0, 4)}`);
    const fits = await ws.locator("[data-virtual-scroll]").evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
    assert(fits, "the key table scrolls sideways at 1200 px: columns are cut off");
    const bar = await ws.locator("header .bar").boundingBox();
    assert(bar && bar.height <= 60, `header bar is ${bar?.height} px high at 1200 px`);
    await shot(ws, `${scheme}-30-workspace-column`);
    await ws.getByLabel("Workspace", { exact: true }).selectOption({ label: "Research" });
    const part = ws.getByText(/^[\d,]+ of [\d,]+$/);
    await part.waitFor();
    const [shown] = (await part.textContent()).split(" of ").map((n) => Number(n.replace(/\D/g, "")));
    assert(shown > total / 4 && shown < total / 2, `Research holds about a third of ${total} keys, the filter shows ${shown}`);
    await ws.getByLabel("Workspace", { exact: true }).selectOption({ label: "All workspaces" });
    await all.waitFor();
    await ws.getByLabel("Group by workspace").check();
    const research = ws.locator(".row.group").filter({ hasText: "Research" });
    await ws.locator(".row.group").filter({ hasText: "Default Workspace" }).getByText(`${(total - shown).toLocaleString("en-US")} keys`).waitFor();
    // Research's header follows the default workspace's rows (48 px each, its header too).
    await ws.locator("[data-virtual-scroll]").evaluate((el, rows) => { el.scrollTop = rows * 48; }, 1 + total - shown);
    await research.getByText(`${shown.toLocaleString("en-US")} keys`).waitFor();
    await ws.locator("[data-virtual-scroll]").evaluate((el) => { el.scrollTop = 0; });
    const rows = await ws.locator(".rows [role=row]").count();
    assert(rows < 80, `grouped: ${rows} rows in the DOM`);
    await shot(ws, `${scheme}-31-grouped`);
    await ws.getByLabel("Group by workspace").uncheck();
  });

  await step(`${scheme}: switch to Workspaces (Ctrl+2), budgets and members`, async () => {
    await ws.getByRole("tab", { name: "Keys", exact: true }).focus();
    await ws.keyboard.press("Control+2");
    const card = ws.getByRole("article", { name: "Research" });
    await card.waitFor();
    const tab = ws.getByRole("tab", { name: "Workspaces" });
    assert(await tab.getAttribute("aria-selected") === "true", "Workspaces tab selected");
    await card.getByText("Ada Lovelace").waitFor();
    await card.getByRole("row", { name: /Monthly/ }).getByRole("meter").waitFor();
    await shot(ws, `${scheme}-32-workspaces`);
  });

  await step(`${scheme}: edit a budget (checked by the shell), remove one with confirmation`, async () => {
    const card = ws.getByRole("article", { name: "Research" });
    await card.getByRole("button", { name: "Edit budgets of Research" }).click();
    const dialog = ws.getByRole("dialog", { name: "Budgets of Research" });
    await dialog.getByLabel("Weekly (USD)").fill("0");
    await dialog.getByRole("button", { name: "Save budgets" }).click();
    await dialog.getByText("Weekly budget must be a number of US dollars greater than 0").waitFor();
    await shot(ws, `${scheme}-33-budget-invalid`);
    await dialog.getByLabel("Weekly (USD)").fill("80");
    await dialog.getByRole("button", { name: "Remove the monthly budget" }).click();
    await dialog.getByRole("button", { name: "Save budgets" }).click();
    await dialog.getByText("Remove the monthly budget of Research?").waitFor();
    await shot(ws, `${scheme}-34-budget-remove-confirm`);
    await dialog.getByRole("button", { name: "Remove and save" }).click();
    await dialog.waitFor({ state: "detached" });
    await card.getByRole("row", { name: /Weekly/ }).getByText("$80.00").waitFor();
    await card.getByRole("row", { name: /Monthly/ }).getByText("no budget").waitFor();
    await ws.keyboard.press("Control+1");
    await ws.getByText(/^[\d,]+ keys$/).waitFor();
  });
  await ws.close();
}

await step("the shipped CSP refuses inline styles and scripts (no 'unsafe-inline')", async () => {
  // On a page of its own: the refusals it provokes are the point, not violations of the app.
  const page = await context.newPage();
  await page.goto(base);
  const probe = await probeInline(page);
  await page.close();
  assert(!probe.styleApplied, `an inline style attribute applied under: ${CSP}`);
  assert(!probe.scriptRan, `an inline script ran under: ${CSP}`);
  assert(probe.violations.length === 2, `expected 2 reported violations, got ${JSON.stringify(probe.violations)}`);
});

await step("axe-core: no serious or critical violation, every icon button named, on every screen", async () => {
  const { checked, bad, text } = summary();
  console.log(`    axe: ${checked} screens checked (light and dark), ${bad} with findings`);
  assert(bad === 0, `${bad} of ${checked} screens:\n    ${text}`);
});

await step("no CSP violations or page errors", async () => {
  assert(cspViolations.length === 0, cspViolations.join("\n"));
  assert(pageErrors.length === 0, pageErrors.join("\n"));
});

await context.close();
server.close();
rmSync(profileDir, { recursive: true, force: true });
console.log(`screenshots: ${artifacts}`);
// JUNIT_FILE (optional): where the JUnit report goes, for cargo xtask test.
writeJunit(process.env.JUNIT_FILE, "ui-browser", cases);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
