// The key list's Guardrail column: key hash → guardrail of the active profile, asked of the shell
// (which caches it) whenever the key list is replaced — a refresh, or a keys-changed event after a
// guardrail change. A failure leaves the column showing "—": the list itself matters more.
import type { GuardrailRef } from "../../lib/bindings/GuardrailRef";
import { call } from "../../lib/ipc";
import type { Session } from "../../lib/session.svelte";

export class KeyGuardrailMap {
  byKey = $state.raw<Record<string, GuardrailRef>>({});
  #generation = 0;

  constructor(session: Session) {
    $effect(() => {
      const snapshot = session.snapshot;
      const profileId = session.activeId;
      if (!snapshot || !profileId) return;
      void this.load(profileId);
    });
  }

  async load(profileId: string): Promise<void> {
    const generation = ++this.#generation;
    try {
      const map = await call("key_guardrails", { profile_id: profileId, refresh: false });
      if (generation === this.#generation) this.byKey = map.by_key;
    } catch {
      if (generation === this.#generation) this.byKey = {};
    }
  }

  nameOf(hash: string): string | null {
    return this.byKey[hash]?.name ?? null;
  }
}
