//! Env-file targets: set exactly one `VARIABLE=value` line of a dotenv file and leave every other
//! byte as it was, atomically and with a backup; undo puts the backup back. The backup holds only
//! the variable's previous line (not the file's other values) and lives in Keyward's backup
//! directory, never beside the file. `dotenv` edits the bytes (pure), `files` keeps the file system
//! safe (atomic replace, modes, symlinks, backups); this module puts them together for deploy and
//! undo.

pub(crate) mod dotenv;
mod files;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};

use super::{DeployUndo, Deployed, looks_like_secret, printable};
use crate::Error;
use dotenv::{edit, restore_variable, variable_line};
use files::{
    BACKUP_MARKER, BackupName, ResolvedFile, backup_file_name, lock_writers, planned_backup,
    read_existing, resolve, sync_dir, write_atomically, write_backup,
};

pub(super) fn planned_backup_path(backup_dir: &Path, file: &Path, suffix: &str) -> PathBuf {
    planned_backup(backup_dir, file, suffix)
}

pub(super) fn validate_path(path: &str) -> Result<(), Error> {
    if path.trim().is_empty() {
        return Err(Error::invalid(
            "path",
            "must name the .env file, e.g. /home/me/app/.env",
        ));
    }
    if path.contains('\0') {
        return Err(Error::invalid("path", "must not contain a NUL character"));
    }
    if looks_like_secret(path) {
        return Err(Error::invalid(
            "path",
            "looks like it contains an OpenRouter secret; give the file's path",
        ));
    }
    if !Path::new(path).is_absolute() {
        return Err(Error::invalid(
            "path",
            format!(
                "\"{}\" is relative; give the full path (Keyward's working directory is not your \
                 project's)",
                printable(path)
            ),
        ));
    }
    Ok(())
}

/// Where backups go, or why there is nowhere (a context without a backup directory).
fn require_backup_dir(backup_dir: Option<&Path>) -> Result<&Path, String> {
    backup_dir.ok_or_else(|| {
        "Keyward has no data directory here to keep the file's previous value in (no backup \
         directory is configured)"
            .to_owned()
    })
}

pub(super) async fn deploy(
    path: &str,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    backup_dir: Option<&Path>,
) -> Result<Deployed, String> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let secret = secret.clone();
    let backup_suffix = backup_suffix.map(str::to_owned);
    let backup_dir = backup_dir.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        deploy_blocking(
            &path,
            &variable,
            &secret,
            backup_suffix.as_deref(),
            backup_dir.as_deref(),
        )
    })
    .await
    .map_err(|join| format!("Writing the .env file did not finish ({join})"))?
}

fn deploy_blocking(
    path: &Path,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    backup_dir: Option<&Path>,
) -> Result<Deployed, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("Did not change {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let old = read_existing(&file).map_err(fail)?;
    let edit = edit(
        old.as_deref().unwrap_or_default(),
        variable,
        secret.expose_secret(),
    )
    .map_err(fail)?;

    // `fresh`: this call wrote the backup (so it may remove it again if the file write fails).
    let (backup, fresh) = match (&old, backup_suffix) {
        (None, _) => (None, false),
        (Some(old), None) => {
            let dir = require_backup_dir(backup_dir).map_err(fail)?;
            let line = variable_line(old, variable).map_err(fail)?;
            (
                Some(write_backup(dir, &file.real, &line, BackupName::Timestamped).map_err(fail)?),
                true,
            )
        }
        (Some(old), Some(suffix)) => {
            let dir = require_backup_dir(backup_dir).map_err(fail)?;
            let planned = planned_backup(dir, &file.real, suffix);
            if planned.exists() {
                // An earlier, interrupted attempt backed the file up before writing it: that backup
                // holds the value from before, the file may already hold the new secret.
                (Some(planned), false)
            } else if edit.content == *old {
                // Already holds the secret and was never backed up under the planned name: an
                // earlier attempt created the variable (or the file). A backup now would only
                // keep the new secret and make a rollback "restore" it.
                (None, false)
            } else {
                let line = variable_line(old, variable).map_err(fail)?;
                let written = write_backup(dir, &file.real, &line, BackupName::Planned(suffix))
                    .map_err(fail)?;
                (Some(written), true)
            }
        }
    };
    if let Err(why) = write_atomically(&file.real, &edit.content, file.permissions.as_ref()) {
        // The file is untouched; a backup of it is useless and holds a secret.
        if fresh
            && let Some(backup) = &backup
            && let Err(err) = fs::remove_file(backup)
        {
            tracing::warn!(backup = %backup.display(), %err, "could not remove an unneeded backup");
        }
        return Err(fail(why));
    }

    let what = match (&old, edit.replaced) {
        (None, _) => "created the file",
        (Some(_), true) => "replaced its line",
        (Some(_), false) => "added a line",
    };
    // The target already names the variable and the file, and `backup_path` where the previous
    // value is kept (the window shows both beside this): say what happened, and where a link led.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut message = if file.real == path {
        what.to_owned()
    } else {
        format!("{what} in {}, which {shown} links to", file.real.display())
    };
    #[cfg(unix)]
    if let Some((narrowed, _)) = file
        .permissions
        .as_ref()
        .and_then(files::rewritten_permissions)
    {
        use std::os::unix::fs::PermissionsExt;
        let before = file.permissions.as_ref().map_or(0, |p| p.mode() & 0o777);
        message.push_str(&format!(
            "; its mode is now {narrowed:o} (it was {before:o}: it holds a live secret, so other \
             users may not read it)"
        ));
    }
    let backup_shown = backup.as_ref().map(|b| b.display().to_string());
    Ok(Deployed {
        message,
        backup_path: backup_shown.clone(),
        undo: Some(DeployUndo::RestoreEnvVariable {
            path: path.display().to_string(),
            variable: variable.to_owned(),
            backup_path: backup_shown,
        }),
    })
}

