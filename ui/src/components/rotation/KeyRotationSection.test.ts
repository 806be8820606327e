import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../../test/fakeBackend";
import { dataRows, renderApp } from "../../test/render";
import { rotationFake, renderOver } from "../../test/rotation";
import KeyRotationSection from "./KeyRotationSection.svelte";

describe("rotation in the key details", () => {
  it("summarises the policy, lists past rotations, and starts a rotation from Rotate…", async () => {
    const fake = rotationFake();
    fake.rotation.setPolicy({
      profile_id: "p1", key_hash: "old-hash", every_days: 30, before_expiry_days: 7, auto_rotate: true,
      targets: [{ kind: "env_file", path: "/srv/app/.env", variable: "OPENROUTER_API_KEY" }, { kind: "clipboard" }],
      quiet_period_secs: 900, grace_period_secs: 0, new_expiry: "keep_lifetime", keep_new_secret: false,
    });
    // An earlier rotation made this key.
    fake.rotation.replayTo("happy", (v) => v.status === "completed", { oldHash: "older-hash", oldName: "prod-api (2025)", newHash: "old-hash" });
    const { user } = await renderOver(fake, KeyRotationSection, { profileId: "p1", keyRow: fake.keys.p1[0] });
    const section = screen.getByRole("region", { name: "Rotation" });
    const s = within(section);
    expect(await s.findByText("every 30 days and 7 days before expiry")).toBeInTheDocument();
    expect(s.getByText("on — rotates by itself when due")).toBeInTheDocument();
    expect(s.getByText("OPENROUTER_API_KEY in /srv/app/.env")).toBeInTheDocument();
    expect(s.getByText("the clipboard (cleared after 30 s)")).toBeInTheDocument();
    expect(section).toHaveTextContent("disabled after 15 min without use, deleted at once");
    const history = await s.findByRole("list", { name: "Rotation history" });
    expect(history).toHaveTextContent("completed");
    expect(history).toHaveTextContent("from prod-api (2025)");
    await user.click(within(history).getByRole("button", { name: /^Details of the rotation of/ }));
    const past = await screen.findByRole("dialog", { name: "Rotation of prod-api (2025)" });
    expect(within(past).getByText("completed", { selector: ".badge" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());

    await user.click(s.getByRole("button", { name: "Rotate…" }));
    const wizard = await screen.findByRole("dialog", { name: "Rotate prod-api?" });
    expect(within(wizard).getByText("Deploy it to:", { exact: false })).toBeInTheDocument();
    await user.click(within(wizard).getByRole("button", { name: "Start rotation" }));
    await screen.findByRole("dialog", { name: "Rotating prod-api" });
    await user.keyboard("{Escape}");
    // The core's first view has every step pending; the next one runs "create".
    fake.rotation.advance([...fake.rotation.rotations.keys()].at(-1)!);
    // The rotation under way shows on the key, with a way back into its wizard.
    expect(await s.findByText("Rotation running")).toBeInTheDocument();
    expect(section).toHaveTextContent("Create the new key");
    await user.click(s.getByRole("button", { name: "Open rotation" }));
    expect(await screen.findByRole("dialog", { name: "Rotating prod-api" })).toBeInTheDocument();
  });

  it("a stopped rotation says why on the key; the policy dialog opens from here and the summary follows a save", async () => {
    const fake = rotationFake();
    fake.rotation.scenario = "deploy_fails";
    fake.rotation.runToStop(fake.rotation.start("p1", "old-hash", false).id);
    // The rotation's new key joined the list first; this is the old one's section.
    const keyRow = fake.keys.p1.find((k) => k.hash === "old-hash")!;
    const { user } = await renderOver(fake, KeyRotationSection, { profileId: "p1", keyRow });
    const s = within(screen.getByRole("region", { name: "Rotation" }));
    expect(await s.findByText("Rotation needs attention")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Rotation" })).toHaveTextContent("Deploy the new secret: Invalid targets: deploying failed for .env file /srv/worker/.env (OPENROUTER_API_KEY)");
    expect(await s.findByText("no schedule (by hand only)")).toBeInTheDocument();
    await user.click(s.getByRole("button", { name: "Rotation policy…" }));
    const dialog = await screen.findByRole("dialog", { name: "Rotation policy — prod-api" });
    await user.click(await within(dialog).findByRole("button", { name: "+ Clipboard" }));
    await user.click(within(dialog).getByRole("button", { name: "Save policy" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(s.getByText("the clipboard (cleared after 30 s)")).toBeInTheDocument();
  });
});

describe("rotations across the app", () => {
  it("counts rotations under way in the header, marks their keys, and opens them from the Rotations panel", async () => {
    const fake = rotationFake([makeKey({ name: "prod-api", hash: "old-hash" }), makeKey({ name: "prod-worker", hash: "w-hash" })]);
    const { user, container } = renderApp(fake);
    await screen.findByText("prod-worker");
    expect(screen.getByRole("button", { name: "Rotations: 0" })).toBeInTheDocument();
    // A rotation started elsewhere (auto-rotate) arrives as an event; its deploy will fail.
    fake.rotation.scenario = "deploy_fails";
    const started = fake.rotation.start("p1", "old-hash", false);
    expect(await screen.findByRole("button", { name: "Rotations: 1" })).toBeInTheDocument();
    // The core's first view has every step pending; the next one runs "create".
    fake.rotation.advance(started.id);
    const row = dataRows(container).find((r) => r.dataset.hash === "old-hash")!;
    expect(within(row).getByText("rotating")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Rotations: 1" }));
    const panel = await screen.findByRole("dialog", { name: "Rotations" });
    expect(within(panel).getByText("Create the new key")).toBeInTheDocument();
    await user.click(within(panel).getByRole("button", { name: "Open the rotation of prod-api" }));
    const wizard = await screen.findByRole("dialog", { name: "Rotating prod-api" });
    const id = [...fake.rotation.rotations.keys()][0];
    fake.rotation.advanceUntil(id, (v) => v.current_step === "store_secret");
    await waitFor(() => expect(within(wizard).getByRole("progressbar", { name: "Steps done" })).toHaveAttribute("aria-valuetext", "1 of 9 steps done"));
    await user.keyboard("{Escape}");
    await user.click(within(panel).getByRole("button", { name: "Rotate several keys…" }));
    expect(await screen.findByRole("dialog", { name: "Rotate several keys" })).toBeInTheDocument();
    // A rotation that stops on an error while nobody watches it says so in a notice.
    fake.rotation.runToStop(id);
    expect(await screen.findByText(/^Rotation of prod-api stopped: Invalid targets: deploying failed for .env file \/srv\/worker\/.env/)).toBeInTheDocument();
  });
});
