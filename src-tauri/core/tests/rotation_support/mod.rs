//! Shared set-up of the `rotation_*` integration tests: a service (from `service_support`) with a
//! real profile on an emulator of the test's own, an old key with a known secret, an `.env` file
//! holding it, a rotation policy deploying to that file, hooks that inject faults or "crash" at a
//! named boundary, and checks of what the emulator, the keychain and the file hold.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod account;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use keyward_core::api::{ClientConfig, OpenRouterClient};
use keyward_core::deploy::DeployTarget;
use keyward_core::ipc::{
    ConnectivityEvent, CreateKeyArgs, KeysChangedEvent, PendingAction, PendingResolveArgs,
    ProfileAddArgs,
};
use keyward_core::rotation::{
    Attachment, HookPoint, RotationAction, RotationBatchArgs, RotationHooks, RotationPolicy,
    RotationStartArgs, RotationView,
};
use keyward_core::service::{EventSink, MemoryAccountLinks, ServiceConfig};
use openrouter_emulator::{Emulator, EmulatorConfig};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::service_support::{TestService, fast_client, start_with};

pub const VARIABLE: &str = "OPENROUTER_API_KEY";

/// Every `rotation_changed` event.
#[derive(Default)]
pub struct RotationEvents(pub Mutex<Vec<RotationView>>);

struct Sink(Arc<RotationEvents>);

impl EventSink for Sink {
    fn keys_changed(&self, _: KeysChangedEvent) {}
    fn connectivity(&self, _: ConnectivityEvent) {}
    fn rotation_changed(&self, view: RotationView) {
        self.0.0.lock().unwrap().push(view);
    }
}

pub struct Rig {
    pub t: TestService,
    pub emulator: Emulator,
    pub profile_id: String,
    pub old_hash: String,
    pub old_secret: String,
    pub env_path: PathBuf,
    pub events: Arc<RotationEvents>,
}

/// Retries in milliseconds; one attempt times out after 1 s (the timeout fault holds for longer).
pub fn tuning(config: &mut ClientConfig) {
    fast_client(config);
    config.request_timeout = Duration::from_secs(1);
}

pub fn configure(config: &mut ServiceConfig, events: &Arc<RotationEvents>) {
    config.events = Arc::new(Sink(Arc::clone(events)));
    config.client_tuning = Arc::new(tuning);
    config.recovery = None;
    config.rotation.drain_check_interval = Duration::from_secs(1);
}

/// A service with a profile on a fresh emulator, an old key `name` with limit 10 monthly + BYOK, an
/// `.env` file holding its secret, and a policy deploying to that file (quiet 0 s, grace 1 h).
pub async fn rig(test: &str, hooks: Option<Arc<dyn RotationHooks>>) -> Rig {
    rig_with(test, hooks, |_| {}).await
}

/// `rig`, with `adjust` changing the service's configuration last (e.g. its clock).
pub async fn rig_with(
    test: &str,
    hooks: Option<Arc<dyn RotationHooks>>,
    adjust: impl FnOnce(&mut ServiceConfig),
) -> Rig {
    let events = Arc::new(RotationEvents::default());
    let sink_events = Arc::clone(&events);
    let t = start_with(test, move |config, _| {
        configure(config, &sink_events);
        config.rotation.hooks = hooks;
        adjust(config);
    });
    let emulator = Emulator::start(EmulatorConfig::default()).await.unwrap();
    let profile_id = t
        .service
        .profile_add(ProfileAddArgs {
            name: "Work".into(),
            base_url: Some(emulator.base_url().to_owned()),
            workspace_id: None,
            management_key: SecretString::from(emulator.management_key().to_owned()),
        })
        .await
        .unwrap()
        .id;
    let (old_hash, old_secret) = create_key(&t, &profile_id, "prod-api").await;
    let env_path = t.dir.path().join("app.env");
    std::fs::write(
        &env_path,
        format!("OTHER=1\n{VARIABLE}={old_secret}\n# end\n"),
    )
    .unwrap();
    let rig = Rig {
        t,
        emulator,
        profile_id,
        old_hash,
        old_secret,
        env_path,
        events,
    };
    rig.set_policy(|_| {});
    rig
}

