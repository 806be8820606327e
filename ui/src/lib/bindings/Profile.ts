// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type Profile = { id: string; name: string; base_url: string; workspace_id: string | null; is_sandbox: boolean; created_at: string; last_used_at: string | null };
