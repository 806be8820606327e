//! `cargo xtask bench idle`: Keyward at rest in the tray — a real profile holding 1,000 keys on the
//! emulator, its window closed — beside a minimal Tauri app (tests/bench/minimal-app) built in the
//! same run, both in one private desktop session (Xvfb, D-Bus, an unlocked gnome-keyring, scratch
//! HOME). Figures: CPU time of the app and every descendant over 60 s (utime + stime from
//! /proc/<pid>/stat) and PSS summed over the same processes (/proc/<pid>/smaps_rollup). Printed, not
//! asserted.
//!
//! Every process the bench starts carries a marker variable in its environment; whatever still
//! carries it at the end — on success, failure or Ctrl-C — is killed, daemons that left their parent
//! included.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail, ensure};
use serde_json::json;

use crate::bench::Control;
use crate::emulator::{EmulatorProcess, Endpoints};
use crate::process::run_checked;
use crate::setup;
use crate::workspace::{Workspace, cargo};

#[derive(clap::Args)]
pub struct IdleArgs {
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
    /// Use the binaries already built (no UI or cargo build).
    #[arg(long)]
    no_build: bool,
    /// Debug binaries instead of release ones: only to try the harness out, the figures mean little.
    #[arg(long)]
    debug: bool,
    /// Do not run `setup` first.
    #[arg(long)]
    no_setup: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum CloseMethod {
    Request,
    Unmap,
}

const MANAGEMENT_KEY: &str = "sk-or-v1-keyward-idle-bench-management";
const KEYCHAIN_SERVICE: &str = "keyward-idle-bench";
const SEED: u64 = 20_261_123;
/// Every process the bench starts has `MARKER_ENV=<this run's scratch dir>` in its environment.
const MARKER_ENV: &str = "KEYWARD_IDLE_BENCH_RUN";
/// The most time the app may take to show its window, and then to finish listing the keys.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(60);
const LIST_TIMEOUT: Duration = Duration::from_secs(90);
/// The key list counts as loaded once the app sent no API request for this long.
const LIST_QUIET: Duration = Duration::from_secs(3);
/// How long the minimal app gets to load its page and hide its window.
const MINIMAL_LOAD: Duration = Duration::from_secs(5);
/// Keyward's watcher interval when nobody changed it (helper B's default, in WatchSettings).
const DEFAULT_WATCH_INTERVAL_SECS: u64 = 300;

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

/// Holds the session's bus open; the keyring daemon is the Secret Service Keyward stores its key in.
const SESSION_SCRIPT: &str = r#"
set -u
eval "$(printf bench | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
# A notification daemon, as on a desktop: the watcher's alerts go somewhere instead of failing.
if command -v dunst >/dev/null; then dunst >/dev/null 2>&1 & fi
printf '%s\n' "$DBUS_SESSION_BUS_ADDRESS" > "$BENCH_BUS_FILE.partial"
mv "$BENCH_BUS_FILE.partial" "$BENCH_BUS_FILE"
exec sleep infinity
"#;

pub fn run(args: &IdleArgs) -> anyhow::Result<()> {
    ensure!(args.measure_secs > 0, "--measure-secs must be at least 1");
    ensure!(args.keys > 0, "--keys must be at least 1");
    let workspace = Workspace::locate()?;
    if !args.no_setup {
        setup::run(&workspace)?;
    }
    let profile_dir = if args.debug { "debug" } else { "release" };
    if !args.no_build {
        build(&workspace, args.debug)?;
    }
    require_tools(args.close)?;

    let artifacts = workspace.root.join("tests/artifacts/bench");
    fs::create_dir_all(&artifacts).with_context(|| format!("creating {}", artifacts.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("keyward-idle-bench.")
        .tempdir()
        .context("creating a scratch directory")?;
    // Private copies, so a rebuild by someone else during the run cannot pull a binary away.
    let keyward_bin = copy_binary(&workspace.binary(profile_dir, "keyward"), scratch.path())?;
    let minimal_bin = copy_binary(
        &workspace.binary(profile_dir, "minimal-app"),
        scratch.path(),
    )?;
    let profile_bin = copy_binary(
        &workspace.binary(profile_dir, "idle-bench-profile"),
        scratch.path(),
    )?;
    let emulator_bin = workspace.binary(profile_dir, "openrouter-emulator");
    ensure!(
        emulator_bin.is_file(),
        "no emulator at {} (run without --no-build)",
        emulator_bin.display()
    );

    let marker = scratch.path().display().to_string();
    let sweeper = Sweeper {
        marker: marker.clone(),
    };
    let emulator = EmulatorProcess::start(
        &emulator_bin,
        MANAGEMENT_KEY,
        &artifacts.join("idle-emulator.log"),
    )?;
    println!("emulator at {}", emulator.endpoints.base_url);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    let plan = Plan {
        keys: args.keys,
        measure: Duration::from_secs(args.measure_secs),
        warmup: Duration::from_secs(args.warmup_secs),
        close: args.close,
        keyward_bin,
        minimal_bin,
        profile_bin,
        scratch: scratch.path().to_path_buf(),
        artifacts,
        marker,
        endpoints: Endpoints {
            base_url: emulator.endpoints.base_url.clone(),
            control_url: emulator.endpoints.control_url.clone(),
            management_key: emulator.endpoints.management_key.clone(),
        },
        runtime: runtime.handle().clone(),
    };
    let outcome = runtime.block_on(async {
        let work = tokio::task::spawn_blocking(move || measure_both(&plan));
        tokio::select! {
            joined = work => joined.context("the benchmark thread panicked")?,
            () = interrupted() => Err(anyhow!("interrupted; every process the bench started is being killed")),
        }
    });
    // An interrupted measurement thread may still be sleeping; it holds nothing that needs it.
    runtime.shutdown_background();
    drop(sweeper);
    drop(emulator);
    let (keyward, minimal) = outcome?;
    print_report(args, &keyward, &minimal);
    Ok(())
}

/// The UI (Keyward embeds ui/dist), then both apps, the profile helper and the emulator, in release.
fn build(workspace: &Workspace, debug: bool) -> anyhow::Result<()> {
    if workspace.ui_dir().join("package.json").is_file() {
        println!("==> building the UI (Keyward embeds ui/dist)");
        run_checked(
            Command::new("npm")
                .args(["run", "build"])
                .current_dir(workspace.ui_dir()),
        )?;
    }
    println!(
        "==> building Keyward, the minimal Tauri app, the profile helper and the emulator ({}; a first release build takes about 10 minutes)",
        if debug { "debug" } else { "release" }
    );
    let mut command = Command::new(cargo());
    command.arg("build");
    if !debug {
        command.arg("--release");
    }
    run_checked(
        command
            .args([
                "-p",
                "keyward",
                "-p",
                "minimal-app",
                "-p",
                "idle-bench-profile",
                "-p",
                "openrouter-emulator",
            ])
            .current_dir(&workspace.root),
    )
}

fn require_tools(close: CloseMethod) -> anyhow::Result<()> {
    let mut tools = vec![
        "Xvfb",
        "dbus-run-session",
        "gnome-keyring-daemon",
        "xdotool",
        "getconf",
    ];
    if close == CloseMethod::Request {
        tools.push("python3");
    }
    let missing: Vec<&str> = tools.into_iter().filter(|tool| !on_path(tool)).collect();
    ensure!(
        missing.is_empty(),
        "missing on PATH: {} (apt packages xvfb, dbus, gnome-keyring, xdotool, python3)",
        missing.join(", ")
    );
    Ok(())
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

fn copy_binary(binary: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    ensure!(
        binary.is_file(),
        "no binary at {} (run without --no-build)",
        binary.display()
    );
    let name = binary
        .file_name()
        .with_context(|| format!("{} has no file name", binary.display()))?;
    let copy = dir.join(name);
    fs::copy(binary, &copy)
        .with_context(|| format!("copying {} to {}", binary.display(), copy.display()))?;
    Ok(copy)
}

async fn interrupted() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        // Without a SIGTERM handler, Ctrl-C is still caught.
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Everything the measurement thread needs.
struct Plan {
    keys: u64,
    measure: Duration,
    warmup: Duration,
    close: CloseMethod,
    keyward_bin: PathBuf,
    minimal_bin: PathBuf,
    profile_bin: PathBuf,
    scratch: PathBuf,
    artifacts: PathBuf,
    marker: String,
    endpoints: Endpoints,
    runtime: tokio::runtime::Handle,
}

impl Plan {
    fn control<T>(
        &self,
        call: impl AsyncFnOnce(&Control) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.runtime.block_on(async {
            let control = Control::new(&self.endpoints.control_url)?;
            call(&control).await
        })
    }

    fn home(&self) -> PathBuf {
        self.scratch.join("home")
    }

    fn log(&self, name: &str) -> anyhow::Result<File> {
        let path = self.artifacts.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    }

    /// A command with only the session's environment: scratch HOME and XDG dirs, the marker, and
    /// nothing that points into the caller's desktop session.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let home = self.home();
        let mut command = Command::new(program);
        command.env_clear();
        for kept in ["PATH", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME"] {
            if let Some(value) = std::env::var_os(kept) {
                command.env(kept, value);
            }
        }
        command
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", self.scratch.join("run"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            // No accessibility bus: it would start services outside the measured process tree.
            .env("NO_AT_BRIDGE", "1")
            .env(MARKER_ENV, &self.marker)
            .stdin(Stdio::null());
        command
    }
}

/// What one app used.
struct Measured {
    cpu_seconds: f64,
    wall_seconds: f64,
    pss_kb: u64,
    processes: Vec<ProcessFigure>,
    api_requests: usize,
}

struct ProcessFigure {
    name: String,
    pid: u32,
    cpu_seconds: f64,
    pss_kb: u64,
}

fn measure_both(plan: &Plan) -> anyhow::Result<(Measured, Measured)> {
    let clock_ticks = clock_ticks_per_second()?;
    let keys = plan.keys;
    plan.control(async move |control| {
        control.post("reset", json!({})).await?;
        let seeded = control
            .post("seed", json!({ "count": keys, "seed": SEED }))
            .await?;
        let created = seeded.get("created").and_then(serde_json::Value::as_u64);
        ensure!(
            created == Some(keys),
            "seeding answered {seeded} instead of created: {keys}"
        );
        Ok(())
    })?;

    let mut session = Session::start(plan)?;

    println!("==> adding a Keyward profile on the emulator ({keys} keys)");
    let data_dir = plan.scratch.join("keyward-data");
    let added = session
        .command(plan, &plan.profile_bin)
        .args([
            "--base-url",
            &plan.endpoints.base_url,
            "--name",
            "Idle bench",
        ])
        .env("KEYWARD_DATA_DIR", &data_dir)
        .env("KEYWARD_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE)
        .env("KEYWARD_BENCH_KEY", &plan.endpoints.management_key)
        .output()
        .context("running idle-bench-profile")?;
    ensure!(
        added.status.success(),
        "idle-bench-profile failed ({}): {}",
        added.status,
        String::from_utf8_lossy(&added.stderr)
    );
    print!("{}", String::from_utf8_lossy(&added.stdout));

    println!("==> Keyward: start, list the keys, close the window");
    plan.control(async |control| {
        control
            .call(reqwest::Method::DELETE, "requests")
            .await
            .map(drop)
    })?;
    let keyward_log = plan.log("idle-keyward.log")?;
    let keyward = session.spawn(
        "Keyward",
        session
            .command(plan, &plan.keyward_bin)
            .env("KEYWARD_DATA_DIR", &data_dir)
            .env("KEYWARD_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE)
            .stdout(keyward_log.try_clone().context("sharing the log file")?)
            .stderr(keyward_log),
    )?;
    let window = session.wait_for_window(plan, keyward, KEYWARD_TITLE, WINDOW_TIMEOUT)?;
    let list_requests = wait_for_key_list(plan)?;
    println!("Keyward listed the keys in {list_requests} GET /keys requests; closing its window");
    match plan.close {
        CloseMethod::Request => {
            let sent = session
                .command(plan, "python3")
                .args(["-c", CLOSE_WINDOW_PY, &window.to_string()])
                .status()
                .context("running python3 to close the window")?;
            ensure!(sent.success(), "sending WM_DELETE_WINDOW failed ({sent})");
        }
        CloseMethod::Unmap => {
            let unmapped = session
                .command(plan, "xdotool")
                .args(["windowunmap", &window.to_string()])
                .status()
                .context("running xdotool windowunmap")?;
            ensure!(
                unmapped.success(),
                "xdotool windowunmap failed ({unmapped})"
            );
        }
    }
    thread::sleep(Duration::from_secs(2));
    if session.exited(keyward)? {
        bail!(
            "Keyward quit when its window was closed (does the shell still quit on close instead of hiding to the tray?); \
             `--close unmap` hides the window without asking the app"
        );
    }
    ensure!(
        session
            .visible_windows(plan, keyward, KEYWARD_TITLE)?
            .is_empty(),
        "Keyward's window is still visible after the close"
    );
    let keyward_figures = measure_idle(plan, &mut session, keyward, clock_ticks)?;
    session.stop(keyward)?;

    println!("==> minimal Tauri app: start with its window hidden after load");
    let minimal_log = plan.log("idle-minimal.log")?;
    let minimal = session.spawn(
        "minimal app",
        session
            .command(plan, &plan.minimal_bin)
            .arg("--hidden")
            .stdout(minimal_log.try_clone().context("sharing the log file")?)
            .stderr(minimal_log),
    )?;
    thread::sleep(MINIMAL_LOAD);
    ensure!(
        !session.exited(minimal)?,
        "the minimal app exited (see tests/artifacts/bench/idle-minimal.log)"
    );
    ensure!(
        process_tree(session.pid(minimal)?)
            .iter()
            .any(|process| process.name.starts_with("WebKitWebProces")),
        "the minimal app has no WebKit web process after {} s",
        MINIMAL_LOAD.as_secs()
    );
    ensure!(
        session
            .visible_windows(plan, minimal, MINIMAL_TITLE)?
            .is_empty(),
        "the minimal app's window is still visible (did --hidden work?)"
    );
    let minimal_figures = measure_idle(plan, &mut session, minimal, clock_ticks)?;
    session.stop(minimal)?;
    Ok((keyward_figures, minimal_figures))
}

/// Waits until the app has sent at least one GET /keys and then nothing for `LIST_QUIET`: the list
/// the window shows is loaded. Answers how many GET /keys it took.
fn wait_for_key_list(plan: &Plan) -> anyhow::Result<usize> {
    let started = Instant::now();
    let mut last_count = 0;
    let mut quiet_since = Instant::now();
    loop {
        let requests = api_requests(plan)?;
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
            "Keyward did not finish listing the keys within {} s ({lists} GET /keys seen; log: tests/artifacts/bench/idle-keyward.log)",
            LIST_TIMEOUT.as_secs()
        );
        thread::sleep(Duration::from_millis(250));
    }
}

/// The emulator's request log: (method, path) of every API request since it was last cleared.
fn api_requests(plan: &Plan) -> anyhow::Result<Vec<(String, String)>> {
    let log = plan.control(async |control| control.call(reqwest::Method::GET, "requests").await)?;
    let requests = log
        .get("requests")
        .and_then(serde_json::Value::as_array)
        .context("the emulator's request log has no requests array")?;
    Ok(requests
        .iter()
        .map(|request| {
            let field = |name: &str| {
                request
                    .get(name)
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (field("method"), field("path"))
        })
        .collect())
}

/// Warm-up, then CPU over the measurement and PSS at its end, of the app and every descendant.
fn measure_idle(
    plan: &Plan,
    session: &mut Session,
    app: AppId,
    clock_ticks: f64,
) -> anyhow::Result<Measured> {
    let pid = session.pid(app)?;
    println!(
        "warming up {} s, then measuring {} s",
        plan.warmup.as_secs(),
        plan.measure.as_secs()
    );
    thread::sleep(plan.warmup);
    plan.control(async |control| {
        control
            .call(reqwest::Method::DELETE, "requests")
            .await
            .map(drop)
    })?;
    let before: HashMap<u32, u64> = process_tree(pid)
        .into_iter()
        .map(|process| (process.pid, process.ticks))
        .collect();
    let started = Instant::now();
    thread::sleep(plan.measure);
    let after = process_tree(pid);
    let wall_seconds = started.elapsed().as_secs_f64();
    ensure!(
        !session.exited(app)?,
        "the app exited during the measurement"
    );
    let api_requests = api_requests(plan)?.len();
    let processes: Vec<ProcessFigure> = after
        .into_iter()
        .map(|process| {
            let used = process
                .ticks
                .saturating_sub(before.get(&process.pid).copied().unwrap_or(0));
            ProcessFigure {
                pss_kb: pss_kb(process.pid).unwrap_or(0),
                cpu_seconds: used as f64 / clock_ticks,
                name: process.name,
                pid: process.pid,
            }
        })
        .collect();
    Ok(Measured {
        cpu_seconds: processes.iter().map(|process| process.cpu_seconds).sum(),
        wall_seconds,
        pss_kb: processes.iter().map(|process| process.pss_kb).sum(),
        processes,
        api_requests,
    })
}

/// An app the session started (index into its children).
#[derive(Clone, Copy)]
struct AppId(usize);

/// The main windows' titles (src-tauri/tauri.conf.json, tests/bench/minimal-app/tauri.conf.json).
const KEYWARD_TITLE: &str = "Keyward";
const MINIMAL_TITLE: &str = "Minimal Tauri app";

/// The private desktop: Xvfb and a D-Bus session with an unlocked gnome-keyring, plus the apps
/// started in it. Dropping it kills every process of this run.
struct Session {
    marker: String,
    display: String,
    bus: String,
    children: Vec<(String, Child)>,
}

impl Session {
    fn start(plan: &Plan) -> anyhow::Result<Self> {
        for dir in [
            plan.home().join(".config"),
            plan.home().join(".local/share"),
            plan.home().join(".cache"),
        ] {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let runtime_dir = plan.scratch.join("run");
        fs::create_dir_all(&runtime_dir)
            .with_context(|| format!("creating {}", runtime_dir.display()))?;
        fs::set_permissions(&runtime_dir, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", runtime_dir.display()))?;

        let mut session = Session {
            marker: plan.marker.clone(),
            display: String::new(),
            bus: String::new(),
            children: Vec::new(),
        };
        println!("==> starting Xvfb, a D-Bus session and gnome-keyring");
        // -displayfd 1: Xvfb picks a free display and writes its number to stdout.
        let mut xvfb = plan
            .command("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(plan.log("idle-xvfb.log")?)
            .spawn()
            .context("starting Xvfb")?;
        let stdout = xvfb.stdout.take();
        session.children.push(("Xvfb".to_owned(), xvfb));
        let stdout = stdout.context("Xvfb's stdout was not captured")?;
        let (sender, receiver) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            // The receiver may have given up already.
            let _ = sender.send(read);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let number = receiver
            .recv_timeout(Duration::from_secs(30))
            .context("Xvfb did not report its display within 30 s")?
            .context("reading Xvfb's display number")?;
        let number = number.trim();
        ensure!(
            !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()),
            "Xvfb reported {number:?} as its display (see tests/artifacts/bench/idle-xvfb.log)"
        );
        session.display = format!(":{number}");

        let bus_file = plan.scratch.join("session-bus");
        let dbus = plan
            .command("dbus-run-session")
            .args(["--", "bash", "-c", SESSION_SCRIPT])
            .env("DISPLAY", &session.display)
            .env("BENCH_BUS_FILE", &bus_file)
            .stdout(plan.log("idle-session.log")?)
            .stderr(plan.log("idle-session-stderr.log")?)
            .spawn()
            .context("starting dbus-run-session")?;
        session.children.push(("D-Bus session".to_owned(), dbus));
        let started = Instant::now();
        loop {
            if let Ok(address) = fs::read_to_string(&bus_file) {
                session.bus = address.trim().to_owned();
                break;
            }
            ensure!(
                !session.exited(AppId(1))?,
                "the D-Bus session ended early (see tests/artifacts/bench/idle-session-stderr.log)"
            );
            ensure!(
                started.elapsed() < Duration::from_secs(30),
                "the D-Bus session did not start within 30 s"
            );
            thread::sleep(Duration::from_millis(100));
        }
        Ok(session)
    }

    /// A command inside the session: its display and bus.
    fn command(&self, plan: &Plan, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = plan.command(program);
        command
            .env("DISPLAY", &self.display)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus);
        command
    }

    fn spawn(&mut self, name: &str, command: &mut Command) -> anyhow::Result<AppId> {
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        println!("{name} runs as pid {}", child.id());
        self.children.push((name.to_owned(), child));
        Ok(AppId(self.children.len() - 1))
    }

    fn pid(&self, app: AppId) -> anyhow::Result<u32> {
        self.children
            .get(app.0)
            .map(|(_, child)| child.id())
            .context("no such child")
    }

    fn exited(&mut self, app: AppId) -> anyhow::Result<bool> {
        let (name, child) = self.children.get_mut(app.0).context("no such child")?;
        let status = child
            .try_wait()
            .with_context(|| format!("checking on {name}"))?;
        Ok(status.is_some())
    }

    /// The app's mapped windows with this exact title (xdotool matches the pid by _NET_WM_PID).
    fn visible_windows(&self, plan: &Plan, app: AppId, title: &str) -> anyhow::Result<Vec<u64>> {
        let pid = self.pid(app)?;
        let output = self
            .command(plan, "xdotool")
            .args([
                "search",
                "--all",
                "--onlyvisible",
                "--pid",
                &pid.to_string(),
            ])
            .args(["--name", &format!("^{title}$")])
            .output()
            .context("running xdotool search")?;
        // xdotool exits 1 when nothing matches.
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect())
    }

    fn wait_for_window(
        &mut self,
        plan: &Plan,
        app: AppId,
        title: &str,
        timeout: Duration,
    ) -> anyhow::Result<u64> {
        let started = Instant::now();
        loop {
            if let Some(window) = self.visible_windows(plan, app, title)?.first() {
                println!(
                    "window {window} mapped after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(*window);
            }
            ensure!(!self.exited(app)?, "the app exited before showing a window");
            ensure!(
                started.elapsed() < timeout,
                "no window within {} s",
                timeout.as_secs()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Ends an app and its descendants (WebKit processes): TERM, then KILL after 5 s.
    fn stop(&mut self, app: AppId) -> anyhow::Result<()> {
        let pids: Vec<u32> = process_tree(self.pid(app)?)
            .into_iter()
            .map(|process| process.pid)
            .collect();
        signal("TERM", &pids);
        let started = Instant::now();
        while !self.exited(app)? && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(100));
        }
        signal("KILL", &pids);
        let (name, child) = self.children.get_mut(app.0).context("no such child")?;
        child
            .wait()
            .with_context(|| format!("waiting for {name}"))?;
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        kill_marked(&self.marker);
        for (_, child) in &mut self.children {
            // Killed just above (or exited before); this only reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Kills whatever of this run is left when dropped, even if the measurement thread never ended.
struct Sweeper {
    marker: String,
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        kill_marked(&self.marker);
    }
}

/// Every process whose environment holds this run's marker (the bench itself has none).
fn marked_pids(marker: &str) -> Vec<u32> {
    let needle = format!("{MARKER_ENV}={marker}");
    let own = std::process::id();
    all_pids()
        .into_iter()
        .filter(|&pid| pid != own)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|&byte| byte == 0)
                    .any(|entry| entry == needle.as_bytes())
            })
        })
        .collect()
}

fn kill_marked(marker: &str) {
    let pids = marked_pids(marker);
    if pids.is_empty() {
        return;
    }
    signal("TERM", &pids);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if marked_pids(marker).is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    signal("KILL", &marked_pids(marker));
}

/// `kill -SIG pids…`, quietly: some may be gone already.
fn signal(name: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn all_pids() -> Vec<u32> {
    fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

struct ProcessStat {
    pid: u32,
    parent: u32,
    name: String,
    /// utime + stime, plus cutime + cstime (children that ended and were reaped), in clock ticks.
    ticks: u64,
}

fn read_stat(pid: u32) -> Option<ProcessStat> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces or parentheses itself.
    let close = stat.rfind(')')?;
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 of proc(5) (state): ppid is field 4, utime..cstime fields 14..17.
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    let ticks = number(11)? + number(12)? + number(13)? + number(14)?;
    Some(ProcessStat {
        pid,
        parent: u32::try_from(number(1)?).ok()?,
        name: process_name(pid, &stat),
        ticks,
    })
}

/// argv[0]'s file name (comm is cut at 15 characters), else comm.
fn process_name(pid: u32, stat: &str) -> String {
    let argv0 = fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|cmdline| {
            let first = cmdline.split(|&byte| byte == 0).next()?.to_vec();
            let first = String::from_utf8(first).ok()?;
            let name = Path::new(&first).file_name()?.to_str()?.to_owned();
            (!name.is_empty()).then_some(name)
        });
    argv0.unwrap_or_else(|| {
        let open = stat.find('(').map_or(0, |index| index + 1);
        let close = stat.rfind(')').unwrap_or(stat.len());
        stat.get(open..close).unwrap_or_default().to_owned()
    })
}

/// `root` and every descendant, root first.
fn process_tree(root: u32) -> Vec<ProcessStat> {
    let mut by_parent: BTreeMap<u32, Vec<ProcessStat>> = BTreeMap::new();
    let mut root_stat = None;
    for pid in all_pids() {
        if let Some(stat) = read_stat(pid) {
            if pid == root {
                root_stat = Some(stat);
            } else {
                by_parent.entry(stat.parent).or_default().push(stat);
            }
        }
    }
    let Some(root_stat) = root_stat else {
        return Vec::new();
    };
    let mut tree = vec![root_stat];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next].pid;
        if let Some(children) = by_parent.remove(&parent) {
            tree.extend(children);
        }
        next += 1;
    }
    tree
}

/// Proportional set size in kB (`Pss:` of /proc/<pid>/smaps_rollup).
fn pss_kb(pid: u32) -> Option<u64> {
    let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    rollup.lines().find_map(|line| {
        line.strip_prefix("Pss:")?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()
    })
}

fn clock_ticks_per_second() -> anyhow::Result<f64> {
    let output = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .context("running getconf CLK_TCK")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let ticks: f64 = text
        .trim()
        .parse()
        .with_context(|| format!("getconf CLK_TCK answered {text:?}"))?;
    ensure!(ticks > 0.0, "getconf CLK_TCK answered {ticks}");
    Ok(ticks)
}

fn megabytes(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn print_report(args: &IdleArgs, keyward: &Measured, minimal: &Measured) {
    let cpu_percent = |measured: &Measured| measured.cpu_seconds / measured.wall_seconds * 100.0;
    let keyward_cpu = cpu_percent(keyward);
    let keyward_mb = megabytes(keyward.pss_kb);
    let minimal_mb = megabytes(minimal.pss_kb);
    let memory_limit = minimal_mb + args.target_extra_mb;
    let cpu_met = keyward_cpu <= args.target_cpu_percent;
    let memory_met = keyward_mb <= memory_limit;
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let keyward_label = match args.close {
        CloseMethod::Request => "window closed to the tray",
        CloseMethod::Unmap => "window unmapped",
    };

    println!();
    println!(
        "==> benchmark: idle footprint ({} keys, {} s measured after a {} s warm-up, Xvfb{})",
        args.keys,
        args.measure_secs,
        args.warmup_secs,
        if args.debug {
            "; DEBUG BUILDS, not the figures to report"
        } else {
            ", release builds"
        }
    );
    println!(
        "| app | CPU s over {} s | CPU % | PSS MB (app + web processes) | target | met? |",
        args.measure_secs
    );
    println!("|---|---:|---:|---:|---|---|");
    println!(
        "| Keyward ({} keys, {keyward_label}) | {:.2} | {:.3} % | {:.1} | CPU ≤ {} %; PSS ≤ minimal + {} MB = {:.1} | CPU {}, memory {} |",
        args.keys,
        keyward.cpu_seconds,
        keyward_cpu,
        keyward_mb,
        args.target_cpu_percent,
        args.target_extra_mb,
        memory_limit,
        verdict(cpu_met),
        verdict(memory_met)
    );
    println!(
        "| minimal Tauri app (window hidden) | {:.2} | {:.3} % | {:.1} | baseline | – |",
        minimal.cpu_seconds,
        cpu_percent(minimal),
        minimal_mb
    );
    println!();
    println!(
        "Keyward uses {:+.1} MB beside the minimal app.",
        keyward_mb - minimal_mb
    );
    for (name, measured) in [("Keyward", keyward), ("minimal app", minimal)] {
        let parts: Vec<String> = measured
            .processes
            .iter()
            .map(|process| {
                format!(
                    "{} (pid {}) {:.2} s, {:.1} MB",
                    process.name,
                    process.pid,
                    process.cpu_seconds,
                    megabytes(process.pss_kb)
                )
            })
            .collect();
        println!("{name} processes: {}", parts.join("; "));
    }
    println!(
        "API requests during Keyward's measurement: {} — its watcher refreshes on its interval (default {} s), so a {} s window usually holds no refresh{}.",
        keyward.api_requests,
        DEFAULT_WATCH_INTERVAL_SECS,
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
