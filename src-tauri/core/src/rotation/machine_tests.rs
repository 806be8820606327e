//! Unit tests of the rotation state machine: every transition, every failure at every step, the
//! actions each state allows, rollback, the drain rule and the journal check.

use super::*;
use crate::deploy::DeployTarget;
use crate::rotation::{JournalEntry, JournalPhase, JournalStep, check_journal};
use crate::rotation::{NewExpiry, RotationAction};
use crate::{Error, ErrorKind};

const STEPS: [RotationStepName; 9] = RotationStepName::ALL;

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn old_key() -> OldKey {
    OldKey {
        hash: "a".repeat(64),
        name: "prod-api".into(),
        label: "sk-or-v1-abc...def".into(),
        limit: Some(25.0),
        limit_reset: Some(LimitReset::Monthly),
        include_byok_in_limit: true,
        expires_at: Some("2026-12-31T00:00:00Z".parse().unwrap()),
        created_at: Some("2026-10-01T00:00:00Z".parse().unwrap()),
        workspace_id: Some("0df9e665-d932-5740-b2c7-b52af166bc11".into()),
    }
}

fn settings(targets: bool) -> RotationSettings {
    RotationSettings {
        targets: if targets {
            vec![DeployTarget::EnvFile {
                path: "/tmp/app.env".into(),
                variable: "OPENROUTER_API_KEY".into(),
            }]
        } else {
            Vec::new()
        },
        quiet_period_secs: 900,
        grace_period_secs: 86_400,
        new_expiry: NewExpiry::KeepLifetime,
        keep_new_secret: false,
        delete_at_once: false,
    }
}

fn fresh(targets: bool) -> Rotation {
    Rotation::new(
        "r1".into(),
        "p1".into(),
        old_key(),
        settings(targets),
        at(0),
    )
}

fn app_error() -> AppError {
    AppError::from(&Error::Server {
        status: 500,
        message: "Internal Server Error".into(),
    })
}

fn new_key() -> NewKey {
    NewKey {
        hash: "b".repeat(64),
        label: "sk-or-v1-123...456".into(),
        created_at: Some(at(0)),
    }
}

/// Runs `step` to `Done` the way the runner does (with the facts the runner records).
fn complete(rotation: &mut Rotation, step: RotationStepName, now: DateTime<Utc>) {
    assert_eq!(rotation.next_move(now), Next::Run(step), "{step:?}");
    rotation.begin_step(step, now);
    assert_eq!(rotation.status, RotationStatus::Running);
    assert_eq!(rotation.step(step).status, RotationStepStatus::Running);
    match step {
        RotationStepName::Create => rotation.new_key = Some(new_key()),
        RotationStepName::Deploy => {
            rotation.deploy_in_doubt = false;
            rotation.secret_deployed = true;
        }
        _ => {}
    }
    rotation.finish_step(step, StepOutcome::Done(format!("{step:?} done")), now);
    assert_eq!(rotation.step(step).status, RotationStepStatus::Done);
}

/// A rotation with every step before `step` done.
fn at_step(step: RotationStepName) -> Rotation {
    let mut rotation = fresh(true);
    for earlier in STEPS {
        if earlier == step {
            break;
        }
        if earlier == RotationStepName::DeleteOld {
            break;
        }
        complete(&mut rotation, earlier, at(1));
    }
    if step == RotationStepName::DeleteOld {
        // Past the grace period.
        assert_eq!(rotation.next_move(at(1)), Next::Wait(rotation.grace_until));
        return rotation;
    }
    if step == RotationStepName::Detach {
        let after_grace = rotation.grace_until.unwrap();
        complete(&mut rotation, RotationStepName::DeleteOld, after_grace);
    }
    rotation
}

