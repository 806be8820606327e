import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { FakeBackend, appError } from "../test/fakeBackend";
import { pageContains, renderApp } from "../test/render";

describe("welcome (nothing stored)", () => {
  it("offers to add a management key or try the sandbox", async () => {
    renderApp(new FakeBackend());
    expect(await screen.findByRole("heading", { name: "Welcome to Keyward" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /Add your management key/ })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: /Try the sandbox/ })).toBeInTheDocument();
  });

  it("opens the sandbox: badge, seeded list", async () => {
    const { user, fake } = renderApp(new FakeBackend({ sandboxKeys: 12 }));
    await user.click(await screen.findByRole("button", { name: /Try the sandbox/ }));
    expect(await screen.findByText("SANDBOX")).toBeInTheDocument();
    expect(await screen.findByText(/^\d+ keys$/)).toBeInTheDocument();
    expect(screen.getAllByRole("row").length).toBeGreaterThan(5);
    expect(fake.callsOf("sandbox_open")).toHaveLength(1);
    expect(fake.callsOf("keys_list")).toContainEqual({ profile_id: "sandbox", include_disabled: true, include_expired: false, refresh: true });
  });

  it("says when the sandbox cannot start", async () => {
    const fake = new FakeBackend();
    fake.failNext("sandbox_open", appError("internal", "port in use"));
    const { user } = renderApp(fake);
    await user.click(await screen.findByRole("button", { name: /Try the sandbox/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Something went wrong inside Keyward");
    expect(screen.getByRole("alert")).toHaveTextContent("port in use");
  });
});

describe("adding a profile", () => {
  async function openForm(fake: FakeBackend) {
    const r = renderApp(fake);
    await r.user.click(await screen.findByRole("button", { name: /Add your management key/ }));
    return r;
  }

  it("masks the key, with a show/hide toggle", async () => {
    const { user } = await openForm(new FakeBackend());
    const field = screen.getByLabelText("Management key");
    expect(field).toHaveAttribute("type", "password");
    await user.click(screen.getByRole("button", { name: "Show" }));
    expect(field).toHaveAttribute("type", "text");
    await user.click(screen.getByRole("button", { name: "Hide" }));
    expect(field).toHaveAttribute("type", "password");
  });

  it("refuses an inference key, explains the difference and where to create a management key; clears the field", async () => {
    const { user, fake } = await openForm(new FakeBackend());
    await user.type(screen.getByLabelText("Management key"), "sk-or-v1-abc123");
    await user.click(screen.getByRole("button", { name: "Check and save" }));
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("That is an inference key, not a management key");
    expect(alert).toHaveTextContent("An inference key calls models");
    // One explanation, the UI's own: the shell's message would only say the same again.
    expect(alert).not.toHaveTextContent("it can call models but cannot manage keys");
    expect(alert.querySelector("a")).toHaveAttribute("href", "https://openrouter.ai/settings/management-keys");
    // Opened in the browser through the opener plugin, not followed inside the webview.
    await user.click(within(alert).getByRole("link", { name: "https://openrouter.ai/settings/management-keys" }));
    await waitFor(() => expect(fake.openedUrls).toEqual(["https://openrouter.ai/settings/management-keys"]));
    expect(screen.getByLabelText("Management key")).toHaveValue("");
    expect(fake.callsOf("profile_add")).toEqual([
      { name: "personal", base_url: null, workspace_id: null, management_key: "sk-or-v1-abc123" },
    ]);
  });

  it("says a wrong key is wrong", async () => {
    const { user } = await openForm(new FakeBackend());
    await user.type(screen.getByLabelText("Management key"), "nonsense");
    await user.click(screen.getByRole("button", { name: "Check and save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The key was rejected by OpenRouter");
    expect(screen.getByLabelText("Management key")).toHaveValue("");
  });

  it("says the keychain is locked and how to fix it", async () => {
    const fake = new FakeBackend();
    fake.keychainBroken = appError("keychain_locked", "The collection is locked.");
    const { user } = await openForm(fake);
    await user.type(screen.getByLabelText("Management key"), "sk-or-mgmt-good");
    await user.keyboard("{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The OS keychain is locked");
    expect(alert).toHaveTextContent("Unlock your keychain");
  });

  it("says the keychain is unavailable and how to fix it", async () => {
    const fake = new FakeBackend();
    fake.keychainBroken = appError("keychain_unavailable", "No Secret Service on the session bus.");
    const { user } = await openForm(fake);
    await user.type(screen.getByLabelText("Management key"), "sk-or-mgmt-good");
    await user.keyboard("{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The OS keychain is not available");
    expect(alert).toHaveTextContent("Secret Service");
  });

  it("saves a management key with name, base URL and workspace, then shows the empty list", async () => {
    const { user, fake } = await openForm(new FakeBackend());
    const name = screen.getByLabelText("Profile name");
    await user.clear(name);
    await user.type(name, "acme-prod");
    await user.type(screen.getByLabelText("Management key"), "sk-or-mgmt-good");
    await user.click(screen.getByText("Base URL and workspace (optional)"));
    await user.type(screen.getByLabelText("Base URL"), "https://example.test/api/v1");
    await user.type(screen.getByLabelText("Workspace"), "ws_1");
    await user.click(screen.getByRole("button", { name: "Check and save" }));
    expect(await screen.findByRole("heading", { name: "No keys yet" })).toBeInTheDocument();
    expect(fake.callsOf("profile_add")).toEqual([
      { name: "acme-prod", base_url: "https://example.test/api/v1", workspace_id: "ws_1", management_key: "sk-or-mgmt-good" },
    ]);
    expect(screen.getByRole("combobox", { name: "Profile" })).toHaveDisplayValue("acme-prod");
    // The management key never comes back to the UI.
    expect(pageContains("sk-or-mgmt-good")).toBe(false);
  });
});

describe("start-up failure", () => {
  it("says what went wrong when the shell cannot load its state", async () => {
    const fake = new FakeBackend();
    fake.failNext("app_state", appError("store", "unable to open database file"));
    renderApp(fake);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Keyward could not read or write its local data");
    expect(alert).toHaveTextContent("unable to open database file");
  });
});
