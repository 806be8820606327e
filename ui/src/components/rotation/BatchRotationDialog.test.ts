import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { makeKey } from "../../test/fakeBackend";
import { rotationFake, renderOver } from "../../test/rotation";
import BatchRotationDialog from "./BatchRotationDialog.svelte";

function fleet() {
  const fake = rotationFake([
    makeKey({ name: "prod-api", hash: "h1" }),
    makeKey({ name: "prod-worker", hash: "h2" }),
    makeKey({ name: "prod-old", hash: "h3", disabled: true, status: "disabled" }),
    makeKey({ name: "staging-api", hash: "h4" }),
    makeKey({ name: "preprod-api", hash: "h5" }),
  ]);
  fake.rotation.setPolicy({ ...fake.rotation.policy("p1", "h2"), targets: [{ kind: "env_file", path: "/srv/worker/.env", variable: "KEY" }] });
  // prod-worker's deploy fails as the core's did (test/fixtures/rotation-replays.json); the others have no targets.
  fake.rotation.scenario = (key) => (key.name === "prod-worker" ? "deploy_fails" : null);
  return fake;
}

async function open(fake = fleet()) {
  const onopen = vi.fn();
  const r = await renderOver(fake, BatchRotationDialog, { profileId: "p1", keys: fake.keys.p1, onclose: vi.fn(), onopen });
  return { ...r, onopen };
}

describe("batch rotation", () => {
  it("previews the keys a pattern matches, confirms, then shows per-key progress and results", async () => {
    const { user, fake, onopen } = await open();
    const dialog = screen.getByRole("dialog", { name: "Rotate several keys" });
    const d = within(dialog);
    expect(d.getByLabelText("Key names matching")).toHaveFocus();
    await user.type(d.getByLabelText("Key names matching"), "prod-*");
    // The core says which keys match (rotation_batch_plan); disabled ones are shown as left out.
    await waitFor(() => expect(d.getByRole("status")).toHaveTextContent("2 of 3 matching keys will be rotated"));
    expect(fake.calls.filter((c) => c.cmd === "rotation_batch_plan").at(-1)?.args).toEqual({ profile_id: "p1", name_pattern: "prod-*" });
    const preview = within(d.getByRole("list", { name: "Matching keys" })).getAllByRole("listitem");
    expect(preview.map((li) => li.querySelector(".name")?.textContent)).toEqual(["prod-api", "prod-worker", "prod-old"]);
    expect(preview[2]).toHaveTextContent("(disabled — not rotated)");
    await user.keyboard("{Enter}");

    const confirm = screen.getByRole("dialog", { name: "Rotate 2 keys?" });
    expect(within(confirm).getAllByRole("listitem").map((li) => li.querySelector(".name")?.textContent)).toEqual(["prod-api", "prod-worker"]);
    expect(confirm).toHaveTextContent("Not rotated: 1 (prod-old)");
    expect(within(confirm).getByRole("button", { name: "Rotate 2 keys" })).toHaveFocus();
    expect(fake.calls.some((c) => c.cmd === "rotation_start_batch")).toBe(false);
    await user.keyboard("{Enter}");

    const progress = await screen.findByRole("dialog", { name: "Rotating keys" });
    const p = within(progress);
    expect(fake.calls.filter((c) => c.cmd === "rotation_start_batch").map((c) => c.args)).toEqual([{ profile_id: "p1", name_pattern: "prod-*" }]);
    expect(p.getByRole("status")).toHaveTextContent("0 completed · 0 waiting · 0 failed · 2 running");
    const [first, second] = [...fake.rotation.rotations.keys()];
    // One waits for the person (no deploy targets), the other fails to deploy.
    fake.rotation.runToStop(first);
    fake.rotation.runToStop(second);
    await waitFor(() => expect(p.getByRole("status")).toHaveTextContent("0 completed · 1 waiting · 1 failed · 0 running"));
    expect(p.getByRole("progressbar", { name: "Rotations settled" })).toHaveAttribute("aria-valuenow", "100");
    const rows = within(p.getByRole("table")).getAllByRole("row").slice(1);
    expect(rows[0]).toHaveTextContent("prod-api");
    expect(rows[0]).toHaveTextContent("waiting for you to put the new secret in place (no deploy targets)");
    expect(rows[1]).toHaveTextContent("prod-worker");
    expect(rows[1]).toHaveTextContent("Deploy the new secret failed: Invalid targets: deploying failed for .env file /srv/worker/.env");
    await user.click(p.getByRole("button", { name: "Open the rotation of prod-worker" }));
    expect(onopen).toHaveBeenCalledWith(second);
  });

  it("says when nothing matches, and Back keeps the pattern", async () => {
    const { user } = await open();
    const d = within(screen.getByRole("dialog", { name: "Rotate several keys" }));
    await user.type(d.getByLabelText("Key names matching"), "qa-*");
    await waitFor(() => expect(d.getByRole("status")).toHaveTextContent("No key matches."));
    await user.click(d.getByRole("button", { name: /Review/ }));
    expect(d.getByText("No key to rotate matches this pattern")).toBeInTheDocument();
    await user.clear(d.getByLabelText("Key names matching"));
    await user.type(d.getByLabelText("Key names matching"), "*-api");
    await waitFor(() => expect(d.getByRole("status")).toHaveTextContent("3 of 3 matching keys will be rotated"));
    await user.click(d.getByRole("button", { name: "Review 3 keys…" }));
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(screen.getByLabelText("Key names matching")).toHaveValue("*-api");
    expect(screen.getByLabelText("Key names matching")).toHaveFocus();
  });

  it("shows a refused batch in words and stays on the confirmation", async () => {
    const fake = fleet();
    fake.failures.set("rotation_start_batch", [{ kind: "rate_limited", message: "Rate limited — retry after 30 s (Rate limit exceeded)", field: null, retry_after_ms: 30000 }]);
    const { user } = await open(fake);
    await user.type(screen.getByLabelText("Key names matching"), "prod-api{Enter}");
    await user.click(screen.getByRole("button", { name: "Rotate 1 key" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Rate limited — retry after 30 s (Rate limit exceeded)");
    expect(screen.getByRole("dialog", { name: "Rotate 1 key?" })).toBeInTheDocument();
  });
});
