//! `cargo xtask test`: every test suite of the project, run one after another with its output on
//! the console, then one summary table and the closing `N passed, M failed` line.
//!
//! A new suite is one entry in [`SUITES`] plus the function that builds its command.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use crate::lints::with_clippy;
use crate::process::{describe, run_checked, run_streamed};
use crate::report::{Counting, Outcome, print_summary};
use crate::setup;
use crate::workspace::{Workspace, cargo};

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

/// What a suite's command can rely on.
struct SuiteContext {
    workspace: Workspace,
    emulator_bin: Option<PathBuf>,
    app_bin: Option<PathBuf>,
    scratch: tempfile::TempDir,
}

/// Something built once, before the suites, for the suites that name it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Prerequisite {
    /// The web UI's production build (ui/dist), which the desktop shell embeds when it compiles.
    UiBuild,
    /// The emulator binary; its path reaches the suites as KEYWARD_EMULATOR_BIN.
    Emulator,
    /// The debug app binary (embedding ui/dist, so after UiBuild); its path reaches the end-to-end
    /// suite as KEYWARD_APP_BIN.
    AppBinary,
    /// Every target of the workspace (tests included), in the dev profile `cargo test` uses.
    WorkspaceBuild,
}

/// The binaries the prerequisites left, for the suites' commands.
#[derive(Default)]
struct Built {
    emulator_bin: Option<PathBuf>,
    app_bin: Option<PathBuf>,
}

/// Builds what the selected suites need with as few cargo invocations as possible: when the Rust
/// tests or the app are wanted, one `cargo build --workspace --all-targets` compiles everything
/// once (each `cargo build -p …` resolves features for its own package alone, so separate builds
/// would compile shared dependencies several times), and `cargo test` then finds it all fresh.
fn prepare(workspace: &Workspace, needed: &[Prerequisite]) -> (Built, Vec<(Prerequisite, String)>) {
    let mut built = Built::default();
    let mut failed = Vec::new();
    let needs = |prerequisite| needed.contains(&prerequisite);

    if needs(Prerequisite::UiBuild)
        && let Err(error) = build_ui(workspace)
    {
        eprintln!("building the UI failed: {error:#}");
        failed.push((Prerequisite::UiBuild, format!("{error:#}")));
        // Everything Rust of the shell embeds ui/dist: without it those builds fail too.
        for dependent in [Prerequisite::AppBinary, Prerequisite::WorkspaceBuild] {
            if needs(dependent) {
                failed.push((dependent, "the UI build failed".to_owned()));
            }
        }
        if needs(Prerequisite::Emulator) {
            record(
                build_emulator_only(workspace),
                Prerequisite::Emulator,
                &mut built.emulator_bin,
                &mut failed,
            );
        }
        return (built, failed);
    }

    if needs(Prerequisite::WorkspaceBuild) || needs(Prerequisite::AppBinary) {
        match build_workspace(workspace) {
            Ok(()) => {
                for (prerequisite, name, slot) in [
                    (
                        Prerequisite::Emulator,
                        "openrouter-emulator",
                        &mut built.emulator_bin,
                    ),
                    (Prerequisite::AppBinary, "keyward", &mut built.app_bin),
                ] {
                    let path = workspace.binary("debug", name);
                    if path.is_file() {
                        *slot = Some(path);
                    } else if needs(prerequisite) {
                        failed.push((
                            prerequisite,
                            format!("the build left no binary at {}", path.display()),
                        ));
                    }
                }
            }
            Err(error) => {
                eprintln!("building the workspace failed: {error:#}");
                let message = format!("{error:#}");
                for prerequisite in [
                    Prerequisite::WorkspaceBuild,
                    Prerequisite::AppBinary,
                    Prerequisite::Emulator,
                ] {
                    if needs(prerequisite) {
                        failed.push((prerequisite, message.clone()));
                    }
                }
            }
        }
    } else if needs(Prerequisite::Emulator) {
        record(
            build_emulator_only(workspace),
            Prerequisite::Emulator,
            &mut built.emulator_bin,
            &mut failed,
        );
    }
    (built, failed)
}

