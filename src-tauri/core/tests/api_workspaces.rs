//! The client's workspace, member, budget and organization endpoints and the multi-workspace key
//! listing against the emulator over HTTP, with every documented error.

// cfg(test) on the crate lets helper functions unwrap like the tests do (clippy.toml allows it in tests).
#![cfg(test)]

mod api_support;

use keyward_core::Error;
use keyward_core::api::{
    BudgetInterval, CreateKeyRequest, CreateWorkspaceRequest, ListKeysQuery, Patch,
    SetWorkspaceBudgetRequest, UpdateWorkspaceRequest,
};
use openrouter_emulator::DEFAULT_WORKSPACE_ID;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use api_support::{TestEnv, start};

fn kind(error: &Error) -> String {
    error.kind().to_string()
}

async fn org_member(env: &TestEnv, id: &str, role: &str) {
    env.control_post(
        "/organization/members",
        json!({"id": id, "email": format!("{id}@x.test"), "first_name": "F", "role": role}),
    )
    .await;
}

#[tokio::test]
async fn workspace_crud_round_trip() {
    let env = start().await;
    let listed = env.client.list_workspaces().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, DEFAULT_WORKSPACE_ID);

    let created = env
        .client
        .create_workspace(&CreateWorkspaceRequest {
            description: Some("evals".into()),
            io_logging_sampling_rate: Some(0.25),
            ..CreateWorkspaceRequest::new("Research", "research")
        })
        .await
        .unwrap();
    assert_eq!(created.name, "Research");
    assert_eq!(created.slug, "research");
    assert_eq!(created.description.as_deref(), Some("evals"));
    assert_eq!(created.io_logging_sampling_rate, Some(0.25));
    assert!(created.created_at.is_some());
    assert!(created.default_guardrail_id.is_some());

    let by_slug = env.client.get_workspace("research").await.unwrap();
    assert_eq!(by_slug, created);
    let updated = env
        .client
        .update_workspace(
            &created.id,
            &UpdateWorkspaceRequest {
                name: Some("R&D".into()),
                description: Patch::Clear,
                ..UpdateWorkspaceRequest::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name, "R&D");
    assert_eq!(updated.description, None);
    assert!(updated.updated_at.is_some());
    assert_eq!(env.client.list_workspaces().await.unwrap().len(), 2);

    env.client.delete_workspace(&created.id).await.unwrap();
    let gone = env.client.get_workspace(&created.id).await.unwrap_err();
    assert_eq!(kind(&gone), "not_found");
    let again = env.client.delete_workspace(&created.id).await.unwrap_err();
    assert_eq!(kind(&again), "not_found");
}

#[tokio::test]
async fn workspace_errors_from_the_server() {
    let env = start().await;
    env.client
        .create_workspace(&CreateWorkspaceRequest::new("Taken", "taken"))
        .await
        .unwrap();
    let duplicate = env
        .client
        .create_workspace(&CreateWorkspaceRequest::new("Other", "taken"))
        .await
        .unwrap_err();
    assert_eq!(kind(&duplicate), "invalid_input");
    assert!(
        duplicate.to_string().contains("already used"),
        "{duplicate}"
    );

    let default = env
        .client
        .delete_workspace(DEFAULT_WORKSPACE_ID)
        .await
        .unwrap_err();
    assert_eq!(kind(&default), "invalid_input");
    assert!(default.to_string().contains("default workspace"));

    let holder = env
        .client
        .create_workspace(&CreateWorkspaceRequest::new("Holder", "holder"))
        .await
        .unwrap();
    env.client
        .create_key(&CreateKeyRequest {
            workspace_id: Some(holder.id.clone()),
            ..CreateKeyRequest::new("held")
        })
        .await
        .unwrap();
    let holding = env.client.delete_workspace(&holder.id).await.unwrap_err();
    assert_eq!(kind(&holding), "invalid_input");
    assert!(holding.to_string().contains("still holds"), "{holding}");

    let missing = env
        .client
        .update_workspace(
            "no-such-workspace",
            &UpdateWorkspaceRequest {
                name: Some("x".into()),
                ..UpdateWorkspaceRequest::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&missing), "not_found");

    let unknown_workspace = env
        .client
        .create_key(&CreateKeyRequest {
            workspace_id: Some("99999999-2222-4333-8444-555555555555".into()),
            ..CreateKeyRequest::new("nowhere")
        })
        .await
        .unwrap_err();
    assert_eq!(kind(&unknown_workspace), "invalid_input");
}

