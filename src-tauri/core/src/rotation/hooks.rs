//! Test hooks at the rotation runner's boundaries, for crash tests: a [`RotationHooks`] in the
//! service's configuration is awaited at every boundary, so a harness can stop a rotation exactly
//! there (and kill the process, or drop the task). Production configurations install none.
//!
//! Boundaries are named `<step>:<boundary>`: `create:before` (intent written, nothing sent),
//! `create:posted` (the server created the key; its secret is only in memory), `create:held` (the
//! secret is in the keychain; the result not yet written), `<step>:after` (result written), and the
//! same `before` / `after` for every step and for `roll_back`.

use std::collections::HashSet;
use std::io::Write;

use futures::future::BoxFuture;

use super::RotationStepName;

/// Printed (with the point and the rotation id) on stderr when [`EnvPauseHook`] pauses.
pub const PAUSED_MARKER: &str = "KEYWARD_ROTATION_PAUSED";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum Boundary {
    /// The step's intent is in the journal; its effect has not started.
    Before,
    /// Create only: the server answered with the new key; its secret is held only in memory.
    Posted,
    /// Create only: the secret is in the keychain (pending); the result is not yet written.
    Held,
    /// The step's result is in the journal.
    After,
}

/// A point in the runner: a step (or the rollback, `step: None`) and a boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookPoint {
    pub step: Option<RotationStepName>,
    pub boundary: Boundary,
}

impl HookPoint {
    pub fn new(step: RotationStepName, boundary: Boundary) -> Self {
        HookPoint {
            step: Some(step),
            boundary,
        }
    }

    pub fn roll_back(boundary: Boundary) -> Self {
        HookPoint {
            step: None,
            boundary,
        }
    }

    /// `create:posted`, `roll_back:before`, …
    pub fn name(&self) -> String {
        let step = self.step.map_or("roll_back", RotationStepName::as_str);
        format!("{step}:{}", self.boundary)
    }

    /// Every point the runner passes, in order (the rollback's last).
    pub fn all() -> Vec<HookPoint> {
        let mut points = Vec::new();
        for step in RotationStepName::ALL {
            points.push(HookPoint::new(step, Boundary::Before));
            if step == RotationStepName::Create {
                points.push(HookPoint::new(step, Boundary::Posted));
                points.push(HookPoint::new(step, Boundary::Held));
            }
            points.push(HookPoint::new(step, Boundary::After));
        }
        points.push(HookPoint::roll_back(Boundary::Before));
        points.push(HookPoint::roll_back(Boundary::After));
        points
    }
}

/// Awaited by the runner at every [`HookPoint`]; returning lets the rotation go on.
pub trait RotationHooks: Send + Sync {
    fn at(&self, rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()>;
}

/// Pauses for ever at the points it was given (`create:posted,deploy:before`, or `*` for every
/// point; the CLI's hidden `--crash-test-pause-at`), after printing
/// `KEYWARD_ROTATION_PAUSED <point> <rotation id>` on stderr, so a crash harness can SIGKILL the
/// process exactly there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPauseHook {
    points: HashSet<String>,
}

impl EnvPauseHook {
    /// The hook for comma-separated points (`create:posted,deploy:before`, or `*`).
    pub fn parse(value: &str) -> Option<Self> {
        let points: HashSet<String> = value
            .split(',')
            .map(str::trim)
            .filter(|point| !point.is_empty())
            .map(str::to_owned)
            .collect();
        (!points.is_empty()).then_some(EnvPauseHook { points })
    }

    pub fn pauses_at(&self, point: HookPoint) -> bool {
        self.points.contains("*") || self.points.contains(&point.name())
    }
}

impl RotationHooks for EnvPauseHook {
    fn at(&self, rotation_id: &str, point: HookPoint) -> BoxFuture<'static, ()> {
        if !self.pauses_at(point) {
            return Box::pin(std::future::ready(()));
        }
        let mut stderr = std::io::stderr().lock();
        // Best effort: the harness also has the journal to tell where the process stopped.
        let _ = writeln!(stderr, "{PAUSED_MARKER} {} {rotation_id}", point.name());
        let _ = stderr.flush();
        tracing::warn!(point = %point.name(), rotation = %rotation_id, "rotation paused by the test hook");
        Box::pin(futures::future::pending())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_named_and_parsed() {
        let names: Vec<String> = HookPoint::all().iter().map(HookPoint::name).collect();
        assert_eq!(names.len(), RotationStepName::ALL.len() * 2 + 2 + 2);
        assert!(names.contains(&"attach:before".to_owned()));
        assert!(names.contains(&"detach:after".to_owned()));
        assert_eq!(names[0], "create:before");
        assert_eq!(names[1], "create:posted");
        assert_eq!(names[2], "create:held");
        assert!(names.contains(&"delete_old:after".to_owned()));
        assert_eq!(names.last().unwrap(), "roll_back:after");

        let hook = EnvPauseHook::parse(" create:posted , deploy:before,").unwrap();
        assert!(hook.pauses_at(HookPoint::new(RotationStepName::Create, Boundary::Posted)));
        assert!(hook.pauses_at(HookPoint::new(RotationStepName::Deploy, Boundary::Before)));
        assert!(!hook.pauses_at(HookPoint::new(RotationStepName::Deploy, Boundary::After)));
        assert!(EnvPauseHook::parse(" , ").is_none());
        let everywhere = EnvPauseHook::parse("*").unwrap();
        assert!(everywhere.pauses_at(HookPoint::roll_back(Boundary::Before)));
    }
}
