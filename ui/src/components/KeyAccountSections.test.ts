import { screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import { makeKey } from "../test/fakeBackend";
import { makeAccount, stop } from "../test/fakeAccount";
import { oneProfile, renderApp } from "../test/render";

const HOUR = 3600e3;
const key = makeKey({ name: "prod-api", limit: 50, limit_remaining: 42, limit_reset: "monthly", usage_monthly: 8 });
const plain = makeKey({ name: "batch" });

async function openDetails(name: string, setup: (fake: ReturnType<typeof oneProfile>) => void = () => {}) {
  const fake = oneProfile([key, plain]);
  setup(fake);
  const r = renderApp(fake);
  await r.user.click(await screen.findByRole("button", { name }));
  const details = await screen.findByRole("dialog", { name });
  return { ...r, fake, details, d: within(details) };
}

describe("key details: guardrail, BYOK and logs, what stops it first", () => {
  it("shows the guardrail, the BYOK key and log destination naming the key, and the earliest stop highlighted", async () => {
    const soon = new Date(Date.now() + 3 * HOUR).toISOString();
    const { d, fake } = await openDetails("prod-api", (fake) => {
      fake.accounts.set(key.hash, makeAccount("p1", key, {
        guardrail: {
          id: "g1", name: "Production allowlist", limit_usd: 10, reset_interval: "daily",
          allowed_models: ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet", "google/gemini-pro"],
          allowed_providers: ["openai"], ignored_providers: null, enforces_zdr: true, include_byok_in_budgets: false,
        },
        byok: [{ id: "b1", provider: "openai", name: "OpenAI prod", label: "sk-...AbCd", disabled: false }],
        destinations: [{ id: "d1", name: "Audit hook", kind: "webhook", enabled: true }],
        stops: [
          stop({ scope: "guardrail", name: "Production allowlist", limit: 10, spent: 8, remaining: 2, reset: "daily", burn_per_day: 16, runs_out_at: soon, resets_at: soon }),
          stop({ limit: 50, spent: 8, remaining: 42, reset: "monthly" }),
          stop({ scope: "workspace", name: "Research", limit: 100, spent: 38, remaining: 62, reset: "monthly" }),
        ],
      }));
    });
    expect(await d.findByText("Production allowlist", { selector: "strong" })).toBeInTheDocument();
    expect(d.getByText("$10.00 daily, per key")).toBeInTheDocument();
    expect(d.getByText("openai/gpt-4o, openai/gpt-4o-mini, anthropic/claude-3.5-sonnet and 1 more")).toBeInTheDocument();
    expect(d.getByText("enforced")).toBeInTheDocument();

    const links = d.getByRole("region", { name: "BYOK and logs" });
    expect(links).toHaveTextContent("openai · OpenAI prod");
    expect(links).toHaveTextContent("sk-...AbCd");
    expect(links).toHaveTextContent("Audit hook · webhook");

    const table = within(d.getByRole("region", { name: "What stops this key first" })).getByRole("table");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual([
      "Guardrail · Production allowlist (stops it first)", "Key limit", "Workspace · Research",
    ]);
    expect(rows[0]).toHaveClass("first");
    expect(rows[0]).toHaveAttribute("aria-current", "true");
    expect(rows[0]).toHaveTextContent("$2.00");
    expect(rows[0]).toHaveTextContent(/in (2|3) hr/);
    expect(rows[1]).not.toHaveClass("first");
    expect(fake.callsOf("key_account")).toContainEqual({ profile_id: "p1", key_hash: key.hash });
  });

  it("says so when nothing names the key and parts of the account are unavailable", async () => {
    const { d } = await openDetails("batch", (fake) => {
      fake.accounts.set(plain.hash, makeAccount("p1", plain, { unavailable: ["guardrails", "byok", "credits"] }));
    });
    expect(await d.findByText("Guardrails are not available to this management key.")).toBeInTheDocument();
    expect(d.getByText("BYOK provider keys are not available to this management key.")).toBeInTheDocument();
    expect(d.getByText("Account credits are not available to this management key.")).toBeInTheDocument();
    expect(d.getByText(/Nothing limits this key's spend/)).toBeInTheDocument();
  });

  it("shows no guardrail and no links plainly, and an error with a retry", async () => {
    const { d, fake, user } = await openDetails("batch", (fake) => {
      fake.failNext("key_account", { kind: "network", message: "Can't reach OpenRouter" } as never);
    });
    expect(await d.findByText(/Can't reach OpenRouter/)).toBeInTheDocument();
    await user.click(d.getByRole("button", { name: "Try again" }));
    expect(await d.findByText("No guardrail: this key may call any model through any provider.")).toBeInTheDocument();
    expect(d.getByText("No BYOK provider key or log destination names this key.")).toBeInTheDocument();
    expect(fake.callsOf("key_account")).toHaveLength(2);
    const table = within(d.getByRole("region", { name: "What stops this key first" })).getByRole("table");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getByRole("rowheader").textContent)).toEqual(["Credits (stops it first)"]);
  });
});
