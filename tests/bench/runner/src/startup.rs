//! `startup`: Keyward's cold start, package size and memory beside a minimal Tauri app
//! (tests/bench/minimal-app), both release builds from the same run, in the private desktop session
//! this runs in (`tests/session.sh --x11`: Xvfb, D-Bus, an unlocked gnome-keyring, scratch HOME).
//!
//! - Cold start: from the runner's spawn of the process (its clock, read just before `spawn`) to
//!   Keyward's first key table painted from its local cache (1,000 keys), i.e. the moment its log
//!   line `first key table painted` (keyward_core::startup, sent by the UI after the frame) reaches
//!   the runner through the app's stderr pipe; for the minimal app, to its window's MapNotify on the
//!   X root window (an X client watching substructure events, so no polling delay). Runs alternate
//!   between the two apps; the page cache is dropped before each run when the runner may (root), else
//!   the table says "warm disk".
//! - `.deb` sizes: the packages `cargo xtask bench startup` bundled in this run with the pinned Tauri CLI.
//! - Memory: PSS summed over the app and every descendant (WebKit processes), /proc/PID/smaps_rollup,
//!   with the window open: Keyward with 10,000 cached keys after its refresh settled, the minimal app
//!   after its page loaded.
//!
//! Printed, not asserted.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::Emulator;
use crate::idle::wait_for_key_list;
use crate::procs::{App, process_tree, pss_kb};

#[derive(clap::Args)]
pub struct Args {
    /// Where the built binaries are (keyward, minimal-app, idle-bench-profile, openrouter-emulator).
    #[arg(long)]
    bin_dir: PathBuf,
    /// Where the logs go.
    #[arg(long)]
    artifacts: PathBuf,
    /// Keyward's .deb and the minimal app's, bundled in this run (sizes only; skipped when absent).
    #[arg(long)]
    keyward_deb: Option<PathBuf>,
    #[arg(long)]
    minimal_deb: Option<PathBuf>,
    /// Cold starts of each app (alternating).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Keys in the cache for the start-up runs.
    #[arg(long, default_value_t = 1_000)]
    keys: u64,
    /// Keys in the cache for the memory measurement.
    #[arg(long, default_value_t = 10_000)]
    memory_keys: u64,
    /// Do not drop the page cache before each run (the figures are then "warm disk").
    #[arg(long)]
    warm: bool,
    /// Start-up target: at most the minimal app's median plus this many seconds.
    #[arg(long, default_value_t = 0.15)]
    target_extra_secs: f64,
    /// Memory target: at most the minimal app's PSS plus this many MB.
    #[arg(long, default_value_t = 60.0)]
    target_extra_mb: f64,
    /// Package target, in MiB.
    #[arg(long, default_value_t = 8.0)]
    target_deb_mib: f64,
    /// Seconds an app settles with its window open before its PSS is read.
    #[arg(long, default_value_t = 5)]
    settle_secs: u64,
    /// The binaries are debug builds (the figures mean little).
    #[arg(long)]
    debug: bool,
}

const KEYCHAIN_SERVICE: &str = "keyward-startup-bench";
/// keyward_core::startup::FIRST_PAINT_MESSAGE (the runner does not link keyward-core).
const FIRST_PAINT_MESSAGE: &str = "first key table painted";
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// X's MapNotify event type and SubstructureNotifyMask (X.h).
const WATCH_MAPS_PY: &str = r#"
import ctypes, sys
x = ctypes.CDLL("libX11.so.6")
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
x.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
class MapEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("event", ctypes.c_ulong), ("window", ctypes.c_ulong),
                ("override_redirect", ctypes.c_int)]
class Event(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("xmap", MapEvent), ("pad", ctypes.c_long * 24)]
display = x.XOpenDisplay(None)
if not display:
    sys.exit("cannot open the display")
