// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type KeysListArgs = { profile_id: string; include_disabled: boolean; include_expired: boolean; refresh: boolean };
