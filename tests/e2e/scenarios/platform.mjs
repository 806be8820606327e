// Scenario 20, platform behaviour: a desktop with no tray host (stock GNOME without the AppIndicator
// extension; here Xvfb with no trayer and no StatusNotifierWatcher). Keyward must not stay running
// unseen: Settings says closing quits, and closing the window (WM_DELETE_WINDOW, as a window
// manager's close button sends it) ends the app. src-tauri/core/src/tray_host.rs has the rule.

import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { button, check, dialog, processRunning, waitFor, windows } from "../lib.mjs";
import { APP_BIN, SCRATCH, run, scenario, shot, withApp } from "../context.mjs";

const exec = promisify(execFile);

/** Sends WM_DELETE_WINDOW to an X window (Xvfb has no window manager to do it), libX11 via ctypes. */
const CLOSE_WINDOW_PY = String.raw`
import ctypes, sys
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
class ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]
x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]
# Every function taking the display pointer must say so, or ctypes passes it as a 32-bit int.
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = x.XOpenDisplay(None)
if not display:
    sys.exit("cannot open the display")
event = Event()
event.xclient.type = 33
event.xclient.window = int(sys.argv[1], 0)
event.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
event.xclient.format = 32
event.xclient.data[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
if not x.XSendEvent(display, event.xclient.window, 0, 0, ctypes.byref(event)):
    sys.exit("XSendEvent failed")
x.XFlush(display)
x.XCloseDisplay(display)
`;

scenario(20, "no-tray-host", async () => {
  const where = { dataDir: join(SCRATCH, "data-no-tray"), service: `keyward-e2e-no-tray-${run}` };
  check(!(await windows()).some((w) => w.className.includes("trayer")), "a tray (trayer) is running; this scenario needs none");
  await withApp(where, async (browser) => {
    // The sandbox: a profile, so the header (and its Settings button) is there.
    await browser.$("//h1[normalize-space(.)='Welcome to Keyward']").waitForDisplayed({ timeout: 15000 });
    await browser.$("//button[.//span[normalize-space(.)='Try the sandbox']]").click();
    await browser.$("//span[contains(@class,'badge') and normalize-space(.)='SANDBOX']").waitForDisplayed({ timeout: 30000 });
    await button(browser, "Settings").click();
    const settings = dialog(browser, "Settings");
    await settings.waitForDisplayed({ timeout: 10000 });
    const note = settings.$('[data-testid="tray-note"]');
    await note.waitForDisplayed({ timeout: 10000 });
    const said = await note.getText();
    check(said.includes("closing the window quits Keyward"), `the Settings note reads “${said}”`);
    await note.scrollIntoView({ block: "center" });
    await shot("20-settings-no-tray");
    await browser.keys("Escape");

    const main = (await windows()).find((w) => w.name === "Keyward" && w.width >= 800);
    check(main, "no main window to close");
    await exec("python3", ["-c", CLOSE_WINDOW_PY, main.id]);
    await waitFor("the app to quit when its window closes with no tray", async () => !(await processRunning(APP_BIN)), { timeout: 15000 });
    console.log("  no tray host: Settings says so; closing the window quit the app");
  });
});
