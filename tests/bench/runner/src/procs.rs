//! The apps the bench starts and what they use: CPU ticks and PSS of an app and every descendant
//! (WebKit processes) from /proc, and their X windows through xdotool.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

/// An app started by the bench, in the session's environment (tests/session.sh).
pub struct App {
    pub name: &'static str,
    child: Child,
}

impl App {
    pub fn start(name: &'static str, command: &mut Command) -> anyhow::Result<Self> {
        let child = command
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        println!("{name} runs as pid {}", child.id());
        Ok(Self { name, child })
    }

    /// The app's stderr, when it was started with `Stdio::piped()` (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn exited(&mut self) -> anyhow::Result<bool> {
        Ok(self
            .child
            .try_wait()
            .with_context(|| format!("checking on {}", self.name))?
            .is_some())
    }

    /// The app's mapped windows with this exact title (xdotool matches the pid by _NET_WM_PID).
    pub fn visible_windows(&self, title: &str) -> anyhow::Result<Vec<u64>> {
        let output = Command::new("xdotool")
            .args([
                "search",
                "--all",
                "--onlyvisible",
                "--pid",
                &self.pid().to_string(),
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

    pub fn wait_for_window(&mut self, title: &str, timeout: Duration) -> anyhow::Result<u64> {
        let started = Instant::now();
        loop {
            if let Some(window) = self.visible_windows(title)?.first() {
                println!(
                    "window {window} mapped after {:.1} s",
                    started.elapsed().as_secs_f64()
                );
                return Ok(*window);
            }
            ensure!(
                !self.exited()?,
                "{} exited before showing a window",
                self.name
            );
            ensure!(
                started.elapsed() < timeout,
                "no window within {} s",
                timeout.as_secs()
            );
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Ends the app and its descendants: TERM, then KILL after 5 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let pids: Vec<u32> = process_tree(self.pid())
            .into_iter()
            .map(|process| process.pid)
            .collect();
        signal("TERM", &pids);
        let started = Instant::now();
        while !self.exited()? && started.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(100));
        }
        signal("KILL", &pids);
        self.child
            .wait()
            .with_context(|| format!("waiting for {}", self.name))?;
        Ok(())
    }
}

/// `kill -SIG pids…`, quietly: some may be gone already.
fn signal(name: &str, pids: &[u32]) {
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg(format!("-{name}"))
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    }
}

pub struct ProcessStat {
    pub pid: u32,
    parent: u32,
    pub name: String,
    /// utime + stime, plus cutime + cstime (children that ended and were reaped), in clock ticks.
    pub ticks: u64,
}

fn read_stat(pid: u32) -> Option<ProcessStat> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces or parentheses itself.
    let close = stat.rfind(')')?;
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is field 3 of proc(5) (state): ppid is field 4, utime..cstime fields 14..17.
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    Some(ProcessStat {
        pid,
        parent: u32::try_from(number(1)?).ok()?,
        name: process_name(pid, &stat),
        ticks: number(11)? + number(12)? + number(13)? + number(14)?,
    })
}

/// argv[0]'s file name (comm is cut at 15 characters), else comm.
fn process_name(pid: u32, stat: &str) -> String {
    let argv0 = fs::read(format!("/proc/{pid}/cmdline"))
        .ok()
        .and_then(|cmdline| {
            let first =
                String::from_utf8(cmdline.split(|&byte| byte == 0).next()?.to_vec()).ok()?;
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
pub fn process_tree(root: u32) -> Vec<ProcessStat> {
    let pids = fs::read_dir("/proc").into_iter().flatten().flatten();
    let mut by_parent: BTreeMap<u32, Vec<ProcessStat>> = BTreeMap::new();
    let mut tree = Vec::new();
    for stat in pids.filter_map(|entry| read_stat(entry.file_name().to_str()?.parse().ok()?)) {
        if stat.pid == root {
            tree.push(stat);
        } else {
            by_parent.entry(stat.parent).or_default().push(stat);
        }
    }
    let mut next = 0;
    while next < tree.len() {
        if let Some(children) = by_parent.remove(&tree[next].pid) {
            tree.extend(children);
        }
        next += 1;
    }
    tree
}

/// Proportional set size in kB (`Pss:` of /proc/<pid>/smaps_rollup).
pub fn pss_kb(pid: u32) -> Option<u64> {
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

pub fn clock_ticks_per_second() -> anyhow::Result<f64> {
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
