// Scenarios 6–8, resilience: faults and recovery, a wrong management key, the sandbox, restart keeps state.

import { join } from "node:path";
import { Emulator, alert, banner, button, check, dialog, field, listCount, rows, secretToolSearch, type, waitFor } from "../lib.mjs";
import {
  EMULATOR_BIN, MAIN, PROFILE, SANDBOX, SCRATCH, ctx, dataDirContains, firstKey, managementItems, rotatedKey, scenario, shot, waitForList,
  waitIdle, withApp,
} from "../context.mjs";

const RATE_LIMIT_WAIT_S = 31;

scenario(6, "faults-and-recovery", async () => {
  await withApp(MAIN, async (browser) => {
    await waitForList(browser);
    await waitIdle(browser);
    const count = await listCount(browser);

    // A 429 storm with Retry-After: the banner says it waits, then the app retries by itself.
    await ctx.emulator.control("DELETE", "/requests");
    // Retry-After beyond the client's 30 s patience: it gives up at once and reports the wait.
    await ctx.emulator.control("POST", "/faults", { rate_limit: { for_seconds: 4, retry_after_seconds: RATE_LIMIT_WAIT_S } });
    await button(browser, "Refresh").click();
    const note = banner(browser);
    await waitFor("the rate-limit banner", async () => (await note.isDisplayed()) && (await note.getText()).includes("OpenRouter is rate limiting Keyward"), { timeout: 15000 });
    const waiting = await note.getText();
    check(/Retrying in \d[^(]* \(at /.test(waiting), `the banner does not say when it retries: ${waiting}`);
    check((await button(browser, "New key").getAttribute("aria-disabled")) === "true", "New key is not paused while rate limited");
    await shot("06-rate-limited");
    await waitFor("the rate-limit banner to go by itself", async () => !(await note.isExisting()), { timeout: (RATE_LIMIT_WAIT_S + 25) * 1000, interval: 500 });
    const log = await ctx.emulator.requests();
    // A refresh lists the workspaces first, then each workspace's keys: the storm hits whichever comes first.
    const listCalls = log.filter((r) => r.path.startsWith("/api/v1/keys") || r.path.startsWith("/api/v1/workspaces"));
    check(listCalls.some((r) => r.status === 429), `the emulator never answered 429 to a listing call: ${JSON.stringify(log.map((r) => `${r.path} ${r.status}`))}`);
    const keyCalls = log.filter((r) => r.path.startsWith("/api/v1/keys"));
    check(keyCalls.at(-1)?.status === 200, `the last key list call was ${keyCalls.at(-1)?.status}, not 200`);
    check((await listCount(browser)) === count, `the list changed to ${await listCount(browser)}`);
    await ctx.emulator.control("DELETE", "/faults");

    // The emulator stops: offline banner, the cached list stays, read-only.
    await waitIdle(browser);
    await ctx.emulator.stop();
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
    await ctx.emulator.start();
    await waitFor("the offline banner to go by itself", async () => !(await note.isExisting()), { timeout: 60000, interval: 500 });
    await waitFor("New key enabled again", async () => (await button(browser, "New key").getAttribute("aria-disabled")) === "false");
    check((await listCount(browser)) === count, `after recovery the list shows ${await listCount(browser)}`);
    await shot("06-recovered");
  });
});

scenario(6.5, "wrong-management-key", async () => {
  // The stored key is revoked: a new account answers on the same address with another key.
  const port = ctx.emulator.port;
  await ctx.emulator.stop();
  ctx.emulator = new Emulator({ binary: EMULATOR_BIN, managementKey: rotatedKey, stateFile: join(SCRATCH, "emulator-2.json"), port });
  await ctx.emulator.start();
  await ctx.emulator.control("POST", "/seed", { count: 25, seed: 7 });
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
    const now = Date.parse((await ctx.emulator.control("GET", "/clock")).now);
    const listed = (await ctx.emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now).length;
    await waitFor(`${listed} keys of the new account`, async () => (await listCount(browser)) === `${listed} keys`, { timeout: 20000 });
    await shot("06-key-replaced");
  });
  const items = await managementItems(MAIN.service);
  check(items.length === 1 && items[0].secret === rotatedKey, `the keychain does not hold the replaced key: ${items.length} entries`);
  check((await dataDirContains(MAIN.dataDir, rotatedKey)).length === 0, "the replaced key reached the data dir");
});

scenario(7, "sandbox", async () => {
  const before = JSON.stringify(await secretToolSearch(MAIN.service));
  await ctx.emulator.control("DELETE", "/requests");
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
  check((await ctx.emulator.requests()).length === 0, "the sandbox called the real profile's server");
});

scenario(8, "restart-keeps-state", async () => {
  const now = Date.parse((await ctx.emulator.control("GET", "/clock")).now);
  const listed = (await ctx.emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now);
  await ctx.emulator.control("DELETE", "/requests");
  // A slow server shows whether the list on screen is the cached one (before any answer).
  await ctx.emulator.control("POST", "/faults", { latency_ms: 4000 });
  try {
    await withApp(MAIN, async (browser) => {
      await waitForList(browser, 10000);
      const early = await rows(browser);
      const answered = (await ctx.emulator.requests()).filter((r) => r.path.startsWith("/api/v1/keys") && r.status !== null);
      check(answered.length === 0, "the server answered before the list appeared, so it is not the cache");
      check(early.length > 0 && early.every((r) => listed.some((k) => k.hash === r.hash)), "the cached rows are not the last list");
      const selected = await browser.$("#profile-select").getValue();
      check((await browser.$(`#profile-select option[value="${selected}"]`).getText()) === PROFILE, "the profile is not there after the restart");
      await shot("08-restart-cached");
      await waitFor("the refreshed list", async () => {
        const log = await ctx.emulator.requests();
        return log.some((r) => r.path === "/api/v1/keys" && r.status === 200);
      }, { timeout: 30000 });
      await waitFor("the header to show the refresh", async () => (await browser.$(".updated").getText()).startsWith("updated"), { timeout: 15000 });
      check((await listCount(browser)) === `${listed.length} keys`, `after refresh the list shows ${await listCount(browser)}`);
      check((await browser.$('[role="alert"]').isExisting()) === false, "an error is shown after the restart");
      await shot("08-restart-refreshed");
    });
  } finally {
    await ctx.emulator.control("DELETE", "/faults").catch(() => {});
  }
});