#[test]
fn a_new_rotation_starts_at_create_with_the_old_keys_name() {
    let rotation = fresh(true);
    assert_eq!(rotation.new_key_name, "prod-api · rotated 2026-11-23");
    assert_eq!(rotation.status, RotationStatus::Running);
    assert_eq!(rotation.current_step(), Some(RotationStepName::Create));
    assert_eq!(
        rotation.next_move(at(0)),
        Next::Run(RotationStepName::Create)
    );
    assert_eq!(
        rotation.actions(),
        vec![
            RotationAction::Resume,
            RotationAction::RollBack,
            RotationAction::Abandon
        ]
    );
    let view = rotation.view();
    assert_eq!(view.steps.len(), 9);
    assert!(
        view.steps
            .iter()
            .all(|s| s.status == RotationStepStatus::Pending)
    );
    assert_eq!(view.current_step, Some(RotationStepName::Create));
    assert!(!view.secret_deployed);
}

#[test]
fn names_record_only_the_latest_rotation() {
    let day = NaiveDate::from_ymd_opt(2026, 12, 24).unwrap();
    assert_eq!(
        new_key_name("prod-api · rotated 2026-11-23", day),
        "prod-api · rotated 2026-12-24"
    );
    assert_eq!(new_key_name("  ", day), "key · rotated 2026-12-24");
}

#[test]
fn the_create_request_copies_the_old_keys_settings() {
    let mut rotation = fresh(true);
    let now = at(0);
    let request = rotation.create_request(now);
    // Created under its final name marked with the rotation's token, renamed once the secret is safe.
    let token = rotation.create_token.clone().unwrap();
    assert!(!token.is_empty());
    assert_eq!(
        request.name,
        format!("{} \u{27e8}kw:{token}\u{27e9}", rotation.new_key_name)
    );
    assert!(crate::rotation::carries_token(&request.name, &token));
    assert!(!crate::rotation::carries_token(
        &rotation.new_key_name,
        &token
    ));
    assert_eq!(request.limit, Some(25.0));
    assert_eq!(request.limit_reset, Some(LimitReset::Monthly));
    assert_eq!(request.include_byok_in_limit, Some(true));
    assert_eq!(request.workspace_id, rotation.old.workspace_id);
    // keep_lifetime: the old key lived 91 days; so does the new one, from now.
    assert_eq!(request.expires_at, Some(now + Duration::days(91)));
    request.validate(now).unwrap();

    rotation.settings.new_expiry = NewExpiry::Never;
    assert_eq!(rotation.create_request(now).expires_at, None);
    rotation.settings.new_expiry = NewExpiry::Days(30);
    assert_eq!(
        rotation.create_request(now).expires_at,
        Some(now + Duration::days(30))
    );
    rotation.settings.new_expiry = NewExpiry::KeepLifetime;
    rotation.old.expires_at = None;
    assert_eq!(rotation.create_request(now).expires_at, None);
    rotation.old.limit_reset = Some(LimitReset::Other("hourly".into()));
    assert_eq!(rotation.create_request(now).limit_reset, None);
}

