import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import type { RotationPolicy } from "../../lib/rotation-types";
import { rotationFake, renderOver } from "../../test/rotation";
import RotationPolicyDialog from "./RotationPolicyDialog.svelte";

async function open(fake = rotationFake()) {
  const onsaved = vi.fn();
  const onclose = vi.fn();
  const r = await renderOver(fake, RotationPolicyDialog, { profileId: "p1", keyRow: fake.keys.p1[0], onclose, onsaved });
  const dialog = await screen.findByRole("dialog", { name: "Rotation policy — prod-api" });
  await within(dialog).findByText("Deploy the new secret to");
  return { ...r, dialog, d: within(dialog), onsaved, onclose };
}

const sets = (fake: ReturnType<typeof rotationFake>) => fake.calls.filter((c) => c.cmd === "rotation_policy_set").map((c) => c.args as RotationPolicy);

describe("rotation policy editor", () => {
  it("edits targets (add, reorder, remove) and every setting, and saves exactly that", async () => {
    const { user, d, fake, onsaved, onclose } = await open();
    expect(d.getByText(/No targets/)).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "+ .env file" }));
    expect(d.getByLabelText(".env file path")).toHaveFocus();
    await user.type(d.getByLabelText(".env file path"), "/srv/app/.env");
    await user.click(d.getByRole("button", { name: "+ Clipboard" }));
    await user.click(d.getByRole("button", { name: "+ Command" }));
    await user.type(d.getByLabelText("Program"), "/usr/local/bin/reload");
    await user.type(d.getByLabelText("Arguments (one per line)"), "--service{Enter}api");
    await user.clear(d.getByLabelText("Secret in variable"));
    await user.type(d.getByLabelText("Secret in variable"), "API_KEY");
    await user.click(d.getByRole("button", { name: "+ OS keychain entry" }));
    await user.type(d.getByLabelText("Service"), "my-app");
    await user.type(d.getByLabelText("Account"), "prod");
    // Keyboard reorder: the command (3rd) goes to the top; focus stays on the moved target's button.
    await user.click(d.getByRole("button", { name: "Move target 3 up" }));
    expect(d.getByRole("button", { name: "Move target 2 up" })).toHaveFocus();
    await user.keyboard("{Enter}");
    expect(d.getByRole("button", { name: "Move target 1 down" })).toHaveFocus();
    expect(d.getAllByRole("listitem").map((li) => li.getAttribute("aria-label"))).toEqual([
      "Target 1: Command", "Target 2: .env file", "Target 3: Clipboard", "Target 4: OS keychain entry",
    ]);
    await user.click(d.getByRole("button", { name: "Remove target 3 (Clipboard)" }));
    expect(d.getAllByRole("listitem")).toHaveLength(3);

    await user.click(d.getByLabelText("Rotate every"));
    await user.clear(d.getByLabelText("Rotate every how many days"));
    await user.type(d.getByLabelText("Rotate every how many days"), "30");
    await user.click(d.getByLabelText(/Rotate by itself when due/));
    await user.clear(d.getByLabelText("Disable it once its usage has stayed still for"));
    await user.type(d.getByLabelText("Disable it once its usage has stayed still for"), "20");
    await user.clear(d.getByLabelText("Delete it"));
    await user.type(d.getByLabelText("Delete it"), "48");
    await user.click(d.getByLabelText("after"));
    await user.clear(d.getByLabelText("New key expires after how many days"));
    await user.type(d.getByLabelText("New key expires after how many days"), "60");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(onclose).toHaveBeenCalled());
    const expected: RotationPolicy = {
      profile_id: "p1", key_hash: "old-hash", every_days: 30, before_expiry_days: null, auto_rotate: true,
      targets: [
        { kind: "command", program: "/usr/local/bin/reload", args: ["--service", "api"], env_var: "API_KEY", working_dir: null },
        { kind: "env_file", path: "/srv/app/.env", variable: "OPENROUTER_API_KEY" },
        { kind: "keychain", service: "my-app", account: "prod" },
      ],
      quiet_period_secs: 1200, grace_period_secs: 172800, new_expiry: { days: 60 }, keep_new_secret: false,
    };
    expect(sets(fake)).toEqual([expected]);
    expect(onsaved).toHaveBeenCalledWith(expected);
  }, 20_000);

  it("offers the 'keyward run' target, which saves as such and reloads with its explanation", async () => {
    const { user, d, fake, onclose } = await open();
    await user.click(d.getByRole("button", { name: "+ keyward run" }));
    expect(d.getAllByRole("listitem").map((li) => li.getAttribute("aria-label"))).toEqual(["Target 1: keyward run"]);
    expect(d.getByText(/keyward-cli run --key NAME -- COMMAND/)).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(onclose).toHaveBeenCalled());
    expect(sets(fake)[0].targets).toEqual([{ kind: "keyward_run" }]);
  });

  it("loads a saved 'keyward run' target", async () => {
    const fake = rotationFake();
    fake.rotation.setPolicy({
      profile_id: "p1", key_hash: "old-hash", every_days: 30, before_expiry_days: null, auto_rotate: false,
      targets: [{ kind: "keyward_run" }], quiet_period_secs: 600, grace_period_secs: 7200, new_expiry: "none", keep_new_secret: false,
    });
    const { d } = await open(fake);
    expect(d.getAllByRole("listitem").map((li) => li.getAttribute("aria-label"))).toEqual(["Target 1: keyward run"]);
    expect(d.getByText(/keyward-cli run --key NAME -- COMMAND/)).toBeInTheDocument();
  });

  it("loads the saved policy; 'delete at once' sends a zero grace period", async () => {
    const fake = rotationFake();
    fake.rotation.setPolicy({
      profile_id: "p1", key_hash: "old-hash", every_days: null, before_expiry_days: 7, auto_rotate: false,
      targets: [{ kind: "clipboard" }], quiet_period_secs: 600, grace_period_secs: 7200, new_expiry: "none", keep_new_secret: false,
    });
    const { user, d } = await open(fake);
    expect(d.getByLabelText("Rotate how many days before expiry")).toHaveValue("7");
    expect(d.getByLabelText("Disable it once its usage has stayed still for")).toHaveValue("10");
    expect(d.getByLabelText("Delete it")).toHaveValue("2");
    expect(d.getByLabelText("never")).toBeChecked();
    await user.click(d.getByLabelText("or delete at once"));
    expect(d.getByLabelText("Delete it")).toBeDisabled();
    await user.click(d.getByLabelText("Keep the new secret in the OS keychain after the rotation"));
    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(sets(fake)).toHaveLength(1));
    expect(sets(fake)[0]).toMatchObject({ grace_period_secs: 0, targets: [{ kind: "clipboard" }], new_expiry: "none", before_expiry_days: 7, keep_new_secret: true });
  });

  it("shows every mistake under its field at once (the core's rules, and text that is no number), focuses the first, and sends nothing", async () => {
    const { user, d, fake } = await open();
    await user.click(d.getByRole("button", { name: "+ .env file" }));
    await user.type(d.getByLabelText(".env file path"), "/srv/app/.env");
    await user.clear(d.getByLabelText("Variable"));
    await user.type(d.getByLabelText("Variable"), "1BAD-NAME");
    await user.click(d.getByRole("button", { name: "+ OS keychain entry" }));
    await user.click(d.getByLabelText("Rotate every"));
    await user.clear(d.getByLabelText("Rotate every how many days"));
    await user.type(d.getByLabelText("Rotate every how many days"), "0");
    await user.clear(d.getByLabelText("Disable it once its usage has stayed still for"));
    await user.type(d.getByLabelText("Disable it once its usage has stayed still for"), "soon");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    // Text that is no number is caught here; nothing is judged or sent until every number parses.
    expect(await d.findByText("Quiet period must be a whole number of minutes")).toBeInTheDocument();
    expect(fake.calls.filter((c) => c.cmd === "rotation_policy_validate")).toEqual([]);
    await user.clear(d.getByLabelText("Disable it once its usage has stayed still for"));
    await user.type(d.getByLabelText("Disable it once its usage has stayed still for"), "15");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    // The core's verdict, every field at once, each under its field.
    expect(await d.findByText(/^Variable "1BAD-NAME" is not a valid variable name/)).toBeInTheDocument();
    expect(d.getByText("Service must not be empty")).toBeInTheDocument();
    expect(d.getByText("Days must be at least 1 day")).toBeInTheDocument();
    expect(d.queryByText(/^Quiet period/)).not.toBeInTheDocument();
    expect(d.getByLabelText("Variable")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(d.getByLabelText("Variable")).toHaveFocus());
    expect(sets(fake)).toEqual([]);
    // The keychain target's account is judged once its service is set (the core names one field per target).
    await user.type(d.getByLabelText("Service"), "my-app");
    expect(await d.findByText("Account must not be empty")).toBeInTheDocument();
  });

  it("auto-rotate needs a target, then a schedule", async () => {
    const { user, d, fake } = await open();
    await user.click(d.getByLabelText(/Rotate by itself when due/));
    await user.click(d.getByRole("button", { name: "Save policy" }));
    expect(await d.findByText(/^Auto-rotate needs at least one deploy target/)).toBeInTheDocument();
    await waitFor(() => expect(d.getByLabelText(/Rotate by itself when due/)).toHaveFocus());
    await user.click(d.getByRole("button", { name: "+ Clipboard" }));
    expect(await d.findByText("Auto-rotate needs a schedule: set every_days or before_expiry_days")).toBeInTheDocument();
    expect(sets(fake)).toEqual([]);
  });

  it("puts the shell's verdict (AppError with field) under the right target's field", async () => {
    const { user, d, fake, onclose } = await open();
    await user.click(d.getByRole("button", { name: "+ Clipboard" }));
    await user.click(d.getByRole("button", { name: "+ .env file" }));
    await user.type(d.getByLabelText(".env file path"), "relative/.env");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    // The core's verdict: targets[1].path must be absolute.
    expect(await d.findByText(/^Path "relative\/\.env" is relative; give the full path/)).toBeInTheDocument();
    expect(d.getByLabelText(".env file path")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(d.getByLabelText(".env file path")).toHaveFocus());
    expect(onclose).not.toHaveBeenCalled();
    // The shell's spelling "targets.1.path" lands in the same place.
    fake.failures.set("rotation_policy_set", [{ kind: "invalid_input", message: "is not writable", field: "targets.1.path", retry_after_ms: null }]);
    await user.clear(d.getByLabelText(".env file path"));
    await user.type(d.getByLabelText(".env file path"), "/etc/.env");
    await waitFor(() => expect(d.queryByText(/is relative/)).not.toBeInTheDocument());
    await user.keyboard("{Enter}");
    expect(await d.findByText("Path is not writable")).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(onclose).toHaveBeenCalled());
  });

  it("a command target needs an absolute program and the person's approval in Keyward's own dialog: refused is shown under Program and nothing is saved", async () => {
    const fake = rotationFake();
    fake.rotation.commandApproval = "refuse";
    const { user, d, onclose, onsaved } = await open(fake);
    await user.click(d.getByRole("button", { name: "+ Command" }));
    expect(d.getByText(/Saving asks you to approve exactly this command/)).toBeInTheDocument();
    await user.type(d.getByLabelText("Program"), "reload");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    // No PATH lookup: the core's rule, under the field.
    expect(await d.findByText(/^Program must be an absolute path/)).toBeInTheDocument();
    expect(fake.rotation.approvalsAsked).toEqual([]);
    await user.clear(d.getByLabelText("Program"));
    await user.type(d.getByLabelText("Program"), "/usr/local/bin/reload");
    await user.click(d.getByRole("button", { name: "Save policy" }));
    // The dialog (the shell's, not this window's) was refused: said under Program, nothing stored.
    expect(await d.findByText(/^Program was not approved: running "\/usr\/local\/bin\/reload" was refused/)).toBeInTheDocument();
    expect(d.getByLabelText("Program")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(d.getByLabelText("Program")).toHaveFocus());
    expect(fake.rotation.approvalsAsked).toEqual([
      { kind: "command", program: "/usr/local/bin/reload", args: [], env_var: "OPENROUTER_API_KEY", working_dir: null },
    ]);
    expect(fake.rotation.policy("p1", "old-hash").targets).toEqual([]);
    expect(onclose).not.toHaveBeenCalled();
    // Approved this time: saved.
    fake.rotation.commandApproval = "approve";
    await user.click(d.getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(onclose).toHaveBeenCalled());
    expect(onsaved).toHaveBeenCalled();
    expect(fake.rotation.policy("p1", "old-hash").targets).toMatchObject([{ kind: "command", program: "/usr/local/bin/reload" }]);
  });

  it("an error without a field shows as a callout; Esc cancels", async () => {
    const fake = rotationFake();
    fake.failures.set("rotation_policy_set", [{ kind: "store", message: "Keyward's local data failed: disk full", field: null, retry_after_ms: null }]);
    const { user, d, onclose } = await open(fake);
    await user.click(d.getByRole("button", { name: "Save policy" }));
    expect(await d.findByRole("alert")).toHaveTextContent("Keyward's local data failed: disk full");
    await user.keyboard("{Escape}");
    expect(onclose).toHaveBeenCalled();
  });
});
