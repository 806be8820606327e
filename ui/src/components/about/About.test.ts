import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { oneProfile, renderApp } from "../../test/render";

describe("About Keyward", () => {
  it("opens from the header's info button and shows versions, links and the bundled libraries", async () => {
    const fake = oneProfile([]);
    const { user } = renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    const button = screen.getByRole("button", { name: "About Keyward" });
    expect(button).toHaveAttribute("title", expect.stringContaining("About Keyward"));
    await user.click(button);
    const dialog = screen.getByRole("dialog", { name: "About Keyward" });
    expect(await within(dialog).findByTestId("about-version")).toHaveTextContent("0.1.0");
    const facts = within(dialog).getByLabelText("Versions");
    expect(facts).toHaveTextContent("abc1234def56");
    expect(facts).toHaveTextContent("2.12.5");
    expect(facts).toHaveTextContent("WebKitGTK 2.48.1");
    expect(facts).toHaveTextContent("MIT");

    await user.click(within(dialog).getByRole("button", { name: "Report an issue" }));
    await user.click(within(dialog).getByRole("button", { name: "Homepage" }));
    expect(fake.about.openedLinks).toEqual(["issues", "homepage"]);
    await user.click(within(dialog).getByRole("button", { name: "Open the log folder" }));
    expect(fake.about.logFolderOpened).toBe(1);

    // The generated list: Rust crates and npm packages, filterable.
    const list = await within(dialog).findByRole("region", { name: "Bundled libraries and their licences" });
    expect(within(list).getByText("tauri")).toBeInTheDocument();
    expect(within(list).getByText("uplot")).toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Filter libraries"), "uplot");
    expect(within(list).getAllByRole("row")).toHaveLength(2);
    expect(within(dialog).getByText(/^1 of \d+ libraries$/)).toBeInTheDocument();
    await user.clear(within(dialog).getByLabelText("Filter libraries"));
    await user.type(within(dialog).getByLabelText("Filter libraries"), "no-such-library");
    expect(within(list).getByText(/No library matches/)).toBeInTheDocument();

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("F1 opens it, focus stays inside, Esc closes it", async () => {
    const { user } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.keyboard("{F1}");
    const dialog = await screen.findByRole("dialog", { name: "About Keyward" });
    await within(dialog).findByTestId("about-version");
    for (let i = 0; i < 12; i++) {
      await user.tab();
      expect(dialog.contains(document.activeElement)).toBe(true);
    }
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("Copy diagnostics copies through the shell and shows what was copied", async () => {
    const fake = oneProfile([]);
    fake.about.diagnostics = "App: Keyward 0.1.0\nRecent warnings and errors (1):\nWARN the refresh failed sk-or-v1-[redacted]\n";
    const { user } = renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "About Keyward" }));
    const dialog = screen.getByRole("dialog", { name: "About Keyward" });
    await within(dialog).findByTestId("about-version");
    await user.click(within(dialog).getByRole("button", { name: "Copy diagnostics" }));
    expect(await within(dialog).findByText("Diagnostics copied to the clipboard")).toBeInTheDocument();
    expect(within(dialog).getByLabelText("Copied diagnostics")).toHaveTextContent("WARN the refresh failed sk-or-v1-[redacted]");
    expect(fake.callsOf("diagnostics_copy")).toHaveLength(1);
    expect(fake.about.clipboard).toEqual([fake.about.diagnostics]);
  });

  it("a failed copy is reported in the dialog", async () => {
    const fake = oneProfile([]);
    fake.failNext("diagnostics_copy", { kind: "internal", message: "could not copy to the clipboard: no display", field: null, retry_after_ms: null });
    const { user } = renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "About Keyward" }));
    const dialog = screen.getByRole("dialog", { name: "About Keyward" });
    await within(dialog).findByTestId("about-version");
    await user.click(within(dialog).getByRole("button", { name: "Copy diagnostics" }));
    expect(await within(dialog).findByText(/could not copy to the clipboard/)).toBeInTheDocument();
  });

  it("opens when the tray asked for it while the window was closed", async () => {
    const fake = oneProfile([]);
    fake.about.pendingOpen = true;
    renderApp(fake);
    expect(await screen.findByRole("dialog", { name: "About Keyward" })).toBeInTheDocument();
    expect(fake.about.pendingOpen).toBe(false);
  });

  it("opens on the tray's about-open event", async () => {
    const { emit } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    await emit("about-open", {});
    expect(await screen.findByRole("dialog", { name: "About Keyward" })).toBeInTheDocument();
  });
});

describe("the crash banner", () => {
  const report = {
    id: "crash-20261207T100200.000Z.txt",
    at: "2026-12-07T10:02:00Z",
    text: "Keyward quit unexpectedly (a panic).\nMessage: index out of bounds\n",
    path: "/home/me/.local/share/dev.keyward.app/logs/crash-20261207T100200.000Z.txt",
  };

  it("offers the last crash: show, copy, dismiss (marked seen)", async () => {
    const fake = oneProfile([]);
    fake.about.crash = { ...report };
    const { user } = renderApp(fake);
    const banner = await screen.findByRole("region", { name: "Crash report" });
    expect(banner).toHaveTextContent("Keyward quit unexpectedly on");
    await user.click(within(banner).getByRole("button", { name: "Show the report" }));
    expect(within(banner).getByLabelText("Crash report text")).toHaveTextContent("Message: index out of bounds");
    expect(within(banner).getByRole("button", { name: "Hide the report" })).toHaveAttribute("aria-expanded", "true");
    await user.click(within(banner).getByRole("button", { name: "Copy" }));
    expect(await within(banner).findByRole("status")).toHaveTextContent("The report is on the clipboard");
    expect(fake.about.clipboard).toEqual([report.text]);
    await user.click(within(banner).getByRole("button", { name: "Dismiss" }));
    await waitFor(() => expect(screen.queryByRole("region", { name: "Crash report" })).not.toBeInTheDocument());
    expect(fake.callsOf("crash_dismiss")).toEqual([{ id: report.id }]);
    expect(fake.about.crash).toBeNull();
  });

  it("is not there without a crash", async () => {
    const fake = oneProfile([]);
    renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    await waitFor(() => expect(fake.callsOf("crash_latest")).toHaveLength(1));
    expect(screen.queryByRole("region", { name: "Crash report" })).not.toBeInTheDocument();
  });
});
