// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type KeyStatus = "active" | "disabled" | "expired";
