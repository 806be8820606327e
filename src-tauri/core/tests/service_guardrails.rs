//! The Guardrails view's service calls against the emulator: create, list with assignments, bulk
//! assign and remove, the key → guardrail map (cached, dropped when a guardrail changes), update,
//! delete, the model list, and field-by-field validation before anything is sent.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use keyward_core::ErrorKind;
use keyward_core::api::{CreateGuardrailRequest, LimitReset, Patch, UpdateGuardrailRequest};
use keyward_core::ipc::ProfileScopedArgs;
use keyward_core::service::{
    GuardrailArgs, GuardrailAssignArgs, GuardrailCreateArgs, GuardrailUpdateArgs,
    GuardrailsListArgs,
};
use serde_json::json;
use watch_support::{Watched, watched};

fn list_args(w: &Watched, refresh: bool) -> GuardrailsListArgs {
    GuardrailsListArgs {
        profile_id: w.profile_id.clone(),
        refresh,
    }
}

async fn create(w: &Watched, name: &str) -> String {
    let request = CreateGuardrailRequest {
        limit_usd: Some(25.0),
        reset_interval: Some(LimitReset::Monthly),
        allowed_models: Some(vec![
            "openai/gpt-4.1".into(),
            "anthropic/claude-sonnet-4".into(),
        ]),
        enforce_zdr_openai: Some(true),
        ..CreateGuardrailRequest::new(name)
    };
    w.t.service
        .guardrail_create(GuardrailCreateArgs {
            profile_id: w.profile_id.clone(),
            request,
        })
        .await
        .unwrap()
        .id
}

fn assign_args(w: &Watched, id: &str, hashes: &[&String]) -> GuardrailAssignArgs {
    GuardrailAssignArgs {
        profile_id: w.profile_id.clone(),
        guardrail_id: id.to_owned(),
        key_hashes: hashes.iter().map(|h| (*h).clone()).collect(),
        member_user_ids: Vec::new(),
    }
}

#[tokio::test]
async fn bulk_assign_shows_on_the_list_and_the_key_map() {
    let w = watched("gr-assign").await;
    let keys = [
        w.create_key(json!({"name": "a"})).await,
        w.create_key(json!({"name": "b"})).await,
        w.create_key(json!({"name": "c"})).await,
    ];
    let prod = create(&w, "Prod").await;
    let dev = create(&w, "Dev").await;

    let before =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert!(before.by_key.is_empty());

    let counts =
        w.t.service
            .guardrail_assign(assign_args(&w, &prod, &[&keys[0], &keys[1], &keys[2]]))
            .await
            .unwrap();
    assert_eq!(counts.keys, 3);

    // The map cached before the assignment was dropped with it.
    let map =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert_eq!(map.by_key.len(), 3);
    assert!(keys.iter().all(|k| map.by_key[k].name == "Prod"));

    // Assigning another guardrail replaces the first.
    w.t.service
        .guardrail_assign(assign_args(&w, &dev, &[&keys[2]]))
        .await
        .unwrap();
    let list =
        w.t.service
            .guardrails_list(list_args(&w, true))
            .await
            .unwrap();
    let names: Vec<&str> = list.iter().map(|e| e.guardrail.name.as_str()).collect();
    assert_eq!(names, ["Dev", "Prod"]);
    assert_eq!(list[0].keys.len(), 1);
    assert_eq!(list[1].keys.len(), 2);
    assert_eq!(list[1].guardrail.limit_usd, Some(25.0));
    let map =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert_eq!(map.by_key[&keys[2]].id, dev);

    let removed =
        w.t.service
            .guardrail_unassign(assign_args(&w, &prod, &[&keys[0]]))
            .await
            .unwrap();
    assert_eq!(removed.keys, 1);
    let entry =
        w.t.service
            .guardrail_get(GuardrailArgs {
                profile_id: w.profile_id.clone(),
                guardrail_id: prod.clone(),
            })
            .await
            .unwrap();
    let left: Vec<&str> = entry.keys.iter().map(|k| k.key_hash.as_str()).collect();
    assert_eq!(left, [keys[1].as_str()]);
}

#[tokio::test]
async fn update_and_delete_change_what_the_keys_show() {
    let w = watched("gr-edit").await;
    let key = w.create_key(json!({"name": "a"})).await;
    let id = create(&w, "Prod").await;
    w.t.service
        .guardrail_assign(assign_args(&w, &id, &[&key]))
        .await
        .unwrap();
    let map =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert_eq!(map.by_key[&key].name, "Prod");

    let updated =
        w.t.service
            .guardrail_update(GuardrailUpdateArgs {
                profile_id: w.profile_id.clone(),
                guardrail_id: id.clone(),
                request: UpdateGuardrailRequest {
                    name: Some("Production".into()),
                    allowed_models: Patch::Clear,
                    ..UpdateGuardrailRequest::default()
                },
            })
            .await
            .unwrap();
    assert_eq!(updated.allowed_models, None);
    let map =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert_eq!(map.by_key[&key].name, "Production");

    w.t.service
        .guardrail_delete(GuardrailArgs {
            profile_id: w.profile_id.clone(),
            guardrail_id: id.clone(),
        })
        .await
        .unwrap();
    let map =
        w.t.service
            .key_guardrails(list_args(&w, false))
            .await
            .unwrap();
    assert!(map.by_key.is_empty(), "{map:?}");
    assert!(
        w.t.service
            .guardrails_list(list_args(&w, true))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_before_any_request() {
    let w = watched("gr-validate").await;
    let errors = w.t.service.guardrail_validate(&CreateGuardrailRequest {
        limit_usd: Some(-1.0),
        allowed_models: Some(vec!["gpt-4".into()]),
        allowed_providers: Some(vec!["Open AI".into()]),
        ..CreateGuardrailRequest::new(" ")
    });
    let fields: Vec<&str> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
    assert_eq!(
        fields,
        ["name", "limit_usd", "allowed_models", "allowed_providers"]
    );
    assert!(
        w.t.service
            .guardrail_validate(&CreateGuardrailRequest::new("ok"))
            .is_empty()
    );

    w.t.service
        .guardrails_list(list_args(&w, true))
        .await
        .unwrap();
    let sent_before = w.requests_to("/api/v1/guardrails").await;
    assert!(sent_before > 0, "the request log sees guardrail calls");
    let error =
        w.t.service
            .guardrail_create(GuardrailCreateArgs {
                profile_id: w.profile_id.clone(),
                request: CreateGuardrailRequest::new(""),
            })
            .await
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error =
        w.t.service
            .guardrail_assign(GuardrailAssignArgs {
                profile_id: w.profile_id.clone(),
                guardrail_id: "550e8400-e29b-41d4-a716-446655440000".into(),
                key_hashes: Vec::new(),
                member_user_ids: Vec::new(),
            })
            .await
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(w.requests_to("/api/v1/guardrails").await, sent_before);
}

#[tokio::test]
async fn the_picker_gets_the_model_list() {
    let w = watched("gr-models").await;
    let models =
        w.t.service
            .models(ProfileScopedArgs {
                profile_id: w.profile_id.clone(),
            })
            .await
            .unwrap();
    assert!(
        models.iter().any(|m| m.id == "openai/gpt-4.1"),
        "{models:?}"
    );
}
