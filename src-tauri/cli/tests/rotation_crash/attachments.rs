//! The crashed keys' attachments: the slots' keys live in a second workspace, hold its guardrail,
//! and are named by a BYOK credential's allowlist (with a bystander key) and a log destination's
//! key hashes, all on the emulator. After every kill and resume the hashes must be where the
//! rotation's progress says: a key still on the server that is some rotation's old key (or a slot's
//! first key) is named by all three (the old hash leaves only after its key is deleted); a new key
//! whose deploy started is named by all three unless its rotation is rolling back (attached before
//! deploy); a rolled-back rotation's new hash is on no list but, for a kept new key, its guardrail;
//! a completed rotation's old hash is on none. Once settled, no list names a key that is gone.

use std::collections::{BTreeSet, HashSet};

use keyward_core::rotation::{RotationStatus, RotationStepName, RotationStepStatus};
use serde_json::{Value, json};

use super::checks::note;
use super::harness::Harness;

/// The resources naming the slots' keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attached {
    pub(crate) guardrail_id: String,
    pub(crate) byok_id: String,
    pub(crate) destination_id: String,
    /// A key of the account the BYOK allowlist also names; no rotation touches it.
    pub(crate) bystander: String,
}

/// What names which hash on the emulator now.
struct Named {
    guardrail: HashSet<String>,
    byok: HashSet<String>,
    destination: HashSet<String>,
}

impl Named {
    fn of(&self, hash: &str) -> Vec<&'static str> {
        let mut named = Vec::new();
        for (kind, set) in [
            ("guardrail", &self.guardrail),
            ("byok", &self.byok),
            ("destination", &self.destination),
        ] {
            if set.contains(hash) {
                named.push(kind);
            }
        }
        named
    }
}

const ALL: [&str; 3] = ["guardrail", "byok", "destination"];

