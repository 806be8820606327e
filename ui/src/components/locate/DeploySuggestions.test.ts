import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { RotationPolicy } from "../../lib/rotation-types";
import { renderOver, rotationFake } from "../../test/rotation";
import RotationPolicyDialog from "../rotation/RotationPolicyDialog.svelte";

describe("rotation policy: deploy targets suggested from where the key lives", () => {
  it("offers each .env line holding the key as a one-click target, and saves it", async () => {
    const fake = rotationFake();
    fake.locate.suggestions = [
      { kind: "env_file", path: "/srv/api/.env", variable: "OPENROUTER_API_KEY" },
      { kind: "env_file", path: "/srv/worker/.env.production", variable: "OR_KEY" },
    ];
    const { user } = await renderOver(fake, RotationPolicyDialog, { profileId: "p1", keyRow: fake.keys.p1[0], onclose: vi.fn(), onsaved: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotation policy — prod-api" });
    const d = within(dialog);
    const group = await d.findByRole("group", { name: "Found in your projects" });
    await user.click(within(group).getByRole("button", { name: /\/srv\/worker\/\.env\.production/ }));
    expect(d.getByLabelText(".env file path")).toHaveValue("/srv/worker/.env.production");
    // Offered once: the added one leaves the suggestions.
    expect(within(group).queryByRole("button", { name: /\/srv\/worker/ })).toBeNull();
    expect(within(group).getByRole("button", { name: /\/srv\/api\/\.env/ })).toBeInTheDocument();
    expect(fake.callsOf("locate_deploy_suggestions")).toEqual([{ profile_id: "p1", key_hash: "old-hash" }]);

    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(fake.callsOf("rotation_policy_set").length).toBe(1));
    const saved = fake.callsOf("rotation_policy_set")[0] as RotationPolicy;
    expect(saved.targets).toEqual([{ kind: "env_file", path: "/srv/worker/.env.production", variable: "OR_KEY" }]);
  });

  it("shows nothing when the key was found nowhere", async () => {
    const fake = rotationFake();
    await renderOver(fake, RotationPolicyDialog, { profileId: "p1", keyRow: fake.keys.p1[0], onclose: vi.fn(), onsaved: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotation policy — prod-api" });
    await within(dialog).findByText("Deploy the new secret to");
    await waitFor(() => expect(fake.callsOf("locate_deploy_suggestions").length).toBe(1));
    expect(within(dialog).queryByRole("group", { name: "Found in your projects" })).toBeNull();
  });
});