/// Creates a key through the service and resolves its pending secret (so the keychain holds only
/// what rotations put there). Returns its hash and secret.
pub async fn create_key(t: &TestService, profile_id: &str, name: &str) -> (String, String) {
    let created = t
        .service
        .key_create(CreateKeyArgs {
            profile_id: profile_id.to_owned(),
            name: name.into(),
            limit: Some(10.0),
            limit_reset: Some(keyward_core::api::LimitReset::Monthly),
            include_byok_in_limit: true,
            expires_at: None,
            workspace_id: None,
        })
        .await
        .unwrap();
    t.service
        .pending_resolve(PendingResolveArgs {
            profile_id: profile_id.to_owned(),
            key_hash: created.key.key.hash.clone(),
            action: PendingAction::Forget,
        })
        .await
        .unwrap();
    (created.key.key.hash, created.secret)
}

impl Rig {
    pub fn control(&self) -> String {
        self.emulator.control_url().to_owned()
    }

    pub fn env_target(&self) -> DeployTarget {
        DeployTarget::EnvFile {
            path: self.env_path.display().to_string(),
            variable: VARIABLE.into(),
        }
    }

    /// Stores the old key's policy: the `.env` target, quiet 0 s, grace 1 h, then `adjust`.
    pub fn set_policy(&self, adjust: impl FnOnce(&mut RotationPolicy)) {
        let mut policy = RotationPolicy::default_for(&self.profile_id, &self.old_hash);
        policy.targets = vec![self.env_target()];
        policy.quiet_period_secs = 0;
        policy.grace_period_secs = 3600;
        adjust(&mut policy);
        self.t.service.set_rotation_policy(policy).unwrap();
    }

    /// Every key the emulator holds (any workspace, disabled and expired too).
    pub async fn emulator_keys(&self) -> Vec<Value> {
        self.t.get(&self.control(), "/keys").await["data"]
            .as_array()
            .unwrap()
            .clone()
    }

    pub async fn emulator_key(&self, hash: &str) -> Option<Value> {
        self.emulator_keys()
            .await
            .into_iter()
            .find(|key| key["hash"] == hash)
    }

    pub async fn faults(&self, body: Value) {
        self.t.post(&self.control(), "/faults", body).await;
    }

    pub async fn clear_faults(&self) {
        self.t.clear_faults(&self.control()).await;
    }

    /// The value of the variable in the `.env` file.
    pub fn env_secret(&self) -> String {
        env_value(&self.env_path)
    }

    /// GET /key with `secret`: the key's label, or the error kind.
    pub async fn check_secret(&self, secret: &str) -> Result<String, String> {
        let client = OpenRouterClient::new(ClientConfig::new(
            self.emulator.base_url(),
            SecretString::from(secret.to_owned()),
        ))
        .unwrap();
        client
            .current_key()
            .await
            .map(|key| key.label)
            .map_err(|error| error.kind().to_string())
    }

    pub async fn record_usage(&self, hash: &str, usage: f64) {
        self.t
            .post(
                &self.control(),
                &format!("/keys/{hash}/usage"),
                json!({ "usage": usage }),
            )
            .await;
    }

    pub fn journal_problems(&self, id: &str) -> Vec<String> {
        self.t.service.rotation_journal_problems(id).unwrap()
    }
}

/// Starting a rotation of the rig's old key.
pub fn start_args(rig: &Rig) -> RotationStartArgs {
    RotationStartArgs {
        profile_id: rig.profile_id.clone(),
        key_hash: rig.old_hash.clone(),
        delete_at_once: false,
        new_expiry: None,
    }
}

/// The short forms of the service calls the rotation tests make on their rig.
impl Rig {
    pub async fn start(&self) -> RotationView {
        self.t
            .service
            .rotation_start(start_args(self))
            .await
            .unwrap()
    }

    pub async fn act(&self, id: &str, action: RotationAction) -> RotationView {
        self.t.service.rotation_action(id, action).await.unwrap()
    }

