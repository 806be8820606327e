// Scenario 18, the fleet (issue 12): tag keys in their details' Labels editor, filter the list by a
// tag, emergency-revoke everything tagged `leaked` (progress, per-key results, re-enable), and the
// Audit view shows each step. Runs on its own emulator (ownEmulator), keys made over the emulated API.

import { join } from "node:path";
import { bodyText, button, check, dialog, listCount, rows, type, waitFor } from "../lib.mjs";
import { SCRATCH, addProfile, dumpOnFailure, ownEmulator, run, scenario, shot, waitForRow, withApp } from "../context.mjs";

const place = (tag) => ({ dataDir: join(SCRATCH, `data-${tag}`), service: `keyward-e2e-${tag}-${run}` });

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

/** Opens a key's details from its name in the list and adds `tag` with the Labels editor. */
async function addTag(browser, name, tag) {
  await browser.$(`//button[contains(@class,'name') and normalize-space(.)=${JSON.stringify(name)}]`).click();
  const input = browser.$("#labels-tag-input");
  await input.waitForDisplayed({ timeout: 10000 });
  await input.scrollIntoView({ block: "center" });
  await type(input, tag);
  await browser.keys(["Enter"]);
  // The chip, with its ✕, and the input empty again.
  await button(browser, `Remove tag ${tag}`).waitForDisplayed({ timeout: 5000 });
  check((await input.getValue()) === "", `the tag input still holds “${await input.getValue()}”`);
  const save = button(browser, "Save labels");
  await waitFor("Save labels to be enabled", () => save.isEnabled());
  await save.click();
  await browser.$("//section[@aria-labelledby='kd-labels']//*[@role='status'][normalize-space(.)='Saved.']").waitForDisplayed({ timeout: 10000 });
  await closeAll(browser);
  await waitForRow(browser, name, (r) => (r.columns.Tags ?? "").includes(tag));
}

/** The emulator's `disabled` for each of `names`: {name: bool}. */
async function heldDisabled(em, names) {
  const keys = await em.keys();
  return Object.fromEntries(names.map((n) => [n, keys.find((k) => k.name === n)?.disabled]));
}

/** The Audit view's rows as shown: [{seq, profile, action, key, change, outcome}], newest first. */
async function auditRows(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll('table[aria-label="Audit log"] tbody tr')).map((tr) => {
      const cells = Array.from(tr.querySelectorAll("td")).map((td) => td.textContent.replace(/\s+/g, " ").trim());
      return { seq: Number(tr.getAttribute("data-seq")), profile: cells[1], action: cells[3], key: cells[4], change: cells[5], outcome: cells[6] };
    }));
}

