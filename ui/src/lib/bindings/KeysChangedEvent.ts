// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

/** Payload of the `keys-changed` event: the cache for that profile changed. */
export type KeysChangedEvent = { profile_id: string };
