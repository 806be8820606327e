// The key list across workspaces: the workspace column (names, not ids), the filter, grouping with
// counts, and "New key" asking which workspace (defaulting to the filter's).
import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { DEFAULT_WS, RESEARCH_WS } from "../test/fakeWorkspaces";
import { dataRows, oneProfile, renderApp } from "../test/render";

function account() {
  return oneProfile([
    makeKey({ name: "home-api", workspace_id: DEFAULT_WS }),
    makeKey({ name: "lab-eval", workspace_id: RESEARCH_WS }),
    makeKey({ name: "lab-train", workspace_id: RESEARCH_WS }),
  ]);
}

const names = (container: HTMLElement) => dataRows(container).map((row) => row.querySelector(".name")?.textContent);

describe("key list across workspaces", () => {
  it("names each key's workspace in its own column", async () => {
    const { container } = renderApp(account());
    await screen.findByText("lab-eval");
    expect(await screen.findByRole("columnheader", { name: "Workspace" })).toBeInTheDocument();
    const row = dataRows(container).find((r) => r.textContent?.includes("lab-eval"));
    expect(row?.querySelector(".cell.workspace")?.textContent).toBe("Research");
    expect(container.textContent).not.toContain(RESEARCH_WS);
  });

  it("filters to one workspace and back", async () => {
    const { user, container } = renderApp(account());
    await screen.findByText("lab-eval");
    const filter = await screen.findByLabelText("Workspace");
    await user.selectOptions(filter, "Research");
    await waitFor(() => expect(names(container).sort()).toEqual(["lab-eval", "lab-train"]));
    expect(screen.getByText("2 of 3")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    await waitFor(() => expect(names(container)).toHaveLength(3));
  });

  it("groups keys under a header per workspace with its key count", async () => {
    const { user, container } = renderApp(account());
    await screen.findByText("lab-eval");
    await user.click(await screen.findByLabelText("Group by workspace"));
    const headers = await waitFor(() => {
      const found = Array.from(container.querySelectorAll<HTMLElement>(".row.group"));
      expect(found).toHaveLength(2);
      return found;
    });
    expect(headers.map((h) => h.textContent?.replace(/\s+/g, " ").trim())).toEqual(["Default Workspace 1 key", "Research 2 keys"]);
    // Grouped rows follow their header, and the workspace column gives way (the header says it).
    const rows = Array.from(container.querySelectorAll<HTMLElement>(".rows [role=row]"));
    const order = rows.map((r) => (r.classList.contains("group") ? `#${r.dataset.group}` : r.querySelector(".name")?.textContent));
    expect(order[0]).toBe(`#${DEFAULT_WS}`);
    expect(order.indexOf(`#${RESEARCH_WS}`)).toBeLessThan(order.indexOf("lab-eval"));
    expect(screen.queryByRole("columnheader", { name: "Workspace" })).not.toBeInTheDocument();
  });

  it("groups thousands of keys but renders only a window of rows", async () => {
    const keys = Array.from({ length: 3000 }, (_, i) => makeKey({ name: `k-${i}`, workspace_id: i % 3 === 0 ? RESEARCH_WS : DEFAULT_WS }));
    const { user, container } = renderApp(oneProfile(keys));
    await screen.findByText("3,000 keys");
    await user.click(await screen.findByLabelText("Group by workspace"));
    await waitFor(() => expect(container.querySelector(".row.group")).not.toBeNull());
    expect(container.querySelectorAll(".rows [role=row]").length).toBeLessThan(100);
    expect(container.querySelector(".row.group")?.textContent).toContain("2,000 keys");
  });

  it("creates a key in the workspace being looked at, or another one picked", async () => {
    const { user, fake } = renderApp(account());
    await screen.findByText("lab-eval");
    await user.selectOptions(await screen.findByLabelText("Workspace"), "Research");
    await user.click(screen.getByRole("button", { name: "New key" }));
    const dialog = within(screen.getByRole("dialog", { name: "New key" }));
    const picker = dialog.getByLabelText("Workspace") as HTMLSelectElement;
    expect(picker.value).toBe(RESEARCH_WS);
    await user.type(dialog.getByLabelText("Name"), "lab-new");
    await user.click(dialog.getByRole("button", { name: "Create key" }));
    await screen.findByRole("dialog", { name: "Key created — copy its secret now" });
    expect(fake.callsOf("key_create")).toMatchObject([{ name: "lab-new", workspace_id: RESEARCH_WS }]);
  });

  it("defaults a new key to the default workspace without a filter", async () => {
    const { user } = renderApp(account());
    await screen.findByText("lab-eval");
    await screen.findByLabelText("Workspace");
    await user.click(screen.getByRole("button", { name: "New key" }));
    const dialog = within(screen.getByRole("dialog", { name: "New key" }));
    expect((dialog.getByLabelText("Workspace") as HTMLSelectElement).value).toBe(DEFAULT_WS);
  });
});
