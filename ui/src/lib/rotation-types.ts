// The rotation and deploy view types of the session-2 contract (with the fields keyward-core's
// rotation/deploy modules added), written by hand until ts-rs generates them into src/lib/bindings/;
// then this file re-exports those and goes away.
import type { AppError } from "./bindings/AppError";

export type DeployTarget =
  | { kind: "clipboard" }
  | { kind: "env_file"; path: string; variable: string }
  | { kind: "keychain"; service: string; account: string }
  | { kind: "command"; program: string; args: Array<string>; env_var: string; working_dir: string | null };

export type DeployUndo =
  | { kind: "restore_env_variable"; path: string; variable: string; backup_path: string | null }
  | { kind: "restore_keychain_entry"; service: string; account: string; backup_account: string | null };

export type DeployOutcome = {
  target: DeployTarget;
  ok: boolean;
  message: string;
  backup_path: string | null;
  /** How the deploy can be taken back; null when it failed or cannot be (clipboard, command). */
  undo: DeployUndo | null;
};

export type RotationStepName = "create" | "store_secret" | "deploy" | "verify" | "drain" | "disable_old" | "delete_old";
export type RotationStepStatus = "pending" | "running" | "done" | "failed" | "skipped" | "waiting";

export type RotationStepView = {
  step: RotationStepName;
  status: RotationStepStatus;
  detail: string | null;
  started_at: string | null;
  finished_at: string | null;
  deploy: Array<DeployOutcome>;
  /** How many times the step was started (retries and resumes after a crash included). */
  attempts: number;
};

export type RotationStatus = "running" | "waiting" | "failed" | "completed" | "rolled_back" | "abandoned";
export type RotationAction = "resume" | "retry" | "confirm_drained" | "delete_now" | "roll_back" | "abandon";

export type DrainView = {
  last_used_at: string | null;
  /** The old key's lifetime usage (USD) at the latest check. */
  usage: number;
  quiet_since: string | null;
  quiet_period_secs: number;
  next_check_at: string | null;
};

export type RotationView = {
  id: string;
  profile_id: string;
  old_key_hash: string;
  old_key_name: string;
  new_key_hash: string | null;
  new_key_name: string;
  /** The new key's masked label, once created. */
  new_key_label: string | null;
  status: RotationStatus;
  /** The first step not done; null once finished. */
  current_step: RotationStepName | null;
  steps: Array<RotationStepView>;
  waiting_for: string | null;
  /** Why it stopped, or what happened (rolled back, interrupted and resumed…). */
  detail: string | null;
  error: AppError | null;
  actions: Array<RotationAction>;
  drain: DrainView | null;
  grace_until: string | null;
  /** Whether the new secret may be in use somewhere (a deploy reached a target, or was interrupted). */
  secret_deployed: boolean;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
};

export type NewExpiry = "keep_lifetime" | "none" | { days: number };

export type RotationPolicy = {
  profile_id: string;
  key_hash: string;
  every_days: number | null;
  before_expiry_days: number | null;
  auto_rotate: boolean;
  targets: Array<DeployTarget>;
  quiet_period_secs: number;
  grace_period_secs: number;
  new_expiry: NewExpiry;
  /** Keep the new secret in the keychain after the rotation (else removed once a durable target has it). */
  keep_new_secret: boolean;
};

export type RotationStartArgs = { profile_id: string; key_hash: string; delete_at_once: boolean };
export type RotationBatchArgs = { profile_id: string; name_pattern: string };
export type RotationActionArgs = { id: string; action: RotationAction };
export type RotationKeyArgs = { profile_id: string; key_hash: string };
/** `profile_id: null` lists every profile. */
export type RotationsListArgs = { profile_id: string | null; active_only: boolean };

/** The rotation commands, in the shape of bindings/Commands.ts, until the generated one lists them. */
export type RotationCommands = {
  rotation_policy_get: { args: RotationKeyArgs; result: RotationPolicy };
  rotation_policy_set: { args: RotationPolicy; result: RotationPolicy };
  rotation_start: { args: RotationStartArgs; result: RotationView };
  rotation_action: { args: RotationActionArgs; result: RotationView };
  rotations_list: { args: RotationsListArgs; result: Array<RotationView> };
  rotation_history: { args: RotationKeyArgs; result: Array<RotationView> };
  rotation_start_batch: { args: RotationBatchArgs; result: Array<RotationView> };
};