fn record(
    result: anyhow::Result<PathBuf>,
    prerequisite: Prerequisite,
    slot: &mut Option<PathBuf>,
    failed: &mut Vec<(Prerequisite, String)>,
) {
    match result {
        Ok(path) => *slot = Some(path),
        Err(error) => {
            eprintln!("preparing {prerequisite:?} failed: {error:#}");
            failed.push((prerequisite, format!("{error:#}")));
        }
    }
}

struct Suite {
    name: &'static str,
    groups: &'static [&'static str],
    about: &'static str,
    counting: Counting,
    needs: &'static [Prerequisite],
    command: fn(&SuiteContext) -> anyhow::Result<Command>,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "fmt",
        groups: &["lint", "rust"],
        about: "cargo fmt --all --check",
        counting: Counting::SingleCheck,
        needs: &[],
        command: fmt_command,
    },
    Suite {
        name: "clippy",
        groups: &["lint", "rust"],
        about: "clippy over the workspace's crates, every target; any warning fails (the lints of the one build, see lints.rs)",
        counting: Counting::PlainLine,
        needs: &[Prerequisite::UiBuild, Prerequisite::WorkspaceBuild],
        command: clippy_command,
    },
    Suite {
        name: "rust-tests",
        groups: &["rust"],
        about: "cargo test --workspace in a private D-Bus + gnome-keyring session, then each binary's keychain (#[ignore]d) tests in a fresh session of its own",
        counting: Counting::CargoTest,
        needs: &[Prerequisite::UiBuild, Prerequisite::WorkspaceBuild],
        command: rust_tests_command,
    },
    Suite {
        name: "ui-check",
        groups: &["ui", "lint"],
        about: "svelte-check / TypeScript over the UI, warnings are errors",
        counting: Counting::SingleCheck,
        needs: &[],
        command: ui_check_command,
    },
    Suite {
        name: "ui-components",
        groups: &["ui"],
        about: "the UI's component tests (vitest, jsdom, Tauri IPC mocked)",
        counting: Counting::Vitest,
        needs: &[],
        command: ui_components_command,
    },
    Suite {
        name: "ui-browser",
        groups: &["ui"],
        about: "the built UI's main flows in Debian's Chromium (playwright-core), light and dark",
        counting: Counting::PlainLine,
        needs: &[Prerequisite::UiBuild],
        command: ui_browser_command,
    },
    Suite {
        name: "conformance-python",
        groups: &["conformance", "python"],
        about: "the official Python SDK (openrouter 1.3.84) against the emulator, pytest",
        counting: Counting::Pytest,
        needs: &[Prerequisite::Emulator],
        command: conformance_python_command,
    },
    Suite {
        name: "conformance-ts",
        groups: &["conformance", "ts"],
        about: "the official TypeScript SDK (@openrouter/sdk 1.3.19) against the emulator, node --test",
        counting: Counting::NodeTap,
        needs: &[Prerequisite::Emulator],
        command: conformance_ts_command,
    },
    Suite {
        name: "e2e",
        groups: &["e2e"],
        about: "the real app window under Xvfb over WebDriver (tauri-driver), against the emulator, with a real Secret Service",
        counting: Counting::PlainLine,
        needs: &[
            Prerequisite::UiBuild,
            Prerequisite::Emulator,
            Prerequisite::AppBinary,
        ],
        command: e2e_command,
    },
];

