// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { PendingAction } from "./PendingAction";

export type PendingResolveArgs = { profile_id: string; key_hash: string; action: PendingAction };
