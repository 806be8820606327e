// The watching commands and events (alerts, usage, settings, open-key). Typed by watch-types.ts until
// the generated bindings/Commands.ts lists these commands; then `watchCall` becomes ipc.ts's `call`.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { toAppError } from "./ipc";
import type { AlertsSnapshot, OpenKeyEvent, WatchCommands } from "./watch-types";

export async function watchCall<K extends keyof WatchCommands>(
  cmd: K,
  args: WatchCommands[K]["args"],
): Promise<WatchCommands[K]["result"]> {
  try {
    return await invoke<WatchCommands[K]["result"]>(cmd, { args });
  } catch (reason) {
    throw toAppError(reason);
  }
}

export function onAlertsChanged(handler: (event: AlertsSnapshot) => void): Promise<UnlistenFn> {
  return listen<AlertsSnapshot>("alerts-changed", (e) => handler(e.payload));
}

export function onOpenKey(handler: (event: OpenKeyEvent) => void): Promise<UnlistenFn> {
  return listen<OpenKeyEvent>("open-key", (e) => handler(e.payload));
}
