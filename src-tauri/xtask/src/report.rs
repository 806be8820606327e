//! Reading each runner's own closing lines into pass/fail counts, and the summary table that ends
//! `cargo xtask test` with the line `N passed, M failed`.

use std::time::Duration;

use crate::process::Captured;

/// How a suite's output is turned into counts.
#[derive(Clone, Copy)]
pub enum Counting {
    /// The whole suite is one check: it passes when the command exits 0.
    SingleCheck,
    /// Every `test result: … N passed; M failed; …` line of `cargo test`, summed.
    CargoTest,
    /// pytest's closing line, e.g. `==== 3 failed, 40 passed, 1 error in 2.10s ====`.
    Pytest,
    /// node's TAP reporter: the last `# pass N` and `# fail N`.
    NodeTap,
    /// vitest's closing `Tests  2 failed | 67 passed (69)` line.
    Vitest,
    /// The plain closing line `N passed, M failed` that our own scripts print.
    PlainLine,
}

pub enum Status {
    Passed,
    Failed,
    /// The suite did not run to a verdict (build error, missing tool, no count line). It adds one
    /// failure to the totals so the closing line never reads as all-green.
    Error(String),
}

impl Status {
    pub fn word(&self) -> &'static str {
        match self {
            Status::Passed => "ok",
            Status::Failed => "FAILED",
            Status::Error(_) => "ERROR",
        }
    }
}

pub struct Outcome {
    pub name: &'static str,
    pub status: Status,
    pub passed: u64,
    pub failed: u64,
    pub seconds: f64,
}

impl Outcome {
    pub fn could_not_run(name: &'static str, reason: String) -> Self {
        Self {
            name,
            status: Status::Error(reason),
            passed: 0,
            failed: 1,
            seconds: 0.0,
        }
    }

    pub fn timed(mut self, elapsed: Duration) -> Self {
        self.seconds = elapsed.as_secs_f64();
        self
    }

    pub fn from_run(name: &'static str, counting: Counting, captured: &Captured) -> Self {
        let exited_ok = captured.status.success();
        let counts = match counting {
            Counting::SingleCheck => Some(if exited_ok { (1, 0) } else { (0, 1) }),
            Counting::CargoTest => cargo_test_counts(&captured.lines),
            Counting::Pytest => pytest_counts(&captured.lines),
            Counting::NodeTap => node_tap_counts(&captured.lines),
            Counting::Vitest => vitest_counts(&captured.lines),
            Counting::PlainLine => plain_line_counts(&captured.lines),
        };
        let (status, passed, failed) = match counts {
            None => (
                Status::Error(format!(
                    "no count line in the output (exit status {})",
                    captured.status
                )),
                0,
                1,
            ),
            Some((0, 0)) => (Status::Error("ran no test".to_owned()), 0, 1),
            Some((passed, failed)) if failed > 0 => (Status::Failed, passed, failed),
            Some((passed, _)) if !exited_ok => (
                Status::Error(format!(
                    "exited with {} although no test failed",
                    captured.status
                )),
                passed,
                1,
            ),
            Some((passed, _)) => (Status::Passed, passed, 0),
        };
        Self {
            name,
            status,
            passed,
            failed,
            seconds: 0.0,
        }
    }
}

/// Prints the table, the wall time and the closing line; says whether anything failed.
pub fn print_summary(outcomes: &[Outcome], wall: Duration) -> bool {
    let name_width = outcomes
        .iter()
        .map(|outcome| outcome.name.len())
        .chain(["suite".len()])
        .max()
        .unwrap_or(5);
    println!();
    println!("==> summary");
    println!(
        "| {:<name_width$} | result | passed | failed | time (s) |",
        "suite"
    );
    println!(
        "|{}|--------|-------:|-------:|---------:|",
        "-".repeat(name_width + 2)
    );
    for outcome in outcomes {
        println!(
            "| {:<name_width$} | {:<6} | {:>6} | {:>6} | {:>8.1} |",
            outcome.name,
            outcome.status.word(),
            outcome.passed,
            outcome.failed,
            outcome.seconds
        );
    }
    for outcome in outcomes {
        if let Status::Error(reason) = &outcome.status {
            println!("{}: could not run to a verdict: {reason}", outcome.name);
        }
    }
    let passed: u64 = outcomes.iter().map(|outcome| outcome.passed).sum();
    let failed: u64 = outcomes.iter().map(|outcome| outcome.failed).sum();
    let any_bad = outcomes
        .iter()
        .any(|outcome| !matches!(outcome.status, Status::Passed));
    println!("total wall time: {:.1} s", wall.as_secs_f64());
    println!("{passed} passed, {failed} failed");
    any_bad || failed > 0
}

/// Only the last `test result:` line of each test binary counts: a test that runs a child test
/// process may print the child's own result line inside its failure report.
fn cargo_test_counts(lines: &[String]) -> Option<(u64, u64)> {
    let mut totals: Option<(u64, u64)> = None;
    let mut current: Option<(u64, u64)> = None;
    let mut add = |section: Option<(u64, u64)>| {
        if let Some((passed, failed)) = section {
            let (total_passed, total_failed) = totals.get_or_insert((0, 0));
            *total_passed += passed;
            *total_failed += failed;
        }
    };
    for line in lines {
        let line = line.trim_start();
        if line.starts_with("Running ") || line.starts_with("Doc-tests ") {
            add(current.take());
        } else if let Some(rest) = line.strip_prefix("test result:") {
            current = Some((
                number_before(rest, "passed").unwrap_or(0),
                number_before(rest, "failed").unwrap_or(0),
            ));
        }
    }
    add(current);
    totals
}