#[test]
fn the_happy_path_walks_every_step_and_completes_after_the_grace_period() {
    let mut rotation = fresh(true);
    for step in &STEPS[..5] {
        complete(&mut rotation, *step, at(1));
    }
    // Drain waits, then completes.
    rotation.begin_step(RotationStepName::Drain, at(2));
    let (state, drained) = drain_observation(
        None,
        3.0,
        None,
        at(2),
        900,
        std::time::Duration::from_secs(60),
    );
    assert!(!drained);
    rotation.drain = Some(state);
    rotation.finish_step(
        RotationStepName::Drain,
        StepOutcome::Waiting("still".into()),
        at(2),
    );
    assert_eq!(rotation.status, RotationStatus::Waiting);
    assert_eq!(rotation.next_move(at(2)), Next::Wait(Some(at(3))));
    assert_eq!(
        rotation.next_move(at(3)),
        Next::Run(RotationStepName::Drain)
    );
    let waiting = rotation.view().waiting_for.unwrap();
    assert!(waiting.contains("15 min"), "{waiting}");
    assert_eq!(
        rotation.actions(),
        vec![
            RotationAction::ConfirmDrained,
            RotationAction::RollBack,
            RotationAction::DeleteNow,
            RotationAction::Abandon
        ]
    );
    rotation.begin_step(RotationStepName::Drain, at(20));
    rotation.finish_step(
        RotationStepName::Drain,
        StepOutcome::Done("quiet".into()),
        at(20),
    );
    complete(&mut rotation, RotationStepName::DisableOld, at(21));
    assert_eq!(rotation.grace_until, Some(at(21) + Duration::days(1)));
    assert_eq!(
        rotation.step(RotationStepName::DeleteOld).status,
        RotationStepStatus::Waiting
    );
    assert_eq!(rotation.status, RotationStatus::Waiting);
    assert_eq!(rotation.next_move(at(22)), Next::Wait(rotation.grace_until));
    assert!(
        rotation
            .view()
            .waiting_for
            .unwrap()
            .contains("grace period")
    );
    assert_eq!(
        rotation.actions(),
        vec![
            RotationAction::DeleteNow,
            RotationAction::RollBack,
            RotationAction::Abandon
        ]
    );
    let after_grace = at(21) + Duration::days(1);
    complete(&mut rotation, RotationStepName::DeleteOld, after_grace);
    // The old hash leaves the lists only once the old key is deleted; no rollback from here.
    assert_eq!(rotation.status, RotationStatus::Running);
    assert_eq!(rotation.current_step(), Some(RotationStepName::Detach));
    assert!(!rotation.actions().contains(&RotationAction::RollBack));
    complete(&mut rotation, RotationStepName::Detach, after_grace);
    assert_eq!(rotation.status, RotationStatus::Completed);
    assert_eq!(rotation.finished_at, Some(after_grace));
    assert_eq!(rotation.next_move(after_grace), Next::Stop);
    assert!(rotation.actions().is_empty());
    assert_eq!(rotation.view().current_step, None);
}

#[test]
fn delete_at_once_skips_the_grace_period() {
    let mut rotation = fresh(true);
    rotation.settings.delete_at_once = true;
    for step in &STEPS[..7] {
        complete(&mut rotation, *step, at(1));
    }
    assert_eq!(rotation.grace_until, Some(at(1)));
    assert_eq!(
        rotation.next_move(at(1)),
        Next::Run(RotationStepName::DeleteOld)
    );
}

#[test]
fn a_failure_at_every_step_stops_the_rotation_with_retry() {
    for step in STEPS {
        let mut rotation = at_step(step);
        let now = rotation.grace_until.unwrap_or(at(1)).max(at(1));
        assert_eq!(rotation.next_move(now), Next::Run(step), "{step:?}");
        rotation.begin_step(step, now);
        rotation.finish_step(
            step,
            StepOutcome::Failed {
                error: app_error(),
                detail: "boom".into(),
            },
            now,
        );
        assert_eq!(rotation.status, RotationStatus::Failed, "{step:?}");
        assert_eq!(rotation.step(step).status, RotationStepStatus::Failed);
        assert_eq!(rotation.error.as_ref().unwrap().kind, ErrorKind::Server);
        assert_eq!(rotation.next_move(now), Next::Stop);
        let actions = rotation.actions();
        assert!(actions.contains(&RotationAction::Retry), "{step:?}");
        // The old key may be gone once its delete ran: no rollback then.
        assert_eq!(
            actions.contains(&RotationAction::RollBack),
            !matches!(step, RotationStepName::DeleteOld | RotationStepName::Detach),
            "{step:?}: {actions:?}"
        );
        // A failed create leaves its outcome unknown: abandoning could orphan a key.
        assert_eq!(
            actions.contains(&RotationAction::Abandon),
            step != RotationStepName::Create,
            "{step:?}: {actions:?}"
        );
        assert!(rotation.view().error.is_some());

        rotation.apply_action(RotationAction::Retry, now).unwrap();
        assert_eq!(rotation.step(step).status, RotationStepStatus::Pending);
        assert!(rotation.error.is_none());
        assert_eq!(rotation.next_move(now), Next::Run(step), "{step:?}");
        assert_eq!(rotation.step(step).attempts, 1);
        complete(&mut rotation, step, now);
        assert_eq!(rotation.step(step).attempts, 2);
    }
}

