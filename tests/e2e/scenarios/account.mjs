// Scenarios 12–15, the whole account (issue 11): keys of two workspaces, a guardrail made in its view
// and assigned in bulk, a rotation that carries the guardrail, and "Extend expiry…" as a rotation.
// Each runs on its own emulator (ownEmulator), set up over the emulated API with the management key.

import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bodyText, button, check, checkbox, dialog, field, groupHeaders, listCount, rows, type, waitFor } from "../lib.mjs";
import { SCRATCH, addProfile, deployTarget, dumpOnFailure, ownEmulator, run, scenario, shot, waitForRow, withApp } from "../context.mjs";

const DAY_MS = 86400000;

/** A data dir and keychain service of its own for each scenario. */
const place = (tag) => ({ dataDir: join(SCRATCH, `data-${tag}`), service: `keyward-e2e-${tag}-${run}` });

async function openTab(browser, id) {
  const tab = browser.$(`#tab-${id}`);
  await tab.waitForDisplayed({ timeout: 10000 });
  await tab.click();
  await waitFor(`the ${id} tab to be selected`, async () => (await tab.getAttribute("aria-selected")) === "true");
}

/** Opens a key's details drawer from its name in the list. */
async function openDetails(browser, name) {
  await browser.$(`//button[contains(@class,'name') and normalize-space(.)=${JSON.stringify(name)}]`).click();
  await browser.$("#kd-guardrail").waitForDisplayed({ timeout: 10000 });
}

/** The text of a details section (by its heading's id), once it has loaded. */
async function section(browser, headingId) {
  const el = browser.$(`//section[@aria-labelledby=${JSON.stringify(headingId)}]`);
  await waitFor(`the ${headingId} section to load`, async () => (await el.isExisting()) && !(await el.getText()).includes("Loading"), { timeout: 15000 });
  // In view, so the screenshot that follows shows it.
  await el.scrollIntoView({ block: "center" });
  return el.getText();
}

/** A guardrail's assigned key hashes, as the emulator holds them. */
async function assignedHashes(em, guardrailId) {
  return (await em.api("GET", `/guardrails/${guardrailId}/assignments/keys`)).data.map((a) => a.key_hash).sort();
}

/** The key's rotation policy from its details: deploy to an .env file, quiet period 0, delete at once. */
async function envPolicy(browser, name, envPath) {
  const policyButton = button(browser, "Rotation policy…");
  await policyButton.waitForDisplayed({ timeout: 10000 });
  await policyButton.click();
  const policy = dialog(browser, `Rotation policy — ${name}`);
  await policy.waitForDisplayed({ timeout: 10000 });
  await button(browser, "+ .env file").click();
  await type(await field(browser, ".env file path"), envPath);
  await type(await field(browser, "Variable"), "OPENROUTER_API_KEY");
  await type(browser.$("#rp-quiet"), "0");
  await checkbox(browser, "or delete at once").click();
  await button(browser, "Save policy").click();
  await policy.waitForExist({ reverse: true, timeout: 15000 });
}

/**
 * Starts the wizard that is showing its plan and waits for the end: "Done — …", or the old key's
 * details saying it left the list (the drawer may drop the wizard then, as scenario 10 found).
 */
async function runWizard(browser, tag) {
  const start = button(browser, "Start rotation");
  await start.click();
  const done = browser.$("//div[contains(@class,'callout') and contains(@class,'ok')][contains(normalize-space(.), 'Done —')]");
  const gone = browser.$("//*[normalize-space(.)='This key is not in the list']");
  const failed = browser.$("//div[contains(@class,'callout') and contains(@class,'error')][@role='alert']");
  await waitFor("the rotation to finish", async () => {
    if (await failed.isExisting()) throw new Error(`the rotation failed: ${await failed.getText()}`);
    return (await done.isExisting()) || (await gone.isExisting());
  }, { timeout: 60000, interval: 200 });
  await shot(`${tag}-rotation-done`);
  if (await done.isExisting()) return done.getText();
  return null;
}

