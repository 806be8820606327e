//! The guardrail and model-list client methods against the emulator over HTTP: every endpoint, its
//! documented errors (400, 401, 403, 404), paging of whole lists, and the model cache.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use keyward_core::Error;
use keyward_core::api::{
    CreateGuardrailRequest, LimitReset, ListKeysQuery, Patch, UpdateGuardrailRequest,
};
use secrecy::ExposeSecret;
use serde_json::json;

use api_support::{TestEnv, request_lines, start};

const UNKNOWN_ID: &str = "6f1c3a52-0000-4000-8000-000000000000";

async fn key(env: &TestEnv, name: &str) -> String {
    let created = env
        .client
        .create_key(&keyward_core::api::CreateKeyRequest::new(name))
        .await
        .unwrap();
    created.key.hash
}

async fn guardrail(env: &TestEnv, name: &str) -> String {
    env.client
        .create_guardrail(&CreateGuardrailRequest::new(name))
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn create_get_list_update_delete() {
    let env = start().await;
    let created = env
        .client
        .create_guardrail(&CreateGuardrailRequest {
            description: Some("approved models only".into()),
            limit_usd: Some(40.0),
            reset_interval: Some(LimitReset::Weekly),
            allowed_models: Some(vec![
                "openai/gpt-4.1".into(),
                "google/gemini-2.5-flash".into(),
            ]),
            allowed_providers: Some(vec!["openai".into(), "google-ai-studio".into()]),
            enforce_zdr_openai: Some(true),
            include_byok_in_budgets: Some(true),
            ..CreateGuardrailRequest::new("Production")
        })
        .await
        .unwrap();
    assert_eq!(created.name, "Production");
    assert_eq!(created.limit_usd, Some(40.0));
    assert_eq!(created.reset_interval, Some(LimitReset::Weekly));
    // The server answers canonical slugs.
    assert_eq!(
        created.allowed_models.as_deref(),
        Some(
            &[
                "openai/gpt-4.1-2025-04-14".to_owned(),
                "google/gemini-2.5-flash".to_owned()
            ][..]
        )
    );
    assert!(created.enforces_zdr());
    assert!(created.include_byok_in_budgets);
    assert!(created.created_at.is_some());
    assert_eq!(created.updated_at, None);
    assert_eq!(
        created.workspace_id.as_deref(),
        Some(openrouter_emulator::DEFAULT_WORKSPACE_ID)
    );

    assert_eq!(
        env.client.get_guardrail(&created.id).await.unwrap(),
        created
    );
    let listed = env.client.list_guardrails().await.unwrap();
    assert_eq!(listed, vec![created.clone()]);

    // PATCH: lists replace whole, null clears, absent keeps.
    let updated = env
        .client
        .update_guardrail(
            &created.id,
            &UpdateGuardrailRequest {
                allowed_models: Patch::Set(vec!["anthropic/claude-sonnet-4".into()]),
                allowed_providers: Patch::Clear,
                limit_usd: Patch::Clear,
                name: Some("Production v2".into()),
                ..UpdateGuardrailRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        updated.allowed_models,
        Some(vec!["anthropic/claude-4-sonnet-20250522".to_owned()])
    );
    assert_eq!(updated.allowed_providers, None);
    assert_eq!(updated.limit_usd, None);
    assert_eq!(updated.reset_interval, Some(LimitReset::Weekly));
    assert_eq!(updated.description.as_deref(), Some("approved models only"));
    assert!(updated.updated_at.is_some());

    env.client.delete_guardrail(&created.id).await.unwrap();
    let err = env.client.get_guardrail(&created.id).await.unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message == "Guardrail not found"),
        "{err:?}"
    );
    assert_eq!(
        env.client
            .delete_guardrail(&created.id)
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );
    let update = UpdateGuardrailRequest {
        name: Some("x".into()),
        ..UpdateGuardrailRequest::default()
    };
    assert_eq!(
        env.client
            .update_guardrail(&created.id, &update)
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );
    assert!(env.client.list_guardrails().await.unwrap().is_empty());
}

#[tokio::test]
async fn guardrails_of_another_workspace() {
    let env = start().await;
    let workspace = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
    env.seed(0, Some(workspace)).await;
    env.client
        .create_guardrail(&CreateGuardrailRequest {
            workspace_id: Some(workspace.into()),
            ..CreateGuardrailRequest::new("elsewhere")
        })
        .await
        .unwrap();
    guardrail(&env, "here").await;
    let there = env.client.list_guardrails_in(workspace).await.unwrap();
    assert_eq!(there.len(), 1);
    assert_eq!(there[0].workspace_id.as_deref(), Some(workspace));
    assert_eq!(env.client.list_guardrails().await.unwrap()[0].name, "here");
    let err = env.client.list_guardrails_in("default").await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "workspace_id"));
}

