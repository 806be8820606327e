import { setDarkMode } from "../test/chartEnv";
import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey, makeProfile, FakeBackend } from "../test/fakeBackend";
import { makeAlert } from "../test/fakeWatch";
import { dataRows, oneProfile, renderApp } from "../test/render";
import type { UsageHistory } from "../lib/bindings/UsageHistory";

const DAY = 24 * 3600e3;
const key = makeKey({
  name: "acme-backend", limit: 50, limit_remaining: 10, usage_monthly: 40, usage_daily: 3, usage_weekly: 12, usage: 420,
  limit_reset: "monthly", expires_at: new Date(Date.now() + 20 * DAY).toISOString(),
});
const plain = makeKey({ name: "acme-nolimit", usage_daily: 1, usage_weekly: 5, usage_monthly: 20, usage: 80 });

function history(overrides: Partial<UsageHistory> = {}): UsageHistory {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  return {
    profile_id: "p1", key_hash: key.hash, key_name: key.name,
    days: Array.from({ length: 30 }, (_, i) => ({ date: new Date(today - (29 - i) * DAY).toISOString().slice(0, 10), spend: i === 29 ? 3 : 1.5 })),
    limit: 50, limit_reset: "monthly", period_spend: 40,
    forecast: { burn_per_day: 2, projected_period_spend: 62, hits_limit_at: new Date(Date.now() + 5 * DAY).toISOString(), period_end: null, projected_until: new Date(Date.now() + 30 * DAY).toISOString() },
    ...overrides,
  };
}

async function openDetails(fake: FakeBackend, name = "acme-backend") {
  const r = renderApp(fake);
  await r.user.click(await screen.findByRole("button", { name }));
  return { ...r, details: await screen.findByRole("dialog", { name }) };
}