#[test]
fn a_create_that_proved_nothing_was_created_may_be_abandoned() {
    let mut rotation = fresh(true);
    rotation.begin_step(RotationStepName::Create, at(0));
    assert!(rotation.create_in_doubt);
    assert_eq!(rotation.create_window_start, Some(at(0)));
    rotation.create_in_doubt = false;
    rotation.finish_step(
        RotationStepName::Create,
        StepOutcome::Failed {
            error: app_error(),
            detail: "429".into(),
        },
        at(0),
    );
    assert!(rotation.actions().contains(&RotationAction::Abandon));
    // A later attempt keeps the first window: a key made by any attempt is found.
    rotation.apply_action(RotationAction::Retry, at(5)).unwrap();
    rotation.begin_step(RotationStepName::Create, at(5));
    assert_eq!(rotation.create_window_start, Some(at(0)));
}

#[test]
fn without_targets_deploy_waits_for_the_person() {
    let mut rotation = fresh(false);
    complete(&mut rotation, RotationStepName::Create, at(1));
    complete(&mut rotation, RotationStepName::StoreSecret, at(1));
    complete(&mut rotation, RotationStepName::Attach, at(1));
    rotation.begin_step(RotationStepName::Deploy, at(1));
    assert!(!rotation.deploy_in_doubt, "no target can have the secret");
    rotation.finish_step(
        RotationStepName::Deploy,
        StepOutcome::Waiting("copy it".into()),
        at(1),
    );
    assert_eq!(rotation.status, RotationStatus::Waiting);
    assert_eq!(rotation.next_move(at(100)), Next::Wait(None));
    assert!(rotation.view().waiting_for.unwrap().contains("Resume"));
    assert_eq!(
        rotation.actions(),
        vec![
            RotationAction::Resume,
            RotationAction::RollBack,
            RotationAction::Abandon
        ]
    );
    assert!(!rotation.deployed());
    assert_eq!(
        rotation
            .apply_action(RotationAction::Resume, at(2))
            .unwrap(),
        ActionEffect::Advance
    );
    assert!(rotation.deployed());
    assert_eq!(
        rotation.step(RotationStepName::Deploy).status,
        RotationStepStatus::Done
    );
    assert_eq!(
        rotation.next_move(at(2)),
        Next::Run(RotationStepName::Verify)
    );
}

#[test]
fn a_deploy_counts_as_deployed_from_its_intent() {
    let mut rotation = at_step(RotationStepName::Deploy);
    rotation.begin_step(RotationStepName::Deploy, at(1));
    assert!(rotation.deploy_in_doubt);
    assert!(rotation.deployed());
    assert!(rotation.view().secret_deployed);
}

#[test]
fn confirm_drained_and_delete_now() {
    let mut rotation = at_step(RotationStepName::Drain);
    rotation.begin_step(RotationStepName::Drain, at(1));
    rotation.finish_step(
        RotationStepName::Drain,
        StepOutcome::Waiting("still".into()),
        at(1),
    );
    assert_eq!(
        rotation
            .apply_action(RotationAction::DeleteNow, at(1))
            .unwrap(),
        ActionEffect::Advance
    );
    assert!(rotation.settings.delete_at_once);
    assert!(!rotation.actions().contains(&RotationAction::DeleteNow));
    rotation
        .apply_action(RotationAction::ConfirmDrained, at(2))
        .unwrap();
    assert_eq!(
        rotation.step(RotationStepName::Drain).status,
        RotationStepStatus::Done
    );
    complete(&mut rotation, RotationStepName::DisableOld, at(3));
    assert_eq!(
        rotation.next_move(at(3)),
        Next::Run(RotationStepName::DeleteOld)
    );

    let mut waiting = at_step(RotationStepName::DeleteOld);
    assert!(waiting.grace_until.unwrap() > at(2));
    waiting
        .apply_action(RotationAction::DeleteNow, at(2))
        .unwrap();
    assert_eq!(waiting.grace_until, Some(at(2)));
    assert_eq!(
        waiting.next_move(at(2)),
        Next::Run(RotationStepName::DeleteOld)
    );
}

