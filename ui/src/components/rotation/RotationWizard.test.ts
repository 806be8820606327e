import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { stepTime } from "../../lib/rotation";
import { rotationFake, renderOver } from "../../test/rotation";
import RotationWizard from "./RotationWizard.svelte";

// The rotations replay what the core recorded (test/fixtures/rotation-replays.json): its targets are
// OPENROUTER_API_KEY in /srv/app/.env (and /srv/worker/.env when a deploy fails).
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
  it("lists the guardrail, BYOK and log links the new key joins before its secret is deployed", async () => {
    const fake = withPolicy();
    fake.rotation.setAttachments("old-hash", [
      { kind: "guardrail", id: "g1", name: "EU only" },
      { kind: "byok", id: "b1", provider: "openai", name: "prod" },
      { kind: "destination", id: "d1", name: "traces", type: "langfuse" },
    ]);
    await renderOver(fake, RotationWizard, { profileId: "p1", keyRow: fake.keys.p1[0], onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotate prod-api?" });
    await within(dialog).findByText('guardrail "EU only"');
    expect(dialog).toHaveTextContent("Before its secret goes anywhere, give it what names prod-api");
    expect(within(dialog).getByText('BYOK key "prod" (openai)')).toBeInTheDocument();
    expect(within(dialog).getByText('log destination "traces" (langfuse)')).toBeInTheDocument();
    expect(dialog).toHaveTextContent("1 day after disabling it, then take it off those links");
  });

  it("says when nothing else names the key", async () => {
    const fake = withPolicy();
    await renderOver(fake, RotationWizard, { profileId: "p1", keyRow: fake.keys.p1[0], onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotate prod-api?" });
    await within(dialog).findByRole("button", { name: "Start rotation" });
    await waitFor(() => expect(dialog).toHaveTextContent("Nothing else names prod-api"));
    expect(dialog).not.toHaveTextContent("take it off those links");
  });

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
    fake.rotation.advanceUntil(view.id, (v) => v.current_step === "deploy");
    await waitFor(() => expect(bar()).toHaveAttribute("aria-valuetext", "3 of 9 steps done"));
    expect(stepItem(/Deploy the new secret/)).toHaveAttribute("aria-current", "step");
    expect(stepItem(/Create the new key/).querySelector(".mark")).toHaveTextContent("✓");
    fake.rotation.advanceUntil(view.id, (v) => v.steps[4].status === "running");
    await waitFor(() => expect(bar()).toHaveAttribute("aria-valuetext", "4 of 9 steps done"));
    expect(stepItem(/Verify the new key/)).toHaveAttribute("aria-current", "step");
    const outcomes = within(screen.getByRole("list", { name: "Deploy targets" })).getAllByRole("listitem");
    expect(outcomes).toHaveLength(1);
    // The backup is kept in Keyward's data directory (private), not beside the project's file.
    expect(outcomes[0]).toHaveTextContent(
      /^✓ succeeded: OPENROUTER_API_KEY in \/srv\/app\/\.env — replaced its line; its mode is now 600 \(it was 644: it holds a live secret, so other users may not read it\) \(backup: \/srv\/deploy-backups\/rotation-rot-1\/app\.env\.[0-9a-f]{16}\.keyward-backup\)$/,
    );
    expect(container.querySelector(".spinner")).not.toBeNull();
  });

  it("waiting for drain: says what it waits for in words, and confirming drained is asked first", async () => {
    const fake = rotationFake();
    const view = fake.rotation.replayTo("confirm_drained", (v) => v.status === "waiting");
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const d = within(dialog);
    expect(await d.findByText(
      `Waiting for the old key's usage to stay still for 15 min — quiet since ${stepTime(view.drain!.quiet_since)}; last used never, $0.00`,
    )).toBeInTheDocument();
    expect(dialog).toHaveTextContent("About 15 min to go if it stays quiet");
    expect(d.getByText("waiting", { selector: ".badge" })).toBeInTheDocument();
    // Deleting at once: the core offers no "delete now" while draining.
    expect(d.getAllByRole("button").map((b) => b.textContent?.trim())).toEqual(
      ["✕", "Old key is no longer used", "Roll back…", "Abandon…", "Run in background"],
    );
    await user.click(d.getByRole("button", { name: "Old key is no longer used" }));
    const confirm = d.getByRole("group", { name: "Is prod-api really no longer used?" });
    expect(confirm).toHaveTextContent("Old key prod-api: disabled now");
    expect(within(confirm).getByRole("button", { name: "Yes, disable the old key" })).toHaveFocus();
    expect(fake.calls.some((c) => c.cmd === "rotation_action")).toBe(false);
    await user.click(within(confirm).getByRole("button", { name: "Yes, disable the old key" }));
    await waitFor(() => expect(stepItem(/Disable the old key/)).toHaveAttribute("aria-current", "step"));
    expect(fake.calls.filter((c) => c.cmd === "rotation_action").map((c) => c.args)).toEqual([{ id: view.id, action: "confirm_drained" }]);
  });

  it("failed deploy: ✗ per target with its message, advice in words, retry or roll back (confirmed)", async () => {
    const fake = withPolicy();
    fake.rotation.scenario = "deploy_fails";
    const view = fake.rotation.start("p1", "old-hash", false);
    fake.rotation.runToStop(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const dialog = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const d = within(dialog);
    await d.findByText("needs attention", { selector: ".badge" });
    const outcomes = within(d.getByRole("list", { name: "Deploy targets" })).getAllByRole("listitem");
    expect(outcomes[0]).toHaveTextContent("succeeded: OPENROUTER_API_KEY in /srv/app/.env — replaced its line");
    expect(outcomes[1]).toHaveTextContent("failed: OPENROUTER_API_KEY in /srv/worker/.env — Did not change /srv/worker/.env: the directory /srv/worker does not exist");
    expect(d.getByRole("alert")).toHaveTextContent("Deploying the new secret failed");
    expect(d.getByRole("alert")).toHaveTextContent("deploying failed for .env file /srv/worker/.env (OPENROUTER_API_KEY)");
    expect(dialog).toHaveTextContent("its secret is safe in the OS keychain. Fix the targets marked ✗");
    expect(d.getAllByRole("button").map((b) => b.textContent?.trim())).toEqual(["✕", "Retry", "Roll back…", "Abandon…", "Run in background"]);

    // Roll back says what happens to each key; the secret already reached /srv/app/.env, so the new key stays.
    await user.click(d.getByRole("button", { name: "Roll back…" }));
    const confirm = d.getByRole("group", { name: "Roll back this rotation?" });
    expect(confirm).toHaveTextContent(/New key prod-api · rotated .*: kept, because its secret already went to a deploy target/);
    expect(confirm).toHaveTextContent("Old key prod-api: stays active, unchanged.");
    await user.click(within(confirm).getByRole("button", { name: "Cancel" }));
    expect(d.getByRole("button", { name: "Roll back…" })).toHaveFocus();

    await user.click(d.getByRole("button", { name: "Retry" }));
    fake.rotation.advance(view.id);
    await waitFor(() => expect(stepItem(/Deploy the new secret/)).toHaveAttribute("aria-current", "step"));
    expect(d.getByText("running", { selector: ".badge" })).toBeInTheDocument();
    expect(stepItem(/Deploy the new secret/)).toHaveTextContent("(attempt 2)");
    // While a step runs the core offers resume, roll back and abandon.
    expect(d.getAllByRole("button").map((b) => b.textContent?.trim())).toEqual(["✕", "Resume", "Roll back…", "Abandon…", "Run in background"]);
    fake.rotation.advanceUntil(view.id, (v) => v.current_step === "verify");
    await waitFor(() => expect(stepItem(/Verify the new key/)).toHaveAttribute("aria-current", "step"));
    expect(d.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("no deploy targets: waits for the person, offers the new secret, and a roll back deletes the unused key", async () => {
    const fake = withPolicy();
    fake.rotation.setPolicy({ ...fake.rotation.policy("p1", "old-hash"), targets: [] });
    const view = fake.rotation.start("p1", "old-hash", false);
    fake.rotation.runToStop(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    expect(await d.findByText("Put the new secret where prod-api is used, then continue.")).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Copy the new secret" }));
    expect(await d.findByText("Copied — clipboard clears in 30 s")).toBeInTheDocument();
    expect(fake.calls.filter((c) => c.cmd === "secret_copy").map((c) => c.args)).toEqual([{ profile_id: "p1", key_hash: fake.rotation.view(view.id).new_key_hash }]);
    expect(d.getByRole("button", { name: "The new secret is in place — continue" })).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Roll back…" }));
    expect(d.getByRole("group", { name: "Roll back this rotation?" })).toHaveTextContent("deleted on OpenRouter, and its secret removed from the OS keychain (it was never deployed anywhere)");
    await user.click(d.getByRole("button", { name: "Yes, roll back" }));
    await waitFor(() => expect(fake.calls.filter((c) => c.cmd === "rotation_action").map((c) => c.args)).toEqual([{ id: view.id, action: "roll_back" }]));
    fake.rotation.runToStop(view.id);
    expect(await d.findByText("Rolled back — prod-api stays in use.")).toBeInTheDocument();
    expect(fake.keys.p1.map((k) => k.name)).toEqual(["prod-api"]);
    expect(d.getByText("Close", { selector: "footer button" })).toBeInTheDocument();
  });

  it("a failed verify says so in words; after the person's fix, Retry goes on to the drain", async () => {
    const fake = withPolicy();
    fake.rotation.scenario = "verify_fails";
    const view = fake.rotation.start("p1", "old-hash", false);
    fake.rotation.runToStop(view.id);
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    expect(await d.findByRole("alert")).toHaveTextContent("The new key did not pass its check");
    expect(d.getByRole("alert")).toHaveTextContent("OpenRouter answered with HTTP 500: Internal Server Error");
    expect(d.getByText(/OpenRouter did not accept the new key yet/)).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Retry" }));
    fake.rotation.runToStop(view.id);
    expect(await d.findByText(/Waiting for the old key's usage to stay still for 15 min/)).toBeInTheDocument();
    expect(d.getAllByRole("button").map((b) => b.textContent?.trim())).toEqual(
      ["✕", "Old key is no longer used", "Roll back…", "Delete the old key now", "Abandon…", "Run in background"],
    );
  });

  it("grace period: when the old key will be deleted, and delete now is confirmed", async () => {
    const fake = rotationFake();
    const view = fake.rotation.replayTo("delete_now", (v) => v.status === "waiting");
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose: vi.fn() });
    const d = within(await screen.findByRole("dialog", { name: "Rotating prod-api" }));
    // The recorded grace period is 1 h, counted from the replay's start.
    expect(await d.findByText(/^prod-api is disabled; Keyward deletes it in (60|59) min\.$/)).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Delete the old key now" }));
    expect(d.getByRole("group", { name: "Delete prod-api now?" })).toHaveTextContent("This cannot be undone.");
    await user.keyboard("{Enter}");
    await waitFor(() => expect(fake.calls.filter((c) => c.cmd === "rotation_action").map((c) => c.args)).toEqual([{ id: view.id, action: "delete_now" }]));
    fake.rotation.runToStop(view.id);
    expect(await d.findByText(/Done — prod-api · rotated .* replaced prod-api\./)).toBeInTheDocument();
  });

  it("completed: every step ✓, full progress, nothing left to do but close", async () => {
    const fake = rotationFake();
    const view = fake.rotation.replayTo("happy", (v) => v.status === "completed");
    const onclose = vi.fn();
    const { user } = await renderOver(fake, RotationWizard, { profileId: "p1", rotationId: view.id, onclose });
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
