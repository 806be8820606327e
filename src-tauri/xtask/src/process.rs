//! Running child processes: echo the command, stream its output to the console as it arrives (CI
//! logs are read by people) and keep a copy of every line so the caller can read the counts.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, bail};

pub struct Captured {
    pub status: ExitStatus,
    pub lines: Vec<String>,
}

/// Runs `command`, printing stdout and stderr line by line while it runs, and returns every line.
pub fn run_streamed(command: &mut Command) -> anyhow::Result<Captured> {
    println!("$ {}", describe(command));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{}`", describe(command)))?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(spawn_tee(stdout, Arc::clone(&lines)));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(spawn_tee(stderr, Arc::clone(&lines)));
    }
    let status = child.wait().context("waiting for a child process")?;
    for reader in readers {
        // A reader only ends when its pipe closes; a panic there is a bug in this file.
        if reader.join().is_err() {
            bail!("an output reader thread panicked");
        }
    }
    let lines = match lines.lock() {
        Ok(mut guard) => std::mem::take(&mut *guard),
        Err(poison) => std::mem::take(&mut *poison.into_inner()),
    };
    Ok(Captured { status, lines })
}

/// Runs `command` with its output going straight to the console; fails unless it exits 0.
pub fn run_checked(command: &mut Command) -> anyhow::Result<()> {
    println!("$ {}", describe(command));
    let status = command
        .status()
        .with_context(|| format!("starting `{}`", describe(command)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(command));
    }
    Ok(())
}

/// Runs `command` quietly and says whether it exited 0 (for probes such as `dpkg-query`).
pub fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn spawn_tee<R: Read + Send + 'static>(
    stream: R,
    sink: Arc<Mutex<Vec<String>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buffer);
                    let line = line.trim_end_matches(['\n', '\r']).to_owned();
                    {
                        let mut console = std::io::stdout().lock();
                        // The console going away must not stop us from collecting the counts.
                        let _ = writeln!(console, "{line}");
                    }
                    match sink.lock() {
                        Ok(mut lines) => lines.push(line),
                        Err(poison) => poison.into_inner().push(line),
                    }
                }
            }
        }
    })
}

/// The command as a person would type it (program and arguments; the environment is left out).
pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        if arg.contains([' ', '"', '\'', '$', '\n']) {
            text.push_str(&format!(" '{}'", arg.replace('\'', r"'\''")));
        } else {
            text.push(' ');
            text.push_str(&arg);
        }
    }
    text
}
