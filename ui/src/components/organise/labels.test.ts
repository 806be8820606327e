import { describe, expect, it } from "vitest";
import { makeKey, emptyMetadata } from "../../test/fakeBackend";
import { NO_FILTERS, filterKeys, sortKeys } from "../../lib/keys";
import { fromFilterSet, idleKeys, labelGroups, tagCounts, toFilterSet } from "./labels";

const meta = (tags: string[], environment: string | null = null, project: string | null = null) => ({ ...emptyMetadata(), tags, environment, project });
const a = makeKey({ name: "a", metadata: meta(["prod", "leaked"], "production", "checkout"), idle_days: 40 });
const b = makeKey({ name: "b", metadata: meta(["prod"], "staging"), idle_days: 2 });
const c = makeKey({ name: "c", idle_days: 31, status: "disabled", disabled: true });
const d = makeKey({ name: "d", idle_days: null });

describe("label filters, grouping and sorting", () => {
  it("filters by tag, environment, project and idle days; free text finds tags", () => {
    const names = (f: Partial<typeof NO_FILTERS>) => filterKeys([a, b, c, d], { ...NO_FILTERS, ...f }, Date.now()).map((k) => k.name);
    expect(names({ tag: "prod" })).toEqual(["a", "b"]);
    expect(names({ environment: "staging" })).toEqual(["b"]);
    expect(names({ project: "checkout", tag: "leaked" })).toEqual(["a"]);
    expect(names({ unusedDays: 30 })).toEqual(["a", "c"]);
    expect(names({ query: "leak" })).toEqual(["a"]);
  });

  it("groups by a label with the keys lacking one last, a key under each of its tags", () => {
    const byEnv = labelGroups([a, b, d], "environment");
    expect(byEnv.filter((i) => i.kind === "group").map((i) => i.kind === "group" && `${i.name}:${i.count}`)).toEqual(["production:1", "staging:1", "No environment:1"]);
    const byTag = labelGroups([a, b], "tag");
    expect(byTag.filter((i) => i.kind === "group").map((i) => i.kind === "group" && `${i.name}:${i.count}`)).toEqual(["leaked:1", "prod:2"]);
    expect(new Set(byTag.map((i) => i.id)).size).toBe(byTag.length);
  });

  it("sorts by tags and environment, keys without them last", () => {
    expect(sortKeys([d, b, a], { column: "environment", direction: "asc" }).map((k) => k.name)).toEqual(["a", "b", "d"]);
    expect(sortKeys([d, a, b], { column: "tags", direction: "asc" }).map((k) => k.name)).toEqual(["a", "b", "d"]);
  });

  it("counts tags, finds active idle keys and round-trips a filter set", () => {
    expect(tagCounts([a, b])).toEqual([{ tag: "prod", keys: 2 }, { tag: "leaked", keys: 1 }]);
    expect(idleKeys([a, b, c, d]).map((k) => k.name)).toEqual(["a"]);
    const set = toFilterSet({ ...NO_FILTERS, tag: "prod", unusedDays: 30 }, "owner");
    expect(set).toMatchObject({ tag: "prod", unused_days: 30, group_by: "owner", environment: null });
    expect(fromFilterSet(set).filters).toMatchObject({ tag: "prod", unusedDays: 30, environment: "" });
  });
});
