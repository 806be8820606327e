import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../../test/fakeBackend";
import { dataRows, oneProfile, renderApp } from "../../test/render";
import { KeySelection } from "./selection.svelte";

const hash = (n: number) => n.toString(16).padStart(64, "0");
const keys = () => [
  makeKey({ name: "prod-api", hash: hash(1), created_at: "2026-01-05T00:00:00Z" }),
  makeKey({ name: "prod-web", hash: hash(2), created_at: "2026-01-04T00:00:00Z" }),
  makeKey({ name: "prod-old", hash: hash(3), created_at: "2026-01-03T00:00:00Z", disabled: true, status: "disabled" }),
  makeKey({ name: "staging", hash: hash(4), created_at: "2026-01-02T00:00:00Z" }),
  makeKey({ name: "ci", hash: hash(5), created_at: "2026-01-01T00:00:00Z" }),
];

async function start(fake = oneProfile(keys())) {
  const app = renderApp(fake);
  await screen.findByText("prod-api");
  return app;
}

const box = (name: string) => screen.getByRole("checkbox", { name: `Select ${name}` });

describe("key selection", () => {
  it("toggles, extends a range with shift and clears", () => {
    const s = new KeySelection();
    const order = ["a", "b", "c", "d", "e"];
    s.click("b", false, order);
    s.click("d", true, order);
    expect(s.list().sort()).toEqual(["b", "c", "d"]);
    s.click("c", false, order);
    expect(s.has("c")).toBe(false);
    s.selectAll(order);
    expect(s.size).toBe(5);
    s.keepOnly(new Set(["a", "e"]));
    expect(s.list().sort()).toEqual(["a", "e"]);
    s.clear();
    expect(s.size).toBe(0);
  });

  it("selects with click, shift-click and select-all in the list; Esc clears", async () => {
    const { user } = await start();
    await user.click(box("prod-api"));
    expect(screen.getByRole("toolbar", { name: "Selected keys" })).toHaveTextContent("1 selected");
    await user.keyboard("{Shift>}");
    await user.click(box("prod-old"));
    await user.keyboard("{/Shift}");
    expect(screen.getByText("3 selected")).toBeInTheDocument();
    expect(box("prod-web")).toBeChecked();
    expect(box("staging")).not.toBeChecked();
    await user.click(screen.getByRole("button", { name: "Select all 5 matching" }));
    expect(screen.getByText("5 selected")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("toolbar", { name: "Selected keys" })).not.toBeInTheDocument();
  });
});

describe("batch operations", () => {
  it("disables the selected keys with one run and shows every key done", async () => {
    const { user, fake, container } = await start();
    await user.click(box("prod-api"));
    await user.click(box("staging"));
    await user.click(within(screen.getByRole("toolbar", { name: "Selected keys" })).getByRole("button", { name: "Disable" }));
    const dialog = await screen.findByRole("dialog", { name: "Disable — 2 keys" });
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    expect(within(dialog).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "2");
    expect(fake.callsOf("batch_run")).toEqual([
      expect.objectContaining({ profile_id: "p1", hashes: [hash(1), hash(4)], operation: { kind: "disable" } }),
    ]);
    expect(fake.keys.p1.filter((k) => k.disabled).map((k) => k.name).sort()).toEqual(["prod-api", "prod-old", "staging"]);
    await user.click(within(dialog).getByRole("button", { name: "Done" }));
    expect(dataRows(container).length).toBe(5);
  });

  it("asks before deleting, naming the count", async () => {
    const { user, fake } = await start();
    await user.click(box("ci"));
    await user.click(box("staging"));
    await user.click(screen.getByRole("button", { name: "Delete…" }));
    const dialog = screen.getByRole("dialog", { name: "Delete 2 keys?" });
    expect(dialog).toHaveTextContent("This cannot be undone.");
    expect(fake.callsOf("batch_run")).toEqual([]);
    await user.click(within(dialog).getByRole("button", { name: "Delete 2 keys" }));
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    expect(fake.keys.p1.map((k) => k.name)).toEqual(["prod-api", "prod-web", "prod-old"]);
  });

  it("shows Rust's answer to a bad limit, then sets a good one", async () => {
    const { user, fake } = await start();
    await user.click(box("prod-api"));
    await user.click(screen.getByRole("button", { name: "Set limit…" }));
    const dialog = screen.getByRole("dialog", { name: "Set limit — 1 key" });
    await user.type(within(dialog).getByLabelText(/Spending limit/), "-5");
    await user.click(within(dialog).getByRole("button", { name: "Set limit on 1 key" }));
    expect(await within(dialog).findByText(/must not be negative/)).toBeInTheDocument();
    await user.clear(within(dialog).getByLabelText(/Spending limit/));
    await user.type(within(dialog).getByLabelText(/Spending limit/), "25");
    await user.selectOptions(within(dialog).getByLabelText("Resets"), "weekly");
    await user.click(within(dialog).getByRole("button", { name: "Set limit on 1 key" }));
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    const key = fake.keys.p1.find((k) => k.name === "prod-api");
    expect([key?.limit, key?.limit_reset]).toEqual([25, "weekly"]);
  });

  it("lists the failed keys and retries only those", async () => {
    const fake = oneProfile(keys());
    fake.batch.failOnce.add(hash(2));
    const { user } = await start(fake);
    await user.click(screen.getByRole("checkbox", { name: "Select all 5 keys shown" }));
    await user.click(screen.getByRole("button", { name: "Clear limit" }));
    const dialog = await screen.findByRole("dialog", { name: "Clear limit — 5 keys" });
    const failed = await within(dialog).findByRole("list", { name: "Keys not done" });
    expect(failed).toHaveTextContent("prod-web");
    expect(failed).toHaveTextContent("503");
    await user.click(within(dialog).getByRole("button", { name: "Retry the failed (1)" }));
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    expect(fake.callsOf("batch_run").at(-1)).toEqual(expect.objectContaining({ hashes: [hash(2)], operation: { kind: "clear_limit" } }));
  });

  it("shows progress from batch-progress events and cancels the rest", async () => {
    const fake = oneProfile(keys());
    let release: () => void = () => {};
    fake.batch.gate = new Promise<void>((ok) => (release = ok));
    const { user, emit } = await start(fake);
    await user.click(screen.getByRole("checkbox", { name: "Select all 5 keys shown" }));
    await user.click(screen.getByRole("button", { name: "Enable" }));
    const dialog = await screen.findByRole("dialog", { name: "Enable — 5 keys" });
    await waitFor(() => expect(fake.callsOf("batch_run").length).toBe(1));
    const runId = (fake.callsOf("batch_run")[0] as { run_id: string }).run_id;
    await emit("batch-progress", {
      run_id: runId, profile_id: "p1", total: 5, done: 2, failed: 0, not_run: 0,
      last: { hash: hash(2), name: "prod-web", outcome: "done", error: null, note: null, rate_limited: 1 },
    });
    await waitFor(() => expect(within(dialog).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "2"));
    await user.click(within(dialog).getByRole("button", { name: "Cancel the rest" }));
    expect(fake.callsOf("batch_cancel")).toEqual([{ run_id: runId }]);
    release();
    expect(await within(dialog).findByRole("list", { name: "Keys not done" })).toHaveTextContent("not run");
  });
});

