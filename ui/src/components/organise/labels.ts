// Pure list logic for a key's local labels (tags, environment, project, owner) and idle days:
// filtering, grouping, sorting, the tag list for autocomplete and the idle suggestion. Free of
// Svelte so it is tested directly; the rules for what a valid label is live in Rust.
import type { KeyRow } from "../../lib/bindings/KeyRow";
import type { GroupBy } from "../../lib/bindings/GroupBy";
import type { KeyFilterSet } from "../../lib/bindings/KeyFilterSet";
import type { ListItem } from "../../lib/workspaces.svelte";

export type LabelField = "environment" | "project" | "owner";
export type LabelSortColumn = "tags" | LabelField;

/** The label and idle filters of the key list; "" / null = any. */
export type LabelFilters = {
  tag: string;
  environment: string;
  project: string;
  owner: string;
  /** Only keys unused for at least this many days (KeyRow.idle_days, computed in Rust). */
  unusedDays: number | null;
};

export const NO_LABEL_FILTERS: LabelFilters = { tag: "", environment: "", project: "", owner: "", unusedDays: null };

/** The "unused for N days" choices offered; the idle suggestion uses the middle one. */
export const UNUSED_CHOICES = [7, 30, 60, 90] as const;
export const SUGGEST_UNUSED_DAYS = 30;

/** A group, field or filter value for keys without a value. */
export const NONE = "\u0000none";

export function labelFiltersActive(f: LabelFilters): boolean {
  return f.tag !== "" || f.environment !== "" || f.project !== "" || f.owner !== "" || f.unusedDays !== null;
}

function fieldMatches(value: string | null, wanted: string): boolean {
  if (wanted === "") return true;
  if (wanted === NONE) return value === null;
  return value === wanted;
}

export function isIdleFor(k: KeyRow, days: number): boolean {
  return k.idle_days !== null && k.idle_days !== undefined && k.idle_days >= days;
}

export function matchesLabels(k: KeyRow, f: LabelFilters): boolean {
  const m = k.metadata;
  if (f.tag === NONE ? m.tags.length > 0 : f.tag !== "" && !m.tags.includes(f.tag)) return false;
  if (!fieldMatches(m.environment, f.environment) || !fieldMatches(m.project, f.project) || !fieldMatches(m.owner, f.owner)) return false;
  if (f.unusedDays !== null && !isIdleFor(k, f.unusedDays)) return false;
  return true;
}

/** Free text also finds a key by one of its tags (`q` already lower-cased). */
export function tagsMatch(k: KeyRow, q: string): boolean {
  return k.metadata.tags.some((t) => t.includes(q));
}

export function labelSortValue(k: KeyRow, column: LabelSortColumn): string | null {
  if (column === "tags") return k.metadata.tags.length ? [...k.metadata.tags].sort().join(",") : null;
  return k.metadata[column]?.toLowerCase() ?? null;
}

/** Each tag of `keys` with its count, most used first, then by name (for autocomplete and the filter). */
export function tagCounts(keys: readonly KeyRow[]): { tag: string; keys: number }[] {
  const counts = new Map<string, number>();
  for (const k of keys) for (const t of k.metadata.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts].map(([tag, n]) => ({ tag, keys: n })).sort((a, b) => b.keys - a.keys || a.tag.localeCompare(b.tag));
}

/** The distinct values of a field among `keys`, sorted. */
export function fieldValues(keys: readonly KeyRow[], field: LabelField): string[] {
  const values = new Set<string>();
  for (const k of keys) if (k.metadata[field]) values.add(k.metadata[field] as string);
  return [...values].sort((a, b) => a.localeCompare(b));
}

/** Active keys unused for `days` or more: what the idle suggestion offers to show. */
export function idleKeys(keys: readonly KeyRow[], days = SUGGEST_UNUSED_DAYS): KeyRow[] {
  return keys.filter((k) => k.status === "active" && isIdleFor(k, days));
}

export type LabelGroupBy = Exclude<GroupBy, "none" | "workspace">;

const NO_VALUE: Record<LabelGroupBy, string> = {
  environment: "No environment", project: "No project", owner: "No owner", tag: "No tags",
};

/**
 * `keys` (already filtered and sorted) under one header per value of `by`, values in alphabetical
 * order, keys without one last. By tag, a key with several tags shows under each (its header counts
 * it); the row ids stay unique.
 */
export function labelGroups(keys: readonly KeyRow[], by: LabelGroupBy): ListItem[] {
  const buckets = new Map<string, KeyRow[]>();
  const none: KeyRow[] = [];
  for (const k of keys) {
    const values = by === "tag" ? k.metadata.tags : k.metadata[by] ? [k.metadata[by] as string] : [];
    if (values.length === 0) none.push(k);
    for (const v of values) {
      const bucket = buckets.get(v);
      if (bucket) bucket.push(k);
      else buckets.set(v, [k]);
    }
  }
  const items: ListItem[] = [];
  const push = (value: string, name: string, bucket: KeyRow[]) => {
    items.push({ kind: "group", id: `group:${by}:${value}`, workspaceId: null, name, count: bucket.length });
    for (const key of bucket) items.push({ kind: "key", id: by === "tag" ? `${value}:${key.hash}` : key.hash, key });
  };
  for (const value of [...buckets.keys()].sort((a, b) => a.localeCompare(b))) push(value, value, buckets.get(value) ?? []);
  if (none.length) push(NONE, NO_VALUE[by], none);
  return items;
}

/** The list's filters as a saved filter set (and back): the Rust type is the one kept. */
export function toFilterSet(f: {
  query: string; status: KeyFilterSet["status"]; hasLimit: boolean; nearLimit: boolean; expiringSoon: boolean;
} & LabelFilters, groupBy: GroupBy): KeyFilterSet {
  const opt = (v: string) => (v === "" || v === NONE ? null : v);
  return {
    query: f.query, status: f.status, has_limit: f.hasLimit, near_limit: f.nearLimit, expiring_soon: f.expiringSoon,
    tag: opt(f.tag), environment: opt(f.environment), project: opt(f.project), owner: opt(f.owner),
    unused_days: f.unusedDays, group_by: groupBy,
  };
}

export function fromFilterSet(s: KeyFilterSet): {
  filters: { query: string; status: KeyFilterSet["status"]; hasLimit: boolean; nearLimit: boolean; expiringSoon: boolean } & LabelFilters;
  groupBy: GroupBy;
} {
  return {
    filters: {
      query: s.query, status: s.status, hasLimit: s.has_limit, nearLimit: s.near_limit, expiringSoon: s.expiring_soon,
      tag: s.tag ?? "", environment: s.environment ?? "", project: s.project ?? "", owner: s.owner ?? "", unusedDays: s.unused_days,
    },
    groupBy: s.group_by,
  };
}
