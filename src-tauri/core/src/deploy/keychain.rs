//! Keychain targets: the secret goes into an OS keychain entry the person names (service, account),
//! through the vault. The entry's previous value, if any, is kept in a backup entry of the same
//! service (account `<account>.keyward-backup-<timestamp>`) so a rollback can put it back.

use secrecy::{ExposeSecret, SecretString};

use super::{DeployUndo, Deployed, looks_like_secret};
use crate::Error;
use crate::vault::{DEFAULT_SERVICE, KeychainEntry};

use super::DeployContext;

/// Longest service or account name accepted (keychains limit attribute sizes; this is well inside).
const MAX_NAME_LEN: usize = 256;

/// Marks the accounts of backup entries (`<account>.keyward-backup-<suffix>`).
const BACKUP_ACCOUNT_MARKER: &str = ".keyward-backup";

/// Refuses an entry Keyward keeps for itself: anything under its own service (`keyward`, or
/// `own_service`, the vault's, e.g. the CLI's `--keychain-service`), where its management keys,
/// pending and kept secrets live, and backup accounts, which hold another deploy's previous value.
/// Deploying there would overwrite them, and a rollback would "restore" over them.
pub(super) fn refuse_own(service: &str, account: &str, own_service: &str) -> Result<(), Error> {
    let named = service.trim();
    if named.eq_ignore_ascii_case(DEFAULT_SERVICE) || named.eq_ignore_ascii_case(own_service.trim())
    {
        return Err(Error::invalid(
            "service",
            format!(
                "\"{named}\" is Keyward's own keychain service, which holds its management keys and \
                 the secrets it keeps; a deploy target there could overwrite them. Choose the \
                 service name your application reads, e.g. \"my-app\""
            ),
        ));
    }
    if account.contains(BACKUP_ACCOUNT_MARKER) {
        return Err(Error::invalid(
            "account",
            format!(
                "names a backup entry Keyward makes (\"…{BACKUP_ACCOUNT_MARKER}-…\"), which holds \
                 another deploy's previous value; choose the account your application reads"
            ),
        ));
    }
    Ok(())
}

pub(super) fn validate(service: &str, account: &str) -> Result<(), Error> {
    for (field, value) in [("service", service), ("account", account)] {
        if value.trim().is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if value.len() > MAX_NAME_LEN {
            return Err(Error::invalid(
                field,
                format!("must be at most {MAX_NAME_LEN} bytes"),
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(Error::invalid(field, "must not contain control characters"));
        }
        if looks_like_secret(value) {
            return Err(Error::invalid(
                field,
                "looks like an OpenRouter secret; a keychain entry's name is not secret, so name it \
                 without the secret",
            ));
        }
    }
    refuse_own(service, account, DEFAULT_SERVICE)
}

pub(super) async fn deploy(
    service: &str,
    account: &str,
    secret: &SecretString,
    ctx: &DeployContext,
) -> Result<Deployed, String> {
    let entry = KeychainEntry::new(service, account);
    let planned = ctx.backup_suffix.is_some();
    let backup = KeychainEntry::new(
        service,
        match &ctx.backup_suffix {
            Some(suffix) => planned_backup_account(account, suffix),
            None => backup_account(account),
        },
    );
    let secret = secret.clone();
    let result = ctx
        .vault
        .run(move |vault| {
            let previous = optional(vault.entry(&entry))?;
            if planned && optional(vault.entry(&backup))?.is_some() {
                // An earlier, interrupted attempt saved the value from before: keep that one.
                vault.set_entry(&entry, &secret)?;
                return Ok(Some(backup.account));
            }
            let previous = previous.filter(|previous| {
                // Holding the new secret already (an earlier attempt created the entry), it has
                // nothing worth backing up: a backup would make a rollback "restore" the new secret.
                !(planned && previous.expose_secret() == secret.expose_secret())
            });
            // The previous value is saved before it is overwritten, so it is never only in memory.
            if let Some(previous) = &previous {
                vault.set_entry(&backup, previous)?;
            }
            vault.set_entry(&entry, &secret)?;
            Ok(previous.map(|_| backup.account))
        })
        .await;
    match result {
        Ok(backup_account) => Ok(Deployed {
            message: match &backup_account {
                Some(backup) => format!(
                    "Saved in keychain entry service \"{service}\", account \"{account}\"; its \
                     previous value is kept under account \"{backup}\""
                ),
                None => format!(
                    "Saved in a new keychain entry service \"{service}\", account \"{account}\""
                ),
            },
            backup_path: None,
            undo: Some(DeployUndo::RestoreKeychainEntry {
                service: service.to_owned(),
                account: account.to_owned(),
                backup_account,
            }),
        }),
        Err(err) => Err(format!(
            "Could not save to keychain entry service \"{service}\", account \"{account}\": {err}"
        )),
    }
}

pub(super) async fn undo(
    service: &str,
    account: &str,
    backup_account: Option<&str>,
    ctx: &DeployContext,
) -> Result<String, Error> {
    let entry = KeychainEntry::new(service, account);
    match backup_account {
        Some(backup_account) => {
            let backup = KeychainEntry::new(service, backup_account);
            ctx.vault
                .run(move |vault| {
                    let previous = vault.entry(&backup)?;
                    vault.set_entry(&entry, &previous)
                })
                .await?;
            Ok(format!(
                "Keychain entry service \"{service}\", account \"{account}\" holds its previous \
                 value again"
            ))
        }
        None => {
            ctx.vault
                .run(move |vault| vault.delete_entry(&entry))
                .await?;
            Ok(format!(
                "Removed keychain entry service \"{service}\", account \"{account}\", which the \
                 deploy had created"
            ))
        }
    }
}

pub(super) async fn undo_interrupted(
    service: &str,
    account: &str,
    secret: &SecretString,
    ctx: &DeployContext,
) -> Result<Option<String>, Error> {
    let entry = KeychainEntry::new(service, account);
    let secret = secret.clone();
    let planned = ctx
        .backup_suffix
        .as_deref()
        .map(|suffix| KeychainEntry::new(service, planned_backup_account(account, suffix)));
    let found = ctx
        .vault
        .run(move |vault| {
            let holds_secret = optional(vault.entry(&entry))?
                .is_some_and(|current| current.expose_secret() == secret.expose_secret());
            if !holds_secret {
                return Ok(None);
            }
            let backup = match &planned {
                Some(planned) => optional(vault.entry(planned))?.map(|_| planned.account.clone()),
                None => None,
            };
            Ok(Some(backup))
        })
        .await?;
    match found {
        // The entry never got the new secret: the deploy did not reach it.
        None => Ok(None),
        Some(backup_account) => undo(service, account, backup_account.as_deref(), ctx)
            .await
            .map(Some),
    }
}

/// `Ok(None)` for an entry that does not exist.
fn optional(found: Result<SecretString, Error>) -> Result<Option<SecretString>, Error> {
    match found {
        Ok(secret) => Ok(Some(secret)),
        Err(Error::SecretNotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

fn planned_backup_account(account: &str, suffix: &str) -> String {
    format!("{account}{BACKUP_ACCOUNT_MARKER}-{suffix}")
}

pub(super) async fn discard_backup(
    service: &str,
    backup_account: &str,
    ctx: &DeployContext,
) -> Result<(), Error> {
    let backup = KeychainEntry::new(service, backup_account);
    ctx.vault
        .run(move |vault| vault.delete_entry(&backup))
        .await
        .map(|_| ())
}

fn backup_account(account: &str) -> String {
    format!(
        "{account}{BACKUP_ACCOUNT_MARKER}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    )
}
