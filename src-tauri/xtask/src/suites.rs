//! `cargo xtask test`: every test suite of the project, one after another with its output on the
//! console, then one summary table and the closing `N passed, M failed` line.
//!
//! Each suite is one entry in [`SUITES`] and a function that runs it and returns its counts: read
//! from the JUnit XML report its runner writes (see `junit.rs`), or, for a single check (fmt,
//! clippy, ui-check), one pass or one failure. What the suites share (the UI build, one workspace
//! build, the emulator) is built once before them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::junit::{self, Counts, Outcome};
use crate::lints::{self, with_clippy};
use crate::{Workspace, run, run_checked, setup};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Run only these suites or groups (comma-separated or repeated), e.g. `--only conformance`.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Leave out these suites or groups.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Do not run `setup` first (when you know everything is installed).
    #[arg(long)]
    no_setup: bool,
    /// List the suites and their groups, then stop.
    #[arg(long)]
    list: bool,
}

/// Something built once, before the suites that name it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Need {
    /// ui/dist (`npm run build`), which the desktop shell embeds when it compiles.
    Ui,
    /// Every target of the workspace in the dev profile, our crates through clippy-driver: the
    /// tests, the debug app and the emulator (after `Ui`).
    Workspace,
    /// Only the emulator binary, when nothing needs the whole workspace.
    Emulator,
}

struct Suite {
    name: &'static str,
    groups: &'static [&'static str],
    about: &'static str,
    needs: &'static [Need],
    run: fn(&Workspace) -> anyhow::Result<Counts>,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "fmt",
        groups: &["lint", "rust"],
        about: "cargo fmt --all --check",
        needs: &[],
        run: |ws| single_check(ws.command("cargo").args(["fmt", "--all", "--check"])),
    },
    Suite {
        name: "clippy",
        groups: &["lint", "rust"],
        about: "clippy over the workspace's crates, every target; any warning fails (the lints of the one build, see lints.rs)",
        needs: &[Need::Ui, Need::Workspace],
        run: lints::suite,
    },
    Suite {
        name: "rust-tests",
        groups: &["rust"],
        about: "cargo nextest over the workspace; the #[ignore]d (Secret Service) tests in one private session (tests/session.sh), the keyring-breaking ones last in their own",
        needs: &[Need::Ui, Need::Workspace],
        run: rust_tests,
    },
    Suite {
        name: "ui-check",
        groups: &["ui", "lint"],
        about: "svelte-check / TypeScript over the UI, warnings are errors",
        needs: &[],
        run: |ws| single_check(&mut npm(ws, &["run", "check"])),
    },
    Suite {
        name: "ui-components",
        groups: &["ui"],
        about: "the UI's component tests (vitest, jsdom, Tauri IPC mocked)",
        needs: &[],
        run: |ws| {
            let report = report_path(ws, "ui-components");
            let output = format!("--outputFile.junit={}", report.display());
            junit_suite(&mut npm(ws, &["test", "--", "--reporter=default", "--reporter=junit", &output]), &report)
        },
    },
    Suite {
        name: "ui-browser",
        groups: &["ui"],
        about: "the built UI's main flows in Debian's Chromium (playwright-core), light and dark",
        needs: &[Need::Ui],
        run: |ws| {
            let report = report_path(ws, "ui-browser");
            let mut command = Command::new("node");
            command.arg("tests/browser/run.mjs").current_dir(ws.path("ui")).env("JUNIT_FILE", &report);
            junit_suite(&mut command, &report)
        },
    },
    Suite {
        name: "conformance-python",
        groups: &["conformance", "python"],
        about: "the official Python SDK (openrouter 1.3.84) against the emulator, pytest",
        needs: &[Need::Emulator],
        run: |ws| {
            let report = report_path(ws, "conformance-python");
            let mut command = ws.command(ws.path("tests/.venv/bin/python"));
            command
                .args(["-m", "pytest", "-v", "-rfE", "-p", "no:cacheprovider"])
                .arg(format!("--junitxml={}", report.display()))
                .arg(ws.path("tests/conformance/python"))
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env("KEYWARD_EMULATOR_BIN", ws.binary("debug", "openrouter-emulator"));
            junit_suite(&mut command, &report)
        },
    },
    Suite {
        name: "conformance-ts",
        groups: &["conformance", "ts"],
        about: "the official TypeScript SDK (@openrouter/sdk 1.3.19) against the emulator, node --test",
        needs: &[Need::Emulator],
        run: conformance_ts,
    },
    Suite {
        name: "e2e",
        groups: &["e2e"],
        about: "the real app window under Xvfb over WebDriver (tauri-driver), against the emulator, with a real Secret Service",
        needs: &[Need::Ui, Need::Workspace],
        run: |ws| {
            let report = report_path(ws, "e2e");
            let mut command = ws.command("bash");
            command
                .arg(ws.path("tests/e2e/run.sh"))
                .env("KEYWARD_APP_BIN", ws.binary("debug", "keyward"))
                .env("KEYWARD_EMULATOR_BIN", ws.binary("debug", "openrouter-emulator"))
                .env("E2E_JUNIT", &report);
            junit_suite(&mut command, &report)
        },
    },
];

