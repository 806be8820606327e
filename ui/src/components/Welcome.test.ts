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
    fake.failNext("sandbox_open", appError("internal", "Keyward failed internally: the sandbox could not start: port in use"));
    const { user } = renderApp(fake);
    await user.click(await screen.findByRole("button", { name: /Try the sandbox/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Keyward failed internally: the sandbox could not start: port in use");
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
    // The explanation is the core's sentence; the UI adds only the link.
    expect(alert).toHaveTextContent("sk-or-v1-abc... is an inference key: it can call models but cannot manage keys.");
    // The page is named once (in the sentence), not again beside the link.
    expect(alert.textContent!.split("https://openrouter.ai/settings/management-keys").length).toBe(2);
    expect(alert.querySelector("a")).toHaveAttribute("href", "https://openrouter.ai/settings/management-keys");
    // Opened in the browser through the opener plugin, not followed inside the webview.
    await user.click(within(alert).getByRole("link", { name: "Open the management keys page" }));
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
    expect(await screen.findByRole("alert")).toHaveTextContent("OpenRouter rejected the key (Invalid API key).");
    expect(screen.getByLabelText("Management key")).toHaveValue("");
  });

  it("says the keychain is locked and how to fix it", async () => {
    const fake = new FakeBackend();
    fake.keychainBroken = appError("keychain_locked", "The system keychain is locked: unlock it (e.g. with Seahorse or by logging in again) and try again");
    const { user } = await openForm(fake);
    await user.type(screen.getByLabelText("Management key"), "sk-or-mgmt-good");
    await user.keyboard("{Enter}");
    const alert = await screen.findByRole("alert");
    // The core's sentence says what is wrong and how to fix it, once: no second headline before it.
    expect(alert.querySelector("strong")).toHaveTextContent(/^The system keychain is locked: unlock it/);
    expect(alert.textContent?.match(/locked/g)).toHaveLength(1);
  });

  it("says the keychain is unavailable and how to fix it", async () => {
    const fake = new FakeBackend();
    fake.keychainBroken = appError("keychain_unavailable", "The system keychain is unavailable: no Secret Service is running: install and start gnome-keyring or KeePassXC's Secret Service integration, then try again");
    const { user } = await openForm(fake);
    await user.type(screen.getByLabelText("Management key"), "sk-or-mgmt-good");
    await user.keyboard("{Enter}");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The system keychain is unavailable: no Secret Service is running");
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
    fake.failNext("app_state", appError("store", "Keyward's local data failed: unable to open database file"));
    renderApp(fake);
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Keyward's local data failed: unable to open database file");
  });
});
