//! Every command the UI can call, listed once in [`keyward_commands!`]: the list registers the
//! handlers, checks each handler's argument and result types at compile time, and describes the
//! commands to the TypeScript generator (`bindings`), so the UI's `Commands` map can't drift.
//!
//! A command takes one `args` object (`invoke(name, { args })`), calls one service function and
//! returns its result or rejects with an `AppError`.

pub(crate) mod about;
mod account;
mod audit;
pub(crate) mod batch;
mod csv;
mod guardrails;
mod keys;
mod locate;
mod metadata;
mod organise;
mod profiles;
mod rotation;
mod sandbox;
mod secrets;
mod startup;
pub(crate) mod updater;
mod watch;
mod window;
mod workspaces;

use std::future::Future;

use keyward_core::AppError;
use keyward_core::Keyward;
use tauri::{AppHandle, Manager};

use crate::bindings::TsType;

pub use crate::clipboard::CLIPBOARD_CLEAR_AFTER;

/// The service, managed by the app since set-up.
fn service(app: &AppHandle) -> Keyward {
    app.state::<Keyward>().inner().clone()
}

/// One command as the TypeScript generator sees it.
pub struct CommandSignature {
    pub name: &'static str,
    /// The TypeScript type of `args` and of the result, and the named types they use.
    pub args: TsType,
    pub result: TsType,
}

/// Compile-time proof that `handler` takes `(AppHandle, A)` and resolves to `Result<R, AppError>`.
fn signature_of<A, R, F, Fut>(name: &'static str, _handler: F) -> CommandSignature
where
    A: ts_rs::TS + 'static,
    R: ts_rs::TS + 'static,
    F: Fn(AppHandle, A) -> Fut,
    Fut: Future<Output = Result<R, AppError>>,
{
    CommandSignature {
        name,
        args: TsType::of::<A>(),
        result: TsType::of::<R>(),
    }
}

macro_rules! keyward_commands {
    ($($module:ident :: $name:ident;)*) => {
        /// The invoke handler with every command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($module::$name),*]
        }

        /// Every command, in the order the UI's `Commands` map lists them.
        pub fn signatures() -> Vec<CommandSignature> {
            vec![$(signature_of(stringify!($name), $module::$name)),*]
        }
    };
}

keyward_commands! {
    profiles::app_state;
    profiles::profile_add;
    profiles::profile_replace_key;
    profiles::profile_rename;
    profiles::profile_remove;
    profiles::profile_switch;
    sandbox::sandbox_open;
    keys::keys_list;
    keys::credits_get;
    keys::workspaces_list;
    workspaces::workspace_details;
    workspaces::workspace_budget_set;
    workspaces::workspace_budget_delete;
    keys::key_validate_create;
    keys::key_create;
    keys::key_update;
    keys::key_delete;
    keys::key_check;
    metadata::key_metadata_validate;
    metadata::key_metadata_set;
    organise::saved_filters_list;
    organise::saved_filter_save;
    organise::saved_filter_delete;
    organise::key_tags;
    account::key_account;
    secrets::secret_copy;
    secrets::pending_resolve;
    watch::watch_settings_get;
    watch::watch_settings_set;
    watch::alerts_list;
    watch::alerts_snooze;
    watch::alerts_pause;
    watch::watch_refresh_now;
    watch::usage_history;
    watch::usage_overview;
    rotation::rotation_policy_get;
    rotation::rotation_policy_set;
    rotation::rotation_policy_validate;
    rotation::rotation_plan;
    rotation::rotation_batch_plan;
    rotation::rotation_start;
    rotation::rotation_action;
    rotation::rotations_list;
    rotation::rotation_history;
    rotation::rotation_start_batch;
    window::open_key_take;
    window::tray_status;
    guardrails::guardrails_list;
    guardrails::guardrail_get;
    guardrails::guardrail_validate;
    guardrails::guardrail_create;
    guardrails::guardrail_update;
    guardrails::guardrail_delete;
    guardrails::guardrail_assign;
    guardrails::guardrail_unassign;
    guardrails::models_list;
    guardrails::key_guardrails;
    audit::audit_list;
    audit::audit_verify;
    audit::audit_export;
    locate::locate_folders;
    locate::locate_folder_pick;
    locate::locate_folder_remove;
    locate::locate_scan;
    locate::locate_scan_cancel;
    locate::locate_report;
    locate::key_locations;
    locate::locate_deploy_suggestions;
    csv::labels_export_pick;
    csv::labels_import_pick;
    csv::labels_import_apply;
    csv::keys_csv_pick;
    csv::keys_csv_create;
    csv::keys_csv_cancel;
    batch::batch_run;
    batch::batch_cancel;
    batch::revoke_preview;
    batch::revoke_start;
    batch::revoke_delete;
    batch::revoke_reenable;
    batch::revokes_list;
    batch::emergency_revoke_take;
    about::about_info;
    about::diagnostics_copy;
    about::crash_latest;
    about::crash_copy;
    about::crash_dismiss;
    about::log_folder_open;
    about::about_link_open;
    about::about_open_take;
    updater::update_check;
    updater::update_install;
    updater::update_check_take;
    startup::startup_painted;
}