/** The secret the rotation wrote to the .env file, and its hash. */
async function deployedKey(envPath, old) {
  const line = (await readFile(envPath, "utf8")).split("\n").find((l) => l.startsWith("OPENROUTER_API_KEY="));
  const secret = line?.slice("OPENROUTER_API_KEY=".length).replace(/^"|"$/g, "");
  check(secret && /^sk-or-v1-[0-9a-f]{64}$/.test(secret) && secret !== old, `the .env file holds ${secret?.slice(0, 12)}…`);
  return { secret, hash: createHash("sha256").update(secret).digest("hex") };
}

/** Closes dialogs and drawers with their ✕ until none is open, topmost first. */
async function closeAll(browser) {
  await waitFor("every dialog to close", async () => {
    const open = await browser.$$('div[role="dialog"]');
    if (open.length === 0) return true;
    const close = open[open.length - 1].$('button[aria-label="Close"]');
    if ((await close.isExisting()) && (await close.isEnabled())) await close.click();
    return false;
  }, { timeout: 10000, interval: 300 });
}

// ------------------------------------------------------------ 12: two workspaces

scenario(12, "two-workspaces", async () => {
  const em = await ownEmulator("workspaces");
  const SECOND = "E2E Research";
  const ws = (await em.api("POST", "/workspaces", { name: SECOND, slug: "e2e-research" })).data;
  const DEFAULT_KEY = "e2e-default-key";
  const RESEARCH = ["e2e-research-key-1", "e2e-research-key-2"];
  await em.api("POST", "/keys", { name: DEFAULT_KEY });
  for (const name of RESEARCH) await em.api("POST", "/keys", { name, workspace_id: ws.id });
  const defaultName = (await em.api("GET", "/workspaces")).data.find((w) => w.slug === "default")?.name;
  check(defaultName, "the emulator has no default workspace");
  try {
    await dumpOnFailure("12-two-workspaces", em, () => withApp(place("workspaces"), async (browser) => {
      await addProfile(browser, em);
      // Both workspaces' keys, each with its workspace's name in the Workspace column.
      await waitForRow(browser, DEFAULT_KEY, (r) => r.workspace === defaultName);
      for (const name of RESEARCH) await waitForRow(browser, name, (r) => r.workspace === SECOND);
      await waitFor("the list to count 3 keys", async () => (await listCount(browser)) === "3 keys");
      await shot("12-two-workspaces");
      // The app asked OpenRouter for the second workspace's keys by its id (GET /keys lists only the default one).
      const asked = (await em.requests()).filter((r) => r.method === "GET" && r.path === "/api/v1/keys" && r.status === 200);
      check(asked.some((r) => (r.query ?? "").includes(`workspace_id=${ws.id}`)), `no GET /keys?workspace_id=${ws.id}: ${JSON.stringify(asked.map((r) => r.query))}`);

      // The workspace filter: only the second workspace's keys.
      await browser.$("#workspace-filter").selectByVisibleText(SECOND);
      await waitFor("2 of 3 keys", async () => (await listCount(browser)) === "2 of 3");
      const filtered = (await rows(browser)).map((r) => r.name).sort();
      check(JSON.stringify(filtered) === JSON.stringify(RESEARCH), `the filter shows ${JSON.stringify(filtered)}`);
      await shot("12-filter-second-workspace");
      await button(browser, "Clear filters").click();
      await waitFor("the full list again", async () => (await listCount(browser)) === "3 keys");

      // Grouped: one header per workspace with its key count.
      await browser.$('input[aria-label="Group by workspace"]').click();
      const groups = await waitFor("two group headers", async () => {
        const found = await groupHeaders(browser);
        return found.length === 2 ? found : null;
      });
      const byName = Object.fromEntries(groups.map((g) => [g.name, g.count]));
      check(byName[defaultName] === "1 key" && byName[SECOND] === "2 keys", `group headers: ${JSON.stringify(groups)}`);
      await shot("12-grouped");
      await browser.$('input[aria-label="Group by workspace"]').click();

      // The Workspaces view: a card for each, with its key count.
      await openTab(browser, "workspaces");
      const counts = await waitFor("both workspace cards with their key counts", async () => {
        const found = await browser.execute(() => Object.fromEntries(Array.from(document.querySelectorAll("article.card")).map((card) => {
          const stats = Object.fromEntries(Array.from(card.querySelectorAll("dl.stats > div")).map((d) => [d.querySelector("dt")?.textContent.trim(), d.querySelector("dd")?.textContent.trim()]));
          return [card.querySelector("h2")?.textContent.trim(), stats.Keys ?? null];
        })));
        return found[defaultName] && found[SECOND] ? found : null;
      });
      check(counts[defaultName] === "1" && counts[SECOND] === "2", `the cards count ${JSON.stringify(counts)}`);
      await shot("12-workspaces-view");
    }));
  } finally {
    await em.stop();
  }
});

