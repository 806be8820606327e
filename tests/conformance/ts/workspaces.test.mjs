// Workspaces (CRUD, members, budgets) and organization members through the official TypeScript SDK
// (@openrouter/sdk 1.3.19) against the emulator: every answer parsed, the parsed values the ones
// sent, and the documented errors with their status and message.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { useEmulator } from "./emulator.mjs";

const DEFAULT_WORKSPACE_ID = "0df9e665-d932-5740-b2c7-b52af166bc11";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

/** `call` must fail with HTTP `status` and a message containing `part`. */
async function expectStatus(status, call, part = "") {
  let caught;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `expected HTTP ${status}, but the call succeeded`);
  assert.equal(caught.statusCode, status, `${caught.constructor.name}: ${caught.message}`);
  const body = JSON.parse(caught.body);
  assert.equal(body.error.code, status);
  assert.ok(body.error.message.includes(part), `${body.error.message} lacks ${part}`);
}

const addOrgMember = (id, role = "org:member") =>
  emulator.control("POST", "organization/members", { id, email: `${id}@x.test`, first_name: "F", role });

const create = (name, slug, extra = {}) =>
  client.workspaces.create({ createWorkspaceRequest: { name, slug, ...extra } });

test("the default workspace is listed and parsed", async () => {
  const page = await client.workspaces.list();
  assert.equal(page.result.totalCount, 1);
  const [workspace] = page.result.data;
  assert.equal(workspace.id, DEFAULT_WORKSPACE_ID);
  assert.equal(workspace.slug, "default");
  assert.equal(workspace.includeByokInBudgets, false);
  assert.equal(typeof workspace.defaultGuardrailId, "string");
  assert.equal((await client.workspaces.get({ id: "default" })).data.id, DEFAULT_WORKSPACE_ID);
});

test("create, get, update and delete", async () => {
  const { data: created } = await create("Research", "research", {
    description: "evals",
    defaultTextModel: "openai/gpt-4.1",
    ioLoggingSamplingRate: 0.5,
  });
  assert.equal(created.name, "Research");
  assert.equal(created.description, "evals");
  assert.equal(created.defaultTextModel, "openai/gpt-4.1");
  assert.equal(created.ioLoggingSamplingRate, 0.5);
  assert.equal(created.updatedAt, null);

  const { data: updated } = await client.workspaces.update({
    id: "research",
    updateWorkspaceRequest: { name: "R&D", slug: "rnd", description: null },
  });
  assert.equal(updated.id, created.id);
  assert.equal(updated.slug, "rnd");
  assert.equal(updated.description, null);
  assert.notEqual(updated.updatedAt, null);

  const deleted = await client.workspaces.delete({ id: created.id });
  assert.equal(deleted.deleted, true);
  await expectStatus(404, () => client.workspaces.get({ id: created.id }), "Workspace not found");
});

test("workspace errors", async () => {
  await create("Taken", "taken");
  await expectStatus(400, () => create("Other", "taken"), "already used");
  await expectStatus(400, () => create("Bad", "Bad Slug"), '"slug"');
  await expectStatus(404, () => client.workspaces.update({ id: "nope", updateWorkspaceRequest: { name: "x" } }));
  // The emulator keeps the default workspace whatever the confirmation flag says.
  await expectStatus(
    400,
    () => client.workspaces.delete({ id: "default", confirmDefaultWorkspaceDeletion: true }),
    "default workspace",
  );
  const { data: holder } = await create("Holder", "holder");
  await client.apiKeys.create({ requestBody: { name: "held", workspaceId: holder.id } });
  await expectStatus(400, () => client.workspaces.delete({ id: holder.id }), "still holds");
  await expectStatus(
    400,
    () => client.apiKeys.create({ requestBody: { name: "x", workspaceId: randomUUID() } }),
    "names no workspace",
  );
});

test("the SDK pages through workspaces", async () => {
  for (let index = 0; index < 5; index += 1) await create(`W${index}`, `w${index}`);
  const slugs = [];
  for await (const page of await client.workspaces.list({ limit: 2 })) {
    assert.equal(page.result.totalCount, 6);
    slugs.push(...page.result.data.map((w) => w.slug));
  }
  assert.deepEqual(slugs, ["default", "w0", "w1", "w2", "w3", "w4"]);
});