describe("key details", () => {
  it("clicking a key's name opens its fields, alerts, rotation section and a 30-day chart with limit and forecast", async () => {
    const fake = oneProfile([key, plain]);
    fake.watch.usage.set(key.hash, history());
    fake.watch.alerts = [makeAlert({ key_hash: key.hash, key_name: key.name, title: "acme-backend has used 80 % of its limit" })];
    const { details, container } = await openDetails(fake);
    const d = within(details);
    expect(d.getByText("active")).toBeInTheDocument();
    expect(d.getByText("$420.00")).toBeInTheDocument();
    expect(d.getByText(/left of \$50\.00$/)).toBeInTheDocument();
    expect(d.getByText(key.hash)).toBeInTheDocument();
    expect(d.getByText("in 3 wk.")).toBeInTheDocument();
    expect(d.getByText(/acme-backend has used 80 % of its limit/)).toBeInTheDocument();
    expect(d.getByRole("region", { name: "Rotation" })).toBeInTheDocument();
    expect(fake.callsOf("usage_history")).toEqual([{ profile_id: "p1", key_hash: key.hash }]);

    // The chart: uPlot draws into a canvas, with a legend naming the limit and the forecast.
    const figure = await waitFor(() => {
      const f = details.querySelector("figure.chart");
      expect(f?.querySelector("canvas")).not.toBeNull();
      return f as HTMLElement;
    });
    expect(figure).toHaveAttribute("data-has-limit", "true");
    expect(figure).toHaveAttribute("data-forecast", "hits-limit");
    const legend = figure.querySelector(".u-legend") as HTMLElement;
    for (const label of ["Daily spend", "Period spend", "Limit", "Forecast"]) expect(legend).toHaveTextContent(label);
    // The same numbers for screen readers: 30 days, today last.
    const rows = within(figure.querySelector("table.numbers") as HTMLElement).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(30);
    expect(rows[29]).toHaveTextContent("$3.00");
    expect(within(figure).getByRole("img")).toHaveAttribute("aria-label", expect.stringMatching(/limit \$50\.00; forecast to hit the limit/));
    expect(d.getByText(/\$40\.00 of the \$50\.00 limit used this month/)).toBeInTheDocument();
    expect(d.getByText(/Burning \$2\.00 a day; at this rate it hits its limit in 5 days/)).toBeInTheDocument();
    // The row of the open key is marked.
    expect(dataRows(container).find((r) => r.textContent?.includes("acme-backend"))).toHaveClass("selected");
  });

  it("the chart takes its colours from the theme and redraws when the OS switches light/dark", async () => {
    const fake = oneProfile([key]);
    fake.watch.usage.set(key.hash, history());
    const root = document.documentElement;
    root.style.setProperty("--bar", "#112233");
    root.style.setProperty("--danger", "#aa0000");
    try {
      const { details } = await openDetails(fake);
      const marker = (label: string) => {
        const row = Array.from(details.querySelectorAll(".u-legend .u-series")).find((r) => r.textContent?.includes(label));
        return row?.querySelector(".u-marker") as HTMLElement | null;
      };
      await waitFor(() => expect(marker("Daily spend")).not.toBeNull());
      expect(marker("Daily spend")!.style.borderColor).toBe("rgb(17, 34, 51)");
      expect(marker("Limit")!.style.borderColor).toBe("rgb(170, 0, 0)");
      const before = details.querySelector(".uplot");
      root.style.setProperty("--bar", "#7c9dff");
      setDarkMode(true);
      await waitFor(() => expect(details.querySelector(".uplot")).not.toBe(before));
      await waitFor(() => expect(marker("Daily spend")!.style.borderColor).toBe("rgb(124, 157, 255)"));
      expect(details.querySelectorAll(".uplot")).toHaveLength(1);
    } finally {
      setDarkMode(false);
      root.style.removeProperty("--bar");
      root.style.removeProperty("--danger");
    }
  });

  it("a limit that never resets: the forecast runs to the end of the projection and says so", async () => {
    const once = makeKey({ name: "acme-once", limit: 100, limit_remaining: 60, usage: 40 });
    const fake = oneProfile([once]);
    const until = new Date(Date.now() + 12 * DAY).toISOString();
    fake.watch.usage.set(once.hash, history({
      key_hash: once.hash, key_name: once.name, limit: 100, limit_reset: null, period_spend: 40,
      forecast: { burn_per_day: 1, projected_period_spend: 52, hits_limit_at: null, period_end: null, projected_until: until },
    }));
    const { details } = await openDetails(fake, "acme-once");
    const figure = await waitFor(() => {
      const f = details.querySelector("figure.chart");
      expect(f?.querySelector("canvas")).not.toBeNull();
      return f as HTMLElement;
    });
    expect(figure).not.toHaveAttribute("data-forecast", "none");
    expect(within(details).getByText(/Burning \$1\.00 a day; about \$52\.00 of the \$100\.00 limit used by /)).toBeInTheDocument();
  });

  it("a key without a limit: daily bars only", async () => {
    const fake = oneProfile([key, plain]);
    const { details } = await openDetails(fake, "acme-nolimit");
    const figure = await waitFor(() => {
      const f = details.querySelector("figure.chart");
      expect(f?.querySelector("canvas")).not.toBeNull();
      return f as HTMLElement;
    });
    expect(figure).toHaveAttribute("data-has-limit", "false");
    expect(figure).toHaveAttribute("data-forecast", "none");
    expect(figure.querySelector(".u-legend")).not.toHaveTextContent("Limit");
  });

  it("a click anywhere on the row opens it too; Enter on the focused name does; Esc closes", async () => {
    const fake = oneProfile([key, plain]);
    const { user, container } = renderApp(fake);
    await screen.findByText("acme-backend");
    const row = dataRows(container).find((r) => r.textContent?.includes("acme-nolimit"))!;
    await user.click(row.querySelector(".badge")!);
    expect(await screen.findByRole("dialog", { name: "acme-nolimit" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    // Row buttons keep their own meaning.
    await user.click(within(row).getByRole("button", { name: "Edit acme-nolimit" }));
    expect(screen.getByRole("dialog", { name: "Edit acme-nolimit" })).toBeInTheDocument();
    await user.keyboard("{Escape}");
    screen.getByRole("button", { name: "acme-backend" }).focus();
    await user.keyboard("{Enter}");
    expect(await screen.findByRole("dialog", { name: "acme-backend" })).toBeInTheDocument();
  });

  it("Edit from the details returns to them after saving", async () => {
    const fake = oneProfile([key]);
    const { user, details } = await openDetails(fake);
    await user.click(within(details).getByRole("button", { name: "Edit…" }));
    const edit = screen.getByRole("dialog", { name: "Edit acme-backend" });
    const limit = within(edit).getByLabelText("Spending limit (USD)");
    await user.clear(limit);
    await user.type(limit, "80");
    await user.click(within(edit).getByRole("button", { name: "Save changes" }));
    const back = await screen.findByRole("dialog", { name: "acme-backend" });
    expect(within(back).getByText(/left of \$80\.00$/)).toBeInTheDocument();
  });

  it("snooze from the details", async () => {
    const fake = oneProfile([key]);
    fake.watch.alerts = [makeAlert({ key_hash: key.hash, key_name: key.name })];
    const { user, details } = await openDetails(fake);
    await user.click(within(details).getByRole("button", { name: "Snooze 1 week" }));
    await waitFor(() => expect(fake.callsOf("alerts_snooze")).toHaveLength(1));
    expect(await within(details).findByRole("button", { name: "Wake alerts now" })).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Alerts: 0" })).toBeInTheDocument();
  });

  it("open-key (a notification was clicked): switches profile, selects the key and opens it", async () => {
    const other = makeKey({ name: "globex-prod" });
    const fake = new FakeBackend({
      profiles: [makeProfile("p1", "acme-prod"), makeProfile("p2", "globex")], activeId: "p1", keys: { p1: [key], p2: [other] },
    });
    const { emit } = renderApp(fake);
    await screen.findByText("acme-backend");
    await emit("open-key", { profile_id: "p2", key_hash: other.hash });
    const details = await screen.findByRole("dialog", { name: "globex-prod" });
    expect(fake.callsOf("profile_switch")).toEqual([{ id: "p2" }]);
    expect(screen.getByLabelText("Profile")).toHaveValue("p2");
    expect(within(details).getByText(other.hash)).toBeInTheDocument();
    // Same profile: no switch.
    await emit("open-key", { profile_id: "p2", key_hash: other.hash });
    expect(fake.callsOf("profile_switch")).toHaveLength(1);
  });

  it("open-key waits while a new key's dialog is open (its secret must not be lost), then opens", async () => {
    const fake = oneProfile([key]);
    const { emit, user } = renderApp(fake);
    await screen.findByText("acme-backend");
    await user.keyboard("n");
    const create = screen.getByRole("dialog", { name: "New key" });
    await emit("open-key", { profile_id: "p1", key_hash: key.hash });
    expect(await screen.findByText("The key you asked for opens when this dialog closes")).toBeInTheDocument();
    expect(create).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(await screen.findByRole("dialog", { name: "acme-backend" })).toBeInTheDocument();
  });

  it("an expired key left out of the list can be brought in from the details", async () => {
    const expired = makeKey({ name: "acme-old", status: "expired", expires_at: new Date(Date.now() - DAY).toISOString() });
    const fake = oneProfile([key, expired]);
    const { emit, user } = renderApp(fake);
    await screen.findByText("acme-backend");
    await emit("open-key", { profile_id: "p1", key_hash: expired.hash });
    const details = await screen.findByRole("dialog");
    await user.click(within(details).getByRole("button", { name: "Include disabled and expired keys" }));
    expect(await within(details).findByText(expired.hash)).toBeInTheDocument();
    expect(screen.getByRole("dialog", { name: "acme-old" })).toBeInTheDocument();
  });

  it("a key that is no longer there says so", async () => {
    const fake = oneProfile([key]);
    const { emit } = renderApp(fake);
    await screen.findByText("acme-backend");
    await emit("open-key", { profile_id: "p1", key_hash: "f".repeat(64) });
    const details = await screen.findByRole("dialog");
    expect(within(details).getByText("This key is not in the list")).toBeInTheDocument();
  });

  it("usage history failing shows the error, the rest still works", async () => {
    const fake = oneProfile([key]);
    fake.failNext("usage_history", { kind: "network", message: "Can't reach OpenRouter at openrouter.ai: connection refused", field: null, retry_after_ms: null });
    const { details } = await openDetails(fake);
    expect(await within(details).findByText("Can't reach OpenRouter at openrouter.ai: connection refused")).toBeInTheDocument();
    expect(within(details).getByText("$420.00")).toBeInTheDocument();
  });
});

describe("usage overview", () => {
  it("u opens total spend across keys over 30 days and the top keys; a top key opens its details", async () => {
    const keys = [key, plain, makeKey({ name: "acme-batch", usage_daily: 9, usage_weekly: 60, usage_monthly: 240, usage: 900 })];
    const fake = oneProfile(keys);
    const { user } = renderApp(fake);
    await screen.findByText("acme-backend");
    await user.keyboard("u");
    const panel = screen.getByRole("dialog", { name: /^Usage/ });
    const figure = await waitFor(() => {
      const f = panel.querySelector("figure.chart");
      expect(f?.querySelector("canvas")).not.toBeNull();
      return f as HTMLElement;
    });
    expect(within(figure.querySelector("table.numbers") as HTMLElement).getAllByRole("row").slice(1)).toHaveLength(30);
    const overview = fake.watch.overview("p1");
    const total = overview.days.reduce((s, d) => s + d.spend, 0);
    expect(within(panel).getByText(new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(total))).toBeInTheDocument();
    const top = within(panel).getAllByRole("listitem");
    expect(top[0]).toHaveTextContent("acme-batch");
    await user.click(within(top[0]).getByRole("button", { name: "acme-batch" }));
    expect(await screen.findByRole("dialog", { name: "acme-batch" })).toBeInTheDocument();
  });
});