/// A raw management-key call to the emulator's API; answers the JSON body.
pub(crate) async fn management(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    key: &str,
    body: Option<Value>,
) -> Value {
    let mut request = http.request(method, &url).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

impl Harness {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        management(
            &self.http,
            method,
            format!("{}{path}", self.emulator.base_url()),
            self.emulator.management_key(),
            body,
        )
        .await
    }

    /// The guardrail, BYOK credential and destination naming every slot's first key (and the
    /// bystander, in the BYOK allowlist), in the slots' workspace.
    pub(crate) async fn attach_slots(&mut self, workspace_id: &str, bystander: String) {
        use reqwest::Method;
        let hashes: Vec<String> = self.slots.iter().map(|s| s.current_hash.clone()).collect();
        let guardrail = self
            .api(
                Method::POST,
                "/guardrails",
                Some(json!({"name": "crash guardrail", "workspace_id": workspace_id})),
            )
            .await;
        let guardrail_id = guardrail["data"]["id"].as_str().unwrap().to_owned();
        self.api(
            Method::POST,
            &format!("/guardrails/{guardrail_id}/assignments/keys"),
            Some(json!({ "key_hashes": hashes })),
        )
        .await;
        let mut allowed = hashes.clone();
        allowed.push(bystander.clone());
        let byok = self
            .api(
                Method::POST,
                "/byok",
                Some(
                    json!({"provider": "openai", "key": "sk-provider-secret-material-AbCd",
                            "name": "crash OpenAI", "workspace_id": workspace_id,
                            "allowed_api_key_hashes": allowed}),
                ),
            )
            .await;
        let destination = self
            .api(
                Method::POST,
                "/observability/destinations",
                Some(json!({"type": "langfuse", "name": "crash traces",
                            "workspace_id": workspace_id,
                            "config": {"publicKey": "pk-lf-1", "secretKey": "sk-lf-secret-5678"},
                            "api_key_hashes": hashes})),
            )
            .await;
        self.attached = Attached {
            guardrail_id,
            byok_id: byok["data"]["id"].as_str().unwrap().to_owned(),
            destination_id: destination["data"]["id"].as_str().unwrap().to_owned(),
            bystander,
        };
    }

    async fn named(&self) -> Named {
        use reqwest::Method;
        let hashes = |value: &Value, field: &str| -> HashSet<String> {
            value["data"][field]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|hash| hash.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let attached = &self.attached;
        let assignments = self
            .api(
                Method::GET,
                &format!(
                    "/guardrails/{}/assignments/keys?limit=100",
                    attached.guardrail_id
                ),
                None,
            )
            .await;
        let byok = self
            .api(Method::GET, &format!("/byok/{}", attached.byok_id), None)
            .await;
        let destination = self
            .api(
                Method::GET,
                &format!("/observability/destinations/{}", attached.destination_id),
                None,
            )
            .await;
        Named {
            guardrail: assignments["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|a| a["key_hash"].as_str().map(str::to_owned))
                .collect(),
            byok: hashes(&byok, "allowed_api_key_hashes"),
            destination: hashes(&destination, "api_key_hashes"),
        }
    }

    /// Checks where the hashes are (see the module's note); findings go to `attachments_lost`.
    pub(crate) async fn check_attachments(
        &mut self,
        context: &str,
        settled: bool,
        on_server: &HashSet<String>,
    ) {
        let named = self.named().await;
        let rotations = self.rotations();
        let mut findings = Vec::new();
        if !named.byok.contains(&self.attached.bystander) {
            findings.push("the bystander key left the BYOK allowlist".to_owned());
        }
        // Keys that must keep working where they are named: the slots' first keys and every
        // rotation's old key, while they exist.
        let mut live: BTreeSet<String> = self.first_hashes.iter().cloned().collect();
        live.extend(rotations.iter().map(|rotation| rotation.old.hash.clone()));
        for rotation in &rotations {
            let id = &rotation.id;
            let Some(new_key) = &rotation.new_key else {
                continue;
            };
            let new_named = named.of(&new_key.hash);
            let deploy_started = rotation.step(RotationStepName::Deploy).attempts > 0;
            let undoing = rotation.rolling_back || rotation.status == RotationStatus::RolledBack;
            // Attached before the deploy started (a rolled-back one may have taken it off again).
            if deploy_started && !undoing && on_server.contains(&new_key.hash) && new_named != ALL {
                findings.push(format!(
                    "rotation {id}: its new key {} was deployed but is named only by \
                     {new_named:?}",
                    new_key.hash
                ));
            }
            if rotation.status == RotationStatus::RolledBack {
                let allowed: &[&str] = if on_server.contains(&new_key.hash) {
                    &["guardrail"]
                } else {
                    &[]
                };
                if new_named.iter().any(|kind| !allowed.contains(kind)) {
                    findings.push(format!(
                        "rotation {id} rolled back but its new key {} is still named by \
                         {new_named:?}",
                        new_key.hash
                    ));
                }
            }
            let detached =
                rotation.step(RotationStepName::Detach).status == RotationStepStatus::Done;
            if (rotation.status == RotationStatus::Completed || detached)
                && !named.of(&rotation.old.hash).is_empty()
            {
                findings.push(format!(
                    "rotation {id} ({}) is past its detach but its old key {} is still named by \
                     {:?}",
                    rotation.status.as_str(),
                    rotation.old.hash,
                    named.of(&rotation.old.hash)
                ));
            }
        }
        for hash in live.iter().filter(|hash| on_server.contains(*hash)) {
            let old_named = named.of(hash);
            if old_named != ALL {
                findings.push(format!(
                    "key {hash} still exists (in use) but is named only by {old_named:?}"
                ));
            }
        }
        // Settled: nothing in between a delete and its detach, so no list names a gone key.
        let idle = rotations
            .iter()
            .all(|rotation| rotation.status.is_terminal());
        if settled && idle {
            for (kind, set) in [("byok", &named.byok), ("destination", &named.destination)] {
                for hash in set.iter().filter(|hash| !on_server.contains(*hash)) {
                    findings.push(format!(
                        "the {kind} list still names the deleted key {hash}"
                    ));
                }
            }
        }
        for finding in findings {
            note(&mut self.attachments_lost, context, finding);
        }
    }
}
