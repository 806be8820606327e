import { screen, waitFor, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import { appError } from "../../test/fakeBackend";
import { oneProfile, renderApp } from "../../test/render";
import { checkForUpdates, closeUpdates } from "../../lib/updates.svelte";

const available = {
  status: "available" as const,
  version: "0.2.0",
  current_version: "0.1.0",
  date: "2026-12-01T12:00:00Z",
  notes: "Faster start.\nSigned updates.",
};

async function openDialog(setup: (fake: ReturnType<typeof oneProfile>) => void = () => {}) {
  const fake = oneProfile([]);
  setup(fake);
  const rendered = renderApp(fake);
  await screen.findByRole("heading", { name: "No keys yet" });
  checkForUpdates();
  const dialog = await screen.findByRole("dialog", { name: "Software update" });
  return { ...rendered, fake, dialog };
}

describe("software update", () => {
  beforeEach(() => closeUpdates());

  it("says when Keyward is up to date and installs nothing", async () => {
    const { fake, dialog, user } = await openDialog();
    expect(await within(dialog).findByText("Keyward 0.1.0 is up to date.")).toBeInTheDocument();
    expect(fake.callsOf("update_check")).toHaveLength(1);
    await user.click(within(dialog).getAllByRole("button", { name: "Close" }).at(-1)!);
    expect(screen.queryByRole("dialog", { name: "Software update" })).toBeNull();
    expect(fake.callsOf("update_install")).toHaveLength(0);
  });

  it("shows the current and the new version with the notes; Later installs nothing", async () => {
    const { fake, dialog, user } = await openDialog((f) => (f.updates.check = available));
    const versions = await within(dialog).findByLabelText("Versions");
    expect(versions).toHaveTextContent("Keyward 0.2.0 is available — you have 0.1.0.");
    expect(within(dialog).getByLabelText("Release notes")).toHaveTextContent("Faster start. Signed updates.");
    await user.click(within(dialog).getByRole("button", { name: "Later" }));
    expect(screen.queryByRole("dialog", { name: "Software update" })).toBeNull();
    expect(fake.callsOf("update_install")).toHaveLength(0);
  });

  it("installs only the version the person agreed to, with download progress", async () => {
    const { fake, dialog, user } = await openDialog((f) => {
      f.updates.check = available;
      f.updates.holdInstall = true;
    });
    await user.click(await within(dialog).findByRole("button", { name: "Install and restart" }));
    const bar = await within(dialog).findByRole("progressbar", { name: "Download progress" });
    await waitFor(() => expect(bar).toHaveAttribute("aria-valuenow", "100"));
    expect(within(dialog).getByText(/Downloaded 2\.0 MiB of 2\.0 MiB/)).toBeInTheDocument();
    // Busy: Esc does not close it and there is no "Later" while it installs.
    await user.keyboard("{Escape}");
    expect(screen.getByRole("dialog", { name: "Software update" })).toBeInTheDocument();
    expect(within(dialog).queryByRole("button", { name: "Later" })).toBeNull();
    fake.updates.finishInstall();
    await waitFor(() => expect(fake.updates.installed).toEqual(["0.2.0"]));
    expect(fake.callsOf("update_install")).toEqual([{ version: "0.2.0" }]);
  });

  it("a running rotation holds the install back, and it can be tried again", async () => {
    const { fake, dialog, user } = await openDialog((f) => {
      f.updates.check = available;
      f.updates.installError = appError("update_blocked", 'A key rotation is running ("prod-api"): the update is not installed while a rotation is under way. Try again once it has finished or is waiting.');
    });
    await user.click(await within(dialog).findByRole("button", { name: "Install and restart" }));
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("Not installed yet");
    expect(alert).toHaveTextContent('A key rotation is running ("prod-api")');
    expect(fake.updates.installed).toEqual([]);
    fake.updates.installError = null;
    await user.click(within(dialog).getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(fake.updates.installed).toEqual(["0.2.0"]));
  });

  it("a download whose signature does not match is reported, nothing installed", async () => {
    const { fake, dialog, user } = await openDialog((f) => {
      f.updates.check = available;
      f.updates.installError = appError("update", "The downloaded update does not match its signature by Keyward's release key (signature mismatch): it was changed or not made by Keyward's maintainers, so nothing was installed");
    });
    await user.click(await within(dialog).findByRole("button", { name: "Install and restart" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("does not match its signature");
    expect(fake.updates.installed).toEqual([]);
  });

  it("a failed check says why and can be tried again", async () => {
    const { fake, dialog, user } = await openDialog((f) =>
      f.failNext("update_check", appError("update", "Could not download the update manifest from github.com: connection refused")),
    );
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("Could not download the update manifest");
    fake.updates.check = available;
    await user.click(within(dialog).getByRole("button", { name: "Try again" }));
    expect(await within(dialog).findByLabelText("Versions")).toHaveTextContent("0.2.0");
  });

  it("opens from the tray: by event, or when the tray asked before the page listened", async () => {
    const fake = oneProfile([]);
    fake.updates.tray = true;
    const { emit } = renderApp(fake);
    expect(await screen.findByRole("dialog", { name: "Software update" })).toBeInTheDocument();
    closeUpdates();
    await waitFor(() => expect(screen.queryByRole("dialog", { name: "Software update" })).toBeNull());
    await emit("update-check-open", {});
    expect(await screen.findByRole("dialog", { name: "Software update" })).toBeInTheDocument();
    expect(fake.callsOf("update_check").length).toBeGreaterThanOrEqual(2);
  });
});
