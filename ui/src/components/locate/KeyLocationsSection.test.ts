import { screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../../test/fakeBackend";
import { makePlace, makeSummary } from "../../test/fakeLocate";
import { oneProfile, renderApp } from "../../test/render";

const key = makeKey({ name: "prod-api" });
const other = makeKey({ name: "batch" });

async function details(name: string, setup: (fake: ReturnType<typeof oneProfile>) => void) {
  const fake = oneProfile([key, other]);
  setup(fake);
  const r = renderApp(fake);
  await r.user.click(await screen.findByRole("button", { name }));
  const dialog = await screen.findByRole("dialog", { name });
  return { ...r, section: await within(dialog).findByRole("region", { name: "Lives in" }) };
}

describe("key details: lives in", () => {
  it("lists every place the last scan found the key", async () => {
    const { section } = await details("prod-api", (fake) => {
      fake.locate.report = {
        folders: ["/srv"], last_scan: makeSummary(), stale: [],
        keys: [{ profile_id: "p1", profile_name: "acme-prod", key_hash: key.hash, key_name: "prod-api", key_disabled: false,
          places: [makePlace({ path: "/srv/api/.env", line: 3, key_hash: key.hash }),
            makePlace({ path: "/srv/worker/.env.production", variable: "OR_KEY", key_hash: key.hash })] }],
      };
    });
    expect(await within(section).findByText(/In 2 places/)).toBeInTheDocument();
    expect(section).toHaveTextContent("/srv/api/.env:3 (OPENROUTER_API_KEY)");
    expect(section).toHaveTextContent("/srv/worker/.env.production:1 (OR_KEY)");
  });

  it("warns that the key this one replaced is still in a file after the rotation", async () => {
    const { section } = await details("prod-api", (fake) => {
      fake.locate.report = {
        folders: ["/srv"], last_scan: makeSummary(), keys: [],
        stale: [{
          place: makePlace({ path: "/srv/api/.env.local", variable: "OLD", key_hash: "a".repeat(64) }), status: "rotated_away",
          profile_id: "p1", profile_name: "acme-prod", key_name: "prod-api-old", key_disabled: false,
          replaced_by: { key_hash: key.hash, key_name: "prod-api", rotated_at: null }, message: "old key still there",
        }],
      };
    });
    expect(await within(section).findByText("The key this one replaced is still in 1 place")).toBeInTheDocument();
    expect(section).toHaveTextContent("/srv/api/.env.local:1 (OLD)");
    expect(section).toHaveTextContent("Not found in the scanned folders");
  });

  it("says when the key was not found, and when nothing was scanned yet", async () => {
    const scanned = await details("batch", (fake) => {
      fake.locate.report = { folders: ["/srv"], last_scan: makeSummary(), keys: [], stale: [] };
    });
    expect(await within(scanned.section).findByText(/Not found in the scanned folders/)).toBeInTheDocument();
    scanned.unmount();

    const never = await details("batch", () => {});
    expect(await within(never.section).findByText(/Not scanned yet/)).toBeInTheDocument();
  });
});
