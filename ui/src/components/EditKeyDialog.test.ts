import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { appError, makeKey } from "../test/fakeBackend";
import { oneProfile, renderApp } from "../test/render";

const key = makeKey({ name: "acme", limit: 50, limit_remaining: 30, limit_reset: "monthly", include_byok_in_limit: false });

async function openEdit(fake = oneProfile([key])) {
  const r = renderApp(fake);
  await screen.findByText("acme");
  await r.user.click(screen.getByRole("button", { name: "Edit acme" }));
  return { ...r, dialog: screen.getByRole("dialog", { name: "Edit acme" }) };
}

describe("edit a key", () => {
  it("nothing changed: Save is disabled", async () => {
    const { dialog } = await openEdit();
    expect(within(dialog).getByRole("button", { name: "Save changes" })).toBeDisabled();
  });

  it("clearing the limit sends limit: null and nothing else", async () => {
    const { user, dialog, fake } = await openEdit();
    await user.click(within(dialog).getByLabelText("No limit"));
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("key_update")).toEqual([{ profile_id: "p1", hash: key.hash, limit: null }]);
    expect(screen.getAllByText("No limit").length).toBeGreaterThan(0);
  });

  it("changing the name sends only the name; a new limit only the limit", async () => {
    const { user, dialog, fake } = await openEdit();
    const name = within(dialog).getByLabelText("Name");
    await user.clear(name);
    await user.type(name, "acme-2{Enter}");
    await waitFor(() => expect(fake.callsOf("key_update")).toEqual([{ profile_id: "p1", hash: key.hash, name: "acme-2" }]));

    await user.click(await screen.findByRole("button", { name: "Edit acme-2" }));
    const d2 = within(screen.getByRole("dialog", { name: "Edit acme-2" }));
    await user.clear(d2.getByLabelText("Spending limit (USD)"));
    await user.type(d2.getByLabelText("Spending limit (USD)"), "75");
    await user.selectOptions(d2.getByLabelText("Limit resets"), "");
    await user.click(d2.getByLabelText(/Count BYOK/));
    await user.click(d2.getByLabelText(/Disabled/));
    await user.click(d2.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(fake.callsOf("key_update")).toHaveLength(2));
    expect(fake.callsOf("key_update")[1]).toEqual({
      profile_id: "p1", hash: key.hash, limit: 75, limit_reset: null, include_byok_in_limit: true, disabled: true,
    });
  });

  it("blocks a negative limit", async () => {
    const { user, dialog, fake } = await openEdit();
    const limit = within(dialog).getByLabelText("Spending limit (USD)");
    await user.clear(limit);
    await user.type(limit, "-1");
    expect(within(dialog).getByText("Limit must not be negative")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    expect(fake.callsOf("key_update")).toEqual([]);
  });

  it("a key deleted elsewhere: says it is gone and refreshes the list", async () => {
    const fake = oneProfile([key]);
    fake.failNext("key_update", appError("not_found", "Not found on OpenRouter: Key not found. The key may have been deleted; refresh the list."));
    const { user, dialog } = await openEdit(fake);
    await user.click(within(dialog).getByLabelText("No limit"));
    const before = fake.callsOf("keys_list").length;
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Not found on OpenRouter: Key not found.");
    await waitFor(() => expect(fake.callsOf("keys_list").length).toBe(before + 1));
  });

  it("disable and enable are quick actions on the row", async () => {
    const r = renderApp(oneProfile([key]));
    await screen.findByText("acme");
    await r.user.click(screen.getByRole("button", { name: "Disable acme" }));
    expect(await screen.findByRole("button", { name: "Enable acme" })).toBeInTheDocument();
    expect(screen.getByText("disabled", { selector: ".badge" })).toBeInTheDocument();
    await r.user.click(screen.getByRole("button", { name: "Enable acme" }));
    expect(await screen.findByRole("button", { name: "Disable acme" })).toBeInTheDocument();
    expect(r.fake.callsOf("key_update")).toEqual([
      { profile_id: "p1", hash: key.hash, disabled: true },
      { profile_id: "p1", hash: key.hash, disabled: false },
    ]);
  });
});
