// Scenario 21: the README's screenshots, from the real window. The sandbox's key list at the default
// window size (1200×800), once light and once dark. The UI follows prefers-color-scheme, which
// WebKitGTK takes from GTK: GTK_THEME=Adwaita:dark makes the app dark under Xvfb (no desktop settings
// daemon here). Each picture is checked to be that scheme (the page's media query and the pixels'
// mean brightness) and saved, palette-compressed, as tests/artifacts/e2e/readme-{light,dark}.png;
// `cargo xtask test --only e2e` with E2E_ONLY=21 makes them, and they are copied by hand to
// src-tauri/docs/screenshots/ when the UI changes.

import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { button, check, listCount, rows, waitFor, windows } from "../lib.mjs";
import { ARTIFACTS, SCRATCH, run, scenario, waitForList, withApp } from "../context.mjs";

const exec = promisify(execFile);

/** The app's main window: the biggest window of class keyward. */
async function appWindow() {
  return waitFor("the app's window", async () => {
    const found = (await windows()).filter((w) => /keyward/i.test(w.className) && w.width >= 900 && w.height >= 600);
    return found.sort((a, b) => b.width * b.height - a.width * a.height)[0] ?? null;
  }, { timeout: 15000 });
}

/** Mean brightness of an image, 0 (black) to 1 (white). */
async function brightness(path) {
  const { stdout } = await exec("convert", [path, "-colorspace", "Gray", "-format", "%[fx:mean]", "info:"]);
  return Number(stdout.trim());
}

for (const scheme of ["light", "dark"]) {
  scenario(21, `readme-screenshot-${scheme}`, async () => {
    const where = {
      dataDir: join(SCRATCH, `data-readme-${scheme}`),
      service: `keyward-e2e-readme-${scheme}-${run}`,
      env: scheme === "dark" ? { GTK_THEME: "Adwaita:dark" } : { GTK_THEME: "Adwaita" },
    };
    await withApp(where, async (browser) => {
      await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 10000 });
      await browser.$("//button[.//span[normalize-space(.)='Try the sandbox']]").click();
      await waitForList(browser, 30000);
      await waitFor("demo keys", async () => (await rows(browser)).length > 5, { timeout: 30000 });
      check(/^\d[\d,]* keys$/.test(await listCount(browser)), "the sandbox's key count");
      // Settled: the refresh done, no toast over the list.
      await waitFor("the refresh to finish", async () => (await button(browser, "Refresh").isEnabled()), { timeout: 30000 });
      for (const dismiss of await browser.$$("//button[@aria-label='Dismiss']")) await dismiss.click().catch(() => {});
      const dark = await browser.execute(() => matchMedia("(prefers-color-scheme: dark)").matches);
      check(dark === (scheme === "dark"), `the window's prefers-color-scheme is ${dark ? "dark" : "light"}, wanted ${scheme}`);

      const win = await appWindow();
      check(win.width === 1200 && win.height === 800, `the window is ${win.width}×${win.height}, not the default 1200×800`);
      // Nothing focused or hovered in the picture.
      await browser.execute(() => document.activeElement?.blur());
      const raw = join(ARTIFACTS, `readme-${scheme}-raw.png`);
      const out = join(ARTIFACTS, `readme-${scheme}.png`);
      await exec("import", ["-window", win.id, raw]);
      // 256-colour palette: the UI's flat colours survive; the file stays well under 300 KB.
      await exec("convert", [raw, "-strip", "-dither", "None", "-colors", "256", "-define", "png:compression-level=9", `PNG8:${out}`]);
      const light = await brightness(out);
      check(scheme === "dark" ? light < 0.35 : light > 0.65, `the ${scheme} screenshot's mean brightness is ${light.toFixed(2)}`);
      const { size } = await stat(out);
      check(size < 300 * 1024, `the ${scheme} screenshot is ${Math.round(size / 1024)} KB`);
    });
  });
}
