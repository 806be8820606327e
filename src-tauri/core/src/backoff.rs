//! Capped exponential backoff with one jitter rule, for every wait that grows after a failure: the
//! API client's retries, the service's background recovery and the watcher's cycles. Pure: the random
//! number is an argument (callers pass `rand::random()`), so every rule is tested without a clock.

use std::time::Duration;

/// Waits of `initial · multiplierⁿ`, capped at `max`, each shortened at random by up to `jitter`
/// of itself (0.2 = 80–100 % of the step), so many running apps don't retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first step.
    pub initial: Duration,
    /// No step is longer than this.
    pub max: Duration,
    /// Each step is this many times the one before (below 1 counts as 1).
    pub multiplier: f64,
    /// The largest share of a step taken off at random, in `[0, 1]`; 0 = exact steps (tests).
    pub jitter: f64,
}

impl Backoff {
    /// Doubling steps from `initial` up to `max`, no jitter.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            multiplier: 2.0,
            jitter: 0.0,
        }
    }

    pub fn with_multiplier(self, multiplier: f64) -> Self {
        Backoff { multiplier, ..self }
    }

    pub fn with_jitter(self, jitter: f64) -> Self {
        Backoff { jitter, ..self }
    }

    /// The exact step number `n` (0 = the first), before jitter.
    pub fn step(&self, n: u32) -> Duration {
        let exponent = i32::try_from(n).unwrap_or(i32::MAX);
        let cap = self.max.as_secs_f64();
        let step = (self.initial.as_secs_f64() * self.multiplier.max(1.0).powi(exponent)).min(cap);
        Duration::from_secs_f64(if step.is_finite() { step.max(0.0) } else { cap })
    }

    /// `wait` shortened by the jitter rule; `unit_random` is in `[0, 1)` (0 = no cut).
    pub fn jittered(&self, wait: Duration, unit_random: f64) -> Duration {
        let cut = self.jitter.clamp(0.0, 1.0) * unit_random.clamp(0.0, 1.0);
        wait.mul_f64(1.0 - cut)
    }

    /// The wait before retry number `n` (0 = the first): the step, jittered.
    pub fn delay(&self, n: u32, unit_random: f64) -> Duration {
        self.jittered(self.step(n), unit_random)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_grow_by_the_multiplier_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let steps: Vec<u128> = (0..6).map(|n| backoff.step(n).as_millis()).collect();
        assert_eq!(steps, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.step(u32::MAX), Duration::from_secs(1));
        let flat = backoff.with_multiplier(0.5);
        assert_eq!(flat.step(5), Duration::from_millis(100));
        let tripling = backoff.with_multiplier(3.0);
        assert_eq!(tripling.step(2), Duration::from_millis(900));
    }

    #[test]
    fn jitter_only_shortens_and_by_at_most_its_share() {
        let exact = Backoff::new(Duration::from_millis(400), Duration::from_secs(10));
        assert_eq!(exact.delay(0, 0.9), Duration::from_millis(400));
        let half = exact.with_jitter(0.5);
        assert_eq!(half.delay(0, 0.0), Duration::from_millis(400));
        assert_eq!(half.delay(0, 0.5), Duration::from_millis(300));
        assert!(half.delay(0, 0.999_999) >= Duration::from_millis(200));
        let full = exact.with_jitter(1.0);
        assert_eq!(full.delay(0, 0.75), Duration::from_millis(100));
        // Out-of-range settings are clamped, never lengthen a wait nor go negative.
        let wild = exact.with_jitter(7.0);
        assert_eq!(wild.delay(0, 2.0), Duration::ZERO);
        assert_eq!(
            exact.with_jitter(-1.0).delay(0, 0.5),
            Duration::from_millis(400)
        );
    }
}
