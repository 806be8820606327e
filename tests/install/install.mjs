// The Linux packages as a person gets them: the .deb's and .rpm's metadata and file lists, then the
// .deb installed with apt, Keyward launched from its desktop entry (gtk-launch) with a real tray
// host, its window and its sandbox offer seen (the offer read over AT-SPI: the installed app has no
// test hooks), quit from the tray menu, and the package removed and purged, every file gone.
// Runs inside tests/session.sh --x11 (run.sh); as root. Env: KEYWARD_DEB, KEYWARD_RPM, INSTALL_JUNIT,
// INSTALL_ARTIFACTS. Prints each case and ends with `N passed, M failed`.

import { execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { TRAY_ITEMS, Tray, check, killAll, mapped, screenshot, sleep, waitFor, windows } from "../e2e/lib.mjs";
import { writeJunit } from "../junit.mjs";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const DEB = process.env.KEYWARD_DEB;
const RPM = process.env.KEYWARD_RPM;
const ARTIFACTS = process.env.INSTALL_ARTIFACTS;
const PACKAGE = "keyward";
const HOMEPAGE = "https://github.com/keyward-app/keyward";
const ENTRY = "/usr/share/applications/Keyward.desktop";
const BINARY = "/usr/bin/keyward";
const ICON_SIZES = [16, 22, 24, 32, 48, 64, 96, 128, 256, 512];
const ICONS = ICON_SIZES.map((s) => `/usr/share/icons/hicolor/${s}x${s}/apps/keyward.png`);
// Exactly what each package installs: the app, its desktop entry, its icons, its license. Anything
// else (the emulator binary, test assets, a stray build file) fails the file list cases.
const DEB_FILES = [BINARY, ENTRY, ...ICONS, "/usr/share/doc/keyward/copyright"].sort();
const RPM_FILES = [BINARY, ENTRY, ...ICONS, "/usr/share/licenses/keyward/LICENSE"].sort();
// The runtime libraries the app links (ldd) that the .deb must declare, by the package that ships them.
const DEB_DEPENDS = ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1", "libdbus-1-3"];
const RPM_REQUIRES = ["webkit2gtk4.1", "gtk3", "libayatana-appindicator-gtk3", "dbus-libs"];

const cases = [];
let failed = false;

async function testCase(name, body) {
  const started = Date.now();
  try {
    await body();
    cases.push({ name, seconds: (Date.now() - started) / 1000 });
    console.log(`ok   ${name}`);
  } catch (err) {
    failed = true;
    const failure = err?.stack ?? String(err);
    cases.push({ name, seconds: (Date.now() - started) / 1000, failure });
    console.log(`FAIL ${name}\n${failure.replace(/^/gm, "     ")}`);
  }
}

async function sh(program, args, options = {}) {
  const { stdout } = await run(program, args, { maxBuffer: 32 * 1024 * 1024, ...options });
  return stdout;
}

/** A control file's fields (dpkg-deb -f / dpkg -s): name → value, continuation lines joined by \n. */
function controlFields(text) {
  const fields = {};
  let last = null;
  for (const line of text.split("\n")) {
    if (/^\s/.test(line) && last) fields[last] += `\n${line.trim()}`;
    else {
      const m = /^([\w-]+):\s?(.*)$/.exec(line);
      if (m) [last, fields[m[1]]] = [m[1], m[2]];
    }
  }
  return fields;
}

/** `[Desktop Entry]` keys of a desktop file. */
function desktopEntry(text) {
  const entry = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z-]+)=(.*)$/.exec(line);
    if (m) entry[m[1]] = m[2];
  }
  return entry;
}

function sameList(actual, expected, what) {
  const extra = actual.filter((f) => !expected.includes(f));
  const missing = expected.filter((f) => !actual.includes(f));
  check(extra.length === 0 && missing.length === 0, `${what}: unexpected ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`);
}

async function installed() {
  try {
    return (await sh("dpkg-query", ["-W", "-f=${Status}", PACKAGE])).trim() === "install ok installed";
  } catch {
    return false;
  }
}

async function purge() {
  await sh("dpkg", ["--purge", PACKAGE]);
}

