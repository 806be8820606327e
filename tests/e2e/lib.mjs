// The pieces every scenario uses: the emulator process and its `/_emulator` controls, one app launch
// (tauri-driver on free ports + a WebDriver session on the real window), the keychain through
// `secret-tool`, screenshots of the X screen, and waiting for what a person would see.

import { spawn, execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { remote } from "webdriverio";

const run = promisify(execFile);

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; the last error or value is in the failure. */
export async function waitFor(what, probe, { timeout = 15000, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${detail})`);
    }
    await sleep(interval);
  }
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Every child this process started, so a failure anywhere still ends them all. */
const children = new Set();

function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function killAll() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

async function stopChild(child, grace = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), grace);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- emulator

/**
 * Every secret this run used, value → what it is: each emulator's management key and every secret
 * an emulator handed out (its `GET /_emulator/issued-secrets`, read before it stops). The secret
 * hygiene scenario searches the session's files for all of them.
 */
export const secretsUsed = new Map();
export function noteSecret(value, what) {
  if (value && !secretsUsed.has(value)) secretsUsed.set(value, what);
}
const runningEmulators = new Set();
export const secretCollectionErrors = [];

/** Reads what every running emulator handed out so far into `secretsUsed`. */
export async function collectIssuedSecrets() {
  for (const emulator of runningEmulators) await emulator.collectIssued();
}

export class Emulator {
  constructor({ binary, managementKey, stateFile, port = 0, logFile }) {
    Object.assign(this, { binary, managementKey, stateFile, port, logFile });
    this.child = null;
    this.stderr = [];
  }

  async start() {
    const args = ["--port", String(this.port), "--management-key", this.managementKey];
    if (this.stateFile) args.push("--state", this.stateFile);
    const child = track(spawn(this.binary, args, { stdio: ["ignore", "pipe", "pipe"] }));
    child.stderr.on("data", (chunk) => this.stderr.push(chunk.toString()));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise((resolve, reject) => {
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before its first line: ${this.stderr.join("")}`)));
      child.once("error", reject);
    });
    lines.on("line", () => {});
    const endpoints = JSON.parse(first);
    this.baseUrl = endpoints.base_url;
    this.controlUrl = endpoints.control_url.replace(/\/$/, "");
    this.port = Number(new URL(this.baseUrl).port);
    this.child = child;
    noteSecret(this.managementKey, `management key of the emulator on :${this.port}`);
    runningEmulators.add(this);
    return this;
  }

  async stop() {
    if (this.child) {
      // Its list of handed-out secrets lives in its memory only; a failure to read it fails the
      // hygiene scenario later (it could not know every secret), not this stop.
      await this.collectIssued().catch((err) => secretCollectionErrors.push(`:${this.port}: ${err.message ?? err}`));
      await stopChild(this.child);
    }
    runningEmulators.delete(this);
    this.child = null;
  }

  async collectIssued() {
    const { secrets } = await this.control("GET", "/issued-secrets");
    for (const [i, value] of secrets.entries()) noteSecret(value, `secret #${i + 1} handed out by the emulator on :${this.port}`);
  }

  get running() {
    return this.child !== null;
  }

  async control(method, path, body) {
    const response = await fetch(`${this.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} /_emulator${path} → ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A call to the emulated API itself (as OpenRouter), e.g. to create an inference key. */
  async api(method, path, body, key = this.managementKey) {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await response.json();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${JSON.stringify(json)}`);
    return json;
  }

  async keys() {
    return (await this.control("GET", "/keys")).data;
  }

  async keyNamed(name) {
    return (await this.keys()).find((k) => k.name === name) ?? null;
  }

  async requests() {
    return (await this.control("GET", "/requests")).requests;
  }
}

// ---------------------------------------------------------------- the app

/**
 * One run of the app: tauri-driver (with the app's environment: data dir, keychain service) on
 * free ports, and a WebDriver session, which starts the binary in a real window.
 */
export class App {
  constructor({ binary, env, logDir }) {
    Object.assign(this, { binary, env, logDir });
  }

