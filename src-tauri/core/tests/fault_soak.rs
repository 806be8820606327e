//! The fault soak: thousands of mixed operations (create, update, disable / enable, delete, rotate,
//! refresh, and batches running several at once with bounded concurrency, `rotation_start_batch`
//! among them) through the service against the emulator over real HTTP, with about 10 % of the API
//! requests hit by an injected fault (5xx, 429 with Retry-After, timeouts, dropped connections, slow
//! bodies, bodies cut mid-answer). Every operation must converge or be reported; at the end, with
//! the faults off, the server, a model the soak keeps and Keyward's refreshed list must agree, every
//! key's secret must be in the vault and hash to its hash, no key may be unknown (orphan) and no
//! rotation unfinished without having been reported.
//!
//! `KEYWARD_SOAK_OPS` (default 800: the CI size), `KEYWARD_SOAK_SEED`, `KEYWARD_SOAK_FAULT_RATE`
//! (default 0.10). The full run: `KEYWARD_SOAK_OPS=10000 cargo test -p keyward-core --test
//! fault_soak -- --nocapture`. The seed fixes every choice of operation and the faults' random
//! sequence; timing (which request of two running at once meets a fault, a slow machine's own
//! timeouts) can still vary between runs.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fault_soak_support;
mod service_support;

use std::time::Instant;

use fault_soak_support::{Settings, Soak};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_soak() {
    let settings = Settings::from_env();
    let (ops, seed, rate) = (settings.ops, settings.seed, settings.fault_rate);
    println!("fault soak: {ops} operations, seed {seed}, fault rate {rate}");
    let started = Instant::now();
    let mut soak = Soak::start(settings).await;
    soak.run_all().await;
    let faults = soak.finish(u64::MAX).await;
    println!("\n{}", soak.tally.table(&faults));
    println!(
        "fault soak: {} operations in {:.1} s, seed {seed}, violations: {}",
        soak.tally.total(),
        started.elapsed().as_secs_f64(),
        soak.violations.len()
    );
    assert!(
        soak.violations.is_empty(),
        "{} violation(s), first: {:#?}\nreplay: KEYWARD_SOAK_SEED={seed} KEYWARD_SOAK_OPS={ops} \
         KEYWARD_SOAK_FAULT_RATE={rate} cargo test -p keyward-core --test fault_soak -- --nocapture",
        soak.violations.len(),
        &soak.violations[..soak.violations.len().min(20)]
    );
}
