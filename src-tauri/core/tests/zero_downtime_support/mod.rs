//! Set-up of `zero_downtime.rs`: the account around the key (a workspace, a guardrail allowing the
//! model, a BYOK credential and a log destination naming the key), the sample app as a child process,
//! and polling with a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use keyward_core::api::{ClientConfig, CreateKeyRequest, OpenRouterClient};
use keyward_core::rotation::Attachment;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::rotation_support::{Rig, VARIABLE};

/// How long any wait may take before the test fails (generous: two cores are shared).
const DEADLINE: Duration = Duration::from_secs(90);

/// Polls `done` every 100 ms until it holds; panics naming `what` after [`DEADLINE`].
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < DEADLINE,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The account around the rotated key.
pub struct Setup {
    pub base_url: String,
    pub control_url: String,
    pub management_key: String,
    pub workspace_id: String,
    pub old_hash: String,
    pub guardrail_id: String,
    pub byok_id: String,
    pub destination_id: String,
    pub plan_attachments: Vec<Attachment>,
    pub new_hash: Option<String>,
    pub http: reqwest::Client,
}

impl Setup {
    /// A workspace "Payments"; the rig's old key replaced by one there, its secret in the `.env`
    /// file; a guardrail allowing only `model`, a BYOK credential for `provider` and a webhook
    /// destination, each naming the key.
    pub async fn create(rig: &mut Rig, model: &str, provider: &str) -> Self {
        let mut setup = Setup {
            base_url: rig.emulator.base_url().to_owned(),
            control_url: rig.emulator.control_url().to_owned(),
            management_key: rig.emulator.management_key().to_owned(),
            workspace_id: String::new(),
            old_hash: String::new(),
            guardrail_id: String::new(),
            byok_id: String::new(),
            destination_id: String::new(),
            plan_attachments: Vec::new(),
            new_hash: None,
            http: reqwest::Client::new(),
        };
        let workspace = setup
            .api(
                "POST",
                "/workspaces",
                json!({"name": "Payments", "slug": "payments"}),
            )
            .await;
        setup.workspace_id = workspace["data"]["id"].as_str().unwrap().to_owned();

        let client = management_client(rig);
        let created = client
            .create_key(&CreateKeyRequest {
                workspace_id: Some(setup.workspace_id.clone()),
                ..CreateKeyRequest::new("payments-api")
            })
            .await
            .unwrap();
        rig.old_hash = created.key.hash.clone();
        rig.old_secret = created.secret.expose_secret().to_owned();
        setup.old_hash = rig.old_hash.clone();
        std::fs::write(&rig.env_path, format!("{VARIABLE}={}\n", rig.old_secret)).unwrap();

        let hash = setup.old_hash.clone();
        let workspace_id = setup.workspace_id.clone();
        let guardrail = setup
            .api(
                "POST",
                "/guardrails",
                json!({"name": "Payments models", "workspace_id": workspace_id,
                       "allowed_models": [model]}),
            )
            .await;
        setup.guardrail_id = guardrail["data"]["id"].as_str().unwrap().to_owned();
        setup
            .api(
                "POST",
                &format!("/guardrails/{}/assignments/keys", setup.guardrail_id),
                json!({"key_hashes": [hash]}),
            )
            .await;
        let byok = setup
            .api(
                "POST",
                "/byok",
                json!({"provider": provider, "key": "sk-proj-zero-downtime-provider-AbCd",
                       "name": "Payments provider", "workspace_id": workspace_id,
                       "allowed_api_key_hashes": [hash]}),
            )
            .await;
        setup.byok_id = byok["data"]["id"].as_str().unwrap().to_owned();
        let destination = setup
            .api(
                "POST",
                "/observability/destinations",
                json!({"type": "webhook", "name": "Payments traces",
                       "config": {"url": "https://127.0.0.1/traces"},
                       "workspace_id": workspace_id, "api_key_hashes": [hash]}),
            )
            .await;
        setup.destination_id = destination["data"]["id"].as_str().unwrap().to_owned();
        setup
    }

