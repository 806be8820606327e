// What the fake backend answers to `key_account`: a key's guardrail, BYOK and log links and what
// stops it first. Tests set `fake.accounts` per key hash; other keys get their own limit and the
// account's credits, as Rust would without guardrails or workspace budgets.
import type { KeyAccount } from "../lib/bindings/KeyAccount";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { SpendStop } from "../lib/bindings/SpendStop";

export function stop(overrides: Partial<SpendStop> = {}): SpendStop {
  return {
    scope: "key_limit", name: "Key limit", limit: 50, spent: 10, remaining: 40, reset: null, resets_at: null,
    burn_per_day: null, runs_out_at: null, exhausted: false, ...overrides,
  };
}

export function makeAccount(profileId: string, key: KeyRow, overrides: Partial<KeyAccount> = {}): KeyAccount {
  return {
    profile_id: profileId, key_hash: key.hash, workspace_name: null, guardrail: null, byok: [], destinations: [],
    stops: [], unavailable: [], ...overrides,
  };
}

export function defaultAccount(profileId: string, key: KeyRow, credits: { total_credits: number; total_usage: number }): KeyAccount {
  const stops: SpendStop[] = [];
  if (key.limit !== null) {
    const remaining = Math.max(0, key.limit_remaining ?? key.limit);
    stops.push(stop({ limit: key.limit, spent: key.limit - remaining, remaining, reset: key.limit_reset, exhausted: remaining <= 0 }));
  }
  const left = Math.max(0, credits.total_credits - credits.total_usage);
  stops.push(stop({ scope: "credits", name: "Account credits", limit: credits.total_credits, spent: credits.total_usage, remaining: left }));
  stops.sort((a, b) => a.remaining - b.remaining);
  return makeAccount(profileId, key, { stops });
}
