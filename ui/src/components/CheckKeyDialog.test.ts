import { screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { oneProfile, pageContains, renderApp } from "../test/render";

describe("check a key", () => {
  it("shows label, limits, spend and expiry without storing the key; the field is cleared", async () => {
    const fake = oneProfile([]);
    const known = makeKey({ name: "x", label: "sk-or-v1-kno...wn1", limit: 20, limit_remaining: 12.5, limit_reset: "daily", usage: 7.5, usage_daily: 1.5 });
    fake.secrets.set("sk-or-v1-known", known);
    const { user } = renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "Check a key" }));
    const dialog = screen.getByRole("dialog", { name: "Check a key" });
    const field = within(dialog).getByLabelText("Key");
    expect(field).toHaveFocus();
    expect(field).toHaveAttribute("type", "password");
    await user.type(field, "sk-or-v1-known{Enter}");
    const details = await within(dialog).findByLabelText("Key details");
    expect(details).toHaveTextContent("sk-or-v1-kno...wn1");
    expect(details).toHaveTextContent("Inference key");
    expect(details).toHaveTextContent("$20.00 ($12.50 left)");
    expect(details).toHaveTextContent("daily");
    expect(details).toHaveTextContent("$1.50 today");
    expect(details).toHaveTextContent("$7.50 total");
    expect(details).toHaveTextContent("never");
    expect(field).toHaveValue("");
    expect(fake.callsOf("key_check")).toEqual([{ secret: "sk-or-v1-known", base_url: "https://openrouter.ai/api/v1" }]);
    expect(pageContains("sk-or-v1-known")).toBe(false);
  });

  it("an unknown key is reported as such", async () => {
    const { user } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "Check a key" }));
    await user.type(screen.getByLabelText("Key"), "sk-or-v1-nope{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("OpenRouter does not know this key");
    expect(screen.getByLabelText("Key")).toHaveValue("");
  });
});