/** The Keyward processes of this session (the installed binary, started from the entry). */
function appPids() {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const exe = readlinkSync(`/proc/${pid}/exe`);
      const env = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      if (exe === BINARY && env.includes(`KEYWARD_SESSION_DIR=${process.env.KEYWARD_SESSION_DIR}`)) pids.push(Number(pid));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** The quoted strings of an xwininfo class list: `"keyward" "Keyward"` → ["keyward", "Keyward"]. */
function classes(className) {
  return [...className.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
}

async function main() {
  check(DEB && existsSync(DEB), `KEYWARD_DEB must name the .deb (got ${DEB})`);
  check(RPM && existsSync(RPM), `KEYWARD_RPM must name the .rpm (got ${RPM})`);
  // The workspace's version (Cargo.toml [workspace.package]), which the bundler writes into both.
  const version = /\[workspace\.package\][^[]*?\nversion = "([^"]+)"/.exec(readFileSync(join(here, "../../Cargo.toml"), "utf8"))?.[1];
  check(version, "no version in Cargo.toml's [workspace.package]");
  let entry = {};
  let tray = null;
  let wasInstalled = false;

  await testCase("the .deb's control fields: maintainer, description, depends, homepage", async () => {
    const fields = controlFields(await sh("dpkg-deb", ["-f", DEB]));
    check(fields.Package === PACKAGE, `Package: ${fields.Package}`);
    check(fields.Version === version, `Version ${fields.Version}, Cargo says ${version}`);
    check(fields.Maintainer && !/^keyward$/i.test(fields.Maintainer.trim()), `Maintainer: ${fields.Maintainer}`);
    const [summary, ...long] = (fields.Description ?? "").split("\n");
    check(summary === "Manage OpenRouter API keys", `Description's summary: ${summary}`);
    check(long.join(" ").length > 200 && !long.includes("(none)"), `long description: ${JSON.stringify(long)}`);
    check(fields.Homepage === HOMEPAGE, `Homepage: ${fields.Homepage}`);
    check(fields.Section && fields.Priority, `Section ${fields.Section}, Priority ${fields.Priority}`);
    const depends = (fields.Depends ?? "").split(",").map((d) => d.trim().split(/\s/)[0]);
    sameList(DEB_DEPENDS.filter((d) => !depends.includes(d)), [], `Depends (${fields.Depends}) lacks`);
    console.log(`     Maintainer: ${fields.Maintainer}; Depends: ${fields.Depends}`);
  });

  await testCase("the .deb holds the app, its desktop entry, an icon at every size, its license, nothing else", async () => {
    const files = (await sh("dpkg-deb", ["-c", DEB]))
      .split("\n")
      .filter((line) => line.startsWith("-"))
      .map((line) => line.split(/\s+/).slice(5).join(" ").replace(/^\.?\/?/, "/"));
    sameList(files.sort(), DEB_FILES, "files in the .deb");
  });

  await testCase("the desktop entry validates and names the binary, icon and window class", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "keyward-deb-"));
    try {
      await sh("dpkg-deb", ["-x", DEB, scratch]);
      const path = join(scratch, ENTRY);
      await sh("desktop-file-validate", [path]).catch((err) => {
        throw new Error(`desktop-file-validate: ${err.stdout}${err.stderr}`);
      });
      entry = desktopEntry(readFileSync(path, "utf8"));
      check(entry.Exec === "keyward" && entry.Icon === "keyward" && entry.Name === "Keyward", `Exec/Icon/Name: ${JSON.stringify(entry)}`);
      check(entry.Type === "Application" && entry.Terminal === "false", `Type/Terminal: ${JSON.stringify(entry)}`);
      for (const key of ["Comment", "Keywords", "Categories", "StartupWMClass"]) check(entry[key], `no ${key}: ${JSON.stringify(entry)}`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  await testCase("the .rpm's metadata, requires and files", async () => {
    const info = await sh("rpm", ["-qip", RPM]);
    const field = (name) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
    check(field("Name") === PACKAGE, `Name: ${field("Name")}`);
    check(field("Version") === version, `Version: ${field("Version")}`);
    check(field("License") === "MIT", `License: ${field("License")}`);
    check(field("URL") === HOMEPAGE, `URL: ${field("URL")}`);
    check(field("Summary") === "Manage OpenRouter API keys", `Summary: ${field("Summary")}`);
    const description = info.split(/^Description\s*:\s*$/m)[1] ?? "";
    check(description.trim().length > 200, `Description: ${description}`);
    const requires = (await sh("rpm", ["-qp", "--requires", RPM])).split("\n").map((r) => r.trim().split(/\s/)[0]);
    sameList(RPM_REQUIRES.filter((r) => !requires.includes(r)), [], `Requires (${requires.join(", ")}) lacks`);
    const files = (await sh("rpm", ["-qlp", RPM])).split("\n").filter(Boolean).sort();
    sameList(files, RPM_FILES, "files in the .rpm");
  });

  try {
    await testCase("apt installs the .deb: the binary, desktop entry and icons are in place", async () => {
      if (await installed()) {
        console.log("     keyward was installed before this run (a crashed earlier run?): purging it first");
        await purge();
      }
      await sh("apt-get", ["install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=120", DEB], {
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
      check(await installed(), "dpkg does not list keyward as installed");
      const listed = (await sh("dpkg", ["-L", PACKAGE])).split("\n").filter(Boolean);
      sameList(DEB_FILES.filter((f) => !listed.includes(f)), [], "dpkg -L lacks");
      for (const file of DEB_FILES) check(existsSync(file), `${file} is listed but not on disk`);
      // Each icon is a PNG of its directory's size (width and height from the IHDR chunk).
      for (const [i, icon] of ICONS.entries()) {
        const png = readFileSync(icon);
        const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
        check(png.toString("latin1", 1, 4) === "PNG" && width === ICON_SIZES[i] && height === ICON_SIZES[i], `${icon} is ${width}x${height}`);
      }
      wasInstalled = true;
    });

    await testCase("launched from its desktop entry: the window is mapped with the entry's StartupWMClass", async () => {
      check(await installed(), "not installed");
      tray = await new Tray().start();
      // The accessibility bridge on (the session turns it off for the other suites), so the
      // sandbox offer can be read like a screen reader reads it.
      const env = { ...process.env };
      delete env.NO_AT_BRIDGE;
      const launch = spawn("gtk-launch", ["Keyward"], { env, stdio: ["ignore", "pipe", "pipe"] });
      const launchLog = [];
      launch.stdout.on("data", (c) => launchLog.push(c.toString()));
      launch.stderr.on("data", (c) => launchLog.push(c.toString()));
      const launched = await new Promise((resolve) => launch.once("exit", resolve));
      check(launched === 0, `gtk-launch Keyward exited ${launched}: ${launchLog.join("")}`);
      await waitFor("the installed app's process", () => appPids().length > 0, { timeout: 15000 });
      const window = await waitFor(
        "Keyward's window mapped",
        async () => {
          for (const w of await windows()) {
            if (w.name === "Keyward" && w.width >= 600 && w.height >= 400 && (await mapped(w.id))) return w;
          }
          return null;
        },
        { timeout: 30000 },
      );
      const wmClass = classes(window.className);
      console.log(`     window ${window.id} ${window.width}x${window.height}, WM_CLASS ${JSON.stringify(wmClass)}`);
      check(wmClass.includes(entry.StartupWMClass), `WM_CLASS ${JSON.stringify(wmClass)} does not match StartupWMClass=${entry.StartupWMClass}`);
      await tray.icon();
    });

    await testCase("the sandbox offer is on screen (read over AT-SPI)", async () => {
      check(appPids().length > 0, "the app is not running");
      let result;
      try {
        result = await sh("/usr/bin/python3", [join(here, "atspi_find.py"), "keyward", "30", "Welcome to Keyward", "Try the sandbox"]);
      } catch (err) {
        throw new Error(`not found over AT-SPI: ${err.stdout || err.message}`);
      }
      console.log(`     AT-SPI: ${result.trim().slice(0, 300)}`);
      // The accessibility tree is built with the page; the paint may follow a moment later.
      await sleep(1000);
      if (ARTIFACTS) await screenshot(join(ARTIFACTS, "installed-welcome.png"));
    });

    await testCase("Quit in the tray menu ends the app", async () => {
      check(appPids().length > 0, "the app is not running");
      await tray.choose(TRAY_ITEMS.QUIT);
      await waitFor("the app to exit after the tray's Quit", () => appPids().length === 0, { timeout: 15000, interval: 100 });
      // The X server drops a client's windows once it has seen the connection close: a moment later.
      await waitFor("the tray icon to go with the app", async () => !(await windows()).some((w) => w.className.includes("tray-icon tray app keyward")), { timeout: 5000 });
    });
  } finally {
    // Whatever failed above: nothing of this run stays installed or running.
    for (const pid of appPids()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
    await tray?.stop();
    // (After a failed install there is nothing to remove: that failure is reported already.)
    if (wasInstalled) await testCase("apt removes it and dpkg purges it: every file gone, not installed", async () => {
      check(await installed(), "keyward was no longer installed before its removal");
      const files = (await sh("dpkg", ["-L", PACKAGE])).split("\n").filter(Boolean);
      await sh("apt-get", ["remove", "-y", "-o", "DPkg::Lock::Timeout=120", PACKAGE], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
      await purge();
      check(!(await installed()), "dpkg still lists keyward as installed");
      await sh("dpkg", ["-s", PACKAGE]).then(
        (out) => check(false, `dpkg -s still knows keyward:\n${out}`),
        () => {},
      );
      const left = files.filter((f) => DEB_FILES.includes(f) && existsSync(f));
      check(left.length === 0, `left behind: ${left.join(", ")}`);
    });
    if (await installed()) await purge().catch((err) => console.log(`could not purge keyward: ${err.message}`));
  }
}

try {
  await main();
} catch (err) {
  failed = true;
  cases.push({ name: "install suite", seconds: 0, failure: err?.stack ?? String(err) });
  console.log(`FAIL ${err?.stack ?? err}`);
} finally {
  killAll();
}
writeJunit(process.env.INSTALL_JUNIT, "install", cases);
const bad = cases.filter((c) => c.failure !== undefined).length;
console.log(`${cases.length - bad} passed, ${bad} failed`);
process.exit(failed ? 1 : 0);
