//! Commands about watching keys: the watch settings (with start at login), alerts (list, snooze,
//! pause), an immediate refresh, and usage history.

use keyward_core::AppError;
use keyward_core::Error;
use keyward_core::ipc::{
    AlertsListArgs, AlertsPauseArgs, AlertsSnoozeArgs, EmptyArgs, ProfileScopedArgs,
    UsageHistoryArgs,
};
use keyward_core::watch::{AlertsSnapshot, UsageHistory, UsageOverview, WatchSettings};
use tauri::{AppHandle, Manager};

use super::service;
use crate::{Background, autostart};

#[tauri::command]
pub async fn watch_settings_get(
    app: AppHandle,
    args: EmptyArgs,
) -> Result<WatchSettings, AppError> {
    let EmptyArgs {} = args;
    Ok(service(&app).watch_settings())
}

/// Stores the settings and applies start at login. When the login entry can't be changed, the
/// previous `start_at_login` is stored back and the error names that field.
#[tauri::command]
pub async fn watch_settings_set(
    app: AppHandle,
    args: WatchSettings,
) -> Result<WatchSettings, AppError> {
    let service = service(&app);
    let previous = service.watch_settings().start_at_login;
    let saved = service.set_watch_settings(args)?;
    if let Err(reason) = autostart::apply(&app, saved.start_at_login) {
        tracing::warn!(error = %reason, "could not change start at login");
        service.set_watch_settings(WatchSettings {
            start_at_login: previous,
            ..saved
        })?;
        return Err(Error::invalid(
            "start_at_login",
            format!("Start at login could not be changed: {reason}"),
        )
        .into());
    }
    Ok(saved)
}

#[tauri::command]
pub async fn alerts_list(app: AppHandle, args: AlertsListArgs) -> Result<AlertsSnapshot, AppError> {
    Ok(service(&app).alerts(args.profile_id.as_deref())?)
}

#[tauri::command]
pub async fn alerts_snooze(
    app: AppHandle,
    args: AlertsSnoozeArgs,
) -> Result<AlertsSnapshot, AppError> {
    Ok(service(&app).snooze_alerts(&args.profile_id, &args.key_hash, args.until)?)
}

#[tauri::command]
pub async fn alerts_pause(
    app: AppHandle,
    args: AlertsPauseArgs,
) -> Result<AlertsSnapshot, AppError> {
    let until = match args.minutes {
        None => None,
        Some(0) => return Err(Error::invalid("minutes", "must be at least 1").into()),
        Some(minutes) => Some(chrono::Utc::now() + chrono::Duration::minutes(i64::from(minutes))),
    };
    Ok(service(&app).pause_alerts(until)?)
}

/// Starts a watch cycle now; its results arrive as `alerts-changed` (and notifications).
#[tauri::command]
pub async fn watch_refresh_now(app: AppHandle, args: EmptyArgs) -> Result<(), AppError> {
    let EmptyArgs {} = args;
    match app.try_state::<Background>() {
        Some(background) => {
            background.refresh_now();
            Ok(())
        }
        None => Err(Error::Internal {
            message: "the watcher has not started yet".to_owned(),
            source: None,
        }
        .into()),
    }
}

#[tauri::command]
pub async fn usage_history(
    app: AppHandle,
    args: UsageHistoryArgs,
) -> Result<UsageHistory, AppError> {
    Ok(service(&app)
        .usage_history(&args.profile_id, &args.key_hash)
        .await?)
}

#[tauri::command]
pub async fn usage_overview(
    app: AppHandle,
    args: ProfileScopedArgs,
) -> Result<UsageOverview, AppError> {
    Ok(service(&app).usage_overview(&args.profile_id).await?)
}
