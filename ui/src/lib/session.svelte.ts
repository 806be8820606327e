// The app's state and every action that talks to the shell. Components read from it and call
// its methods; nothing here ever holds a secret (created secrets live only in the dialog showing them).
import type { AppError } from "./bindings/AppError";
import type { AppState } from "./bindings/AppState";
import type { CheckedKey } from "./bindings/CheckedKey";
import type { Connectivity } from "./bindings/Connectivity";
import type { CreateKeyArgs } from "./bindings/CreateKeyArgs";
import type { CreatedKey } from "./bindings/CreatedKey";
import type { Credits } from "./bindings/Credits";
import type { KeyRow } from "./bindings/KeyRow";
import type { KeyMetadataSetArgs } from "./bindings/KeyMetadataSetArgs";
import type { KeysSnapshot } from "./bindings/KeysSnapshot";
import type { PendingAction } from "./bindings/PendingAction";
import type { SecretIndexEntry } from "./bindings/SecretIndexEntry";
import type { Profile } from "./bindings/Profile";
import type { ProfileAddArgs } from "./bindings/ProfileAddArgs";
import type { SecretCopied } from "./bindings/SecretCopied";
import type { UpdateKeyArgs } from "./bindings/UpdateKeyArgs";
import { describe, isConnectivityError } from "./errors";
import { call, on } from "./ipc";
import { firstPaint } from "./firstPaint";

export type Notice = { id: number; text: string; tone: "info" | "success" | "error" };

const ONLINE: Connectivity = { state: "online" };

export class Session {
  started = $state(false);
  startError = $state<AppError | null>(null);
  profiles = $state<Profile[]>([]);
  activeId = $state<string | null>(null);
  pending = $state<SecretIndexEntry[]>([]);
  /** Raw (not deeply reactive): 10,000 rows must not become 10,000 proxies. Replaced, never mutated. */
  snapshot = $state.raw<KeysSnapshot | null>(null);
  connectivity = $state.raw<Connectivity>(ONLINE);
  credits = $state<Credits | null>(null);
  refreshing = $state(false);
  listError = $state<AppError | null>(null);
  includeDisabled = $state(true);
  includeExpired = $state(false);
  notices = $state<Notice[]>([]);
  #noticeId = 0;
  #unlisten: Array<() => void> = [];
  #generation = 0;

  active = $derived(this.profiles.find((p) => p.id === this.activeId) ?? null);
  readOnly = $derived(this.connectivity.state !== "online");
  pendingCount = $derived(this.pending.filter((p) => p.state === "pending").length);
  readOnlyReason = $derived(
    this.connectivity.state === "offline"
      ? "OpenRouter is unreachable: the list is the cached copy and can't be changed until it is back"
      : this.connectivity.state === "rate_limited"
        ? "OpenRouter is rate limiting Keyward: changes are paused until the retry"
        : "",
  );

