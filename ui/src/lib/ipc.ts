// The only door to the Rust shell: every command goes through `call`, every event through `on`, so
// the contract (the generated src/lib/bindings/Commands.ts and Events.ts) is typed in one place.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { openUrl } from "@tauri-apps/plugin-opener";
import type { AppError } from "./bindings/AppError";
import type { Commands } from "./bindings/Commands";
import { ERROR_KINDS } from "./bindings/ErrorKinds";
import type { Events } from "./bindings/Events";

// Generated from the Rust ErrorKind, like the type itself.
const KINDS: ReadonlySet<string> = new Set(ERROR_KINDS);

export function isAppError(value: unknown): value is AppError {
  return (
    typeof value === "object" && value !== null &&
    typeof (value as AppError).kind === "string" && KINDS.has((value as AppError).kind) &&
    typeof (value as AppError).message === "string"
  );
}

/** Whatever a rejection carries (an AppError, a bare string from Tauri itself, an Error), as an AppError. */
export function toAppError(reason: unknown): AppError {
  if (isAppError(reason)) {
    return {
      kind: reason.kind,
      message: reason.message,
      field: reason.field ?? null,
      retry_after_ms: reason.retry_after_ms ?? null,
    };
  }
  const message =
    typeof reason === "string" ? reason
    : reason instanceof Error ? reason.message
    : "Something went wrong inside Keyward.";
  return { kind: "internal", message, field: null, retry_after_ms: null };
}

export async function call<K extends keyof Commands>(
  cmd: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(cmd, { args });
  } catch (reason) {
    throw toAppError(reason);
  }
}

/** Listens to one of the shell's events (the generated `Events` map names them and types each payload). */
export function on<E extends keyof Events>(event: E, handler: (payload: Events[E]) => void): Promise<UnlistenFn> {
  return listen<Events[E]>(event, (e) => handler(e.payload));
}

/**
 * Opens `url` in the person's browser through the opener plugin (the shell's capability allows only
 * the management-keys page). Where the plugin can't (a plain browser during development), a new tab.
 */
export async function openExternal(url: string): Promise<void> {
  try {
    await openUrl(url);
  } catch {
    window.open(url, "_blank", "noopener,noreferrer");
  }
}
