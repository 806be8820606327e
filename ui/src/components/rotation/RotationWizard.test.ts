import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { stepTime } from "../../lib/rotation";
import { makeRotation, withSteps } from "../../test/fakeRotation";
import { rotationFake, renderOver } from "../../test/rotation";
import RotationWizard from "./RotationWizard.svelte";

const ENV = { kind: "env_file" as const, path: "/srv/app/.env", variable: "OPENROUTER_API_KEY" };
const KEYCHAIN = { kind: "keychain" as const, service: "my-app", account: "openrouter" };

function stepItem(name: RegExp) {
  return screen.getAllByRole("listitem").find((li) => name.test(li.querySelector(".label")?.textContent ?? ""))!;
}

function withPolicy() {
  const fake = rotationFake();
  fake.rotation.setPolicy({
    profile_id: "p1", key_hash: "old-hash", every_days: 30, before_expiry_days: null, auto_rotate: false,
    targets: [ENV, KEYCHAIN], quiet_period_secs: 900, grace_period_secs: 86400, new_expiry: "keep_lifetime", keep_new_secret: false,
  });
  return fake;
}

describe("rotation wizard", () => {
  it("says exactly what will happen before starting, then starts with the chosen grace", async () => {
    const fake = withPolicy();
    const keyRow = fake.keys.p1[0];
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", keyRow, onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotate prod-api?" });
    const d = within(dialog);
    const today = new Date().toISOString().slice(0, 10);
    expect(await d.findByText(`prod-api · rotated ${today}`)).toBeInTheDocument();
    expect(dialog).toHaveTextContent("limit $50.00, resets monthly");
    expect(dialog).toHaveTextContent("keeps the old key's remaining lifetime");
    expect(d.getByText("OPENROUTER_API_KEY in /srv/app/.env")).toBeInTheDocument();
    expect(d.getByText("keychain entry my-app / openrouter")).toBeInTheDocument();
    expect(dialog).toHaveTextContent("stays still for 15 min");
    expect(dialog).toHaveTextContent("Delete prod-api 1 day after disabling it");
    expect(d.getByRole("button", { name: "Start rotation" })).toHaveFocus();
    await user.click(d.getByLabelText(/Delete the old key at once/));
    expect(dialog).toHaveTextContent("Delete prod-api right after disabling it");
    await user.click(d.getByRole("button", { name: "Start rotation" }));
    const live = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    expect(fake.calls.filter((c) => c.cmd === "rotation_start").map((c) => c.args)).toEqual([
      { profile_id: "p1", key_hash: "old-hash", delete_at_once: true },
    ]);
    expect(within(live).getByText("running", { selector: ".badge" })).toBeInTheDocument();
    expect(stepItem(/Create the new key/)).toHaveAttribute("aria-current", "step");
    expect(within(live).getByLabelText("Rotation progress")).toHaveFocus();
  });

  it("shows each step live from rotation-changed, with per-target results and progress", async () => {
    const fake = withPolicy();
    const view = fake.rotation.start("p1", "old-hash", false);
    const { container } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const bar = () => screen.getByRole("progressbar", { name: "Steps done" });
    await waitFor(() => expect(bar()).toHaveAttribute("aria-valuenow", "0"));
    fake.rotation.advance(view.id); // create done → store secret
    fake.rotation.advance(view.id); // store secret done → deploy
    await waitFor(() => expect(bar()).toHaveAttribute("aria-valuetext", "2 of 7 steps done"));
    expect(stepItem(/Deploy the new secret/)).toHaveAttribute("aria-current", "step");
    expect(stepItem(/Create the new key/).querySelector(".mark")).toHaveTextContent("✓");
    fake.rotation.advance(view.id); // deploy done → verify
    await waitFor(() => expect(bar()).toHaveAttribute("aria-valuetext", "3 of 7 steps done"));
    const outcomes = within(screen.getByRole("list", { name: "Deploy targets" })).getAllByRole("listitem");
    expect(outcomes).toHaveLength(2);
    expect(outcomes[0]).toHaveTextContent("✓ succeeded: OPENROUTER_API_KEY in /srv/app/.env — replaced OPENROUTER_API_KEY (backup: /srv/app/.env.keyward-backup)");
    expect(outcomes[1]).toHaveTextContent("✓ succeeded: keychain entry my-app / openrouter — entry updated");
    expect(container.querySelector(".spinner")).not.toBeNull();
  });

  it("waiting for drain: says what it waits for in words, and confirming drained is asked first", async () => {
    const fake = rotationFake();
    const quietSince = new Date(Date.now() - 3 * 60_000).toISOString();
    const lastUsed = new Date(Date.now() - 5 * 60_000).toISOString();
    fake.rotation.put(makeRotation({
      id: "rot-d", status: "waiting", new_key_hash: "new-hash",
      steps: withSteps(["done", "done", "done", "done", "waiting"]),
      waiting_for: "usage of the old key to stay still for 15 min",
      drain: { last_used_at: lastUsed, usage: 4.2, quiet_since: quietSince, quiet_period_secs: 900, next_check_at: null },
      actions: ["confirm_drained", "roll_back", "abandon"],
    }));
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: "rot-d", onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const d = within(dialog);
    expect(await d.findByText(
      `Waiting for the old key's usage to stay still for 15 min — quiet since ${stepTime(quietSince)}; last used ${stepTime(lastUsed)}, $4.20`,
    )).toBeInTheDocument();
    expect(dialog).toHaveTextContent("About 12 min to go if it stays quiet");
    expect(d.getByText("waiting", { selector: ".badge" })).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Old key is no longer used" }));
    const confirm = d.getByRole("group", { name: "Is prod-api really no longer used?" });
    expect(confirm).toHaveTextContent("Old key prod-api: disabled now");
    expect(within(confirm).getByRole("button", { name: "Yes, disable the old key" })).toHaveFocus();
    expect(fake.calls.some((c) => c.cmd === "rotation_action")).toBe(false);
    await user.click(within(confirm).getByRole("button", { name: "Yes, disable the old key" }));
    await waitFor(() => expect(stepItem(/Disable the old key/)).toHaveAttribute("aria-current", "step"));
    expect(fake.calls.filter((c) => c.cmd === "rotation_action").map((c) => c.args)).toEqual([{ id: "rot-d", action: "confirm_drained" }]);
  });

  it("failed deploy: ✗ per target with its message, advice in words, retry or roll back (confirmed)", async () => {
    const fake = withPolicy();
    fake.rotation.failDeploy = (t) => (t.kind === "env_file" ? "permission denied: /srv/app/.env" : null);
    const view = fake.rotation.start("p1", "old-hash", false);
    for (let i = 0; i < 3; i++) fake.rotation.advance(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const d = within(dialog);
    await d.findByText("needs attention", { selector: ".badge" });
    const outcomes = within(d.getByRole("list", { name: "Deploy targets" })).getAllByRole("listitem");
    expect(outcomes[0]).toHaveTextContent("failed: OPENROUTER_API_KEY in /srv/app/.env — permission denied: /srv/app/.env");
    expect(outcomes[1]).toHaveTextContent("succeeded: keychain entry my-app / openrouter — entry updated");
    expect(d.getByRole("alert")).toHaveTextContent("Deploying the new secret failed");
    expect(d.getByRole("alert")).toHaveTextContent("Deploying to one target failed: permission denied");
    expect(dialog).toHaveTextContent("its secret is safe in the OS keychain. Fix the targets marked ✗");
    expect(d.getByRole("button", { name: "Retry" })).toBeInTheDocument();

    // Roll back says what happens to each key; the secret already reached the keychain target, so the new key stays.
    await user.click(d.getByRole("button", { name: "Roll back…" }));
    const confirm = d.getByRole("group", { name: "Roll back this rotation?" });
    expect(confirm).toHaveTextContent(/New key prod-api · rotated .*: kept, because its secret already went to a deploy target/);
    expect(confirm).toHaveTextContent("Old key prod-api: stays active, unchanged.");
    await user.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(d.getByRole("button", { name: "Roll back…" })).toHaveFocus();

    fake.rotation.failDeploy = null;
    await user.click(d.getByRole("button", { name: "Retry" }));
    await waitFor(() => expect(stepItem(/Deploy the new secret/)).toHaveAttribute("aria-current", "step"));
    expect(d.getByText("running", { selector: ".badge" })).toBeInTheDocument();
    expect(stepItem(/Deploy the new secret/)).toHaveTextContent("(attempt 2)");
    fake.rotation.advance(view.id);
    await waitFor(() => expect(stepItem(/Verify the new key/)).toHaveAttribute("aria-current", "step"));
    expect(d.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("no deploy targets: waits for the person, offers the new secret, and a roll back deletes the unused key", async () => {
    const fake = withPolicy();
    fake.rotation.setPolicy({ ...fake.rotation.policy("p1", "old-hash"), targets: [] });
    const view = fake.rotation.start("p1", "old-hash", false);
    for (let i = 0; i < 3; i++) fake.rotation.advance(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    expect(await d.findByText("Put the new secret where prod-api is used, then continue.")).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Copy the new secret" }));
    expect(await d.findByText("Copied — clipboard clears in 30 s")).toBeInTheDocument();
    expect(fake.calls.filter((c) => c.cmd === "secret_copy").map((c) => c.args)).toEqual([{ profile_id: "p1", key_hash: fake.rotation.rotations.get(view.id)!.view.new_key_hash }]);
    expect(d.getByRole("button", { name: "The new secret is in place — continue" })).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Roll back…" }));
    expect(d.getByRole("group", { name: "Roll back this rotation?" })).toHaveTextContent("deleted on OpenRouter, and its secret removed from the OS keychain (it was never deployed anywhere)");
    await user.click(d.getByRole("button", { name: "Yes, roll back" }));
    expect(await d.findByText("Rolled back — prod-api stays in use.")).toBeInTheDocument();
    expect(fake.keys.p1.map((k) => k.name)).toEqual(["prod-api"]);
    expect(d.getByText("Close", { selector: "footer button" })).toBeInTheDocument();
  });

  it("a failed verify says so in words; after the person's fix, Retry goes on to the drain", async () => {
    const fake = withPolicy();
    fake.rotation.failVerify = { kind: "unauthorized", message: "OpenRouter rejected the key (User not found). Check the key Keyward uses, or paste a new one.", field: null, retry_after_ms: null };
    const view = fake.rotation.start("p1", "old-hash", false);
    for (let i = 0; i < 4; i++) fake.rotation.advance(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    expect(await d.findByRole("alert")).toHaveTextContent("The new key did not pass its check");
    expect(d.getByRole("alert")).toHaveTextContent("OpenRouter rejected the key (User not found).");
    expect(d.getByText(/OpenRouter did not accept the new key yet/)).toBeInTheDocument();
    fake.rotation.failVerify = null;
    await user.click(d.getByRole("button", { name: "Retry" }));
    fake.rotation.advance(view.id); // verify done → drain
    fake.rotation.advance(view.id); // drain: first check, now waiting
    expect(await d.findByText(/Waiting for the old key's usage to stay still for 15 min/)).toBeInTheDocument();
    expect(d.getAllByRole("button").map((b) => b.textContent?.trim())).toEqual(
      ["✕", "Old key is no longer used", "Roll back…", "Delete the old key now", "Abandon…", "Run in background"],
    );
  });

  it("grace period: when the old key will be deleted, and delete now is confirmed", async () => {
    const fake = rotationFake();
    const graceUntil = new Date(Date.now() + 20 * 3600e3).toISOString();
    fake.rotation.put(makeRotation({
      id: "rot-g", status: "waiting", new_key_hash: "new-hash", steps: withSteps(["done", "done", "done", "done", "done", "done", "waiting"]),
      grace_until: graceUntil, waiting_for: "the grace period", actions: ["delete_now", "roll_back", "abandon"],
    }));
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: "rot-g", onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    expect(await d.findByText("prod-api is disabled; Keyward deletes it in 20 hr.")).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Delete the old key now" }));
    expect(d.getByRole("group", { name: "Delete prod-api now?" })).toHaveTextContent("This cannot be undone.");
    await user.keyboard("{Enter}");
    expect(await d.findByText(/Done — prod-api · rotated .* replaced prod-api\./)).toBeInTheDocument();
  });

  it("completed: every step ✓, full progress, nothing left to do but close", async () => {
    const fake = rotationFake();
    fake.rotation.put(makeRotation({
      id: "rot-c", status: "completed", new_key_hash: "new-hash", steps: withSteps(Array(7).fill("done")),
      actions: [], finished_at: new Date().toISOString(),
    }));
    const onclose = vi.fn();
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: "rot-c", onclose });
    const dialog = await screen.findByRole("dialog", { name: "Rotation of prod-api" });
    await within(dialog).findByText("completed", { selector: ".badge" });
    expect(screen.getByRole("progressbar", { name: "Steps done" })).toHaveAttribute("aria-valuenow", "100");
    expect(dialog.querySelectorAll(".step.done")).toHaveLength(7);
    const buttons = within(dialog).getAllByRole("button").map((b) => b.textContent?.trim() || b.getAttribute("aria-label"));
    expect(buttons).toEqual(["✕", "Close"]);
    expect(dialog.contains(document.activeElement)).toBe(true);
    await user.keyboard("{Escape}");
    expect(onclose).toHaveBeenCalled();
  });

  it("shows a failed start in words and stays on the confirmation", async () => {
    const fake = withPolicy();
    fake.failures.set("rotation_start", [{ kind: "conflict", message: "prod-api is already being rotated", field: null, retry_after_ms: null }]);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", keyRow: fake.keys.p1[0], onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotate prod-api?" }));
    await d.findByText("OPENROUTER_API_KEY in /srv/app/.env");
    await user.click(d.getByRole("button", { name: "Start rotation" }));
    expect(await d.findByRole("alert")).toHaveTextContent("prod-api is already being rotated");
    expect(d.getByRole("button", { name: "Start rotation" })).toBeEnabled();
  });
});
