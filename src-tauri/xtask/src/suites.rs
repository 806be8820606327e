//! `cargo xtask test`: every test suite of the project, run one after another with its output on
//! the console, then one summary table and the closing `N passed, M failed` line.
//!
//! A new suite is one entry in [`SUITES`] plus the function that builds its command.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

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
    scratch: tempfile::TempDir,
}

struct Suite {
    name: &'static str,
    groups: &'static [&'static str],
    about: &'static str,
    counting: Counting,
    needs_emulator: bool,
    command: fn(&SuiteContext) -> anyhow::Result<Command>,
}

const SUITES: &[Suite] = &[
    Suite {
        name: "fmt",
        groups: &["lint", "rust"],
        about: "cargo fmt --all --check",
        counting: Counting::SingleCheck,
        needs_emulator: false,
        command: fmt_command,
    },
    Suite {
        name: "clippy",
        groups: &["lint", "rust"],
        about: "cargo clippy --workspace --all-targets -- -D warnings",
        counting: Counting::SingleCheck,
        needs_emulator: false,
        command: clippy_command,
    },
    Suite {
        name: "rust-tests",
        groups: &["rust"],
        about: "cargo test --workspace (and the keychain tests) in a private D-Bus + gnome-keyring session",
        counting: Counting::CargoTest,
        needs_emulator: false,
        command: rust_tests_command,
    },
    Suite {
        name: "conformance-python",
        groups: &["conformance", "python"],
        about: "the official Python SDK (openrouter 1.3.84) against the emulator, pytest",
        counting: Counting::Pytest,
        needs_emulator: true,
        command: conformance_python_command,
    },
    Suite {
        name: "conformance-ts",
        groups: &["conformance", "ts"],
        about: "the official TypeScript SDK (@openrouter/sdk 1.3.19) against the emulator, node --test",
        counting: Counting::NodeTap,
        needs_emulator: true,
        command: conformance_ts_command,
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

    let emulator_bin =
        if setup_failed.is_none() && selected.iter().any(|suite| suite.needs_emulator) {
            match build_emulator(&workspace) {
                Ok(path) => Some(path),
                Err(error) => {
                    eprintln!("building the emulator failed: {error:#}");
                    None
                }
            }
        } else {
            None
        };

    let context = SuiteContext {
        workspace,
        emulator_bin,
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
        } else if suite.needs_emulator && context.emulator_bin.is_none() {
            Outcome::could_not_run(suite.name, "the emulator did not build".to_owned())
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

/// Built once; the conformance suites find it through KEYWARD_EMULATOR_BIN.
fn build_emulator(workspace: &Workspace) -> anyhow::Result<PathBuf> {
    println!();
    println!("==> building the emulator");
    run_checked(
        Command::new(cargo())
            .args([
                "build",
                "-p",
                "openrouter-emulator",
                "--bin",
                "openrouter-emulator",
            ])
            .current_dir(&workspace.root),
    )?;
    let path = workspace.binary("debug", "openrouter-emulator");
    if !path.is_file() {
        anyhow::bail!("the build left no binary at {}", path.display());
    }
    Ok(path)
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

fn clippy_command(context: &SuiteContext) -> anyhow::Result<Command> {
    Ok(cargo_in_root(
        context,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ))
}

/// `cargo test` inside a private desktop session: its own D-Bus session bus and an unlocked
/// gnome-keyring, with HOME and XDG_RUNTIME_DIR in a scratch directory so nothing touches the real
/// home's keyring. The keychain tests are `#[ignore]`d outside such a session, so they run here
/// a second time with `--ignored`.
fn rust_tests_command(context: &SuiteContext) -> anyhow::Result<Command> {
    let root = &context.workspace.root;
    let home = context.scratch.path().join("home");
    let runtime = context.scratch.path().join("runtime");
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

    let mut script = String::from(
        "eval \"$(printf pass | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)\"\n\
         export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK\n\
         if [ -z \"${GNOME_KEYRING_CONTROL:-}\" ]; then echo 'warning: gnome-keyring did not start' >&2; fi\n\
         status=0\n\
         cargo test --workspace --no-fail-fast || status=1\n",
    );
    if keychain_tests_exist(root) {
        script.push_str(
            "cargo test -p keyward-core --test keychain --no-fail-fast -- --ignored || status=1\n",
        );
    } else {
        println!("(src-tauri/core/tests/keychain.rs does not exist yet: no keychain tests to run)");
    }
    script.push_str("exit $status\n");

    let mut command = Command::new("dbus-run-session");
    command
        .args(["--", "bash", "-c", &script])
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

fn keychain_tests_exist(root: &Path) -> bool {
    root.join("src-tauri/core/tests/keychain.rs").is_file()
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