#[tokio::test]
async fn bad_input_is_refused_before_sending() {
    let env = start().await;
    env.clear_requests().await;
    let cases: Vec<(Error, &str)> = vec![
        (
            env.client
                .create_workspace(&CreateWorkspaceRequest::new(" ", "ok"))
                .await
                .unwrap_err(),
            "name",
        ),
        (
            env.client
                .create_workspace(&CreateWorkspaceRequest::new("Ok", "Not A Slug"))
                .await
                .unwrap_err(),
            "slug",
        ),
        (
            env.client
                .create_workspace(&CreateWorkspaceRequest {
                    description: Some("d".repeat(501)),
                    ..CreateWorkspaceRequest::new("Ok", "ok")
                })
                .await
                .unwrap_err(),
            "description",
        ),
        (
            env.client
                .update_workspace("ok", &UpdateWorkspaceRequest::default())
                .await
                .unwrap_err(),
            "nothing to change",
        ),
        (
            env.client.get_workspace("../keys").await.unwrap_err(),
            "workspace_id",
        ),
        (
            env.client
                .add_workspace_members("default", &[])
                .await
                .unwrap_err(),
            "user_ids",
        ),
        (
            env.client
                .set_workspace_budget(
                    "default",
                    BudgetInterval::Daily,
                    &SetWorkspaceBudgetRequest::new(0.0),
                )
                .await
                .unwrap_err(),
            "limit_usd",
        ),
    ];
    for (error, field) in cases {
        assert_eq!(kind(&error), "invalid_input", "{error}");
        assert!(error.to_string().contains(field), "{error} lacks {field}");
    }
    assert!(env.requests().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn members_and_organization() {
    let env = start().await;
    org_member(&env, "user_admin", "org:admin").await;
    org_member(&env, "user_dev", "org:member").await;
    let org = env.client.organization_members().await.unwrap();
    assert_eq!(org.len(), 3);
    let dev = org.iter().find(|m| m.id == "user_dev").unwrap();
    assert_eq!(dev.role, "org:member");
    assert_eq!(dev.email, "user_dev@x.test");

    let workspace = env
        .client
        .create_workspace(&CreateWorkspaceRequest::new("Team", "team"))
        .await
        .unwrap();
    assert!(
        env.client
            .list_workspace_members(&workspace.id)
            .await
            .unwrap()
            .is_empty()
    );
    let added = env
        .client
        .add_workspace_members(&workspace.id, &["user_admin".into(), "user_dev".into()])
        .await
        .unwrap();
    assert_eq!(added.len(), 2);
    assert_eq!(added[0].role, "admin");
    assert_eq!(added[1].role, "member");
    assert_eq!(added[0].workspace_id, workspace.id);
    let members = env.client.list_workspace_members("team").await.unwrap();
    assert_eq!(members, added);

    let stranger = env
        .client
        .add_workspace_members("team", &["stranger".into()])
        .await
        .unwrap_err();
    assert_eq!(kind(&stranger), "invalid_input");
    let removed = env
        .client
        .remove_workspace_members("team", &["user_admin".into(), "nobody".into()])
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let members = env.client.list_workspace_members("team").await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].user_id, "user_dev");
    let missing = env.client.list_workspace_members("nope").await.unwrap_err();
    assert_eq!(kind(&missing), "not_found");
}

#[tokio::test]
async fn paged_lists_are_fetched_whole() {
    let env = start().await;
    for index in 0..104 {
        org_member(&env, &format!("user_{index:03}"), "org:member").await;
    }
    let org = env.client.organization_members().await.unwrap();
    assert_eq!(org.len(), 105);
    let unique: std::collections::HashSet<&str> = org.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(unique.len(), 105);
    let ids: Vec<String> = org.iter().skip(1).take(100).map(|m| m.id.clone()).collect();
    env.client
        .add_workspace_members("default", &ids)
        .await
        .unwrap();
    let members = env.client.list_workspace_members("default").await.unwrap();
    assert_eq!(members.len(), 101, "the account's user and the 100 added");
}

