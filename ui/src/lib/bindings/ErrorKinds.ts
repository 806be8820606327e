// This file was generated from src-tauri/src by `cargo test -p keyward -- --ignored regenerate_bindings`. Do not edit it by hand.
import type { ErrorKind } from "./ErrorKind";

/** Every `ErrorKind`, as values (e.g. to check a rejection at run time). */
export const ERROR_KINDS: readonly ErrorKind[] = ["unauthorized", "forbidden", "not_found", "conflict", "rate_limited", "server", "network", "timeout", "decode", "invalid_input", "keychain_unavailable", "keychain_locked", "keychain_denied", "secret_not_found", "keychain", "store", "profile_name_taken", "profile_not_found", "profile_holds_secrets", "not_management_key", "update", "update_blocked", "internal"];
