// What the UI adds to an AppError: the sentence itself is the error's message, written once in Rust
// (its Display); here are only hints, keyed by the generated ErrorKind: what a person can do next.
import type { AppError } from "./bindings/AppError";
import type { ErrorKind } from "./bindings/ErrorKind";

export const MANAGEMENT_KEYS_URL = "https://openrouter.ai/settings/management-keys";

export function isConnectivityError(e: AppError): boolean {
  return e.kind === "network" || e.kind === "timeout";
}

const TRY_AGAIN = "Try again in a moment.";

// Only what the Rust sentence cannot know: where in this UI to act. The keychain errors' messages
// already say how to unlock or install one (vault.rs), so they get no hint here.
const HINTS: Partial<Record<ErrorKind, string | ((profileName?: string) => string)>> = {
  unauthorized: (profileName) =>
    profileName
      ? `The management key of ${profileName} may have been deleted or revoked: paste a current one to continue.`
      : "It may have been deleted or revoked: paste a current management key to continue.",
  profile_holds_secrets: "Open Pending secrets and resolve each one (stored elsewhere, or kept), then remove the profile.",
  server: TRY_AGAIN,
  timeout: TRY_AGAIN,
  network: TRY_AGAIN,
};

/** What the person can do about it, where there is something to say (`not_management_key`'s is a
 * link, which ErrorCallout renders itself). */
export function errorHint(e: AppError, profileName?: string): string | null {
  const hint = HINTS[e.kind];
  return typeof hint === "function" ? hint(profileName) : (hint ?? null);
}

/** The sentence to show inline: Rust's message, never a second headline in front of it. */
export function describe(e: AppError): string {
  return e.message.trim() || "Something went wrong inside Keyward.";
}
