// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { AppError } from "./AppError";
import type { KeyRow } from "./KeyRow";

export type CreatedKey = { key: KeyRow; secret: string; pending_saved: boolean; keychain_error: AppError | null };
