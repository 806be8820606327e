//! Start-up timing: how long after the process started the window first showed a key table with
//! rows (the UI tells the shell after the frame was painted: `startup_painted`). Logged once, kept for
//! diagnostics, and read by `cargo xtask bench startup`, which also times the whole launch from its own
//! spawn of the process (exec and dynamic linking included, which no in-process clock can see).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The log message the benchmark looks for; its fields are `since_start_ms` and `rows`.
pub const FIRST_PAINT_MESSAGE: &str = "first key table painted";

/// The first table painted: when (after [`StartupClock::started`]) and with how many keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPaint {
    pub since_start: Duration,
    pub rows: u32,
}

/// When the process started (the first thing `main` does) and when the first table was painted.
#[derive(Debug)]
pub struct StartupClock {
    started: Instant,
    first_paint: OnceLock<FirstPaint>,
}

impl StartupClock {
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            first_paint: OnceLock::new(),
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Records a painted table at `now`. Only the first one of the process counts (a window opened
    /// again from the tray paints again, but that is not a start): `Some` for it, `None` after.
    pub fn record_paint(&self, rows: u32, now: Instant) -> Option<FirstPaint> {
        let paint = FirstPaint {
            since_start: now.saturating_duration_since(self.started),
            rows,
        };
        let mut recorded = false;
        self.first_paint.get_or_init(|| {
            recorded = true;
            paint
        });
        recorded.then_some(paint)
    }

    pub fn first_paint(&self) -> Option<FirstPaint> {
        self.first_paint.get().copied()
    }
}

static PROCESS: OnceLock<StartupClock> = OnceLock::new();

/// Marks the start of the process; call it first thing in `main`. Later calls change nothing.
pub fn process_started() {
    PROCESS.get_or_init(|| StartupClock::new(Instant::now()));
}

/// The process's clock (started now if [`process_started`] was never called).
pub fn process_clock() -> &'static StartupClock {
    PROCESS.get_or_init(|| StartupClock::new(Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_paint_counts() {
        let started = Instant::now();
        let clock = StartupClock::new(started);
        assert_eq!(clock.first_paint(), None);
        let first = clock.record_paint(1_000, started + Duration::from_millis(420));
        assert_eq!(
            first,
            Some(FirstPaint {
                since_start: Duration::from_millis(420),
                rows: 1_000
            })
        );
        assert_eq!(
            clock.record_paint(5, started + Duration::from_secs(9)),
            None
        );
        assert_eq!(clock.first_paint(), first);
    }

    #[test]
    fn a_paint_before_the_start_counts_as_zero() {
        let now = Instant::now();
        let clock = StartupClock::new(now + Duration::from_secs(1));
        let paint = clock.record_paint(1, now);
        assert_eq!(paint.map(|p| p.since_start), Some(Duration::ZERO));
    }

    #[test]
    fn the_process_clock_keeps_its_first_start() {
        process_started();
        let started = process_clock().started();
        process_started();
        assert_eq!(process_clock().started(), started);
    }
}
