//! The UI's TypeScript bindings are generated from the Rust types and command list: these tests fail
//! when the committed files (`ui/src/lib/bindings/`) are stale, and check the generated shapes the
//! IPC contract relies on. `cargo test -p keyward -- --ignored regenerate_bindings` rewrites them.

use std::fs;

use keyward_lib::bindings::{committed_dir, generate, regenerate, stale_files};
use keyward_lib::{Options, commands, events};

#[test]
fn committed_bindings_are_fresh() {
    let problems = stale_files(&committed_dir()).unwrap();
    assert!(
        problems.is_empty(),
        "ui/src/lib/bindings is stale; run `cargo test -p keyward -- --ignored regenerate_bindings`:\n{}",
        problems.join("\n")
    );
}

/// Rewrites `ui/src/lib/bindings/` (run on purpose, then commit the result).
#[test]
#[ignore = "writes ui/src/lib/bindings; run it on purpose to regenerate"]
fn regenerate_bindings() {
    let written = regenerate(&committed_dir()).unwrap();
    println!(
        "wrote {} files to {}",
        written.len(),
        committed_dir().display()
    );
}

#[test]
fn generated_shapes_match_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let files = generate(dir.path()).unwrap();
    let read = |name: &str| fs::read_to_string(dir.path().join(name)).unwrap();

    let commands_ts = read("Commands.ts");
    let names: Vec<&str> = commands::signatures().iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "app_state",
            "profile_add",
            "profile_replace_key",
            "profile_rename",
            "profile_remove",
            "profile_switch",
            "sandbox_open",
            "keys_list",
            "credits_get",
            "workspaces_list",
            "workspace_details",
            "workspace_budget_set",
            "workspace_budget_delete",
            "key_validate_create",
            "key_create",
            "key_update",
            "key_delete",
            "key_check",
            "key_metadata_validate",
            "key_metadata_set",
            "saved_filters_list",
            "saved_filter_save",
            "saved_filter_delete",
            "key_tags",
            "key_account",
            "secret_copy",
            "pending_resolve",
            "watch_settings_get",
            "watch_settings_set",
            "alerts_list",
            "alerts_snooze",
            "alerts_pause",
            "watch_refresh_now",
            "usage_history",
            "usage_overview",
            "rotation_policy_get",
            "rotation_policy_set",
            "rotation_policy_validate",
            "rotation_plan",
            "rotation_batch_plan",
            "rotation_start",
            "rotation_action",
            "rotations_list",
            "rotation_history",
            "rotation_start_batch",
            "open_key_take",
            "tray_status",
            "guardrails_list",
            "guardrail_get",
            "guardrail_validate",
            "guardrail_create",
            "guardrail_update",
            "guardrail_delete",
            "guardrail_assign",
            "guardrail_unassign",
            "models_list",
            "key_guardrails",
            "audit_list",
            "audit_verify",
            "audit_export",
            "locate_folders",
            "locate_folder_pick",
            "locate_folder_remove",
            "locate_scan",
            "locate_scan_cancel",
            "locate_report",
            "key_locations",
            "locate_deploy_suggestions",
            "labels_export_pick",
            "labels_import_pick",
            "labels_import_apply",
            "keys_csv_pick",
            "keys_csv_create",
            "keys_csv_cancel",
            "batch_run",
            "batch_cancel",
            "revoke_preview",
            "revoke_start",
            "revoke_delete",
            "revoke_reenable",
            "revokes_list",
            "emergency_revoke_take",
            "about_info",
            "diagnostics_copy",
            "crash_latest",
            "crash_copy",
            "crash_dismiss",
            "log_folder_open",
            "about_link_open",
            "about_open_take",
            "update_check",
            "update_install",
            "update_check_take",
            "startup_painted",
        ]
    );
    for line in [
        "app_state: { args: EmptyArgs; result: AppState };",
        "key_validate_create: { args: CreateKeyArgs; result: Array<AppError> };",
        "key_delete: { args: KeyDeleteArgs; result: null };",
        "secret_copy: { args: SecretCopyArgs; result: SecretCopied };",
        "import type { KeysSnapshot } from \"./KeysSnapshot\";",
        "watch_settings_set: { args: WatchSettings; result: WatchSettings };",
        "alerts_pause: { args: AlertsPauseArgs; result: AlertsSnapshot };",
        "watch_refresh_now: { args: EmptyArgs; result: null };",
        "usage_overview: { args: ProfileScopedArgs; result: UsageOverview };",
        "rotation_action: { args: RotationActionArgs; result: RotationView };",
        "rotations_list: { args: RotationsListArgs; result: Array<RotationView> };",
        "rotation_policy_validate: { args: RotationPolicy; result: Array<AppError> };",
        "rotation_plan: { args: RotationPlanArgs; result: RotationPlan };",
        "key_account: { args: KeyAccountArgs; result: KeyAccount };",
        "rotation_batch_plan: { args: RotationBatchArgs; result: Array<PlannedRotation> };",
        "locate_scan: { args: EmptyArgs; result: LocateReport };",
        "key_locations: { args: LocateKeyArgs; result: KeyLocations };",
        "batch_run: { args: BatchArgs; result: BatchReport };",
        "revoke_start: { args: RevokeArgs; result: RevokeReport };",
        "crash_latest: { args: EmptyArgs; result: CrashReport | null };",
        "diagnostics_copy: { args: EmptyArgs; result: DiagnosticsCopied };",
        "update_check: { args: EmptyArgs; result: UpdateCheck };",
        "update_install: { args: UpdateInstallArgs; result: null };",
        "startup_painted: { args: StartupPaintedArgs; result: null };",
    ] {
        assert!(commands_ts.contains(line), "{line}\n{commands_ts}");
    }
    for file in files
        .iter()
        .filter(|f| !["Commands.ts", "Events.ts", "ErrorKinds.ts"].contains(&f.as_str()))
    {
        let ty = file.trim_end_matches(".ts");
        let text = read(file);
        assert!(
            text.contains(&format!("export type {ty} ")),
            "{file}: {text}"
        );
    }
    let events_ts = read("Events.ts");
    assert!(
        events_ts.contains("\"keys-changed\": KeysChangedEvent;"),
        "{events_ts}"
    );
    assert!(
        events_ts.contains("\"connectivity\": ConnectivityEvent;"),
        "{events_ts}"
    );
    for line in [
        "\"alerts-changed\": AlertsSnapshot;",
        "\"rotation-changed\": RotationView;",
        "\"open-key\": OpenKeyEvent;",
        "\"locate-progress\": ScanProgress;",
        "\"batch-progress\": BatchProgressEvent;",
        "\"emergency-revoke-open\": EmergencyRevokeOpenEvent;",
        "\"update-progress\": UpdateProgress;",
    ] {
        assert!(events_ts.contains(line), "{line}\n{events_ts}");
    }
    assert_eq!(events::KEYS_CHANGED, "keys-changed");
    let open_key = read("OpenKeyEvent.ts");
    assert!(open_key.contains("key_hash: string"), "{open_key}");
    let pause = read("AlertsPauseArgs.ts");
    assert!(pause.contains("minutes: number | null"), "{pause}");

    let kinds = read("ErrorKinds.ts");
    assert!(
        kinds.contains("export const ERROR_KINDS: readonly ErrorKind[] = [\"unauthorized\", "),
        "{kinds}"
    );
    assert!(kinds.contains("\"internal\"]"), "{kinds}");
    let app_error = read("AppError.ts");
    assert!(
        app_error.contains("retry_after_ms: number | null"),
        "{app_error}"
    );
    let key_row = read("KeyRow.ts");
    assert!(key_row.contains("status: KeyStatus"), "{key_row}");
    assert!(key_row.contains("hash: string"), "{key_row}");
    let update = read("UpdateKeyArgs.ts");
    assert!(update.contains("limit?: number | null"), "{update}");
    assert!(
        update.contains("limit_reset?: LimitReset | null"),
        "{update}"
    );
    assert!(update.contains("name?: string"), "{update}");
    let connectivity = read("Connectivity.ts");
    assert!(
        connectivity.contains("\"state\": \"offline\""),
        "{connectivity}"
    );
    let add = read("ProfileAddArgs.ts");
    assert!(add.contains("management_key: string"), "{add}");
    let empty = read("EmptyArgs.ts");
    assert!(empty.contains("Record<string, never>"), "{empty}");
}

#[test]
fn command_line_options() {
    assert_eq!(Options::parse(Vec::<String>::new()), Options::default());
    assert!(Options::parse(["--sandbox".to_owned()]).sandbox);
    assert!(!Options::parse(["--other".to_owned()]).sandbox);
    let launcher = Options::parse(["--sandbox-if-no-key".to_owned()]);
    assert!(launcher.sandbox_if_no_key && !launcher.sandbox);
    let login = Options::parse(["--hidden".to_owned()]);
    assert!(login.hidden && !login.sandbox);
}