x.XSelectInput(display, x.XDefaultRootWindow(display), 1 << 19)  # SubstructureNotifyMask
x.XSync(display, 0)
print("ready", flush=True)
event = Event()
while True:
    x.XNextEvent(display, ctypes.byref(event))
    if event.type == 19 and not event.xmap.override_redirect:  # MapNotify of a top-level window
        print(event.xmap.window, flush=True)
"#;

/// Top-level windows mapped on the display, with the runner's time of the event.
struct MapWatcher {
    child: std::process::Child,
    maps: Receiver<(Instant, u64)>,
}

impl MapWatcher {
    fn start() -> anyhow::Result<Self> {
        let mut child = Command::new("python3")
            .args(["-c", WATCH_MAPS_PY])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the X map watcher (python3)")?;
        let mut lines =
            BufReader::new(child.stdout.take().context("the watcher's stdout")?).lines();
        let ready = lines.next().transpose()?.unwrap_or_default();
        ensure!(ready == "ready", "the X map watcher said {ready:?}");
        let (send, maps) = mpsc::channel();
        thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let now = Instant::now();
                if let Ok(window) = line.trim().parse()
                    && send.send((now, window)).is_err()
                {
                    break;
                }
            }
        });
        Ok(Self { child, maps })
    }

    /// Forgets the maps seen so far.
    fn clear(&self) {
        while self.maps.try_recv().is_ok() {}
    }

    /// When the first top-level window of `pid` was mapped.
    fn first_map_of(&self, pid: u32, deadline: Instant) -> anyhow::Result<Instant> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.maps.recv_timeout(left) {
                Ok((at, window)) if window_pid(window) == Some(pid) => return Ok(at),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => bail!("no window of pid {pid} was mapped"),
                Err(RecvTimeoutError::Disconnected) => bail!("the X map watcher ended"),
            }
        }
    }
}