fn pytest_counts(lines: &[String]) -> Option<(u64, u64)> {
    lines.iter().rev().find_map(|line| {
        let line = line.trim().trim_matches('=').trim();
        if !line.contains(" in ") {
            return None;
        }
        let passed = number_before(line, "passed");
        let failed = number_before(line, "failed");
        let errors = number_before(line, "error").or_else(|| number_before(line, "errors"));
        if passed.is_none() && failed.is_none() && errors.is_none() {
            return None;
        }
        Some((
            passed.unwrap_or(0),
            failed.unwrap_or(0) + errors.unwrap_or(0),
        ))
    })
}

fn node_tap_counts(lines: &[String]) -> Option<(u64, u64)> {
    let last = |prefix: &str| {
        lines.iter().rev().find_map(|line| {
            line.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.trim().parse::<u64>().ok())
        })
    };
    let passed = last("# pass ")?;
    let failed = last("# fail ")?;
    let cancelled = last("# cancelled ").unwrap_or(0);
    Some((passed, failed + cancelled))
}

fn vitest_counts(lines: &[String]) -> Option<(u64, u64)> {
    lines.iter().rev().find_map(|line| {
        let line = strip_ansi(line);
        let rest = line.trim().strip_prefix("Tests")?;
        let passed = number_before(rest, "passed");
        let failed = number_before(rest, "failed");
        (passed.is_some() || failed.is_some()).then(|| (passed.unwrap_or(0), failed.unwrap_or(0)))
    })
}

fn plain_line_counts(lines: &[String]) -> Option<(u64, u64)> {
    lines.iter().rev().find_map(|line| {
        let (passed, failed) = line.trim().split_once(" passed, ")?;
        let failed = failed.strip_suffix(" failed")?;
        Some((passed.parse().ok()?, failed.parse().ok()?))
    })
}

/// Terminal colour codes (ESC [ … letter) removed, for tools that colour even into a pipe.
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        if character == '\u{1b}' {
            for code in characters.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(character);
        }
    }
    plain
}

/// The number written right before `word` ("40 passed"), reading words as runs of letters/digits.
fn number_before(text: &str, word: &str) -> Option<u64> {
    let tokens: Vec<&str> = text
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|token| !token.is_empty())
        .collect();
    tokens
        .windows(2)
        .find(|pair| pair[1] == word)
        .and_then(|pair| pair[0].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    #[test]
    fn cargo_test_lines_are_summed_once_per_binary() {
        let output = lines(
            "     Running unittests src/lib.rs (target/debug/deps/core-1)\n\
             running 2 tests\n\
             test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
             \x20    Running tests/keychain.rs (target/debug/deps/keychain-2)\n\
             child output:\n\
             test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 10 filtered out\n\
             test result: FAILED. 5 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.20s\n\
             \x20  Doc-tests keyward_core\n\
             test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.20s\n",
        );
        assert_eq!(cargo_test_counts(&output), Some((8, 3)));
        assert_eq!(cargo_test_counts(&lines("error: could not compile")), None);
    }

    #[test]
    fn pytest_closing_line_counts_errors_as_failures() {
        let output = lines(
            "tests/a.py::test_x PASSED\n\
             ========= 3 failed, 40 passed, 1 skipped, 2 errors in 2.10s =========\n",
        );
        assert_eq!(pytest_counts(&output), Some((40, 5)));
        assert_eq!(
            pytest_counts(&lines("============ 12 passed in 0.50s ============")),
            Some((12, 0))
        );
        assert_eq!(pytest_counts(&lines("no tests ran in 0.01s")), None);
    }

    #[test]
    fn node_tap_uses_the_last_summary() {
        let output = lines("# tests 9\n# suites 2\n# pass 7\n# fail 2\n# cancelled 0\n");
        assert_eq!(node_tap_counts(&output), Some((7, 2)));
        assert_eq!(node_tap_counts(&lines("ok 1 - x")), None);
    }

    #[test]
    fn vitest_and_plain_lines_are_read() {
        let output = lines(
            "\u{1b}[2m      Tests \u{1b}[22m \u{1b}[1m\u{1b}[31m2 failed\u{1b}[39m | 67 passed (69)",
        );
        assert_eq!(vitest_counts(&output), Some((67, 2)));
        assert_eq!(
            vitest_counts(&lines("      Tests  69 passed (69)")),
            Some((69, 0))
        );
        assert_eq!(vitest_counts(&lines("Test Files  11 passed (11)")), None);
        assert_eq!(
            plain_line_counts(&lines("screens\n27 passed, 0 failed")),
            Some((27, 0))
        );
        assert_eq!(
            plain_line_counts(&lines("3 passed, 1 failed\n")),
            Some((3, 1))
        );
        assert_eq!(plain_line_counts(&lines("all good")), None);
    }

    #[test]
    fn a_suite_that_exits_badly_without_failures_is_an_error() {
        use std::os::unix::process::ExitStatusExt;
        let captured = Captured {
            status: std::process::ExitStatus::from_raw(1 << 8),
            lines: lines("test result: ok. 4 passed; 0 failed; 0 ignored;"),
        };
        let outcome = Outcome::from_run("rust", Counting::CargoTest, &captured);
        assert!(matches!(outcome.status, Status::Error(_)));
        assert_eq!((outcome.passed, outcome.failed), (4, 1));
    }
}
