// Keyward end to end: the real app binary in a real window, driven over WebDriver, against the real
// emulator, with the session's real Secret Service. Runs inside the private desktop session that
// run.sh sets up; prints one line per scenario and `N passed, M failed` last.
// This file owns the runner (main: the scenarios in order, failure artifacts, the JUnit report);
// the shared state and helpers are in context.mjs, the scenarios in scenarios/*.mjs.
//
// Env: KEYWARD_APP_BIN, KEYWARD_EMULATOR_BIN, E2E_SCRATCH (scratch dir for data dirs and state),
// E2E_ARTIFACTS (screenshots, and on failure the app log and the emulator's request log),
// E2E_ONLY (optional: comma-separated scenario numbers), E2E_JUNIT (optional: the JUnit report's path).

import { mkdir, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { killAll } from "./lib.mjs";
import { writeJunit } from "../junit.mjs";
import { ARTIFACTS, appLog, ctx, scenarios } from "./context.mjs";
// The scenarios register themselves in this order: 1–5, 6–8, 9–11, 12–15, 18, 19, 22 (updates), 20,
// 21 (README screenshots), 16–17 (the secret
// hygiene scan is last: it searches what every scenario before it left on disk).
import "./scenarios/keys.mjs";
import "./scenarios/resilience.mjs";
import "./scenarios/watch.mjs";
import "./scenarios/account.mjs";
import "./scenarios/fleet.mjs";
import "./scenarios/about.mjs";
import "./scenarios/update.mjs";
import "./scenarios/platform.mjs";
import "./scenarios/screenshots.mjs";
import "./scenarios/hygiene.mjs";

const ONLY = (process.env.E2E_ONLY ?? "").split(",").map((s) => s.trim()).filter(Boolean);

// ============================================================== runner

async function saveFailureArtifacts(tag) {
  const where = ctx.current?.where;
  if (where && existsSync(join(where.dataDir, "logs"))) {
    await writeFile(join(ARTIFACTS, `${tag}-app.log`), await appLog(where.dataDir)).catch(() => {});
  }
  if (ctx.current?.app?.driverLog) await writeFile(join(ARTIFACTS, `${tag}-tauri-driver.log`), ctx.current.app.driverLog.join("")).catch(() => {});
  if (ctx.emulator.running) {
    const log = await ctx.emulator.requests().catch((err) => ({ error: String(err) }));
    await writeFile(join(ARTIFACTS, `${tag}-emulator-requests.json`), JSON.stringify(log, null, 1)).catch(() => {});
  }
  await writeFile(join(ARTIFACTS, `${tag}-emulator-stderr.log`), ctx.emulator.stderr.join("")).catch(() => {});
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  await ctx.emulator.start();
  let passed = 0;
  let failed = 0;
  const cases = [];
  for (const s of scenarios) {
    if (ONLY.length > 0 && !ONLY.includes(String(Math.floor(s.number)))) continue;
    const tag = `${String(Math.floor(s.number)).padStart(2, "0")}-${s.name}`;
    const started = Date.now();
    ctx.currentTag = tag;
    try {
      if (!ctx.emulator.running) await ctx.emulator.start();
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
      await ctx.current?.app?.quit().catch(() => {});
    }
    ctx.current = null;
  }
  await ctx.emulator.stop();
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