// ------------------------------------------------------------ 13: a guardrail, made and assigned in bulk

scenario(13, "guardrail-bulk-assign", async () => {
  const em = await ownEmulator("guardrail");
  const GUARDRAIL = "e2e two models";
  const MODELS = ["google/gemini-2.5-flash", "google/gemini-2.5-pro"];
  const PICKED = ["e2e-pick-1", "e2e-pick-2", "e2e-pick-3"];
  const OTHER = "e2e-not-picked";
  const hashes = {};
  for (const name of [...PICKED, OTHER]) hashes[name] = (await em.api("POST", "/keys", { name })).data.hash;
  try {
    await dumpOnFailure("13-guardrail-bulk-assign", em, () => withApp(place("guardrail"), async (browser) => {
      await addProfile(browser, em);
      for (const name of [...PICKED, OTHER]) await waitForRow(browser, name, (r) => r.guardrail === "—");

      await openTab(browser, "guardrails");
      await browser.$("//h2[normalize-space(.)='No guardrails yet']").waitForDisplayed({ timeout: 15000 });
      await button(browser, "New guardrail").click();
      const form = dialog(browser, "New guardrail");
      await form.waitForDisplayed({ timeout: 10000 });
      await type(browser.$("#gr-name"), GUARDRAIL);

      // Two models through the searchable picker: type, pick from the list.
      const picker = browser.$("#gr-models");
      await waitFor("the model list to load", async () => !(await picker.getAttribute("placeholder")).includes("Loading"));
      for (const model of MODELS) {
        await type(picker, "gemini-2.5");
        const option = browser.$(`//li[@role='option'][.//span[normalize-space(.)=${JSON.stringify(model)}]]`);
        await option.waitForDisplayed({ timeout: 10000 });
        if (model === MODELS[0]) await shot("13-model-picker");
        await option.click();
      }
      const chips = await browser.execute(() => Array.from(document.querySelectorAll('ul[aria-label="Allowed models"] li .mono')).map((e) => e.textContent.trim()));
      check(JSON.stringify(chips) === JSON.stringify(MODELS), `the picker's chips: ${JSON.stringify(chips)}`);
      await shot("13-guardrail-form");
      await button(browser, "Create guardrail").click();
      await form.waitForExist({ reverse: true, timeout: 15000 });

      // OpenRouter holds it, allowing exactly those two models.
      const held = (await em.api("GET", "/guardrails")).data.find((g) => g.name === GUARDRAIL);
      check(held, "the emulator has no such guardrail");
      check(JSON.stringify([...held.allowed_models].sort()) === JSON.stringify(MODELS), `allowed_models ${JSON.stringify(held.allowed_models)}`);
      await browser.$(`//button[contains(@class,'name') and normalize-space(.)=${JSON.stringify(GUARDRAIL)}]`).waitForDisplayed({ timeout: 10000 });

      // Assign three keys at once: filter, "Select all shown", assign.
      await button(browser, "Assign keys…").click();
      const assign = dialog(browser, `Assign keys to ${GUARDRAIL}`);
      await assign.waitForDisplayed({ timeout: 10000 });
      await type(browser.$("#assign-search"), "e2e-pick");
      await checkbox(browser, "Select all shown").click();
      const submit = button(browser, "Assign 3 keys");
      await submit.waitForDisplayed({ timeout: 5000 });
      await shot("13-assign-dialog");
      await submit.click();
      await assign.waitForExist({ reverse: true, timeout: 15000 });
      const listed = browser.$(`ul[aria-label="Keys with ${GUARDRAIL}"]`);
      await waitFor("the three keys under the guardrail", async () => (await listed.isExisting()) && (await listed.$$("li")).length === 3);
      const names = await browser.execute((label) => Array.from(document.querySelectorAll(`ul[aria-label="${label}"] li strong`)).map((e) => e.textContent.trim()).sort(), `Keys with ${GUARDRAIL}`);
      check(JSON.stringify(names) === JSON.stringify(PICKED), `the view lists ${JSON.stringify(names)}`);
      const assigned = await assignedHashes(em, held.id);
      check(JSON.stringify(assigned) === JSON.stringify(PICKED.map((n) => hashes[n]).sort()), `the emulator's assignments: ${JSON.stringify(assigned)}`);
      await shot("13-guardrail-assigned");

      // The key list: the guardrail on each of the three, none on the fourth.
      await openTab(browser, "keys");
      for (const name of PICKED) await waitForRow(browser, name, (r) => r.guardrail === GUARDRAIL);
      check((await rows(browser)).find((r) => r.name === OTHER)?.guardrail === "—", `${OTHER} shows a guardrail`);
      await shot("13-guardrail-column");

      // One key's details: its guardrail with the two models.
      await openDetails(browser, PICKED[1]);
      const text = await section(browser, "kd-guardrail");
      check(text.includes(GUARDRAIL) && MODELS.every((m) => text.includes(m)), `the details' guardrail section says: ${text}`);
      await shot("13-key-details-guardrail");
    }));
  } finally {
    await em.stop();
  }
});

