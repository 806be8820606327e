// Browser test of the Guardrails view (until App mounts it as a tab, it runs on its own page,
// tests/browser/guardrails/): builds that page with the app's Vite config, serves it on 127.0.0.1
// under the app's CSP, injects the fake shell (scenario "guardrails") and drives the view in
// Chromium in light and dark. Screenshots go to tests/artifacts/ui/guardrails-*.png.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { audit, summary } from "./a11y.mjs";
import { artifacts, assert, buildFakeScript, createRunner, launchChromium, serveUnderCsp, uiRoot } from "./scaffold.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), "kw-guardrails-page-"));
await build({
  configFile: join(uiRoot, "vite.config.ts"),
  root: join(here, "guardrails"),
  logLevel: "warn",
  build: { outDir: out, emptyOutDir: true },
});
const fakeScript = await buildFakeScript();
const { server, base } = await serveUnderCsp(out);
const runner = createRunner("guardrails");
const step = (name, fn) => runner.step(name, fn);
const chromium = await launchChromium();
const context = chromium.context;
const problems = [];
// Every screen photographed is also checked: axe-core and icon-only buttons (a11y.mjs).
const shot = async (page, name) => {
  await page.screenshot({ path: join(artifacts, `guardrails-${name}.png`) });
  await audit(page, `guardrails-${name}`);
};

for (const scheme of ["light", "dark"]) {
  console.log(`-- ${scheme}`);
  const page = await context.newPage();
  runner.lastPage = page;
  page.setDefaultTimeout(5000);
  await page.emulateMedia({ colorScheme: scheme });
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.addInitScript(`window.__KW_SCENARIO__ = ${JSON.stringify({ kind: "guardrails" })};`);
  await page.addInitScript(fakeScript);
  await page.goto(base);

  await step(`${scheme}: the list shows budget, models, providers, ZDR and counts`, async () => {
    const row = page.getByRole("row").filter({ has: page.getByRole("button", { name: "Production", exact: true }) });
    await row.waitFor();
    await page.getByRole("button", { name: "Production", exact: true }).click();
    const text = await row.innerText();
    for (const part of ["$50.00 / month", "openai/gpt-4.1", "+1", "OpenAI, Anthropic", "4"]) assert(text.includes(part), `row lacks ${part}: ${text}`);
    await page.getByRole("list", { name: "Keys with Production" }).waitFor();
    await shot(page, `${scheme}-list`);
  });

  await step(`${scheme}: create with the model picker (keyboard) and an error from Rust`, async () => {
    await page.getByRole("button", { name: "New guardrail" }).click();
    const dialog = page.getByRole("dialog", { name: "New guardrail" });
    await dialog.getByLabel("Budget per key (USD)").fill("-3");
    await dialog.getByText("Budget must not be negative").waitFor();
    await dialog.getByLabel("Budget per key (USD)").fill("20");
    await dialog.getByLabel("Name", { exact: true }).fill("Support bots");
    const picker = dialog.getByRole("combobox", { name: "Allowed models" });
    await picker.fill("claude");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await picker.fill("flash");
    await dialog.getByRole("listbox").waitFor();
    await shot(page, `${scheme}-form`);
    await page.keyboard.press("Enter");
    assert(await dialog.getByRole("button", { name: "Remove anthropic/claude-opus-4" }).isVisible(), "opus chip missing");
    assert(await dialog.getByRole("button", { name: "Remove google/gemini-2.5-flash" }).isVisible(), "flash chip missing");
    await dialog.getByRole("switch", { name: "Google" }).check();
    await dialog.getByRole("button", { name: "Create guardrail" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Support bots", exact: true }).waitFor();
  });

  await step(`${scheme}: bulk assign keys from a filterable checklist`, async () => {
    await page.getByRole("button", { name: "Assign keys…" }).click();
    const dialog = page.getByRole("dialog", { name: "Assign keys to Support bots" });
    await dialog.getByLabel("Filter keys").fill("acme");
    await dialog.getByLabel("Select all shown").check();
    await shot(page, `${scheme}-assign`);
    const label = await dialog.getByRole("button", { name: /^Assign \d+ keys?$/ }).innerText();
    const n = Number(label.match(/\d+/)[0]);
    assert(n >= 2, `too few acme keys picked: ${label}`);
    await dialog.getByRole("button", { name: /^Assign \d+ keys?$/ }).click();
    await dialog.waitFor({ state: "detached" });
    const items = page.getByRole("list", { name: "Keys with Support bots" }).getByRole("listitem");
    await items.nth(n - 1).waitFor();
    assert((await items.count()) === n, "assigned count differs");
  });

  await step(`${scheme}: delete asks first, naming how many keys lose it`, async () => {
    await page.getByRole("button", { name: "Interns", exact: true }).click();
    await page.getByRole("button", { name: "Delete Interns" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete Interns?" });
    await dialog.getByText("1 key loses this guardrail").waitFor();
    await shot(page, `${scheme}-delete`);
    await dialog.getByRole("button", { name: "Delete guardrail" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Interns", exact: true }).waitFor({ state: "detached" });
  });

  await step(`${scheme}: the key list shows each key's guardrail`, async () => {
    await page.getByRole("button", { name: "Keys", exact: true }).click();
    await page.getByRole("columnheader", { name: "Guardrail" }).waitFor();
    await page.locator(".rows [role=row]").filter({ hasText: "Production" }).first().waitFor();
    await shot(page, `${scheme}-keylist`);
  });

  await step(`${scheme}: empty state`, async () => {
    await page.evaluate(() => { window.__kw.fake.guardrails.guardrails = []; });
    await page.getByRole("button", { name: "Guardrails", exact: true }).click();
    await page.getByText("No guardrails yet").waitFor();
    await shot(page, `${scheme}-empty`);
  });
  await page.close();
}

await step("axe-core: no serious or critical violation, every icon button named, on every screen", async () => {
  const { checked, bad, text } = summary();
  console.log(`    axe: ${checked} screens checked (light and dark), ${bad} with findings`);
  assert(bad === 0, `${bad} of ${checked} screens:\n    ${text}`);
});

await step("no console errors, CSP violations or page errors", async () => {
  assert(problems.length === 0, problems.join("\n"));
});

await chromium.close();
server.close();
rmSync(out, { recursive: true, force: true });
runner.finish("ui-browser-guardrails");
