//! The emulator binary as a child process: started on a free port, its first stdout line read as
//! JSON for the URLs, and killed when dropped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;

use anyhow::{Context, bail};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Endpoints {
    pub base_url: String,
    pub control_url: String,
    pub management_key: String,
}

pub struct EmulatorProcess {
    child: Child,
    pub endpoints: Endpoints,
}

impl EmulatorProcess {
    /// Starts `binary --port 0 --management-key KEY`; its stderr goes to `log`.
    pub fn start(binary: &Path, management_key: &str, log: &Path) -> anyhow::Result<Self> {
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(binary)
            .args(["--port", "0", "--management-key", management_key])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            bail!("the emulator's stdout was not captured");
        };
        let mut reader = BufReader::new(stdout);
        let mut first_line = String::new();
        let read = reader.read_line(&mut first_line);
        let endpoints = match read
            .context("reading the emulator's first line")
            .and_then(|_| {
                serde_json::from_str::<Endpoints>(first_line.trim()).with_context(|| {
                    format!(
                        "the emulator's first line is not its JSON endpoints: {first_line:?} (log: {})",
                        log.display()
                    )
                })
            }) {
            Ok(endpoints) => endpoints,
            Err(error) => {
                // Best effort: the error above is what matters.
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
        };
        // Keep draining stdout so the emulator never blocks on a full pipe.
        thread::spawn(move || {
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        Ok(Self { child, endpoints })
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        // The process may have exited already; there is nothing more to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
