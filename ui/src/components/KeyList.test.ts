import { act, fireEvent, screen, waitFor, within } from "@testing-library/svelte";
import { afterEach, describe, expect, it, vi } from "vitest";
import { appError, makeKey, makeProfile, seedKeys, FakeBackend } from "../test/fakeBackend";
import { dataRows, oneProfile, renderApp } from "../test/render";

const DAY = 24 * 3600e3;

afterEach(() => {
  vi.useRealTimers();
});

describe("key list", () => {
  it("shows skeleton rows while the first answer is on its way", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    let release: () => void = () => {};
    const gate = new Promise<void>((ok) => (release = ok));
    const handle = fake.handle;
    fake.handle = async (cmd, payload) => {
      if (cmd === "keys_list") await gate;
      return handle(cmd, payload);
    };
    renderApp(fake);
    expect(await screen.findByLabelText("Loading keys")).toBeInTheDocument();
    release();
    expect(await screen.findByText("alpha")).toBeInTheDocument();
    expect(screen.queryByLabelText("Loading keys")).not.toBeInTheDocument();
  });

  it("shows every column a person needs, money as USD and dates relative with the absolute in a tooltip", async () => {
    const now = Date.now();
    const key = makeKey({
      name: "acme-backend", label: "sk-or-v1-abc...xyz", limit: 100, limit_remaining: 25.5, limit_reset: "monthly",
      include_byok_in_limit: true, usage: 1234.5, usage_daily: 1.25, usage_weekly: 5, usage_monthly: 74.5,
      expires_at: new Date(now + 3 * DAY).toISOString(), created_at: new Date(now - 10 * DAY).toISOString(),
      last_used_at: new Date(now - 2 * 60_000).toISOString(),
    });
    const { container } = renderApp(oneProfile([key]));
    await screen.findByText("acme-backend");
    const row = dataRows(container)[0];
    const r = within(row);
    expect(r.getByText("sk-or-v1-abc...xyz")).toBeInTheDocument();
    expect(r.getByText("active")).toBeInTheDocument();
    for (const money of ["$1.25", "$5.00", "$74.50", "$1,234.50", "$25.50"]) expect(r.getByText(money)).toBeInTheDocument();
    expect(r.getByText(/left of \$100\.00$/)).toBeInTheDocument();
    expect(r.getByRole("meter", { name: "Spend against limit" })).toHaveAttribute("aria-valuenow", "75");
    expect(r.getByText("monthly")).toBeInTheDocument();
    expect(r.getByText("incl.")).toBeInTheDocument();
    const expiry = r.getByText("in 3 days");
    expect(expiry.closest(".cell")).toHaveClass("soon");
    expect(expiry).toHaveAttribute("title", expect.stringMatching(/\d{4}/));
    expect(r.getByText("2 min. ago")).toBeInTheDocument();
  });

  it("says when there are no keys yet and offers to create one", async () => {
    const { user } = renderApp(oneProfile([]));
    expect(await screen.findByRole("heading", { name: "No keys yet" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create your first key" }));
    expect(screen.getByRole("dialog", { name: "New key" })).toBeInTheDocument();
  });

  it("renders only a window of 10,000 rows; sorting and filtering work on all of them", async () => {
    // Expired keys are left out by default (include expired is off), so keep all 10,000 unexpired.
    const keys = seedKeys(10_000).map((k) => (k.status === "expired" ? { ...k, status: "active" as const, expires_at: null } : k));
    const { container, user } = renderApp(oneProfile(keys));
    await screen.findByText("10,000 keys");
    const rendered = dataRows(container).length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);

    // No timing here: a timed test fails on a loaded machine and proves nothing about speed (the
    // row count below is what shows the list stays virtualized after a sort).
    await user.click(screen.getByRole("button", { name: "Total" }));
    const header = screen.getByRole("button", { name: "Total" }).closest("[role=columnheader]");
    expect(header).toHaveAttribute("aria-sort", "descending");
    const maxUsage = Math.max(...keys.map((k) => k.usage));
    const top = keys.find((k) => k.usage === maxUsage)!;
    expect(within(dataRows(container)[0]).getByText(top.name)).toBeInTheDocument();
    expect(dataRows(container).length).toBeLessThan(60);

    // Press again: ascending.
    await user.click(screen.getByRole("button", { name: "Total" }));
    expect(header).toHaveAttribute("aria-sort", "ascending");
    const minUsage = Math.min(...keys.map((k) => k.usage));
    expect(dataRows(container)[0].dataset.hash).toBe(keys.find((k) => k.usage === minUsage)!.hash);

    await user.click(screen.getByLabelText(/80 % of limit/));
    const expected = keys.filter((k) => k.limit !== null && (k.limit - (k.limit_remaining ?? 0)) / k.limit >= 0.8).length;
    expect(screen.getByText(`${expected.toLocaleString("en-US")} of 10,000`)).toBeInTheDocument();
    expect(dataRows(container).length).toBeLessThan(60);
  });

  it("counts keys in words: 1 key, 2 keys", async () => {
    renderApp(oneProfile([makeKey({ name: "solo" })]));
    expect(await screen.findByText("1 key")).toBeInTheDocument();
  });

  it("searches by name, label or hash and offers to clear filters when nothing matches", async () => {
    const keys = [makeKey({ name: "alpha" }), makeKey({ name: "beta" }), makeKey({ name: "gamma", hash: "abc".padEnd(64, "0") })];
    const { user } = renderApp(oneProfile(keys));
    await screen.findByText("alpha");
    await user.keyboard("/");
    const search = screen.getByRole("searchbox", { name: "Search keys" });
    expect(search).toHaveFocus();
    await user.type(search, "BET");
    expect(screen.getByText("beta")).toBeInTheDocument();
    expect(screen.queryByText("alpha")).not.toBeInTheDocument();
    await user.clear(search);
    await user.type(search, "abc0");
    expect(screen.getByText("gamma")).toBeInTheDocument();
    await user.type(search, "zzz");
    expect(screen.getByRole("heading", { name: "No keys match" })).toBeInTheDocument();
    await user.click(screen.getAllByRole("button", { name: "Clear filters" })[0]);
    expect(search).toHaveValue("");
    expect(screen.getByText("alpha")).toBeInTheDocument();
  });

  it("filters by status and sorts from the keyboard", async () => {
    const keys = [makeKey({ name: "b-on" }), makeKey({ name: "a-off", disabled: true, status: "disabled" })];
    const { user, container } = renderApp(oneProfile(keys));
    await screen.findByText("b-on");
    await user.selectOptions(screen.getByLabelText("Status"), "disabled");
    expect(dataRows(container).map((r) => r.dataset.hash)).toEqual([keys[1].hash]);
    await user.selectOptions(screen.getByLabelText("Status"), "all");
    screen.getByRole("button", { name: "Name" }).focus();
    await user.keyboard("{Enter}");
    expect(within(dataRows(container)[0]).getByText("a-off")).toBeInTheDocument();
    await user.keyboard(" ");
    expect(within(dataRows(container)[0]).getByText("b-on")).toBeInTheDocument();
  });

  it("asks the shell again when include disabled / include expired change", async () => {
    const { user, fake } = renderApp(oneProfile([makeKey({ name: "alpha" })]));
    await screen.findByText("alpha");
    await user.click(screen.getByLabelText("expired"));
    await waitFor(() => expect(fake.callsOf("keys_list").at(-1)).toEqual({ profile_id: "p1", include_disabled: true, include_expired: true, refresh: false }));
    await user.click(screen.getByLabelText("disabled"));
    await waitFor(() => expect(fake.callsOf("keys_list").at(-1)).toEqual({ profile_id: "p1", include_disabled: false, include_expired: true, refresh: false }));
  });

  it("refreshes with the button and with r, showing progress and the time of the last refresh", async () => {
    const { user, fake } = renderApp(oneProfile([makeKey({ name: "alpha" })]));
    await screen.findByText("alpha");
    expect(await screen.findByText(/updated just now/)).toBeInTheDocument();
    const before = fake.callsOf("keys_list").length;
    await user.click(screen.getByRole("button", { name: "Refresh" }));
    await user.keyboard("r");
    await waitFor(() => expect(fake.callsOf("keys_list").length).toBe(before + 2));
    expect(fake.callsOf("keys_list").slice(before).every((a) => (a as { refresh: boolean }).refresh)).toBe(true);
    expect(fake.callsOf("credits_get").length).toBeGreaterThanOrEqual(3);
  });

  it("shows account credits in the header", async () => {
    renderApp(oneProfile([]));
    const credits = await screen.findByLabelText("Account credits");
    await waitFor(() => expect(credits).toHaveTextContent("$150.00"));
    expect(credits).toHaveTextContent("$42.37");
    expect(credits).toHaveTextContent("$107.63");
  });

  it("unauthorized: names the profile and replaces the key", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.failNext("keys_list", appError("unauthorized", "OpenRouter rejected the key (Invalid API key). Check the key Keyward uses, or paste a new one."), 2);
    const { user } = renderApp(fake);
    expect(await screen.findByText(/The management key of acme-prod may have been deleted or revoked/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Replace key" }));
    const dialog = screen.getByRole("dialog", { name: "Replace the management key for acme-prod" });
    await user.type(within(dialog).getByLabelText("Management key"), "sk-or-mgmt-new");
    await user.click(within(dialog).getByRole("button", { name: "Check and replace key" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("profile_replace_key")).toEqual([{ id: "p1", management_key: "sk-or-mgmt-new" }]);
    expect(await screen.findByText("alpha")).toBeInTheDocument();
  });

  it("other errors read as words, not a dump", async () => {
    const fake = oneProfile([]);
    fake.failNext("keys_list", appError("store", "Keyward's local data failed: database is locked"), 2);
    renderApp(fake);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Keyward's local data failed: database is locked");
    expect(alert.textContent).not.toContain("{");
  });

  it("a network failure shows the offline banner", async () => {
    const fake = oneProfile([]);
    fake.failNext("keys_list", appError("network", "connection refused"), 2);
    renderApp(fake);
    expect(await screen.findByText("OpenRouter is unreachable")).toBeInTheDocument();
  });

  it("offline with nothing cached says so instead of 'no keys yet'", async () => {
    const fake = oneProfile([]);
    fake.connectivity.p1 = { state: "offline", since: new Date().toISOString(), next_retry_at: null, error: appError("timeout", "timed out") };
    renderApp(fake);
    expect(await screen.findByRole("heading", { name: "Nothing cached yet" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "No keys yet" })).not.toBeInTheDocument();
  });
});

describe("offline and rate limited", () => {
  function offlineFake() {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.fetchedAt.p1 = new Date(Date.now() - 42 * 60_000).toISOString();
    fake.connectivity.p1 = {
      state: "offline",
      since: new Date(Date.now() - 5 * 60_000).toISOString(),
      next_retry_at: new Date(Date.now() + 12_000).toISOString(),
      error: appError("network", "connection refused"),
    };
    return fake;
  }

  it("shows the cached list read-only, says since when and that it retries by itself", async () => {
    const { user } = renderApp(offlineFake());
    await screen.findByText("alpha");
    const banner = screen.getByText("OpenRouter is unreachable").closest("[role=status]")!;
    expect(banner).toHaveTextContent("since 5 min. ago");
    expect(banner).toHaveTextContent("cached list from 42 min. ago");
    expect(banner).toHaveTextContent("read-only");
    expect(banner).toHaveTextContent(/retries by itself in (12|11) s/);
    expect(screen.getByRole("button", { name: "New key" })).toHaveAttribute("aria-disabled", "true");
    const edit = screen.getByRole("button", { name: "Edit alpha" });
    expect(edit).toHaveAttribute("aria-disabled", "true");
    expect(edit).toHaveAttribute("title", expect.stringContaining("unreachable"));
    await user.click(edit);
    await user.click(screen.getByRole("button", { name: "Delete alpha" }));
    await user.click(screen.getByRole("button", { name: "New key" }));
    await user.keyboard("n");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });

  it("recovers on a connectivity event", async () => {
    const fake = offlineFake();
    const { emit } = renderApp(fake);
    await screen.findByText("OpenRouter is unreachable");
    fake.connectivity.p1 = { state: "online" };
    await act(() => emit("connectivity", { profile_id: "p1", connectivity: { state: "online" } }));
    await waitFor(() => expect(screen.queryByText("OpenRouter is unreachable")).not.toBeInTheDocument());
    expect(screen.getByRole("button", { name: "New key" })).toHaveAttribute("aria-disabled", "false");
    expect(screen.getByRole("button", { name: "Edit alpha" })).toHaveAttribute("aria-disabled", "false");
  });

  it("ignores events for other profiles, reloads on keys-changed", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    const { emit } = renderApp(fake);
    await screen.findByText("alpha");
    await act(() => emit("connectivity", { profile_id: "other", connectivity: { state: "offline", since: new Date().toISOString(), next_retry_at: null, error: appError("network", "x") } }));
    expect(screen.queryByText("OpenRouter is unreachable")).not.toBeInTheDocument();
    fake.keys.p1 = [...fake.keys.p1, makeKey({ name: "beta" })];
    await act(() => emit("keys-changed", { profile_id: "p1" }));
    expect(await screen.findByText("beta")).toBeInTheDocument();
  });

  it("offline: counts down to the core's next retry and follows each new one", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["setInterval", "clearInterval", "Date"] });
    const fake = offlineFake();
    const { emit } = renderApp(fake);
    await screen.findByText("OpenRouter is unreachable");
    expect(screen.getByTestId("retry-countdown")).toHaveTextContent(/^(12|11) s$/);
    await act(() => vi.advanceTimersByTime(5_000));
    expect(screen.getByTestId("retry-countdown")).toHaveTextContent(/^(7|6) s$/);
    await act(() => vi.advanceTimersByTime(8_000));
    expect(screen.getByText("OpenRouter is unreachable").closest("[role=status]")).toHaveTextContent("Retrying now…");
    // The retry failed: the core announces the next one, further away.
    const since = fake.connectivity.p1.state === "offline" ? fake.connectivity.p1.since : "";
    const next = { state: "offline", since, next_retry_at: new Date(Date.now() + 24_000).toISOString(), error: appError("network", "connection refused") } as const;
    await act(() => emit("connectivity", { profile_id: "p1", connectivity: next }));
    expect(screen.getByTestId("retry-countdown")).toHaveTextContent(/^(24|23) s$/);
    expect(screen.getByText("OpenRouter is unreachable").closest("[role=status]")).toHaveTextContent("since 5 min. ago");
  });

  it("offline without an automatic retry asks for a refresh", async () => {
    const fake = offlineFake();
    if (fake.connectivity.p1.state === "offline") fake.connectivity.p1 = { ...fake.connectivity.p1, next_retry_at: null };
    renderApp(fake);
    const banner = (await screen.findByText("OpenRouter is unreachable")).closest("[role=status]")!;
    expect(banner).toHaveTextContent("Refresh to try again.");
    expect(screen.queryByTestId("retry-countdown")).not.toBeInTheDocument();
  });

  it("rate limited: counts down to the retry", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true, toFake: ["setInterval", "clearInterval", "Date"] });
    const fake = oneProfile([makeKey({ name: "alpha" })]);
    fake.connectivity.p1 = { state: "rate_limited", retry_at: new Date(Date.now() + 30_000).toISOString(), error: appError("rate_limited", "Rate limit exceeded", null, 30_000) };
    renderApp(fake);
    await screen.findByText("OpenRouter is rate limiting Keyward");
    expect(screen.getByTestId("retry-countdown")).toHaveTextContent(/^(30|29) s$/);
    await act(() => vi.advanceTimersByTime(10_000));
    expect(screen.getByTestId("retry-countdown")).toHaveTextContent(/^(20|19) s$/);
    expect(screen.getByRole("button", { name: "New key" })).toHaveAttribute("aria-disabled", "true");
    await act(() => vi.advanceTimersByTime(21_000));
    expect(screen.getByText("Retrying now…")).toBeInTheDocument();
  });
});

