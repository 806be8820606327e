//! Commands about key rotation: policies, starting one key or a batch, the person's actions on a
//! running rotation, and the lists. Progress arrives as `rotation-changed` events.

use keyward_core::AppError;
use keyward_core::rotation::{
    PlannedRotation, RotationActionArgs, RotationBatchArgs, RotationKeyArgs, RotationPlan,
    RotationPlanArgs, RotationPolicy, RotationStartArgs, RotationView, RotationsListArgs,
};
use tauri::AppHandle;

use super::service;

#[tauri::command]
pub async fn rotation_policy_get(
    app: AppHandle,
    args: RotationKeyArgs,
) -> Result<RotationPolicy, AppError> {
    Ok(service(&app).rotation_policy(&args.profile_id, &args.key_hash)?)
}

/// Stores a policy. A command target not approved yet is put to the person in a native dialog
/// (shown by Rust, not the web view); a refusal is an `invalid_input` error on
/// `targets[i].program` and stores nothing. The web view can ask, never approve.
#[tauri::command]
pub async fn rotation_policy_set(
    app: AppHandle,
    args: RotationPolicy,
) -> Result<RotationPolicy, AppError> {
    Ok(service(&app).set_rotation_policy_approving(args).await?)
}

/// Every problem of a policy (`field` set); nothing is stored. Empty = valid.
#[tauri::command]
pub async fn rotation_policy_validate(
    app: AppHandle,
    args: RotationPolicy,
) -> Result<Vec<AppError>, AppError> {
    Ok(service(&app).validate_rotation_policy(&args))
}

/// What rotating one key would give the new key: name, workspace, limit, expiry, the guardrail /
/// BYOK allowlists / log destinations it joins, deploy targets.
#[tauri::command]
pub async fn rotation_plan(
    app: AppHandle,
    args: RotationPlanArgs,
) -> Result<RotationPlan, AppError> {
    Ok(service(&app).rotation_plan(&args).await?)
}

/// The cached keys a batch pattern selects, with their new names.
#[tauri::command]
pub async fn rotation_batch_plan(
    app: AppHandle,
    args: RotationBatchArgs,
) -> Result<Vec<PlannedRotation>, AppError> {
    Ok(service(&app).rotation_batch_plan(&args)?)
}

#[tauri::command]
pub async fn rotation_start(
    app: AppHandle,
    args: RotationStartArgs,
) -> Result<RotationView, AppError> {
    // The window follows the steps through `rotation-changed`.
    Ok(service(&app).rotation_start_detached(args).await?)
}

#[tauri::command]
pub async fn rotation_action(
    app: AppHandle,
    args: RotationActionArgs,
) -> Result<RotationView, AppError> {
    Ok(service(&app).rotation_action(&args.id, args.action).await?)
}

#[tauri::command]
pub async fn rotations_list(
    app: AppHandle,
    args: RotationsListArgs,
) -> Result<Vec<RotationView>, AppError> {
    Ok(service(&app).rotations(args.profile_id.as_deref(), args.active_only)?)
}

#[tauri::command]
pub async fn rotation_history(
    app: AppHandle,
    args: RotationKeyArgs,
) -> Result<Vec<RotationView>, AppError> {
    Ok(service(&app).rotation_history(&args.profile_id, &args.key_hash)?)
}

#[tauri::command]
pub async fn rotation_start_batch(
    app: AppHandle,
    args: RotationBatchArgs,
) -> Result<Vec<RotationView>, AppError> {
    Ok(service(&app).rotation_start_batch(args).await?)
}