#[tokio::test]
async fn key_assignments_replace_and_follow_key_deletion() {
    let env = start().await;
    let first = guardrail(&env, "first").await;
    let second = guardrail(&env, "second").await;
    let a = key(&env, "key-a").await;
    let b = key(&env, "key-b").await;

    // Duplicates are sent once.
    let assigned = env
        .client
        .assign_keys(&first, &[a.clone(), b.clone(), a.clone()])
        .await
        .unwrap();
    assert_eq!(assigned, 2);
    let on_first = env.client.guardrail_key_assignments(&first).await.unwrap();
    assert_eq!(on_first.len(), 2);
    assert_eq!(on_first[0].key_hash, a);
    assert_eq!(on_first[0].key_name, "key-a");
    assert_eq!(on_first[0].guardrail_id, first);
    assert!(on_first[0].created_at.is_some());

    // A key holds one guardrail: assigning the second moves it.
    assert_eq!(
        env.client
            .assign_keys(&second, std::slice::from_ref(&b))
            .await
            .unwrap(),
        1
    );
    let on_first = env.client.guardrail_key_assignments(&first).await.unwrap();
    assert_eq!(
        on_first.iter().map(|x| &x.key_hash).collect::<Vec<_>>(),
        [&a]
    );
    let all = env.client.all_key_assignments().await.unwrap();
    assert_eq!(all.len(), 2);

    assert_eq!(
        env.client
            .unassign_keys(&first, &[a.clone(), b.clone()])
            .await
            .unwrap(),
        1
    );
    // Deleting a key removes its assignment.
    env.client.delete_key(&b).await.unwrap();
    assert!(env.client.all_key_assignments().await.unwrap().is_empty());

    // An unknown key: 404, nothing assigned.
    let unknown = "0".repeat(64);
    let err = env
        .client
        .assign_keys(&first, &[a.clone(), unknown])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { message } if message.contains("API key not found")),
        "{err:?}"
    );
    assert!(
        env.client
            .guardrail_key_assignments(&first)
            .await
            .unwrap()
            .is_empty()
    );
    // An unknown guardrail: 404.
    for err in [
        env.client
            .assign_keys(UNKNOWN_ID, std::slice::from_ref(&a))
            .await
            .unwrap_err(),
        env.client
            .unassign_keys(UNKNOWN_ID, std::slice::from_ref(&a))
            .await
            .unwrap_err(),
        env.client
            .guardrail_key_assignments(UNKNOWN_ID)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), "not_found", "{err:?}");
    }
}

