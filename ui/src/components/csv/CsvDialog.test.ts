import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { KeyMetadata } from "../../lib/bindings/KeyMetadata";
import type { PlannedKey } from "../../lib/bindings/PlannedKey";
import { makeKey } from "../../test/fakeBackend";
import { oneProfile, pageContains, renderApp } from "../../test/render";

const alpha = makeKey({ name: "alpha" });
const beta = makeKey({ name: "beta" });
const none: KeyMetadata = { tags: [], environment: null, project: null, owner: null, notes: null };

async function openCsv() {
  const r = renderApp(oneProfile([alpha, beta]));
  await screen.findByText("alpha");
  await r.user.click(screen.getByRole("button", { name: "CSV files" }));
  return { ...r, dialog: screen.getByRole("dialog", { name: "CSV files" }) };
}

function planned(row: number, name: string): PlannedKey {
  return {
    row, name, limit: 5, limit_reset: "monthly", include_byok_in_limit: false, expires_at: null,
    workspace_id: null, workspace_name: null, metadata: { ...none, tags: ["bulk"] },
  };
}

describe("CSV files", () => {
  it("offers the three actions and exports the labels through Rust's save dialog", async () => {
    const { user, dialog, fake } = await openCsv();
    for (const name of ["Import labels…", "Export labels…", "Create keys from CSV…"]) {
      expect(within(dialog).getByRole("button", { name })).toBeInTheDocument();
    }
    await user.click(within(dialog).getByRole("button", { name: "Export labels…" }));
    await waitFor(() => expect(fake.callsOf("labels_export_pick")).toEqual([{ profile_id: "p1" }]));
    expect(await screen.findByText(/Labels of 2 keys saved to \/home\/me\/keyward-labels.csv/)).toBeInTheDocument();
  });

  it("a cancelled file dialog changes nothing", async () => {
    const { user, dialog, fake } = await openCsv();
    fake.csv.labelsPick = null;
    await user.click(within(dialog).getByRole("button", { name: "Import labels…" }));
    await waitFor(() => expect(fake.callsOf("labels_import_pick")).toHaveLength(1));
    expect(within(dialog).getByRole("button", { name: "Import labels…" })).toBeInTheDocument();
  });

  it("previews a labels import with its problems and applies only the valid rows when asked", async () => {
    const { user, dialog, fake } = await openCsv();
    fake.csv.labelsPick = {
      file_id: "csv-1", file_name: "labels.csv",
      preview: {
        rows: 3, unchanged: 1,
        changes: [{ row: 2, hash: alpha.hash, name: "alpha", from: none, to: { ...none, tags: ["leaked"], owner: "ana" } }],
        problems: [{ row: 4, kind: "invalid", field: "tags", message: "the tag \"two words\" contains ' '" }],
      },
    };
    await user.click(within(dialog).getByRole("button", { name: "Import labels…" }));
    const changes = await screen.findByRole("table", { name: "Changes" });
    expect(changes).toHaveTextContent("alpha");
    expect(changes).toHaveTextContent("leaked · ana");
    const problems = screen.getByRole("table", { name: "Rows with problems" });
    expect(problems).toHaveTextContent("4");
    expect(problems).toHaveTextContent("tags");
    expect(fake.callsOf("labels_import_apply")).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Apply the 1 valid rows" }));
    expect(await screen.findByText(/Labels of 1 key updated; rows 4 left out/)).toBeInTheDocument();
    expect(fake.callsOf("labels_import_apply")).toEqual([{ profile_id: "p1", file_id: "csv-1", valid_only: true }]);
    expect(fake.keys.p1.find((k) => k.hash === alpha.hash)?.metadata.tags).toEqual(["leaked"]);
  });

  it("creates keys from a CSV after confirming, reports each row, retries only the failed and never shows a secret", async () => {
    const { user, dialog, fake } = await openCsv();
    fake.csv.keysPick = {
      file_id: "csv-2", file_name: "new.csv",
      preview: { rows: 3, keys: [planned(2, "bulk-a"), planned(3, "bulk-b"), planned(4, "bulk-c")], problems: [] },
    };
    fake.csv.failRows.add(3);
    await user.click(within(dialog).getByRole("button", { name: "Create keys from CSV…" }));
    const table = await screen.findByRole("table", { name: "Keys to create" });
    expect(table).toHaveTextContent("bulk-a");
    await user.click(screen.getByRole("button", { name: "Create 3 keys…" }));
    expect(fake.callsOf("keys_csv_create")).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Yes, create them" }));
    const results = await screen.findByRole("table", { name: "Results" });
    expect(results).toHaveTextContent("Failed: OpenRouter answered 502");
    expect(screen.getByText(/2 created, 1 failed/)).toBeInTheDocument();
    expect(fake.pending).toHaveLength(2);
    const shown = () => [...fake.keychain.values()].some((secret) => pageContains(secret));
    expect(shown()).toBe(false);

    await user.click(screen.getByRole("button", { name: "Retry the 1 failed row" }));
    expect(await screen.findByText(/3 created, 0 failed/)).toBeInTheDocument();
    expect(fake.callsOf("keys_csv_create")).toEqual([
      { profile_id: "p1", file_id: "csv-2" },
      { profile_id: "p1", file_id: "csv-2", only_rows: [3] },
    ]);
    expect(fake.pending).toHaveLength(3);
    expect(fake.keys.p1.filter((k) => k.name.startsWith("bulk-"))).toHaveLength(3);
    expect(fake.keychain.size).toBe(3);
    expect(shown()).toBe(false);
    await user.click(screen.getByRole("button", { name: "Open Pending" }));
    expect(await screen.findByRole("dialog", { name: /Pending/ })).toBeInTheDocument();
  });

  it("a file with problems can't be run", async () => {
    const { user, dialog, fake } = await openCsv();
    fake.csv.keysPick = {
      file_id: "csv-3", file_name: "bad.csv",
      preview: { rows: 2, keys: [planned(2, "ok")], problems: [{ row: 3, kind: "exists", field: "name", message: "a key named \"alpha\" already exists" }] },
    };
    await user.click(within(dialog).getByRole("button", { name: "Create keys from CSV…" }));
    expect(await screen.findByRole("table", { name: "Rows with problems" })).toHaveTextContent("already exists");
    expect(screen.getByRole("button", { name: "Create 1 key…" })).toBeDisabled();
  });
});
