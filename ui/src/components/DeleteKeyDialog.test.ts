import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { oneProfile, renderApp } from "../test/render";

const key = makeKey({ name: "leaked-key", label: "sk-or-v1-lea...ked" });

async function openDelete() {
  const r = renderApp(oneProfile([key, makeKey({ name: "other" })]));
  await screen.findByText("leaked-key");
  await r.user.click(screen.getByRole("button", { name: "Delete leaked-key" }));
  return { ...r, dialog: screen.getByRole("dialog", { name: "Delete “leaked-key”?" }) };
}

describe("delete a key", () => {
  it("names the key, says it cannot be undone, and focuses Cancel", async () => {
    const { dialog, fake } = await openDelete();
    expect(dialog).toHaveTextContent("leaked-key");
    expect(dialog).toHaveTextContent("sk-or-v1-lea...ked");
    expect(dialog).toHaveTextContent("This cannot be undone.");
    expect(within(dialog).getByRole("button", { name: "Cancel" })).toHaveFocus();
    expect(fake.callsOf("key_delete")).toEqual([]);
  });

  it("deletes on confirmation", async () => {
    const { user, dialog, fake } = await openDelete();
    await user.click(within(dialog).getByRole("button", { name: "Delete key" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("key_delete")).toEqual([{ profile_id: "p1", hash: key.hash }]);
    expect(screen.queryByText("leaked-key", { selector: ".name" })).not.toBeInTheDocument();
    expect(screen.getByText("other")).toBeInTheDocument();
  });

  it("offers to disable instead", async () => {
    const { user, dialog, fake } = await openDelete();
    await user.click(within(dialog).getByRole("button", { name: "Disable instead" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("key_delete")).toEqual([]);
    expect(fake.callsOf("key_update")).toEqual([{ profile_id: "p1", hash: key.hash, disabled: true }]);
  });
});
