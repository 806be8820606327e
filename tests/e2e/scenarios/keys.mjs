// Scenarios 1–5, the keys themselves: first run, create, edit, delete, and search / filter / sort over 1,000 keys.

import { createHash } from "node:crypto";
import { join } from "node:path";
import { alert, button, check, checkbox, dialog, field, listCount, rowNamed, rows, secretToolSearch, type, waitFor } from "../lib.mjs";
import { MAIN, PROFILE, appLog, ctx, dataDirContains, firstKey, managementItems, scenario, shot, waitForList, waitForRow, withApp } from "../context.mjs";

scenario(1, "first-run", async () => {
  const inference = (await ctx.emulator.api("POST", "/keys", { name: "e2e inference key" })).key;
  await withApp(MAIN, async (browser) => {
    await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
    await button(browser, "Try the sandbox").isExisting();
    await shot("01-welcome");
    await browser.$("//button[.//span[normalize-space(.)='Add your management key']]").click();
    await type(await field(browser, "Profile name"), PROFILE);
    await browser.$("//summary[normalize-space(.)='Base URL and workspace (optional)']").click();
    await type(await field(browser, "Base URL"), ctx.emulator.baseUrl);

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
    const held = await ctx.emulator.keyNamed(CREATED);
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

    // Quit (a logout's SIGTERM) well within the 30 s the copied secret would stay: the exit hook
    // clears the clipboard, which still holds the secret.
    check(await ctx.current.app.terminate(), "the app did not quit on SIGTERM");
  });
  const log = await appLog(MAIN.dataDir);
  check(/cleared the copied secret from the clipboard when="on quit"/.test(log),
    `the app quit within 30 s of the copy without clearing the clipboard; its log ends:\n${log.split("\n").slice(-6).join("\n")}`);
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
  const held = async () => (await ctx.emulator.keys()).find((k) => k.hash === createdHash);
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
    check(!(await ctx.emulator.keys()).some((k) => k.hash === createdHash), "the emulator still holds the key");
    await shot("04-deleted");
  });
});

scenario(5, "search-filter-sort-1000", async () => {
  await ctx.emulator.control("POST", "/seed", { count: 1000, seed: 20261123 });
  const now = Date.parse((await ctx.emulator.control("GET", "/clock")).now);
  // What the app asks for by default: disabled included, expired not.
  const expected = (await ctx.emulator.keys()).filter((k) => k.expires_at === null || Date.parse(k.expires_at) > now);
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
