// Hand-written until the Rust generator (ts-rs) replaces this file; keep in sync with /work/notes/ipc-contract.md

export type ProfileAddArgs = { name: string; base_url: string | null; workspace_id: string | null; management_key: string };
