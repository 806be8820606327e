//! Rotations run by the real service over the emulator (in-memory vault, a clock that only moves when
//! the scenario says), every `rotation-changed` view recorded with what caused it (`start`, `tick`, or
//! the person's action), then made deterministic: ids, hashes, labels, paths and the emulator's times
//! replaced by fixed stand-ins. The UI's fake shell replays these instead of stepping rotations itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use keyward_core::deploy::DeployTarget;
use keyward_core::rotation::{
    Boundary, HookPoint, RotationAction, RotationHooks, RotationStartArgs, RotationStepName,
    RotationView,
};
use serde_json::{Map, Value, json};

use crate::rotation_support::{FaultAt, Rig, VARIABLE, rig_with};

/// The fixed "now" every scenario starts at.
const BASE: &str = "2026-11-23T12:00:00Z";

const TEST_SERVICE: &str = "keyward-test-service-";

/// One recorded rotation: its views in order, each with what caused it.
struct Recording {
    rig: Rig,
    id: String,
    frames: Vec<(String, RotationView)>,
    seen: usize,
}

impl Recording {
    async fn start(rig: Rig, delete_at_once: bool) -> Self {
        let args = RotationStartArgs {
            profile_id: rig.profile_id.clone(),
            key_hash: rig.old_hash.clone(),
            delete_at_once,
            new_expiry: None,
        };
        let view = rig.t.service.rotation_start(args).await.unwrap();
        let mut recording = Recording {
            rig,
            id: view.id,
            frames: Vec::new(),
            seen: 0,
        };
        recording.take("start");
        recording
    }

    /// The views announced since the last call, tagged with their cause.
    fn take(&mut self, by: &str) {
        let events = self.rig.events.0.lock().unwrap();
        for view in &events[self.seen..] {
            if view.id == self.id {
                self.frames.push((by.to_owned(), view.clone()));
            }
        }
        self.seen = events.len();
    }

    async fn act(&mut self, action: RotationAction) {
        self.rig
            .t
            .service
            .rotation_action(&self.id, action)
            .await
            .unwrap();
        self.take(serde_json::to_value(action).unwrap().as_str().unwrap());
    }

    async fn tick_after(&mut self, seconds: i64) {
        self.rig.t.advance_clock(seconds);
        self.rig.t.service.rotation_tick().await.unwrap();
        self.take("tick");
    }

    /// The frames as JSON, with everything that differs between runs replaced.
    fn finish(self, about: &str, extra_paths: &[(String, &str)]) -> Value {
        let mut names: Vec<(String, String)> = vec![
            (self.id.clone(), "rot-1".into()),
            (self.rig.old_hash.clone(), "old-hash".into()),
            (self.rig.profile_id.clone(), "p1".into()),
            (
                self.rig.env_path.display().to_string(),
                "/srv/app/.env".into(),
            ),
            (self.rig.t.dir.path().display().to_string(), "/srv".into()),
            (
                self.rig
                    .emulator
                    .base_url()
                    .trim_end_matches('/')
                    .to_owned(),
                "http://127.0.0.1:8080".into(),
            ),
        ];
        for (path, stand_in) in extra_paths {
            names.push((path.clone(), (*stand_in).to_owned()));
        }
        if let Some((_, view)) = self.frames.iter().find(|(_, v)| v.new_key_hash.is_some()) {
            names.push((view.new_key_hash.clone().unwrap(), "new-hash".into()));
            names.push((
                view.new_key_label.clone().unwrap(),
                "sk-or-v1-abc...xyz".into(),
            ));
        }
        // Longest first, so a path is replaced before a directory it contains.
        names.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        let frames: Vec<Value> = self
            .frames
            .into_iter()
            .map(|(by, view)| {
                let mut view = serde_json::to_value(view).unwrap();
                normalise(&mut view, &names);
                json!({ "by": by, "view": view })
            })
            .collect();
        json!({ "about": about, "frames": frames })
    }
}