  async start(): Promise<void> {
    // The listeners and the state are asked for together, not one after the other: at start-up each
    // round trip to the shell waits behind the web view's own start, and the person is waiting for
    // the key list. An event missed meanwhile changes nothing: the list is read after this and
    // refreshed right after that (openActive).
    const listening = Promise.all([
      on("keys-changed", (e) => this.#keysChanged(e.profile_id)),
      on("connectivity", (e) => this.#connectivityChanged(e.profile_id, e.connectivity)),
    ]).then(
      (unlisten) => void this.#unlisten.push(...unlisten),
      // Events only make the UI livelier; without them the Refresh button still works.
      () => {},
    );
    try {
      this.#apply(await call("app_state", {}));
      this.startError = null;
    } catch (e) {
      this.startError = e as AppError;
    }
    this.started = true;
    if (this.activeId) void this.openActive();
    await listening;
  }

  stop(): void {
    for (const unlisten of this.#unlisten) {
      try {
        unlisten();
      } catch {
        // The event bridge is already gone (window closing); nothing left to detach from.
      }
    }
    this.#unlisten = [];
  }

  #apply(state: AppState): void {
    const switched = state.active_profile_id !== this.activeId;
    this.profiles = state.profiles;
    this.pending = state.pending_secrets;
    this.activeId = state.active_profile_id;
    if (switched) {
      this.snapshot = null;
      this.credits = null;
      this.listError = null;
      this.connectivity = ONLINE;
    }
  }

  notify(text: string, tone: Notice["tone"] = "info"): void {
    const id = ++this.#noticeId;
    // At most three at a time: the newest matter, older ones are already stale.
    this.notices = [...this.notices.slice(-2), { id, text, tone }];
    setTimeout(() => this.dismiss(id), tone === "error" ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  /** Shows the cached list at once, then fetches a fresh one. */
  async openActive(): Promise<void> {
    await this.loadKeys(false);
    await this.refresh();
  }

  async loadKeys(refresh: boolean): Promise<void> {
    const profileId = this.activeId;
    if (!profileId) return;
    const generation = ++this.#generation;
    if (refresh) this.refreshing = true;
    try {
      const snapshot = await call("keys_list", {
        profile_id: profileId,
        include_disabled: this.includeDisabled,
        include_expired: this.includeExpired,
        refresh,
      });
      if (generation !== this.#generation || profileId !== this.activeId) return;
      firstPaint.keysArrived();
      this.snapshot = snapshot;
      this.connectivity = snapshot.connectivity;
      this.listError = null;
    } catch (e) {
      if (generation !== this.#generation || profileId !== this.activeId) return;
      this.#listFailure(e as AppError);
    } finally {
      if (generation === this.#generation) this.refreshing = false;
    }
  }

  #listFailure(error: AppError): void {
    if (isConnectivityError(error)) {
      // An error answer rather than the core's cached fallback: no retry is scheduled; Refresh tries again.
      this.connectivity = { state: "offline", error, since: new Date().toISOString(), next_retry_at: null };
    } else if (error.kind === "rate_limited") {
      const retryAt = new Date(Date.now() + (error.retry_after_ms ?? 30_000)).toISOString();
      this.connectivity = { state: "rate_limited", retry_at: retryAt, error };
    } else {
      this.listError = error;
    }
  }

  async refresh(): Promise<void> {
    const profileId = this.activeId;
    if (!profileId) return;
    await Promise.all([this.loadKeys(true), this.loadCredits(profileId)]);
  }

  async loadCredits(profileId: string): Promise<void> {
    try {
      const credits = await call("credits_get", { profile_id: profileId });
      if (profileId === this.activeId) this.credits = credits;
    } catch {
      // The header shows "—"; the list's own error explains a rejected key or an outage.
    }
  }

  async setIncludes(includeDisabled: boolean, includeExpired: boolean): Promise<void> {
    this.includeDisabled = includeDisabled;
    this.includeExpired = includeExpired;
    await this.loadKeys(false);
  }

  #keysChanged(profileId: string): void {
    if (profileId === this.activeId) void this.loadKeys(false);
  }

  #connectivityChanged(profileId: string, connectivity: Connectivity): void {
    if (profileId !== this.activeId) return;
    const recovered = this.connectivity.state !== "online" && connectivity.state === "online";
    this.connectivity = connectivity;
    if (recovered) {
      this.listError = null;
      void this.loadKeys(false);
      void this.loadCredits(profileId);
    }
  }

  // ----- profiles -----

  async openSandbox(): Promise<void> {
    await call("sandbox_open", {});
    this.#apply(await call("app_state", {}));
    await this.openActive();
  }

  async addProfile(args: ProfileAddArgs): Promise<Profile> {
    const profile = await call("profile_add", args);
    this.#apply(await call("app_state", {}));
    void this.openActive();
    return profile;
  }

  async replaceKey(id: string, managementKey: string): Promise<Profile> {
    const profile = await call("profile_replace_key", { id, management_key: managementKey });
    this.profiles = this.profiles.map((p) => (p.id === profile.id ? profile : p));
    if (id === this.activeId) {
      this.listError = null;
      void this.refresh();
    }
    return profile;
  }

  async switchProfile(id: string): Promise<void> {
    if (id === this.activeId) return;
    this.#apply(await call("profile_switch", { id }));
    await this.openActive();
  }

  async renameProfile(id: string, name: string): Promise<void> {
    const profile = await call("profile_rename", { id, name });
    this.profiles = this.profiles.map((p) => (p.id === profile.id ? profile : p));
  }

  async removeProfile(id: string): Promise<void> {
    const wasActive = id === this.activeId;
    this.#apply(await call("profile_remove", { id }));
    if (wasActive && this.activeId) await this.openActive();
  }

  // ----- keys -----

  #replaceRows(update: (keys: KeyRow[]) => KeyRow[]): void {
    if (this.snapshot) this.snapshot = { ...this.snapshot, keys: update(this.snapshot.keys) };
  }

  #mutationFailed(error: AppError): void {
    if (error.kind === "unauthorized") this.listError = error;
    else if (isConnectivityError(error) || error.kind === "rate_limited") this.#listFailure(error);
    else if (error.kind === "not_found") void this.loadKeys(true);
  }

  validateCreate(args: CreateKeyArgs): Promise<AppError[]> {
    return call("key_validate_create", args);
  }

  /** The secret is handed straight back to the caller (the dialog that shows it once); it is not kept here. */
  async createKey(args: CreateKeyArgs): Promise<CreatedKey> {
    try {
      const created = await call("key_create", args);
      this.#replaceRows((keys) => [created.key, ...keys.filter((k) => k.hash !== created.key.hash)]);
      void this.reloadPending();
      return created;
    } catch (e) {
      this.#mutationFailed(e as AppError);
      throw e;
    }
  }

  async updateKey(args: UpdateKeyArgs): Promise<KeyRow> {
    try {
      const row = await call("key_update", args);
      this.#replaceRows((keys) => keys.map((k) => (k.hash === row.hash ? row : k)));
      return row;
    } catch (e) {
      this.#mutationFailed(e as AppError);
      throw e;
    }
  }

  /** Replaces a key's local labels (validated in Rust); the row keeps everything else. */
  async setMetadata(args: KeyMetadataSetArgs): Promise<KeyRow> {
    const row = await call("key_metadata_set", args);
    if (args.profile_id === this.activeId) this.#replaceRows((keys) => keys.map((k) => (k.hash === row.hash ? { ...k, metadata: row.metadata } : k)));
    return row;
  }

  /** Quick action from a row: disable or enable, with the outcome as a notice. */
  async setDisabled(key: KeyRow, disabled: boolean): Promise<void> {
    if (!this.activeId) return;
    try {
      await this.updateKey({ profile_id: this.activeId, hash: key.hash, disabled });
      this.notify(`${key.name} ${disabled ? "disabled" : "enabled"}`, "success");
    } catch (e) {
      this.notify(describe(e as AppError), "error");
    }
  }

  async deleteKey(key: KeyRow): Promise<void> {
    if (!this.activeId) return;
    try {
      await call("key_delete", { profile_id: this.activeId, hash: key.hash });
      this.#replaceRows((keys) => keys.filter((k) => k.hash !== key.hash));
      this.notify(`${key.name} deleted`, "success");
    } catch (e) {
      const error = e as AppError;
      if (error.kind === "not_found") {
        this.#replaceRows((keys) => keys.filter((k) => k.hash !== key.hash));
      }
      this.#mutationFailed(error);
      throw e;
    }
  }

  checkKey(secret: string): Promise<CheckedKey> {
    return call("key_check", { secret, base_url: this.active?.base_url ?? null });
  }

  // ----- pending secrets -----

  async reloadPending(): Promise<void> {
    try {
      const state = await call("app_state", {});
      this.pending = state.pending_secrets;
    } catch {
      // The list is refreshed again by the next resolve.
    }
  }

  copySecret(p: { profile_id: string; key_hash: string }): Promise<SecretCopied> {
    return call("secret_copy", { profile_id: p.profile_id, key_hash: p.key_hash });
  }

  async resolvePending(p: { profile_id: string; key_hash: string }, action: PendingAction): Promise<void> {
    const state = await call("pending_resolve", { profile_id: p.profile_id, key_hash: p.key_hash, action });
    this.pending = state.pending_secrets;
    this.profiles = state.profiles;
  }

  profileName(id: string): string {
    return this.profiles.find((p) => p.id === id)?.name ?? id;
  }
}
