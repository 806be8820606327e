//! What every command starts from: the service over the desktop app's data directory and keychain,
//! the management key read from the environment or standard input (never an argument), and a
//! profile or key named on the command line resolved to its id or hash.

use std::io::{IsTerminal, Read};
use std::sync::Arc;

use keyward_core::ipc::{Connectivity, KeysListArgs};
#[cfg(feature = "crash-test")]
use keyward_core::rotation::EnvPauseHook;
use keyward_core::service::NoEvents;
use keyward_core::store::Profile;
use keyward_core::store::{NewProfile, ProfileManager, Store, default_data_dir};
use keyward_core::vault::Vault;
use keyward_core::{Keyward, ServiceConfig};
use secrecy::SecretString;

use crate::Cli;
use crate::approve;
use crate::error::CliError;

/// The environment variable a management key can be passed in (never on the command line, where
/// other users' `ps` would see it).
pub const MANAGEMENT_KEY_ENV: &str = "KEYWARD_MANAGEMENT_KEY";

/// The name of the profile the ad-hoc mode makes up (in memory only).
const AD_HOC_PROFILE: &str = "ad-hoc";

/// The opened service and the global output choice, handed to every command.
pub struct Ctx {
    pub service: Keyward,
    pub json: bool,
    /// True in the ad-hoc mode: nothing is stored, no keychain (a created key's secret is not held).
    pub ad_hoc: bool,
}

/// Which account a key command acts on: a stored profile (its management key in the keychain), or
/// none at all — the ad-hoc mode, with the management key from `KEYWARD_MANAGEMENT_KEY`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Target {
    /// Profile name or id (default: the active profile). Always the stored profile, even with
    /// KEYWARD_MANAGEMENT_KEY or KEYWARD_BASE_URL set.
    #[arg(long)]
    pub profile: Option<String>,
    /// Ad-hoc mode: no profile, no data directory; the management key comes from
    /// KEYWARD_MANAGEMENT_KEY and requests go to this API base URL. Also chosen (with OpenRouter's
    /// URL) when KEYWARD_MANAGEMENT_KEY is set and --profile is not given.
    #[arg(long, env = "KEYWARD_BASE_URL")]
    pub base_url: Option<String>,
}

impl Ctx {
    /// The service over the stored profiles (data directory and keychain).
    pub fn open(cli: &Cli) -> Result<Self, CliError> {
        Ok(Self {
            service: open_service(cli)?,
            json: cli.json,
            ad_hoc: false,
        })
    }

    /// The service a key command needs and the profile it acts on: the named or active stored
    /// profile, or the ad-hoc one.
    pub fn for_keys(cli: &Cli, target: &Target) -> Result<(Self, Profile), CliError> {
        let env_key = std::env::var(MANAGEMENT_KEY_ENV)
            .ok()
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty());
        match (env_key, &target.base_url, &target.profile) {
            (Some(key), base_url, None) => Self::ad_hoc(cli, SecretString::from(key), base_url),
            (None, Some(_), None) => Err(CliError::Usage(format!(
                "--base-url (the ad-hoc mode) needs the management key in {MANAGEMENT_KEY_ENV}"
            ))),
            (_, _, profile) => {
                let ctx = Self::open(cli)?;
                let profile = resolve_profile(&ctx.service, profile.as_deref())?;
                Ok((ctx, profile))
            }
        }
    }

    fn ad_hoc(
        cli: &Cli,
        key: SecretString,
        base_url: &Option<String>,
    ) -> Result<(Self, Profile), CliError> {
        // The same rules as adding a profile, before any request: an OpenRouter-shaped key, and
        // https (plain http only to this machine).
        keyward_core::api::endpoint::check_key_shape(MANAGEMENT_KEY_ENV, &key)?;
        if let Some(url) = base_url
            .as_deref()
            .map(str::trim)
            .filter(|url| !url.is_empty())
        {
            keyward_core::api::endpoint::check_base_url(url)
                .map_err(|why| keyward_core::Error::invalid("base_url", why))?;
        }
        let store = Store::open_in_memory()?;
        let vault = Vault::in_memory("keyward-cli-ad-hoc");
        let new = NewProfile {
            name: AD_HOC_PROFILE.to_owned(),
            base_url: base_url
                .as_deref()
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(str::to_owned),
            workspace_id: None,
            is_sandbox: false,
        };
        let profile = ProfileManager::new(&store, &vault).add(&new, &key)?;
        store.set_active_profile(Some(&profile.id))?;
        let service = Keyward::new(store, service_config(cli, vault));
        Ok((
            Self {
                service,
                json: cli.json,
                ad_hoc: true,
            },
            profile,
        ))
    }
}

