// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type ErrorKind = "invalid_input" | "unauthorized" | "forbidden" | "not_management_key" | "not_found" | "conflict" | "rate_limited" | "server" | "network" | "timeout" | "decode" | "keychain_unavailable" | "keychain_locked" | "secret_not_found" | "store" | "internal";
