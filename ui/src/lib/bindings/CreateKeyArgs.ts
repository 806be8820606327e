// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { LimitReset } from "./LimitReset";

/** `expires_at` is RFC 3339 in UTC with whole seconds, e.g. "2027-12-31T23:59:59Z". */
export type CreateKeyArgs = { profile_id: string; name: string; limit: number | null; limit_reset: LimitReset | null; include_byok_in_limit: boolean; expires_at: string | null };
