// Turns an AppError into words a person can act on, by kind; never a raw dump.
import type { AppError } from "./bindings/AppError";

export const MANAGEMENT_KEYS_URL = "https://openrouter.ai/settings/management-keys";

export function isConnectivityError(e: AppError): boolean {
  return e.kind === "network" || e.kind === "timeout";
}

/** A one-line title for the error; `message` from the shell is shown beneath it when it adds something. */
export function errorTitle(e: AppError, profileName?: string): string {
  switch (e.kind) {
    case "unauthorized": return profileName ? `The management key for ${profileName} was rejected` : "The key was rejected by OpenRouter";
    case "forbidden": return "OpenRouter refused this action for this management key";
    case "not_management_key": return "That is an inference key, not a management key";
    case "not_found": return "That key no longer exists on OpenRouter";
    case "conflict": return "OpenRouter reported a conflict — someone may have changed this key";
    case "rate_limited": return "OpenRouter is rate limiting Keyward";
    case "server": return "OpenRouter had a server error";
    case "network": return "OpenRouter is unreachable";
    case "timeout": return "OpenRouter did not answer in time";
    case "decode": return "OpenRouter sent an answer Keyward could not read";
    case "keychain_unavailable": return "The OS keychain is not available";
    case "keychain_locked": return "The OS keychain is locked";
    case "keychain_denied": return "The OS keychain refused Keyward access";
    case "keychain": return "The OS keychain failed";
    case "profile_name_taken": return "A profile with that name already exists";
    case "profile_not_found": return "That profile no longer exists";
    case "profile_holds_secrets": return "This profile still holds key secrets";
    case "secret_not_found": return "That secret is no longer in the keychain";
    case "invalid_input": return "Some input is not valid";
    case "store": return "Keyward could not read or write its local data";
    default: return "Something went wrong inside Keyward";
  }
}

/** What the person can do about it, where there is something to say. */
export function errorHint(e: AppError): string | null {
  switch (e.kind) {
    case "keychain_unavailable":
      return "Keyward keeps management keys only in the OS keychain. On Linux, install and start a Secret Service (GNOME Keyring or KWallet) and sign in again; on macOS and Windows, make sure the login keychain / Credential Manager is available.";
    case "keychain_denied":
      return "Allow Keyward in your keychain's access prompt (or its access-control settings), then try again.";
    case "profile_holds_secrets":
      return "Open Pending secrets and resolve each one (stored elsewhere, or kept), then remove the profile.";
    case "keychain_locked":
      return "Unlock your keychain (on Linux: GNOME Keyring / KWallet, usually by logging in again or opening “Passwords and Keys”), then try again.";
    case "not_management_key":
      return `An inference key calls models. Keyward needs a management key, which creates, edits and revokes keys but cannot call models. Create one at ${MANAGEMENT_KEYS_URL}.`;
    case "unauthorized":
      return "It may have been deleted or revoked. Paste a current management key to continue.";
    case "not_found":
      return "It was probably deleted elsewhere. Refresh the list to see what is there now.";
    case "server": case "timeout": case "network":
      return "Try again in a moment.";
    default:
      return null;
  }
}

/** Title plus the shell's explanation when it differs, for inline messages. */
export function describe(e: AppError, profileName?: string): string {
  const title = errorTitle(e, profileName);
  const msg = e.message.trim();
  if (!msg || msg.toLowerCase() === title.toLowerCase()) return title;
  return `${title}: ${msg}`;
}
