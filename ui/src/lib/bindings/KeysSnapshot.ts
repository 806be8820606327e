// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { Connectivity } from "./Connectivity";
import type { KeyRow } from "./KeyRow";

export type KeysSnapshot = { profile_id: string; keys: Array<KeyRow>; fetched_at: string | null; from_cache: boolean; connectivity: Connectivity };
