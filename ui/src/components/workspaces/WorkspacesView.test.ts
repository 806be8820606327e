// The Workspaces view: reached from the tab bar (mouse, arrows, Ctrl+2), each workspace's spend,
// budgets and members, editing and removing a budget (confirmed), the core's verdict under a field,
// and the error state.
import { screen, waitFor, within } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import { appError, makeKey } from "../../test/fakeBackend";
import { DEFAULT_WS, RESEARCH_WS } from "../../test/fakeWorkspaces";
import { oneProfile, renderApp } from "../../test/render";

function account() {
  return oneProfile([
    makeKey({ name: "home-api", workspace_id: DEFAULT_WS, usage_monthly: 3, usage: 10 }),
    makeKey({ name: "lab-eval", workspace_id: RESEARCH_WS, usage_monthly: 40, usage: 90 }),
    makeKey({ name: "lab-train", workspace_id: RESEARCH_WS, usage_monthly: 60, usage: 100 }),
  ]);
}

async function openWorkspaces() {
  const r = renderApp(account());
  await screen.findByText("lab-eval");
  await r.user.click(screen.getByRole("tab", { name: "Workspaces" }));
  const card = await screen.findByRole("article", { name: "Research" });
  await within(card).findByRole("heading", { name: "Members" });
  return { ...r, card: within(card) };
}

describe("workspaces view", () => {
  // The chosen view lasts the window's session: each test starts a new one.
  beforeEach(() => sessionStorage.clear());

  it("is a tab: arrow keys and Ctrl+2 switch views", async () => {
    const { user } = renderApp(account());
    await screen.findByText("lab-eval");
    const keysTab = screen.getByRole("tab", { name: "Keys" });
    expect(keysTab).toHaveAttribute("aria-selected", "true");
    keysTab.focus();
    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "Workspaces" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tab", { name: "Workspaces" })).toHaveFocus();
    expect(await screen.findByRole("article", { name: "Research" })).toBeInTheDocument();
    await user.keyboard("{Control>}1{/Control}");
    expect(screen.getByRole("tab", { name: "Keys" })).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByText("lab-eval")).toBeInTheDocument();
    await user.keyboard("{Control>}2{/Control}");
    expect(await screen.findByRole("article", { name: "Research" })).toBeInTheDocument();
    expect(sessionStorage.getItem("keyward.view")).toBe("workspaces");
  });

  it("shows each workspace's keys, spend, budgets and named members", async () => {
    const { card } = await openWorkspaces();
    expect(card.getByText("research")).toBeInTheDocument();
    expect(card.getByText("Model experiments and evals")).toBeInTheDocument();
    expect(card.getByText("Keys").nextElementSibling?.textContent).toBe("2");
    expect(card.getByText("Spend this month").nextElementSibling?.textContent).toBe("$100.00");
    const monthly = card.getByRole("row", { name: /Monthly/ });
    expect(within(monthly).getAllByRole("cell").map((c) => c.textContent?.trim())).toEqual(["$250.00", "$100.00", "$150.00", ""]);
    expect(within(monthly).getByRole("meter")).toHaveAttribute("aria-valuenow", "40");
    expect(within(card.getByRole("row", { name: /Daily/ })).getByText("no budget")).toBeInTheDocument();
    expect(card.getByText("Ada Lovelace")).toBeInTheDocument();
    expect(card.getByText("ada@acme.test")).toBeInTheDocument();
  });

  it("sets a budget, showing the core's verdict under the field first", async () => {
    const { user, card, fake } = await openWorkspaces();
    await user.click(card.getByRole("button", { name: "Edit budgets of Research" }));
    const dialog = within(screen.getByRole("dialog", { name: "Budgets of Research" }));
    await user.type(dialog.getByLabelText("Weekly (USD)"), "lots");
    await user.click(dialog.getByRole("button", { name: "Save budgets" }));
    expect(await dialog.findByText('Weekly budget "lots" is not a number of US dollars')).toBeInTheDocument();
    await user.clear(dialog.getByLabelText("Weekly (USD)"));
    await user.type(dialog.getByLabelText("Weekly (USD)"), "80");
    await user.click(dialog.getByRole("button", { name: "Save budgets" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("workspace_budget_set").at(-1)).toEqual({ profile_id: "p1", workspace_id: RESEARCH_WS, interval: "weekly", limit_usd: "80" });
    expect(within(card.getByRole("row", { name: /Weekly/ })).getAllByRole("cell")[0]).toHaveTextContent("$80.00");
  });

  it("removes a budget only after confirmation", async () => {
    const { user, card, fake } = await openWorkspaces();
    await user.click(card.getByRole("button", { name: "Edit budgets of Research" }));
    const dialog = within(screen.getByRole("dialog", { name: "Budgets of Research" }));
    await user.click(dialog.getByRole("button", { name: "Remove the monthly budget" }));
    await user.click(dialog.getByRole("button", { name: "Save budgets" }));
    expect(dialog.getByText("Remove the monthly budget of Research?")).toBeInTheDocument();
    expect(fake.callsOf("workspace_budget_delete")).toEqual([]);
    await user.click(dialog.getByRole("button", { name: "Remove and save" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(fake.callsOf("workspace_budget_delete")).toEqual([{ profile_id: "p1", workspace_id: RESEARCH_WS, interval: "monthly" }]);
    expect(within(card.getByRole("row", { name: /Monthly/ })).getByText("no budget")).toBeInTheDocument();
  });

  it("shows a failed workspace as words with a way to try again", async () => {
    const fake = account();
    fake.failNext("workspace_details", appError("forbidden", "OpenRouter refused: this key may not read workspaces."), 2);
    const { user } = renderApp(fake);
    await screen.findByText("lab-eval");
    await user.click(screen.getByRole("tab", { name: "Workspaces" }));
    const alerts = await screen.findAllByRole("alert");
    expect(alerts.length).toBeGreaterThan(0);
    const retry = screen.getAllByRole("button", { name: "Try again" });
    await user.click(retry[0]);
    await waitFor(() => expect(screen.getAllByRole("button", { name: /Edit budgets of/ }).length).toBeGreaterThan(0));
  });
});
