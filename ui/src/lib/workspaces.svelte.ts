// The profile's workspaces as the key list, its filter and the create form see them (from
// `workspaces_list`, which answers what the latest key refresh found), plus the key list's workspace
// filter and grouping, shared so "New key" can default to the workspace being looked at.
import type { AppError } from "./bindings/AppError";
import type { KeyRow } from "./bindings/KeyRow";
import type { WorkspaceInfo } from "./bindings/WorkspaceInfo";
import { call } from "./ipc";

/** The filter's "every workspace" value. */
export const ALL_WORKSPACES = "";

export class Workspaces {
  list = $state.raw<WorkspaceInfo[]>([]);
  /** The profile `list` belongs to. */
  profileId = $state<string | null>(null);
  loading = $state(false);
  error = $state<AppError | null>(null);
  /** Key list: one workspace's id, or ALL_WORKSPACES. */
  filter = $state(ALL_WORKSPACES);
  /** Key list: rows grouped under a header per workspace. */
  grouped = $state(false);

  byId = $derived(new Map(this.list.map((w) => [w.id, w])));
  /** More than one workspace: worth a column, a filter and a choice when creating. */
  several = $derived(this.list.length > 1);

  #run = 0;

  /** Loads the workspaces of `profileId` (`refresh` asks OpenRouter, else the latest refresh's). */
  async load(profileId: string, refresh = false): Promise<void> {
    const run = ++this.#run;
    if (profileId !== this.profileId) {
      this.list = [];
      this.filter = ALL_WORKSPACES;
    }
    this.profileId = profileId;
    this.loading = true;
    try {
      const list = await call("workspaces_list", { profile_id: profileId, refresh });
      if (run !== this.#run) return;
      this.list = list;
      this.error = null;
      if (this.filter !== ALL_WORKSPACES && !list.some((w) => w.id === this.filter)) this.filter = ALL_WORKSPACES;
    } catch (e) {
      if (run === this.#run) this.error = e as AppError;
    } finally {
      if (run === this.#run) this.loading = false;
    }
  }

  /** The workspace's name for a key's `workspace_id` (its id when unknown; "—" without one). */
  nameOf(id: string | null): string {
    if (id === null) return "—";
    return this.byId.get(id)?.name ?? id;
  }

  /** The default workspace: the one named so, else the first listed. */
  defaultId(): string | null {
    return (this.list.find((w) => w.slug === "default" || /^default\b/i.test(w.name)) ?? this.list[0])?.id ?? null;
  }
}

/** A row of the grouped key list: a workspace's header or one of its keys. */
export type ListItem =
  | { kind: "group"; id: string; workspaceId: string | null; name: string; count: number }
  | { kind: "key"; id: string; key: KeyRow };

/**
 * `keys` (already filtered and sorted) as list rows: flat, or under one header per workspace in the
 * order `workspaces` lists them (keys of unknown workspaces last), each header with its key count.
 * One pass over the keys, so it stays fast with thousands of them.
 */
export function listItems(keys: KeyRow[], grouped: boolean, workspaces: WorkspaceInfo[], nameOf: (id: string | null) => string): ListItem[] {
  if (!grouped) return keys.map((key) => ({ kind: "key", id: key.hash, key }));
  const buckets = new Map<string | null, KeyRow[]>();
  for (const w of workspaces) buckets.set(w.id, []);
  for (const key of keys) {
    const bucket = buckets.get(key.workspace_id);
    if (bucket) bucket.push(key);
    else buckets.set(key.workspace_id, [key]);
  }
  const items: ListItem[] = [];
  for (const [workspaceId, bucket] of buckets) {
    if (bucket.length === 0) continue;
    items.push({ kind: "group", id: `group:${workspaceId ?? ""}`, workspaceId, name: nameOf(workspaceId), count: bucket.length });
    for (const key of bucket) items.push({ kind: "key", id: key.hash, key });
  }
  return items;
}
