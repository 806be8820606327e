// Keyward end to end: the real app binary in a real window, driven over WebDriver, against the real
// emulator, with the session's real Secret Service. Runs inside the private desktop session that
// run.sh sets up; prints one line per scenario and `N passed, M failed` last.
//
// Env: KEYWARD_APP_BIN, KEYWARD_EMULATOR_BIN, E2E_SCRATCH (scratch dir for data dirs and state),
// E2E_ARTIFACTS (screenshots, and on failure the app log and the emulator's request log),
// E2E_ONLY (optional: comma-separated scenario numbers), E2E_JUNIT (optional: the JUnit report's path).

import { createHash, randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  App, Emulator, NotificationSpy, Tray, alert, banner, bodyText, button, check, checkbox, dialog, field, killAll, listCount, mapped,
  processRunning, rowNamed, rows, screenshot, secretToolSearch, type, unmapWindow, waitFor, windows,
} from "./lib.mjs";
import { writeJunit } from "../junit.mjs";

const APP_BIN = required("KEYWARD_APP_BIN");
const EMULATOR_BIN = required("KEYWARD_EMULATOR_BIN");
const SCRATCH = required("E2E_SCRATCH");
const ARTIFACTS = required("E2E_ARTIFACTS");
const ONLY = (process.env.E2E_ONLY ?? "").split(",").map((s) => s.trim()).filter(Boolean);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set (run tests/e2e/run.sh, or cargo xtask test --only e2e)`);
    process.exit(2);
  }
  return value;
}

const run = randomBytes(4).toString("hex");
const MAIN = {
  dataDir: join(SCRATCH, "data-main"),
  service: `keyward-e2e-${run}`,
};
const SANDBOX = {
  dataDir: join(SCRATCH, "data-sandbox"),
  service: `keyward-e2e-sandbox-${run}`,
};
const PROFILE = "personal";
const firstKey = `sk-or-v1-e2e-first-${randomBytes(16).toString("hex")}`;
const rotatedKey = `sk-or-v1-e2e-rotated-${randomBytes(16).toString("hex")}`;

let emulator = new Emulator({
  binary: EMULATOR_BIN,
  managementKey: firstKey,
  stateFile: join(SCRATCH, "emulator-1.json"),
});

/** The app currently up and the scenario running, for the failure artifacts. */
let current = null;
let currentTag = null;

function newApp(where) {
  return new App({
    binary: APP_BIN,
    env: { KEYWARD_DATA_DIR: where.dataDir, KEYWARD_KEYCHAIN_SERVICE: where.service, RUST_LOG: "info", ...(where.env ?? {}) },
  });
}

/** Starts the app, waits for its first screen, hands the browser to `body`, and always quits it. */
async function withApp(where, body) {
  const app = newApp(where);
  current = { app, where };
  try {
    const browser = await app.launch();
    await browser.setTimeout({ implicit: 0 });
    await waitFor("the app to finish starting", async () => !(await bodyText(browser)).includes("Starting Keyward"), { timeout: 20000 });
    return await body(browser);
  } catch (err) {
    // While the window is still up: what the person saw when it went wrong.
    if (currentTag) await screenshot(join(ARTIFACTS, `${currentTag}-FAILED.png`)).catch(() => {});
    throw err;
  } finally {
    await app.quit();
  }
}

async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await screenshot(path);
  return path;
}

/** Waits for the key list (header + table) of the active profile. */
async function waitForList(browser, timeout = 20000) {
  await waitFor("the key list", async () => (await listCount(browser)) !== "", { timeout });
}

/** Waits until no refresh is in flight (the Refresh button works again and the header says when). */
async function waitIdle(browser, timeout = 30000) {
  const refresh = button(browser, "Refresh");
  await waitFor("the refresh to finish", async () =>
    (await refresh.isEnabled()) && (await browser.$(".updated").getText()).startsWith("updated"), { timeout });
}

async function waitForRow(browser, name, predicate = () => true, timeout = 15000) {
  return waitFor(`row “${name}”`, async () => {
    const row = await rowNamed(browser, name);
    return row && predicate(row) ? row : null;
  }, { timeout });
}

async function managementItems(service) {
  return (await secretToolSearch(service)).filter((i) => i.account?.startsWith("management-key/"));
}

/** Every byte under the data dir, so a test can prove a secret never reached it. */
async function dataDirContains(dir, needle) {
  const hits = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const bytes = await readFile(path);
    if (bytes.includes(Buffer.from(needle))) hits.push(path);
  }
  return hits;
}

// ============================================================== scenarios

const scenarios = [];
const scenario = (number, name, body) => scenarios.push({ number, name, body });

scenario(1, "first-run", async () => {
  const inference = (await emulator.api("POST", "/keys", { name: "e2e inference key" })).key;
  await withApp(MAIN, async (browser) => {
    await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
    await button(browser, "Try the sandbox").isExisting();
    await shot("01-welcome");
    await browser.$("//button[.//span[normalize-space(.)='Add your management key']]").click();
    await type(await field(browser, "Profile name"), PROFILE);
    await browser.$("//summary[normalize-space(.)='Base URL and workspace (optional)']").click();
    await type(await field(browser, "Base URL"), emulator.baseUrl);

    // An inference key: refused, with the difference explained, and nothing stored.
    await type(await field(browser, "Management key"), inference);
    await button(browser, "Check and save").click();
    const refusal = alert(browser);
    await refusal.waitForDisplayed({ timeout: 15000 });
    const said = await refusal.getText();
    check(said.includes("is an inference key: it can call models but cannot manage keys"), `refusal sentence missing: ${said}`);
    check(said.includes("Keyward needs a management key, which manages keys but cannot call models"), `refusal explanation missing: ${said}`);
    check(said.split("https://openrouter.ai/settings/management-keys").length === 2, `refusal should name the page once: ${said}`);
    check(said.includes("Open the management keys page"), `refusal lacks the link: ${said}`);
    check((await (await field(browser, "Management key")).getValue()) === "", "the key field was not emptied after the attempt");
    check((await secretToolSearch(MAIN.service)).length === 0, "the refused key reached the keychain");
    await shot("01-inference-key-refused");

    // The management key: checked, stored in the Secret Service only.
    await type(await field(browser, "Management key"), firstKey);
    await button(browser, "Check and save").click();
    await waitForList(browser);
    const selected = await browser.$("#profile-select").getValue();
    const profileName = await browser.$(`#profile-select option[value="${selected}"]`).getText();
    check(profileName === PROFILE, `active profile is “${profileName}”`);
    await waitForRow(browser, "e2e inference key");
    await shot("01-management-key-saved");
  });
  const items = await managementItems(MAIN.service);
  check(items.length === 1, `expected one management key in the keychain, found ${items.length}`);
  check(items[0].secret === firstKey, "secret-tool read back a different management key");
  const leaks = await dataDirContains(MAIN.dataDir, firstKey);
  check(leaks.length === 0, `the management key is in the data dir: ${leaks.join(", ")}`);
  const leaksInference = await dataDirContains(MAIN.dataDir, inference);
  check(leaksInference.length === 0, `the refused inference key is in the data dir: ${leaksInference.join(", ")}`);
});

