//! Times Keyward's emergency revoke for `cargo xtask bench revoke`: `revoke_start` (list every key,
//! disable each matching one) then `revoke_delete` (delete them), through the same service the app
//! and the CLI use, on a temporary store with the management key in an in-memory vault.
//!
//! Usage: `KEYWARD_BENCH_KEY=sk-or-v1-… revoke_bench --base-url URL [--filter EXPR]`. The last
//! stdout line is JSON:
//! `{"disable_ms":…,"delete_ms":…,"keys":N,"disable_failed":F,"delete_failed":G,"rate_limited":W}`.

use std::error::Error;
use std::time::Instant;

use clap::Parser;
use keyward_core::batch::{BatchReport, RevokeArgs, RevokeFollowUpArgs, RevokeSelection};
use keyward_core::store::{NewProfile, Store};
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use secrecy::SecretString;

#[derive(Parser)]
#[command(about = "Times Keyward's emergency revoke (disable, then delete)")]
struct Args {
    #[arg(long, env = "KEYWARD_BENCH_BASE_URL")]
    base_url: String,
    #[arg(long, default_value = "name:*")]
    filter: String,
}

fn waits(report: &BatchReport) -> u32 {
    report.results.iter().map(|r| r.rate_limited).sum()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let key = std::env::var("KEYWARD_BENCH_KEY").map_err(|_| "KEYWARD_BENCH_KEY is not set")?;
    let dir = tempfile::tempdir()?;
    let store = Store::open_in_dir(dir.path())?;
    let profile = store.create_profile(&NewProfile {
        name: "bench".into(),
        base_url: Some(args.base_url),
        workspace_id: None,
        is_sandbox: false,
    })?;
    let vault = Vault::in_memory("keyward-revoke-bench");
    vault.set_management_key(&profile.id, &SecretString::from(key))?;
    let mut config = ServiceConfig::new(vault);
    config.recovery = None;
    let service = Keyward::new(store, config);

    let started = Instant::now();
    let revoked = service
        .revoke_start(RevokeArgs {
            profile_id: profile.id.clone(),
            run_id: "bench-disable".into(),
            selection: RevokeSelection::Filter {
                expression: args.filter,
            },
        })
        .await?;
    let disable_ms = started.elapsed().as_secs_f64() * 1000.0;
    let disable = &revoked.report;
    println!(
        "disable: {} keys, {} failed, {} rate-limit waits, {disable_ms:.0} ms",
        disable.total,
        disable.failed,
        waits(disable)
    );
    let started = Instant::now();
    let delete = service
        .revoke_delete(RevokeFollowUpArgs {
            profile_id: profile.id,
            run_id: "bench-delete".into(),
            revoke_id: revoked.revoke.id.clone(),
        })
        .await?;
    let delete_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "delete: {} keys, {} failed, {} rate-limit waits, {delete_ms:.0} ms",
        delete.total,
        delete.failed,
        waits(&delete)
    );
    println!(
        "{}",
        serde_json::json!({
            "disable_ms": disable_ms,
            "delete_ms": delete_ms,
            "keys": revoked.revoke.matched.len(),
            "disable_failed": disable.failed + disable.not_run,
            "delete_failed": delete.failed + delete.not_run,
            "rate_limited": waits(disable) + waits(&delete),
        })
    );
    Ok(())
}
