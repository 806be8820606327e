// The Audit view: reached from the tab bar, the log newest first with before → after and outcome,
// filters sent to the core, "Verify" (intact with the count, or the broken entry marked), exports
// (the path the native dialog chose, nothing on cancel), paging, and the empty and error states.
import { screen, waitFor, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import { appError, makeKey } from "../../test/fakeBackend";
import { oneProfile, renderApp } from "../../test/render";

function seeded() {
  const fake = oneProfile([makeKey({ name: "billing-eu" })]);
  const a = fake.audit;
  a.record({ action: "profile_add", change: "name: acme-prod; base_url: https://openrouter.ai/api/v1" });
  a.record({ action: "key_create", key_hash: "a".repeat(64), key_name: "billing-eu", change: "name: billing-eu; limit: 10" });
  a.record({ action: "key_update", key_hash: "a".repeat(64), key_name: "billing-eu", change: "limit: 10 → 25", front_end: "cli" });
  a.record({
    action: "key_delete", key_hash: "b".repeat(64), key_name: "support", outcome: "failed",
    error_kind: "not_found", error_message: "Not found on OpenRouter: Key not found.",
  });
  a.record({ action: "key_disable", key_hash: "a".repeat(64), key_name: "billing-eu", change: "disabled: false → true" });
  return fake;
}

async function openAudit(fake = seeded()) {
  const r = renderApp(fake);
  await screen.findByText("billing-eu");
  await r.user.click(screen.getByRole("tab", { name: "Audit" }));
  const table = await screen.findByRole("table", { name: "Audit log" });
  return { ...r, table: within(table) };
}

/** Queries inside the Audit view (the header has its own "Refresh", status and profile controls). */
function view() {
  return within(screen.getByRole("region", { name: "Audit" }));
}

function rows(): HTMLElement[] {
  return within(screen.getByRole("table", { name: "Audit log" })).getAllByRole("row").slice(1);
}

describe("audit view", () => {
  beforeEach(() => sessionStorage.clear());

  it("lists every change newest first: when, profile, front end, action, key, before → after, outcome", async () => {
    await openAudit();
    const all = rows();
    expect(all).toHaveLength(5);
    const cells = (row: HTMLElement) => within(row).getAllByRole("cell").map((c) => c.textContent?.trim());
    const [disable, failed, update] = all;
    expect(cells(disable).slice(1)).toEqual(["acme-prod", "App", "Key disabled", "billing-eu", "disabled: false → true", "OK"]);
    expect(cells(update)[2]).toBe("CLI");
    expect(cells(update)[5]).toBe("limit: 10 → 25");
    expect(cells(failed)[6]).toContain("Failed (not_found)");
    expect(cells(failed)[6]).toContain("Key not found");
    // Local time, not the raw UTC text.
    expect(cells(disable)[0]).not.toContain("T");
  });

  it("sends the filters to the core and shows the matching entries", async () => {
    const { user, fake } = await openAudit();
    await user.selectOptions(view().getByLabelText("Action"), "key_update");
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(fake.callsOf("audit_list").at(-1)).toMatchObject({ action: "key_update" });
    await user.selectOptions(view().getByLabelText("Action"), "");
    await user.type(view().getByLabelText("Key"), "SUPPORT");
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(fake.callsOf("audit_list").at(-1)).toMatchObject({ key: "SUPPORT" });
    await user.clear(view().getByLabelText("Key"));
    await user.selectOptions(view().getByLabelText("From"), "cli");
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.selectOptions(view().getByLabelText("Profile"), "p1");
    expect(fake.callsOf("audit_list").at(-1)).toMatchObject({ profile_id: "p1", front_end: "cli" });
    await user.type(view().getByLabelText("Since"), "2030-01-01");
    expect(await screen.findByText("No entries match these filters")).toBeInTheDocument();
    const last = fake.callsOf("audit_list").at(-1) as { since?: string };
    expect(new Date(last.since ?? "").getFullYear()).toBe(2030);
    await user.click(view().getAllByRole("button", { name: "Clear filters" })[0]);
    await waitFor(() => expect(rows()).toHaveLength(5));
  });

  it("verifies: intact with the count, or the broken entry named and marked", async () => {
    const { user, fake } = await openAudit();
    await user.click(view().getByRole("button", { name: "Verify" }));
    expect(await view().findByRole("status")).toHaveTextContent("The audit log is intact: 5 entries verified.");
    fake.audit.verification = {
      ok: false, count: 5, head: { seq: 5, hash: "f".repeat(64) },
      problem: { seq: 3, kind: "edited", message: "entry 3 does not match its hash: it was edited" },
    };
    await user.click(view().getByRole("button", { name: "Verify" }));
    const alert = await view().findByRole("alert");
    expect(alert).toHaveTextContent("The audit log is broken at entry 3 (edited).");
    expect(alert).toHaveTextContent("it was edited");
    expect(document.querySelector('tr[data-seq="3"]')).toHaveClass("broken");
  });

  it("exports CSV and JSON with the filters, and says where; a cancelled dialog says nothing", async () => {
    const { user, fake } = await openAudit();
    await user.selectOptions(view().getByLabelText("Action"), "key_update");
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.click(view().getByRole("button", { name: "Export CSV" }));
    expect(await screen.findByText("Exported 1 entry to /home/me/keyward-audit.csv")).toBeInTheDocument();
    expect(fake.callsOf("audit_export").at(-1)).toEqual({ filter: { action: "key_update" }, format: "csv" });
    await user.click(view().getByRole("button", { name: "Export JSON" }));
    expect(await screen.findByText("Exported 1 entry to /home/me/keyward-audit.json")).toBeInTheDocument();
    fake.audit.exportPath = null;
    await user.click(view().getByRole("button", { name: "Export CSV" }));
    await waitFor(() => expect(fake.callsOf("audit_export")).toHaveLength(3));
    expect(screen.queryByText(/Could not export/)).not.toBeInTheDocument();
  });

  it("pages: older entries load on request", async () => {
    const fake = oneProfile([makeKey({ name: "billing-eu" })]);
    for (let i = 0; i < 130; i++) fake.audit.record({ action: "key_update", key_name: `key-${i}` });
    const { user } = await openAudit(fake);
    expect(rows()).toHaveLength(100);
    await user.click(view().getByRole("button", { name: "Load older entries" }));
    await waitFor(() => expect(rows()).toHaveLength(130));
    expect(view().queryByRole("button", { name: "Load older entries" })).not.toBeInTheDocument();
  });

  it("shows a change just made in the app when the tab opens", async () => {
    const key = makeKey({ name: "acme" });
    const r = renderApp(oneProfile([key]));
    await screen.findByText("acme");
    await r.user.click(screen.getByRole("button", { name: "Disable acme" }));
    await screen.findByRole("button", { name: "Enable acme" });
    await r.user.click(screen.getByRole("tab", { name: "Audit" }));
    await screen.findByRole("table", { name: "Audit log" });
    const cells = within(rows()[0]).getAllByRole("cell").map((c) => c.textContent?.trim());
    expect(cells.slice(3)).toEqual(["Key disabled", "acme", "disabled: false → true", "OK"]);
  });

  it("has an empty state and an error state with a retry", async () => {
    const fake = oneProfile([makeKey({ name: "billing-eu" })]);
    const r = renderApp(fake);
    await screen.findByText("billing-eu");
    await r.user.click(screen.getByRole("tab", { name: "Audit" }));
    expect(await screen.findByText("No changes recorded yet")).toBeInTheDocument();

    fake.failNext("audit_list", appError("store", "cannot read the database"));
    await r.user.click(view().getByRole("button", { name: "Refresh" }));
    expect(await screen.findByText(/cannot read the database/)).toBeInTheDocument();
    fake.audit.record({ action: "key_create", key_name: "new-one" });
    await r.user.click(view().getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("new-one")).toBeInTheDocument();
  });
});
