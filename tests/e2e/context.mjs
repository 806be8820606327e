// Shared by the runner and every scenario: the environment, the profiles (MAIN, SANDBOX, PROFILE, the
// management keys), the mutable shared state (ctx: the main emulator, the app up, the scenario running),
// the scenario registry, and the helpers around one app launch (withApp, shot, waiting for the list).

import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { App, Emulator, bodyText, button, check, field, listCount, rowNamed, screenshot, secretToolSearch, type, waitFor } from "./lib.mjs";

export const APP_BIN = required("KEYWARD_APP_BIN");
export const EMULATOR_BIN = required("KEYWARD_EMULATOR_BIN");
export const SCRATCH = required("E2E_SCRATCH");
export const ARTIFACTS = required("E2E_ARTIFACTS");

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set (run tests/e2e/run.sh, or cargo xtask test --only e2e)`);
    process.exit(2);
  }
  return value;
}

export const run = randomBytes(4).toString("hex");
export const MAIN = {
  dataDir: join(SCRATCH, "data-main"),
  service: `keyward-e2e-${run}`,
};
export const SANDBOX = {
  dataDir: join(SCRATCH, "data-sandbox"),
  service: `keyward-e2e-sandbox-${run}`,
};
export const PROFILE = "personal";
export const firstKey = `sk-or-v1-e2e-first-${randomBytes(16).toString("hex")}`;
export const rotatedKey = `sk-or-v1-e2e-rotated-${randomBytes(16).toString("hex")}`;

/**
 * The state scenarios and the runner share and reassign: the main emulator (scenario 6.5 replaces it),
 * and the app currently up and the scenario running, for the failure artifacts.
 */
export const ctx = {
  emulator: new Emulator({
    binary: EMULATOR_BIN,
    managementKey: firstKey,
    stateFile: join(SCRATCH, "emulator-1.json"),
  }),
  current: null,
  currentTag: null,
};

function newApp(where) {
  return new App({
    binary: APP_BIN,
    env: { KEYWARD_DATA_DIR: where.dataDir, KEYWARD_KEYCHAIN_SERVICE: where.service, RUST_LOG: "info", ...(where.env ?? {}) },
  });
}

/** Starts the app, waits for its first screen, hands the browser to `body`, and always quits it. */
export async function withApp(where, body) {
  const app = newApp(where);
  ctx.current = { app, where };
  try {
    const browser = await app.launch();
    await browser.setTimeout({ implicit: 0 });
    await waitFor("the app to finish starting", async () => !(await bodyText(browser)).includes("Starting Keyward"), { timeout: 20000 });
    const result = await body(browser);
    await checkNoCspViolations(browser);
    return result;
  } catch (err) {
    // While the window is still up: what the person saw when it went wrong.
    if (ctx.currentTag) await screenshot(join(ARTIFACTS, `${ctx.currentTag}-FAILED.png`)).catch(() => {});
    throw err;
  } finally {
    await app.quit();
  }
}

/**
 * The real window ran into its CSP (src-tauri/tauri.conf.json, no 'unsafe-inline') nowhere: the UI
 * records every violation in `window.__kwCspViolations` (ui/src/lib/cspReport.ts). A scenario that
 * ended with the window closed (the tray) has nothing to read.
 */
async function checkNoCspViolations(browser) {
  let violations;
  try {
    violations = await browser.execute(() => window.__kwCspViolations ?? null);
  } catch {
    return;
  }
  check(Array.isArray(violations), "the window does not record CSP violations (window.__kwCspViolations is missing)");
  check(violations.length === 0, `CSP violations in the real window: ${JSON.stringify(violations)}`);
}

/**
 * The app's log (every daily file in `<data dir>/logs`, oldest first, as one text; "" when there is
 * none): where the app writes it when KEYWARD_DATA_DIR is set.
 */
export async function appLog(dataDir) {
  const dir = join(dataDir, "logs");
  let names = [];
  try {
    names = (await readdir(dir)).filter((n) => /^keyward\.\d{4}-\d{2}-\d{2}\.log$/.test(n)).sort();
  } catch {
    return "";
  }
  const parts = await Promise.all(names.map((n) => readFile(join(dir, n), "utf8")));
  return parts.join("");
}

export async function shot(name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await screenshot(path);
  return path;
}

/** Waits for the key list (header + table) of the active profile. */
export async function waitForList(browser, timeout = 20000) {
  await waitFor("the key list", async () => (await listCount(browser)) !== "", { timeout });
}

/** Waits until no refresh is in flight (the Refresh button works again and the header says when). */
export async function waitIdle(browser, timeout = 30000) {
  const refresh = button(browser, "Refresh");
  await waitFor("the refresh to finish", async () =>
    (await refresh.isEnabled()) && (await browser.$(".updated").getText()).startsWith("updated"), { timeout });
}

export async function waitForRow(browser, name, predicate = () => true, timeout = 15000) {
  return waitFor(`row “${name}”`, async () => {
    const row = await rowNamed(browser, name);
    return row && predicate(row) ? row : null;
  }, { timeout });
}

export async function managementItems(service) {
  return (await secretToolSearch(service)).filter((i) => i.account?.startsWith("management-key/"));
}

/** A fresh account on its own emulator, so other scenarios' keys (and alerts) stay out of it. */
export async function ownEmulator(tag) {
  const key = `sk-or-v1-e2e-${tag}-${randomBytes(16).toString("hex")}`;
  return new Emulator({ binary: EMULATOR_BIN, managementKey: key, stateFile: join(SCRATCH, `emulator-${tag}.json`) }).start();
}

/** The welcome screen's "Add your management key" with the emulator's management key. */
export async function addProfile(browser, em) {
  await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
  await browser.$("//button[.//span[normalize-space(.)='Add your management key']]").click();
  await type(await field(browser, "Profile name"), PROFILE);
  await browser.$("//summary[normalize-space(.)='Base URL and workspace (optional)']").click();
  await type(await field(browser, "Base URL"), em.baseUrl);
  await type(await field(browser, "Management key"), em.managementKey);
  await button(browser, "Check and save").click();
  await waitForList(browser);
}

/** Runs `body`; on failure saves the emulator's request log as `<tag>-emulator-requests.json`. */
export async function dumpOnFailure(tag, em, body) {
  try {
    return await body();
  } catch (err) {
    const log = await em.requests().catch((e) => ({ error: String(e) }));
    await writeFile(join(ARTIFACTS, `${tag}-emulator-requests.json`), JSON.stringify(log, null, 1)).catch(() => {});
    throw err;
  }
}

/** Every byte under the data dir, so a test can prove a secret never reached it. */
export async function dataDirContains(dir, needle) {
  const hits = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    const bytes = await readFile(path);
    if (bytes.includes(Buffer.from(needle))) hits.push(path);
  }
  return hits;
}

/**
 * The files scenarios made deploy targets (an .env file a rotation writes the new secret to): the
 * one place a secret belongs on disk, so the secret hygiene scan leaves exactly these out.
 */
export const deployTargets = new Set();
export function deployTarget(path) {
  deployTargets.add(path);
  return path;
}

// ============================================================== scenarios

export const scenarios = [];
export const scenario = (number, name, body) => scenarios.push({ number, name, body });
