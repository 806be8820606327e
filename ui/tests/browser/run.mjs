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

// ---- a tiny static server for ui/dist, with the CSP the app ships under ----
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
      "content-security-policy": "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self'",
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// ---- a minimal runner: each step passes or fails, the run goes on ----
let passed = 0;
let failed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`  ✓ ${name} (${Date.now() - started} ms)`);
  } catch (e) {
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
const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`) });

console.log(`browser test: ${CHROMIUM} against ${base}`);
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
    await page.getByText("That is an inference key, not a management key").waitFor();
    await page.getByRole("link", { name: "https://openrouter.ai/settings/management-keys" }).waitFor();
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
    const totals = (await page.locator(".rows [role=row] .cell.num:nth-child(6)").allTextContents())
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
    await page.locator("body").click({ position: { x: 5, y: 790 } });
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
    await page.locator(".rows [role=row]").filter({ hasText: createdName }).getByText("left of $20.00").waitFor();
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
}

await step("no CSP violations or page errors", async () => {
  assert(cspViolations.length === 0, cspViolations.join("\n"));
  assert(pageErrors.length === 0, pageErrors.join("\n"));
});

await context.close();
server.close();
rmSync(profileDir, { recursive: true, force: true });
console.log(`screenshots: ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
