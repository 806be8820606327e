//! Keys of every workspace: a profile's key list and its watch cycle cover a key in a second
//! workspace (listed with its workspace, alerted on), the profile's workspaces are exposed for the
//! UI, and creating a key takes a workspace, checked before anything is sent.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use keyward_core::ErrorKind;
use keyward_core::ipc::{CreateKeyArgs, KeysListArgs, WorkspacesListArgs};
use keyward_core::watch::AlertKind;
use openrouter_emulator::DEFAULT_WORKSPACE_ID;
use serde_json::{Value, json};
use watch_support::{Watched, watched};

/// Creates a workspace on the emulator (outside Keyward); returns its id.
async fn create_workspace(w: &Watched, name: &str, slug: &str) -> String {
    let answer = w
        .http
        .post(format!("{}/workspaces", w.emulator.base_url()))
        .bearer_auth(w.emulator.management_key())
        .json(&json!({"name": name, "slug": slug}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let created: Value = answer.json().await.unwrap();
    created["data"]["id"].as_str().unwrap().to_owned()
}

fn list_args(profile_id: &str) -> KeysListArgs {
    KeysListArgs {
        profile_id: profile_id.to_owned(),
        include_disabled: true,
        include_expired: true,
        refresh: true,
    }
}

#[tokio::test]
async fn a_key_in_a_second_workspace_is_listed_and_watched() {
    let w = watched("ws-watch").await;
    let research = create_workspace(&w, "Research", "research").await;
    let home = w.create_key(json!({"name": "home-key"})).await;
    let away = w
        .create_key(
            json!({"name": "research-key", "limit": 10.0, "limit_reset": "monthly", "workspace_id": research}),
        )
        .await;

    let listed =
        w.t.service
            .keys_list(list_args(&w.profile_id))
            .await
            .unwrap();
    assert_eq!(listed.keys.len(), 2, "{listed:#?}");
    let workspace_of = |hash: &str| {
        listed
            .keys
            .iter()
            .find(|row| row.key.hash == hash)
            .and_then(|row| row.key.workspace_id.clone())
    };
    assert_eq!(workspace_of(&home).as_deref(), Some(DEFAULT_WORKSPACE_ID));
    assert_eq!(workspace_of(&away).as_deref(), Some(research.as_str()));

    let workspaces =
        w.t.service
            .workspaces_list(WorkspacesListArgs {
                profile_id: w.profile_id.clone(),
                refresh: false,
            })
            .await
            .unwrap();
    let names: Vec<&str> = workspaces.iter().map(|ws| ws.name.as_str()).collect();
    assert_eq!(names, ["Default Workspace", "Research"]);
    assert_eq!(workspaces[1].id, research);
    assert_eq!(workspaces[1].slug, "research");

    let quiet = w.cycle().await;
    assert_eq!(quiet.profiles[0].keys, 2, "{quiet:#?}");
    w.spend(&away, 8.5).await;
    let report = w.cycle().await;
    assert_eq!(report.notifications.len(), 1, "{report:#?}");
    assert!(report.notifications[0].title.contains("research-key"));
    assert_eq!(report.snapshot.alerts.len(), 1);
    assert_eq!(report.snapshot.alerts[0].kind, AlertKind::Limit);
    assert_eq!(report.snapshot.alerts[0].key_hash, away);
}

#[tokio::test]
async fn a_key_is_created_in_the_workspace_asked_for() {
    let w = watched("ws-create").await;
    let research = create_workspace(&w, "Research", "research").await;
    w.t.service
        .keys_list(list_args(&w.profile_id))
        .await
        .unwrap();
    let args = |workspace_id: Option<&str>| CreateKeyArgs {
        profile_id: w.profile_id.clone(),
        name: "placed".into(),
        limit: None,
        limit_reset: None,
        include_byok_in_limit: false,
        expires_at: None,
        workspace_id: workspace_id.map(str::to_owned),
    };
    let created = w.t.service.key_create(args(Some(&research))).await.unwrap();
    assert_eq!(
        created.key.key.workspace_id.as_deref(),
        Some(research.as_str())
    );
    let default = w.t.service.key_create(args(None)).await.unwrap();
    assert_eq!(
        default.key.key.workspace_id.as_deref(),
        Some(DEFAULT_WORKSPACE_ID)
    );

    let before = w.requests_to("/api/v1/keys").await;
    for bad in ["99999999-2222-4333-8444-555555555555", "../keys"] {
        let error = w.t.service.key_create(args(Some(bad))).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
        assert!(error.to_string().contains("workspace_id"), "{error}");
    }
    assert_eq!(
        w.requests_to("/api/v1/keys").await,
        before,
        "refused before sending"
    );
    let errors = w.t.service.validate_create(&args(Some("a b")));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field.as_deref(), Some("workspace_id"));
}
