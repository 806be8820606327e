// Browser test: nothing cut off at the default window size (1200×800) with long data — long key,
// workspace and guardrail names, seven-digit amounts (scenario "long" of fake-entry.ts) — on every view
// (Keys, Workspaces, Guardrails, Audit, Where keys live), the key's details and its dialogs, light and
// dark; axe-core and the icon-button check on each (a11y.mjs). Serves the built ui/dist under the
// shipped CSP like run.mjs. Screenshots go to tests/artifacts/ui/fit-*.png.
import { join } from "node:path";
import { audit, clipped, clippedEvenWithTitle, summary } from "./a11y.mjs";
import { artifacts, assert, buildFakeScript, createRunner, launchChromium, serveUnderCsp, uiRoot } from "./scaffold.mjs";

const fakeScript = await buildFakeScript();
const { server, base } = await serveUnderCsp(join(uiRoot, "dist"));
const runner = createRunner("fit", { messageLines: 12, timings: true });
const step = (name, fn) => runner.step(name, fn);
const chromium = await launchChromium();
const context = chromium.context;
const problems = [];
const shot = async (page, name) => {
  await page.screenshot({ path: join(artifacts, `fit-${name}.png`) });
  await audit(page, `fit-${name}`);
};
/** Fails naming every clipped text under `root` that has no title to read it by. */
async function nothingCut(page, root, where) {
  const cut = await clipped(page, root);
  assert(cut.length === 0, `${where}: text cut off with no tooltip:\n${cut.slice(0, 8).join("\n")}`);
}

const LONG = "customer-success-escalations-production-eu-west-1-primary-gateway";
const LONG_WS = "Research and Development — Large Language Model Evaluations (EMEA)";

for (const scheme of ["light", "dark"]) {
  console.log(`-- ${scheme}`);
  const page = await context.newPage();
  runner.lastPage = page;
  page.setDefaultTimeout(5000);
  await page.emulateMedia({ colorScheme: scheme });
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(String(e)));
  await page.addInitScript(`window.__KW_SCENARIO__ = ${JSON.stringify({ kind: "long" })};`);
  await page.addInitScript(fakeScript);
  await page.goto(base);

  await step(`${scheme}: key list at 1200 px — amounts and limits whole, long names wrap or have a tooltip`, async () => {
    await page.getByText(/^[\d,]+ keys$/).waitFor();
    await page.locator(".rows .cell.workspace").filter({ hasText: LONG_WS }).first().waitFor();
    await nothingCut(page, "header, .toolbar, .row.head, .rows", "key list");
    // Amounts and times are never clipped, not even with a tooltip.
    const numbers = await clippedEvenWithTitle(page, ".rows .cell.num, .rows .spend, .rows .cell.expiry, .rows .cell.created, .rows .cell[data-col=last-used]");
    assert(numbers.length === 0, `amounts cut off:\n${numbers.join("\n")}`);
    const row = page.locator(".rows [role=row]").filter({ has: page.getByRole("button", { name: LONG, exact: true }) });
    await row.getByText("$765,432.11 left of $2,000,000.00").waitFor({ state: "attached" });
    assert(await row.locator(".spend").getAttribute("title") !== null, "the limit cell has its sentence as a tooltip");
    assert((await row.getByRole("button", { name: LONG, exact: true }).getAttribute("title"))?.startsWith(LONG), "a long name has a tooltip");
    const fits = await page.locator("[data-virtual-scroll]").evaluate((el) => el.scrollWidth <= el.clientWidth + 1);
    assert(fits, "the key table scrolls sideways at 1200 px");
    await shot(page, `${scheme}-01-keys`);
  });

  await step(`${scheme}: keyboard focus on a long name shows it whole`, async () => {
    await page.getByRole("checkbox", { name: `Select ${LONG}` }).focus();
    await page.keyboard.press("Tab");
    const name = page.getByRole("button", { name: LONG, exact: true });
    assert(await name.evaluate((el) => el === document.activeElement), "Tab moves from the row's checkbox to its name");
    const whole = await name.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return el.scrollWidth <= el.clientWidth + 1 && el.scrollHeight <= el.clientHeight + 1 && r.left >= 0 && r.right <= innerWidth;
    });
    assert(whole, "the focused name is still cut off");
    await shot(page, `${scheme}-02-name-focused`);
  });

  await step(`${scheme}: the key's details and its dialogs`, async () => {
    await page.keyboard.press("Enter");
    const details = page.getByRole("dialog", { name: LONG });
    await details.waitFor();
    await details.getByRole("region", { name: "Rotation" }).waitFor();
    await nothingCut(page, "[role=dialog]", "details");
    await shot(page, `${scheme}-03-details`);
    await page.keyboard.press("Escape");
    await details.waitFor({ state: "detached" });
    await page.getByRole("button", { name: `Edit ${LONG}` }).click();
    const edit = page.getByRole("dialog", { name: `Edit ${LONG}` });
    await edit.waitFor();
    await nothingCut(page, "[role=dialog]", "edit dialog");
    await shot(page, `${scheme}-04-edit`);
    await page.keyboard.press("Escape");
    await edit.waitFor({ state: "detached" });
    await page.getByRole("button", { name: `Delete ${LONG}` }).click();
    const del = page.getByRole("dialog", { name: `Delete “${LONG}”?` });
    await del.waitFor();
    await nothingCut(page, "[role=dialog]", "delete dialog");
    await shot(page, `${scheme}-05-delete`);
    await del.getByRole("button", { name: "Cancel" }).click();
    await del.waitFor({ state: "detached" });
  });

  for (const [n, id, ready] of [[2, "workspaces", LONG_WS], [3, "guardrails", "Production allowlist"], [4, "audit", "Audit"], [5, "locate", "Where keys live"]]) {
    await step(`${scheme}: ${id} view at 1200 px`, async () => {
      await page.evaluate(() => document.activeElement?.blur());
      await page.keyboard.press(`Control+${n}`);
      const tab = page.locator(`#tab-${id}`);
      await page.waitForFunction((t) => document.querySelector(`#tab-${t}`)?.getAttribute("aria-selected") === "true", id);
      assert(await tab.getAttribute("aria-selected") === "true", `${id} tab selected`);
      await page.getByRole("heading", { name: ready }).first().waitFor();
      await page.waitForTimeout(300);
      await nothingCut(page, "body", `${id} view`);
      await shot(page, `${scheme}-1${n}-${id}`);
    });
  }

  await step(`${scheme}: the smallest window (900×600) keeps names, status and limit`, async () => {
    await page.keyboard.press("Control+1");
    await page.setViewportSize({ width: 900, height: 600 });
    await page.getByText(/^[\d,]+ keys$/).waitFor();
    const table = page.getByRole("table", { name: "API keys" });
    await table.getByRole("columnheader", { name: "Limit" }).waitFor();
    await table.getByRole("columnheader", { name: "Status" }).waitFor();
    await nothingCut(page, ".rows", "key list at 900 px");
    const numbers = await clippedEvenWithTitle(page, ".rows .cell.num, .rows .spend");
    assert(numbers.length === 0, `amounts cut off at 900 px:\n${numbers.join("\n")}`);
    await shot(page, `${scheme}-20-keys-900`);
    await page.setViewportSize({ width: 1200, height: 800 });
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
runner.finish("ui-browser-fit");
