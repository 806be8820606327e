// The fake shell's saved filters (`saved_filters_list`, `saved_filter_save`, `saved_filter_delete`)
// and `key_tags`, standing in for keyward-core's saved_filters.rs and metadata.rs rules.
import type { AppError } from "../lib/bindings/AppError";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { SavedFilter } from "../lib/bindings/SavedFilter";
import type { TagCount } from "../lib/bindings/TagCount";

type Helpers = {
  keysOf: (profileId: string) => KeyRow[];
  error: (kind: AppError["kind"], message: string, field?: string | null) => AppError;
};

export class FakeOrganise {
  saved: SavedFilter[] = [];

  constructor(private helpers: Helpers) {}

  run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "saved_filters_list":
        return this.saved;
      case "saved_filter_save": {
        const wanted = a as unknown as SavedFilter;
        const name = wanted.name.trim();
        if (name === "") throw this.helpers.error("invalid_input", "give the filter a name", "name");
        if (name.length > 60) throw this.helpers.error("invalid_input", "the name is longer than 60 characters", "name");
        const days = wanted.filters.unused_days;
        if (days !== null && (days < 1 || days > 3650)) throw this.helpers.error("invalid_input", "unused for 1 to 3650 days", "unused_days");
        const filter: SavedFilter = { name, filters: { ...wanted.filters, tag: wanted.filters.tag?.trim().toLowerCase() || null } };
        const at = this.saved.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
        this.saved = at >= 0 ? this.saved.map((f, i) => (i === at ? filter : f)) : [...this.saved, filter];
        return this.saved;
      }
      case "saved_filter_delete": {
        const name = String(a.name).trim().toLowerCase();
        if (!this.saved.some((f) => f.name.toLowerCase() === name)) throw this.helpers.error("not_found", `no saved filter named "${a.name}"`);
        this.saved = this.saved.filter((f) => f.name.toLowerCase() !== name);
        return this.saved;
      }
      case "key_tags": {
        const counts = new Map<string, number>();
        for (const k of this.helpers.keysOf(String(a.profile_id))) for (const t of k.metadata.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
        return [...counts].map(([tag, keys]): TagCount => ({ tag, keys })).sort((x, y) => y.keys - x.keys || x.tag.localeCompare(y.tag));
      }
      default:
        throw this.helpers.error("internal", `unknown command ${cmd}`);
    }
  }
}
