//! openrouter-emulator: a local OpenRouter-compatible key-management API (see README.md).
//! [`Emulator::start`] runs it in-process on 127.0.0.1; the binary wraps the same thing.

mod api;
mod app;
mod body_faults;
mod control;
mod faults;
mod issued;
mod models;
mod persist;
mod quirks;
mod seed;
mod server;
mod state;
mod traffic;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::faults::FaultState;
use crate::persist::Persister;
use crate::state::State;

pub use crate::seed::RESEARCH_WORKSPACE_ID;
pub use crate::state::{ACCOUNT_USER_ID, DEFAULT_WORKSPACE_ID};
pub use crate::traffic::TrafficConfig;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot use the state file {}: {source}", path.display())]
    StateFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// How to start an [`Emulator`]. `Default`: a random management key, an ephemeral port, no demo
/// keys, no state file, no latency, no traffic.
#[derive(Clone, Default)]
pub struct EmulatorConfig {
    /// The management key to accept; `None` generates a random `sk-or-v1-…` key.
    pub management_key: Option<String>,
    /// 0 picks a free port.
    pub port: u16,
    /// Demo keys to seed when the state is empty.
    pub seed_demo: usize,
    /// RNG seed of the demo keys (random if `None`).
    pub seed: Option<u64>,
    /// Load the state from here and write it back after every change.
    pub state_file: Option<PathBuf>,
    /// Delay of every API response (unless a fault configuration sets its own).
    pub latency: Option<Duration>,
    /// Start the traffic simulator with this configuration.
    pub traffic: Option<TrafficConfig>,
}

impl fmt::Debug for EmulatorConfig {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EmulatorConfig")
            .field(
                "management_key",
                &self.management_key.as_ref().map(|_| "[redacted]"),
            )
            .field("port", &self.port)
            .field("seed_demo", &self.seed_demo)
            .field("seed", &self.seed)
            .field("state_file", &self.state_file)
            .field("latency", &self.latency)
            .field("traffic", &self.traffic)
            .finish()
    }
}

impl EmulatorConfig {
    pub fn management_key(mut self, key: impl Into<String>) -> Self {
        self.management_key = Some(key.into());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn seed_demo(mut self, count: usize) -> Self {
        self.seed_demo = count;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Starts the traffic simulator with its defaults.
    pub fn traffic(mut self, enabled: bool) -> Self {
        self.traffic = enabled.then(TrafficConfig::enabled_with_defaults);
        self
    }

    pub fn traffic_config(mut self, config: TrafficConfig) -> Self {
        self.traffic = Some(config);
        self
    }
}

/// A running emulator on 127.0.0.1. Stops on [`Emulator::shutdown`] or when dropped.
pub struct Emulator {
    address: SocketAddr,
    management_key: String,
    base_url: String,
    control_url: String,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Emulator")
            .field("address", &self.address)
            .field("management_key", &"[redacted]")
            .finish()
    }
}

impl Emulator {
    /// Binds 127.0.0.1:`port` and serves until shut down. Must run inside a tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        if let Some(traffic) = &config.traffic {
            traffic.validate().map_err(EmulatorError::InvalidConfig)?;
        }
        if config.seed_demo > control::MAX_SEED_COUNT {
            return Err(EmulatorError::InvalidConfig(format!(
                "seed_demo must be at most {}",
                control::MAX_SEED_COUNT
            )));
        }
        let management_key = match config.management_key {
            Some(key) if key.trim().is_empty() || key.chars().any(char::is_whitespace) => {
                return Err(EmulatorError::InvalidConfig(
                    "the management key must be non-empty and contain no spaces".to_owned(),
                ));
            }
            Some(key) => key,
            None => state::new_secret(&mut rand::rng()),
        };
        let (mut state, persister) = match &config.state_file {
            Some(path) => {
                let loaded = Persister::load(path)?;
                (
                    loaded.unwrap_or_else(State::new),
                    Some(Persister::new(path.clone())),
                )
            }
            None => (State::new(), None),
        };
        if !state.add_management_key(&management_key) {
            return Err(EmulatorError::InvalidConfig(
                "the state file holds too many management keys".to_owned(),
            ));
        }
        if config.seed_demo > 0 && state.key_count() == 0 {
            let hashes = seed::seed_demo(&mut state, config.seed_demo, config.seed, None);
            // The demo account: a second workspace with some of the keys, members, budgets.
            seed::seed_account(&mut state, &hashes);
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                port: config.port,
                source,
            })?;

        let app = Arc::new(App::new(state, FaultState::new(config.latency), persister));
        app.issued.record(&management_key);
        // Write the state file once at start: it exists (with the seed) from now on, and a path
        // that cannot be written fails here rather than silently later.
        if let (Some(persister), Some(path)) = (&app.persister, &config.state_file) {
            persister.mark_dirty();
            persister
                .flush(app.state_mutex())
                .map_err(|source| EmulatorError::StateFile {
                    path: path.clone(),
                    source,
                })?;
        }
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(server::serve(
            listener,
            server::router(Arc::clone(&app)),
            stopped.clone(),
        ))];
        if app.persister.is_some() {
            tasks.push(tokio::spawn(Persister::run(Arc::clone(&app), stopped)));
        }
        if let Some(traffic) = config.traffic {
            traffic::configure(&app, traffic);
        }
        tracing::info!(%address, "openrouter emulator listening");
        Ok(Emulator {
            address,
            base_url: format!("http://{address}/api/v1"),
            control_url: format!("http://{address}/_emulator"),
            management_key,
            app,
            stop,
            tasks,
        })
    }

    /// `http://127.0.0.1:PORT/api/v1`
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/_emulator`
    pub fn control_url(&self) -> &str {
        &self.control_url
    }

    pub fn management_key(&self) -> &str {
        &self.management_key
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops serving, closes every connection and writes the state file one last time.
    pub async fn shutdown(mut self) {
        self.stop_everything();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
        self.final_flush();
    }

    fn stop_everything(&self) {
        traffic::stop(&self.app);
        let _ = self.stop.send(true);
    }

    fn final_flush(&self) {
        if let Some(persister) = &self.app.persister
            && let Err(error) = persister.flush(self.app.state_mutex())
        {
            tracing::warn!(%error, "could not write the state file");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_everything();
        for task in &self.tasks {
            task.abort();
        }
        self.final_flush();
    }
}
