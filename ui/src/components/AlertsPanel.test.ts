import { screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { makeKey, makeProfile, FakeBackend } from "../test/fakeBackend";
import { makeAlert } from "../test/fakeWatch";
import { foldSuperseded } from "../lib/watch.svelte";
import { dataRows, oneProfile, renderApp } from "../test/render";

const DAY = 24 * 3600e3;
const backend = makeKey({ name: "acme-backend", limit: 50, usage_monthly: 48, limit_reset: "monthly" });
const ci = makeKey({ name: "acme-ci", expires_at: new Date(Date.now() + 3 * DAY).toISOString() });
const quiet = makeKey({ name: "acme-quiet" });

function withAlerts() {
  const fake = oneProfile([backend, ci, quiet]);
  fake.watch.alerts = [
    makeAlert({ key_hash: backend.hash, key_name: backend.name, kind: "limit", threshold: "95", severity: "critical",
      title: "acme-backend has used 96 % of its limit", action: "Raise the limit or rotate the key" }),
    makeAlert({ key_hash: ci.hash, key_name: ci.name, kind: "expiry", threshold: "7d", severity: "warning", period: "none",
      title: "acme-ci expires in 3 days", action: "Rotate the key before it expires", due_at: ci.expires_at }),
  ];
  return fake;
}

async function openPanel(fake: FakeBackend) {
  const r = renderApp(fake);
  await screen.findByText("acme-backend");
  await r.user.click(await screen.findByRole("button", { name: /^Alerts: 2/ }));
  return { ...r, panel: screen.getByRole("dialog", { name: "Alerts" }) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("alerts", () => {
  it("the header counts open alerts, coloured by the worst", async () => {
    renderApp(withAlerts());
    const bell = await screen.findByRole("button", { name: "Alerts: 2" });
    expect(bell).toHaveClass("critical");
    expect(bell).toHaveAttribute("title", "2 open alerts (a)");
  });

  it("each key row shows its alerts, with the titles in the tooltip; a key without alerts shows none", async () => {
    const { container } = renderApp(withAlerts());
    await screen.findByText("acme-backend");
    await waitFor(() => expect(container.querySelectorAll(".alert-badge")).toHaveLength(2));
    const row = dataRows(container).find((r) => r.textContent?.includes("acme-backend"))!;
    const badge = within(row).getByRole("img", { name: /1 alert: acme-backend has used 96 % of its limit/ });
    expect(badge).toHaveAttribute("title", "acme-backend has used 96 % of its limit");
    expect(badge).toHaveClass("critical");
    const quietRow = dataRows(container).find((r) => r.textContent?.includes("acme-quiet"))!;
    expect(quietRow.querySelector(".alert-badge")).toBeNull();
  });

  it("the panel groups alerts by severity with key, what, when and what to do", async () => {
    const { panel } = await openPanel(withAlerts());
    const critical = within(panel).getByRole("region", { name: /Critical/ });
    const warning = within(panel).getByRole("region", { name: /Warning/ });
    expect(within(critical).getByText("acme-backend")).toBeInTheDocument();
    expect(within(critical).getByText("acme-backend has used 96 % of its limit")).toBeInTheDocument();
    expect(within(critical).getByText("Raise the limit or rotate the key")).toBeInTheDocument();
    expect(within(critical).getByText("20 min. ago")).toBeInTheDocument();
    expect(within(warning).getByText("acme-ci expires in 3 days")).toBeInTheDocument();
    expect(within(warning).getByText("in 3 days")).toBeInTheDocument();
    // Most severe first in the document order too.
    expect(critical.compareDocumentPosition(warning) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it("snoozing a key for a day sends its hash and a time a day away, and moves it out of the count", async () => {
    const { user, panel, fake } = await openPanel(withAlerts());
    const before = Date.now();
    await user.click(within(panel).getByRole("button", { name: "Snooze 1 day: acme-backend" }));
    await waitFor(() => expect(fake.callsOf("alerts_snooze")).toHaveLength(1));
    const sent = fake.callsOf("alerts_snooze")[0] as { profile_id: string; key_hash: string; until: string };
    expect(sent.profile_id).toBe("p1");
    expect(sent.key_hash).toBe(backend.hash);
    expect(Date.parse(sent.until) - before).toBeGreaterThan(DAY - 5000);
    expect(Date.parse(sent.until) - before).toBeLessThan(DAY + 5000);
    expect(await screen.findByRole("button", { name: "Alerts: 1" })).toBeInTheDocument();
    expect(within(panel).queryByRole("region", { name: /Critical/ })).not.toBeInTheDocument();
    const snoozed = within(panel).getByText(/Snoozed \(1\)/).closest("details")!;
    expect(within(snoozed).getByText("acme-backend")).toBeInTheDocument();
    await user.click(within(snoozed).getByText(/Snoozed \(1\)/));
    await user.click(within(snoozed).getByRole("button", { name: "Wake now: alerts for acme-backend" }));
    await waitFor(() => expect(fake.callsOf("alerts_snooze")[1]).toEqual({ profile_id: "p1", key_hash: backend.hash, until: null }));
    expect(await screen.findByRole("button", { name: "Alerts: 2" })).toBeInTheDocument();
  });

  it("snooze for a week", async () => {
    const { user, panel, fake } = await openPanel(withAlerts());
    await user.click(within(panel).getByRole("button", { name: "1 week snooze: acme-ci" }));
    await waitFor(() => expect(fake.callsOf("alerts_snooze")).toHaveLength(1));
    const sent = fake.callsOf("alerts_snooze")[0] as { until: string };
    expect(Math.round((Date.parse(sent.until) - Date.now()) / DAY)).toBe(7);
  });

  it("empty: says how often Keyward checks and when it last did", async () => {
    const fake = oneProfile([quiet]);
    fake.watch.alerts = [];
    fake.watch.lastCheckAt = new Date(Date.now() - 2 * 60_000).toISOString();
    const { user } = renderApp(fake);
    await screen.findByText("acme-quiet");
    await user.click(await screen.findByRole("button", { name: "Alerts: 0" }));
    const panel = screen.getByRole("dialog", { name: "Alerts" });
    expect(within(panel).getByRole("heading", { name: "No alerts" })).toBeInTheDocument();
    expect(within(panel).getByText("Keyward checks every 5 min; last check 2 min. ago.")).toBeInTheDocument();
  });

  it("paused: says until when, and Resume sends minutes: null", async () => {
    // Noon, so that 45 minutes later is still today and the panel shows the time alone.
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["Date"], now: new Date(2026, 10, 23, 12, 0) });
    const fake = withAlerts();
    const until = new Date(Date.now() + 45 * 60_000);
    fake.watch.pausedUntil = until.toISOString();
    const { user, panel } = await openPanel(fake);
    const hhmm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" }).format(until);
    const status = within(panel).getByRole("status");
    expect(status).toHaveTextContent(`Paused until ${hhmm}`);
    expect(screen.getByRole("button", { name: /^Alerts: 2, paused/ })).toBeInTheDocument();
    await user.click(within(status).getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(fake.callsOf("alerts_pause")).toEqual([{ minutes: null }]));
    await waitFor(() => expect(within(panel).queryByText(/Paused until/)).not.toBeInTheDocument());
    await user.click(within(panel).getByRole("button", { name: "Pause 1 h" }));
    await waitFor(() => expect(fake.callsOf("alerts_pause")).toEqual([{ minutes: null }, { minutes: 60 }]));
    expect(await within(panel).findByText(/Paused until/)).toBeInTheDocument();
  });

  it("Esc still closes after the focused Resume button went away", async () => {
    const fake = withAlerts();
    fake.watch.pausedUntil = new Date(Date.now() + 45 * 60_000).toISOString();
    const { user, panel } = await openPanel(fake);
    await user.click(within(panel).getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(within(panel).queryByText(/Paused until/)).not.toBeInTheDocument());
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("Check now asks the shell for a watch cycle and reloads", async () => {
    const { user, panel, fake } = await openPanel(withAlerts());
    const lists = fake.callsOf("alerts_list").length;
    fake.watch.cycleMs = 300;
    await user.click(within(panel).getByRole("button", { name: "Check now" }));
    await waitFor(() => expect(fake.callsOf("watch_refresh_now")).toHaveLength(1));
    // Checking until the cycle reports through alerts-changed.
    expect(within(panel).getByRole("button", { name: "Check now" })).toBeDisabled();
    await waitFor(() => expect(fake.callsOf("alerts_list").length).toBeGreaterThan(lists));
    expect(await within(panel).findByText(/Last check just now/)).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Check now" })).toBeEnabled();
  });

  it("alerts-changed updates the count and the panel live", async () => {
    const fake = withAlerts();
    const { emit, panel } = await openPanel(fake);
    const third = makeAlert({ key_hash: quiet.hash, key_name: quiet.name, kind: "anomaly", threshold: "anomaly", severity: "info",
      title: "acme-quiet spent 9× its usual today", action: "Check what is using the key" });
    await emit("alerts-changed", { alerts: [...fake.watch.alerts!, third], paused_until: null, last_check_at: new Date().toISOString(), next_check_at: null });
    expect(await screen.findByRole("button", { name: "Alerts: 3" })).toBeInTheDocument();
    expect(within(panel).getByRole("region", { name: /Info/ })).toHaveTextContent("acme-quiet spent 9× its usual today");
  });

  it("keyboard: a opens it, focus is inside, Tab stays inside, Esc closes and focus returns", async () => {
    const r = renderApp(withAlerts());
    await screen.findByText("acme-backend");
    await screen.findByRole("button", { name: "Alerts: 2" });
    await r.user.keyboard("a");
    const panel = screen.getByRole("dialog", { name: "Alerts" });
    expect(panel.contains(document.activeElement)).toBe(true);
    for (let i = 0; i < 12; i++) {
      await r.user.tab();
      expect(panel.contains(document.activeElement)).toBe(true);
    }
    await r.user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    // Opened from the page (not a button): focus lands on the stable fallback control.
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "New key" }));
    // From the bell, focus goes back to the bell.
    await r.user.click(screen.getByRole("button", { name: "Alerts: 2" }));
    await r.user.keyboard("{Escape}");
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Alerts: 2" }));
  });

  it("Show key opens that key's details, across profiles too", async () => {
    const other = makeKey({ name: "globex-prod", limit: 10, usage_monthly: 9.9, limit_reset: "monthly" });
    const fake = new FakeBackend({
      profiles: [makeProfile("p1", "acme-prod"), makeProfile("p2", "globex")], activeId: "p1",
      keys: { p1: [backend], p2: [other] },
    });
    fake.watch.alerts = [makeAlert({ profile_id: "p2", key_hash: other.hash, key_name: other.name, severity: "critical", title: "globex-prod has used 99 % of its limit" })];
    const r = renderApp(fake);
    await screen.findByText("acme-backend");
    await r.user.click(await screen.findByRole("button", { name: "Alerts: 1" }));
    const panel = screen.getByRole("dialog", { name: "Alerts" });
    expect(within(panel).getByText("· globex")).toBeInTheDocument();
    await r.user.click(within(panel).getByRole("button", { name: "Show key globex-prod" }));
    const details = await screen.findByRole("dialog", { name: "globex-prod" });
    expect(fake.callsOf("profile_switch")).toEqual([{ id: "p2" }]);
    expect(await within(details).findByText("globex-prod has used 99 % of its limit", { exact: false })).toBeInTheDocument();
  });

  it("a long list comes in pages of 50", async () => {
    const keys = Array.from({ length: 120 }, (_, i) => makeKey({ name: `k-${i}` }));
    const fake = oneProfile(keys);
    fake.watch.alerts = keys.map((k) => makeAlert({ key_hash: k.hash, key_name: k.name, severity: "warning" }));
    const { user } = renderApp(fake);
    await user.click(await screen.findByRole("button", { name: "Alerts: 120" }));
    const region = within(screen.getByRole("dialog", { name: "Alerts" })).getByRole("region", { name: /Warning/ });
    expect(within(region).getAllByRole("listitem")).toHaveLength(50);
    await user.click(within(region).getByRole("button", { name: "Show more (70 left)" }));
    expect(within(region).getAllByRole("listitem")).toHaveLength(100);
  });

  it("without fixed alerts, the fake watcher raises them from the keys (limit share, expiry)", async () => {
    const { user } = renderApp(oneProfile([backend, ci, quiet]));
    await screen.findByText("acme-backend");
    await user.click(await screen.findByRole("button", { name: "Alerts: 2" }));
    const panel = screen.getByRole("dialog", { name: "Alerts" });
    expect(within(panel).getByText("acme-backend has used 96 % of its limit")).toBeInTheDocument();
    expect(within(panel).getByText("acme-ci expires soon")).toBeInTheDocument();
  });

  it("a superseded lower threshold folds under the higher one: counted once, one badge, one panel entry", async () => {
    const fake = withAlerts();
    fake.watch.alerts = [
      ...fake.watch.alerts!,
      makeAlert({ key_hash: backend.hash, key_name: backend.name, kind: "limit", threshold: "80", severity: "warning",
        title: "acme-backend has used 82 % of its limit", superseded: true }),
    ];
    const { panel, container } = await openPanel(fake);
    expect(screen.getByRole("button", { name: "Alerts: 2" })).toBeInTheDocument();
    const row = dataRows(container).find((r) => r.textContent?.includes("acme-backend"))!;
    expect(within(row).getByRole("img", { name: /^1 alert: acme-backend has used 96 % of its limit$/ })).toBeInTheDocument();
    expect(within(panel).queryByText("acme-backend has used 82 % of its limit")).not.toBeInTheDocument();
    expect(within(panel).queryByRole("region", { name: /Warning 2/ })).not.toBeInTheDocument();
    const top = within(panel).getByText("acme-backend has used 96 % of its limit").closest("li")!;
    expect(within(top).getByText("Also crossed 80 %")).toBeInTheDocument();
    // The other key's alert folds nothing.
    const other = within(panel).getByText("acme-ci expires in 3 days").closest("li")!;
    expect(within(other).queryByText(/Also crossed/)).not.toBeInTheDocument();
  });

  it("a superseded alert whose higher threshold is not in the list still shows (nothing to fold it under)", () => {
    const top = makeAlert({ key_hash: "h1", key_name: "k1", kind: "limit", threshold: "95" });
    const under = makeAlert({ key_hash: "h1", key_name: "k1", kind: "limit", threshold: "80", superseded: true });
    const otherKind = makeAlert({ key_hash: "h1", key_name: "k1", kind: "expiry", threshold: "7d", superseded: true });
    const otherKey = makeAlert({ key_hash: "h2", key_name: "k2", kind: "limit", threshold: "80", superseded: true });
    expect(foldSuperseded([under, top, otherKind, otherKey]).map((a) => a.id)).toEqual([top.id, otherKind.id, otherKey.id]);
  });

  it("the fake watcher, like the core, raises every crossed threshold and marks the lower ones superseded", async () => {
    const soon = makeKey({ name: "acme-soon", expires_at: new Date(Date.now() + 12 * 3600e3).toISOString() });
    const fake = oneProfile([backend, soon]);
    const all = fake.watch.snapshot(null).alerts;
    const picture = all.map((a) => [a.key_name, a.kind, a.threshold, a.superseded, a.limit]);
    expect(picture).toEqual(expect.arrayContaining([
      ["acme-backend", "limit", "95", false, 50],
      ["acme-backend", "limit", "80", true, 50],
      ["acme-soon", "expiry", "1d", false, null],
      ["acme-soon", "expiry", "7d", true, null],
    ]));
    expect(all).toHaveLength(4);
    const { user } = renderApp(fake);
    await screen.findByText("acme-backend");
    await user.click(await screen.findByRole("button", { name: "Alerts: 2" }));
    const panel = screen.getByRole("dialog", { name: "Alerts" });
    const top = within(panel).getByText("acme-backend has used 96 % of its limit").closest("li")!;
    expect(within(top).getByText("Also crossed 80 %")).toBeInTheDocument();
    const expiring = within(panel).getByText("acme-soon expires soon").closest("li")!;
    expect(within(expiring).getByText("Also crossed the 7-day mark")).toBeInTheDocument();
  });
});

describe("extend expiry from an alert", () => {
  it("an expiry alert offers Extend expiry…, which opens the key with the extend dialog; a limit alert does not", async () => {
    const { panel, user } = await openPanel(withAlerts());
    expect(within(panel).queryByRole("button", { name: "Extend expiry of acme-backend…" })).toBeNull();
    await user.click(within(panel).getByRole("button", { name: "Extend expiry of acme-ci…" }));
    expect(await screen.findByRole("dialog", { name: "Extend the expiry of acme-ci" })).toBeInTheDocument();
    expect(screen.getByRole("dialog", { name: "acme-ci" })).toBeInTheDocument();
  });
});
