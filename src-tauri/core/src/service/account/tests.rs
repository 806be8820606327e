//! Unit tests of the account facts: tolerated endpoints, per-key and pooled budgets.

use super::*;
use crate::api::WorkspaceBudget;

fn key(hash: &str, workspace: &str) -> ApiKey {
    let mut key: ApiKey = serde_json::from_value(serde_json::json!({
        "hash": hash, "name": hash, "label": "sk-or-v1-abc...def", "disabled": false,
        "limit": null, "limit_remaining": null, "limit_reset": null,
        "include_byok_in_limit": false, "usage": 0.0, "usage_daily": 0.0,
        "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
        "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
    }))
    .expect("a key");
    key.workspace_id = Some(workspace.to_owned());
    key
}

fn guardrail(id: &str, name: &str, limit: f64) -> Guardrail {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": name, "limit_usd": limit, "reset_interval": "daily",
    }))
    .expect("a guardrail")
}

#[test]
fn a_forbidden_or_missing_endpoint_is_unavailable_not_an_error() {
    let missing: Result<u8, Error> = Err(Error::NotFound {
        message: "no".into(),
    });
    assert_eq!(tolerate(missing, "x").ok(), Some(None));
    let forbidden: Result<u8, Error> = Err(Error::Forbidden {
        message: "no".into(),
    });
    assert_eq!(tolerate(forbidden, "x").ok(), Some(None));
    let down: Result<u8, Error> = Err(Error::Server {
        status: 500,
        message: "down".into(),
    });
    assert!(tolerate(down, "x").is_err());
}

#[test]
fn budgets_are_per_key_for_guardrails_and_pooled_for_workspaces() {
    let mut a = key("a", "ws1");
    a.usage_daily = 3.0;
    a.usage_monthly = 40.0;
    let mut b = key("b", "ws1");
    b.usage_monthly = 25.0;
    b.usage_daily = 9.0;
    let mut other = key("c", "ws2");
    other.usage_monthly = 500.0;
    let keys = vec![a.clone(), b, other];
    let facts = AccountFacts {
        guardrails: Some(vec![guardrail("g1", "Production allowlist", 10.0)]),
        assignments: Some(vec![KeyAssignment {
            id: "as1".into(),
            key_hash: "a".into(),
            guardrail_id: "g1".into(),
            key_name: "a".into(),
            key_label: String::new(),
            assigned_by: None,
            created_at: None,
        }]),
        budgets: Some(HashMap::from([(
            "ws1".to_owned(),
            WorkspaceBudgets {
                budgets: vec![WorkspaceBudget {
                    id: "b1".into(),
                    workspace_id: "ws1".into(),
                    limit_usd: 100.0,
                    reset_interval: Some("monthly".into()),
                    created_at: None,
                    updated_at: None,
                }],
                include_byok_in_budgets: false,
            },
        )])),
        workspace_names: HashMap::from([("ws1".to_owned(), "Research".to_owned())]),
        credits: Some(Credits {
            total_credits: 1000.0,
            total_usage: 600.0,
        }),
    };
    let burns = HashMap::from([
        ("a".to_owned(), 2.0),
        ("b".to_owned(), 1.0),
        ("c".to_owned(), 4.0),
    ]);
    let budgets = facts.budgets_for(&a, &keys, &burns);
    let summary: Vec<(StopScope, &str, f64, f64, Option<f64>)> = budgets
        .iter()
        .map(|b| (b.scope, b.name.as_str(), b.limit, b.spent, b.burn_per_day))
        .collect();
    assert_eq!(
        summary,
        [
            // The guardrail counts the key's own daily spend at the key's burn.
            (
                StopScope::Guardrail,
                "Production allowlist",
                10.0,
                3.0,
                Some(2.0)
            ),
            // The workspace pools ws1's keys only.
            (StopScope::Workspace, "Research", 100.0, 65.0, Some(3.0)),
            (
                StopScope::Credits,
                "Account credits",
                1000.0,
                600.0,
                Some(7.0)
            ),
        ]
    );
    // Key b has no guardrail.
    let b_budgets = facts.budgets_for(&keys[1], &keys, &burns);
    assert!(b_budgets.iter().all(|b| b.scope != StopScope::Guardrail));
    assert_eq!(facts.unavailable(), []);
    let nothing = AccountFacts::default();
    assert!(nothing.budgets_for(&a, &keys, &burns).is_empty());
    assert_eq!(
        nothing.unavailable(),
        [
            AccountPart::Guardrails,
            AccountPart::WorkspaceBudgets,
            AccountPart::Credits
        ]
    );
}
