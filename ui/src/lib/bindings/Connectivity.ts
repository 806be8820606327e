// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { AppError } from "./AppError";

export type Connectivity = { "state": "online" } | { "state": "offline"; error: AppError; since: string } | { "state": "rate_limited"; retry_at: string; error: AppError };