/// Ok(false) when a suite failed or could not run (the summary has said so already).
pub fn run(workspace: &Workspace, args: &TestArgs) -> anyhow::Result<bool> {
    if args.list {
        for suite in SUITES {
            println!("{:<20} [{}] {}", suite.name, suite.groups.join(","), suite.about);
        }
        return Ok(true);
    }
    let selected = select(args)?;
    let started = Instant::now();
    // A failed setup or build is reported on every suite that needed it; the others still run.
    let mut unmet: Vec<(Need, String)> = Vec::new();
    let setup = if args.no_setup { Ok(()) } else { setup::run(workspace) };
    if let Err(error) = &setup {
        eprintln!("setup failed: {error:#}");
    } else {
        let needs: Vec<Need> = selected.iter().flat_map(|suite| suite.needs).copied().collect();
        unmet = prepare(workspace, &needs);
    }

    let mut outcomes = Vec::new();
    for suite in selected {
        println!("\n==> suite {}: {}", suite.name, suite.about);
        let suite_started = Instant::now();
        let result = if let Err(error) = &setup {
            Err(format!("setup failed: {error:#}"))
        } else if let Some((need, error)) = unmet.iter().find(|(need, _)| suite.needs.contains(need)) {
            Err(format!("{need:?} build failed: {error}"))
        } else {
            (suite.run)(workspace).map_err(|error| format!("{error:#}"))
        };
        let outcome = Outcome { name: suite.name, result, seconds: suite_started.elapsed().as_secs_f64() };
        let counts = outcome.counts();
        println!(
            "==> suite {}: {} ({} passed, {} failed, {:.1} s)",
            suite.name,
            outcome.word(),
            counts.passed,
            counts.failed,
            outcome.seconds
        );
        outcomes.push(outcome);
    }
    Ok(junit::print_summary(&outcomes, started.elapsed()))
}

fn select(args: &TestArgs) -> anyhow::Result<Vec<&'static Suite>> {
    let names = |suite: &Suite, word: &str| suite.name == word || suite.groups.contains(&word);
    if let Some(word) = args.only.iter().chain(&args.skip).find(|w| !SUITES.iter().any(|s| names(s, w))) {
        bail!("no suite or group named `{word}` (see `cargo xtask test --list`)");
    }
    let any = |suite: &Suite, words: &[String]| words.iter().any(|word| names(suite, word));
    Ok(SUITES
        .iter()
        .filter(|suite| args.only.is_empty() || any(suite, &args.only))
        .filter(|suite| !any(suite, &args.skip))
        .collect())
}

/// Builds what the selected suites need with as few cargo runs as possible: when anything needs
/// the workspace, one `cargo build --workspace --all-targets` compiles everything once (separate
/// `cargo build -p …` runs resolve features per package and would compile shared dependencies
/// several times), and the test runs and the clippy replay then find it all fresh.
fn prepare(workspace: &Workspace, needs: &[Need]) -> Vec<(Need, String)> {
    let mut unmet = Vec::new();
    let mut fail = |failed: &[Need], error: &anyhow::Error| {
        eprintln!("building {failed:?} failed: {error:#}");
        unmet.extend(failed.iter().map(|need| (*need, format!("{error:#}"))));
    };
    if needs.contains(&Need::Ui) {
        println!("\n==> building the UI (the desktop shell embeds ui/dist)");
        if let Err(error) = run_checked(npm(workspace, &["run", "build"])) {
            fail(&[Need::Ui, Need::Workspace], &error);
        }
    }
    let workspace_build = needs.contains(&Need::Workspace);
    let args: &[&str] = if workspace_build {
        &["build", "--workspace", "--all-targets"]
    } else {
        &["build", "-p", "openrouter-emulator", "--bin", "openrouter-emulator"]
    };
    if (workspace_build || needs.contains(&Need::Emulator)) && unmet.is_empty() {
        println!("\n==> building (our crates through clippy-driver; a cold workspace build takes 10-15 minutes)");
        let mut cargo = workspace.command("cargo");
        if let Err(error) = with_clippy(&mut cargo).and_then(|cargo| run_checked(cargo.args(args))) {
            fail(&[Need::Workspace, Need::Emulator], &error);
        }
    } else if !unmet.is_empty() {
        unmet.push((Need::Emulator, "the UI build failed".to_owned()));
    }
    unmet
}

