// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { PendingSecretState } from "./PendingSecretState";

export type PendingSecret = { profile_id: string; key_hash: string; key_name: string; label: string; created_at: string; state: PendingSecretState };
