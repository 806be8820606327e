// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { KeyStatus } from "./KeyStatus";

/** An OpenRouter key object plus the derived status. */
export type KeyRow = { hash: string; name: string; label: string; disabled: boolean; status: KeyStatus; limit: number | null; limit_remaining: number | null; limit_reset: string | null; include_byok_in_limit: boolean; usage: number; usage_daily: number; usage_weekly: number; usage_monthly: number; byok_usage: number; byok_usage_daily: number; byok_usage_weekly: number; byok_usage_monthly: number; created_at: string; updated_at: string | null; expires_at: string | null; last_used_at: string | null; creator_user_id: string | null; external_user: string | null; workspace_id: string | null };
