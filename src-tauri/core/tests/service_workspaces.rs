//! The Workspaces view's service: a workspace's details (key count, spend pooled from its keys'
//! counters, budgets per interval with what is left, members named from the organization) and
//! budget edits, against the emulator; bad limits are refused before anything is sent.

// Helpers outside #[test] functions panic on failure too; .clippy.toml only covers the tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod service_support;
mod watch_support;

use keyward_core::api::BudgetInterval;
use keyward_core::ipc::{
    WorkspaceBudgetDeleteArgs, WorkspaceBudgetSetArgs, WorkspaceDetails, WorkspaceDetailsArgs,
};
use keyward_core::{Error, ErrorKind};
use serde_json::{Value, json};
use service_support::list;
use watch_support::{Watched, watched};

async fn create_workspace(w: &Watched, name: &str, slug: &str) -> String {
    let answer = w
        .http
        .post(format!("{}/workspaces", w.emulator.base_url()))
        .bearer_auth(w.emulator.management_key())
        .json(&json!({"name": name, "slug": slug, "description": "Model experiments"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let created: Value = answer.json().await.unwrap();
    created["data"]["id"].as_str().unwrap().to_owned()
}

async fn details(w: &Watched, workspace_id: &str) -> WorkspaceDetails {
    w.t.service
        .workspace_details(WorkspaceDetailsArgs {
            profile_id: w.profile_id.clone(),
            workspace_id: workspace_id.to_owned(),
        })
        .await
        .unwrap()
}

fn set_args(
    w: &Watched,
    workspace_id: &str,
    interval: BudgetInterval,
    limit: &str,
) -> WorkspaceBudgetSetArgs {
    WorkspaceBudgetSetArgs {
        profile_id: w.profile_id.clone(),
        workspace_id: workspace_id.to_owned(),
        interval,
        limit_usd: limit.to_owned(),
    }
}

#[tokio::test]
async fn details_pool_the_workspace_keys_spend_and_name_its_members() {
    let w = watched("ws-details").await;
    let research = create_workspace(&w, "Research", "research").await;
    let a = w
        .create_key(json!({"name": "r-a", "workspace_id": research}))
        .await;
    let b = w
        .create_key(json!({"name": "r-b", "workspace_id": research}))
        .await;
    let home = w.create_key(json!({"name": "home"})).await;
    w.spend(&a, 3.0).await;
    w.spend(&b, 1.5).await;
    w.spend(&home, 100.0).await;
    w.control(
        "/organization/members",
        json!({"id": "user_ada", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "role": "org:member"}),
    )
    .await;
    let added = w
        .http
        .post(format!(
            "{}/workspaces/{research}/members/add",
            w.emulator.base_url()
        ))
        .bearer_auth(w.emulator.management_key())
        .json(&json!({"user_ids": ["user_ada"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    w.t.service
        .keys_list(list(&w.profile_id, true))
        .await
        .unwrap();

    let shown = details(&w, &research).await;
    assert_eq!(
        (shown.name.as_str(), shown.slug.as_str()),
        ("Research", "research")
    );
    assert_eq!(shown.description.as_deref(), Some("Model experiments"));
    assert_eq!(shown.key_count, 2);
    assert!((shown.spend_month - 4.5).abs() < 1e-9, "{shown:#?}");
    let intervals: Vec<BudgetInterval> = shown.budgets.iter().map(|b| b.interval).collect();
    assert_eq!(
        intervals,
        [
            BudgetInterval::Daily,
            BudgetInterval::Weekly,
            BudgetInterval::Monthly,
            BudgetInterval::Lifetime
        ]
    );
    assert!(
        shown
            .budgets
            .iter()
            .all(|b| b.limit_usd.is_none() && b.left.is_none())
    );
    let lifetime = &shown.budgets[3];
    assert!((lifetime.spent - 4.5).abs() < 1e-9, "{lifetime:?}");
    let ada = shown
        .members
        .iter()
        .find(|m| m.user_id == "user_ada")
        .expect("ada is a member");
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.email.as_deref(), Some("ada@example.com"));
    assert_eq!(ada.role, "member");
}

#[tokio::test]
async fn a_budget_is_set_shown_with_what_is_left_and_removed() {
    let w = watched("ws-budget").await;
    let research = create_workspace(&w, "Research", "research").await;
    let key = w
        .create_key(json!({"name": "r", "workspace_id": research}))
        .await;
    w.spend(&key, 4.0).await;
    w.t.service
        .keys_list(list(&w.profile_id, true))
        .await
        .unwrap();

    let after_set =
        w.t.service
            .workspace_budget_set(set_args(&w, &research, BudgetInterval::Monthly, " 10 "))
            .await
            .unwrap();
    let monthly = &after_set.budgets[2];
    assert_eq!(monthly.interval, BudgetInterval::Monthly);
    assert_eq!(monthly.limit_usd, Some(10.0));
    assert!((monthly.spent - 4.0).abs() < 1e-9, "{monthly:?}");
    assert!((monthly.left.unwrap() - 6.0).abs() < 1e-9, "{monthly:?}");
    assert_eq!(
        details(&w, &research).await.budgets[2].limit_usd,
        Some(10.0)
    );

    // The server's own rule (a daily budget above the monthly one) comes back as an error.
    let refused =
        w.t.service
            .workspace_budget_set(set_args(&w, &research, BudgetInterval::Daily, "50"))
            .await
            .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused:?}");

    let after_delete =
        w.t.service
            .workspace_budget_delete(WorkspaceBudgetDeleteArgs {
                profile_id: w.profile_id.clone(),
                workspace_id: research.clone(),
                interval: BudgetInterval::Monthly,
            })
            .await
            .unwrap();
    assert_eq!(after_delete.budgets[2].limit_usd, None);
    assert_eq!(details(&w, &research).await.budgets[2].limit_usd, None);
}

#[tokio::test]
async fn a_bad_limit_is_refused_before_any_request() {
    let w = watched("ws-bad-limit").await;
    let research = create_workspace(&w, "Research", "research").await;
    let before = w.requests_to("/api/v1/workspaces").await + w.requests_to("/workspaces").await;
    for bad in ["", "ten", "0", "-5"] {
        let error =
            w.t.service
                .workspace_budget_set(set_args(&w, &research, BudgetInterval::Weekly, bad))
                .await
                .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad:?}");
        assert!(
            matches!(&error, Error::InvalidInput { field: Some(field), .. } if field == "limit_usd"),
            "{bad:?}: {error:?}"
        );
    }
    let after = w.requests_to("/api/v1/workspaces").await + w.requests_to("/workspaces").await;
    assert_eq!(before, after, "nothing was sent");
}
