// Start-up timing: the key table tells the shell once, after the first table with rows is painted
// (its own file: the mark is once per page load, i.e. per module instance).
import { screen, waitFor } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { oneProfile, renderApp } from "../test/render";

describe("first key table painted", () => {
  it("reports the first table with rows once, with its key count", async () => {
    const fake = oneProfile([makeKey({ name: "alpha" }), makeKey({ name: "beta" })]);
    const { user } = renderApp(fake);
    await screen.findByText("alpha");
    await waitFor(() => expect(fake.callsOf("startup_painted")).toEqual([
      { rows: 2, script_ms: expect.any(Number), keys_ms: expect.any(Number), rows_ms: expect.any(Number), painted_ms: expect.any(Number) },
    ]));
    // A refresh repaints the table: still one report.
    await user.keyboard("r");
    await waitFor(() => expect(fake.callsOf("keys_list").length).toBeGreaterThanOrEqual(3));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.callsOf("startup_painted")).toHaveLength(1);
  });
});
