// The fake shell's workspaces: `workspaces_list`, `workspace_details` and the budget edits, over the
// fake's keys (a key without a workspace counts as the default one's), like keyward-core does.
import type { AppError } from "../lib/bindings/AppError";
import type { BudgetInterval } from "../lib/bindings/BudgetInterval";
import type { KeyRow } from "../lib/bindings/KeyRow";
import type { WorkspaceDetails } from "../lib/bindings/WorkspaceDetails";
import type { WorkspaceInfo } from "../lib/bindings/WorkspaceInfo";
import type { WorkspaceMemberInfo } from "../lib/bindings/WorkspaceMemberInfo";

export const DEFAULT_WS = "ws-default";
export const RESEARCH_WS = "ws-research";
const INTERVALS: BudgetInterval[] = ["daily", "weekly", "monthly", "lifetime"];

type Workspace = WorkspaceInfo & { description: string | null; budgets: Partial<Record<BudgetInterval, number>>; members: WorkspaceMemberInfo[] };

type Helpers = {
  keysOf: (profileId: string) => KeyRow[];
  error: (kind: AppError["kind"], message: string, field?: string | null) => AppError;
};

export class FakeWorkspaces {
  workspaces: Workspace[] = [
    {
      id: DEFAULT_WS, name: "Default Workspace", slug: "default", description: null, budgets: {},
      members: [{ user_id: "user_owner", name: "Olivia Owner", email: "olivia@acme.test", role: "admin" }],
    },
    {
      id: RESEARCH_WS, name: "Research", slug: "research", description: "Model experiments and evals", budgets: { monthly: 250 },
      members: [
        { user_id: "user_owner", name: "Olivia Owner", email: "olivia@acme.test", role: "admin" },
        { user_id: "user_ada", name: "Ada Lovelace", email: "ada@acme.test", role: "member" },
      ],
    },
  ];

  constructor(private helpers: Helpers) {}

  private find(id: unknown): Workspace {
    const w = this.workspaces.find((x) => x.id === id || x.slug === id);
    if (!w) throw this.helpers.error("not_found", "Not found on OpenRouter: Workspace not found.");
    return w;
  }

  details(profileId: string, id: unknown): WorkspaceDetails {
    const w = this.find(id);
    const keys = this.helpers.keysOf(profileId).filter((k) => (k.workspace_id ?? DEFAULT_WS) === w.id);
    const spent: Record<BudgetInterval, number> = {
      daily: sum(keys, (k) => k.usage_daily), weekly: sum(keys, (k) => k.usage_weekly),
      monthly: sum(keys, (k) => k.usage_monthly), lifetime: sum(keys, (k) => k.usage),
    };
    return {
      id: w.id, name: w.name, slug: w.slug, description: w.description, key_count: keys.length,
      spend_month: spent.monthly, include_byok_in_budgets: false,
      budgets: INTERVALS.map((interval) => {
        const limit = w.budgets[interval] ?? null;
        return { interval, limit_usd: limit, spent: spent[interval], left: limit === null ? null : Math.max(0, limit - spent[interval]) };
      }),
      members: w.members,
    };
  }

  run(cmd: string, a: Record<string, unknown>): unknown {
    switch (cmd) {
      case "workspaces_list":
        return this.workspaces.map(({ id, name, slug }) => ({ id, name, slug }));
      case "workspace_details":
        return this.details(String(a.profile_id), a.workspace_id);
      case "workspace_budget_set": {
        const w = this.find(a.workspace_id);
        // The core's parse_budget_limit, for the fake.
        const typed = String(a.limit_usd).trim().replace(/^\$/, "").trim();
        const limit = Number(typed);
        if (typed === "") throw this.helpers.error("invalid_input", "is required: a number of US dollars greater than 0", "limit_usd");
        if (!Number.isFinite(limit)) throw this.helpers.error("invalid_input", `"${typed}" is not a number of US dollars`, "limit_usd");
        if (limit <= 0) throw this.helpers.error("invalid_input", "must be a number of US dollars greater than 0", "limit_usd");
        w.budgets[a.interval as BudgetInterval] = limit;
        return this.details(String(a.profile_id), w.id);
      }
      case "workspace_budget_delete": {
        const w = this.find(a.workspace_id);
        delete w.budgets[a.interval as BudgetInterval];
        return this.details(String(a.profile_id), w.id);
      }
      default:
        throw this.helpers.error("internal", `unknown command ${cmd}`);
    }
  }
}

function sum(keys: KeyRow[], of: (k: KeyRow) => number): number {
  return Math.round(keys.reduce((total, k) => total + of(k), 0) * 100) / 100;
}
