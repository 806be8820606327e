import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { appError, makeKey } from "../test/fakeBackend";
import { defaultWatchSettings } from "../test/fakeWatch";
import { oneProfile, renderApp } from "../test/render";
import type { WatchSettings } from "../lib/bindings/WatchSettings";

async function openSettings(fake = oneProfile([makeKey({ name: "acme" })])) {
  const r = renderApp(fake);
  await screen.findByText("acme");
  await r.user.click(screen.getByRole("button", { name: "Settings" }));
  const dialog = screen.getByRole("dialog", { name: "Settings" });
  await within(dialog).findByLabelText("Check every (minutes)");
  return { ...r, dialog, d: within(dialog) };
}

describe("settings", () => {
  it("shows the current settings", async () => {
    const fake = oneProfile([makeKey({ name: "acme" })]);
    fake.watch.settings = { ...defaultWatchSettings(), interval_secs: 600, quiet_hours: { start: "22:30", end: "07:00" }, start_at_login: true, slower_on_battery: false };
    fake.watch.settings.notify.anomaly = false;
    const { d } = await openSettings(fake);
    expect(d.getByLabelText("Check every (minutes)")).toHaveValue("10");
    expect(d.getByLabelText("A key expires within (days)")).toHaveValue("7, 1");
    expect(d.getByLabelText("Limit used reaches (%)")).toHaveValue("80, 95, 100");
    expect(d.getByLabelText(/daily average ×/)).toHaveValue("3");
    expect(d.getByLabelText(/Quiet hours/)).toBeChecked();
    expect(d.getByLabelText("From")).toHaveValue("22:30");
    expect(d.getByLabelText(/^Unusual spend/)).not.toBeChecked();
    expect(d.getByLabelText(/^Expiry/)).toBeChecked();
    expect(d.getByLabelText(/Start Keyward at login/)).toBeChecked();
    expect(d.getByLabelText(/Check less often on battery/)).not.toBeChecked();
    expect(d.getByLabelText(/Check less often on battery/)).toHaveAccessibleDescription("Every 30 min instead of every 10 min, to save power.");
  });

  it("saves every field as the shell expects it, then closes", async () => {
    const { user, d, fake } = await openSettings();
    const interval = d.getByLabelText("Check every (minutes)");
    await user.clear(interval);
    await user.type(interval, "2.5");
    await user.clear(d.getByLabelText("A key expires within (days)"));
    await user.type(d.getByLabelText("A key expires within (days)"), "1, 14 3");
    await user.clear(d.getByLabelText("Limit used reaches (%)"));
    await user.type(d.getByLabelText("Limit used reaches (%)"), "90,50");
    await user.clear(d.getByLabelText(/daily average ×/));
    await user.type(d.getByLabelText(/daily average ×/), "4.5");
    await user.click(d.getByLabelText(/Quiet hours/));
    await user.click(d.getByLabelText(/^Forecast/));
    await user.click(d.getByLabelText(/Start Keyward at login/));
    expect(d.getByText(/^Every 7 min 30 s instead of every 2 min 30 s/)).toBeInTheDocument();
    await user.click(d.getByLabelText(/Check less often on battery/));
    await user.click(d.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const expected: WatchSettings = {
      ...defaultWatchSettings(), interval_secs: 150, expiry_days: [14, 3, 1], limit_percents: [50, 90], anomaly_factor: 4.5,
      quiet_hours: { start: "22:00", end: "07:00" }, start_at_login: true, slower_on_battery: false,
      notify: { ...defaultWatchSettings().notify, forecast: false },
    };
    expect(fake.callsOf("watch_settings_set")).toEqual([expected]);
    expect(fake.watch.settings).toEqual(expected);
    expect(await screen.findByText("Settings saved")).toBeInTheDocument();
  });

  it("checks input beside each field before sending anything", async () => {
    const { user, d, fake } = await openSettings();
    await user.clear(d.getByLabelText("Check every (minutes)"));
    await user.type(d.getByLabelText("Check every (minutes)"), "0.1");
    await user.clear(d.getByLabelText("A key expires within (days)"));
    await user.type(d.getByLabelText("A key expires within (days)"), "7, soon");
    await user.clear(d.getByLabelText("Limit used reaches (%)"));
    await user.type(d.getByLabelText("Limit used reaches (%)"), "80, 120");
    await user.clear(d.getByLabelText(/daily average ×/));
    await user.type(d.getByLabelText(/daily average ×/), "1");
    await user.clear(d.getByLabelText(/and is at least/));
    await user.click(d.getByLabelText(/Quiet hours/));
    await user.clear(d.getByLabelText("to"));
    await user.type(d.getByLabelText("to"), "22:00");
    await user.click(d.getByRole("button", { name: "Save" }));
    expect(d.getByText("Enter an amount in US dollars, 0 or more")).toBeInTheDocument();
    expect(d.getByText("Start and end must differ")).toBeInTheDocument();
    expect(d.getByText("Check no more often than every 10 seconds (0.17 min)")).toBeInTheDocument();
    expect(d.getByText("Whole days between 1 and 365, separated by commas")).toBeInTheDocument();
    expect(d.getByText("Whole percentages between 1 and 100, separated by commas")).toBeInTheDocument();
    expect(d.getByText("Enter a factor above 1 (3 = three times the usual)")).toBeInTheDocument();
    expect(d.getByLabelText("Check every (minutes)")).toHaveAttribute("aria-invalid", "true");
    expect(document.activeElement).toBe(d.getByLabelText("Check every (minutes)"));
    expect(fake.callsOf("watch_settings_set")).toEqual([]);
    // An empty list is refused too (turn the kind off instead).
    await user.clear(d.getByLabelText("A key expires within (days)"));
    expect(d.getByText("Whole days between 1 and 365, separated by commas")).toBeInTheDocument();
  });

  it("an error from the shell with a field shows beside that field (nested names too) and keeps the dialog open", async () => {
    const { user, d, fake, dialog } = await openSettings();
    fake.failNext("watch_settings_set", appError("invalid_input", "must be at least 30 seconds on battery", "interval_secs"));
    await user.click(d.getByRole("button", { name: "Save" }));
    expect(await d.findByText("must be at least 30 seconds on battery")).toBeInTheDocument();
    expect(d.getByLabelText("Check every (minutes)")).toHaveAttribute("aria-invalid", "true");
    await waitFor(() => expect(document.activeElement).toBe(d.getByLabelText("Check every (minutes)")));
    // Typing into the field clears the shell's complaint about it.
    await user.type(d.getByLabelText("Check every (minutes)"), "0");
    expect(d.queryByText("must be at least 30 seconds on battery")).not.toBeInTheDocument();

    await user.click(d.getByLabelText(/Quiet hours/));
    fake.failNext("watch_settings_set", appError("invalid_input", "start must be HH:MM", "quiet_hours.start"));
    await user.click(d.getByRole("button", { name: "Save" }));
    expect(await d.findByText("start must be HH:MM")).toBeInTheDocument();
    expect(d.getByLabelText("From")).toHaveAttribute("aria-invalid", "true");
    expect(dialog).toBeInTheDocument();

    await user.click(d.getByLabelText(/Quiet hours/));
    fake.failNext("watch_settings_set", appError("invalid_input", "Start at login could not be changed: no autostart entry", "start_at_login"));
    await user.click(d.getByRole("button", { name: "Save" }));
    expect(await d.findByText("Start at login could not be changed: no autostart entry")).toBeInTheDocument();
    expect(d.getByLabelText(/Start Keyward at login/)).toHaveAttribute("aria-invalid", "true");

    fake.failNext("watch_settings_set", appError("store", "Keyward's local data failed: disk full"));
    await user.click(d.getByRole("button", { name: "Save" }));
    expect(await d.findByText("Keyward's local data failed: disk full")).toBeInTheDocument();
  });

  it("the fake shell's own validation: interval under 10 s is refused with its field", async () => {
    const fake = oneProfile([]);
    await expect(fake.handle("watch_settings_set", { args: { ...defaultWatchSettings(), interval_secs: 5 } }))
      .rejects.toMatchObject({ kind: "invalid_input", field: "interval_secs" });
  });

  it("notifications off greys out the per-kind switches; Cancel sends nothing", async () => {
    const { user, d, fake } = await openSettings();
    await user.click(d.getByLabelText("Show desktop notifications"));
    expect(d.getByRole("checkbox", { name: /^Limit/ })).toBeDisabled();
    await user.click(d.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(fake.callsOf("watch_settings_set")).toEqual([]);
  });

  it("opens with s from the list, Esc closes; the shortcuts dialog lists it", async () => {
    const r = renderApp(oneProfile([makeKey({ name: "acme" })]));
    await screen.findByText("acme");
    await r.user.keyboard("s");
    const dialog = screen.getByRole("dialog", { name: "Settings" });
    await within(dialog).findByLabelText("Check every (minutes)");
    expect(document.activeElement).toBe(within(dialog).getByLabelText("Check every (minutes)"));
    await r.user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await r.user.keyboard("?");
    const help = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    for (const what of ["Alerts", "Settings", "Usage: spend across keys", "Show its details (or click it)"]) {
      expect(within(help).getByText(what)).toBeInTheDocument();
    }
  });

  it("a failing load says so and offers to try again", async () => {
    const fake = oneProfile([makeKey({ name: "acme" })]);
    fake.failNext("watch_settings_get", appError("store", "database is locked"), 2);
    const r = renderApp(fake);
    await screen.findByText("acme");
    await r.user.click(screen.getByRole("button", { name: "Settings" }));
    const dialog = screen.getByRole("dialog", { name: "Settings" });
    expect(await within(dialog).findByText(/database is locked/)).toBeInTheDocument();
    await r.user.click(within(dialog).getByRole("button", { name: "Try again" }));
    expect(await within(dialog).findByLabelText("Check every (minutes)")).toHaveValue("5");
  });
});

describe("settings: what closing the window does", () => {
  it("says closing quits, and why, where no tray shows the icon", async () => {
    const fake = oneProfile([makeKey({ name: "acme" })]);
    fake.watch.tray = {
      stays_in_tray: false,
      host: null,
      reason: "This desktop shows no tray icons (on GNOME, the \"AppIndicator and KStatusNotifierItem Support\" extension adds them).",
    };
    const { d } = await openSettings(fake);
    const note = await d.findByRole("note");
    expect(note).toHaveTextContent("No tray here: closing the window quits Keyward.");
    expect(note).toHaveTextContent("AppIndicator and KStatusNotifierItem Support");
    // Next to the start-at-login option, in the System group.
    expect(within(d.getByRole("group", { name: "System" })).getByRole("note")).toBe(note);
    expect(fake.callsOf("tray_status")).toHaveLength(1);
    // A start at login opens the window then (nothing else could show it).
    expect(d.getByLabelText(/Start Keyward at login/)).toHaveAccessibleName("Start Keyward at login (with its window open: no tray here)");
  });

  it("says closing keeps Keyward in the tray where there is one", async () => {
    const { d } = await openSettings();
    const note = await d.findByTestId("tray-note");
    expect(note).toHaveTextContent("Closing the window keeps Keyward watching in the tray");
    expect(d.queryByRole("note")).not.toBeInTheDocument();
  });
});