const CREATED = "e2e-create";
let createdHash = null;

scenario(2, "create-key", async () => {
  await withApp(MAIN, async (browser) => {
    await waitForList(browser);
    const newKey = button(browser, "New key");
    await waitFor("New key to be enabled", async () => (await newKey.getAttribute("aria-disabled")) === "false");
    await newKey.click();
    const form = dialog(browser, "New key");
    await form.waitForDisplayed({ timeout: 10000 });
    await type(await field(browser, "Name"), CREATED);
    await type(await field(browser, "Spending limit (USD)"), "12.5");
    await (await field(browser, "Limit resets")).selectByAttribute("value", "monthly");
    await button(browser, "30 days").click();
    const expiresHint = await browser.$("#ck-exp-hint").getText();
    const sentAs = /Sent as (\S+) \(UTC\)/.exec(expiresHint)?.[1];
    check(sentAs, `the expiry hint does not say what is sent: ${expiresHint}`);
    await shot("02-create-form");
    await button(browser, "Create key").click();

    const secretDialog = dialog(browser, "Key created — copy its secret now");
    await secretDialog.waitForDisplayed({ timeout: 15000 });
    const secret = await browser.$("#created-secret").getValue();
    check(/^sk-or-v1-[0-9a-f]{64}$/.test(secret), `the shown secret looks wrong: ${secret.slice(0, 12)}…`);
    createdHash = createHash("sha256").update(secret).digest("hex");
    await button(browser, "Copy").click();
    await waitFor("the copy confirmation", async () => /Copied — clipboard clears in \d+ s/.test(await secretDialog.getText()));
    await shot("02-secret-shown-once");

    // Pending in the keychain until the person decides.
    const pending = (await secretToolSearch(MAIN.service)).filter((i) => i.account?.startsWith("pending/"));
    check(pending.length === 1 && pending[0].account.endsWith(`/${createdHash}`), `pending entries: ${JSON.stringify(pending.map((p) => p.account))}`);
    check(pending[0].secret === secret, "the pending keychain entry holds a different secret");
    check((await dataDirContains(MAIN.dataDir, secret)).length === 0, "the created secret reached the data dir");
    const pendingCount = await browser.$('button[aria-label^="Pending secrets:"]').getAttribute("aria-label");
    check(pendingCount === "Pending secrets: 1", `header says ${pendingCount}`);

    // The emulator holds the same values.
    const held = await emulator.keyNamed(CREATED);
    check(held, "the emulator has no such key");
    check(held.hash === createdHash, "the emulator's hash is not the SHA-256 of the shown secret");
    check(held.limit === 12.5 && held.limit_reset === "monthly", `emulator limit ${held.limit} / ${held.limit_reset}`);
    check(Date.parse(held.expires_at) === Date.parse(sentAs), `emulator expires_at ${held.expires_at}, UI sent ${sentAs}`);
    const days = (Date.parse(held.expires_at) - Date.now()) / 86400000;
    check(days > 29.9 && days < 30.1, `expiry is ${days.toFixed(2)} days away`);

    await button(browser, "I stored it elsewhere — forget it").click();
    await secretDialog.waitForExist({ reverse: true, timeout: 10000 });
    const after = (await secretToolSearch(MAIN.service)).filter((i) => i.account?.startsWith("pending/"));
    check(after.length === 0, "the pending secret stayed in the keychain after “forget”");

    const row = await waitForRow(browser, CREATED);
    check(row.status === "active", `status ${row.status}`);
    check(row.limit.includes("$12.50"), `limit cell “${row.limit}”`);
    check(row.reset === "monthly", `reset cell “${row.reset}”`);
    check(row.expires !== "never" && row.expires !== "", `expiry cell “${row.expires}”`);
    check(row.label === held.label, `label ${row.label} vs ${held.label}`);
    await shot("02-created-in-list");
  });
});