#[test]
fn actions_that_do_not_fit_are_refused_naming_the_field() {
    let mut rotation = fresh(true);
    for action in [
        RotationAction::Retry,
        RotationAction::ConfirmDrained,
        RotationAction::DeleteNow,
    ] {
        match rotation.apply_action(action, at(0)) {
            Err(Error::InvalidInput { field, message }) => {
                assert_eq!(field.as_deref(), Some("action"));
                assert!(message.contains(action.as_str()), "{message}");
            }
            other => panic!("{action:?}: {other:?}"),
        }
    }
    rotation
        .apply_action(RotationAction::Abandon, at(1))
        .unwrap();
    assert_eq!(rotation.status, RotationStatus::Abandoned);
    assert!(rotation.actions().is_empty());
    assert!(
        rotation
            .apply_action(RotationAction::Resume, at(2))
            .is_err()
    );
    assert!(rotation.detail.unwrap().contains("untouched"));
}

#[test]
fn a_restart_sends_the_rotation_back_to_create() {
    let mut rotation = at_step(RotationStepName::StoreSecret);
    rotation.begin_step(RotationStepName::StoreSecret, at(1));
    rotation.new_key = None;
    rotation.finish_step(
        RotationStepName::StoreSecret,
        StepOutcome::Restart {
            from: RotationStepName::Create,
            detail: "lost".into(),
        },
        at(1),
    );
    assert_eq!(rotation.status, RotationStatus::Running);
    assert_eq!(
        rotation.step(RotationStepName::Create).status,
        RotationStepStatus::Pending
    );
    assert_eq!(
        rotation.step(RotationStepName::StoreSecret).status,
        RotationStepStatus::Pending
    );
    assert_eq!(
        rotation.next_move(at(1)),
        Next::Run(RotationStepName::Create)
    );
    assert_eq!(rotation.detail.as_deref(), Some("lost"));
}

#[test]
fn rolling_back_from_every_state_that_allows_it() {
    for step in STEPS {
        let mut rotation = at_step(step);
        let now = at(2);
        if !rotation.actions().contains(&RotationAction::RollBack) {
            continue;
        }
        rotation
            .apply_action(RotationAction::RollBack, now)
            .unwrap();
        assert!(rotation.rolling_back);
        assert_eq!(rotation.next_move(now), Next::RollBack, "{step:?}");
        assert_eq!(rotation.actions(), vec![RotationAction::Resume]);

        // A failed rollback can be retried.
        rotation.fail_rollback(app_error(), "500".into(), now);
        assert_eq!(rotation.status, RotationStatus::Failed);
        assert_eq!(rotation.next_move(now), Next::Stop);
        assert_eq!(
            rotation.actions(),
            vec![RotationAction::Retry, RotationAction::Abandon]
        );
        rotation.apply_action(RotationAction::Retry, now).unwrap();
        assert_eq!(rotation.next_move(now), Next::RollBack);

        rotation.finish_rollback("deleted the new key".into(), now);
        assert_eq!(rotation.status, RotationStatus::RolledBack);
        assert!(!rotation.rolling_back);
        assert!(rotation.actions().is_empty());
        assert!(
            rotation.steps.iter().all(|s| matches!(
                s.status,
                RotationStepStatus::Done | RotationStepStatus::Skipped
            )),
            "{step:?}"
        );
        assert_eq!(rotation.next_move(now), Next::Stop);
    }
}

#[test]
fn old_key_touched_follows_disable() {
    let mut rotation = at_step(RotationStepName::DisableOld);
    assert!(!rotation.old_key_touched());
    rotation.begin_step(RotationStepName::DisableOld, at(1));
    assert!(rotation.old_key_touched());
    // A rollback sets the interrupted step back to pending; the PATCH may have landed all the same,
    // so the rollback must still re-enable the old key.
    rotation.step_mut(RotationStepName::DisableOld).status = RotationStepStatus::Pending;
    assert!(rotation.old_key_touched());
}