scenario(18, "fleet", async () => {
  const em = await ownEmulator("fleet");
  const LEAKED = ["fleet-web", "fleet-worker", "fleet-mobile"];
  const SAFE = ["fleet-billing", "fleet-batch"];
  const ALL = [...LEAKED, ...SAFE];
  const hashes = {};
  for (const name of ALL) hashes[name] = (await em.api("POST", "/keys", { name })).data.hash;
  try {
    await dumpOnFailure("18-fleet", em, () => withApp(place("fleet"), async (browser) => {
      await addProfile(browser, em);
      for (const name of ALL) await waitForRow(browser, name, (r) => r.status === "active");
      await waitFor("the list to count 5 keys", async () => (await listCount(browser)) === "5 keys");

      // Tags, in each key's details: `leaked` on three, another tag on one more (so the filter
      // picks by tag, not "has a tag").
      for (const name of LEAKED) await addTag(browser, name, "leaked");
      await addTag(browser, SAFE[0], "internal");
      check((await rows(browser)).find((r) => r.name === SAFE[1])?.columns.Tags === "—", `${SAFE[1]} shows tags`);

      // The tag filter: only the three leaked keys.
      const tagFilter = browser.$("#tag-filter");
      await tagFilter.waitForDisplayed({ timeout: 10000 });
      const choices = await browser.execute(() => Array.from(document.querySelectorAll("#tag-filter option")).map((o) => o.textContent.trim()));
      check(choices.includes("leaked (3)") && choices.includes("internal (1)"), `the tag filter offers ${JSON.stringify(choices)}`);
      await tagFilter.selectByAttribute("value", "leaked");
      await waitFor("3 of 5 keys", async () => (await listCount(browser)) === "3 of 5");
      const shown = (await rows(browser)).map((r) => r.name).sort();
      check(JSON.stringify(shown) === JSON.stringify([...LEAKED].sort()), `the tag filter shows ${JSON.stringify(shown)}`);
      await shot("18-tag-filter");

      // Emergency revoke from the header, by the filter tag:leaked.
      await button(browser, "Emergency revoke").click();
      const flow = dialog(browser, "Emergency revoke");
      await flow.waitForDisplayed({ timeout: 10000 });
      await type(browser.$("#revoke-filter"), "tag:leaked");
      await button(browser, "Show matching keys").click();
      const matching = flow.$('ul[aria-label="Matching keys"]');
      await matching.waitForDisplayed({ timeout: 15000 });
      const matched = (await browser.execute(() =>
        Array.from(document.querySelectorAll('ul[aria-label="Matching keys"] li')).map((li) => li.textContent.trim()))).sort();
      check(JSON.stringify(matched) === JSON.stringify([...LEAKED].sort()), `the revoke matches ${JSON.stringify(matched)}`);
      check((await flow.getText()).includes("3 keys match"), `the confirm step says: ${await flow.getText()}`);
      await shot("18-revoke-confirm");

      // Each disable takes a while at OpenRouter, so the progress is on screen while it runs.
      await em.control("POST", "/faults", { latency_ms: 2500, path_prefix: "/api/v1/keys/" });
      try {
        await button(browser, "Disable 3 keys now").click();
        const bar = flow.$('[role="progressbar"][aria-label="Disable progress"]');
        await bar.waitForDisplayed({ timeout: 5000 });
        check((await bar.getAttribute("aria-valuemax")) === "3", `the progress bar counts to ${await bar.getAttribute("aria-valuemax")}`);
        await button(browser, "Cancel the rest").waitForDisplayed({ timeout: 2000 });
        await shot("18-revoke-progress");
        await waitFor("the revoke to finish", async () => (await flow.getText()).includes("Disabled 3 keys"), { timeout: 30000 });
      } finally {
        await em.control("DELETE", "/faults");
      }
      const result = await flow.getText();
      check(/3 done · 0 failed · of 3/.test(result.replace(/\s+/g, " ")), `the revoke's counts: ${result}`);
      check(result.includes("Every key is done."), `the revoke's per-key results: ${result}`);
      check(!(await flow.$('ul[aria-label="Keys not done"]').isExisting()), "the revoke lists keys not done");
      await shot("18-revoke-results");
      // The list under the dialog already shows them disabled (from the run's own changes, no refresh).
      for (const name of LEAKED) await waitForRow(browser, name, (r) => r.status === "disabled", 10000);

      // OpenRouter: exactly the leaked keys disabled.
      const afterRevoke = await heldDisabled(em, ALL);
      for (const name of LEAKED) check(afterRevoke[name] === true, `${name} is not disabled at the emulator: ${JSON.stringify(afterRevoke)}`);
      for (const name of SAFE) check(afterRevoke[name] === false, `${name} was disabled: ${JSON.stringify(afterRevoke)}`);
      const patched = (await em.requests()).filter((r) => r.method === "PATCH").map((r) => r.path.split("/").pop());
      check(patched.every((h) => LEAKED.some((n) => hashes[n] === h)) && LEAKED.every((n) => patched.includes(hashes[n])),
        `PATCHed ${JSON.stringify(patched)}; leaked ${JSON.stringify(LEAKED.map((n) => hashes[n]))}`);

      // Re-enable: exactly those keys again.
      await button(browser, "Re-enable").click();
      const again = flow.$('[role="progressbar"][aria-label="Re-enable progress"]');
      await again.waitForDisplayed({ timeout: 5000 });
      await button(browser, "Done").waitForDisplayed({ timeout: 30000 });
      const reenabled = (await flow.getText()).replace(/\s+/g, " ");
      check(/3 done · 0 failed · of 3/.test(reenabled) && reenabled.includes("Every key is done."), `the re-enable says: ${reenabled}`);
      await waitFor("the notice “3 keys enabled again”", async () => (await bodyText(browser)).includes("3 keys enabled again"), { timeout: 10000 });
      await shot("18-reenabled");
      const afterReenable = await heldDisabled(em, ALL);
      check(ALL.every((n) => afterReenable[n] === false), `after re-enable the emulator holds ${JSON.stringify(afterReenable)}`);
      await button(browser, "Done").click();
      await flow.waitForExist({ reverse: true, timeout: 10000 });
      // The list, still filtered by the tag, shows them active.
      for (const name of LEAKED) await waitForRow(browser, name, (r) => r.status === "active");

      // The Audit view: the label changes, the revoke with each key's disable, the re-enable with each key's enable.
      const tab = browser.$("#tab-audit");
      await tab.waitForDisplayed({ timeout: 10000 });
      await tab.click();
      await browser.$('table[aria-label="Audit log"]').waitForDisplayed({ timeout: 15000 });
      const entries = await waitFor("the audit log's entries", async () => {
        const found = await auditRows(browser);
        return found.some((e) => e.action === "Emergency re-enable") ? found : null;
      });
      const of = (action) => entries.filter((e) => e.action === action);
      const labels = of("Metadata changed");
      for (const name of LEAKED) check(labels.some((e) => e.key === name && /tags: .*leaked/.test(e.change) && e.outcome === "OK"), `no label change for ${name}: ${JSON.stringify(labels)}`);
      check(labels.some((e) => e.key === SAFE[0] && e.change.includes("internal")), `no label change for ${SAFE[0]}: ${JSON.stringify(labels)}`);
      check(labels.length === 4, `${labels.length} label changes: ${JSON.stringify(labels)}`);

      const revokes = of("Emergency revoke");
      check(revokes.length === 1, `${revokes.length} emergency revokes: ${JSON.stringify(revokes)}`);
      check(/selection: tag:leaked/.test(revokes[0].change) && /total: 3/.test(revokes[0].change) && /done: 3/.test(revokes[0].change) && /failed: 0/.test(revokes[0].change),
        `the emergency revoke entry says: ${revokes[0].change}`);
      const disables = of("Key disabled");
      check(JSON.stringify(disables.map((e) => e.key).sort()) === JSON.stringify([...LEAKED].sort()), `keys disabled: ${JSON.stringify(disables)}`);
      check(disables.every((e) => e.change.includes("disabled: false → true") && e.outcome === "OK"), `the disables say: ${JSON.stringify(disables)}`);

      const reenables = of("Emergency re-enable");
      check(reenables.length === 1 && /done: 3/.test(reenables[0].change) && /operation: enable/.test(reenables[0].change), `the re-enable entries: ${JSON.stringify(reenables)}`);
      const enables = of("Key enabled");
      check(JSON.stringify(enables.map((e) => e.key).sort()) === JSON.stringify([...LEAKED].sort()), `keys enabled: ${JSON.stringify(enables)}`);
      check(enables.every((e) => e.change.includes("disabled: true → false") && e.outcome === "OK"), `the enables say: ${JSON.stringify(enables)}`);

      // Newest first: the re-enable after the revoke, the revoke after every label change.
      const newest = (list) => Math.max(...list.map((e) => e.seq));
      const oldest = (list) => Math.min(...list.map((e) => e.seq));
      check(oldest([...reenables, ...enables]) > newest([...revokes, ...disables]), `the re-enable is not after the revoke: ${JSON.stringify(entries)}`);
      check(oldest([...revokes, ...disables]) > newest(labels), `the revoke is not after the label changes: ${JSON.stringify(entries)}`);
      check(entries.every((e, i) => i === 0 || entries[i - 1].seq > e.seq), "the audit log is not newest first");
      console.log(`  audit: ${entries.length} entries (${labels.length} label changes, 1 revoke + ${disables.length} disables, 1 re-enable + ${enables.length} enables); profile column of a label change: “${labels[0].profile}”`);
      // Notices out of the way, then the newest entries and, scrolled down, the label changes.
      await waitFor("every notice to be dismissed", async () => {
        const open = await browser.$$('button[aria-label="Dismiss"]');
        if (open.length === 0) return true;
        await open[0].click().catch(() => {});
        return false;
      }, { timeout: 10000, interval: 300 });
      await shot("18-audit");
      await browser.execute(() => {
        const body = document.querySelector('section[aria-label="Audit"] .body');
        if (body) body.scrollTop = body.scrollHeight;
      });
      await shot("18-audit-older");
    }));
  } finally {
    await em.stop();
  }
});