fn open_service(cli: &Cli) -> Result<Keyward, CliError> {
    let data_dir = match &cli.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    let store = Store::open_in_dir(&data_dir)?;
    let vault = match cli.keychain_service.as_deref().map(str::trim) {
        Some(service) if !service.is_empty() => Vault::with_service(service),
        _ => Vault::new(),
    };
    Ok(Keyward::new(store, service_config(cli, vault)))
}

fn service_config(cli: &Cli, vault: Vault) -> ServiceConfig {
    let mut config = ServiceConfig::new(vault);
    config.front_end = keyward_core::audit::FrontEnd::Cli;
    config.events = Arc::new(NoEvents);
    // A terminal command does its work and exits: nothing retries in the background.
    config.recovery = None;
    // A command deploy target not approved yet is put to the person on the terminal (refused
    // when standard input is not one).
    config.rotation.approver = Some(Arc::new(approve::TerminalApprover));
    #[cfg(feature = "crash-test")]
    if let Some(points) = &cli.crash_test_pause_at {
        config.rotation.hooks = EnvPauseHook::parse(points)
            .map(|hook| Arc::new(hook) as Arc<dyn keyward_core::rotation::RotationHooks>);
    }
    #[cfg(not(feature = "crash-test"))]
    let _ = cli;
    config
}

pub fn read_management_key() -> Result<SecretString, CliError> {
    if let Ok(key) = std::env::var(MANAGEMENT_KEY_ENV)
        && !key.trim().is_empty()
    {
        return Ok(SecretString::from(key.trim().to_owned()));
    }
    let mut stdin = std::io::stdin();
    let key = if stdin.is_terminal() {
        // Pasted on a terminal: read from it with echo off, so the key is not left on the screen
        // (or in the terminal's scrollback and a screen recording).
        rpassword::prompt_password("Management key (not shown as you type or paste): ")
            .map_err(CliError::Stdin)?
    } else {
        let mut key = String::new();
        stdin.read_to_string(&mut key).map_err(CliError::Stdin)?;
        key
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(CliError::Usage(format!(
            "no management key: set {MANAGEMENT_KEY_ENV} or pipe it on standard input"
        )));
    }
    Ok(SecretString::from(key))
}

/// A profile by name (case-insensitive) or id; the active one when none is named.
pub fn resolve_profile(service: &Keyward, wanted: Option<&str>) -> Result<Profile, CliError> {
    let state = service.app_state()?;
    let found = match wanted {
        Some(wanted) => state
            .profiles
            .into_iter()
            .find(|profile| profile.id == wanted || profile.name.eq_ignore_ascii_case(wanted)),
        None => {
            let active = state.active_profile_id;
            state
                .profiles
                .into_iter()
                .find(|profile| Some(&profile.id) == active.as_ref())
        }
    };
    found.ok_or_else(|| {
        CliError::Usage(match wanted {
            Some(wanted) => format!("no profile named `{wanted}` (see `keyward-cli profiles`)"),
            None => "no active profile: add one with `keyward-cli profile-add` or pass --profile"
                .to_owned(),
        })
    })
}

/// A key by hash or by exact name (refused when several keys share the name).
pub async fn resolve_key(
    service: &Keyward,
    profile: &Profile,
    wanted: &str,
) -> Result<String, CliError> {
    let snapshot = service
        .keys_list(KeysListArgs {
            profile_id: profile.id.clone(),
            include_disabled: true,
            include_expired: true,
            refresh: true,
        })
        .await?;
    if let Some(key) = snapshot.keys.iter().find(|key| key.key.hash == wanted) {
        return Ok(key.key.hash.clone());
    }
    let unreachable = match &snapshot.connectivity {
        Connectivity::Offline { error, .. } | Connectivity::RateLimited { error, .. } => {
            Some(error)
        }
        Connectivity::Online => None,
    };
    let named: Vec<_> = snapshot
        .keys
        .iter()
        .filter(|key| key.key.name == wanted)
        .collect();
    match (named.as_slice(), unreachable) {
        ([one], _) => Ok(one.key.hash.clone()),
        // Not in a list that could not be refreshed: say why rather than "not found".
        ([], Some(error)) => Err(CliError::Remote(error.clone())),
        ([], None) => Err(CliError::NotFound(format!(
            "no key with the hash or name `{wanted}` in profile {}",
            profile.name
        ))),
        (several, _) => Err(CliError::Usage(format!(
            "{} keys are named `{wanted}`: pass the hash of the one you mean",
            several.len()
        ))),
    }
}
