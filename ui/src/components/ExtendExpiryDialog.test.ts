import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { oneProfile, renderApp } from "../test/render";

const DAY = 24 * 3600e3;
const expiring = makeKey({ name: "eu-api", expires_at: new Date(Date.now() + DAY).toISOString() });
const forever = makeKey({ name: "forever" });

async function openDetails(name: string) {
  const fake = oneProfile([expiring, forever]);
  const r = renderApp(fake);
  await r.user.click(await screen.findByRole("button", { name }));
  const details = await screen.findByRole("dialog", { name });
  return { ...r, fake, d: within(details) };
}

describe("extend expiry", () => {
  it("is offered only for a key with an expiry", async () => {
    const { d } = await openDetails("forever");
    expect(d.queryByRole("button", { name: "Extend expiry…" })).toBeNull();
  });

  it("checks the new expiry in Rust, then opens the rotation wizard with it", async () => {
    const { d, fake, user } = await openDetails("eu-api");
    await user.click(d.getByRole("button", { name: "Extend expiry…" }));
    const dialog = within(await screen.findByRole("dialog", { name: "Extend the expiry of eu-api" }));
    const daysInput = dialog.getByRole("textbox", { name: "Days from now" });

    // Zero days: refused by the core's rule, shown beside the field; nothing started.
    await user.clear(daysInput);
    await user.type(daysInput, "0");
    await user.click(dialog.getByRole("button", { name: "Continue to rotation…" }));
    expect(await dialog.findByRole("alert")).toHaveTextContent("Expiry must be at least 1 day");
    expect(fake.callsOf("rotation_plan")).toContainEqual({ profile_id: "p1", key_hash: expiring.hash, new_expiry: { days: 0 } });
    expect(fake.callsOf("rotation_start")).toEqual([]);

    // A date in the past: the core's words.
    await user.click(dialog.getByRole("radio", { name: /On/ }));
    const dateInput = dialog.getByLabelText("Expiry date (UTC)");
    await user.type(dateInput, "2020-01-01");
    await user.click(dialog.getByRole("button", { name: "Continue to rotation…" }));
    expect(await dialog.findByRole("alert")).toHaveTextContent("is in the past");

    // 180 days: the wizard opens, plans and starts the rotation with it.
    await user.click(dialog.getByRole("radio", { name: /In/ }));
    await user.clear(daysInput);
    await user.type(daysInput, "180");
    await user.click(dialog.getByRole("button", { name: "Continue to rotation…" }));
    const wizardBox = await screen.findByRole("dialog", { name: "Rotate eu-api?" });
    const wizard = within(wizardBox);
    await waitFor(() => expect(wizardBox).toHaveTextContent(/expires 180 days after rotation/));
    await user.click(await wizard.findByRole("button", { name: /^Start/ }));
    const started = fake.callsOf("rotation_start");
    expect(started).toHaveLength(1);
    expect(started[0]).toMatchObject({ key_hash: expiring.hash, new_expiry: { days: 180 } });
  });
});
