import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { SecretIndexEntry } from "../lib/bindings/SecretIndexEntry";
import { oneProfile, pageContains, renderApp } from "../test/render";

const pending = (name: string, state: SecretIndexEntry["state"], hash: string): SecretIndexEntry => ({
  profile_id: "p1", key_hash: hash, key_name: name, label: `sk-or-v1-${name.slice(0, 3)}...`, created_at: new Date().toISOString(), state,
});

function fakeWithPending() {
  const fake = oneProfile([], { pending: [pending("ci-deploy", "pending", "a".repeat(64)), pending("old-kept", "kept", "b".repeat(64))] });
  fake.keychain.set("a".repeat(64), "sk-or-v1-secret-a");
  fake.keychain.set("b".repeat(64), "sk-or-v1-secret-b");
  return fake;
}

describe("pending secrets", () => {
  it("counts pending secrets in the header and lists them with their actions", async () => {
    const fake = fakeWithPending();
    const { user } = renderApp(fake);
    const badge = await screen.findByRole("button", { name: "Pending secrets: 1" });
    await user.click(badge);
    const panel = screen.getByRole("dialog", { name: "Pending secrets" });
    const items = within(panel).getAllByRole("listitem");
    expect(items[0]).toHaveTextContent("ci-deploy");
    expect(items[0]).toHaveTextContent("pending");
    expect(items[1]).toHaveTextContent("old-kept");
    expect(within(items[1]).queryByRole("button", { name: /Keep/ })).not.toBeInTheDocument();

    await user.click(within(panel).getByRole("button", { name: "Copy secret of ci-deploy" }));
    expect(await within(panel).findByText("Copied the secret of ci-deploy — clipboard clears in 30 s")).toBeInTheDocument();
    expect(fake.callsOf("secret_copy")).toEqual([{ profile_id: "p1", key_hash: "a".repeat(64) }]);

    await user.click(within(panel).getByRole("button", { name: "Keep secret of ci-deploy in the OS keychain" }));
    await waitFor(() => expect(screen.getByRole("button", { name: "Pending secrets: 0" })).toBeInTheDocument());

    await user.click(within(panel).getByRole("button", { name: "Forget secret of old-kept" }));
    await waitFor(() => expect(within(panel).queryByText("old-kept")).not.toBeInTheDocument());
    expect(fake.callsOf("pending_resolve")).toEqual([
      { profile_id: "p1", key_hash: "a".repeat(64), action: "keep" },
      { profile_id: "p1", key_hash: "b".repeat(64), action: "forget" },
    ]);
    // The panel never receives a secret.
    expect(pageContains("sk-or-v1-secret")).toBe(false);
  });

  it("has a designed empty state", async () => {
    const { user } = renderApp(oneProfile([]));
    await user.click(await screen.findByRole("button", { name: "Pending secrets: 0" }));
    expect(screen.getByText("Nothing pending")).toBeInTheDocument();
  });
});