impl Drop for MapWatcher {
    fn drop(&mut self) {
        // It may have ended already; nothing more to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn window_pid(window: u64) -> Option<u32> {
    let output = Command::new("xdotool")
        .args(["getwindowpid", &window.to_string()])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// One start of Keyward.
struct KeywardStart {
    mapped: Option<Duration>,
    painted: Duration,
    /// What the app itself measured, from `main` to the paint (no exec, no dynamic linking).
    in_process_ms: Option<u64>,
    rows: Option<u64>,
    /// The page's own clock (from when the web view began loading it): the UI's script started,
    /// the rows were in the DOM, the frame was painted.
    page: Option<PageMarks>,
}

/// Where the page's time went, in milliseconds on its own clock.
#[derive(Clone, Copy)]
struct PageMarks {
    script: u64,
    keys: u64,
    rows: u64,
    painted: u64,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    ensure!(
        args.runs > 0 && args.keys > 0,
        "--runs and --keys must be at least 1"
    );
    let scratch = PathBuf::from(
        std::env::var_os("KEYWARD_SESSION_DIR")
            .context("run inside tests/session.sh --x11 (cargo xtask bench startup does)")?,
    );
    fs::create_dir_all(&args.artifacts)?;
    // Private copies, so a rebuild by someone else during the run cannot pull a binary away.
    let copy = |name: &str| -> anyhow::Result<PathBuf> {
        let copy = scratch.join(name);
        fs::copy(args.bin_dir.join(name), &copy).with_context(|| format!("copying {name}"))?;
        Ok(copy)
    };
    let (keyward_bin, minimal_bin, profile_bin) = (
        copy("keyward")?,
        copy("minimal-app")?,
        copy("idle-bench-profile")?,
    );
    let emulator = Emulator::start(
        &args.bin_dir.join("openrouter-emulator"),
        &args.artifacts.join("startup-emulator.log"),
    )?;
    let cold = !args.warm && drop_page_cache().is_ok();
    let watcher = MapWatcher::start()?;

    println!("==> a Keyward profile with {} keys in its cache", args.keys);
    emulator.seed(args.keys)?;
    let data_dir = scratch.join("keyward-startup");
    add_cached_profile(&profile_bin, &emulator, &data_dir)?;

    println!(
        "==> {} cold starts of each app, alternating ({})",
        args.runs,
        if cold {
            "page cache dropped before each"
        } else {
            "warm disk"
        }
    );
    let log = |name: &str| -> anyhow::Result<File> {
        let path = args.artifacts.join(name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    let mut minimal_starts = Vec::new();
    let mut keyward_starts = Vec::new();
    for run in 1..=args.runs {
        if cold {
            drop_page_cache()?;
        }
        watcher.clear();
        let started = Instant::now();
        let minimal = App::start(
            "minimal app",
            Command::new(&minimal_bin)
                .stdout(log(&format!("startup-minimal-{run}.log"))?)
                .stderr(log(&format!("startup-minimal-{run}.err.log"))?),
        )?;
        let mapped = watcher.first_map_of(minimal.pid(), started + START_TIMEOUT)?;
        minimal_starts.push(mapped - started);
        minimal.stop()?;

        if cold {
            drop_page_cache()?;
        }
        watcher.clear();
        let start = start_keyward(&keyward_bin, &data_dir, &watcher, args, run)?;
        println!(
            "run {run}: minimal app window mapped {:.3} s; Keyward window mapped {}, key table painted {:.3} s (in-process {} ms, {} rows)",
            secs(minimal_starts[run - 1]),
            start
                .mapped
                .map_or("?".into(), |m| format!("{:.3} s", secs(m))),
            secs(start.painted),
            start.in_process_ms.map_or("?".into(), |ms| ms.to_string()),
            start.rows.map_or("?".into(), |rows| rows.to_string()),
        );
        keyward_starts.push(start);
    }

    println!(
        "==> memory with the window open: Keyward with {} cached keys",
        args.memory_keys
    );
    emulator.seed(args.memory_keys)?;
    let memory_dir = scratch.join("keyward-memory");
    add_cached_profile(&profile_bin, &emulator, &memory_dir)?;
    emulator.clear_requests()?;
    let keyward_pss = {
        let mut keyward = App::start(
            "Keyward",
            keyward_command(&keyward_bin, &memory_dir)
                .stdout(log("startup-memory-keyward.log")?)
                .stderr(Stdio::piped()),
        )?;
        let marks = read_marks(&mut keyward, log("startup-memory-keyward.err.log")?)?;
        let (_, line) = marks
            .recv_timeout(START_TIMEOUT)
            .context("Keyward painted no key table (see startup-memory-keyward.err.log)")?;
        println!("Keyward: {}", strip_ansi(&line));
        wait_for_key_list(&emulator)?;
        thread::sleep(Duration::from_secs(args.settle_secs));
        ensure!(
            !keyward.exited()?,
            "Keyward exited during the memory measurement"
        );
        let pss = tree_pss(keyward.pid());
        keyward.stop()?;
        pss
    };
    let minimal_pss = {
        watcher.clear();
        let started = Instant::now();
        let mut minimal = App::start(
            "minimal app",
            Command::new(&minimal_bin)
                .stdout(log("startup-memory-minimal.log")?)
                .stderr(log("startup-memory-minimal.err.log")?),
        )?;
        watcher.first_map_of(minimal.pid(), started + START_TIMEOUT)?;
        thread::sleep(Duration::from_secs(args.settle_secs));
        ensure!(
            !minimal.exited()?,
            "the minimal app exited during the memory measurement"
        );
        let pss = tree_pss(minimal.pid());
        minimal.stop()?;
        pss
    };

    let report = Report {
        cold,
        minimal_starts,
        keyward_starts,
        keyward_pss,
        minimal_pss,
        keyward_deb: deb_size(args.keyward_deb.as_deref())?,
        minimal_deb: deb_size(args.minimal_deb.as_deref())?,
        keyward_binary: fs::metadata(args.bin_dir.join("keyward"))
            .ok()
            .map(|m| m.len()),
    };
    report.print(args);
    Ok(())
}

fn keyward_command(binary: &Path, data_dir: &Path) -> Command {
    let mut command = Command::new(binary);
    command
        .env("KEYWARD_DATA_DIR", data_dir)
        .env("KEYWARD_KEYCHAIN_SERVICE", KEYCHAIN_SERVICE);
    command
}

/// Adds a profile on the emulator in `data_dir` and lists its keys into the cache.
fn add_cached_profile(binary: &Path, emulator: &Emulator, data_dir: &Path) -> anyhow::Result<()> {
    let added = Command::new(binary)
        .args([
            "--base-url",
            &emulator.endpoints.base_url,
            "--name",
            "Start-up bench",
            "--fill-cache",
        ])
        .env("KEYWARD_DATA_DIR", data_dir)
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
    Ok(())
}

fn start_keyward(
    binary: &Path,
    data_dir: &Path,
    watcher: &MapWatcher,
    args: &Args,
    run: usize,
) -> anyhow::Result<KeywardStart> {
    let log = |name: String| -> anyhow::Result<File> {
        let path = args.artifacts.join(&name);
        File::create(&path).with_context(|| format!("creating {}", path.display()))
    };
    let started = Instant::now();
    let mut keyward = App::start(
        "Keyward",
        keyward_command(binary, data_dir)
            .stdout(log(format!("startup-keyward-{run}.log"))?)
            .stderr(Stdio::piped()),
    )?;
    let marks = read_marks(&mut keyward, log(format!("startup-keyward-{run}.err.log"))?)?;
    let mapped = watcher
        .first_map_of(keyward.pid(), started + START_TIMEOUT)
        .ok()
        .map(|at| at - started);
    let (painted_at, line) = marks.recv_timeout(START_TIMEOUT).with_context(|| {
        format!(
            "Keyward painted no key table within {} s (see startup-keyward-{run}.err.log)",
            START_TIMEOUT.as_secs()
        )
    })?;
    keyward.stop()?;
    let line = strip_ansi(&line);
    Ok(KeywardStart {
        mapped,
        painted: painted_at - started,
        in_process_ms: field(&line, "since_start_ms"),
        rows: field(&line, "rows"),
        page: match (
            field(&line, "page_script_ms"),
            field(&line, "page_keys_ms"),
            field(&line, "page_rows_ms"),
            field(&line, "page_painted_ms"),
        ) {
            (Some(script), Some(keys), Some(rows), Some(painted)) => Some(PageMarks {
                script,
                keys,
                rows,
                painted,
            }),
            _ => None,
        },
    })
}

/// Copies the app's stderr to `log` and hands over each first-paint line with the time it arrived.
fn read_marks(app: &mut App, mut log: File) -> anyhow::Result<Receiver<(Instant, String)>> {
    let stderr = app.take_stderr().context("the app's stderr is not piped")?;
    let (send, marks) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let now = Instant::now();
            // Only a copy for reading later: a failed write loses log text, not a figure.
            let _ = writeln!(log, "{line}");
            if line.contains(FIRST_PAINT_MESSAGE) {
                let _ = send.send((now, line));
            }
        }
    });
    Ok(marks)
}

/// The text of a log line without its terminal colours.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `name=123` in a log line.
fn field(line: &str, name: &str) -> Option<u64> {
    let prefix = format!("{name}=");
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&prefix)?.parse().ok())
}

