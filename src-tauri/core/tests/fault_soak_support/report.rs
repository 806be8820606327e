//! The soak's counts: per operation and outcome, the error kinds of reported failures with one
//! message of each (so a reader sees the errors are clear), the faults the emulator injected, and
//! the table printed at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Ended in the requested state (retries included).
    Converged,
    /// Failed after the client's retries, with an error saying why.
    Reported,
    /// Refused before or by the server for a reason the soak's model explains (a 404 on a key a
    /// doubtful delete removed, rotating a key that turned out disabled, a rotation conflict).
    Refused,
    /// A rotation the soak (acting as the person) rolled back after retrying.
    RolledBack,
    /// A rotation left failed and reported, finished only at the end with the faults off.
    Unfinished,
}

pub const OUTCOMES: [(Outcome, &str); 5] = [
    (Outcome::Converged, "converged"),
    (Outcome::Reported, "reported"),
    (Outcome::Refused, "refused"),
    (Outcome::RolledBack, "rolled back"),
    (Outcome::Unfinished, "unfinished"),
];

#[derive(Default)]
pub struct Tally {
    counts: BTreeMap<(&'static str, Outcome), u64>,
    /// (operation, error kind) → count and the first message.
    errors: BTreeMap<(&'static str, String), (u64, String)>,
    /// Other figures worth a line (`person retries`, `doubtful creates that landed`, …).
    pub notes: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn count(&mut self, op: &'static str, outcome: Outcome) {
        *self.counts.entry((op, outcome)).or_default() += 1;
    }

    /// A failure reported to the caller: counted, and its message kept once per kind.
    pub fn error(&mut self, op: &'static str, outcome: Outcome, kind: &str, message: &str) {
        self.count(op, outcome);
        let entry = self
            .errors
            .entry((op, kind.to_owned()))
            .or_insert_with(|| (0, message.to_owned()));
        entry.0 += 1;
    }

    pub fn note(&mut self, what: &'static str, by: u64) {
        *self.notes.entry(what).or_default() += by;
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn table(&self, faults: &Value) -> String {
        let mut ops: Vec<&'static str> = self.counts.keys().map(|(op, _)| *op).collect();
        ops.dedup();
        let mut out = String::new();
        let _ = write!(out, "{:<16}", "operation");
        for (_, name) in OUTCOMES {
            let _ = write!(out, "{name:>12}");
        }
        let _ = writeln!(out, "{:>10}", "total");
        let mut totals = [0u64; OUTCOMES.len()];
        for op in ops {
            let _ = write!(out, "{op:<16}");
            let mut row = 0;
            for (index, (outcome, _)) in OUTCOMES.iter().enumerate() {
                let n = self.counts.get(&(op, *outcome)).copied().unwrap_or(0);
                totals[index] += n;
                row += n;
                let _ = write!(out, "{n:>12}");
            }
            let _ = writeln!(out, "{row:>10}");
        }
        let _ = write!(out, "{:<16}", "all");
        for n in totals {
            let _ = write!(out, "{n:>12}");
        }
        let _ = writeln!(out, "{:>10}", totals.iter().sum::<u64>());
        if !self.errors.is_empty() {
            let _ = writeln!(out, "\nreported / refused, by error kind (first message):");
            for ((op, kind), (n, message)) in &self.errors {
                let _ = writeln!(out, "  {op:<14} {kind:<16} {n:>6}  {message}");
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for (what, n) in &self.notes {
                let _ = writeln!(out, "{what}: {n}");
            }
        }
        let requests = faults["requests"].as_u64().unwrap_or(0);
        let injected = faults["injected"].as_object().cloned().unwrap_or_default();
        let faulted: u64 = injected.values().filter_map(Value::as_u64).sum();
        let _ = writeln!(
            out,
            "\nfaults injected: {faulted} of {requests} API requests ({:.1} %)",
            100.0 * faulted as f64 / requests.max(1) as f64
        );
        for (kind, n) in &injected {
            let _ = writeln!(out, "  {kind:<14} {:>8}", n.as_u64().unwrap_or(0));
        }
        out
    }
}
