// Renders the whole app over a fake shell, the way the person sees it.
import { render } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import App from "../App.svelte";
import type { FakeBackend } from "./fakeBackend";

export function renderApp(fake: FakeBackend) {
  mockWindows("main");
  mockIPC(fake.handle, { shouldMockEvents: true });
  const user = userEvent.setup();
  const result = render(App);
  return { ...result, user, fake, emit };
}