describe("emergency revoke", () => {
  it("disables every key matching a filter, then re-enables exactly those", async () => {
    const { user, fake } = await start();
    await user.click(screen.getByRole("button", { name: "Emergency revoke" }));
    const dialog = screen.getByRole("dialog", { name: "Emergency revoke" });
    await user.type(within(dialog).getByLabelText("Filter"), "colour:red");
    await user.click(within(dialog).getByRole("button", { name: "Show matching keys" }));
    expect(await within(dialog).findByText(/unknown field "colour"/)).toBeInTheDocument();
    await user.clear(within(dialog).getByLabelText("Filter"));
    await user.type(within(dialog).getByLabelText("Filter"), "name:prod-*");
    await user.click(within(dialog).getByRole("button", { name: "Show matching keys" }));
    expect(await within(dialog).findByRole("list", { name: "Matching keys" })).toHaveTextContent(/prod-old\s*\(disabled\)/);
    await user.click(within(dialog).getByRole("button", { name: "Disable 2 keys now" }));
    expect(await within(dialog).findByText(/Disabled/)).toHaveTextContent("Disabled 2 keys; 1 were disabled already");
    expect(fake.keys.p1.filter((k) => k.disabled).map((k) => k.name).sort()).toEqual(["prod-api", "prod-old", "prod-web"]);
    await user.click(within(dialog).getByRole("button", { name: "Re-enable" }));
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    expect(fake.keys.p1.filter((k) => k.disabled).map((k) => k.name)).toEqual(["prod-old"]);
  });

  it("revokes the selection and deletes after a second confirmation", async () => {
    const { user, fake } = await start();
    await user.click(box("staging"));
    await user.click(box("ci"));
    await user.click(screen.getByRole("button", { name: "Emergency revoke…" }));
    const dialog = screen.getByRole("dialog", { name: "Emergency revoke" });
    expect(within(dialog).getByLabelText(/The 2 keys selected/)).toBeChecked();
    await user.click(within(dialog).getByRole("button", { name: "Show matching keys" }));
    await user.click(await within(dialog).findByRole("button", { name: "Disable 2 keys now" }));
    await user.click(await within(dialog).findByRole("button", { name: "Delete them now…" }));
    expect(dialog).toHaveTextContent("This cannot be undone.");
    await user.click(within(dialog).getByRole("button", { name: "Delete 2 keys" }));
    expect(await within(dialog).findByText("Every key is done.")).toBeInTheDocument();
    expect(fake.keys.p1.map((k) => k.name)).toEqual(["prod-api", "prod-web", "prod-old"]);
  });

  it("opens from the tray", async () => {
    const { emit } = await start();
    await emit("emergency-revoke-open", {});
    expect(await screen.findByRole("dialog", { name: "Emergency revoke" })).toBeInTheDocument();
  });
});