#[test]
fn drain_quiet_clock_restarts_when_usage_moves() {
    let every = std::time::Duration::from_secs(60);
    let (first, drained) = drain_observation(None, 1.0, Some(at(-60)), at(0), 600, every);
    assert!(!drained, "the quiet clock starts when draining starts");
    assert_eq!(first.quiet_since, at(0));
    assert_eq!(first.next_check_at, at(1));
    assert_eq!(first.checks, 1);

    let (still, drained) = drain_observation(Some(&first), 1.0, Some(at(-60)), at(5), 600, every);
    assert!(!drained);
    assert_eq!(still.quiet_since, at(0));

    // Used at minute 6: the clock restarts there.
    let (moved, drained) = drain_observation(Some(&still), 1.5, Some(at(6)), at(7), 600, every);
    assert!(!drained);
    assert_eq!(moved.quiet_since, at(6));
    assert_eq!(moved.started_at, at(0));

    // Usage moved without a timestamp: count from now.
    let (moved, _) = drain_observation(Some(&moved), 2.0, Some(at(6)), at(8), 600, every);
    assert_eq!(moved.quiet_since, at(8));

    let (done, drained) = drain_observation(Some(&moved), 2.0, Some(at(6)), at(18), 600, every);
    assert!(drained);
    assert_eq!(done.checks, 5);

    // The next check never waits past the end of the quiet period.
    let (soon, _) = drain_observation(None, 0.0, None, at(0), 30, every);
    assert_eq!(soon.next_check_at, at(0) + Duration::seconds(30));
    let (_, at_once) = drain_observation(None, 0.0, None, at(0), 0, every);
    assert!(at_once, "a quiet period of 0 drains at the first check");
}

fn entry(seq: i64, step: JournalStep, phase: JournalPhase) -> JournalEntry {
    JournalEntry {
        seq,
        ..JournalEntry::new(at(0), step, phase, None, serde_json::json!({}))
    }
}

#[test]
fn the_journal_check_finds_inconsistencies() {
    let mut rotation = fresh(true);
    assert!(check_journal(&rotation, &[]).is_empty());
    rotation.begin_step(RotationStepName::Create, at(0));
    let open = vec![
        entry(1, JournalStep::Rotation, JournalPhase::Note),
        entry(2, JournalStep::Create, JournalPhase::Intent),
    ];
    assert!(check_journal(&rotation, &open).is_empty());
    // The state says create runs but the journal has no intent.
    assert_eq!(check_journal(&rotation, &open[..1]).len(), 1);
    // A resumed create re-opens its own intent: fine.
    let mut resumed = open.clone();
    resumed.push(entry(3, JournalStep::Create, JournalPhase::Intent));
    assert!(check_journal(&rotation, &resumed).is_empty());
    // Another step's intent while create is open, a result without intent, a gap in seq.
    let mut bad = open.clone();
    bad.push(entry(3, JournalStep::Deploy, JournalPhase::Intent));
    bad.push(entry(5, JournalStep::Verify, JournalPhase::Result));
    let problems = check_journal(&rotation, &bad);
    assert!(problems.len() >= 3, "{problems:?}");

    rotation.finish_step(
        RotationStepName::Create,
        StepOutcome::Done("x".into()),
        at(0),
    );
    let mut done = open.clone();
    done.push(entry(3, JournalStep::Create, JournalPhase::Result));
    let problems = check_journal(&rotation, &done);
    assert_eq!(problems, vec!["create is done but no new key is recorded"]);
    rotation.new_key = Some(new_key());
    assert!(check_journal(&rotation, &done).is_empty());
}

#[test]
fn the_state_round_trips_through_json() {
    let mut rotation = at_step(RotationStepName::Drain);
    rotation.drain = Some(
        drain_observation(
            None,
            1.0,
            None,
            at(1),
            900,
            std::time::Duration::from_secs(60),
        )
        .0,
    );
    let json = serde_json::to_string(&rotation).unwrap();
    let back: Rotation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rotation);
    let view = serde_json::to_value(rotation.view()).unwrap();
    assert_eq!(view["status"], "running");
    assert_eq!(view["steps"][0]["step"], "create");
    assert_eq!(view["steps"][0]["status"], "done");
    assert_eq!(view["actions"][0], "resume");
}

#[path = "machine_attach_tests.rs"]
mod attach;