pub(super) async fn undo(
    path: &str,
    variable: &str,
    backup_path: Option<&str>,
) -> Result<String, Error> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let backup_path = backup_path.map(PathBuf::from);
    tokio::task::spawn_blocking(move || undo_blocking(&path, &variable, backup_path.as_deref()))
        .await
        .map_err(|join| Error::Internal {
            message: format!("restoring the .env file did not finish ({join})"),
            source: Some(join.into()),
        })?
        .map_err(|why| Error::invalid("path", why))
}

fn undo_blocking(
    path: &Path,
    variable: &str,
    backup_path: Option<&Path>,
) -> Result<String, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("could not restore {variable} in {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let Some(current) = read_existing(&file).map_err(fail)? else {
        return match backup_path {
            None => Ok(format!("{shown} is already gone; nothing to restore")),
            Some(backup) => Err(fail(format!(
                "the file is gone; its previous content is in {}",
                backup.display()
            ))),
        };
    };
    let backup = match backup_path {
        Some(backup) => Some(fs::read(backup).map_err(|err| {
            fail(format!(
                "its backup {} can't be read: {err}",
                backup.display()
            ))
        })?),
        None => None,
    };
    let restored = restore_variable(&current, backup.as_deref(), variable).map_err(fail)?;
    if backup.is_none() && restored.iter().all(u8::is_ascii_whitespace) {
        fs::remove_file(&file.real).map_err(|err| fail(err.to_string()))?;
        sync_dir(&file.dir);
        return Ok(format!(
            "Removed {shown}, which the deploy had created for {variable}"
        ));
    }
    write_atomically(&file.real, &restored, file.permissions.as_ref()).map_err(fail)?;
    Ok(match backup_path {
        Some(backup) => format!(
            "{variable} in {shown} is as it was before the deploy (from {})",
            backup.display()
        ),
        None => format!("Removed {variable} from {shown}, where the deploy had added it"),
    })
}

pub(super) async fn undo_interrupted(
    path: &str,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    backup_dir: Option<&Path>,
    since: SystemTime,
) -> Result<Option<String>, Error> {
    let path = PathBuf::from(path);
    let variable = variable.to_owned();
    let secret = secret.clone();
    let backup_suffix = backup_suffix.map(str::to_owned);
    let backup_dir = backup_dir.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        let Some(backup) = interrupted_backup(
            &path,
            &variable,
            &secret,
            backup_suffix.as_deref(),
            backup_dir.as_deref(),
            since,
        )?
        else {
            return Ok(None);
        };
        undo_blocking(&path, &variable, backup.as_deref()).map(Some)
    })
    .await
    .map_err(|join| Error::Internal {
        message: format!("restoring the .env file did not finish ({join})"),
        source: Some(join.into()),
    })?
    .map_err(|why| Error::invalid("path", why))
}

/// For a deploy that may have been interrupted: `None` when the file does not hold `secret` in
/// `variable` (the write never happened), otherwise the backup to restore from (`Some(None)`: there
/// is none, so the variable was not there before).
fn interrupted_backup(
    path: &Path,
    variable: &str,
    secret: &SecretString,
    backup_suffix: Option<&str>,
    backup_dir: Option<&Path>,
    since: SystemTime,
) -> Result<Option<Option<PathBuf>>, String> {
    let shown = path.display().to_string();
    let fail = |why: String| format!("could not restore {variable} in {shown}: {why}");
    let file = resolve(path).map_err(fail)?;
    let _guard = lock_writers(&file.dir).map_err(fail)?;
    let Some(current) = read_existing(&file).map_err(fail)? else {
        return Ok(None);
    };
    if !holds(&current, variable, secret) {
        return Ok(None);
    }
    let backup_dir = require_backup_dir(backup_dir).map_err(fail)?;
    if let Some(suffix) = backup_suffix {
        let planned = planned_backup(backup_dir, &file.real, suffix);
        if planned.exists() {
            return Ok(Some(Some(planned)));
        }
    }
    Ok(Some(earliest_backup_since(
        backup_dir, &file, variable, secret, since,
    )))
}

