//! `idle`: Keyward at rest in the tray — a real profile holding 1,000 keys on the
//! emulator, its window closed — beside a minimal Tauri app (tests/bench/minimal-app), one after the
//! other in the private desktop session this runs in (`tests/session.sh --x11`: Xvfb, D-Bus, an
//! unlocked gnome-keyring, scratch HOME; it also ends every process left at the end). Figures: CPU
//! time of the app and every descendant over 60 s (utime + stime from /proc/<pid>/stat) and PSS
//! summed over the same processes (/proc/<pid>/smaps_rollup). Printed, not asserted.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::Emulator;
use crate::procs::{self, App, process_tree, pss_kb};

#[derive(clap::Args)]
pub struct Args {
    /// Where the built binaries are (keyward, minimal-app, idle-bench-profile, openrouter-emulator).
    #[arg(long)]
    bin_dir: PathBuf,
    /// Where the logs go.
    #[arg(long)]
    artifacts: PathBuf,
    /// How many keys the emulator holds, all in the profile Keyward watches.
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Seconds the measurement lasts.
    #[arg(long, default_value_t = 60)]
    measure_secs: u64,
    /// Seconds between closing (hiding) the window and the start of the measurement.
    #[arg(long, default_value_t = 20)]
    warmup_secs: u64,
    /// Idle CPU target, in percent of one core.
    #[arg(long, default_value_t = 0.1)]
    target_cpu_percent: f64,
    /// Memory target: at most the minimal app's PSS plus this many MB.
    #[arg(long, default_value_t = 40.0)]
    target_extra_mb: f64,
    /// How Keyward's window is closed: `request` sends WM_DELETE_WINDOW, as the title bar's close
    /// button does (the app must hide to the tray on close); `unmap` unmaps the window with xdotool
    /// (an approximation, for a shell that still quits on close).
    #[arg(long, value_enum, default_value_t = CloseMethod::Request)]
    close: CloseMethod,
    /// The binaries are debug builds (the figures mean little).
    #[arg(long)]
    debug: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CloseMethod {
    Request,
    Unmap,
}

const KEYCHAIN_SERVICE: &str = "keyward-idle-bench";
/// The most time the app may take to show its window, and then to finish listing the keys.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(60);
const LIST_TIMEOUT: Duration = Duration::from_secs(90);
/// The key list counts as loaded once the app sent no API request for this long.
const LIST_QUIET: Duration = Duration::from_secs(3);
/// How long the minimal app gets to load its page and hide its window.
const MINIMAL_LOAD: Duration = Duration::from_secs(5);
/// Keyward's watcher interval when nobody changed it (WatchSettings' default).
const DEFAULT_WATCH_INTERVAL_SECS: u64 = 300;
/// The main windows' titles (src-tauri/tauri.conf.json, tests/bench/minimal-app/tauri.conf.json).
const KEYWARD_TITLE: &str = "Keyward";
const MINIMAL_TITLE: &str = "Minimal Tauri app";

/// Sends WM_DELETE_WINDOW to the window given as argv[1], as a window manager does when the close
/// button is clicked (Xvfb runs no window manager). Only libX11 through ctypes: nothing to install.
const CLOSE_WINDOW_PY: &str = r#"
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
x.XFlush.argtypes = [ctypes.c_void_p]
x.XCloseDisplay.argtypes = [ctypes.c_void_p]
display = x.XOpenDisplay(None)
if not display:
    sys.exit("cannot open the display")
window = int(sys.argv[1])
event = Event()
event.xclient.type = 33  # ClientMessage
event.xclient.window = window
event.xclient.message_type = x.XInternAtom(display, b"WM_PROTOCOLS", 0)
event.xclient.format = 32
event.xclient.data[0] = x.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
event.xclient.data[1] = 0  # CurrentTime
if not x.XSendEvent(display, window, 0, 0, ctypes.byref(event)):
    sys.exit("XSendEvent failed")
x.XFlush(display)
x.XCloseDisplay(display)
"#;

/// What one app used.
struct Measured {
    cpu_seconds: f64,
    wall_seconds: f64,
    pss_kb: u64,
    /// (name, pid, CPU seconds, PSS kB) of each process.
    processes: Vec<(String, u32, f64, u64)>,
    api_requests: usize,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(
        args.measure_secs > 0 && args.keys > 0,
        "--measure-secs and --keys must be at least 1"
    );
    // tests/session.sh's scratch directory: our HOME, data and private copies of the binaries.
    let scratch = PathBuf::from(
        std::env::var_os("KEYWARD_SESSION_DIR")
            .context("run inside tests/session.sh --x11 (cargo xtask bench idle does)")?,
    );
    let tools = ["xdotool", "getconf", "python3"];
    let missing: Vec<&str> = tools.into_iter().filter(|tool| !on_path(tool)).collect();
    ensure!(
        missing.is_empty(),
        "missing on PATH: {} (cargo xtask setup)",
        missing.join(", ")
    );
    fs::create_dir_all(&args.artifacts)?;
    let log = |name: &str| {
        let path = args.artifacts.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    // Private copies, so a rebuild by someone else during the run cannot pull a binary away.
    let copy = |name: &str| -> anyhow::Result<PathBuf> {
        let copy = scratch.join(name);
        fs::copy(args.bin_dir.join(name), &copy).with_context(|| format!("copying {name}"))?;
        Ok(copy)
    };
    let clock_ticks = procs::clock_ticks_per_second()?;
    let emulator = Emulator::start(
        &args.bin_dir.join("openrouter-emulator"),
        &args.artifacts.join("idle-emulator.log"),
    )?;
    let control = &emulator;
    control.seed(args.keys)?;

    println!(
        "==> adding a Keyward profile on the emulator ({} keys)",
        args.keys
    );
    let data_dir = scratch.join("keyward-data");
    let added = Command::new(copy("idle-bench-profile")?)
        .args([
            "--base-url",
            &emulator.endpoints.base_url,
            "--name",
            "Idle bench",
        ])
        .env("KEYWARD_DATA_DIR", &data_dir)
        .env("KEYWARD_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE)
        .env("KEYWARD_BENCH_KEY", &emulator.endpoints.management_key)
        .output()
        .context("running idle-bench-profile")?;
    ensure!(
        added.status.success(),
        "idle-bench-profile failed: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    print!("{}", String::from_utf8_lossy(&added.stdout));

    println!("==> Keyward: start, list the keys, close the window");
    control.clear_requests()?;
    let keyward_log = log("idle-keyward.log")?;
    let mut keyward = App::start(
        "Keyward",
        Command::new(copy("keyward")?)
            .env("KEYWARD_DATA_DIR", &data_dir)
            .env("KEYWARD_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE)
            .stdout(keyward_log.try_clone()?)
            .stderr(keyward_log),
    )?;
    let window = keyward.wait_for_window(KEYWARD_TITLE, WINDOW_TIMEOUT)?;
    let list_requests = wait_for_key_list(control)?;
    println!("Keyward listed the keys in {list_requests} GET /keys requests; closing its window");
    let closed = match args.close {
        CloseMethod::Request => Command::new("python3")
            .args(["-c", CLOSE_WINDOW_PY, &window.to_string()])
            .status(),
        CloseMethod::Unmap => Command::new("xdotool")
            .args(["windowunmap", &window.to_string()])
            .status(),
    };
    ensure!(
        closed.context("closing the window")?.success(),
        "closing the window failed"
    );
    thread::sleep(Duration::from_secs(2));
    if keyward.exited()? {
        bail!(
            "Keyward quit when its window was closed (does the shell still quit on close instead of hiding to the tray?); \
             `--close unmap` hides the window without asking the app"
        );
    }
    ensure!(
        keyward.visible_windows(KEYWARD_TITLE)?.is_empty(),
        "Keyward's window is still visible after the close"
    );
    let keyward_figures = measure_idle(args, control, &mut keyward, clock_ticks)?;
    keyward.stop()?;

    println!("==> minimal Tauri app: start with its window hidden after load");
    let minimal_log = log("idle-minimal.log")?;
    let mut minimal = App::start(
        "minimal app",
        Command::new(copy("minimal-app")?)
            .arg("--hidden")
            .stdout(minimal_log.try_clone()?)
            .stderr(minimal_log),
    )?;
    thread::sleep(MINIMAL_LOAD);
    ensure!(
        !minimal.exited()?,
        "the minimal app exited (see idle-minimal.log)"
    );
    ensure!(
        process_tree(minimal.pid())
            .iter()
            .any(|process| process.name.starts_with("WebKitWebProces")),
        "the minimal app has no WebKit web process after {} s",
        MINIMAL_LOAD.as_secs()
    );
    ensure!(
        minimal.visible_windows(MINIMAL_TITLE)?.is_empty(),
        "the minimal app's window is still visible"
    );
    let minimal_figures = measure_idle(args, control, &mut minimal, clock_ticks)?;
    minimal.stop()?;
    print_report(args, &keyward_figures, &minimal_figures);
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Waits until the app has sent at least one GET /keys and then nothing for `LIST_QUIET`: the list
/// the window shows is loaded. Answers how many GET /keys it took.
pub(crate) fn wait_for_key_list(control: &Emulator) -> anyhow::Result<usize> {
    let started = Instant::now();
    let (mut last_count, mut quiet_since) = (0, Instant::now());
    loop {
        let requests = control.api_requests()?;
        let lists = requests
            .iter()
            .filter(|(method, path)| method == "GET" && path.starts_with("/api/v1/keys"))
            .count();
        if requests.len() != last_count {
            last_count = requests.len();
            quiet_since = Instant::now();
        } else if lists > 0 && quiet_since.elapsed() >= LIST_QUIET {
            return Ok(lists);
        }
        ensure!(
            started.elapsed() < LIST_TIMEOUT,
            "Keyward did not finish listing the keys within {} s ({lists} GET /keys seen; see idle-keyward.log)",
            LIST_TIMEOUT.as_secs()
        );
        thread::sleep(Duration::from_millis(250));
    }
}

/// Warm-up, then CPU over the measurement and PSS at its end, of the app and every descendant.
fn measure_idle(
    args: &Args,
    control: &Emulator,
    app: &mut App,
    clock_ticks: f64,
) -> anyhow::Result<Measured> {
    println!(
        "warming up {} s, then measuring {} s",
        args.warmup_secs, args.measure_secs
    );
    thread::sleep(Duration::from_secs(args.warmup_secs));
    control.clear_requests()?;
    let before: HashMap<u32, u64> = process_tree(app.pid())
        .into_iter()
        .map(|p| (p.pid, p.ticks))
        .collect();
    let started = Instant::now();
    thread::sleep(Duration::from_secs(args.measure_secs));
    let after = process_tree(app.pid());
    let wall_seconds = started.elapsed().as_secs_f64();
    ensure!(!app.exited()?, "{} exited during the measurement", app.name);
    let processes: Vec<(String, u32, f64, u64)> = after
        .into_iter()
        .map(|p| {
            let used = p
                .ticks
                .saturating_sub(before.get(&p.pid).copied().unwrap_or(0));
            let pss = pss_kb(p.pid).unwrap_or(0);
            (p.name, p.pid, used as f64 / clock_ticks, pss)
        })
        .collect();
    Ok(Measured {
        cpu_seconds: processes.iter().map(|p| p.2).sum(),
        wall_seconds,
        pss_kb: processes.iter().map(|p| p.3).sum(),
        processes,
        api_requests: control.api_requests()?.len(),
    })
}

fn megabytes(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn print_report(args: &Args, keyward: &Measured, minimal: &Measured) {
    let cpu_percent = |measured: &Measured| measured.cpu_seconds / measured.wall_seconds * 100.0;
    let (keyward_mb, minimal_mb) = (megabytes(keyward.pss_kb), megabytes(minimal.pss_kb));
    let memory_limit = minimal_mb + args.target_extra_mb;
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let closed = match args.close {
        CloseMethod::Request => "window closed to the tray",
        CloseMethod::Unmap => "window unmapped",
    };
    let builds = if args.debug {
        "; DEBUG BUILDS, not the figures to report"
    } else {
        ", release builds"
    };
    println!(
        "\n==> benchmark: idle footprint ({} keys, {} s measured after a {} s warm-up, Xvfb{builds})",
        args.keys, args.measure_secs, args.warmup_secs
    );
    println!(
        "| app | CPU s over {} s | CPU % | PSS MB (app + web processes) | target | met? |",
        args.measure_secs
    );
    println!("|---|---:|---:|---:|---|---|");
    println!(
        "| Keyward ({} keys, {closed}) | {:.2} | {:.3} % | {keyward_mb:.1} | CPU ≤ {} %; PSS ≤ minimal + {} MB = {memory_limit:.1} | CPU {}, memory {} |",
        args.keys,
        keyward.cpu_seconds,
        cpu_percent(keyward),
        args.target_cpu_percent,
        args.target_extra_mb,
        verdict(cpu_percent(keyward) <= args.target_cpu_percent),
        verdict(keyward_mb <= memory_limit)
    );
    println!(
        "| minimal Tauri app (window hidden) | {:.2} | {:.3} % | {minimal_mb:.1} | baseline | – |",
        minimal.cpu_seconds,
        cpu_percent(minimal)
    );
    println!(
        "\nKeyward uses {:+.1} MB beside the minimal app.",
        keyward_mb - minimal_mb
    );
    for (name, measured) in [("Keyward", keyward), ("minimal app", minimal)] {
        let parts: Vec<String> = measured
            .processes
            .iter()
            .map(|(process, pid, cpu, pss)| {
                format!(
                    "{process} (pid {pid}) {cpu:.2} s, {:.1} MB",
                    megabytes(*pss)
                )
            })
            .collect();
        println!("{name} processes: {}", parts.join("; "));
    }
    println!(
        "API requests during Keyward's measurement: {} — its watcher refreshes on its interval (default {DEFAULT_WATCH_INTERVAL_SECS} s), so a {} s window usually holds no refresh{}.",
        keyward.api_requests,
        args.measure_secs,
        if keyward.api_requests == 0 {
            " (none fell inside this one)"
        } else {
            " (this one held one)"
        }
    );
    println!(
        "CPU: utime + stime (and reaped children's) of the app and every descendant, /proc/<pid>/stat; \
         memory: PSS summed over the same processes at the end, /proc/<pid>/smaps_rollup. \
         Both apps run in the same Xvfb session (no window manager, no compositor), one after the other."
    );
}