    pub async fn batch(&self, name_pattern: &str) -> Vec<RotationView> {
        let args = RotationBatchArgs {
            profile_id: self.profile_id.clone(),
            name_pattern: name_pattern.into(),
        };
        self.t.service.rotation_start_batch(args).await.unwrap()
    }

    pub async fn tick(&self) -> Vec<RotationView> {
        self.t.service.rotation_tick().await.unwrap()
    }
}

pub fn env_value(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{VARIABLE}=")))
        .unwrap_or_default()
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// Injects `faults` into the emulator when the runner reaches `point`, once.
pub struct FaultAt {
    pub point: HookPoint,
    pub control: Mutex<Option<String>>,
    pub faults: Value,
}

impl FaultAt {
    pub fn new(point: HookPoint, faults: Value) -> Arc<Self> {
        Arc::new(FaultAt {
            point,
            control: Mutex::new(None),
            faults,
        })
    }

    pub fn arm(&self, control: &str) {
        *self.control.lock().unwrap() = Some(control.to_owned());
    }
}

impl RotationHooks for FaultAt {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point != self.point {
            return Box::pin(std::future::ready(()));
        }
        let Some(control) = self.control.lock().unwrap().take() else {
            return Box::pin(std::future::ready(()));
        };
        let faults = self.faults.clone();
        Box::pin(async move {
            let answer = reqwest::Client::new()
                .post(format!("{control}/faults"))
                .json(&faults)
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
        })
    }
}

/// Stops the runner for ever at `point` (the test then drops the task: a crash), and says so.
pub struct CrashAt {
    pub point: HookPoint,
    pub reached: Arc<tokio::sync::Notify>,
}

impl RotationHooks for CrashAt {
    fn at(&self, _rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if point != self.point {
            return Box::pin(std::future::ready(()));
        }
        self.reached.notify_one();
        Box::pin(futures::future::pending())
    }
}

// --- Attachments (guardrail, BYOK allowlist, log destination) -------------------------------------

/// A hash of some other key that shares the BYOK allowlist: a rotation must leave it there.
pub const OTHER_HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The three kinds of attachment a key can have.
pub fn attachments() -> Vec<Attachment> {
    vec![
        Attachment::Guardrail {
            id: "7d9f1f3c-0000-4000-8000-000000000001".into(),
            name: "EU models only".into(),
        },
        Attachment::Byok {
            id: "7d9f1f3c-0000-4000-8000-000000000002".into(),
            provider: "openai".into(),
            name: "prod OpenAI".into(),
        },
        Attachment::Destination {
            id: "7d9f1f3c-0000-4000-8000-000000000003".into(),
            name: "traces".into(),
            destination_type: "langfuse".into(),
        },
    ]
}

/// In-memory account links where the three [`attachments`] name `hash` (the BYOK list also names
/// [`OTHER_HASH`]).
pub fn links_naming(links: &MemoryAccountLinks, hash: &str) {
    for attachment in attachments() {
        let hashes: Vec<&str> = match attachment {
            Attachment::Byok { .. } => vec![OTHER_HASH, hash],
            _ => vec![hash],
        };
        links.add(attachment, &hashes);
    }
}

/// Which of the [`attachments`] name `hash`, by kind (`guardrail`, `byok`, `destination`).
pub fn named_by(links: &MemoryAccountLinks, hash: &str) -> Vec<&'static str> {
    attachments()
        .iter()
        .filter(|attachment| links.hashes_of(attachment.id()).iter().any(|h| h == hash))
        .map(|attachment| match attachment {
            Attachment::Guardrail { .. } => "guardrail",
            Attachment::Byok { .. } => "byok",
            Attachment::Destination { .. } => "destination",
        })
        .collect()
}

/// A rig whose service carries attachments through `links` (shared state: the test sees them).
pub async fn rig_with_links(
    test: &str,
    hooks: Option<Arc<dyn RotationHooks>>,
    links: &MemoryAccountLinks,
) -> Rig {
    let shared = links.clone();
    let rig = rig_with(test, hooks, move |config| {
        config.rotation.links = Arc::new(shared);
    })
    .await;
    links_naming(links, &rig.old_hash);
    rig
}
