//! The demo account around the demo keys: a second workspace ("Research") holding every third
//! key, a few organization members (some in the workspaces), and workspace budgets; plus the
//! workspaces that seeding into a named or spread set of workspaces needs.

use chrono::{DateTime, TimeDelta, Utc};

use crate::state::{
    Budget, BudgetInterval, DEFAULT_WORKSPACE_ID, Membership, OrgMember, State, WorkspaceRecord,
    new_id,
};

/// The demo's second workspace (fixed, so the sandbox and its tests can name it).
pub const RESEARCH_WORKSPACE_ID: &str = "5b1e0c52-7a4e-4d0b-9f3a-2c6d8e1f4a70";

const DEMO_MEMBERS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "user_2eKq8ZtR4nW1xYb7cD3fG5hJ9kL",
        "grace@example.com",
        "Grace",
        "Hopper",
        "org:admin",
    ),
    (
        "user_2fMn6PqS8tV0wXz2aB4cE6gI8jK",
        "alan@example.com",
        "Alan",
        "Turing",
        "org:member",
    ),
    (
        "user_2gHj3KlM5nP7qRs9tUv1wXy3zAb",
        "ada@example.com",
        "Ada",
        "Lovelace",
        "org:member",
    ),
];

/// Makes sure `workspace_id` exists (seeding into a workspace the test named creates it).
pub fn ensure_workspace(state: &mut State, workspace_id: &str, name: &str) {
    if state.workspaces.find(workspace_id).is_some() {
        return;
    }
    let now = state.now();
    let mut slug: String = name
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() || state.workspaces.slug_taken(&slug, None) {
        slug = format!("ws-{}", &workspace_id[..8.min(workspace_id.len())]);
    }
    state.workspaces.list.push(WorkspaceRecord::new(
        workspace_id.to_owned(),
        name.to_owned(),
        slug,
        now,
    ));
}

/// `count` new workspaces for spreading keys over (`Workspace 2`, `Workspace 3`, …); returns
/// their ids, the default workspace first.
pub fn spread_targets(state: &mut State, count: usize) -> Vec<String> {
    let mut ids = vec![DEFAULT_WORKSPACE_ID.to_owned()];
    for index in 2..=count {
        let id = new_id();
        ensure_workspace(state, &id, &format!("Workspace {index} {}", &id[..4]));
        ids.push(id);
    }
    ids
}

fn member(id: &str, created_at: DateTime<Utc>, role: &str) -> Membership {
    Membership {
        id: new_id(),
        user_id: id.to_owned(),
        role: role.to_owned(),
        created_at,
    }
}

/// The demo account around `hashes` (the demo keys): the Research workspace with every third
/// key, organization members, memberships and budgets.
pub fn seed_account(state: &mut State, hashes: &[String]) {
    let now = state.now();
    let since = now - TimeDelta::days(90);
    for (id, email, first, last, role) in DEMO_MEMBERS {
        state.workspaces.upsert_org_member(OrgMember {
            id: (*id).to_owned(),
            email: (*email).to_owned(),
            first_name: Some((*first).to_owned()),
            last_name: Some((*last).to_owned()),
            role: (*role).to_owned(),
        });
    }
    ensure_workspace(state, RESEARCH_WORKSPACE_ID, "Research");
    if let Some(research) = state.workspaces.find_mut(RESEARCH_WORKSPACE_ID) {
        research.description = Some("Experiments and evaluations".to_owned());
        research.created_at = since;
        research.members = vec![
            member(DEMO_MEMBERS[0].0, since, "admin"),
            member(DEMO_MEMBERS[2].0, since, "member"),
        ];
        research.budgets.insert(
            BudgetInterval::Monthly,
            Budget {
                id: new_id(),
                limit_usd: 250.0,
                created_at: since,
                updated_at: since,
            },
        );
    }
    if let Some(default) = state.workspaces.find_mut(DEFAULT_WORKSPACE_ID) {
        for (id, _, _, _, role) in &DEMO_MEMBERS[..2] {
            if !default.members.iter().any(|m| m.user_id == *id) {
                let role = if *role == "org:admin" {
                    "admin"
                } else {
                    "member"
                };
                default.members.push(member(id, since, role));
            }
        }
        default
            .budgets
            .entry(BudgetInterval::Monthly)
            .or_insert(Budget {
                id: new_id(),
                limit_usd: 1000.0,
                created_at: since,
                updated_at: since,
            });
    }
    for hash in hashes.iter().skip(1).step_by(3) {
        state.patch(hash, |key| {
            key.workspace_id = RESEARCH_WORKSPACE_ID.to_owned()
        });
    }
}
