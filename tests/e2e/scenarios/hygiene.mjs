// Scenarios 16–17: a pasted key checked ("Check a key"), then the secret hygiene scan, last of all:
// after every scenario before it, no secret the run used may be anywhere the session wrote — the
// data dirs (keyward.sqlite3 and its WAL, logs/keyward.<date>.log and crash notes), WebKit's storage and caches under the
// scratch HOME, the session's TMPDIR, and files created in /tmp since the session began. Only the
// .env files scenarios made deploy targets (where a rotated secret belongs) are left out.

import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { button, check, dialog, field, type, waitFor } from "../lib.mjs";
import { collectIssuedSecrets, noteSecret, secretCollectionErrors, secretsUsed } from "../lib.mjs";
import { ARTIFACTS, SCRATCH, addProfile, deployTargets, ownEmulator, run, scenario, shot, withApp } from "../context.mjs";
import { prepare, scan, searchBytes } from "../hygiene.mjs";

const exec = promisify(execFile);
const harnessStarted = Date.now();

scenario(16, "check-a-key", async () => {
  const em = await ownEmulator("check");
  const where = { dataDir: join(SCRATCH, "data-check"), service: `keyward-e2e-check-${run}` };
  try {
    const pasted = (await em.api("POST", "/keys", { name: "e2e pasted key", limit: 3 })).key;
    await withApp(where, async (browser) => {
      await addProfile(browser, em);
      await button(browser, "Check a key").click();
      const checkDialog = dialog(browser, "Check a key");
      await checkDialog.waitForDisplayed({ timeout: 10000 });
      const input = await field(browser, "Key");
      await type(input, pasted);
      await button(browser, "Check").click();
      await waitFor("the key's details", async () => (await checkDialog.getText()).includes("Inference key"), { timeout: 15000 });
      check((await input.getValue()) === "", "the pasted key stayed in the field after the check");
      await shot("16-check-a-key");
      await browser.keys("Escape");
    });
  } finally {
    await em.stop();
  }
});

/** Every secret in the session's keychain: management keys (the sandbox's too), pending and kept secrets. */
async function keychainSecrets() {
  const { stdout } = await exec("secret-tool", ["search", "--all", "--unlock", "application", "rust-keyring"], { maxBuffer: 64 << 20 })
    .catch((err) => ({ stdout: err.stdout ?? "" }));
  return stdout.split("\n").filter((line) => line.startsWith("secret = ")).map((line) => line.slice("secret = ".length));
}

/** Names under /tmp (or the caller's TMPDIR) that are not this session's: other sessions' scratch dirs. */
const ignoredTmpNames = (process.env.E2E_HYGIENE_TMP_IGNORE ?? "").split(":").filter(Boolean);

scenario(17, "secret-hygiene", async () => {
  await collectIssuedSecrets();
  check(secretCollectionErrors.length === 0, `could not read every emulator's handed-out secrets: ${secretCollectionErrors.join("; ")}`);
  const inKeychain = await keychainSecrets();
  for (const [i, value] of inKeychain.entries()) noteSecret(value, `keychain item #${i + 1}`);
  const secrets = [...secretsUsed].map(([value, name]) => ({ name, value }));
  check(secrets.length >= 2, `only ${secrets.length} secrets known: the run used more`);
  const prepared = prepare(secrets);

  // The scanner can fail: a secret of this run, planted in UTF-16 as WebKit stores strings, is found.
  const canary = Buffer.concat([Buffer.alloc(101, 7), Buffer.from(secrets[0].value, "utf16le"), Buffer.alloc(50, 1)]);
  check(searchBytes(prepared, canary).length > 0, "the scanner does not find a planted secret");

  const started = harnessStarted - 120_000;
  const tmpRoots = [...new Set(["/tmp", process.env.E2E_ORIG_TMPDIR].filter(Boolean))];
  const inScratch = (path) => path === SCRATCH || path.startsWith(`${SCRATCH}/`);
  const exclude = (path) => {
    if (deployTargets.has(path)) return "a deploy target (the rotated secret belongs there)";
    if (path === join(SCRATCH, "keyward")) return "the app binary under test (a copy)";
    return null;
  };
  // The session's scratch dir whole; then, under the temp dirs, only what was made or changed
  // since the session began, leaving out the scratch dir (scanned already) and other sessions'.
  const inSession = await scan(prepared, [SCRATCH], { exclude });
  const inTmp = await scan(prepared, tmpRoots, {
    exclude,
    include: (path, info) => {
      const name = basename(path);
      if (inScratch(path)) return false;
      if (tmpRoots.includes(dirname(path)) && (name.startsWith("keyward-session.") || ignoredTmpNames.some((n) => name.startsWith(n)))) return false;
      return info.isDirectory() || Math.max(info.mtimeMs, info.ctimeMs) >= started;
    },
  });
  const result = {
    files: inSession.files + inTmp.files,
    bytes: inSession.bytes + inTmp.bytes,
    hits: [...inSession.hits, ...inTmp.hits],
    excluded: inSession.excluded,
    unreadable: [...inSession.unreadable, ...inTmp.unreadable],
    tooLarge: [...inSession.tooLarge, ...inTmp.tooLarge],
  };
  // Where the files were, by directory two levels below the scratch dir (four under home, e.g.
  // WebKit's storage in home/.local/share/dev.keyward.app), for the report.
  const where = {};
  for (const path of inSession.paths) {
    const parts = path.slice(SCRATCH.length + 1).split("/");
    const depth = parts[0] === "home" ? 4 : 2;
    const group = parts.slice(0, Math.min(depth, parts.length - 1)).join("/") || ".";
    where[group] = (where[group] ?? 0) + 1;
  }
  const scratchProblems = [...result.unreadable.filter((u) => inScratch(u.path)).map((u) => `${u.path}: ${u.error}`),
    ...result.tooLarge.filter(inScratch).map((p) => `${p}: larger than the scanner reads`)];
  const summary = {
    secretsSearched: secrets.length,
    secrets: secrets.map((s) => s.name),
    inKeychain: inKeychain.length,
    roots: [SCRATCH, ...tmpRoots],
    tmpdir: tmpdir(),
    filesScanned: result.files,
    filesInSessionByDir: where,
    filesInTmp: inTmp.paths,
    bytesScanned: result.bytes,
    excluded: result.excluded,
    notReadOutsideScratch: result.unreadable.filter((u) => !inScratch(u.path)).length,
    hits: result.hits,
  };
  await writeFile(join(ARTIFACTS, "17-secret-hygiene.json"), JSON.stringify(summary, null, 1));
  console.log(`  secret hygiene: ${result.files} files (${(result.bytes / 1048576).toFixed(1)} MiB) scanned under ${summary.roots.join(", ")}`);
  console.log(`  in the session: ${Object.entries(where).map(([dir, n]) => `${dir} ${n}`).join(", ")}; in ${tmpRoots.join(", ")}: ${inTmp.files} new files`);
  console.log(`  secrets searched: ${secrets.length} (${inKeychain.length} read back from the keychain); excluded: ${result.excluded.map((e) => basename(e.path)).join(", ") || "none"}`);
  console.log(`  hits: ${result.hits.length}`);
  for (const hit of result.hits) console.log(`    ${hit.path}: ${hit.name} (${hit.encoding}, offset ${hit.offset})`);
  check(scratchProblems.length === 0, `files of the session the scan could not read: ${scratchProblems.join("; ")}`);
  check(result.files > 0, "no file scanned");
  check(result.hits.length === 0, `${result.hits.length} secret(s) found on disk: ${[...new Set(result.hits.map((h) => h.path))].join(", ")}`);
});