#[tokio::test]
async fn budgets_round_trip() {
    let env = start().await;
    let none = env.client.workspace_budgets("default").await.unwrap();
    assert!(none.budgets.is_empty());
    assert!(!none.include_byok_in_budgets);
    let missing = env
        .client
        .workspace_budget("default", BudgetInterval::Weekly)
        .await
        .unwrap_err();
    assert_eq!(kind(&missing), "not_found");

    let monthly = env
        .client
        .set_workspace_budget(
            "default",
            BudgetInterval::Monthly,
            &SetWorkspaceBudgetRequest {
                limit_usd: 100.0,
                include_byok_in_budgets: Some(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(monthly.budget.limit_usd, 100.0);
    assert_eq!(monthly.budget.interval(), BudgetInterval::Monthly);
    assert_eq!(monthly.budget.workspace_id, DEFAULT_WORKSPACE_ID);
    assert!(monthly.include_byok_in_budgets);
    let lifetime = env
        .client
        .set_workspace_budget(
            DEFAULT_WORKSPACE_ID,
            BudgetInterval::Lifetime,
            &SetWorkspaceBudgetRequest::new(400.0),
        )
        .await
        .unwrap();
    assert_eq!(lifetime.budget.reset_interval, None);
    assert_eq!(lifetime.budget.interval(), BudgetInterval::Lifetime);

    let too_wide = env
        .client
        .set_workspace_budget(
            "default",
            BudgetInterval::Daily,
            &SetWorkspaceBudgetRequest::new(150.0),
        )
        .await
        .unwrap_err();
    assert_eq!(kind(&too_wide), "invalid_input");
    assert!(too_wide.to_string().contains("strictly decrease"));

    let got = env
        .client
        .workspace_budget("default", BudgetInterval::Monthly)
        .await
        .unwrap();
    assert_eq!(got.budget, monthly.budget);
    let all = env.client.workspace_budgets("default").await.unwrap();
    assert_eq!(all.budgets.len(), 2);
    assert!(all.include_byok_in_budgets);

    env.client
        .delete_workspace_budget("default", BudgetInterval::Monthly)
        .await
        .unwrap();
    env.client
        .delete_workspace_budget("default", BudgetInterval::Monthly)
        .await
        .unwrap();
    assert_eq!(
        env.client
            .workspace_budgets("default")
            .await
            .unwrap()
            .budgets,
        vec![lifetime.budget]
    );
    let no_workspace = env
        .client
        .delete_workspace_budget("nope", BudgetInterval::Daily)
        .await
        .unwrap_err();
    assert_eq!(kind(&no_workspace), "not_found");
}

#[tokio::test]
async fn inference_keys_and_no_key_are_refused() {
    let env = start().await;
    let created = env
        .client
        .create_key(&CreateKeyRequest::new("inference"))
        .await
        .unwrap();
    let secret = created.secret.expose_secret().to_owned();
    let inference = env.client_with(|config| config.api_key = SecretString::from(secret));
    let anonymous = env.client_with(|config| config.api_key = SecretString::from(""));
    for (client, expected) in [(&inference, "forbidden"), (&anonymous, "unauthorized")] {
        let errors = [
            client.list_workspaces().await.unwrap_err(),
            client.get_workspace("default").await.unwrap_err(),
            client
                .create_workspace(&CreateWorkspaceRequest::new("x", "x"))
                .await
                .unwrap_err(),
            client.list_workspace_members("default").await.unwrap_err(),
            client.workspace_budgets("default").await.unwrap_err(),
            client.organization_members().await.unwrap_err(),
            client
                .list_all_workspaces(&ListKeysQuery::everything())
                .await
                .unwrap_err(),
        ];
        for error in errors {
            assert_eq!(kind(&error), expected, "{error}");
        }
    }
}

#[tokio::test]
async fn keys_of_every_workspace_are_listed_with_their_workspace() {
    let env = start().await;
    let home = env.seed(150, None).await;
    let research = env
        .client
        .create_workspace(&CreateWorkspaceRequest::new("Research", "research"))
        .await
        .unwrap();
    let elsewhere = env.seed(120, Some(&research.id)).await;
    let account = env
        .client
        .list_all_workspaces(&ListKeysQuery::everything())
        .await
        .unwrap();
    assert_eq!(account.workspaces.len(), 2);
    assert_eq!(account.keys.len(), 270);
    for key in &account.keys {
        let expected = if elsewhere.contains(&key.hash) {
            research.id.as_str()
        } else {
            assert!(home.contains(&key.hash));
            DEFAULT_WORKSPACE_ID
        };
        assert_eq!(key.workspace_id.as_deref(), Some(expected));
    }
    let only_research = env
        .client
        .list_all_in(&research.id, &ListKeysQuery::everything())
        .await
        .unwrap();
    let hashes: Vec<String> = only_research.into_iter().map(|key| key.hash).collect();
    assert_eq!(hashes, elsewhere);
}