/// Ok(false) when a suite failed or could not run (the summary has said so already).
pub fn run(args: &TestArgs) -> anyhow::Result<bool> {
    if args.list {
        for suite in SUITES {
            println!(
                "{:<20} [{}] {}",
                suite.name,
                suite.groups.join(","),
                suite.about
            );
        }
        return Ok(true);
    }
    let selected = select(args)?;
    let started = Instant::now();
    let workspace = Workspace::locate()?;
    let mut outcomes = Vec::new();

    let setup_failed = if args.no_setup {
        None
    } else {
        setup::run(&workspace).err()
    };
    if let Some(error) = &setup_failed {
        eprintln!("setup failed: {error:#}");
    }

    let mut needed: Vec<Prerequisite> = Vec::new();
    for suite in &selected {
        for prerequisite in suite.needs {
            if !needed.contains(prerequisite) {
                needed.push(*prerequisite);
            }
        }
    }
    let (built, unprepared) = if setup_failed.is_none() {
        prepare(&workspace, &needed)
    } else {
        (Built::default(), Vec::new())
    };

    let context = SuiteContext {
        workspace,
        emulator_bin: built.emulator_bin,
        app_bin: built.app_bin,
        scratch: tempfile::Builder::new()
            .prefix("keyward-xtask-")
            .tempdir()
            .context("creating a scratch directory")?,
    };

    for suite in selected {
        println!();
        println!("==> suite {}: {}", suite.name, suite.about);
        let suite_started = Instant::now();
        let outcome = if let Some(error) = &setup_failed {
            Outcome::could_not_run(suite.name, format!("setup failed: {error}"))
        } else if let Some((prerequisite, error)) = unprepared
            .iter()
            .find(|(prerequisite, _)| suite.needs.contains(prerequisite))
        {
            Outcome::could_not_run(suite.name, format!("{prerequisite:?} failed: {error}"))
        } else {
            run_suite(suite, &context)
        };
        let outcome = outcome.timed(suite_started.elapsed());
        println!(
            "==> suite {}: {} ({} passed, {} failed, {:.1} s)",
            outcome.name,
            outcome.status.word(),
            outcome.passed,
            outcome.failed,
            outcome.seconds
        );
        outcomes.push(outcome);
    }

    let failed = print_summary(&outcomes, started.elapsed());
    Ok(!failed)
}

fn select(args: &TestArgs) -> anyhow::Result<Vec<&'static Suite>> {
    let known = |word: &str| {
        SUITES
            .iter()
            .any(|suite| suite.name == word || suite.groups.contains(&word))
    };
    for word in args.only.iter().chain(&args.skip) {
        if !known(word) {
            anyhow::bail!("no suite or group named `{word}` (see `cargo xtask test --list`)");
        }
    }
    let matches = |suite: &Suite, words: &[String]| {
        words
            .iter()
            .any(|word| suite.name == word || suite.groups.contains(&word.as_str()))
    };
    Ok(SUITES
        .iter()
        .filter(|suite| args.only.is_empty() || matches(suite, &args.only))
        .filter(|suite| !matches(suite, &args.skip))
        .collect())
}

fn run_suite(suite: &Suite, context: &SuiteContext) -> Outcome {
    let mut command = match (suite.command)(context) {
        Ok(command) => command,
        Err(error) => return Outcome::could_not_run(suite.name, format!("{error:#}")),
    };
    match run_streamed(&mut command) {
        Ok(captured) => Outcome::from_run(suite.name, suite.counting, &captured),
        Err(error) => {
            Outcome::could_not_run(suite.name, format!("`{}`: {error:#}", describe(&command)))
        }
    }
}

/// Only the emulator, when no suite needs the rest of the workspace (e.g. `--only conformance`).
fn build_emulator_only(workspace: &Workspace) -> anyhow::Result<PathBuf> {
    println!();
    println!("==> building the emulator");
    run_checked(with_clippy(
        Command::new(cargo())
            .args([
                "build",
                "-p",
                "openrouter-emulator",
                "--bin",
                "openrouter-emulator",
            ])
            .current_dir(&workspace.root),
    )?)?;
    let path = workspace.binary("debug", "openrouter-emulator");
    if !path.is_file() {
        anyhow::bail!("the build left no binary at {}", path.display());
    }
    Ok(path)
}

/// Every package and target once: the emulator, the debug desktop app (embedding ui/dist as built
/// just before) and every test binary `cargo test --workspace` will run; our crates through
/// clippy-driver, so the `clippy` suite needs no build of its own (see `lints`).
fn build_workspace(workspace: &Workspace) -> anyhow::Result<()> {
    println!();
    println!(
        "==> building the workspace (every target, once, with clippy's lints; a cold build takes 10-15 minutes)"
    );
    run_checked(with_clippy(
        Command::new(cargo())
            .args(["build", "--workspace", "--all-targets"])
            .current_dir(&workspace.root),
    )?)
}