describe("profiles and sandbox", () => {
  it("shows the SANDBOX badge only for the sandbox profile", async () => {
    const fake = new FakeBackend({
      profiles: [makeProfile("p1", "personal"), makeProfile("sandbox", "sandbox", { is_sandbox: true })],
      activeId: "p1", keys: { p1: [makeKey({ name: "mine" })], sandbox: [makeKey({ name: "demo" })] },
    });
    const { user } = renderApp(fake);
    await screen.findByText("mine");
    expect(screen.queryByText("SANDBOX")).not.toBeInTheDocument();
    await user.selectOptions(screen.getByRole("combobox", { name: "Profile" }), "sandbox");
    expect(await screen.findByText("demo")).toBeInTheDocument();
    expect(screen.getByText("SANDBOX")).toBeInTheDocument();
    expect(fake.callsOf("profile_switch")).toEqual([{ id: "sandbox" }]);
  });

  it("renames and removes a profile (removal is confirmed and mentions the keychain)", async () => {
    const fake = new FakeBackend({
      profiles: [makeProfile("p1", "personal"), makeProfile("p2", "acme-prod")],
      activeId: "p1", keys: { p1: [], p2: [] },
    });
    const { user } = renderApp(fake);
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "Manage profiles" }));
    await user.click(screen.getByRole("button", { name: "Rename acme-prod" }));
    const input = screen.getByLabelText("New name for acme-prod");
    await user.clear(input);
    await user.type(input, "acme-production{Enter}");
    const profiles = screen.getByRole("dialog", { name: "Profiles" });
    expect(await within(profiles).findByText("acme-production")).toBeInTheDocument();
    expect(fake.callsOf("profile_rename")).toEqual([{ id: "p2", name: "acme-production" }]);

    await user.click(screen.getByRole("button", { name: "Remove acme-production" }));
    const dialog = screen.getByRole("dialog", { name: "Remove “acme-production”?" });
    expect(dialog).toHaveTextContent("deletes its management key from your OS keychain");
    expect(fake.callsOf("profile_remove")).toEqual([]);
    await user.click(within(dialog).getByRole("button", { name: "Remove profile and its keychain entry" }));
    await waitFor(() => expect(fake.callsOf("profile_remove")).toEqual([{ id: "p2" }]));
    expect(within(screen.getByRole("combobox", { name: "Profile" })).queryByText("acme-production")).not.toBeInTheDocument();
  });

  it("removing the last profile returns to the welcome screen", async () => {
    const { user } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.click(screen.getByRole("button", { name: "Manage profiles" }));
    await user.click(screen.getByRole("button", { name: "Remove acme-prod" }));
    await user.click(screen.getByRole("button", { name: "Remove profile and its keychain entry" }));
    expect(await screen.findByRole("heading", { name: "Welcome to Keyward" })).toBeInTheDocument();
  });
});

