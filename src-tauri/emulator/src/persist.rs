//! `--state FILE`: loading the emulator's state at start and writing it back atomically (temp file
//! + rename) after changes. A background task coalesces bursts of changes into one write.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::EmulatorError;
use crate::app::{App, lock};
use crate::state::{Snapshot, State};

/// Changes within this window after the first one are written together.
const COALESCE: Duration = Duration::from_millis(25);

#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    dirty: AtomicBool,
    notify: Notify,
    /// Serialises writers (the background task, shutdown and drop) on the temp file.
    writing: Mutex<()>,
}

impl Persister {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            dirty: AtomicBool::new(false),
            notify: Notify::new(),
            writing: Mutex::new(()),
        }
    }

    /// The state stored in `path`, or `None` when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Option<State>, EmulatorError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(EmulatorError::StateFile {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let snapshot: Snapshot =
            serde_json::from_slice(&bytes).map_err(|error| EmulatorError::StateFile {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
            })?;
        Ok(Some(State::from_snapshot(snapshot)))
    }

    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Writes the state if it changed since the last write.
    pub fn flush(&self, state: &Mutex<State>) -> std::io::Result<()> {
        let _writing = lock(&self.writing);
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let bytes = {
            let state = lock(state);
            serde_json::to_vec(&state.snapshot()).map_err(std::io::Error::other)
        };
        let result = bytes.and_then(|bytes| write_atomically(&self.path, &bytes));
        if result.is_err() {
            // Try again on the next change rather than losing this one.
            self.dirty.store(true, Ordering::SeqCst);
        }
        result
    }

    /// The background writer: runs until shutdown, then writes what is left.
    pub async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
        let mut pause = COALESCE;
        loop {
            let Some(persister) = app.persister.as_ref() else {
                return;
            };
            tokio::select! {
                () = persister.notify.notified() => {}
                _ = shutdown.wait_for(|stopped| *stopped) => break,
            }
            tokio::time::sleep(pause).await;
            let started = std::time::Instant::now();
            let worker = Arc::clone(&app);
            let written = tokio::task::spawn_blocking(move || {
                worker
                    .persister
                    .as_ref()
                    .map_or(Ok(()), |persister| persister.flush(worker.state_mutex()))
            })
            .await;
            // A big state (thousands of keys under simulated traffic) is written at most a third
            // of the time, so the disk and the state lock stay mostly free.
            pause = COALESCE.max(started.elapsed().saturating_mul(2));
            match written {
                Ok(Err(error)) => tracing::warn!(%error, "could not write the state file"),
                Err(error) => tracing::warn!(%error, "state writer failed"),
                Ok(Ok(())) => {}
            }
        }
        if let Some(persister) = app.persister.as_ref()
            && let Err(error) = persister.flush(app.state_mutex())
        {
            tracing::warn!(%error, "could not write the state file");
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut temp_name = path
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    temp_name.push(format!(".{}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