/// Runs `command` and reads the JUnit report it writes to `report`. A missing report, one with no
/// test, or a failed exit without a failed test, is an error, never a pass.
fn junit_suite(command: &mut Command, report: &Path) -> anyhow::Result<Counts> {
    // A report left by an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(report);
    let status = run(command)?;
    let counts = junit::read(report)?;
    if !status.success() && counts.failed == 0 {
        bail!("exited with {status} although no test failed");
    }
    Ok(counts)
}

/// A suite that is one check: one pass when the command exits 0, else one failure.
fn single_check(command: &mut Command) -> anyhow::Result<Counts> {
    let passed = run(command)?.success();
    Ok(Counts { passed: u64::from(passed), failed: u64::from(!passed) })
}

/// Where a suite's runner writes its JUnit report (under the target directory, out of the tree).
fn report_path(workspace: &Workspace, suite: &str) -> PathBuf {
    workspace.target_dir.join("xtask-reports").join(format!("{suite}.xml"))
}

fn npm(workspace: &Workspace, args: &[&str]) -> Command {
    let mut command = Command::new("npm");
    command.args(args).current_dir(workspace.path("ui")).env("NO_COLOR", "1").env("FORCE_COLOR", "0");
    command
}

fn conformance_ts(workspace: &Workspace) -> anyhow::Result<Counts> {
    let directory = workspace.path("tests/conformance/ts");
    let mut files: Vec<String> = std::fs::read_dir(&directory)
        .with_context(|| format!("reading {}", directory.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    let report = report_path(workspace, "conformance-ts");
    let mut command = Command::new("node");
    command
        .args(["--test", "--test-timeout=60000", "--test-reporter=spec", "--test-reporter-destination=stdout"])
        .args(["--test-reporter=junit", &format!("--test-reporter-destination={}", report.display())])
        .args(&files)
        .current_dir(&directory)
        .env("KEYWARD_EMULATOR_BIN", workspace.binary("debug", "openrouter-emulator"));
    junit_suite(&mut command, &report)
}

/// The Rust tests, in three nextest runs (profiles in .config/nextest.toml, each writing its own
/// JUnit report): the plain tests outside any desktop session; then every `#[ignore]`d test (they
/// need a real Secret Service) in one private session (tests/session.sh); last, in a session of
/// their own, the keychain tests that lock or break a keyring on purpose.
fn rust_tests(workspace: &Workspace) -> anyhow::Result<Counts> {
    let mut total = Counts::default();
    let mut errors = Vec::new();
    for (profile, in_session) in [("default", false), ("keychain", true), ("keyring-breaking", true)] {
        let mut command = if in_session {
            let mut session = workspace.command(workspace.path("tests/session.sh"));
            session.args(["--", "cargo", "nextest", "run", "--run-ignored", "only"]);
            session
        } else {
            let mut plain = workspace.command("cargo");
            // Nothing may reach a desktop session's real keychain.
            plain.args(["nextest", "run"]).env_remove("DBUS_SESSION_BUS_ADDRESS");
            plain
        };
        with_clippy(&mut command)?.args(["--workspace", "--no-fail-fast", "--profile", profile]);
        let report = workspace.target_dir.join("nextest").join(profile).join("junit.xml");
        match junit_suite(&mut command, &report) {
            Ok(counts) => total = total + counts,
            Err(error) => errors.push(format!("{profile}: {error:#}")),
        }
    }
    if errors.is_empty() { Ok(total) } else { bail!("{}", errors.join("; ")) }
}
