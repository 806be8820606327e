import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { CreateKeyArgs } from "../lib/bindings/CreateKeyArgs";
import { appError, makeKey } from "../test/fakeBackend";
import { oneProfile, renderApp } from "../test/render";

async function openCreate(fake = oneProfile([makeKey({ name: "alpha" })])) {
  const r = renderApp(fake);
  await screen.findByText("alpha");
  await r.user.click(screen.getByRole("button", { name: "New key" }));
  return { ...r, dialog: screen.getByRole("dialog", { name: "New key" }) };
}

describe("create a key", () => {
  it("blocks obvious errors locally, each under its field, and sends nothing", async () => {
    const { user, dialog, fake } = await openCreate();
    const d = within(dialog);
    await user.type(d.getByLabelText("Spending limit (USD)"), "-3");
    await user.type(d.getByLabelText("Expires (your local time)"), "2001-01-01T10:00");
    await user.click(d.getByRole("button", { name: "Create key" }));
    expect(d.getByText("Name must not be empty")).toBeInTheDocument();
    expect(d.getByText("Limit must not be negative")).toBeInTheDocument();
    expect(d.getByText("Expiry is in the past")).toBeInTheDocument();
    expect(d.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    expect(fake.callsOf("key_create")).toEqual([]);
    await user.clear(d.getByLabelText("Spending limit (USD)"));
    await user.type(d.getByLabelText("Spending limit (USD)"), "ten");
    expect(d.getByText(/Limit must be a number of US dollars/)).toBeInTheDocument();
  });

  it("shows the core's own verdict (key_validate_create, debounced) under the field", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.validate = (a: CreateKeyArgs) => (a.name === "reserved" ? [appError("invalid_input", "is reserved", "name")] : []);
    const { user, dialog } = await openCreate(fake);
    await user.type(within(dialog).getByLabelText("Name"), "reserved");
    expect(await within(dialog).findByText("Name is reserved")).toBeInTheDocument();
    // Debounced: one call for the whole word, not one per keystroke.
    const calls = fake.callsOf("key_validate_create");
    expect(calls.length).toBeLessThan(4);
    expect(calls.at(-1)).toEqual({ profile_id: "p1", name: "reserved", limit: null, limit_reset: null, include_byok_in_limit: false, expires_at: null, workspace_id: "ws-default" });
  });

  it("sends every field, the expiry as UTC RFC 3339 with seconds, then shows the secret once", async () => {
    const { user, dialog, fake } = await openCreate();
    const d = within(dialog);
    await user.type(d.getByLabelText("Name"), "acme-prod backend");
    await user.type(d.getByLabelText("Spending limit (USD)"), "25.50");
    await user.selectOptions(d.getByLabelText("Limit resets"), "weekly");
    await user.click(d.getByLabelText(/Count BYOK/));
    await user.type(d.getByLabelText("Expires (your local time)"), "2031-06-30T18:45");
    const expected = new Date(2031, 5, 30, 18, 45, 0).toISOString().replace(".000Z", "Z");
    expect(d.getByText(`Sent as ${expected} (UTC).`)).toBeInTheDocument();
    await user.click(d.getByLabelText("Name"));
    await user.keyboard("{Enter}");
    const secretDialog = await screen.findByRole("dialog", { name: "Key created — copy its secret now" });
    expect(fake.callsOf("key_create")).toEqual([{
      profile_id: "p1", name: "acme-prod backend", limit: 25.5, limit_reset: "weekly",
      include_byok_in_limit: true, expires_at: expected, workspace_id: "ws-default",
    }]);
    expect((within(secretDialog).getByLabelText("Secret") as HTMLInputElement).value).toMatch(/^sk-or-v1-/);
    expect(screen.queryByRole("dialog", { name: "New key" })).not.toBeInTheDocument();
    // The new key is in the list at once.
    expect(screen.getByText("acme-prod backend", { selector: ".name" })).toBeInTheDocument();
  });

  it("presets fill the expiry in local time", async () => {
    const { user, dialog } = await openCreate();
    await user.click(within(dialog).getByRole("button", { name: "30 days" }));
    const value = (within(dialog).getByLabelText("Expires (your local time)") as HTMLInputElement).value;
    expect(value).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    await user.click(within(dialog).getByRole("button", { name: "Never" }));
    expect(within(dialog).getByLabelText("Expires (your local time)")).toHaveValue("");
  });

  it("shows a failed create as words, keeping the form", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.failNext("key_create", appError("server", "OpenRouter answered with HTTP 502: Bad Gateway"));
    const { user, dialog } = await openCreate(fake);
    await user.type(within(dialog).getByLabelText("Name"), "x{Enter}");
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("OpenRouter answered with HTTP 502: Bad Gateway");
    expect(within(dialog).getByLabelText("Name")).toHaveValue("x");
  });

  it("Esc cancels", async () => {
    const { user } = await openCreate();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });
});