/// Drops the page cache (needs root), so each start reads its libraries from disk.
fn drop_page_cache() -> anyhow::Result<()> {
    let synced = Command::new("sync").status().context("running sync")?;
    ensure!(synced.success(), "sync failed");
    fs::write("/proc/sys/vm/drop_caches", "3").context("writing /proc/sys/vm/drop_caches")
}

fn tree_pss(pid: u32) -> Vec<(String, u64)> {
    process_tree(pid)
        .into_iter()
        .map(|p| {
            let pss = pss_kb(p.pid).unwrap_or(0);
            (p.name, pss)
        })
        .collect()
}

fn deb_size(path: Option<&Path>) -> anyhow::Result<Option<u64>> {
    path.map(|path| {
        fs::metadata(path)
            .map(|m| m.len())
            .with_context(|| format!("reading {}", path.display()))
    })
    .transpose()
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// Median, min and max, in seconds.
fn spread(durations: &[Duration]) -> (f64, f64, f64) {
    let mut sorted: Vec<f64> = durations.iter().map(|d| d.as_secs_f64()).collect();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

struct Report {
    cold: bool,
    minimal_starts: Vec<Duration>,
    keyward_starts: Vec<KeywardStart>,
    keyward_pss: Vec<(String, u64)>,
    minimal_pss: Vec<(String, u64)>,
    keyward_deb: Option<u64>,
    minimal_deb: Option<u64>,
    keyward_binary: Option<u64>,
}

impl Report {
    fn print(&self, args: &Args) {
        let verdict = |met: bool| if met { "met" } else { "MISSED" };
        let mb = |kb: u64| kb as f64 / 1024.0;
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let total = |processes: &[(String, u64)]| mb(processes.iter().map(|p| p.1).sum());
        let painted: Vec<Duration> = self.keyward_starts.iter().map(|s| s.painted).collect();
        let (k_median, k_min, k_max) = spread(&painted);
        let (m_median, m_min, m_max) = spread(&self.minimal_starts);
        let start_limit = m_median + args.target_extra_secs;
        let (keyward_mb, minimal_mb) = (total(&self.keyward_pss), total(&self.minimal_pss));
        let memory_limit = minimal_mb + args.target_extra_mb;
        let disk = if self.cold {
            "page cache dropped before each run"
        } else {
            "warm disk"
        };
        let builds = if args.debug {
            "DEBUG BUILDS, not the figures to report"
        } else {
            "release builds"
        };
        println!(
            "\n==> benchmark: start-up, package size and memory ({builds}, Xvfb, {} runs each, {disk})",
            args.runs
        );
        println!("| measure | Keyward | minimal Tauri app | target | met? |");
        println!("|---|---:|---:|---|---|");
        println!(
            "| cold start: spawn → first key table painted ({} cached keys) / window mapped | {k_median:.3} s (median; {k_min:.3}–{k_max:.3}) | {m_median:.3} s (median; {m_min:.3}–{m_max:.3}) | ≤ minimal + {:.2} s = {start_limit:.3} s | {} |",
            args.keys,
            args.target_extra_secs,
            verdict(k_median <= start_limit)
        );
        match (self.keyward_deb, self.minimal_deb) {
            (Some(keyward), Some(minimal)) => println!(
                "| .deb size | {:.2} MiB | {:.2} MiB | ≤ {:.1} MiB | {} |",
                mib(keyward),
                mib(minimal),
                args.target_deb_mib,
                verdict(mib(keyward) <= args.target_deb_mib)
            ),
            _ => println!(
                "| .deb size | not bundled in this run | – | ≤ {:.1} MiB | – |",
                args.target_deb_mib
            ),
        }
        println!(
            "| PSS, window open ({} cached keys), app + web processes | {keyward_mb:.1} MB | {minimal_mb:.1} MB | ≤ minimal + {:.0} MB = {memory_limit:.1} MB | {} |",
            args.memory_keys,
            args.target_extra_mb,
            verdict(keyward_mb <= memory_limit)
        );
        println!(
            "\nKeyward starts {:+.3} s beside the minimal app (medians) and uses {:+.1} MB.",
            k_median - m_median,
            keyward_mb - minimal_mb
        );
        let mapped: Vec<Duration> = self
            .keyward_starts
            .iter()
            .filter_map(|s| s.mapped)
            .collect();
        if !mapped.is_empty() {
            let (median, min, max) = spread(&mapped);
            println!("Keyward's window mapped: {median:.3} s (median; {min:.3}–{max:.3}).");
        }
        let in_process: Vec<Duration> = self
            .keyward_starts
            .iter()
            .filter_map(|s| s.in_process_ms.map(Duration::from_millis))
            .collect();
        if !in_process.is_empty() {
            let (median, min, max) = spread(&in_process);
            println!(
                "Keyward's own mark (from main() to the painted table, so without exec and dynamic linking): {median:.3} s (median; {min:.3}–{max:.3})."
            );
        }
        let pages: Vec<(u64, PageMarks)> = self
            .keyward_starts
            .iter()
            .filter_map(|s| Some((s.in_process_ms?, s.page?)))
            .collect();
        if !pages.is_empty() {
            let median = |of: &dyn Fn(&(u64, PageMarks)) -> u64| {
                let mut values: Vec<u64> = pages.iter().map(of).collect();
                values.sort_unstable();
                values[values.len() / 2]
            };
            let before_page = median(&|(own, page)| own.saturating_sub(page.painted));
            let script = median(&|(_, page)| page.script);
            let keys = median(&|(_, page)| page.keys.saturating_sub(page.script));
            let render = median(&|(_, page)| page.rows.saturating_sub(page.keys));
            let paint = median(&|(_, page)| page.painted.saturating_sub(page.rows));
            println!(
                "Where Keyward's own time goes (medians): {before_page} ms before the page began loading (shell, window, web process); {script} ms until the UI's script ran (loading and parsing the bundle); {keys} ms to the cached key list from the shell (mount, IPC); {render} ms to its rows in the DOM; {paint} ms to the painted frame."
            );
        }
        if let Some(binary) = self.keyward_binary {
            println!("Keyward's binary: {:.1} MiB.", mib(binary));
        }
        for (name, processes) in [
            ("Keyward", &self.keyward_pss),
            ("minimal app", &self.minimal_pss),
        ] {
            let parts: Vec<String> = processes
                .iter()
                .map(|(process, pss)| format!("{process} {:.1} MB", mb(*pss)))
                .collect();
            println!("{name} processes: {}", parts.join("; "));
        }
        println!(
            "Start-up: the runner's clock from just before spawn() to the app's `{FIRST_PAINT_MESSAGE}` log line arriving on its stderr \
             (sent by the UI after the frame with rows was painted) / to the MapNotify of the minimal app's window on the X root. \
             Memory: PSS summed over the app and every descendant, /proc/<pid>/smaps_rollup, after {} s with the window open \
             (Keyward: after its refresh went quiet). Both apps run in the same Xvfb session (no window manager, no compositor).",
            args.settle_secs
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_of_a_coloured_log_line() {
        let line = "\u{1b}[2m2026-12-07T23:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mkeyward_lib::commands::startup\u{1b}[0m\u{1b}[2m:\u{1b}[0m first key table painted \u{1b}[3msince_start_ms\u{1b}[0m\u{1b}[2m=\u{1b}[0m412 \u{1b}[3mrows\u{1b}[0m\u{1b}[2m=\u{1b}[0m1000";
        let plain = strip_ansi(line);
        assert!(plain.contains(FIRST_PAINT_MESSAGE));
        assert_eq!(field(&plain, "since_start_ms"), Some(412));
        assert_eq!(field(&plain, "rows"), Some(1000));
        assert_eq!(field(&plain, "missing"), None);
    }

    #[test]
    fn spread_is_median_min_max() {
        let ms = |values: &[u64]| {
            values
                .iter()
                .map(|&v| Duration::from_millis(v))
                .collect::<Vec<_>>()
        };
        assert_eq!(spread(&ms(&[300, 100, 200])), (0.2, 0.1, 0.3));
        assert_eq!(spread(&ms(&[100, 400, 200, 300])), (0.25, 0.1, 0.4));
    }
}
