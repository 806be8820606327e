//! Real attachments on the rig's emulator: a second workspace holding the old key, a guardrail
//! assigned to it, a BYOK credential whose allowlist names it (and another key of the account) and a
//! log destination naming it, all made over the API; and what of them names a hash now, read back
//! from the emulator. The service uses its default links (`ApiAccountLinks`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, DurationRound, Utc};
use keyward_core::api::{
    ClientConfig, CreateGuardrailRequest, CreateKeyRequest, CreateWorkspaceRequest, LimitReset,
    OpenRouterClient,
};
use keyward_core::rotation::Attachment;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Rig, VARIABLE};

/// The resources naming the rig's old key, and the other key the BYOK allowlist also names.
#[derive(Debug, Clone)]
pub struct Account {
    pub workspace_id: String,
    pub guardrail_id: String,
    pub byok_id: String,
    pub destination_id: String,
    pub other_hash: String,
}

impl Account {
    /// What the plan and the rotation should find, in the order the links report them.
    pub fn attachments(&self) -> Vec<Attachment> {
        vec![
            Attachment::Guardrail {
                id: self.guardrail_id.clone(),
                name: "EU models only".into(),
            },
            Attachment::Byok {
                id: self.byok_id.clone(),
                provider: "openai".into(),
                name: "prod OpenAI".into(),
            },
            Attachment::Destination {
                id: self.destination_id.clone(),
                name: "traces".into(),
                destination_type: "langfuse".into(),
            },
        ]
    }
}

/// A management-key client of the rig's emulator.
pub fn management(rig: &Rig) -> OpenRouterClient {
    OpenRouterClient::new(ClientConfig::new(
        rig.emulator.base_url(),
        SecretString::from(rig.emulator.management_key().to_owned()),
    ))
    .unwrap()
}

/// A raw management-key call (creating BYOK credentials and destinations needs their secrets,
/// which Keyward never sends).
async fn raw_post(rig: &Rig, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", rig.emulator.base_url()))
        .bearer_auth(rig.emulator.management_key())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Replaces the rig's old key with one in a new workspace "EU" (limit $5 weekly, BYOK not
/// counted, expiring in 30 days), its secret in the `.env` file, and makes the three resources of
/// [`Account`] name it.
pub async fn key_with_attachments(rig: &mut Rig) -> Account {
    let client = management(rig);
    let workspace = client
        .create_workspace(&CreateWorkspaceRequest {
            name: "EU".into(),
            slug: "eu".into(),
            ..CreateWorkspaceRequest::default()
        })
        .await
        .unwrap();
    let expires = (Utc::now() + Duration::days(30))
        .duration_trunc(Duration::seconds(1))
        .unwrap();
    let create = |name: &str| CreateKeyRequest {
        name: name.into(),
        limit: Some(5.0),
        limit_reset: Some(LimitReset::Weekly),
        include_byok_in_limit: Some(false),
        expires_at: Some(expires),
        workspace_id: Some(workspace.id.clone()),
        creator_user_id: None,
    };
    let created = client.create_key(&create("eu-api")).await.unwrap();
    let other = client.create_key(&create("eu-batch")).await.unwrap();
    // The rig's first key would otherwise sit in the batch and the crash checks' key counts.
    client.delete_key(&rig.old_hash).await.unwrap();
    rig.old_hash = created.key.hash.clone();
    rig.old_secret = created.secret.expose_secret().to_owned();
    std::fs::write(&rig.env_path, format!("{VARIABLE}={}\n", rig.old_secret)).unwrap();
    rig.set_policy(|_| {});

    let guardrail = client
        .create_guardrail(&CreateGuardrailRequest {
            workspace_id: Some(workspace.id.clone()),
            ..CreateGuardrailRequest::new("EU models only")
        })
        .await
        .unwrap();
    client
        .assign_keys(&guardrail.id, std::slice::from_ref(&rig.old_hash))
        .await
        .unwrap();
    let byok = raw_post(
        rig,
        "/byok",
        json!({"provider": "openai", "key": "sk-provider-secret-material-AbCd",
               "name": "prod OpenAI", "workspace_id": workspace.id,
               "allowed_api_key_hashes": [other.key.hash, rig.old_hash]}),
    )
    .await;
    let destination = raw_post(
        rig,
        "/observability/destinations",
        json!({"type": "langfuse", "name": "traces", "workspace_id": workspace.id,
               "config": {"publicKey": "pk-lf-1", "secretKey": "sk-lf-secret-5678"},
               "api_key_hashes": [rig.old_hash]}),
    )
    .await;
    Account {
        workspace_id: workspace.id,
        guardrail_id: guardrail.id,
        byok_id: byok["data"]["id"].as_str().unwrap().to_owned(),
        destination_id: destination["data"]["id"].as_str().unwrap().to_owned(),
        other_hash: other.key.hash,
    }
}

/// Which of the account's resources name `hash` on the emulator now (`guardrail`, `byok`,
/// `destination`).
pub async fn named_on_emulator(rig: &Rig, account: &Account, hash: &str) -> Vec<&'static str> {
    let client = management(rig);
    let mut named = Vec::new();
    let assignments = client
        .guardrail_key_assignments(&account.guardrail_id)
        .await
        .unwrap();
    if assignments.iter().any(|a| a.key_hash == hash) {
        named.push("guardrail");
    }
    if client
        .get_byok_key(&account.byok_id)
        .await
        .unwrap()
        .names_key(hash)
    {
        named.push("byok");
    }
    if client
        .get_destination(&account.destination_id)
        .await
        .unwrap()
        .names_key(hash)
    {
        named.push("destination");
    }
    named
}

/// Whether the BYOK allowlist still names the other key (a rotation must leave it there).
pub async fn byok_keeps_the_other_key(rig: &Rig, account: &Account) -> bool {
    management(rig)
        .get_byok_key(&account.byok_id)
        .await
        .unwrap()
        .names_key(&account.other_hash)
}
