// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

import type { PendingSecret } from "./PendingSecret";
import type { Profile } from "./Profile";

export type AppState = { profiles: Array<Profile>; active_profile_id: string | null; pending_secrets: Array<PendingSecret> };