/// `npm run build` in ui/, when there is a UI; its node_modules come from `setup`.
fn build_ui(workspace: &Workspace) -> anyhow::Result<()> {
    let ui = workspace.ui_dir();
    if !ui.join("package.json").is_file() {
        return Ok(());
    }
    println!();
    println!("==> building the UI (the desktop shell embeds ui/dist)");
    run_checked(Command::new("npm").args(["run", "build"]).current_dir(&ui))
}

fn cargo_in_root(context: &SuiteContext, args: &[&str]) -> Command {
    let mut command = Command::new(cargo());
    command.args(args).current_dir(&context.workspace.root);
    command
}

fn fmt_command(context: &SuiteContext) -> anyhow::Result<Command> {
    Ok(cargo_in_root(
        context,
        &["fmt", "--all", "--check", "--", "--color", "never"],
    ))
}

/// xtask's `lints` task: the build's clippy warnings, replayed (see `lints`). The binary the
/// workspace build just made, not this running one: that build replaced (unlinked) its file.
fn clippy_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let xtask = context.workspace.binary("debug", "xtask");
    if !xtask.is_file() {
        anyhow::bail!(
            "the workspace build left no xtask binary at {}",
            xtask.display()
        );
    }
    let mut command = Command::new(xtask);
    command.arg("lints").current_dir(&context.workspace.root);
    Ok(command)
}

/// The Secret Service of one test binary's run: a private D-Bus session (`dbus-run-session`
/// around this script) in which gnome-keyring runs in the foreground, as this script's own child,
/// with a login keyring unlocked by a known password. The binary runs once the daemon owns the
/// Secret Service name; afterwards the script checks the daemon is still there, so a keyring that
/// died mid-run is reported as such (with its log) instead of as a dozen "locked" test failures.
const KEYRING_SESSION: &str = r#"
unset GNOME_KEYRING_CONTROL SSH_AUTH_SOCK
log="$HOME/gnome-keyring.log"
printf pass | gnome-keyring-daemon --foreground --unlock --components=secrets >"$log" 2>&1 &
keyring=$!
ready=no
for _ in $(seq 1 200); do
  if dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
       org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true; then
    ready=yes; break
  fi
  kill -0 "$keyring" 2>/dev/null || break
  sleep 0.05
done
if [ "$ready" != yes ]; then
  echo "error: gnome-keyring did not start; its log:" >&2; cat "$log" >&2; exit 1
fi
"$@"; code=$?
if ! kill -0 "$keyring" 2>/dev/null; then
  wait "$keyring"; died=$?
  echo "error: gnome-keyring-daemon exited (status $died) while $1 ran; its log:" >&2
  cat "$log" >&2
  code=1
fi
kill "$keyring" 2>/dev/null
exit $code
"#;

/// The keychain tests (core/tests/keychain.rs) that lock a keyring or start without one.
const KEYRING_BREAKING_TESTS: &[&str] = &[
    "a_locked_keyring_is_reported_as_locked_without_hanging",
    "no_default_keyring_is_reported_with_how_to_create_one",
];

/// A test executable of the workspace and the package directory `cargo test` runs it in.
struct TestBinary {
    executable: PathBuf,
    package_dir: PathBuf,
    label: String,
}

