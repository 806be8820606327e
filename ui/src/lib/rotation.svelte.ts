// Rotation state for the whole UI: the rotation commands (through the typed `call`) and the live
// `rotation-changed` feed (through the typed `on`). One instance per window (src/lib/state.ts); it
// listens only while something uses it. The words live in rotation.ts.
import type { NewExpiry } from "./bindings/NewExpiry";
import type { UnlistenFn } from "@tauri-apps/api/event";
import { call, on, toAppError } from "./ipc";
import type { AppError } from "./bindings/AppError";
import type { PlannedRotation, RotationAction, RotationPlan, RotationPolicy, RotationView } from "./rotation-types";

export class Rotations {
  /** Every rotation seen this session (listed, started or pushed by an event), by id. */
  byId = $state<Record<string, RotationView>>({});
  profileId = $state<string | null>(null);
  loadError = $state<string | null>(null);
  /** Told when a rotation stops on an error or completes (the app shows it as a notice). */
  onsettled: ((text: string, tone: "success" | "error") => void) | null = null;
  #users = 0;
  #unlisten: UnlistenFn | null = null;
  #listening: Promise<void> | null = null;

  /** Unfinished rotations (running, waiting or failed) of the loaded profile — of any before one is loaded — oldest first. */
  active = $derived(
    Object.values(this.byId)
      .filter((r) => (this.profileId === null || r.profile_id === this.profileId) && !r.finished)
      .sort((a, b) => a.started_at.localeCompare(b.started_at)),
  );
  /** Key hash → its unfinished rotation (as the old key or the new one). */
  activeByKey = $derived.by(() => {
    const map = new Map<string, RotationView>();
    for (const r of this.active) {
      map.set(r.old_key_hash, r);
      if (r.new_key_hash) map.set(r.new_key_hash, r);
    }
    return map;
  });
  attentionCount = $derived(this.active.filter((r) => r.status === "failed" || r.status === "waiting").length);

  /** Holds the event feed open while at least one user holds it; returns the release function. */
  use(): () => void {
    this.#users += 1;
    if (this.#users === 1) {
      this.#listening = on("rotation-changed", (view) => this.upsert(view)).then(
        (unlisten) => {
          if (this.#users === 0) unlisten();
          else this.#unlisten = unlisten;
        },
        () => {
          // Without events the wizard still shows each answer; the next list load catches up.
        },
      );
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users -= 1;
      if (this.#users === 0) {
        this.#unlisten?.();
        this.#unlisten = null;
        this.#listening = null;
        this.byId = {};
        this.profileId = null;
        this.onsettled = null;
      }
    };
  }

  /** Resolves once the event feed is attached (tests wait on it before emitting). */
  ready(): Promise<void> {
    return this.#listening ?? Promise.resolve();
  }

  upsert(view: RotationView): void {
    const known = this.byId[view.id];
    // Events can overtake a command's answer: never step back to an older picture.
    if (known && known.updated_at > view.updated_at) return;
    this.byId[view.id] = view;
    if (known && known.status !== view.status) {
      if (view.status === "failed") this.onsettled?.(`Rotation of ${view.old_key_name} stopped: ${view.error?.message ?? view.detail ?? "open it under Rotations"}`, "error");
      else if (view.status === "completed") this.onsettled?.(`Rotation of ${view.old_key_name} completed — ${view.new_key_name} replaced it`, "success");
    }
  }

  get(id: string): RotationView | undefined {
    return this.byId[id];
  }

  async load(profileId: string): Promise<void> {
    this.profileId = profileId;
    try {
      const list = await call("rotations_list", { profile_id: profileId, active_only: true });
      if (this.profileId !== profileId) return;
      for (const view of list) this.upsert(view);
      this.loadError = null;
    } catch (e) {
      this.loadError = toAppError(e).message;
    }
  }

  /** Fetches one rotation (finished ones too) into the store. */
  async find(profileId: string, id: string): Promise<RotationView | undefined> {
    const list = await call("rotations_list", { profile_id: profileId, active_only: false });
    const found = list.find((r) => r.id === id);
    if (found) this.upsert(found);
    return found;
  }

  /** `newExpiry`: this rotation's expiry instead of the policy's ("extend expiry"). */
  async start(profileId: string, keyHash: string, deleteAtOnce: boolean, newExpiry?: NewExpiry): Promise<RotationView> {
    const view = await call("rotation_start", {
      profile_id: profileId, key_hash: keyHash, delete_at_once: deleteAtOnce, ...(newExpiry ? { new_expiry: newExpiry } : {}),
    });
    this.upsert(view);
    return view;
  }

  async act(id: string, action: RotationAction): Promise<RotationView> {
    const view = await call("rotation_action", { id, action });
    this.upsert(view);
    return view;
  }

  async startBatch(profileId: string, pattern: string): Promise<RotationView[]> {
    const views = await call("rotation_start_batch", { profile_id: profileId, name_pattern: pattern });
    for (const view of views) this.upsert(view);
    return views;
  }

  policy(profileId: string, keyHash: string): Promise<RotationPolicy> {
    return call("rotation_policy_get", { profile_id: profileId, key_hash: keyHash });
  }

  /** The core's verdict on a policy, one error per broken rule (empty: valid); nothing is stored. */
  validatePolicy(policy: RotationPolicy): Promise<AppError[]> {
    return call("rotation_policy_validate", policy);
  }

  /** What rotating a key would do: its policy and the new key's name. */
  plan(profileId: string, keyHash: string, newExpiry?: NewExpiry): Promise<RotationPlan> {
    return call("rotation_plan", { profile_id: profileId, key_hash: keyHash, ...(newExpiry ? { new_expiry: newExpiry } : {}) });
  }

  /** The listed keys a batch pattern selects, with their new names (blank pattern: none). */
  batchPlan(profileId: string, pattern: string): Promise<PlannedRotation[]> {
    return call("rotation_batch_plan", { profile_id: profileId, name_pattern: pattern });
  }

  setPolicy(policy: RotationPolicy): Promise<RotationPolicy> {
    return call("rotation_policy_set", policy);
  }

  history(profileId: string, keyHash: string): Promise<RotationView[]> {
    return call("rotation_history", { profile_id: profileId, key_hash: keyHash });
  }
}

