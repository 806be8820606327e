//! Gives `cargo xtask bench idle` a real Keyward profile: adds one through keyward-core's own
//! `profile_add` (which checks the key with GET /key, puts it in the session's Secret Service and the
//! profile in the data directory), pointing at the benchmark's emulator — what the app's "add your
//! management key" dialog does, without driving a window.
//!
//! Environment, as the app reads it: `KEYWARD_DATA_DIR`, `KEYWARD_KEYCHAIN_SERVICE`; the management key
//! in `KEYWARD_BENCH_KEY`. Arguments: `--base-url URL` (the emulator's API), `--name NAME`, and
//! `--fill-cache` (then list every key once, as the app's refresh does, so the next start of the app
//! shows them from its local cache: `cargo xtask bench startup`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use keyward_core::Keyward;
use keyward_core::ipc::{KeysListArgs, ProfileAddArgs};
use keyward_core::service::ServiceConfig;
use keyward_core::store::Store;
use keyward_core::vault::Vault;
use secrecy::SecretString;

const DATA_DIR_ENV: &str = "KEYWARD_DATA_DIR";
const KEYCHAIN_SERVICE_ENV: &str = "KEYWARD_KEYCHAIN_SERVICE";
const KEY_ENV: &str = "KEYWARD_BENCH_KEY";

struct Args {
    base_url: String,
    name: String,
    fill_cache: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut base_url = None;
    let mut name = String::from("Idle bench");
    let mut fill_cache = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--base-url" => base_url = Some(args.next().context("--base-url needs a value")?),
            "--name" => name = args.next().context("--name needs a value")?,
            "--fill-cache" => fill_cache = true,
            other => bail!(
                "unknown argument {other:?} (expected --base-url URL [--name NAME] [--fill-cache])"
            ),
        }
    }
    Ok(Args {
        base_url: base_url.context("--base-url is required")?,
        name,
        fill_cache,
    })
}

fn required_env(name: &str) -> anyhow::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .with_context(|| format!("{name} must be set"))
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let data_dir = PathBuf::from(required_env(DATA_DIR_ENV)?);
    let service_name = required_env(KEYCHAIN_SERVICE_ENV)?;
    let management_key = SecretString::from(required_env(KEY_ENV)?);

    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store = Store::open_in_dir(&data_dir)
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    let service = Keyward::new(store, ServiceConfig::new(Vault::with_service(service_name)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a tokio runtime")?;
    let profile = runtime
        .block_on(service.profile_add(ProfileAddArgs {
            name: args.name,
            base_url: Some(args.base_url),
            workspace_id: None,
            management_key,
        }))
        .context("adding the profile")?;
    println!("added profile {} ({})", profile.name, profile.id);
    if args.fill_cache {
        let snapshot = runtime
            .block_on(service.keys_list(KeysListArgs {
                profile_id: profile.id.clone(),
                include_disabled: true,
                include_expired: false,
                refresh: true,
            }))
            .context("listing the keys into the cache")?;
        println!("cached {} keys", snapshot.keys.len());
    }
    Ok(())
}
