// Pure list logic for the key table: what counts as "near limit" or "expiring", filtering and
// sorting. Kept free of Svelte so it is tested on 10,000 rows directly.
import type { KeyRow } from "./bindings/KeyRow";
import type { KeyStatus } from "./bindings/KeyStatus";
import { DAY_MS, parseTime } from "./format";
import {
  NO_LABEL_FILTERS, labelFiltersActive, labelSortValue, matchesLabels, tagsMatch, type LabelFilters, type LabelSortColumn,
} from "../components/organise/labels";

export const NEAR_LIMIT_FRACTION = 0.8;
export const EXPIRING_WITHIN_MS = 7 * DAY_MS;

/** Share of the limit spent (0‥1+), or null when the key has no limit. */
export function limitUsed(key: KeyRow): number | null {
  if (key.limit === null) return null;
  if (key.limit <= 0) return 1;
  const remaining = key.limit_remaining ?? Math.max(0, key.limit - key.usage);
  return Math.max(0, (key.limit - remaining) / key.limit);
}

export function isNearLimit(key: KeyRow): boolean {
  const used = limitUsed(key);
  return used !== null && used >= NEAR_LIMIT_FRACTION;
}

export function isExpiringSoon(key: KeyRow, now: number): boolean {
  const t = parseTime(key.expires_at);
  return t !== null && t > now && t - now <= EXPIRING_WITHIN_MS;
}

export type StatusFilter = "all" | KeyStatus;

export type Filters = {
  query: string;
  status: StatusFilter;
  hasLimit: boolean;
  nearLimit: boolean;
  expiringSoon: boolean;
} & LabelFilters;

export const NO_FILTERS: Filters = { query: "", status: "all", hasLimit: false, nearLimit: false, expiringSoon: false, ...NO_LABEL_FILTERS };

export function filtersActive(f: Filters): boolean {
  return f.query.trim() !== "" || f.status !== "all" || f.hasLimit || f.nearLimit || f.expiringSoon || labelFiltersActive(f);
}

export function filterKeys(keys: readonly KeyRow[], f: Filters, now: number): KeyRow[] {
  const q = f.query.trim().toLowerCase();
  return keys.filter((k) => {
    if (f.status !== "all" && k.status !== f.status) return false;
    if (f.hasLimit && k.limit === null) return false;
    if (f.nearLimit && !isNearLimit(k)) return false;
    if (f.expiringSoon && !isExpiringSoon(k, now)) return false;
    if (!matchesLabels(k, f)) return false;
    if (q !== "") {
      return k.name.toLowerCase().includes(q) || k.label.toLowerCase().includes(q) || k.hash.startsWith(q) || tagsMatch(k, q);
    }
    return true;
  });
}

export type SortColumn =
  | "name" | "label" | "status" | "usage_daily" | "usage_weekly" | "usage_monthly" | "usage"
  | "limit" | "limit_reset" | "include_byok_in_limit" | "expires_at" | "created_at" | "last_used_at" | LabelSortColumn;

export type Sort = { column: SortColumn; direction: "asc" | "desc" };

const RESET_ORDER: Record<string, number> = { daily: 0, weekly: 1, monthly: 2 };
const STATUS_ORDER: Record<KeyStatus, number> = { active: 0, disabled: 1, expired: 2 };

function sortValue(k: KeyRow, column: SortColumn): string | number | null {
  switch (column) {
    case "name": return k.name.toLowerCase();
    case "label": return k.label.toLowerCase();
    case "status": return STATUS_ORDER[k.status];
    case "limit": return limitUsed(k);
    case "limit_reset": return k.limit_reset === null ? null : (RESET_ORDER[k.limit_reset] ?? 3);
    case "include_byok_in_limit": return k.include_byok_in_limit ? 1 : 0;
    case "expires_at": case "created_at": return parseTime(k[column]);
    case "last_used_at": return parseTime(k.last_used ?? k.last_used_at);
    case "tags": case "environment": case "project": case "owner": return labelSortValue(k, column);
    default: return k[column];
  }
}

/** Stable sort; empty values (no limit, never expires, never used) always go last. */
export function sortKeys(keys: readonly KeyRow[], sort: Sort): KeyRow[] {
  const dir = sort.direction === "asc" ? 1 : -1;
  const decorated = keys.map((k, i) => ({ k, i, v: sortValue(k, sort.column) }));
  decorated.sort((a, b) => {
    if (a.v === null || b.v === null) {
      if (a.v === b.v) return a.i - b.i;
      return a.v === null ? 1 : -1;
    }
    if (a.v < b.v) return -dir;
    if (a.v > b.v) return dir;
    return a.i - b.i;
  });
  return decorated.map((d) => d.k);
}

/** Default direction for a freshly clicked column: text ascending, money and dates descending. */
export function defaultDirection(column: SortColumn): "asc" | "desc" {
  return column === "name" || column === "label" || column === "status" || column === "limit_reset" || column === "expires_at"
    || column === "tags" || column === "environment" || column === "project" || column === "owner"
    ? "asc" : "desc";
}
