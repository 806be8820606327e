// Bundled into the page by run.mjs before the app loads: the in-memory shell from the component
// tests, behind Tauri's own IPC mock, plus hooks the test uses to play the shell's events.
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { Connectivity } from "../../src/lib/bindings/Connectivity";
import { FakeBackend, makeProfile, seedKeys } from "../../src/test/fakeBackend";

type Scenario = { kind: "fresh"; sandboxKeys: number } | { kind: "offline"; keys: number };

declare global {
  interface Window {
    __KW_SCENARIO__?: Scenario;
    __kw: { fake: FakeBackend; emit: typeof emit; setConnectivity: (c: Connectivity) => Promise<void> };
  }
}

const scenario: Scenario = window.__KW_SCENARIO__ ?? { kind: "fresh", sandboxKeys: 10_000 };
let fake: FakeBackend;
if (scenario.kind === "offline") {
  const profile = makeProfile("p1", "acme-prod");
  fake = new FakeBackend({ profiles: [profile], activeId: "p1", keys: { p1: seedKeys(scenario.keys, 3) } });
  fake.fetchedAt.p1 = new Date(Date.now() - 42 * 60_000).toISOString();
  fake.connectivity.p1 = {
    state: "offline",
    since: new Date(Date.now() - 7 * 60_000).toISOString(),
    next_retry_at: new Date(Date.now() + 40_000).toISOString(),
    error: { kind: "network", message: "connection refused", field: null, retry_after_ms: null },
  };
} else {
  fake = new FakeBackend({ sandboxKeys: scenario.sandboxKeys });
}

mockWindows("main");
mockIPC(fake.handle, { shouldMockEvents: true });

window.__kw = {
  fake,
  emit,
  async setConnectivity(c: Connectivity) {
    const id = fake.activeId ?? "";
    fake.connectivity[id] = c;
    await emit("connectivity", { profile_id: id, connectivity: c });
  },
};