/// Replaces run-specific strings; times from the emulator (not the fixed clock) become `BASE`.
fn normalise(value: &mut Value, names: &[(String, String)]) {
    match value {
        Value::String(text) => {
            for (from, to) in names {
                if text.contains(from.as_str()) {
                    *text = text.replace(from.as_str(), to);
                }
            }
            // The test vault's unique service name ("keyward-test-service-<test>-<pid>-…").
            if let Some(at) = text.find(TEST_SERVICE) {
                let end = text[at..].find('"').map_or(text.len(), |n| at + n);
                text.replace_range(at..end, "keyward");
            }
            // A backup's name carries a digest of the real (temporary) path of its file.
            const BACKUP: &str = ".keyward-backup";
            if let Some(end) = text.find(BACKUP)
                && end >= 17
                && text.is_char_boundary(end - 17)
                && text[end - 16..end].bytes().all(|b| b.is_ascii_hexdigit())
                && &text[end - 17..end - 16] == "."
            {
                text.replace_range(end - 16..end, "0123456789abcdef");
            }
            if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                let at = at.with_timezone(&Utc);
                // The fixed clock gives whole seconds; anything else came from the wall clock.
                if at.timestamp_subsec_nanos() != 0 {
                    *text = BASE.to_owned();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| normalise(v, names)),
        Value::Object(map) => map.values_mut().for_each(|v| normalise(v, names)),
        _ => {}
    }
}

/// A rig (old key `prod-api`, an `.env` target) whose clock stands at `BASE` until advanced.
async fn fixed_rig(test: &str, hooks: Option<Arc<dyn RotationHooks>>) -> Rig {
    let base: DateTime<Utc> = BASE.parse().unwrap();
    rig_with(test, hooks, move |config| {
        let real = Arc::clone(&config.clock);
        // The support's clock is the wall clock plus the test's offset: keep only the offset.
        config.clock = Arc::new(move || {
            let offset = (real() - Utc::now()).num_milliseconds();
            base + chrono::Duration::seconds((offset as f64 / 1000.0).round() as i64)
        });
    })
    .await
}

fn env_target(path: &std::path::Path) -> DeployTarget {
    DeployTarget::EnvFile {
        path: path.display().to_string(),
        variable: VARIABLE.into(),
    }
}

/// Every scenario the UI's component and browser tests replay, by name.
pub async fn recorded() -> Value {
    let mut all = Map::new();

    // Drain waits 15 min, then the old key is disabled, waits out the grace period, and is deleted.
    let rig = fixed_rig("fx-happy", None).await;
    rig.set_policy(|p| {
        p.quiet_period_secs = 900;
        p.grace_period_secs = 86_400;
    });
    let mut r = Recording::start(rig, false).await;
    r.tick_after(901).await;
    r.tick_after(86_401).await;
    all.insert(
        "happy".into(),
        r.finish("an .env target, drain 15 min, grace 1 day", &[]),
    );

    // The person says the old key is no longer used; deleted at once after disabling.
    let rig = fixed_rig("fx-confirm", None).await;
    rig.set_policy(|p| p.quiet_period_secs = 900);
    let mut r = Recording::start(rig, true).await;
    r.act(RotationAction::ConfirmDrained).await;
    all.insert(
        "confirm_drained".into(),
        r.finish("drain 15 min confirmed by the person, delete at once", &[]),
    );

    // Grace period ended by hand.
    let rig = fixed_rig("fx-grace", None).await;
    rig.set_policy(|p| p.quiet_period_secs = 0);
    let mut r = Recording::start(rig, false).await;
    r.act(RotationAction::DeleteNow).await;
    all.insert(
        "delete_now".into(),
        r.finish("no drain; the grace period cut short", &[]),
    );

    // One of two targets fails (its directory is missing); fixed, Retry, drained by the person's
    // word, then waits out the grace period.
    let rig = fixed_rig("fx-deploy-fails", None).await;
    let missing_dir = rig.t.dir.path().join("worker");
    let missing = missing_dir.join("app.env");
    let good = rig.env_target();
    rig.set_policy(|p| {
        p.quiet_period_secs = 900;
        p.grace_period_secs = 86_400;
        p.targets = vec![good, env_target(&missing)];
    });
    let mut r = Recording::start(rig, false).await;
    std::fs::create_dir_all(&missing_dir).unwrap();
    std::fs::write(&missing, format!("{VARIABLE}=old\n")).unwrap();
    r.act(RotationAction::Retry).await;
    r.act(RotationAction::ConfirmDrained).await;
    let extra = [(missing.display().to_string(), "/srv/worker/.env")];
    all.insert(
        "deploy_fails".into(),
        r.finish(
            "deploy to /srv/worker/.env fails, Retry after the fix, drain confirmed, grace 1 day",
            &extra,
        ),
    );

    // Verifying the new key meets two 500s (GET /key is retried once); Retry once they stop.
    let hook = FaultAt::new(
        HookPoint::new(RotationStepName::Verify, Boundary::Before),
        json!({"server_error": {"next": 2}}),
    );
    let rig = fixed_rig("fx-verify-fails", Some(hook.clone())).await;
    rig.set_policy(|p| p.quiet_period_secs = 900);
    hook.arm(&rig.control());
    let mut r = Recording::start(rig, false).await;
    r.rig.clear_faults().await;
    r.act(RotationAction::Retry).await;
    all.insert(
        "verify_fails".into(),
        r.finish("verify meets 500s, Retry goes on to the drain", &[]),
    );

    // No deploy targets: waits for the person, who rolls back (the unused new key is deleted).
    let rig = fixed_rig("fx-no-targets", None).await;
    rig.set_policy(|p| p.targets.clear());
    let mut r = Recording::start(rig, false).await;
    r.act(RotationAction::RollBack).await;
    all.insert(
        "no_targets_rolled_back".into(),
        r.finish(
            "no deploy targets; rolled back while waiting for the person",
            &[],
        ),
    );

    json!({
        "note": "Recorded from the core by `KEYWARD_REGENERATE_FIXTURES=1 cargo test -p keyward-core --test ui_fixtures`. Do not edit by hand.",
        "scenarios": all,
    })
}
