// The app's views (the header's tab bar): one entry each. A view with a `component` is mounted in
// the main area; the Keys view has none because App draws the key list itself (its dialogs live there).
import type { Component } from "svelte";

export type View = {
  id: string;
  label: string;
  /** Mounted with no props; state comes from context (useSession() etc.). */
  component?: Component;
};

const STORAGE_KEY = "keyward.view";

/** The view chosen earlier in this session (kept across reloads of the window, not across launches). */
export function rememberedView(views: readonly View[]): string {
  try {
    const id = sessionStorage.getItem(STORAGE_KEY);
    if (id && views.some((v) => v.id === id)) return id;
  } catch {
    // No session storage (tests, a locked-down webview): start on the first view.
  }
  return views[0]?.id ?? "";
}

export function rememberView(id: string): void {
  try {
    sessionStorage.setItem(STORAGE_KEY, id);
  } catch {
    // See rememberedView.
  }
}
