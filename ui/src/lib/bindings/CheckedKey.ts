// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type CheckedKey = { label: string; limit: number | null; limit_remaining: number | null; limit_reset: string | null; include_byok_in_limit: boolean; usage: number; usage_daily: number; usage_weekly: number; usage_monthly: number; is_free_tier: boolean; is_management_key: boolean; expires_at: string | null };
