//! The sandbox: a profile (`is_sandbox`) on an embedded OpenRouter emulator with demo keys, so a
//! newcomer can try everything offline. The emulator picks a new port and management key on every
//! start, so its key lives only in memory (never in the keychain) and the profile's base URL is
//! rewritten at each start. A sandbox client is only ever built for the emulator this process runs on
//! the loopback interface, with that emulator's key: it can't reach a real account.
//!
//! The emulator is embedded only with the `sandbox` cargo feature (on by default; the desktop app
//! needs it, the CLI does not); without it the sandbox profile answers that this build has none.

use std::path::PathBuf;

#[cfg(feature = "sandbox")]
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::SecretString;

use super::Keyward;
use crate::Error;
use crate::store::{NewProfile, Profile, ProfileChanges, Store};

/// The sandbox profile's name (another is chosen if a real profile already has it).
pub const SANDBOX_PROFILE_NAME: &str = "Sandbox";

/// How the sandbox's emulator starts.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Demo keys seeded into an empty emulator.
    pub demo_keys: usize,
    /// Fixed demo data (tests); `None` = different each time.
    pub seed: Option<u64>,
    /// Keeps the sandbox's keys across restarts (no secrets are written: keys are known by hash).
    pub state_file: Option<PathBuf>,
    /// Simulated traffic, so usage moves while the sandbox is open.
    pub traffic: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            demo_keys: 40,
            seed: None,
            state_file: None,
            traffic: false,
        }
    }
}

pub(super) struct RunningSandbox {
    emulator: Emulator,
    key: SecretString,
    profile_id: String,
}

impl Keyward {
    /// Starts the sandbox (if it is not running), makes it the active profile and returns it.
    pub async fn sandbox_open(&self) -> Result<Profile, Error> {
        let profile_id = self.sandbox_running().await?;
        let store = self.inner.store();
        store.set_active_profile(Some(&profile_id))?;
        store.require_profile(&profile_id)
    }

    /// Whether any profile other than the sandbox exists, i.e. a management key is stored: the
    /// launcher opens the sandbox for people who have none yet.
    pub fn has_real_profile(&self) -> Result<bool, Error> {
        Ok(self
            .inner
            .store()
            .profiles()?
            .iter()
            .any(|profile| !profile.is_sandbox))
    }

    /// The control URL (`http://127.0.0.1:PORT/_emulator`) of the running sandbox, if any: for
    /// tests and demo controls (faults, clock, traffic).
    pub async fn sandbox_control_url(&self) -> Option<String> {
        self.inner
            .sandbox
            .lock()
            .await
            .as_ref()
            .map(|running| running.emulator.control_url().to_owned())
    }

    /// Stops the sandbox's emulator (it starts again when the sandbox is next used).
    pub async fn sandbox_stop(&self) {
        let running = self.inner.sandbox.lock().await.take();
        if let Some(running) = running {
            // A retry would only start the emulator again.
            self.cancel_recovery(&running.profile_id);
            self.no_retry_pending(&running.profile_id);
            self.forget_client(&running.profile_id);
            running.emulator.shutdown().await;
            tracing::info!("sandbox stopped");
        }
    }

    /// The running sandbox's base URL and key, starting it first if needed.
    pub(super) async fn sandbox_endpoint(&self) -> Result<(String, SecretString), Error> {
        self.sandbox_running().await?;
        let guard = self.inner.sandbox.lock().await;
        let running = guard.as_ref().ok_or_else(|| Error::Internal {
            message: "the sandbox stopped while it was being opened; open it again".to_owned(),
            source: None,
        })?;
        Ok((running.emulator.base_url().to_owned(), running.key.clone()))
    }

