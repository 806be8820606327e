//! The core's rotation rules and rotations, recorded for the UI's fake shell:
//! `ui/src/test/fixtures/rotation-rules.json` holds the core's answers (the default policy, new key
//! names, name matches, every problem of a policy) for the cases below, which
//! `ui/src/test/fakeRotation.test.ts` holds the fake to; `rotation-replays.json` holds every
//! `RotationView` the real service announced while running the scenarios of `replays.rs` (the fake
//! replays them instead of stepping rotations itself). Each test fails when its file is stale;
//! `KEYWARD_REGENERATE_FIXTURES=1 cargo test -p keyward-core --test ui_fixtures` rewrites them.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "ui_fixtures/replays.rs"]
mod replays;
mod rotation_support;
mod service_support;

use std::path::PathBuf;

use chrono::NaiveDate;
use keyward_core::Error;
use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::{NewExpiry, RotationPolicy, name_matches, new_key_name};
use serde_json::{Value, json};

const REGENERATE_ENV: &str = "KEYWARD_REGENERATE_FIXTURES";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../ui/src/test/fixtures")
        .join(name)
}

/// Compares `fresh` with the committed file `name`, or rewrites it when asked to.
pub(crate) fn check_fixture(name: &str, fresh: &str) {
    let path = fixture_path(name);
    if std::env::var_os(REGENERATE_ENV).is_some_and(|v| !v.is_empty()) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is stale; run `{REGENERATE_ENV}=1 cargo test -p keyward-core --test ui_fixtures`",
        path.display()
    );
}

fn policies() -> Vec<RotationPolicy> {
    let base = RotationPolicy::default_for("p1", "old-hash");
    let env = |path: &str, variable: &str| DeployTarget::EnvFile {
        path: path.into(),
        variable: variable.into(),
    };
    let keychain = |service: &str, account: &str| DeployTarget::Keychain {
        service: service.into(),
        account: account.into(),
    };
    let command = |program: &str, env_var: &str| DeployTarget::Command {
        program: program.into(),
        args: vec!["--service".into(), "api".into()],
        env_var: env_var.into(),
        working_dir: None,
    };
    let with = |change: &dyn Fn(&mut RotationPolicy)| {
        let mut policy = base.clone();
        change(&mut policy);
        policy
    };
    vec![
        base.clone(),
        with(&|p| {
            p.every_days = Some(0);
            p.before_expiry_days = Some(0);
            p.new_expiry = NewExpiry::Days(0);
        }),
        with(&|p| {
            p.quiet_period_secs = 30 * 86_400 + 1;
            p.grace_period_secs = 30 * 86_400 + 1;
        }),
        with(&|p| {
            p.quiet_period_secs = 30 * 86_400;
            p.grace_period_secs = 0;
            p.new_expiry = NewExpiry::Never;
        }),
        with(&|p| p.auto_rotate = true),
        with(&|p| {
            p.auto_rotate = true;
            p.targets = vec![DeployTarget::Clipboard];
        }),
        with(&|p| {
            p.auto_rotate = true;
            p.every_days = Some(30);
            p.targets = vec![DeployTarget::Clipboard];
        }),
        with(&|p| {
            p.targets = vec![
                env("", "OPENROUTER_API_KEY"),
                env("relative/.env", "OPENROUTER_API_KEY"),
                env("/srv/app/.env", "1BAD-NAME"),
                env("/srv/app/.env", "OPENROUTER_API_KEY"),
            ]
        }),
        with(&|p| {
            p.targets = vec![
                keychain("", ""),
                keychain("my-app", ""),
                keychain("my-app", "prod"),
            ]
        }),
        with(&|p| {
            p.every_days = Some(0);
            p.targets = vec![
                command("", "API_KEY"),
                command("reload", "API_KEY"),
                command("/usr/local/bin/reload", "9LIVES"),
                command("/usr/local/bin/reload", "API_KEY"),
            ]
        }),
    ]
}

const NAMES: [&str; 11] = [
    "prod-api",
    "Prod-api",
    "prod-",
    "staging-prod-api",
    "prod-api · rotated 2026-01-02",
    "pod-api",
    "a.b",
    "axb",
    "(x)+",
    "ünïcode",
    "",
];

const PATTERNS: [&str; 8] = [
    "prod-*", "*-api", "p?od-*", "prod-api", "*", "a.b", "(x)+", "ünï*",
];

fn problem(error: &Error) -> Value {
    match error {
        Error::InvalidInput { field, message } => json!({ "field": field, "message": message }),
        other => json!({ "field": null, "message": other.to_string() }),
    }
}

fn recorded() -> String {
    let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
    let names: Vec<Value> = NAMES
        .iter()
        .chain(["  ", "prod · rotated 2026-01-01 · rotated 2026-02-02"].iter())
        .map(|old| json!({ "old": old, "new": new_key_name(old, today) }))
        .collect();
    let matches: Vec<Value> = PATTERNS
        .iter()
        .flat_map(|pattern| {
            NAMES.iter().map(move |name| {
                json!({ "pattern": pattern, "name": name, "matches": name_matches(pattern, name) })
            })
        })
        .collect();
    let policies: Vec<Value> = policies()
        .into_iter()
        .map(|policy| {
            let problems: Vec<Value> = policy.problems().iter().map(problem).collect();
            json!({ "policy": policy, "problems": problems })
        })
        .collect();
    let all = json!({
        "note": "Recorded from the core by `KEYWARD_REGENERATE_FIXTURES=1 cargo test -p keyward-core --test ui_fixtures`. Do not edit by hand.",
        "today": today.to_string(),
        "default_policy": RotationPolicy::default_for("p1", "old-hash"),
        "new_key_names": names,
        "matches": matches,
        "policies": policies,
    });
    let mut text = serde_json::to_string_pretty(&all).unwrap_or_default();
    text.push('\n');
    text
}

#[test]
fn recorded_rotation_rules_are_fresh() {
    check_fixture("rotation-rules.json", &recorded());
}

#[tokio::test]
async fn recorded_rotations_are_fresh() {
    let mut text = serde_json::to_string_pretty(&replays::recorded().await).unwrap();
    text.push('\n');
    check_fixture("rotation-replays.json", &text);
}
