// Renders the whole app over a fake shell, the way the person sees it.
import { render } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import { appContext, createAppState } from "../lib/state";
import type { FakeBackend } from "./fakeBackend";

export function renderApp(fake: FakeBackend) {
  mockWindows("main");
  mockIPC(fake.handle, { shouldMockEvents: true });
  const user = userEvent.setup();
  const state = createAppState();
  const result = render(App, { context: appContext(state) });
  return { ...result, user, fake, emit, state };
}

import type { KeyRow } from "../lib/bindings/KeyRow";
import { FakeBackend as Fake, makeProfile, type FakeOptions } from "./fakeBackend";

/** A shell with one ordinary profile, "acme-prod", holding `keys`. */
export function oneProfile(keys: KeyRow[], options: FakeOptions = {}): Fake {
  return new Fake({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: keys }, ...options });
}

/** The data rows of the key table (not the header). */
export function dataRows(container: HTMLElement): HTMLElement[] {
  return Array.from(container.querySelectorAll<HTMLElement>(".rows [role=row]"));
}

/** Whether `text` is anywhere on the page: in the markup or in a field's current value. */
export function pageContains(text: string): boolean {
  if (document.body.innerHTML.includes(text)) return true;
  return Array.from(document.querySelectorAll("input, textarea")).some((el) => (el as HTMLInputElement).value.includes(text));
}