  async launch() {
    const port = await freePort();
    const nativePort = await freePort();
    this.driver = track(
      spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"], {
        env: { ...process.env, ...this.env },
        stdio: ["ignore", "ignore", "pipe"],
      }),
    );
    this.driverLog = [];
    this.driver.stderr.on("data", (chunk) => this.driverLog.push(chunk.toString()));
    await waitFor("tauri-driver to listen", () => portOpen(port), { timeout: 10000 });
    this.browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "error",
      connectionRetryTimeout: 30000,
      connectionRetryCount: 1,
      capabilities: { "tauri:options": { application: this.binary } },
    });
    return this.browser;
  }

  /**
   * Quits the app as a logout or `kill` would (SIGTERM), while its WebDriver session is still up,
   * and waits until the process is gone. Returns whether it ended by itself within 10 s.
   */
  async terminate() {
    const pids = this.driver ? (await descendants(this.driver.pid)).slice(2) : [];
    const app = pids[0];
    if (!app || !alive(app)) return false;
    process.kill(app, "SIGTERM");
    return waitFor(`the app (${app}) to quit on SIGTERM`, () => !alive(app), { timeout: 10000, interval: 50 }).then(() => true, () => false);
  }

  async quit() {
    // The app process (tauri-driver → WebKitWebDriver → app), found before anything ends.
    const appPids = this.driver ? (await descendants(this.driver.pid)).slice(1) : [];
    try {
      await this.browser?.deleteSession();
    } catch {
      // The app may already be gone; tauri-driver's exit ends it anyway.
    }
    this.browser = null;
    if (this.driver) await stopChild(this.driver);
    this.driver = null;
    // A session that could not be deleted (a loaded machine) leaves the app running once the
    // drivers are gone, and the next launch then only reaches it (single instance). End it as a
    // person's `kill` would: SIGTERM quits Keyward through its exit hooks; SIGKILL after 5 s.
    for (const pid of appPids) {
      if (!alive(pid)) continue;
      process.kill(pid, "SIGTERM");
      await waitFor(`process ${pid} to end`, () => !alive(pid), { timeout: 5000, interval: 50 }).catch(() => {
        if (alive(pid)) process.kill(pid, "SIGKILL");
      });
    }
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

/** `pid` and every process below it, parents first (from /proc/PID/task/TID/children). */
async function descendants(pid) {
  const found = [pid];
  for (let i = 0; i < found.length; i += 1) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${found[i]}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        for (const child of readFileSync(`/proc/${found[i]}/task/${task}/children`, "utf8").split(" ").filter(Boolean)) {
          if (!found.includes(Number(child))) found.push(Number(child));
        }
      } catch {
        // The task ended meanwhile.
      }
    }
  }
  return found;
}

