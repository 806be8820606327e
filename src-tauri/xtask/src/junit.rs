//! The counts of a suite, read from the JUnit XML report its runner wrote (nextest, vitest, pytest,
//! node --test, and our own browser and e2e runners), and the summary table that ends
//! `cargo xtask test` with the line `N passed, M failed`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
}

impl Counts {
    pub fn new(passed: u64, failed: u64) -> Self {
        Self { passed, failed }
    }

    pub fn add(self, other: Self) -> Self {
        let (passed, failed) = (self.passed + other.passed, self.failed + other.failed);
        Self { passed, failed }
    }
}

/// Every `<testcase>` of the report: failed when it holds a `<failure>` or `<error>`, skipped
/// (not counted) when it holds `<skipped>`, passed otherwise.
pub fn read(report: &Path) -> anyhow::Result<Counts> {
    let text = std::fs::read_to_string(report)
        .with_context(|| format!("the runner wrote no report at {}", report.display()))?;
    parse(&text).with_context(|| format!("reading {}", report.display()))
}

fn parse(text: &str) -> anyhow::Result<Counts> {
    let document = roxmltree::Document::parse(text)?;
    let mut counts = Counts::default();
    for case in document
        .descendants()
        .filter(|node| node.has_tag_name("testcase"))
    {
        let has = |tag: &str| case.children().any(|child| child.has_tag_name(tag));
        if has("failure") || has("error") {
            counts.failed += 1;
        } else if !has("skipped") {
            counts.passed += 1;
        }
    }
    if counts == Counts::default() {
        bail!("the report holds no test that ran");
    }
    Ok(counts)
}

/// One suite's line in the summary: its counts, or why it could not run to a verdict.
pub struct Outcome {
    pub name: &'static str,
    pub result: Result<Counts, String>,
    pub seconds: f64,
}

impl Outcome {
    pub fn new(name: &'static str, result: Result<Counts, String>, seconds: f64) -> Self {
        Self {
            name,
            result,
            seconds,
        }
    }

    pub fn word(&self) -> &'static str {
        match &self.result {
            Ok(counts) if counts.failed == 0 => "ok",
            Ok(_) => "FAILED",
            Err(_) => "ERROR",
        }
    }

    /// A suite that did not run to a verdict adds one failure, so the closing line is never green.
    pub fn counts(&self) -> Counts {
        self.result.clone().unwrap_or(Counts::new(0, 1))
    }
}

/// Prints the table, the wall time and the closing line; says whether everything passed.
pub fn print_summary(outcomes: &[Outcome], wall: Duration) -> bool {
    let width = outcomes
        .iter()
        .map(|outcome| outcome.name.len())
        .max()
        .unwrap_or(0)
        .max(5);
    println!("\n==> summary");
    println!(
        "| {:<width$} | result | passed | failed | time (s) |",
        "suite"
    );
    println!(
        "|{:-<1$}|--------|-------:|-------:|---------:|",
        "",
        width + 2
    );
    for outcome in outcomes {
        let (name, word, seconds) = (outcome.name, outcome.word(), outcome.seconds);
        let Counts { passed, failed } = outcome.counts();
        println!("| {name:<width$} | {word:<6} | {passed:>6} | {failed:>6} | {seconds:>8.1} |");
    }
    for outcome in outcomes {
        if let Err(reason) = &outcome.result {
            println!("{}: could not run to a verdict: {reason}", outcome.name);
        }
    }
    let total = outcomes
        .iter()
        .map(Outcome::counts)
        .fold(Counts::default(), Counts::add);
    println!("total wall time: {:.1} s", wall.as_secs_f64());
    println!("{} passed, {} failed", total.passed, total.failed);
    total.failed == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_and_errors_fail_skipped_cases_do_not_count() {
        let report = r#"<?xml version="1.0"?><testsuites><testsuite name="a">
            <testcase name="ok"/><testcase name="ok2"><system-out>x</system-out></testcase>
            <testcase name="bad"><failure message="m">boom</failure></testcase>
            <testcase name="broken"><error message="e"/></testcase>
            <testcase name="later"><skipped/></testcase></testsuite>
            <testsuite name="b"><testcase name="flaky"><flakyFailure/></testcase></testsuite></testsuites>"#;
        assert_eq!(parse(report).unwrap(), Counts::new(3, 2));
    }

    #[test]
    fn a_report_without_a_test_that_ran_is_an_error() {
        let skipped = r#"<testsuite><testcase name="s"><skipped/></testcase></testsuite>"#;
        for report in [
            r#"<testsuites><testsuite name="a"/></testsuites>"#,
            skipped,
            "not xml",
        ] {
            assert!(parse(report).is_err(), "{report}");
        }
    }

    #[test]
    fn a_suite_without_a_verdict_counts_as_one_failure() {
        let outcome = Outcome::new("x", Err("no report".into()), 0.0);
        assert_eq!(
            (outcome.word(), outcome.counts()),
            ("ERROR", Counts::new(0, 1))
        );
        assert!(!print_summary(&[outcome], Duration::ZERO));
    }
}
