// Scenario 22, updates in the real window: a release server on 127.0.0.1 (the debug build's
// KEYWARD_UPDATER_ENDPOINT) announces 99.0.0 with an artifact signed by a key pair made here with the
// pinned Tauri CLI (`tauri signer`, the release pipeline's signer; KEYWARD_UPDATER_PUBKEY). The
// app finds it from About; nothing is downloaded before "Install and restart"; a tampered artifact is
// refused for its signature; the genuine one passes the signature checks (Keyward's and the
// plugin's) and is refused only by the installer step, because it is not a package — so nothing is
// installed and the app keeps running.

import { execFile } from "node:child_process";
import { createServer } from "node:http";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { bodyText, button, check, dialog, waitFor } from "../lib.mjs";
import { SCRATCH, run, scenario, shot, withApp } from "../context.mjs";

const exec = promisify(execFile);
const TAURI = join(dirname(fileURLToPath(import.meta.url)), "../../../ui/node_modules/.bin/tauri");
const VERSION = "99.0.0";

/** A throwaway key pair and `artifact`'s signature bound to VERSION, by the Tauri CLI. */
async function signed(dir, artifact) {
  // The CLI reads the key from these variables first: a release key in the environment must not sign.
  const env = { ...process.env };
  for (const name of ["TAURI_SIGNING_PRIVATE_KEY", "TAURI_SIGNING_PRIVATE_KEY_PATH", "TAURI_SIGNING_PRIVATE_KEY_PASSWORD"]) delete env[name];
  const key = join(dir, "e2e.key");
  await exec(TAURI, ["signer", "generate", "--ci", "-p", "", "-w", key], { env });
  const file = join(dir, "artifact.bin");
  await writeFile(file, artifact);
  await exec(TAURI, ["signer", "sign", "-f", key, "-p", "", "--app-version", VERSION, file], { env });
  return {
    pubkey: (await readFile(`${key}.pub`, "utf8")).trim(),
    signature: (await readFile(`${file}.sig`, "utf8")).trim(),
  };
}

scenario(22, "update", async () => {
  const dir = await mkdtemp(join(SCRATCH, "update-"));
  const artifact = Buffer.from("Keyward e2e update artifact: signed, but not an installer\n".repeat(64));
  const { pubkey, signature } = await signed(dir, artifact);
  const served = { tampered: true, downloads: 0 };
  const server = createServer((req, res) => {
    if (req.url === "/latest.json") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({
        version: VERSION,
        notes: "The e2e release: nothing to see.",
        pub_date: "2026-12-01T12:00:00Z",
        platforms: { "linux-x86_64": { signature, url: `http://127.0.0.1:${server.address().port}/artifact.bin` } },
      }));
    } else if (req.url === "/artifact.bin") {
      served.downloads += 1;
      const body = Buffer.from(artifact);
      if (served.tampered) body[10] ^= 0x20;
      res.setHeader("content-type", "application/octet-stream");
      res.end(body);
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const where = {
    dataDir: join(SCRATCH, "data-update"),
    service: `keyward-e2e-update-${run}`,
    env: { KEYWARD_UPDATER_ENDPOINT: `http://127.0.0.1:${server.address().port}/latest.json`, KEYWARD_UPDATER_PUBKEY: pubkey },
  };
  try {
    await withApp(where, async (browser) => {
      // About → Check for updates: the offer, and nothing downloaded without consent.
      await browser.keys("F1");
      const about = dialog(browser, "About Keyward");
      await about.waitForDisplayed({ timeout: 10000 });
      await about.$("//button[normalize-space(.)='Check for updates']").click();
      const update = dialog(browser, "Software update");
      await update.waitForDisplayed({ timeout: 10000 });
      await waitFor("the offer of 99.0.0", async () => (await update.getText()).includes(`Keyward ${VERSION} is available`), { timeout: 15000 });
      check((await update.getText()).includes("The e2e release"), "the release notes are not shown");
      await shot("22-update-offer");
      check(served.downloads === 0, `the artifact was downloaded ${served.downloads} time(s) before consent`);

      // Tampered: refused for its signature, nothing installed.
      await button(update, "Install and restart").click();
      await waitFor("the tampered update refused", async () => /does not match its signature/.test(await update.getText()), { timeout: 20000 });
      check(served.downloads === 1, `downloads after Install: ${served.downloads}`);
      await shot("22-update-tampered");

      // Genuine: both signature checks pass; the installer step refuses a file that is no package.
      served.tampered = false;
      await button(update, "Try again").click();
      await waitFor("the genuine update past its signature", async () => /the download is not an installer/.test(await update.getText()), { timeout: 20000 });
      const text = await update.getText();
      check(!/signature/.test(text.split("is not an installer")[1] ?? ""), `the genuine artifact failed on its signature: ${text}`);
      check(served.downloads === 2, `downloads after Try again: ${served.downloads}`);
      await shot("22-update-genuine");
      await button(update, "Later").click();
      await update.waitForDisplayed({ reverse: true, timeout: 5000 });
      check(!(await bodyText(browser)).includes("Starting Keyward"), "the app restarted");
      console.log(`  offer ${VERSION} found; tampered → refused (signature); genuine → signature accepted, not a package → not installed`);
    });
  } finally {
    server.close();
  }
});
