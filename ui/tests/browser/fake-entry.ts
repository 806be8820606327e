// Bundled into the page by run.mjs before the app loads: the in-memory shell from the component
// tests, behind Tauri's own IPC mock, plus hooks the test uses to play the shell's events.
import { emit } from "@tauri-apps/api/event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import type { Connectivity } from "../../src/lib/bindings/Connectivity";
import { FakeBackend, makeKey, makeProfile, seedKeys } from "../../src/test/fakeBackend";
import { makeGuardrail } from "../../src/test/fakeGuardrails";
import { makeAccount, stop } from "../../src/test/fakeAccount";
import { RESEARCH_WS } from "../../src/test/fakeWorkspaces";

type Scenario = { kind: "fresh"; sandboxKeys: number } | { kind: "guardrails" } | { kind: "offline"; keys: number } | { kind: "watch"; keys: number } | { kind: "rotation" } | { kind: "workspaces"; keys: number } | { kind: "long" };

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
} else if (scenario.kind === "watch") {
  // One ordinary profile whose keys raise alerts (near their limits, expiring) for the watching screens.
  fake = new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: seedKeys(scenario.keys, 11) } });
  // Keys with a limit sit under a guardrail with a daily budget, use a BYOK key and log to Langfuse.
  const soon = (h: number) => new Date(Date.now() + h * 3600e3).toISOString();
  const midnight = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1)).toISOString();
  const nextMonth = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString();
  for (const k of fake.keys.p1.filter((k) => k.limit !== null)) {
    const left = Math.max(0, k.limit_remaining ?? k.limit ?? 0);
    fake.accounts.set(k.hash, makeAccount("p1", k, {
      workspace_name: "Default Workspace",
      guardrail: {
        id: "g-prod", name: "Production allowlist", limit_usd: 10, reset_interval: "daily",
        allowed_models: ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet"], allowed_providers: ["openai", "anthropic"],
        ignored_providers: null, enforces_zdr: true, include_byok_in_budgets: false,
      },
      byok: [{ id: "byok-1", provider: "openai", name: "OpenAI production", label: "sk-...Q7xz", disabled: false }],
      destinations: [{ id: "dest-1", name: "Langfuse (prod)", kind: "langfuse", enabled: true }],
      stops: [
        stop({ scope: "guardrail", name: "Production allowlist", limit: 10, spent: 7.4, remaining: 2.6, reset: "daily", resets_at: midnight, burn_per_day: 14.2, runs_out_at: soon(4.4) }),
        stop({ limit: k.limit ?? 0, spent: (k.limit ?? 0) - left, remaining: left, reset: k.limit_reset, burn_per_day: 14.2,
          resets_at: k.limit_reset === "monthly" ? nextMonth : k.limit_reset === "daily" ? midnight : null }),
        stop({ scope: "workspace", name: "Default Workspace", limit: 500, spent: 212.5, remaining: 287.5, reset: "monthly", resets_at: nextMonth, burn_per_day: 41 }),
        stop({ scope: "credits", name: "Account credits", limit: 1000, spent: 642.1, remaining: 357.9, burn_per_day: 55.3, runs_out_at: soon(155) }),
      ],
    }));
  }
} else if (scenario.kind === "rotation") {
  // A few production keys to rotate one by one and as a batch; rotations step on their own every 250 ms.
  const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
  const keys = [
    makeKey({ name: "prod-api", limit: 50, limit_reset: "monthly", usage: 41.2, usage_monthly: 12.4, last_used_at: ago(3) }),
    makeKey({ name: "prod-worker", limit: 20, usage: 4.2, last_used_at: ago(9) }),
    makeKey({ name: "prod-billing", usage: 0.8, last_used_at: ago(60) }),
    makeKey({ name: "prod-legacy", disabled: true, status: "disabled" }),
    makeKey({ name: "staging-api", usage: 1.1 }),
    ...seedKeys(12, 5),
  ];
  fake = new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: keys } });
  fake.rotation.autoMs = 250;
  fake.rotation.setPolicy({
    profile_id: "p1", key_hash: keys[1].hash, every_days: 30, before_expiry_days: null, auto_rotate: false,
    targets: [{ kind: "env_file", path: "/srv/worker/.env", variable: "OPENROUTER_API_KEY" }],
    quiet_period_secs: 900, grace_period_secs: 86400, new_expiry: "keep_lifetime", keep_new_secret: false,
  });
} else if (scenario.kind === "workspaces") {
  // An account with two workspaces (every third key in Research), their budgets and members.
  fake = new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: seedKeys(scenario.keys, 13) } });
} else if (scenario.kind === "long") {
  // Long key, workspace and guardrail names and big numbers: the "nothing cut off at 1200 px" checks.
  const big = { limit: 2_000_000, usage: 1_234_567.89, usage_daily: 12_345.67, usage_weekly: 98_765.43, usage_monthly: 987_654.32 };
  const keys = [
    makeKey({ name: "customer-success-escalations-production-eu-west-1-primary-gateway", ...big, limit_remaining: 765_432.11, workspace_id: RESEARCH_WS }),
    makeKey({ name: "Übersetzungsdienst Kundenportal (Staging) — nächtliche Stapelverarbeitung", limit: 99_999.99, usage: 12.5, usage_monthly: 12.5 }),
    makeKey({ name: "analytics-pipeline-with-an-unreasonably-long-name-and-no-spaces-at-all-anywhere", limit: 500, usage: 35.54, usage_monthly: 35.54, workspace_id: RESEARCH_WS }),
    ...seedKeys(20, 17),
  ];
  fake = new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: keys } });
  const research = fake.workspaces.workspaces.find((w) => w.id === RESEARCH_WS);
  if (research) {
    research.name = "Research and Development — Large Language Model Evaluations (EMEA)";
    research.budgets = { daily: 25_000, weekly: 150_000, monthly: 1_500_000 };
  }
  fake.guardrails.add(makeGuardrail({ id: "750e8400-e29b-41d4-a716-446655440000", name: "Production allowlist for regulated customer workloads (ZDR only)",
    limit_usd: 1_000_000, reset_interval: "monthly" }), [keys[0].hash, keys[2].hash]);
} else if (scenario.kind === "guardrails") {
  // Two guardrails, one on a few keys, for tests/browser/guardrails.mjs.
  const keys = seedKeys(40, 9);
  fake = new FakeBackend({ profiles: [makeProfile("p1", "acme-prod")], activeId: "p1", keys: { p1: keys } });
  fake.guardrails.add(makeGuardrail({
    id: "550e8400-e29b-41d4-a716-446655440000", name: "Production", description: "Approved models only, no training",
    limit_usd: 50, reset_interval: "monthly", allowed_models: ["openai/gpt-4.1", "anthropic/claude-sonnet-4", "google/gemini-2.5-pro"],
    allowed_providers: ["openai", "anthropic", "google-vertex"], enforce_zdr_openai: true, enforce_zdr_anthropic: true,
  }), keys.slice(0, 4).map((k) => k.hash));
  fake.guardrails.add(makeGuardrail({ id: "650e8400-e29b-41d4-a716-446655440000", name: "Interns", limit_usd: 5, reset_interval: "daily" }),
    [keys[5].hash]);
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
