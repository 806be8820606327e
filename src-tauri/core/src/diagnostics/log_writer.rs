//! The writers under the desktop app's log (the shell's `logging.rs` puts them around stderr and
//! tracing-appender's daily file): [`Redacting`] runs every line through [`crate::audit::redact`]
//! before it reaches the file or the terminal, and [`DailyCap`] bounds what one day's file can grow
//! to, so with the number of files kept the logs' total size is bounded (tracing-appender bounds the
//! count, not the size). `DailyCap` also creates each day's file 0600 before tracing-appender opens
//! it (tracing-appender would create it with the umask's mode; the directory is 0700 anyway).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

use crate::audit::redact;
use crate::private_fs::{PRIVATE_FILE_MODE, ensure_private_file, narrow_if_present};

/// The log files' name parts: `keyward.2026-12-07.log` (tracing-appender's daily naming).
pub const LOG_PREFIX: &str = "keyward";
pub const LOG_SUFFIX: &str = "log";
/// Daily files kept (today's and the 13 before): two weeks to look back on a problem.
pub const LOG_DAYS_KEPT: usize = 14;
/// One day's file stops growing at this size. A day of normal use at the `info` level is tens of KB
/// (a line per refresh, per change); 5 MiB is two orders of magnitude above that, and with
/// [`LOG_DAYS_KEPT`] files the logs never take more than 70 MiB, even if something logs in a loop.
pub const LOG_DAY_MAX_BYTES: u64 = 5 * 1024 * 1024;

/// The file tracing-appender writes on `date`.
pub fn log_file_name(date: NaiveDate) -> String {
    format!("{LOG_PREFIX}.{}.{LOG_SUFFIX}", date.format("%Y-%m-%d"))
}

/// Redacts every write (one formatted event per write for tracing's fmt layer, so a secret can't be
/// split across two writes).
pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = redact(&String::from_utf8_lossy(buf));
        self.0.write_all(text.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Drops writes once the current day's file holds [`DailyCap::max_bytes`] (after one line saying
/// so), until the date (UTC, like tracing-appender's rotation) changes.
pub struct DailyCap<W> {
    inner: W,
    dir: PathBuf,
    max_bytes: u64,
    today: fn() -> NaiveDate,
    day: Option<NaiveDate>,
    written: u64,
    noted: bool,
}

impl<W: Write> DailyCap<W> {
    /// `inner` writes the daily files in `dir`.
    pub fn new(inner: W, dir: &Path, max_bytes: u64) -> DailyCap<W> {
        DailyCap::with_clock(inner, dir, max_bytes, || Utc::now().date_naive())
    }

    /// With another clock (tests).
    pub fn with_clock(
        inner: W,
        dir: &Path,
        max_bytes: u64,
        today: fn() -> NaiveDate,
    ) -> DailyCap<W> {
        DailyCap {
            inner,
            dir: dir.to_path_buf(),
            max_bytes,
            today,
            day: None,
            written: 0,
            noted: false,
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }
}

/// Creates `dir`'s log file for `date` empty and 0600 unless it exists (then narrows it to 0600);
/// the writer appends to it. Errors are ignored: the log must never stop the app.
pub fn prepare_day_file(dir: &Path, date: NaiveDate) {
    let _ = ensure_private_file(&dir.join(log_file_name(date)));
}

impl<W: Write> Write for DailyCap<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let today = (self.today)();
        if self.day != Some(today) {
            // A new day (or the first write): count what an earlier run wrote to today's file.
            self.day = Some(today);
            prepare_day_file(&self.dir, today);
            self.written = std::fs::metadata(self.dir.join(log_file_name(today)))
                .map(|meta| meta.len())
                .unwrap_or(0);
            self.noted = false;
            // Should tracing-appender have rolled over (and created the file) before us.
            let written = self.write_capped(buf);
            let _ = narrow_if_present(&self.dir.join(log_file_name(today)), PRIVATE_FILE_MODE);
            return written;
        }
        self.write_capped(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> DailyCap<W> {
    fn write_capped(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.max_bytes {
            if !self.noted {
                self.noted = true;
                let note = format!(
                    "[today's log reached {} bytes; further lines are dropped until tomorrow (UTC)]\n",
                    self.max_bytes
                );
                self.inner.write_all(note.as_bytes())?;
                self.written += note.len() as u64;
            }
            return Ok(buf.len());
        }
        self.inner.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_is_redacted() {
        let secret = format!("sk-or-v1-{}", "cafe0123".repeat(8));
        let mut out = Redacting(Vec::new());
        writeln!(out, "WARN request failed: key {secret} refused").unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(
            text,
            "WARN request failed: key sk-or-v1-[redacted] refused\n"
        );
    }

    fn day_one() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    #[test]
    fn a_day_stops_growing_at_the_cap_counting_an_earlier_run() {
        let dir = tempfile::tempdir().unwrap();
        // An earlier run today wrote 60 bytes.
        std::fs::write(dir.path().join(log_file_name(day_one())), [b'x'; 60]).unwrap();
        let mut capped = DailyCap::with_clock(Vec::new(), dir.path(), 100, day_one);
        capped.write_all(&[b'a'; 30]).unwrap();
        capped.write_all(&[b'b'; 30]).unwrap();
        capped.write_all(&[b'c'; 30]).unwrap();
        let text = String::from_utf8(capped.inner.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                "{}[today's log reached 100 bytes; further lines are dropped until tomorrow (UTC)]\n",
                "a".repeat(30)
            )
        );
        assert_eq!(capped.max_bytes(), 100);
    }

    #[cfg(unix)]
    #[test]
    fn the_day_file_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let mut capped = DailyCap::with_clock(Vec::new(), dir.path(), 100, day_one);
        capped.write_all(b"line\n").unwrap();
        let path = dir.path().join(log_file_name(day_one()));
        assert_eq!(crate::private_fs::mode_of(&path).unwrap(), 0o600);
    }

    #[test]
    fn the_file_name_is_tracing_appenders_daily_name() {
        assert_eq!(log_file_name(day_one()), "keyward.2026-12-07.log");
    }
}