// ------------------------------------------------------------ 14: a rotation carries the guardrail

scenario(14, "rotate-guarded-key", async () => {
  const em = await ownEmulator("guarded");
  const NAME = "e2e-guarded";
  const GUARDRAIL = "e2e rotation guard";
  const ALLOWED = "openai/gpt-4.1-mini";
  const FORBIDDEN = "openai/gpt-4.1";
  const created = await em.api("POST", "/keys", { name: NAME, limit: 5, limit_reset: "weekly" });
  const oldHash = created.data.hash;
  const guardrail = (await em.api("POST", "/guardrails", { name: GUARDRAIL, allowed_models: [ALLOWED] })).data;
  await em.api("POST", `/guardrails/${guardrail.id}/assignments/keys`, { key_hashes: [oldHash] });
  const envPath = deployTarget(join(SCRATCH, "guarded-app.env"));
  await writeFile(envPath, `OPENROUTER_API_KEY=${created.key}\n`);
  let fresh = null;
  try {
    await dumpOnFailure("14-rotate-guarded-key", em, () => withApp(place("guarded"), async (browser) => {
      await addProfile(browser, em);
      await waitForRow(browser, NAME, (r) => r.guardrail === GUARDRAIL);
      await openDetails(browser, NAME);
      check((await section(browser, "kd-guardrail")).includes(GUARDRAIL), "the old key's details do not show its guardrail");
      await envPolicy(browser, NAME, envPath);

      // The wizard's plan says the guardrail goes with the new key.
      await button(browser, "Rotate…").click();
      const start = button(browser, "Start rotation");
      await start.waitForDisplayed({ timeout: 10000 });
      await waitFor("Start rotation to be enabled", () => start.isEnabled());
      await waitFor("the plan to name the guardrail", async () => (await bodyText(browser)).includes(`guardrail "${GUARDRAIL}"`));
      await shot("14-wizard-plan-guardrail");
      const said = await runWizard(browser, "14");
      if (said) check(said.includes(`replaced ${NAME}`), `the wizard says: ${said}`);

      // OpenRouter: the new hash holds the guardrail, the old one is gone from it.
      const { secret, hash } = await deployedKey(envPath, created.key);
      fresh = (await em.keys()).find((k) => k.hash === hash);
      check(fresh && fresh.name !== NAME, `the new key: ${JSON.stringify(fresh?.name)}`);
      check(!(await em.keys()).some((k) => k.hash === oldHash), "the old key still exists");
      const assigned = await assignedHashes(em, guardrail.id);
      check(JSON.stringify(assigned) === JSON.stringify([hash]), `the guardrail's keys after the rotation: ${JSON.stringify(assigned)} (new ${hash})`);
      // And it bites: the allowed model answers, another one is refused by the guardrail.
      const chat = (model) => fetch(`${em.baseUrl}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      check((await chat(ALLOWED)).status === 200, `the new key cannot call ${ALLOWED}`);
      check((await chat(FORBIDDEN)).status === 403, `the new key can call ${FORBIDDEN}: its guardrail did not follow`);

      // The app: the new key's details and its row show the guardrail.
      await closeAll(browser);
      await waitForRow(browser, fresh.name, () => true, 30000);
      await openDetails(browser, fresh.name);
      check((await section(browser, "kd-guardrail")).includes(GUARDRAIL), "the new key's details do not show the guardrail");
      await shot("14-new-key-details");
      await closeAll(browser);
      // Without a refresh: the rotation's key-list events drop the key → guardrail map the list reads.
      await waitForRow(browser, fresh.name, (r) => r.guardrail === GUARDRAIL, 10000);
      await shot("14-new-key-guardrail-column");
    }));
    console.log(`  new key “${fresh?.name}” holds “${GUARDRAIL}”; ${ALLOWED} 200, ${FORBIDDEN} 403`);
  } finally {
    await em.stop();
  }
});

// ------------------------------------------------------------ 15: Extend expiry…

scenario(15, "extend-expiry", async () => {
  const em = await ownEmulator("extend");
  const NAME = "e2e-expires-tomorrow";
  const DAYS = 45;
  const now = Date.parse((await em.control("GET", "/clock")).now);
  const expiresAt = new Date(now + 20 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  const created = await em.api("POST", "/keys", { name: NAME, limit: 3, limit_reset: "monthly", expires_at: expiresAt });
  const envPath = deployTarget(join(SCRATCH, "extend-app.env"));
  await writeFile(envPath, `OPENROUTER_API_KEY=${created.key}\n`);
  let fresh = null;
  try {
    await dumpOnFailure("15-extend-expiry", em, () => withApp(place("extend"), async (browser) => {
      await addProfile(browser, em);
      const before = await waitForRow(browser, NAME);
      await openDetails(browser, NAME);
      await envPolicy(browser, NAME, envPath);

      await button(browser, "Extend expiry…").click();
      const ask = dialog(browser, `Extend the expiry of ${NAME}`);
      await ask.waitForDisplayed({ timeout: 10000 });
      const says = await ask.getText();
      check(/expires in (19|20) hr|expires tomorrow/.test(says), `the dialog does not say it expires tomorrow: ${says}`);
      await type(browser.$("#ee-days"), String(DAYS));
      await shot("15-extend-dialog");
      await button(browser, "Continue to rotation…").click();
      await ask.waitForExist({ reverse: true, timeout: 15000 });

      // The wizard's plan: the new expiry, then the rotation.
      const start = button(browser, "Start rotation");
      await start.waitForDisplayed({ timeout: 10000 });
      await waitFor("Start rotation to be enabled", () => start.isEnabled());
      const plan = await bodyText(browser);
      check(plan.includes(`expires ${DAYS} days after rotation`), `the plan does not say the new expiry: ${plan}`);
      await shot("15-wizard-plan");
      const said = await runWizard(browser, "15");
      if (said) check(said.includes(`replaced ${NAME}`), `the wizard says: ${said}`);

      // OpenRouter: the new key expires DAYS days after it was made; the old key is gone.
      const { hash } = await deployedKey(envPath, created.key);
      fresh = (await em.keys()).find((k) => k.hash === hash);
      check(fresh, "the new key is not in the emulator");
      check(!(await em.keys()).some((k) => k.hash === created.data.hash), "the old key still exists");
      const lifetime = (Date.parse(fresh.expires_at) - Date.parse(fresh.created_at)) / DAY_MS;
      check(Math.abs(lifetime - DAYS) < 5 / (24 * 60), `the new key lives ${lifetime.toFixed(4)} days (expires ${fresh.expires_at}, created ${fresh.created_at})`);
      check(fresh.limit === 3 && fresh.limit_reset === "monthly", `the new key's limit: ${fresh.limit} / ${fresh.limit_reset}`);

      // The app lists it with the later expiry.
      await closeAll(browser);
      const after = await waitForRow(browser, fresh.name, (r) => r.expires && r.expires !== "never", 30000);
      check(after.expires !== before.expires, `the list's expiry did not change: ${after.expires}`);
      console.log(`  expiry: “${before.expires}” → “${after.expires}” (${fresh.expires_at})`);
      await shot("15-new-key-expiry");
    }));
  } finally {
    await em.stop();
  }
});