test("members are added from the organization, listed and removed", async () => {
  await addOrgMember("user_admin", "org:admin");
  await addOrgMember("user_dev");
  const org = (await client.organization.listMembers()).result;
  assert.equal(org.totalCount, 3);
  const dev = org.data.find((m) => m.id === "user_dev");
  assert.deepEqual(
    [dev.email, dev.firstName, dev.lastName, dev.role],
    ["user_dev@x.test", "F", null, "org:member"],
  );

  const { data: team } = await create("Team", "team");
  const added = await client.workspaces.bulkAddMembers({
    id: team.id,
    bulkAddWorkspaceMembersRequest: { userIds: ["user_admin", "user_dev"] },
  });
  assert.equal(added.addedCount, 2);
  assert.deepEqual(added.data.map((m) => [m.userId, m.role, m.workspaceId]), [
    ["user_admin", "admin", team.id],
    ["user_dev", "member", team.id],
  ]);
  const listed = (await client.workspaces.listMembers({ id: "team" })).result;
  assert.equal(listed.totalCount, 2);

  await expectStatus(
    400,
    () => client.workspaces.bulkAddMembers({ id: "team", bulkAddWorkspaceMembersRequest: { userIds: ["stranger"] } }),
    "not a member",
  );
  await expectStatus(404, () => client.workspaces.listMembers({ id: "nope" }));
  const removed = await client.workspaces.bulkRemoveMembers({
    id: "team",
    bulkRemoveWorkspaceMembersRequest: { userIds: ["user_admin", "ghost"] },
  });
  assert.equal(removed.removedCount, 1);
});

test("budgets per interval", async () => {
  const none = await client.workspaces.listBudgets({ workspaceRef: "default" });
  assert.deepEqual(none.data, []);
  assert.equal(none.includeByokInBudgets, false);
  await expectStatus(404, () => client.workspaces.getBudget({ workspaceRef: "default", interval: "monthly" }));

  const monthly = await client.workspaces.setBudget({
    workspaceRef: "default",
    interval: "monthly",
    upsertWorkspaceBudgetRequest: { limitUsd: 100, includeByokInBudgets: true },
  });
  assert.equal(monthly.data.limitUsd, 100);
  assert.equal(monthly.data.resetInterval, "monthly");
  assert.equal(monthly.data.workspaceId, DEFAULT_WORKSPACE_ID);
  assert.equal(monthly.includeByokInBudgets, true);
  const lifetime = await client.workspaces.setBudget({
    workspaceRef: "default",
    interval: "lifetime",
    upsertWorkspaceBudgetRequest: { limitUsd: 400 },
  });
  assert.equal(lifetime.data.resetInterval, null);

  await expectStatus(
    400,
    () =>
      client.workspaces.setBudget({
        workspaceRef: "default",
        interval: "daily",
        upsertWorkspaceBudgetRequest: { limitUsd: 150 },
      }),
    "strictly decrease",
  );
  const got = await client.workspaces.getBudget({ workspaceRef: "default", interval: "monthly" });
  assert.equal(got.data.id, monthly.data.id);
  const all = await client.workspaces.listBudgets({ workspaceRef: "default" });
  assert.deepEqual(all.data.map((b) => b.resetInterval), ["monthly", null]);

  const deleted = await client.workspaces.deleteBudget({ workspaceRef: "default", interval: "monthly" });
  assert.equal(deleted.deleted, true);
  await expectStatus(404, () => client.workspaces.getBudget({ workspaceRef: "default", interval: "monthly" }));
});

test("management key required", async () => {
  const { key } = await client.apiKeys.create({ requestBody: { name: "inference" } });
  for (const [sdk, status] of [
    [emulator.client(key), 403],
    [emulator.client(null), 401],
  ]) {
    for (const call of [
      () => sdk.workspaces.list(),
      () => sdk.workspaces.get({ id: "default" }),
      () => sdk.workspaces.listBudgets({ workspaceRef: "default" }),
      () => sdk.organization.listMembers(),
    ]) {
      await expectStatus(status, call);
    }
  }
});
