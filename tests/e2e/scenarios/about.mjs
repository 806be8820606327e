// Scenario 19, first impression: a panic leaves a crash note in the log folder and the next start
// offers it (Show the report / Copy / Dismiss); About opens with F1.

import { spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { bodyText, check, dialog, waitFor } from "../lib.mjs";
import { APP_BIN, SCRATCH, run, scenario, shot, withApp } from "../context.mjs";

/** Runs the app without WebDriver until it exits by itself (or 60 s pass): its exit code. */
function runToExit(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(APP_BIN, [], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the app did not exit within 60 s with KEYWARD_CRASH_TEST=1; stderr: ${stderr.slice(-2000)}`));
    }, 60000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

scenario(19, "crash-note", async () => {
  const where = { dataDir: join(SCRATCH, "data-crash"), service: `keyward-e2e-crash-${run}`, env: {} };
  const logs = join(where.dataDir, "logs");
  // The debug build honours KEYWARD_CRASH_TEST=1 (a release build has no such code).
  const crashed = await runToExit({
    KEYWARD_DATA_DIR: where.dataDir,
    KEYWARD_KEYCHAIN_SERVICE: where.service,
    KEYWARD_CRASH_TEST: "1",
    RUST_LOG: "info",
  });
  check(crashed.code !== 0, `the app exited with ${crashed.code}/${crashed.signal} after the crash test`);
  const names = await readdir(logs);
  const notes = names.filter((n) => /^crash-.*\.txt$/.test(n) && !n.endsWith(".seen.txt"));
  check(notes.length === 1, `crash notes in ${logs}: ${JSON.stringify(names)}`);
  check(names.some((n) => /^keyward\.\d{4}-\d{2}-\d{2}\.log$/.test(n)), `no daily log file in ${logs}: ${JSON.stringify(names)}`);
  const note = await readFile(join(logs, notes[0]), "utf8");
  for (const part of ["Message: crash test (KEYWARD_CRASH_TEST=1)", "Version: ", "Commit: ", "Location: ", "Backtrace:"]) {
    check(note.includes(part), `the crash note lacks “${part}”: ${note.slice(0, 600)}`);
  }
  console.log(`  crash note ${notes[0]} (${note.length} chars) beside ${names.filter((n) => n.endsWith(".log")).join(", ")}`);

  await withApp(where, async (browser) => {
    const banner = browser.$("//section[@aria-label='Crash report']");
    await banner.waitForDisplayed({ timeout: 15000 });
    check((await banner.getText()).includes("Keyward quit unexpectedly on"), `the banner says: ${await banner.getText()}`);
    await banner.$("//button[normalize-space(.)='Show the report']").click();
    const text = banner.$("//pre[@aria-label='Crash report text']");
    await text.waitForDisplayed({ timeout: 5000 });
    check((await text.getText()).includes("crash test (KEYWARD_CRASH_TEST=1)"), "the report shown is not the note");
    await shot("19-crash-banner");
    await banner.$("//button[normalize-space(.)='Dismiss']").click();
    await banner.waitForDisplayed({ reverse: true, timeout: 5000 });

    // F1: About, with the version and the bundled libraries.
    await browser.keys("F1");
    const about = dialog(browser, "About Keyward");
    await about.waitForDisplayed({ timeout: 10000 });
    await waitFor("About's facts", async () => (await bodyText(browser)).includes("Bundled libraries"), { timeout: 10000 });
    await shot("19-about");
    await browser.keys("Escape");
    await about.waitForDisplayed({ reverse: true, timeout: 5000 });
  });
  const after = await readdir(logs);
  check(after.includes(notes[0].replace(/\.txt$/, ".seen.txt")) && !after.includes(notes[0]), `dismissing did not mark the note seen: ${JSON.stringify(after)}`);
});