/// The first backup of `file` written since `since` that does not hold the new secret: a deploy
/// that was not given a planned name backs up into a timestamped group, and the first backup made
/// after the deploy began has the value from before it.
fn earliest_backup_since(
    backup_dir: &Path,
    file: &ResolvedFile,
    variable: &str,
    secret: &SecretString,
    since: SystemTime,
) -> Option<PathBuf> {
    let name = backup_file_name(&file.real);
    // Coarse file-system clocks may stamp a backup slightly before the recorded start.
    let since = since.checked_sub(Duration::from_secs(2)).unwrap_or(since);
    let groups = fs::read_dir(backup_dir).ok()?;
    groups
        .filter_map(Result::ok)
        .map(|group| group.path().join(&name))
        .filter_map(|backup| {
            let modified = fs::metadata(&backup).ok()?.modified().ok()?;
            (modified >= since).then_some((modified, backup))
        })
        .filter(|(_, backup)| {
            fs::read(backup).is_ok_and(|content| !holds(&content, variable, secret))
        })
        .min_by_key(|(modified, _)| *modified)
        .map(|(_, backup)| backup)
}

/// Whether `content` already sets `variable` to `secret` (setting it would change nothing).
fn holds(content: &[u8], variable: &str, secret: &SecretString) -> bool {
    edit(content, variable, secret.expose_secret()).is_ok_and(|edit| edit.content == content)
}

pub(super) async fn discard_backup(backup: &str) -> Result<(), Error> {
    let backup = PathBuf::from(backup);
    let is_ours = backup
        .file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.contains(BACKUP_MARKER));
    if !is_ours {
        return Err(Error::invalid(
            "backup_path",
            format!(
                "{} is not a backup Keyward made; not removing it",
                backup.display()
            ),
        ));
    }
    tokio::task::spawn_blocking(move || match fs::remove_file(&backup) {
        Ok(()) => {
            remove_empty_group(&backup);
            Ok(())
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(Error::invalid(
            "backup_path",
            format!("could not remove {}: {err}", backup.display()),
        )),
    })
    .await
    .map_err(|join| Error::Internal {
        message: format!("removing the backup did not finish ({join})"),
        source: Some(join.into()),
    })?
}

/// Removes the group directory a backup was in once it is empty, if it is one of the backup
/// directory's (never the directory of an earlier version's backup beside a project's file).
fn remove_empty_group(backup: &Path) {
    let Some(group) = backup.parent() else {
        return;
    };
    let in_backup_dir = group
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|name| name == super::BACKUP_DIR_NAME);
    if in_backup_dir {
        // Fails, harmlessly, while the group still holds another target's backup.
        let _ = fs::remove_dir(group);
    }
}

/// Removes every backup of one group (a rotation's, `suffix`) at once. A group that is not there is
/// not an error.
pub(super) fn discard_group(backup_dir: &Path, group: &str) -> Result<bool, Error> {
    if group.is_empty() || group.contains(['/', '\\']) || group.starts_with('.') {
        return Err(Error::invalid(
            "backup_suffix",
            "is not a backup group's name",
        ));
    }
    match fs::remove_dir_all(backup_dir.join(group)) {
        Ok(()) => {
            sync_dir(backup_dir);
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::invalid(
            "backup_path",
            format!(
                "could not remove the backups in {}: {err}",
                backup_dir.join(group).display()
            ),
        )),
    }
}

/// The groups in the backup directory (empty when it does not exist).
pub(super) fn groups(backup_dir: &Path) -> Vec<String> {
    fs::read_dir(backup_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
                .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unix absolute paths (`/home/…`); on Windows they are not absolute.
    #[cfg(unix)]
    #[test]
    fn paths_must_be_absolute_and_plain() {
        assert!(validate_path("/home/me/app/.env").is_ok());
        for bad in ["", " ", ".env", "app/.env", "/x/sk-or-v1-abc/.env", "/a\0b"] {
            let err = validate_path(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field: Some(f), .. } if f == "path"),
                "{bad:?}: {err:?}"
            );
        }
    }
}
