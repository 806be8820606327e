import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { appError, makeKey } from "../test/fakeBackend";
import { oneProfile, pageContains, renderApp } from "../test/render";

async function createOne(fake = oneProfile([makeKey({ name: "alpha" })])) {
  const r = renderApp(fake);
  await screen.findByText("alpha");
  await r.user.keyboard("n");
  await r.user.type(screen.getByLabelText("Name"), "fresh{Enter}");
  const dialog = await screen.findByRole("dialog", { name: "Key created — copy its secret now" });
  const secret = (within(dialog).getByLabelText("Secret") as HTMLInputElement).value;
  return { ...r, dialog, secret, hash: r.fake.callsOf("key_create").length ? r.fake.keys.p1[0].hash : "" };
}

describe("created-secret dialog", () => {
  it("copies through the shell and says the clipboard clears in 30 s", async () => {
    const { user, dialog, fake, hash } = await createOne();
    await user.click(within(dialog).getByRole("button", { name: "Copy" }));
    expect(await within(dialog).findByText("Copied — clipboard clears in 30 s")).toBeInTheDocument();
    expect(fake.callsOf("secret_copy")).toEqual([{ profile_id: "p1", key_hash: hash }]);
  });

  it("forget: resolves the pending secret and the secret leaves the DOM", async () => {
    const { user, dialog, fake, secret, hash } = await createOne();
    expect(pageContains(secret)).toBe(true);
    await user.click(within(dialog).getByRole("button", { name: "I stored it elsewhere — forget it" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("pending_resolve")).toEqual([{ profile_id: "p1", key_hash: hash, action: "forget" }]);
    expect(pageContains(secret)).toBe(false);
    expect(screen.getByRole("button", { name: "Pending secrets: 0" })).toBeInTheDocument();
  });

  it("keep: keeps it in the OS keychain", async () => {
    const { user, dialog, fake, secret, hash } = await createOne();
    await user.click(within(dialog).getByRole("button", { name: "Keep it in the OS keychain" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("pending_resolve")).toEqual([{ profile_id: "p1", key_hash: hash, action: "keep" }]);
    expect(pageContains(secret)).toBe(false);
  });

  it("closing without choosing leaves it pending (badge) and drops the secret", async () => {
    const { user, fake, secret } = await createOne();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("pending_resolve")).toEqual([]);
    expect(pageContains(secret)).toBe(false);
    expect(await screen.findByRole("button", { name: "Pending secrets: 1" })).toBeInTheDocument();
  });

  it("when the keychain refused it: a prominent warning to copy it now, and no keychain choices", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.keychainBroken = appError("keychain_locked", "The system keychain is locked: unlock it (e.g. with Seahorse or by logging in again) and try again");
    const { dialog, user, secret } = await createOne(fake);
    const alert = within(dialog).getByRole("alert");
    expect(alert).toHaveTextContent("could not be saved in the OS keychain — copy it now");
    // The core's sentence as it is, without a headline repeating it ("… is locked: … is locked").
    expect(alert).toHaveTextContent("The system keychain is locked: unlock it (e.g. with Seahorse or by logging in again) and try again");
    expect(alert.textContent?.match(/locked/g)).toHaveLength(1);
    expect(within(dialog).queryByRole("button", { name: /forget it/ })).not.toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "I have copied it — close" }));
    expect(pageContains(secret)).toBe(false);
  });
});