#[tokio::test]
async fn member_assignments() {
    let env = start().await;
    let id = guardrail(&env, "members").await;
    let me = openrouter_emulator::ACCOUNT_USER_ID.to_owned();
    assert_eq!(
        env.client
            .assign_members(&id, std::slice::from_ref(&me))
            .await
            .unwrap(),
        1
    );
    let on_it = env.client.guardrail_member_assignments(&id).await.unwrap();
    assert_eq!(on_it.len(), 1);
    assert_eq!(on_it[0].user_id, me);
    assert!(on_it[0].organization_id.is_some());
    assert_eq!(env.client.all_member_assignments().await.unwrap(), on_it);
    let err = env
        .client
        .assign_members(&id, &["user_nobody".into()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not_found");
    assert_eq!(
        env.client
            .unassign_members(&id, &[me.clone(), "user_nobody".into()])
            .await
            .unwrap(),
        1
    );
    assert!(
        env.client
            .all_member_assignments()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        env.client
            .guardrail_member_assignments(UNKNOWN_ID)
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );
    assert_eq!(
        env.client
            .assign_members(UNKNOWN_ID, &[me])
            .await
            .unwrap_err()
            .kind(),
        "not_found"
    );
}

#[tokio::test]
async fn whole_lists_are_paged_by_100() {
    let env = start().await;
    let hashes = env.seed(230, None).await;
    // Seeding the default workspace also seeds the demo guardrails.
    assert_eq!(env.client.list_guardrails().await.unwrap().len(), 2);
    let id = guardrail(&env, "bulk").await;
    assert_eq!(env.client.assign_keys(&id, &hashes).await.unwrap(), 230);
    env.clear_requests().await;
    let assignments = env.client.guardrail_key_assignments(&id).await.unwrap();
    assert_eq!(assignments.len(), 230);
    let mut seen: Vec<&str> = assignments.iter().map(|a| a.key_hash.as_str()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 230);
    let queries: Vec<String> = env
        .requests()
        .await
        .iter()
        .map(|r| r["query"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        queries,
        [
            "offset=0&limit=100",
            "offset=100&limit=100",
            "offset=200&limit=100"
        ]
    );
    // Every assignment of the account: the 230 moved here, none left on the demo guardrails.
    assert_eq!(env.client.all_key_assignments().await.unwrap().len(), 230);
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let env = start().await;
    let id = guardrail(&env, "g").await;
    env.clear_requests().await;
    let cases = [
        env.client
            .create_guardrail(&CreateGuardrailRequest::new(""))
            .await
            .unwrap_err(),
        env.client
            .create_guardrail(&CreateGuardrailRequest {
                limit_usd: Some(-5.0),
                ..CreateGuardrailRequest::new("g")
            })
            .await
            .unwrap_err(),
        env.client
            .create_guardrail(&CreateGuardrailRequest {
                allowed_models: Some(vec![]),
                ..CreateGuardrailRequest::new("g")
            })
            .await
            .unwrap_err(),
        env.client
            .update_guardrail(&id, &UpdateGuardrailRequest::default())
            .await
            .unwrap_err(),
        env.client.get_guardrail("../keys").await.unwrap_err(),
        env.client.delete_guardrail("").await.unwrap_err(),
        env.client.assign_keys(&id, &[]).await.unwrap_err(),
        env.client
            .assign_keys(&id, &["not-a-hash".into()])
            .await
            .unwrap_err(),
        env.client.unassign_members(&id, &[]).await.unwrap_err(),
        env.client
            .assign_members(&id, &["two words".into()])
            .await
            .unwrap_err(),
    ];
    for err in cases {
        assert_eq!(err.kind(), "invalid_input", "{err:?}");
    }
    assert!(env.requests().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn server_side_validation_is_a_400() {
    let env = start().await;
    // Well-formed slug, but a model the server does not know.
    let err = env
        .client
        .create_guardrail(&CreateGuardrailRequest {
            allowed_models: Some(vec!["acme/unknown-model".into()]),
            ..CreateGuardrailRequest::new("g")
        })
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput {
            field: None,
            message,
        } => assert!(message.contains("unknown model"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn auth_errors() {
    let env = start().await;
    let id = guardrail(&env, "g").await;
    let anonymous = api_support::client_with(&env.emulator, "", |_| {});
    assert_eq!(
        anonymous.list_guardrails().await.unwrap_err().kind(),
        "unauthorized"
    );
    let wrong = api_support::client_with(&env.emulator, "sk-or-v1-not-a-real-key", |_| {});
    assert_eq!(
        wrong.get_guardrail(&id).await.unwrap_err().kind(),
        "unauthorized"
    );
    let created = env
        .client
        .create_key(&keyward_core::api::CreateKeyRequest::new("inference"))
        .await
        .unwrap();
    let inference = api_support::client_with(&env.emulator, created.secret.expose_secret(), |_| {});
    for err in [
        inference
            .create_guardrail(&CreateGuardrailRequest::new("x"))
            .await
            .unwrap_err(),
        inference.all_key_assignments().await.unwrap_err(),
        inference.all_member_assignments().await.unwrap_err(),
        inference
            .assign_keys(&id, std::slice::from_ref(&created.key.hash))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), "forbidden", "{err:?}");
    }
    // The public model list needs no key at all.
    assert!(!anonymous.models().await.unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_for_assignments_but_create_is_not() {
    let env = start().await;
    let id = guardrail(&env, "g").await;
    let hash = key(&env, "k").await;
    env.clear_requests().await;
    env.set_faults(json!({"server_error": {"next": 1, "status": 503}}))
        .await;
    assert_eq!(
        env.client
            .assign_keys(&id, std::slice::from_ref(&hash))
            .await
            .unwrap(),
        1
    );
    assert_eq!(env.requests().await.len(), 2);

    env.clear_requests().await;
    env.set_faults(json!({"server_error": {"next": 1}})).await;
    let err = env
        .client
        .create_guardrail(&CreateGuardrailRequest::new("once"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "server");
    assert_eq!(
        request_lines(&env.requests().await),
        ["POST /api/v1/guardrails"]
    );
}

#[tokio::test]
async fn models_are_listed_once_then_served_from_memory() {
    let env = start().await;
    let models = env.client.models().await.unwrap();
    assert!(models.len() >= 10);
    let gpt = models.iter().find(|m| m.is("openai/gpt-4.1")).unwrap();
    assert_eq!(gpt.canonical_slug, "openai/gpt-4.1-2025-04-14");
    assert!(!gpt.pricing.prompt.is_empty());
    assert!(gpt.context_length.unwrap() > 0);
    assert!(models.iter().filter(|m| m.matches("claude")).count() >= 2);
    let again = env.client.models().await.unwrap();
    assert_eq!(again, models);
    assert_eq!(
        request_lines(&env.requests().await),
        ["GET /api/v1/models"],
        "the second call is served from memory"
    );
    // A clone shares the cache; forgetting it asks again.
    env.client.clone().forget_models();
    env.client.models().await.unwrap();
    assert_eq!(env.requests().await.len(), 2);
    // Listing keys is unaffected by any of this.
    assert!(
        env.client
            .list_all(&ListKeysQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}
