// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { LimitReset } from "./LimitReset";

/** A field left out = unchanged; `null` = clear (limit, limit_reset). */
export type UpdateKeyArgs = { profile_id: string; hash: string; name?: string; disabled?: boolean; limit?: number | null; limit_reset?: LimitReset | null; include_byok_in_limit?: boolean };
