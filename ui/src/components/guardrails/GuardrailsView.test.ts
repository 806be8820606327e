import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import { appContext, createAppState } from "../../lib/state";
import { makeKey } from "../../test/fakeBackend";
import { makeGuardrail } from "../../test/fakeGuardrails";
import { dataRows, oneProfile, renderApp } from "../../test/render";
import GuardrailsView from "./GuardrailsView.svelte";

const keys = ["acme-prod", "acme-staging", "globex-prod", "globex-ci", "initech-batch"].map((name) => makeKey({ name }));

async function renderView(fake = oneProfile(keys)) {
  mockWindows("main");
  mockIPC(fake.handle, { shouldMockEvents: true });
  const user = userEvent.setup();
  const state = createAppState();
  await state.session.start();
  const result = render(GuardrailsView, { context: appContext(state) });
  return { ...result, user, fake, state };
}

const ID = "550e8400-e29b-41d4-a716-446655440000";

describe("guardrails view", () => {
  it("creates a guardrail; the form's messages come from Rust and Enter in the picker adds a model", async () => {
    const { user, fake } = await renderView();
    await user.click(await screen.findByRole("button", { name: "Create your first guardrail" }));
    const dialog = within(screen.getByRole("dialog", { name: "New guardrail" }));

    await user.click(dialog.getByRole("button", { name: "Create guardrail" }));
    expect(await dialog.findByText("Name must not be empty")).toBeInTheDocument();
    await user.type(dialog.getByLabelText("Budget per key (USD)"), "-5");
    expect(await dialog.findByText("Budget must not be negative")).toBeInTheDocument();
    expect(fake.callsOf("guardrail_validate").length).toBeGreaterThan(0);
    expect(fake.callsOf("guardrail_create")).toEqual([]);

    await user.type(dialog.getByLabelText("Name"), "Production");
    await user.clear(dialog.getByLabelText("Budget per key (USD)"));
    await user.type(dialog.getByLabelText("Budget per key (USD)"), "25");
    await user.selectOptions(dialog.getByLabelText("Budget resets"), "monthly");
    const picker = dialog.getByRole("combobox", { name: "Allowed models" });
    await user.type(picker, "sonnet");
    await waitFor(() => expect(within(dialog.getByRole("listbox")).getByRole("option", { selected: true })).toHaveTextContent("anthropic/claude-sonnet-4"));
    await user.keyboard("{Enter}");
    await user.type(picker, "gpt-4.1");
    await user.keyboard("{ArrowDown}{Enter}");
    expect(dialog.getByRole("button", { name: "Remove anthropic/claude-sonnet-4" })).toBeInTheDocument();
    expect(dialog.getByRole("button", { name: "Remove openai/gpt-4.1-mini" })).toBeInTheDocument();
    await user.click(dialog.getByRole("switch", { name: "OpenAI" }));
    await user.click(dialog.getByRole("button", { name: "Create guardrail" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("guardrail_create")).toEqual([{
      profile_id: "p1",
      request: {
        name: "Production", limit_usd: 25, reset_interval: "monthly",
        allowed_models: ["anthropic/claude-sonnet-4", "openai/gpt-4.1-mini"], enforce_zdr_openai: true,
      },
    }]);
    const row = (await screen.findByRole("button", { name: "Production" })).closest("[role=row]") as HTMLElement;
    expect(row).toHaveTextContent("$25.00 / month");
    expect(row).toHaveTextContent("OpenAI");
  });

  it("the picker: ↑/↓ move, Backspace removes the last chip, Esc closes the list but not the dialog", async () => {
    const { user } = await renderView();
    await user.click(await screen.findByRole("button", { name: "New guardrail" }));
    const dialog = within(screen.getByRole("dialog", { name: "New guardrail" }));
    const picker = dialog.getByRole("combobox", { name: "Allowed models" });
    await user.type(picker, "gemini");
    await waitFor(() => expect(within(dialog.getByRole("listbox")).getAllByRole("option")).toHaveLength(2));
    await user.keyboard("{ArrowDown}{ArrowDown}{ArrowUp}{ArrowDown}{Enter}");
    expect(dialog.getByRole("button", { name: "Remove google/gemini-2.5-flash" })).toBeInTheDocument();
    await user.type(picker, "zzz");
    expect(dialog.getByText('No model matches "zzz"')).toBeInTheDocument();
    await user.clear(picker);
    await user.keyboard("{Backspace}");
    expect(dialog.queryByRole("button", { name: /^Remove / })).not.toBeInTheDocument();
    await user.type(picker, "o3");
    expect(picker).toHaveAttribute("aria-expanded", "true");
    await user.keyboard("{Escape}");
    expect(picker).toHaveAttribute("aria-expanded", "false");
    expect(screen.getByRole("dialog", { name: "New guardrail" })).toBeInTheDocument();
  });

  it("assigns many keys in one request, then removes one", async () => {
    const fake = oneProfile(keys);
    fake.guardrails.add(makeGuardrail({ id: ID, name: "Prod" }));
    const other = makeGuardrail({ id: "650e8400-e29b-41d4-a716-446655440000", name: "Dev" });
    fake.guardrails.add(other, [keys[4].hash]);
    const { user } = await renderView(fake);
    await user.click(await screen.findByRole("button", { name: "Prod" }));
    await user.click(screen.getByRole("button", { name: "Assign keys…" }));
    const dialog = within(screen.getByRole("dialog", { name: "Assign keys to Prod" }));
    expect(dialog.getByText("replaces Dev")).toBeInTheDocument();
    await user.type(dialog.getByLabelText("Filter keys"), "acme");
    await user.click(dialog.getByLabelText("Select all shown"));
    await user.clear(dialog.getByLabelText("Filter keys"));
    await user.click(dialog.getByRole("checkbox", { name: /globex-prod/ }));
    await user.click(dialog.getByRole("button", { name: "Assign 3 keys" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("guardrail_assign")).toEqual([{
      profile_id: "p1", guardrail_id: ID, key_hashes: [keys[0].hash, keys[1].hash, keys[2].hash], member_user_ids: [],
    }]);
    const assigned = await screen.findByRole("list", { name: "Keys with Prod" });
    expect(within(assigned).getAllByRole("listitem")).toHaveLength(3);

    await user.click(within(assigned).getByRole("button", { name: "Remove acme-staging from Prod" }));
    await waitFor(() => expect(within(screen.getByRole("list", { name: "Keys with Prod" })).getAllByRole("listitem")).toHaveLength(2));
    expect(fake.callsOf("guardrail_unassign")).toEqual([{ profile_id: "p1", guardrail_id: ID, key_hashes: [keys[1].hash], member_user_ids: [] }]);
  });

  it("delete asks first and says how many keys lose the guardrail", async () => {
    const fake = oneProfile(keys);
    fake.guardrails.add(makeGuardrail({ id: ID, name: "Prod" }), [keys[0].hash, keys[1].hash, keys[2].hash]);
    const { user } = await renderView(fake);
    await user.click(await screen.findByRole("button", { name: "Delete Prod" }));
    const dialog = within(screen.getByRole("dialog", { name: "Delete Prod?" }));
    expect(dialog.getByText(/3 keys lose this guardrail/)).toBeInTheDocument();
    await user.click(dialog.getByRole("button", { name: "Cancel" }));
    expect(fake.callsOf("guardrail_delete")).toEqual([]);

    await user.click(screen.getByRole("button", { name: "Delete Prod" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Delete guardrail" }));
    await waitFor(() => expect(fake.callsOf("guardrail_delete")).toEqual([{ profile_id: "p1", guardrail_id: ID }]));
    expect(await screen.findByText("No guardrails yet")).toBeInTheDocument();
  });

  it("editing sends only what changed; clearing the models sends null", async () => {
    const fake = oneProfile(keys);
    fake.guardrails.add(makeGuardrail({ id: ID, name: "Prod", allowed_models: ["openai/gpt-4.1"], limit_usd: 10 }));
    const { user } = await renderView(fake);
    await user.click(await screen.findByRole("button", { name: "Edit Prod" }));
    const dialog = within(screen.getByRole("dialog", { name: "Edit Prod" }));
    expect(dialog.getByRole("button", { name: "Save changes" })).toBeDisabled();
    await user.click(dialog.getByRole("button", { name: "Remove openai/gpt-4.1" }));
    await user.click(dialog.getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(fake.callsOf("guardrail_update")).toEqual([{ profile_id: "p1", guardrail_id: ID, request: { allowed_models: null } }]));
    const row = (await screen.findByRole("button", { name: "Prod" })).closest("[role=row]") as HTMLElement;
    await waitFor(() => expect(row).toHaveTextContent("All models"));
  });

  it("the key list shows each key's guardrail, or —", async () => {
    const fake = oneProfile(keys);
    fake.guardrails.add(makeGuardrail({ id: ID, name: "Prod" }), [keys[0].hash]);
    renderApp(fake);
    await screen.findByText("acme-prod");
    await waitFor(() => {
      const row = dataRows(document.body).find((r) => r.dataset.hash === keys[0].hash);
      expect(row).toHaveTextContent("Prod");
    });
    const other = dataRows(document.body).find((r) => r.dataset.hash === keys[1].hash);
    expect(other).toHaveTextContent("—");
    expect(screen.getByRole("columnheader", { name: "Guardrail" })).toBeInTheDocument();
  });
});