function portOpen(port) {
  return fetch(`http://127.0.0.1:${port}/status`).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------- what the person sees

/** XPath string literal that survives quotes of either kind. */
function xq(text) {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return `concat('${text.split("'").join(`', "'", '`)}')`;
}

/** A button by its accessible name (aria-label, else its text). */
export function button(browser, name) {
  return browser.$(`//button[@aria-label=${xq(name)} or (not(@aria-label) and normalize-space(.)=${xq(name)})]`);
}

/** A form control by the text of its <label for=…>. */
export async function field(browser, label) {
  const labelEl = browser.$(`//label[normalize-space(.)=${xq(label)}]`);
  await labelEl.waitForExist({ timeout: 10000 });
  const id = await labelEl.getAttribute("for");
  if (id) return browser.$(`[id="${id}"]`);
  return labelEl.$("input");
}

/** A checkbox inside a <label> whose text contains `text`. */
export function checkbox(browser, text) {
  return browser.$(`//label[contains(normalize-space(.), ${xq(text)})]/input[@type="checkbox"]`);
}

export function dialog(browser, title) {
  return browser.$(`//div[@role="dialog"][.//h2[normalize-space(.)=${xq(title)}]]`);
}

export function anyDialog(browser) {
  return browser.$('div[role="dialog"]');
}

export function banner(browser) {
  return browser.$('[role="status"].banner');
}

export function alert(browser) {
  return browser.$('[role="alert"]');
}

export async function bodyText(browser) {
  return browser.$("body").getText();
}

/**
 * The key list's rows as a person reads them: name, label, and each cell under its column's header
 * (`columns`: "Workspace", "Status", "Guardrail", "Limit", …), since columns come and go (the
 * Workspace column only with several workspaces, narrow windows drop some). Workspace group headers
 * are not rows here (see `groupHeaders`).
 */
export async function rows(browser) {
  return browser.execute(() => {
    const table = document.querySelector('[role="table"][aria-label="API keys"]');
    if (!table) return [];
    const heads = Array.from(table.querySelectorAll('[role="columnheader"]')).map((h) => h.textContent.replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim());
    return Array.from(table.querySelectorAll('[role="rowgroup"] [role="row"][data-hash]'))
      .map((row) => {
        const cells = Array.from(row.querySelectorAll('[role="cell"]')).map((c) => c.textContent.replace(/\s+/g, " ").trim());
        const columns = Object.fromEntries(heads.map((h, i) => [h, cells[i]]));
        return {
          index: Number(row.getAttribute("aria-rowindex")),
          hash: row.getAttribute("data-hash"),
          name: row.querySelector(".name")?.textContent ?? "",
          label: row.querySelector(".label")?.textContent ?? "",
          status: columns.Status,
          workspace: columns.Workspace,
          guardrail: columns.Guardrail,
          limit: columns.Limit,
          reset: columns.Reset,
          byok: columns.BYOK,
          expires: columns.Expires,
          columns,
          cells,
        };
      })
      .sort((a, b) => a.index - b.index);
  });
}

/** The key list's workspace group headers, in order: [{workspaceId, name, count}]. */
export async function groupHeaders(browser) {
  return browser.execute(() =>
    Array.from(document.querySelectorAll('[role="rowgroup"] [role="row"][data-group]'))
      .sort((a, b) => Number(a.getAttribute("aria-rowindex")) - Number(b.getAttribute("aria-rowindex")))
      .map((row) => ({
        workspaceId: row.getAttribute("data-group"),
        name: row.querySelector("strong")?.textContent?.trim() ?? "",
        count: row.querySelector(".group-count")?.textContent?.trim() ?? "",
      })),
  );
}

export async function rowNamed(browser, name) {
  return (await rows(browser)).find((r) => r.name === name) ?? null;
}

/** The count in the table header: "1,000 keys" or "12 of 1,000". */
export async function listCount(browser) {
  return browser.execute(() => document.querySelector('[role="columnheader"].count [aria-live]')?.textContent?.trim() ?? "");
}

/** Replaces a field's value the way typing does (select all, type). */
export async function type(element, text) {
  await element.waitForDisplayed({ timeout: 10000 });
  await element.click();
  await element.clearValue();
  if (text !== "") await element.addValue(text);
}

// ---------------------------------------------------------------- keychain, screen

/** The secret stored under service/account in the session's Secret Service, or null. */
export async function secretToolLookup(service, account) {
  try {
    const { stdout } = await run("secret-tool", ["lookup", "service", service, "username", account]);
    return stdout.replace(/\n$/, "");
  } catch {
    return null;
  }
}

/**
 * Every item under a service: [{account, secret}]. `secret-tool search` writes attributes to stderr
 * and secrets to stdout, so the accounts come from one and each secret from its own lookup.
 */
export async function secretToolSearch(service) {
  let stderr = "";
  try {
    stderr = (await run("secret-tool", ["search", "--all", "--unlock", "service", service])).stderr;
  } catch (err) {
    stderr = err.stderr ?? "";
  }
  const accounts = stderr
    .split("\n")
    .filter((line) => line.startsWith("attribute.username = "))
    .map((line) => line.slice("attribute.username = ".length));
  const items = [];
  for (const account of accounts.sort()) items.push({ account, secret: await secretToolLookup(service, account) });
  return items;
}

export async function screenshot(path) {
  await run("import", ["-window", "root", path]);
}

// ---------------------------------------------------------------- notifications

/**
 * Every `Notify` call that reaches the session's notification daemon (dunst), read off the session bus
 * with dbus-monitor: [{summary, body}]. Proves a notification got as far as the daemon, not just that
 * the app meant to send one.
 */
export class NotificationSpy {
  async start() {
    this.buffer = "";
    this.child = track(
      spawn("dbus-monitor", ["--session", "interface='org.freedesktop.Notifications',member='Notify'"], {
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    this.child.stdout.on("data", (chunk) => (this.buffer += chunk.toString()));
    // dbus-monitor prints the bus's NameAcquired signal once it listens.
    await waitFor("dbus-monitor to listen", () => this.buffer.length > 0, { timeout: 5000 });
    return this;
  }

  /** The Notify calls so far: the strings of each call, in order (app name, icon, summary, body, …). */
  notifications() {
    return this.buffer
      .split(/\n(?=method call )/)
      .filter((block) => block.startsWith("method call ") && block.includes("member=Notify"))
      .map((block) => {
        const strings = [...block.matchAll(/^\s+string "((?:[^"\\]|\\.)*)"$/gm)].map((m) => m[1]);
        // Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, timeout)
        return { app: strings[0] ?? "", summary: strings[2] ?? "", body: strings[3] ?? "", raw: block };
      });
  }

  /** The notifications whose title or body mention `text`. */
  mentioning(text) {
    return this.notifications().filter((n) => n.raw.includes(text));
  }

  async stop() {
    if (this.child) await stopChild(this.child);
    this.child = null;
  }
}

// ---------------------------------------------------------------- the tray

/** The tray menu's enabled items under its disabled status line, as `Tray.choose` counts them (one
 * place for the e2e and install suites; src-tauri/src/tray.rs builds the menu in this order). */
export const TRAY_ITEMS = Object.freeze({ OPEN: 1, REFRESH: 2, PAUSE: 3, EMERGENCY: 4, ABOUT: 5, CHECK_UPDATES: 6, QUIT: 7 });

/**
 * A real system tray: trayer (an XEmbed tray host) at the bottom right of the screen. With no
 * StatusNotifier host on the bus, the app's tray icon (libayatana-appindicator) falls back to an
 * XEmbed icon, which trayer embeds; its menu is a real GTK menu, opened by a click and driven with
 * the keyboard, as a person would. Start it before the app: the icon looks for a tray when created.
 */
export class Tray {
  async start() {
    this.child = track(
      spawn("trayer", ["--edge", "bottom", "--align", "right", "--widthtype", "request", "--height", "32",
        "--SetDockType", "true", "--transparent", "false", "--tint", "0x333333"], { stdio: ["ignore", "ignore", "pipe"] }),
    );
    this.stderr = [];
    this.child.stderr.on("data", (chunk) => this.stderr.push(chunk.toString()));
    await waitFor("trayer's panel", async () => (await windows()).some((w) => w.name === "panel" && w.className.includes("trayer")), { timeout: 10000 });
    return this;
  }

  /** The app's icon in the tray: {id, x, y, width, height} (screen coordinates). */
  async icon(timeout = 15000) {
    return waitFor("Keyward's icon in the tray", async () => (await windows()).find((w) => w.className.includes("tray-icon tray app keyward")), { timeout });
  }

  /** Clicks the icon and waits for its menu to be on screen: {x, y, width, height} of the menu. */
  async openMenu() {
    const icon = await this.icon();
    await run("xdotool", ["mousemove", String(icon.x + Math.floor(icon.width / 2)), String(icon.y + Math.floor(icon.height / 2)), "click", "1"]);
    // GTK keeps the menu's window between openings; a tooltip is shorter than any menu.
    const menu = await waitFor("the tray menu", async () => {
      for (const w of await windows()) {
        const menuSized = w.height > 60 && w.height < 400 && w.width < 500;
        if (w.className.includes("keyward") && !w.className.includes("tray-icon") && menuSized && (await mapped(w.id))) return w;
      }
      return null;
    }, { timeout: 10000 });
    // The pointer off the menu (hovering would select an item under it and shift the arrow keys),
    // and a moment for the menu's keyboard grab.
    await run("xdotool", ["mousemove", String(Math.max(0, menu.x - 300)), String(Math.max(0, menu.y - 300))]);
    await sleep(300);
    return menu;
  }

  /** Opens the menu and activates its `index`-th enabled item (1 = the first under the title line). */
  async choose(index) {
    const menu = await this.openMenu();
    await run("xdotool", ["key", ...Array(index).fill("Down"), "Return"]);
    await waitFor("the tray menu to close", async () => !(await mapped(menu.id)), { timeout: 5000 });
  }

  /** A screenshot of the tray's corner of the screen (icon, and the menu when open). */
  async screenshot(path) {
    await run("import", ["-window", "root", "-crop", "320x240+960+560", "+repage", path]);
  }

  async closeMenu() {
    await run("xdotool", ["key", "Escape"]);
  }

  async stop() {
    if (this.child) await stopChild(this.child);
    this.child = null;
  }
}

/** Every X window, with its name, WM_CLASS and absolute geometry (xwininfo -root -tree). */
export async function windows() {
  // xwininfo fails (BadWindow) when a window goes away while it walks the tree (a notification, a
  // tooltip, an app quitting): ask again.
  let stdout = "";
  for (let attempt = 1; ; attempt += 1) {
    try {
      ({ stdout } = await run("xwininfo", ["-root", "-tree"]));
      break;
    } catch (err) {
      if (attempt >= 10) throw err;
      await sleep(100);
    }
  }
  const found = [];
  // e.g. `0x400028 "keyward": ("tray-icon tray app keyward" "tray-icon …")  32x30+0+0  +1246+769`
  const line = /^\s+(0x[0-9a-f]+) (?:"((?:[^"\\]|\\.)*)"|\(has no name\)): \(([^)]*)\)\s+(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+?(-?\d+)\+?(-?\d+)/;
  for (const text of stdout.split("\n")) {
    const m = line.exec(text);
    if (m) found.push({ id: m[1], name: m[2] ?? "", className: m[3], width: Number(m[4]), height: Number(m[5]), x: Number(m[6]), y: Number(m[7]) });
  }
  return found;
}

/** Whether an X window is on screen (mapped and viewable). */
export async function mapped(id) {
  try {
    const { stdout } = await run("xwininfo", ["-id", id]);
    return /Map State: IsViewable/.test(stdout);
  } catch {
    return false;
  }
}

/** Hides an X window the way a window manager would minimise it (the app is not told). */
export async function unmapWindow(id) {
  await run("xdotool", ["windowunmap", id]);
}

/** Whether a process runs whose command line contains `text` (pgrep -f). */
export async function processRunning(text) {
  try {
    await run("pgrep", ["-f", text]);
    return true;
  } catch {
    return false;
  }
}