    /// Starts the emulator if needed and returns the sandbox profile's id.
    async fn sandbox_running(&self) -> Result<String, Error> {
        let mut guard = self.inner.sandbox.lock().await;
        if let Some(running) = guard.as_ref() {
            return Ok(running.profile_id.clone());
        }
        let emulator = start_emulator(&self.inner.sandbox_config).await?;
        if !emulator.address().ip().is_loopback() {
            return Err(Error::Internal {
                message:
                    "the sandbox's emulator is not on the loopback interface; refusing to use it"
                        .to_owned(),
                source: None,
            });
        }
        let profile_id = sandbox_profile(&self.inner.store(), emulator.base_url())?;
        self.forget_client(&profile_id);
        tracing::info!(profile = %profile_id, base_url = emulator.base_url(), "sandbox started");
        *guard = Some(RunningSandbox {
            key: SecretString::from(emulator.management_key().to_owned()),
            emulator,
            profile_id: profile_id.clone(),
        });
        Ok(profile_id)
    }
}

/// Starts the sandbox's emulator; with a state file that can't be used, set it aside and start with
/// fresh demo data rather than never starting again.
#[cfg(feature = "sandbox")]
async fn start_emulator(config: &SandboxConfig) -> Result<Emulator, Error> {
    let mut emulator_config = EmulatorConfig::default()
        .seed_demo(config.demo_keys)
        .traffic(config.traffic);
    if let Some(seed) = config.seed {
        emulator_config = emulator_config.seed(seed);
    }
    if let Some(path) = &config.state_file {
        emulator_config = emulator_config.state_file(path.clone());
    }
    let could_not_start = |err: openrouter_emulator::EmulatorError| Error::Internal {
        message: format!("the sandbox could not start: {err}"),
        source: Some(err.into()),
    };
    match Emulator::start(emulator_config.clone()).await {
        Ok(emulator) => Ok(emulator),
        // Every start adds a management key to the state file; once it is full (or unreadable),
        // set it aside.
        Err(err) if config.state_file.is_some() => {
            tracing::warn!(error = %err, "the sandbox's state could not be used; starting afresh");
            if let Some(path) = &config.state_file {
                let aside = path.with_extension("old.json");
                if let Err(rename) = std::fs::rename(path, &aside) {
                    tracing::warn!(error = %rename, "could not set the sandbox's state aside");
                }
            }
            Emulator::start(emulator_config)
                .await
                .map_err(could_not_start)
        }
        Err(err) => Err(could_not_start(err)),
    }
}

/// Without the `sandbox` feature there is no emulator to start.
#[cfg(not(feature = "sandbox"))]
async fn start_emulator(_config: &SandboxConfig) -> Result<Emulator, Error> {
    Err(Error::invalid(
        "profile",
        "is the sandbox, which this build of Keyward does not include (only the desktop app runs \
         it); choose another profile",
    ))
}

/// Without the `sandbox` feature no emulator can exist: an empty stand-in with the methods used here.
#[cfg(not(feature = "sandbox"))]
enum Emulator {}

#[cfg(not(feature = "sandbox"))]
impl Emulator {
    fn address(&self) -> std::net::SocketAddr {
        match *self {}
    }
    fn base_url(&self) -> &str {
        match *self {}
    }
    fn control_url(&self) -> &str {
        match *self {}
    }
    fn management_key(&self) -> &str {
        match *self {}
    }
    async fn shutdown(self) {
        match self {}
    }
}

/// The sandbox profile pointed at `base_url`, created on first use.
fn sandbox_profile(store: &Store, base_url: &str) -> Result<String, Error> {
    if let Some(existing) = store
        .profiles()?
        .into_iter()
        .find(|profile| profile.is_sandbox)
    {
        store.update_profile(
            &existing.id,
            &ProfileChanges {
                base_url: Some(base_url.to_owned()),
                ..ProfileChanges::default()
            },
        )?;
        return Ok(existing.id);
    }
    let names = std::iter::once(SANDBOX_PROFILE_NAME.to_owned())
        .chain((2..10).map(|n| format!("{SANDBOX_PROFILE_NAME} {n}")));
    let mut last_error = None;
    for name in names {
        match store.create_profile(&NewProfile {
            name,
            base_url: Some(base_url.to_owned()),
            workspace_id: None,
            is_sandbox: true,
        }) {
            Ok(profile) => return Ok(profile.id),
            Err(err @ Error::ProfileNameTaken { .. }) => last_error = Some(err),
            Err(err) => return Err(err),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::Internal {
        message: "no name left for the sandbox profile".to_owned(),
        source: None,
    }))
}
