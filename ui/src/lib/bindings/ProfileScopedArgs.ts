// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

/** Arguments of `credits_get`. */
export type ProfileScopedArgs = { profile_id: string };
