import { screen, waitFor, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey, emptyMetadata } from "../../test/fakeBackend";
import { dataRows, oneProfile, renderApp } from "../../test/render";

const meta = (tags: string[], environment: string | null = null) => ({ ...emptyMetadata(), tags, environment });
const keys = () => [
  makeKey({ name: "checkout-api", metadata: meta(["prod", "leaked", "team:core"], "production"), idle_days: 45 }),
  makeKey({ name: "search-api", metadata: meta(["prod"], "production"), idle_days: 1 }),
  makeKey({ name: "staging-bot", metadata: meta(["staging"], "staging"), idle_days: 31 }),
  makeKey({ name: "old-disabled", idle_days: 90, disabled: true, status: "disabled" }),
  makeKey({ name: "fresh" }),
];
const rowNames = (container: HTMLElement) => dataRows(container).filter((r) => r.dataset.hash).map((r) => within(r).getAllByRole("button")[0].textContent);

describe("organising keys in the list", () => {
  it("shows a key's tags as compact chips", async () => {
    const { container } = renderApp(oneProfile(keys()));
    await screen.findByText("checkout-api");
    const row = dataRows(container).find((r) => within(r).queryByText("checkout-api"))!;
    const chips = within(row).getByLabelText("Tags: prod, leaked, team:core");
    expect(within(chips).getByText("prod")).toBeInTheDocument();
    expect(within(chips).getByText("+1")).toBeInTheDocument();
    const fresh = dataRows(container).find((r) => within(r).queryByText("fresh"))!;
    expect(within(fresh).getByLabelText("No tags")).toBeInTheDocument();
  });

  it("filters by tag and environment, finds tags by free text, groups by environment and sorts by tags", async () => {
    const { container, user } = renderApp(oneProfile(keys()));
    await screen.findByText("checkout-api");
    await user.selectOptions(screen.getByLabelText("Tag"), "prod");
    expect(rowNames(container).sort()).toEqual(["checkout-api", "search-api"]);
    await user.selectOptions(screen.getByLabelText("Tag"), "");
    await user.selectOptions(screen.getByLabelText("Environment"), "staging");
    expect(rowNames(container)).toEqual(["staging-bot"]);
    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    await user.type(screen.getByLabelText("Search keys"), "leaked");
    expect(rowNames(container)).toEqual(["checkout-api"]);
    await user.clear(screen.getByLabelText("Search keys"));

    await user.selectOptions(screen.getByLabelText("Group by"), "environment");
    const headers = Array.from(container.querySelectorAll(".row.group")).map((g) => g.textContent?.replace(/\s+/g, " ").trim());
    expect(headers).toEqual(["production 2 keys", "staging 1 key", "No environment 2 keys"]);
    await user.selectOptions(screen.getByLabelText("Group by"), "");

    await user.click(screen.getByRole("button", { name: "Tags" }));
    expect(rowNames(container).slice(0, 3)).toEqual(["checkout-api", "search-api", "staging-bot"]);
  });

  it("suggests the keys unused for 30+ days and shows them on request", async () => {
    const { container, user } = renderApp(oneProfile(keys()));
    await screen.findByText("checkout-api");
    const suggestion = screen.getByText(/unused for 30\+ days/).closest("[role=status]") as HTMLElement;
    expect(suggestion).toHaveTextContent("2 keys unused for 30+ days");
    await user.click(within(suggestion).getByRole("button", { name: "Show them" }));
    expect(rowNames(container).sort()).toEqual(["checkout-api", "staging-bot"]);
    expect(screen.getByLabelText("Unused for")).toHaveValue("30");
    expect(screen.queryByText(/unused for 30\+ days —/)).not.toBeInTheDocument();
  });

  it("selects the idle keys on request, so the selection bar can disable them", async () => {
    const { container, user } = renderApp(oneProfile(keys()));
    await screen.findByText("checkout-api");
    const suggestion = screen.getByText(/unused for 30\+ days/).closest("[role=status]") as HTMLElement;
    await user.click(within(suggestion).getByRole("button", { name: "Select them" }));
    expect(rowNames(container).sort()).toEqual(["checkout-api", "staging-bot"]);
    const bar = screen.getByRole("toolbar", { name: "Selected keys" });
    expect(bar).toHaveTextContent("2");
    expect(within(bar).getByRole("button", { name: "Disable" })).toBeInTheDocument();
  });

  it("saves the current filters under a name (validated in Rust), applies and deletes them", async () => {
    const fake = oneProfile(keys());
    const { container, user } = renderApp(fake);
    await screen.findByText("checkout-api");
    await user.selectOptions(screen.getByLabelText("Tag"), "leaked");
    await user.click(screen.getByRole("button", { name: "Save filter…" }));
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("give the filter a name");
    await user.type(screen.getByLabelText("Name of the saved filter"), "Leaked keys{Enter}");
    await waitFor(() => expect(fake.organise.saved.map((f) => f.name)).toEqual(["Leaked keys"]));
    expect(fake.organise.saved[0].filters.tag).toBe("leaked");

    await user.click(screen.getByRole("button", { name: "Clear filters" }));
    expect(rowNames(container)).toHaveLength(5);
    await user.selectOptions(screen.getByLabelText("Saved filters"), "Leaked keys");
    expect(rowNames(container)).toEqual(["checkout-api"]);
    expect(screen.getByLabelText("Tag")).toHaveValue("leaked");

    await user.click(screen.getByRole("button", { name: "Delete the saved filter Leaked keys" }));
    expect(screen.getByText("Delete the saved filter “Leaked keys”?")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(fake.organise.saved).toEqual([]));
    expect(screen.getByLabelText("Saved filters")).toBeDisabled();
  });
});

describe("the labels editor in a key's details", () => {
  it("adds and removes tags with suggestions, shows the core's errors inline and saves", async () => {
    const fake = oneProfile(keys());
    const { user, container } = renderApp(fake);
    await user.click(await screen.findByRole("button", { name: "fresh" }));
    const details = await screen.findByRole("dialog", { name: "fresh" });
    const d = within(details);
    const suggestions = Array.from(details.querySelectorAll("#labels-tag-suggestions option")).map((o) => (o as HTMLOptionElement).value);
    expect(suggestions).toEqual(["prod", "leaked", "staging", "team:core"]);

    const input = d.getByLabelText("Tags");
    await user.type(input, "two words{Enter}");
    expect(await d.findByText('the tag "two words" is not allowed')).toBeInTheDocument();
    expect(d.getByRole("button", { name: "Save labels" })).toBeDisabled();
    await user.click(d.getByRole("button", { name: "Remove tag two words" }));
    await waitFor(() => expect(d.queryByText(/is not allowed/)).not.toBeInTheDocument());

    await user.type(input, "Prod,billing{Enter}");
    await user.type(d.getByLabelText("Environment"), "staging");
    await user.type(d.getByLabelText("Notes"), "for the nightly job");
    await user.click(d.getByRole("button", { name: "Save labels" }));
    await d.findByText("Saved.");
    const sent = fake.callsOf("key_metadata_set").at(-1) as { metadata: { tags: string[]; environment: string; notes: string } };
    expect(sent.metadata).toMatchObject({ tags: ["Prod", "billing"], environment: "staging", notes: "for the nightly job" });
    // The list shows the stored (normalized) tags at once.
    const row = dataRows(container).find((r) => within(r).queryByText("fresh"))!;
    expect(within(row).getByLabelText("Tags: prod, billing")).toBeInTheDocument();
  });
});
