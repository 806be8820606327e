// Shared set-up for the rotation component tests: one component over the fake shell, events on.
import { render } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { Component } from "svelte";
import { appContext, createAppState } from "../lib/state";
import { FakeBackend, makeKey, makeProfile } from "./fakeBackend";
import type { KeyRow } from "../lib/bindings/KeyRow";

export function rotationFake(keys: KeyRow[] = [makeKey({ name: "prod-api", hash: "old-hash", limit: 50, limit_reset: "monthly", usage: 4.2 })]): FakeBackend {
  return new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: keys } });
}

/** Renders `component` with `props` over `fake`, and waits until the rotation-changed feed is attached. */
export async function renderOver<P extends Record<string, unknown>>(fake: FakeBackend, component: Component<P>, props: NoInfer<P>) {
  mockWindows("main");
  mockIPC(fake.handle, { shouldMockEvents: true });
  // No pause between keystrokes: the long forms here type a lot, and the machine may be busy.
  const user = userEvent.setup({ delay: null });
  const state = createAppState();
  // The generic `P` can't be matched to mount's conditional options type; the props are checked above.
  const options = { props, context: appContext(state) } as Parameters<typeof render<Component<P>>>[1];
  const result = render(component, options);
  await state.rotations.ready();
  return { ...result, user, fake, state };
}