/// The workspace's test executables that hold `#[ignore]`d tests (those need a Secret Service),
/// from `cargo test --no-run`'s artifact messages (the workspace build made them all: nothing
/// compiles) and each binary's own `--list --ignored`.
fn binaries_with_ignored_tests(context: &SuiteContext) -> anyhow::Result<Vec<TestBinary>> {
    let mut command = Command::new(cargo());
    command
        .args(["test", "--workspace", "--no-run", "--message-format=json"])
        .current_dir(&context.workspace.root)
        .stderr(std::process::Stdio::inherit());
    with_clippy(&mut command)?;
    let output = command
        .output()
        .with_context(|| format!("running `{}`", describe(&command)))?;
    if !output.status.success() {
        anyhow::bail!("`{}` failed ({})", describe(&command), output.status);
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let executable = match message["executable"].as_str() {
            Some(path) if message["profile"]["test"] == true => PathBuf::from(path),
            _ => continue,
        };
        let Some(package_dir) = message["manifest_path"]
            .as_str()
            .and_then(|manifest| std::path::Path::new(manifest).parent())
            .map(PathBuf::from)
        else {
            continue;
        };
        let listed = Command::new(&executable)
            .args(["--list", "--ignored", "--format", "terse"])
            .current_dir(&package_dir)
            .output()
            .with_context(|| format!("listing the tests of {}", executable.display()))?;
        // A binary that cannot list its tests would otherwise pass for one without keychain tests.
        if !listed.status.success() {
            anyhow::bail!(
                "{} --list --ignored failed ({}): {}",
                executable.display(),
                listed.status,
                String::from_utf8_lossy(&listed.stderr).trim()
            );
        }
        let has_ignored = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .any(|line| line.ends_with(": test"));
        if has_ignored {
            let src = message["target"]["src_path"].as_str().unwrap_or_default();
            let label = src
                .strip_prefix(&format!("{}/", package_dir.display()))
                .unwrap_or(src)
                .to_owned();
            binaries.push(TestBinary {
                executable,
                package_dir,
                label,
            });
        }
    }
    Ok(binaries)
}

/// The Rust tests: `cargo test --workspace` inside a private desktop session (its own D-Bus
/// session bus and an unlocked gnome-keyring, HOME and XDG_RUNTIME_DIR in a scratch directory, so
/// nothing touches the real home's keyring); then every binary that holds `#[ignore]`d tests (they
/// need that real Secret Service) runs them with `--ignored`, each in a fresh session and keyring
/// of its own, so one binary's keyring trouble cannot spill into the next; last, in sessions of
/// their own too, the keychain tests that lock or break a keyring on purpose.
fn rust_tests_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let root = &context.workspace.root;
    let scratch = context.scratch.path();
    let home = scratch.join("home");
    let runtime = scratch.join("runtime");
    fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    fs::create_dir_all(&runtime).with_context(|| format!("creating {}", runtime.display()))?;
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", runtime.display()))?;

    let real_home = std::env::var_os("HOME").map(PathBuf::from);
    let tool_home = |variable: &str, default_dir: &str| -> anyhow::Result<PathBuf> {
        match (std::env::var_os(variable), &real_home) {
            (Some(path), _) => Ok(PathBuf::from(path)),
            (None, Some(home)) => Ok(home.join(default_dir)),
            (None, None) => anyhow::bail!("neither {variable} nor HOME is set"),
        }
    };
    let cargo_home = tool_home("CARGO_HOME", ".cargo")?;
    let rustup_home = tool_home("RUSTUP_HOME", ".rustup")?;
    let ignored = binaries_with_ignored_tests(context)?;

    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let mut script = format!(
        "# One stream, so cargo's `Running …` lines (stderr) stay ahead of their results (stdout).\n\
         exec 2>&1\n\
         keyring_session={}\n\
         # A fresh HOME, runtime directory, D-Bus session and gnome-keyring for one command.\n\
         with_keyring() {{\n\
         \x20 local dir; dir=$(mktemp -d {}/keyring.XXXXXX) && mkdir -m 700 \"$dir/run\" || return 1\n\
         \x20 HOME=$dir XDG_RUNTIME_DIR=$dir/run dbus-run-session -- bash -c \"$keyring_session\" bash \"$@\"\n\
         }}\n\
         status=0\n\
         with_keyring cargo test --workspace --no-fail-fast || status=1\n",
        quote(KEYRING_SESSION),
        quote(&scratch.display().to_string()),
    );
    // `--show-output` shows the crash tests' `kills: N, …` lines; regenerate_bindings would write
    // ui/src/lib/bindings, it is run by hand.
    let skips: String = std::iter::once("regenerate_bindings")
        .chain(KEYRING_BREAKING_TESTS.iter().copied())
        .map(|name| format!(" --skip {name}"))
        .collect();
    // The same `Running …` line cargo prints before a binary's output, so counts are read per binary.
    let run_in_keyring = |binary: &TestBinary, heading: &str, args: &str| {
        format!(
            "echo {}\n(cd {} && with_keyring {} {args}) || status=1\n",
            quote(&format!(
                "     Running {} ({}){heading}",
                binary.label,
                binary.executable.display()
            )),
            quote(&binary.package_dir.display().to_string()),
            quote(&binary.executable.display().to_string()),
        )
    };
    for binary in &ignored {
        script.push_str(&run_in_keyring(
            binary,
            "",
            &format!("--ignored --show-output{skips}"),
        ));
    }
    let Some(keychain) = ignored
        .iter()
        .find(|binary| binary.label == "tests/keychain.rs")
    else {
        anyhow::bail!(
            "no test binary built from tests/keychain.rs holds ignored tests; its keychain tests would not run"
        );
    };
    // Last: these lock and break keyrings on purpose (in child sessions of their own).
    script.push_str(&run_in_keyring(
        keychain,
        ", the keyring-breaking tests",
        &format!("--ignored --exact {}", KEYRING_BREAKING_TESTS.join(" ")),
    ));
    script.push_str("exit $status\n");

    let mut command = Command::new("bash");
    // The same clippy-driver build as the workspace build, so `cargo test` compiles nothing again.
    with_clippy(&mut command)?;
    command
        .args(["-c", &script])
        .current_dir(root)
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home);
    // Anything pointing into the real session would leak the tests out of the private one.
    for variable in [
        "DBUS_SESSION_BUS_ADDRESS",
        "GNOME_KEYRING_CONTROL",
        "SSH_AUTH_SOCK",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_CACHE_HOME",
        "XDG_STATE_HOME",
    ] {
        command.env_remove(variable);
    }
    Ok(command)
}

