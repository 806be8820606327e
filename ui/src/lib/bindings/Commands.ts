// This file was generated from src-tauri/src by `cargo test -p keyward -- --ignored regenerate_bindings`. Do not edit it by hand.
import type { AppError } from "./AppError";
import type { AppState } from "./AppState";
import type { CheckedKey } from "./CheckedKey";
import type { CreateKeyArgs } from "./CreateKeyArgs";
import type { CreatedKey } from "./CreatedKey";
import type { Credits } from "./Credits";
import type { EmptyArgs } from "./EmptyArgs";
import type { KeyCheckArgs } from "./KeyCheckArgs";
import type { KeyDeleteArgs } from "./KeyDeleteArgs";
import type { KeyRow } from "./KeyRow";
import type { KeysListArgs } from "./KeysListArgs";
import type { KeysSnapshot } from "./KeysSnapshot";
import type { PendingResolveArgs } from "./PendingResolveArgs";
import type { Profile } from "./Profile";
import type { ProfileAddArgs } from "./ProfileAddArgs";
import type { ProfileIdArgs } from "./ProfileIdArgs";
import type { ProfileRenameArgs } from "./ProfileRenameArgs";
import type { ProfileReplaceKeyArgs } from "./ProfileReplaceKeyArgs";
import type { ProfileScopedArgs } from "./ProfileScopedArgs";
import type { SecretCopied } from "./SecretCopied";
import type { SecretCopyArgs } from "./SecretCopyArgs";
import type { UpdateKeyArgs } from "./UpdateKeyArgs";

/** Every command of the shell: `invoke(name, { args })` resolves to `result` or rejects with an `AppError`. */
export type Commands = {
  app_state: { args: EmptyArgs; result: AppState };
  profile_add: { args: ProfileAddArgs; result: Profile };
  profile_replace_key: { args: ProfileReplaceKeyArgs; result: Profile };
  profile_rename: { args: ProfileRenameArgs; result: Profile };
  profile_remove: { args: ProfileIdArgs; result: AppState };
  profile_switch: { args: ProfileIdArgs; result: AppState };
  sandbox_open: { args: EmptyArgs; result: Profile };
  keys_list: { args: KeysListArgs; result: KeysSnapshot };
  credits_get: { args: ProfileScopedArgs; result: Credits };
  key_validate_create: { args: CreateKeyArgs; result: Array<AppError> };
  key_create: { args: CreateKeyArgs; result: CreatedKey };
  key_update: { args: UpdateKeyArgs; result: KeyRow };
  key_delete: { args: KeyDeleteArgs; result: null };
  key_check: { args: KeyCheckArgs; result: CheckedKey };
  secret_copy: { args: SecretCopyArgs; result: SecretCopied };
  pending_resolve: { args: PendingResolveArgs; result: AppState };
};
