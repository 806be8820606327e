// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { ErrorKind } from "./ErrorKind";

export type AppError = { kind: ErrorKind; message: string; field: string | null; retry_after_ms: number | null };