describe("keyboard", () => {
  it("? shows the shortcuts; Esc closes and gives focus back", async () => {
    const { user } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    const trigger = screen.getByRole("button", { name: "Keyboard shortcuts" });
    await user.click(trigger);
    const dialog = screen.getByRole("dialog", { name: "Keyboard shortcuts" });
    expect(dialog).toHaveTextContent("New key");
    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(trigger).toHaveFocus();
    await user.keyboard("?");
    expect(screen.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeInTheDocument();
  });

  it("keeps Tab inside an open dialog", async () => {
    const { user } = renderApp(oneProfile([]));
    await screen.findByRole("heading", { name: "No keys yet" });
    await user.keyboard("n");
    const dialog = screen.getByRole("dialog", { name: "New key" });
    expect(within(dialog).getByLabelText("Name")).toHaveFocus();
    for (let i = 0; i < 20; i++) {
      await user.tab();
      expect(dialog.contains(document.activeElement)).toBe(true);
    }
    await user.tab({ shift: true });
    expect(dialog.contains(document.activeElement)).toBe(true);
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  });
});

describe("more profiles", () => {
  it("adds a second profile from the Profiles dialog and switches to it", async () => {
    const { user, fake } = renderApp(oneProfile([makeKey({ name: "alpha" })]));
    await screen.findByText("alpha");
    await user.click(screen.getByRole("button", { name: "Manage profiles" }));
    await user.click(screen.getByRole("button", { name: "Add profile" }));
    const dialog = screen.getByRole("dialog", { name: "Add a profile" });
    await user.type(within(dialog).getByLabelText("Profile name"), "personal");
    await user.type(within(dialog).getByLabelText("Management key"), "sk-or-mgmt-2{Enter}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("profile_add")).toEqual([{ name: "personal", base_url: null, workspace_id: null, management_key: "sk-or-mgmt-2" }]);
    expect(screen.getByRole("combobox", { name: "Profile" })).toHaveDisplayValue("personal");
    expect(await screen.findByRole("heading", { name: "No keys yet" })).toBeInTheDocument();
  });
});

describe("focus after dialogs", () => {
  it("returns to New key after the created-secret dialog closes", async () => {
    const { user } = renderApp(oneProfile([makeKey({ name: "alpha" })]));
    await screen.findByText("alpha");
    await user.click(screen.getByRole("button", { name: "New key" }));
    await user.type(screen.getByLabelText("Name"), "k{Enter}");
    const secretDialog = await screen.findByRole("dialog", { name: "Key created — copy its secret now" });
    expect(secretDialog.contains(document.activeElement)).toBe(true);
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(screen.getByRole("button", { name: "New key" })).toHaveFocus();
  });
});
