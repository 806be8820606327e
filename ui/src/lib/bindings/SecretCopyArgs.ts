// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type SecretCopyArgs = { profile_id: string; key_hash: string };