async function edit(browser, name, change) {
  await button(browser, `Edit ${name}`).click();
  const form = dialog(browser, `Edit ${name}`);
  await form.waitForDisplayed({ timeout: 10000 });
  await change(form);
  await button(browser, "Save changes").click();
  await form.waitForExist({ reverse: true, timeout: 15000 });
}

scenario(3, "edit-key", async () => {
  check(createdHash, "scenario 2 did not create the key");
  const RENAMED = "e2e-renamed";
  const held = async () => (await emulator.keys()).find((k) => k.hash === createdHash);
  await withApp(MAIN, async (browser) => {
    await waitForRow(browser, CREATED);

    await edit(browser, CREATED, async () => type(await field(browser, "Spending limit (USD)"), "20"));
    await waitForRow(browser, CREATED, (r) => r.limit.includes("$20.00"));
    check((await held()).limit === 20, `emulator limit ${(await held()).limit}`);

    await edit(browser, CREATED, async () => checkbox(browser, "No limit").click());
    await waitForRow(browser, CREATED, (r) => r.limit === "No limit");
    check((await held()).limit === null, `emulator limit ${(await held()).limit} after clearing`);

    await edit(browser, CREATED, async () => type(await field(browser, "Name"), RENAMED));
    await waitForRow(browser, RENAMED);
    check((await held()).name === RENAMED, `emulator name ${(await held()).name}`);
    check((await rowNamed(browser, CREATED)) === null, "the old name is still listed");

    await button(browser, `Disable ${RENAMED}`).click();
    await waitForRow(browser, RENAMED, (r) => r.status === "disabled");
    await waitFor("the emulator to hold disabled", async () => (await held()).disabled === true);
    await shot("03-disabled");

    await button(browser, `Enable ${RENAMED}`).click();
    await waitForRow(browser, RENAMED, (r) => r.status === "active");
    await waitFor("the emulator to hold enabled", async () => (await held()).disabled === false);
    await shot("03-edited");
  });
});

scenario(4, "delete-key", async () => {
  check(createdHash, "scenario 2 did not create the key");
  const NAME = "e2e-renamed";
  await withApp(MAIN, async (browser) => {
    await waitForRow(browser, NAME);
    await button(browser, `Delete ${NAME}`).click();
    const confirm = dialog(browser, `Delete “${NAME}”?`);
    await confirm.waitForDisplayed({ timeout: 10000 });
    const text = await confirm.getText();
    check(text.includes(`This deletes the key ${NAME}`), `confirmation does not name the key: ${text}`);
    check(text.includes("This cannot be undone."), "confirmation does not say it is final");
    await button(browser, "Disable instead").isDisplayed();
    await shot("04-delete-confirmation");
    await button(browser, "Delete key").click();
    await confirm.waitForExist({ reverse: true, timeout: 15000 });
    await waitFor("the row to go", async () => (await rowNamed(browser, NAME)) === null);
    check(!(await emulator.keys()).some((k) => k.hash === createdHash), "the emulator still holds the key");
    await shot("04-deleted");
  });
});

scenario(5, "search-filter-sort-1000", async () => {
  await emulator.control("POST", "/seed", { count: 1000, seed: 20261123 });
  const now = Date.parse((await emulator.control("GET", "/clock")).now);
  // What the app asks for by default: disabled included, expired not.
  const expected = (await emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now);
  const total = expected.length.toLocaleString("en-US");
  await withApp(MAIN, async (browser) => {
    await waitForList(browser);
    await waitFor(`the list to count ${total} keys`, async () => (await listCount(browser)) === `${total} keys`, { timeout: 30000 });
    await shot("05-1000-keys");

    // Search by a hash prefix: exactly that key.
    const target = expected[437];
    const search = browser.$("#key-search");
    await type(search, target.hash.slice(0, 14));
    await waitFor("one search hit", async () => (await listCount(browser)) === `1 of ${total}`);
    const hit = await rows(browser);
    check(hit.length === 1 && hit[0].hash === target.hash && hit[0].name === target.name, `search shows ${JSON.stringify(hit.map((r) => r.name))}`);
    await shot("05-search");
    await button(browser, "Clear filters").click();
    await waitFor("the full list again", async () => (await listCount(browser)) === `${total} keys`);

    // Status filter: only disabled keys, as many as the emulator holds.
    const disabled = expected.filter((k) => k.disabled).length;
    await browser.$("#status-filter").selectByAttribute("value", "disabled");
    await waitFor(`${disabled} disabled keys`, async () => (await listCount(browser)) === `${disabled.toLocaleString("en-US")} of ${total}`);
    const shown = await rows(browser);
    check(shown.length > 0 && shown.every((r) => r.status === "disabled"), `non-disabled rows under the disabled filter`);
    await checkbox(browser, "Has limit").click();
    const disabledWithLimit = expected.filter((k) => k.disabled && k.limit !== null).length;
    await waitFor(`${disabledWithLimit} disabled keys with a limit`,
      async () => (await listCount(browser)) === `${disabledWithLimit.toLocaleString("en-US")} of ${total}`);
    await shot("05-filtered");
    await button(browser, "Clear filters").click();
    await waitFor("the full list again", async () => (await listCount(browser)) === `${total} keys`);

    // Sort by name, both ways; the top row is the emulator's first / last name.
    const names = expected.map((k) => k.name.toLowerCase()).sort();
    const sortByName = browser.$('button[title="Sort by name"]');
    await sortByName.click();
    await waitFor("ascending by name", async () => (await rows(browser))[0]?.name.toLowerCase() === names[0]);
    const header = browser.$('//div[@role="columnheader"][.//button[@title="Sort by name"]]');
    check((await header.getAttribute("aria-sort")) === "ascending", "the Name header is not aria-sort=ascending");
    const firstRows = await rows(browser);
    const visibleNames = firstRows.map((r) => r.name.toLowerCase());
    check(visibleNames.every((n, i) => i === 0 || visibleNames[i - 1] <= n), `rows not in name order: ${visibleNames.slice(0, 6)}`);
    await sortByName.click();
    await waitFor("descending by name", async () => (await rows(browser))[0]?.name.toLowerCase() === names[names.length - 1]);
    check((await header.getAttribute("aria-sort")) === "descending", "the Name header is not aria-sort=descending");
    await shot("05-sorted");
  });
});