    /// A management-key call to the emulator's API that must succeed; its body.
    pub async fn api(&self, method: &str, path: &str, body: Value) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base_url))
            .bearer_auth(&self.management_key);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Spend recorded on the key `hash` (0 once it is deleted).
    pub async fn spend_of(&self, rig: &Rig, hash: &str) -> f64 {
        rig.emulator_key(hash).await.map_or(0.0, |key| {
            key["usage"].as_f64().unwrap_or(0.0) + key["byok_usage"].as_f64().unwrap_or(0.0)
        })
    }

    /// Whether the app's requests with `hash` have been charged.
    pub async fn requests_of(&self, rig: &Rig, hash: &str) -> u64 {
        u64::from(self.spend_of(rig, hash).await > 0.0)
    }

    /// Chat completions the emulator refused (401/402/403) since the log was last cleared.
    pub async fn refused_since_start(&self, rig: &Rig) -> usize {
        rig.t.get(&rig.control(), "/requests").await["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| {
                entry["path"] == "/api/v1/chat/completions"
                    && matches!(entry["status"].as_u64(), Some(401..=403))
            })
            .count()
    }

    /// The HTTP status of one chat completion with `secret` to `model` through `provider`.
    pub async fn chat_status(&self, secret: &str, model: &str, provider: &str) -> u16 {
        self.http
            .post(format!("{}/chat/completions", self.base_url))
            .bearer_auth(secret)
            .json(&serde_json::json!({
                "model": model,
                "messages": [{"role": "user", "content": "ping"}],
                "provider": {"only": [provider]},
            }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Which of the guardrail, the BYOK credential and the destination name `hash`.
    pub async fn names_of(&self, hash: &str) -> Vec<&'static str> {
        let mut names = Vec::new();
        let assigned = self
            .api(
                "GET",
                &format!("/guardrails/{}/assignments/keys", self.guardrail_id),
                Value::Null,
            )
            .await;
        if assigned["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|assignment| assignment["key_hash"] == hash)
        {
            names.push("guardrail");
        }
        let byok = self
            .api("GET", &format!("/byok/{}", self.byok_id), Value::Null)
            .await;
        if contains(&byok["data"]["allowed_api_key_hashes"], hash) {
            names.push("byok");
        }
        let destination = self
            .api(
                "GET",
                &format!("/observability/destinations/{}", self.destination_id),
                Value::Null,
            )
            .await;
        if contains(&destination["data"]["api_key_hashes"], hash) {
            names.push("destination");
        }
        names
    }
}

fn contains(list: &Value, hash: &str) -> bool {
    list.as_array()
        .is_some_and(|hashes| hashes.iter().any(|named| named == hash))
}

fn management_client(rig: &Rig) -> OpenRouterClient {
    OpenRouterClient::new(ClientConfig::new(
        rig.emulator.base_url(),
        SecretString::from(rig.emulator.management_key().to_owned()),
    ))
    .unwrap()
}

/// What the sample app said when it stopped.
#[derive(Debug)]
pub struct Outcome {
    pub requests: u64,
    pub failed: u64,
    pub exit_ok: bool,
    pub stderr: String,
}

/// `tests/sample-app/sample_app.py` running against the rig's emulator and `.env` file.
pub struct SampleApp {
    child: Child,
}

impl SampleApp {
    pub fn start(rig: &Rig, model: &str, provider: &str) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/sample-app/sample_app.py"
        );
        let child = Command::new("python3")
            .arg(script)
            .arg("--env-file")
            .arg(&rig.env_path)
            .args(["--base-url", rig.emulator.base_url()])
            .args(["--model", model, "--provider", provider])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the sample app");
        SampleApp { child }
    }

    /// SIGTERM, then the app's summary line.
    pub async fn stop(self) -> Outcome {
        let pid = self.child.id().expect("the app still runs").to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(killed.success());
        let output = self.child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let line = stdout
            .lines()
            .find(|line| line.starts_with("requests: "))
            .unwrap_or_else(|| panic!("no summary from the app: {stdout} / {stderr}"));
        let number = |label: &str| -> u64 {
            line.split(", ")
                .find_map(|part| part.strip_prefix(label))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {label} in {line:?}"))
        };
        Outcome {
            requests: number("requests: "),
            failed: number("failed: "),
            exit_ok: output.status.success(),
            stderr,
        }
    }
}
