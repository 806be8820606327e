//! The `actionlint` suite: actionlint (installed into tests/.venv by tests/setup.sh, pinned in
//! tests/tools-requirements.txt) over every workflow in .github/workflows, with shellcheck (apt)
//! checking their `run:` steps. Two checks: the workflows pass, and a workflow broken on purpose
//! (tests/actionlint/broken-workflow.yml) fails — so a linter that finds nothing can't pass.

use anyhow::{Context, bail};

use crate::junit::Counts;
use crate::{Workspace, run_status};

/// The workflows checked, relative to the repository root.
const WORKFLOWS: &str = ".github/workflows";
/// The workflow that must fail.
const BROKEN: &str = "tests/actionlint/broken-workflow.yml";

pub fn suite(ws: &Workspace) -> anyhow::Result<Counts> {
    let actionlint = ws.path("tests/.venv/bin/actionlint");
    if !actionlint.is_file() {
        bail!(
            "{} is missing: run `cargo xtask setup` (tests/tools-requirements.txt)",
            actionlint.display()
        );
    }
    // Without shellcheck actionlint skips the `run:` steps silently; it is part of the suite.
    let shellcheck = ws
        .command("shellcheck")
        .arg("--version")
        .output()
        .map(|out| out.status.success())
        .unwrap_or(false);
    if !shellcheck {
        bail!("shellcheck is not installed: run `cargo xtask setup` (apt package shellcheck)");
    }
    let mut workflows: Vec<_> = std::fs::read_dir(ws.path(WORKFLOWS))
        .with_context(|| format!("reading {WORKFLOWS}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    workflows.sort();
    if workflows.is_empty() {
        bail!("no workflow in {WORKFLOWS}");
    }
    let mut counts = Counts::default();

    println!("actionlint over {} workflow(s):", workflows.len());
    let mut lint = ws.command(&actionlint);
    lint.args(["-no-color", "-shellcheck", "shellcheck"])
        .args(&workflows);
    let passed = run_status(&mut lint)?.success();
    counts = counts.add(Counts::new(u64::from(passed), u64::from(!passed)));

    println!("actionlint over {BROKEN}, which must fail:");
    let output = ws
        .command(&actionlint)
        .args(["-no-color", "-oneline", "-shellcheck", "shellcheck", BROKEN])
        .output()
        .context("starting actionlint")?;
    let report = String::from_utf8_lossy(&output.stdout);
    // Exit 1 is "problems found" (2 and 3 are actionlint's own failures); each mistake is named.
    let expected = ["branchs", "fetch-deepth", "potentially untrusted", "SC2086"];
    let missing: Vec<_> = expected
        .iter()
        .filter(|needle| !report.contains(*needle))
        .collect();
    let caught = output.status.code() == Some(1) && missing.is_empty();
    if caught {
        println!("ok: actionlint reported the {} mistakes", expected.len());
    } else {
        println!(
            "FAILED: actionlint exited with {} and did not report {missing:?}:\n{report}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(counts.add(Counts::new(u64::from(caught), u64::from(!caught))))
}
