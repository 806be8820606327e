// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

/** Arguments of `profile_remove` and `profile_switch`. */
export type ProfileIdArgs = { id: string };
