//! The benchmarks `cargo xtask bench` builds and runs (printed, not tests): `list`, Keyward's
//! `list_all` against the official Python SDK (list.rs); `idle`, the app at rest beside a
//! minimal Tauri app (idle.rs, inside tests/session.sh); `startup`, its cold start, package size
//! and memory beside the same app (startup.rs). They drive the emulator started here.

mod idle;
mod list;
mod procs;
mod revoke;
mod startup;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};
use serde::Deserialize;
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "bench-runner",
    about = "Keyward's benchmarks (run by cargo xtask bench)"
)]
struct Cli {
    #[command(subcommand)]
    which: Which,
}

#[derive(Subcommand)]
enum Which {
    /// Keyward's list_all against the official Python SDK over 10,000 keys.
    List(list::Args),
    /// Keyward's idle CPU and memory with 1,000 keys and its window closed, beside a minimal Tauri app.
    Idle(idle::Args),
    /// Keyward's emergency revoke (disable, then delete 1,000 keys) against the Python SDK in a loop.
    Revoke(revoke::Args),
    /// Keyward's cold start, .deb size and memory with its window open, beside a minimal Tauri app.
    Startup(startup::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().which {
        Which::List(args) => list::run(&args),
        Which::Idle(args) => idle::run(&args),
        Which::Revoke(args) => revoke::run(&args),
        Which::Startup(args) => startup::run(&args),
    }
}

#[derive(Deserialize, Default)]
struct Endpoints {
    base_url: String,
    control_url: String,
    management_key: String,
}

/// The emulator on a free port; its first stdout line is its JSON endpoints. Killed when dropped.
struct Emulator {
    child: Child,
    endpoints: Endpoints,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Emulator {
    fn start(binary: &Path, log: &Path) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut child = Command::new(binary)
            .args([
                "--port",
                "0",
                "--management-key",
                "sk-or-v1-keyward-bench-management",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).with_context(|| format!("creating {}", log.display()))?)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut reader = BufReader::new(child.stdout.take().context("the emulator's stdout")?);
        let mut line = String::new();
        let endpoints = reader
            .read_line(&mut line)
            .map_err(anyhow::Error::from)
            .and_then(|_| {
                serde_json::from_str::<Endpoints>(&line)
                    .with_context(|| format!("the emulator's first line: {line:?}"))
            });
        // Keep draining stdout so the emulator never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        // Dropping it on an error kills the emulator.
        let mut emulator = Self {
            child,
            endpoints: Endpoints::default(),
            http,
            runtime,
        };
        emulator.endpoints = endpoints?;
        println!("emulator at {}", emulator.endpoints.base_url);
        Ok(emulator)
    }

    /// A call to the emulator's `/_emulator` control API; the answer as JSON (`null` when empty).
    fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!(
            "{}/{path}",
            self.endpoints.control_url.trim_end_matches('/')
        );
        self.runtime.block_on(async {
            let mut request = self.http.request(method.clone(), &url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request
                .send()
                .await
                .with_context(|| format!("{method} {url}"))?;
            let status = response.status();
            let text = response.text().await?;
            ensure!(
                status.is_success(),
                "{method} {url} answered {status}: {text}"
            );
            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
        })
    }

    /// Empties the emulator, then seeds `count` keys.
    fn seed(&self, count: u64) -> anyhow::Result<()> {
        self.control(reqwest::Method::POST, "reset", Some(serde_json::json!({})))?;
        let body = serde_json::json!({ "count": count, "seed": 20_261_123u64 });
        let seeded = self.control(reqwest::Method::POST, "seed", Some(body))?;
        ensure!(
            seeded["created"] == count,
            "seeding answered {seeded} instead of created: {count}"
        );
        Ok(())
    }

    /// (method, path) of every API request since the log was last cleared.
    fn api_requests(&self) -> anyhow::Result<Vec<(String, String)>> {
        let log = self.control(reqwest::Method::GET, "requests", None)?;
        let requests = log["requests"]
            .as_array()
            .context("the request log has no requests array")?;
        let field =
            |request: &Value, name: &str| request[name].as_str().unwrap_or_default().to_owned();
        Ok(requests
            .iter()
            .map(|request| (field(request, "method"), field(request, "path")))
            .collect())
    }

    fn clear_requests(&self) -> anyhow::Result<()> {
        self.control(reqwest::Method::DELETE, "requests", None)
            .map(drop)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // It may have exited already; there is nothing more to do then.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