const RATE_LIMIT_WAIT_S = 31;

scenario(6, "faults-and-recovery", async () => {
  await withApp(MAIN, async (browser) => {
    await waitForList(browser);
    await waitIdle(browser);
    const count = await listCount(browser);

    // A 429 storm with Retry-After: the banner says it waits, then the app retries by itself.
    await emulator.control("DELETE", "/requests");
    // Retry-After beyond the client's 30 s patience: it gives up at once and reports the wait.
    await emulator.control("POST", "/faults", { rate_limit: { for_seconds: 4, retry_after_seconds: RATE_LIMIT_WAIT_S } });
    await button(browser, "Refresh").click();
    const note = banner(browser);
    await waitFor("the rate-limit banner", async () => (await note.isDisplayed()) && (await note.getText()).includes("OpenRouter is rate limiting Keyward"), { timeout: 15000 });
    const waiting = await note.getText();
    check(/Retrying in \d[^(]* \(at /.test(waiting), `the banner does not say when it retries: ${waiting}`);
    check((await button(browser, "New key").getAttribute("aria-disabled")) === "true", "New key is not paused while rate limited");
    await shot("06-rate-limited");
    await waitFor("the rate-limit banner to go by itself", async () => !(await note.isExisting()), { timeout: (RATE_LIMIT_WAIT_S + 25) * 1000, interval: 500 });
    const log = await emulator.requests();
    const keyCalls = log.filter((r) => r.path.startsWith("/api/v1/keys"));
    check(keyCalls.some((r) => r.status === 429), "the emulator never answered 429");
    check(keyCalls.at(-1)?.status === 200, `the last list call was ${keyCalls.at(-1)?.status}, not 200`);
    check((await listCount(browser)) === count, `the list changed to ${await listCount(browser)}`);
    await emulator.control("DELETE", "/faults");

    // The emulator stops: offline banner, the cached list stays, read-only.
    await waitIdle(browser);
    await emulator.stop();
    await button(browser, "Refresh").click();
    await waitFor("the offline banner", async () => (await note.isExisting()) && (await note.getText()).includes("OpenRouter is unreachable"), { timeout: 30000 });
    const text = await note.getText();
    check(text.includes("Showing the cached list") && text.includes("read-only"), `offline banner says: ${text}`);
    check((await listCount(browser)) === count, `cached list shows ${await listCount(browser)}, expected ${count}`);
    check((await rows(browser)).length > 0, "no rows under the offline banner");
    check((await button(browser, "New key").getAttribute("aria-disabled")) === "true", "New key is not disabled while offline");
    const firstRow = (await rows(browser))[0];
    check((await button(browser, `Edit ${firstRow.name}`).getAttribute("aria-disabled")) === "true", "Edit is not disabled while offline");
    await shot("06-offline");

    // Back on the same port: the app recovers by itself, without a restart or a click.
    await emulator.start();
    await waitFor("the offline banner to go by itself", async () => !(await note.isExisting()), { timeout: 60000, interval: 500 });
    await waitFor("New key enabled again", async () => (await button(browser, "New key").getAttribute("aria-disabled")) === "false");
    check((await listCount(browser)) === count, `after recovery the list shows ${await listCount(browser)}`);
    await shot("06-recovered");
  });
});

scenario(6.5, "wrong-management-key", async () => {
  // The stored key is revoked: a new account answers on the same address with another key.
  const port = emulator.port;
  await emulator.stop();
  emulator = new Emulator({ binary: EMULATOR_BIN, managementKey: rotatedKey, stateFile: join(SCRATCH, "emulator-2.json"), port });
  await emulator.start();
  await emulator.control("POST", "/seed", { count: 25, seed: 7 });
  await withApp(MAIN, async (browser) => {
    const problem = alert(browser);
    await waitFor("the rejected-key message", async () => (await problem.isExisting()) && (await problem.getText()).includes("OpenRouter rejected the key"), { timeout: 30000 });
    check((await problem.getText()).includes(`The management key of ${PROFILE} may have been deleted or revoked: paste a current one`), `the message says: ${await problem.getText()}`);
    await shot("06-wrong-management-key");
    await button(browser, "Replace key").click();
    const replace = dialog(browser, `Replace the management key for ${PROFILE}`);
    await replace.waitForDisplayed({ timeout: 10000 });
    await type(await field(browser, "Management key"), rotatedKey);
    await button(browser, "Check and replace key").click();
    await replace.waitForExist({ reverse: true, timeout: 15000 });
    const now = Date.parse((await emulator.control("GET", "/clock")).now);
    const listed = (await emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now).length;
    await waitFor(`${listed} keys of the new account`, async () => (await listCount(browser)) === `${listed} keys`, { timeout: 20000 });
    await shot("06-key-replaced");
  });
  const items = await managementItems(MAIN.service);
  check(items.length === 1 && items[0].secret === rotatedKey, `the keychain does not hold the replaced key: ${items.length} entries`);
  check((await dataDirContains(MAIN.dataDir, rotatedKey)).length === 0, "the replaced key reached the data dir");
});

scenario(7, "sandbox", async () => {
  const before = JSON.stringify(await secretToolSearch(MAIN.service));
  await emulator.control("DELETE", "/requests");
  await withApp(SANDBOX, async (browser) => {
    await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
    await browser.$("//button[.//span[normalize-space(.)='Try the sandbox']]").click();
    const badge = browser.$("//span[contains(@class,'badge') and normalize-space(.)='SANDBOX']");
    await badge.waitForDisplayed({ timeout: 30000 });
    await waitForList(browser, 30000);
    await waitFor("demo keys", async () => (await rows(browser)).length > 5, { timeout: 30000 });
    const count = await listCount(browser);
    check(/^\d[\d,]* keys$/.test(count), `count reads “${count}”`);
    await shot("07-sandbox");
  });
  check(JSON.stringify(await secretToolSearch(MAIN.service)) === before, "the real profile's keychain entries changed");
  check((await managementItems(SANDBOX.service)).every((i) => !i.secret?.includes(firstKey) && !i.secret?.includes(rotatedKey)), "a real key in the sandbox keychain");
  check((await emulator.requests()).length === 0, "the sandbox called the real profile's server");
});

scenario(8, "restart-keeps-state", async () => {
  const now = Date.parse((await emulator.control("GET", "/clock")).now);
  const listed = (await emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now);
  await emulator.control("DELETE", "/requests");
  // A slow server shows whether the list on screen is the cached one (before any answer).
  await emulator.control("POST", "/faults", { latency_ms: 4000 });
  try {
    await withApp(MAIN, async (browser) => {
      await waitForList(browser, 10000);
      const early = await rows(browser);
      const answered = (await emulator.requests()).filter((r) => r.path.startsWith("/api/v1/keys") && r.status !== null);
      check(answered.length === 0, "the server answered before the list appeared, so it is not the cache");
      check(early.length > 0 && early.every((r) => listed.some((k) => k.hash === r.hash)), "the cached rows are not the last list");
      const selected = await browser.$("#profile-select").getValue();
      check((await browser.$(`#profile-select option[value="${selected}"]`).getText()) === PROFILE, "the profile is not there after the restart");
      await shot("08-restart-cached");
      await waitFor("the refreshed list", async () => {
        const log = await emulator.requests();
        return log.some((r) => r.path === "/api/v1/keys" && r.status === 200);
      }, { timeout: 30000 });
      await waitFor("the header to show the refresh", async () => (await browser.$(".updated").getText()).startsWith("updated"), { timeout: 15000 });
      check((await listCount(browser)) === `${listed.length} keys`, `after refresh the list shows ${await listCount(browser)}`);
      check((await browser.$('[role="alert"]').isExisting()) === false, "an error is shown after the restart");
      await shot("08-restart-refreshed");
    });
  } finally {
    await emulator.control("DELETE", "/faults").catch(() => {});
  }
});

// ------------------------------------------------------------ watching and rotation (issues 6 and 5)

/** A fresh account on its own emulator, so other scenarios' keys raise no alerts here. */
async function ownEmulator(tag) {
  const key = `sk-or-v1-e2e-${tag}-${randomBytes(16).toString("hex")}`;
  return new Emulator({ binary: EMULATOR_BIN, managementKey: key, stateFile: join(SCRATCH, `emulator-${tag}.json`) }).start();
}

/** The welcome screen's "Add your management key" with the emulator's management key. */
async function addProfile(browser, em) {
  await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
  await browser.$("//button[.//span[normalize-space(.)='Add your management key']]").click();
  await type(await field(browser, "Profile name"), PROFILE);
  await browser.$("//summary[normalize-space(.)='Base URL and workspace (optional)']").click();
  await type(await field(browser, "Base URL"), em.baseUrl);
  await type(await field(browser, "Management key"), em.managementKey);
  await button(browser, "Check and save").click();
  await waitForList(browser);
}

async function dumpOnFailure(tag, em, body) {
  try {
    return await body();
  } catch (err) {
    const log = await em.requests().catch((e) => ({ error: String(e) }));
    await writeFile(join(ARTIFACTS, `${tag}-emulator-requests.json`), JSON.stringify(log, null, 1)).catch(() => {});
    throw err;
  }
}

const WATCH_SECS = 3;

scenario(9, "alerts", async () => {
  const em = await ownEmulator("alerts");
  const where = {
    dataDir: join(SCRATCH, "data-alerts"),
    service: `keyward-e2e-alerts-${run}`,
    env: { KEYWARD_WATCH_INTERVAL_SECS: String(WATCH_SECS) },
  };
  const LIMITED = "e2e-limited";
  const EXPIRING = "e2e-expiring";
  const limited = (await em.api("POST", "/keys", { name: LIMITED, limit: 10, limit_reset: "monthly" })).data;
  const spy = await new NotificationSpy().start();
  const cycles = (n) => new Promise((resolve) => setTimeout(resolve, n * WATCH_SECS * 1000));
  const about = (name) => spy.mentioning(name).length;
  // The limit notifications (the forecast rule may speak about the same key in its own words).
  const limitNotes = (name) => spy.mentioning(name).filter((n) => n.summary.includes("has used"));
  try {
    await dumpOnFailure("09-alerts", em, () => withApp(where, async (browser) => {
      await addProfile(browser, em);
      await waitForRow(browser, LIMITED);
      // A few cycles at 0 % spend: nothing to say about the key yet.
      await cycles(2);
      check(about(LIMITED) === 0, `notified before any spend: ${JSON.stringify(spy.mentioning(LIMITED).map((n) => n.summary))}`);

      // 85 % of the monthly limit: one notification within a cycle (plus a refresh's slack).
      await em.control("POST", `/keys/${limited.hash}/usage`, { usage: 8.5 });
      const pushedAt = Date.now();
      await waitFor(`a notification about ${LIMITED} at 80 %`, () => limitNotes(LIMITED).length >= 1, { timeout: (2 * WATCH_SECS + 10) * 1000 });
      const first = limitNotes(LIMITED)[0];
      check(/8\d %/.test(first.summary), `the limit notification does not say 8x %: ${first.summary}`);
      console.log(`  80 % notification after ${((Date.now() - pushedAt) / 1000).toFixed(1)} s: “${first.summary}” — “${first.body}”`);
      await shot("09-dunst-80-percent");

      // The alerts panel shows it.
      const bell = browser.$('button[aria-label^="Alerts:"]');
      await waitFor("the bell to count the alert", async () => (await bell.getAttribute("aria-label")) !== "Alerts: 0");
      await bell.click();
      const panelAlert = browser.$(`//li[contains(@class,'alert')][.//strong[normalize-space(.)=${JSON.stringify(LIMITED)}]][contains(., 'has used')]`);
      await panelAlert.waitForDisplayed({ timeout: 10000 });
      const said = await panelAlert.getText();
      check(/8\d\s*%/.test(said), `the panel's alert does not say 8x %: ${said}`);
      const afterFirst = about(LIMITED);
      await shot("09-alerts-panel-80");

      // Two more cycles: no duplicate.
      await cycles(2.5);
      check(limitNotes(LIMITED).length === 1 && about(LIMITED) === afterFirst,
        `duplicates about ${LIMITED} after further cycles: ${JSON.stringify(spy.mentioning(LIMITED).map((n) => n.summary))}`);

      // Past 95 %: a new one.
      await em.control("POST", `/keys/${limited.hash}/usage`, { usage: 1.2 });
      await waitFor(`a second notification about ${LIMITED} at 95 %`, () => limitNotes(LIMITED).length >= 2, { timeout: (2 * WATCH_SECS + 10) * 1000 });
      const second = limitNotes(LIMITED)[1];
      check(/9[5-9] %/.test(second.summary), `the second notification does not say 9x %: ${second.summary} — ${second.body}`);
      console.log(`  95 % notification: “${second.summary}”`);
      const afterSecond = about(LIMITED);
      await shot("09-dunst-95-percent");
      await cycles(2.5);
      check(limitNotes(LIMITED).length === 2 && about(LIMITED) === afterSecond,
        `duplicates about ${LIMITED} after 95 %: ${JSON.stringify(spy.mentioning(LIMITED).map((n) => n.summary))}`);

      // A key that expires tomorrow: notified once, however many cycles pass.
      const now = Date.parse((await em.control("GET", "/clock")).now);
      const expiresAt = new Date(now + 20 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, "Z");
      await em.api("POST", "/keys", { name: EXPIRING, expires_at: expiresAt });
      await waitFor(`a notification about ${EXPIRING}`, () => about(EXPIRING) >= 1, { timeout: (2 * WATCH_SECS + 10) * 1000 });
      const expiry = spy.mentioning(EXPIRING)[0];
      console.log(`  expiry notification: “${expiry.summary}” — “${expiry.body}”`);
      await shot("09-dunst-expiry");
      await cycles(3);
      check(about(EXPIRING) === 1, `expected 1 notification about ${EXPIRING}, got ${about(EXPIRING)}: ${JSON.stringify(spy.mentioning(EXPIRING).map((n) => n.summary))}`);
      const expiryAlert = browser.$(`//li[contains(@class,'alert')][.//strong[normalize-space(.)=${JSON.stringify(EXPIRING)}]]`);
      await expiryAlert.waitForDisplayed({ timeout: 10000 });
      await shot("09-alerts-panel-all");
    }));
  } finally {
    await writeFile(join(ARTIFACTS, "09-dbus-notify.log"), spy.buffer ?? "").catch(() => {});
    await spy.stop();
    await em.stop();
  }
});

scenario(10, "rotation-env-file", async () => {
  const em = await ownEmulator("rotation");
  const where = { dataDir: join(SCRATCH, "data-rotation"), service: `keyward-e2e-rotation-${run}` };
  const NAME = "e2e-rotate";
  const created = await em.api("POST", "/keys", { name: NAME, limit: 5, limit_reset: "weekly" });
  const oldHash = created.data.hash;
  const envPath = join(SCRATCH, "rotation-app.env");
  const before = ["# the app's settings", "DATABASE_URL=postgres://localhost/app", `OPENROUTER_API_KEY=${created.key}`, 'GREETING="hello world"', "", "# end", ""].join("\n");
  await writeFile(envPath, before);
  await dumpOnFailure("10-rotation-env-file", em, () => withApp(where, async (browser) => {
    await addProfile(browser, em);
    await waitForRow(browser, NAME);
    await browser.$(`//button[contains(@class,'name') and normalize-space(.)=${JSON.stringify(NAME)}]`).click();

    // The policy: an .env target, quiet period 0, delete at once.
    const policyButton = button(browser, "Rotation policy…");
    await policyButton.waitForDisplayed({ timeout: 10000 });
    await policyButton.click();
    const policy = dialog(browser, `Rotation policy — ${NAME}`);
    await policy.waitForDisplayed({ timeout: 10000 });
    await button(browser, "+ .env file").click();
    await type(await field(browser, ".env file path"), envPath);
    await type(await field(browser, "Variable"), "OPENROUTER_API_KEY");
    await type(browser.$("#rp-quiet"), "0");
    await checkbox(browser, "or delete at once").click();
    await shot("10-policy");
    await button(browser, "Save policy").click();
    await policy.waitForExist({ reverse: true, timeout: 15000 });

    // Rotate… → the wizard's plan → Start.
    await button(browser, "Rotate…").click();
    const start = button(browser, "Start rotation");
    await start.waitForDisplayed({ timeout: 10000 });
    await waitFor("Start rotation to be enabled", () => start.isEnabled());
    const plan = await bodyText(browser);
    check(plan.includes(envPath), `the wizard's plan does not name the .env file: ${plan}`);
    await shot("10-wizard-plan");
    // A slow server, so the wizard's steps stay on screen long enough to be seen.
    await em.control("POST", "/faults", { latency_ms: 700 });
    await start.click();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await shot("10-wizard-after-start");
    const steps = [];
    const done = browser.$("//div[contains(@class,'callout') and contains(@class,'ok')][contains(normalize-space(.), 'Done —')]");
    const gone = browser.$("//*[normalize-space(.)='This key is not in the list']");
    const seen = new Set();
    // The wizard live: a screenshot of each new step state; it ends completed, or (see the report)
    // unmounted with the key details once the old key leaves the list.
    await waitFor("the wizard to show completed", async () => {
      const state = await browser.execute(() => Array.from(document.querySelectorAll("li.step")).map((li) => li.className.replace("step", "").trim()).join(","));
      if (state && !seen.has(state)) {
        seen.add(state);
        steps.push(state);
        await shot(`10-wizard-step-${seen.size}`);
      }
      return (await done.isExisting()) || (await gone.isExisting());
    }, { timeout: 60000, interval: 150 });
    await em.control("DELETE", "/faults");
    console.log(`  wizard states seen: ${steps.map((st) => st.replace(/\s*svelte-\S+/g, "")).join(" | ")}`);
    if (await done.isExisting()) {
      const doneText = await done.getText();
      check(doneText.includes(`replaced ${NAME}`), `the wizard says: ${doneText}`);
      await shot("10-wizard-completed");
    } else {
      console.log("  the wizard closed with the old key's details before showing completed (KeyDetails drops it)");
      await shot("10-wizard-closed-key-gone");
    }
    // The app's own record of the rotation: completed, every step done.
    const profileId = await browser.$("#profile-select").getValue();
    const history = await browser.execute((args) => window.__TAURI_INTERNALS__.invoke("rotation_history", { args }), { profile_id: profileId, key_hash: oldHash });
    const last = history?.find((r) => r.status === "completed") ?? history?.[0];
    check(last?.status === "completed", `the app's rotation history: ${JSON.stringify(history?.map((r) => r.status))}`);
    check(last.steps.every((st) => st.status === "done" || st.status === "skipped"), `steps: ${JSON.stringify(last.steps.map((st) => `${st.step}:${st.status}`))}`);
    console.log(`  app's rotation record: ${last.status}; ${last.steps.map((st) => `${st.step}:${st.status}`).join(", ")}`);
  }));

  try {
    // The .env file: only that variable changed, and it holds a working key that is the new key.
    const after = await readFile(envPath, "utf8");
    const line = after.split("\n").find((l) => l.startsWith("OPENROUTER_API_KEY="));
    const secret = line?.slice("OPENROUTER_API_KEY=".length).replace(/^"|"$/g, "");
    check(secret && /^sk-or-v1-[0-9a-f]{64}$/.test(secret) && secret !== created.key, `the .env file holds ${secret?.slice(0, 12)}…`);
    check(after === before.replace(created.key, secret), `the rest of the .env file changed:\n${after}`);
    const response = await fetch(`${em.baseUrl}/key`, { headers: { authorization: `Bearer ${secret}` } });
    check(response.status === 200, `GET /key with the new secret → ${response.status}`);
    const newHash = createHash("sha256").update(secret).digest("hex");
    const keys = await em.keys();
    const fresh = keys.find((k) => k.hash === newHash);
    check(fresh && fresh.name.startsWith(NAME) && fresh.name !== NAME, `the new key: ${JSON.stringify(fresh?.name)}`);
    check(fresh.limit === 5 && fresh.limit_reset === "weekly" && !fresh.disabled, `the new key's settings: ${fresh.limit} / ${fresh.limit_reset} / disabled ${fresh.disabled}`);
    // The old key: disabled (PATCH) first, then deleted, and gone.
    check(!keys.some((k) => k.hash === oldHash), "the old key still exists in the emulator");
    const log = (await em.requests()).filter((r) => r.path === `/api/v1/keys/${oldHash}` && r.status === 200);
    const patch = log.findIndex((r) => r.method === "PATCH");
    const del = log.findIndex((r) => r.method === "DELETE");
    check(patch >= 0 && del > patch, `old key calls: ${JSON.stringify(log.map((r) => r.method))}`);
    console.log(`  new key “${fresh.name}”; old key: ${log.map((r) => r.method).join(" → ")}`);
  } finally {
    await em.stop();
  }
});

scenario(11, "tray", async () => {
  const em = await ownEmulator("tray");
  // An hour between checks: only the tray's "Refresh now" can make the watcher look in time.
  const where = { dataDir: join(SCRATCH, "data-tray"), service: `keyward-e2e-tray-${run}`, env: { KEYWARD_WATCH_INTERVAL_SECS: "3600" } };
  const NAME = "e2e-tray-limited";
  const key = (await em.api("POST", "/keys", { name: NAME, limit: 10, limit_reset: "monthly" })).data;
  const tray = await new Tray().start();
  // The menu's items under its title line: Open, Refresh now, Pause / Resume, Quit.
  const [OPEN, REFRESH, PAUSE, QUIT] = [1, 2, 3, 4];
  try {
    await dumpOnFailure("11-tray", em, () => withApp(where, async (browser) => {
      await addProfile(browser, em);
      await waitForRow(browser, NAME);
      const icon = await tray.icon();
      console.log(`  tray icon ${icon.width}×${icon.height} at ${icon.x},${icon.y}`);
      const bell = browser.$('button[aria-label^="Alerts:"]');
      const bellSays = () => bell.getAttribute("aria-label");
      check((await bellSays()) === "Alerts: 0", `alerts before any spend: ${await bellSays()}`);
      await tray.openMenu();
      await tray.screenshot(join(ARTIFACTS, "11-tray-menu-no-alerts.png"));
      await tray.closeMenu();

      // 90 % of the limit, then a few seconds: nothing checks by itself within the hour.
      await em.control("POST", `/keys/${key.hash}/usage`, { usage: 9 });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      check((await bellSays()) === "Alerts: 0", `an alert came before Refresh now: ${await bellSays()}`);
      await tray.choose(REFRESH);
      // 90 % of the limit, and (depending on the hour) the forecast that the key runs out before its
      // reset: one alert or two, both about this key.
      await waitFor("the alert after the tray's Refresh now", async () => /^Alerts: [12]$/.test(await bellSays()), { timeout: 15000 });
      await tray.openMenu();
      await tray.screenshot(join(ARTIFACTS, "11-tray-menu-one-alert.png"));
      await tray.closeMenu();

      // Pause alerts for 1 h, then Resume: the window follows.
      await tray.choose(PAUSE);
      await waitFor("the bell to say paused", async () => /paused/.test(await bellSays()), { timeout: 10000 });
      await tray.openMenu();
      await tray.screenshot(join(ARTIFACTS, "11-tray-menu-paused.png"));
      await tray.closeMenu();
      await tray.choose(PAUSE);
      await waitFor("the bell to say not paused", async () => !/paused/.test(await bellSays()), { timeout: 10000 });

      // Open: the hidden window comes back.
      const main = (await windows()).find((w) => w.name === "Keyward" && w.width >= 800);
      check(main, `no main window among ${JSON.stringify((await windows()).filter((w) => w.className.includes("keyward")))}`);
      await unmapWindow(main.id);
      await waitFor("the window to be hidden", async () => !(await mapped(main.id)), { timeout: 5000 });
      await tray.choose(OPEN);
      await waitFor("the window to be shown by the tray's Open", () => mapped(main.id), { timeout: 10000 });
      await shot("11-window-reopened");

      // Quit: the app ends, window, tray icon and all.
      await tray.choose(QUIT);
      await waitFor("the app to exit after the tray's Quit", async () => !(await processRunning(APP_BIN)), { timeout: 15000 });
      check(!(await windows()).some((w) => w.className.includes("tray-icon tray app keyward")), "the tray icon outlived the app");
      console.log("  Refresh now → alert; Pause → paused; Resume; Open → window shown; Quit → exited");
    }));
  } finally {
    await tray.stop();
    await em.stop();
  }
});

// ============================================================== runner

async function saveFailureArtifacts(tag) {
  const where = current?.where;
  if (where && existsSync(join(where.dataDir, "keyward.log"))) {
    await copyFile(join(where.dataDir, "keyward.log"), join(ARTIFACTS, `${tag}-app.log`)).catch(() => {});
  }
  if (current?.app?.driverLog) await writeFile(join(ARTIFACTS, `${tag}-tauri-driver.log`), current.app.driverLog.join("")).catch(() => {});
  if (emulator.running) {
    const log = await emulator.requests().catch((err) => ({ error: String(err) }));
    await writeFile(join(ARTIFACTS, `${tag}-emulator-requests.json`), JSON.stringify(log, null, 1)).catch(() => {});
  }
  await writeFile(join(ARTIFACTS, `${tag}-emulator-stderr.log`), emulator.stderr.join("")).catch(() => {});
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  await emulator.start();
  let passed = 0;
  let failed = 0;
  const cases = [];
  for (const s of scenarios) {
    if (ONLY.length > 0 && !ONLY.includes(String(Math.floor(s.number)))) continue;
    const tag = `${String(Math.floor(s.number)).padStart(2, "0")}-${s.name}`;
    const started = Date.now();
    currentTag = tag;
    try {
      if (!emulator.running) await emulator.start();
      await s.body();
      passed += 1;
      cases.push({ name: tag, seconds: (Date.now() - started) / 1000 });
      console.log(`PASS ${tag} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed += 1;
      cases.push({ name: tag, seconds: (Date.now() - started) / 1000, failure: err?.stack ?? String(err) });
      console.log(`FAIL ${tag} (${((Date.now() - started) / 1000).toFixed(1)} s): ${err?.stack ?? err}`);
      await saveFailureArtifacts(tag);
      // A failed scenario may leave the app up (e.g. a stuck session); nothing later may share it.
      await current?.app?.quit().catch(() => {});
    }
    current = null;
  }
  await emulator.stop();
  writeJunit(process.env.E2E_JUNIT, "e2e", cases);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.on("SIGTERM", () => {
  killAll();
  process.exit(143);
});

main().then(
  (code) => {
    killAll();
    process.exit(code);
  },
  (err) => {
    console.log(`harness error: ${err?.stack ?? err}`);
    killAll();
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
