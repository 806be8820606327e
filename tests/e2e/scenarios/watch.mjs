// Scenarios 9–11, watching and rotation: alerts as notifications, rotation into an .env file, the tray.

import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  NotificationSpy, TRAY_ITEMS, Tray, bodyText, button, check, checkbox, dialog, field, mapped, processRunning, type, unmapWindow, waitFor, windows,
} from "../lib.mjs";
import {
  APP_BIN, ARTIFACTS, SCRATCH, addProfile, deployTarget, dumpOnFailure, ownEmulator, run, scenario, shot, waitForRow, withApp,
} from "../context.mjs";

// ------------------------------------------------------------ watching and rotation (issues 6 and 5)

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
  const envPath = deployTarget(join(SCRATCH, "rotation-app.env"));
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
  // The menu's items under its title line: Open, Refresh now, Pause / Resume, Emergency revoke…,
  // About Keyward, Check for updates…, Quit.
  const { OPEN, REFRESH, PAUSE, EMERGENCY, ABOUT, CHECK_UPDATES, QUIT } = TRAY_ITEMS;
  // A release server on 127.0.0.1 (the debug build's KEYWARD_UPDATER_ENDPOINT): nothing newer.
  const releases = createServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ version: "0.1.0", notes: "", platforms: {} }));
  });
  await new Promise((resolve) => releases.listen(0, "127.0.0.1", resolve));
  where.env.KEYWARD_UPDATER_ENDPOINT = `http://127.0.0.1:${releases.address().port}/latest.json`;
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

      // Emergency revoke…: the window opens on the revoke flow (nothing is revoked until confirmed).
      await tray.choose(EMERGENCY);
      const revoke = dialog(browser, "Emergency revoke");
      await revoke.waitForDisplayed({ timeout: 10000 });
      await shot("11-tray-emergency-revoke");
      await browser.keys("Escape");
      await revoke.waitForDisplayed({ reverse: true, timeout: 5000 });
      const still = (await em.api("GET", `/keys/${key.hash}`)).data;
      check(still.disabled === false, "opening the emergency revoke from the tray changed a key");

      // About Keyward: the window shows About (version, licences, diagnostics).
      await tray.choose(ABOUT);
      const about = dialog(browser, "About Keyward");
      await about.waitForDisplayed({ timeout: 10000 });
      await shot("11-tray-about");
      await browser.keys("Escape");
      await about.waitForDisplayed({ reverse: true, timeout: 5000 });

      // Check for updates…: the update dialog, answered by the local release server.
      await tray.choose(CHECK_UPDATES);
      const update = dialog(browser, "Software update");
      await update.waitForDisplayed({ timeout: 10000 });
      await waitFor("the update check's answer", async () => /is up to date/.test(await update.getText()), { timeout: 10000 });
      await shot("11-tray-check-updates");
      await browser.keys("Escape");
      await update.waitForDisplayed({ reverse: true, timeout: 5000 });

      // Quit: the app ends, window, tray icon and all.
      await tray.choose(QUIT);
      await waitFor("the app to exit after the tray's Quit", async () => !(await processRunning(APP_BIN)), { timeout: 15000 });
      // The X server drops a client's windows once it has seen the connection close: a moment later.
      await waitFor("the tray icon to go with the app", async () => !(await windows()).some((w) => w.className.includes("tray-icon tray app keyward")), { timeout: 5000 });
      console.log("  Refresh now → alert; Pause → paused; Resume; Open → window shown; About → dialog; Check for updates → dialog; Quit → exited");
    }));
  } finally {
    releases.close();
    await tray.stop();
    await em.stop();
  }
});
