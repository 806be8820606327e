// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { Connectivity } from "./Connectivity";

/** Payload of the `connectivity` event. */
export type ConnectivityEvent = { profile_id: string; connectivity: Connectivity };