fn npm_in_ui(context: &SuiteContext, args: &[&str]) -> Command {
    let mut command = Command::new("npm");
    command
        .args(args)
        .current_dir(context.workspace.ui_dir())
        .env("NO_COLOR", "1")
        .env("FORCE_COLOR", "0");
    command
}

fn ui_check_command(context: &SuiteContext) -> anyhow::Result<Command> {
    Ok(npm_in_ui(context, &["run", "check"]))
}

fn ui_components_command(context: &SuiteContext) -> anyhow::Result<Command> {
    Ok(npm_in_ui(context, &["test"]))
}

/// The UI is already built (a prerequisite), so the script's own `vite build` is skipped.
fn ui_browser_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let mut command = Command::new("node");
    command
        .arg("tests/browser/run.mjs")
        .current_dir(context.workspace.ui_dir());
    Ok(command)
}

fn emulator_env(context: &SuiteContext, command: &mut Command) -> anyhow::Result<()> {
    let bin = context
        .emulator_bin
        .as_ref()
        .context("the emulator binary was not built")?;
    command.env("KEYWARD_EMULATOR_BIN", bin);
    Ok(())
}

fn conformance_python_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let workspace = &context.workspace;
    let mut command = Command::new(workspace.venv_python());
    command
        .args(["-m", "pytest", "-v", "-rfE", "-p", "no:cacheprovider"])
        .arg(workspace.root.join("tests/conformance/python"))
        .current_dir(&workspace.root)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    emulator_env(context, &mut command)?;
    Ok(command)
}

fn conformance_ts_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let directory = context.workspace.conformance_ts_dir();
    let mut files: Vec<String> = fs::read_dir(&directory)
        .with_context(|| format!("reading {}", directory.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no *.test.mjs files in {}", directory.display());
    }
    let mut command = Command::new("node");
    command
        .args(["--test", "--test-reporter=tap", "--test-timeout=60000"])
        .args(&files)
        .current_dir(&directory);
    emulator_env(context, &mut command)?;
    Ok(command)
}

/// tests/e2e/run.sh sets up its own private desktop session (scratch HOME, Xvfb, D-Bus,
/// gnome-keyring, dunst) and ends every process it started; it only needs the two binaries.
fn e2e_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let app = context
        .app_bin
        .as_ref()
        .context("the app binary was not built")?;
    let mut command = Command::new("bash");
    command
        .arg(context.workspace.root.join("tests/e2e/run.sh"))
        .current_dir(&context.workspace.root)
        .env("KEYWARD_APP_BIN", app);
    emulator_env(context, &mut command)?;
    Ok(command)
}
