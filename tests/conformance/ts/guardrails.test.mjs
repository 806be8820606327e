// Guardrails, their key and member assignments, and the model lists, through the official TypeScript
// SDK (@openrouter/sdk 1.3.19): every answer parses, page iterators follow the emulator's paging, and
// the documented errors arrive as the SDK's typed errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as errors from "@openrouter/sdk/models/errors";
import { UNKNOWN_HASH, useEmulator } from "./emulator.mjs";

const ACCOUNT_USER_ID = "user_2dHFtVWx2n56w6HkM0000000000";
const DEFAULT_WORKSPACE_ID = "0df9e665-d932-5740-b2c7-b52af166bc11";
const UNKNOWN_ID = "6f1c3a52-0000-4000-8000-000000000000";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

const newKey = async (name) => (await client.apiKeys.create({ requestBody: { name } })).data.hash;
const newGuardrail = async (body) =>
  (await client.guardrails.create({ createGuardrailRequest: body })).data;

/** Every item of a paged listing, through the SDK's page iterator. */
async function allItems(firstPage) {
  const items = [];
  for await (const page of firstPage) items.push(...page.result.data);
  return items;
}

async function rejects(call, ErrorClass, status) {
  let caught;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ErrorClass, `expected ${ErrorClass.name}, got ${caught?.constructor?.name}: ${caught}`);
  assert.equal(caught.statusCode, status);
  const body = JSON.parse(caught.body);
  assert.equal(body.error.code, status);
  return body.error.message;
}

test("create, get, update (arrays replaced) and delete are parsed", async () => {
  const created = await newGuardrail({
    name: "Production",
    description: "approved models only",
    limitUsd: 25,
    resetInterval: "monthly",
    allowedModels: ["openai/gpt-4.1", "anthropic/claude-sonnet-4"],
    allowedProviders: ["openai", "anthropic"],
    enforceZdrOpenai: true,
    includeByokInBudgets: true,
  });
  assert.equal(created.name, "Production");
  assert.equal(created.limitUsd, 25);
  assert.equal(created.resetInterval, "monthly");
  assert.deepEqual(created.allowedModels, ["openai/gpt-4.1-2025-04-14", "anthropic/claude-4-sonnet-20250522"]);
  assert.equal(created.enforceZdrOpenai, true);
  assert.equal(created.includeByokInBudgets, true);
  assert.equal(created.workspaceId, DEFAULT_WORKSPACE_ID);
  assert.equal(created.updatedAt, null);

  const got = (await client.guardrails.get({ id: created.id })).data;
  assert.deepEqual(got, created);

  const updated = (
    await client.guardrails.update({
      id: created.id,
      updateGuardrailRequest: { allowedModels: ["google/gemini-2.5-flash"], limitUsd: null, name: "Renamed" },
    })
  ).data;
  assert.deepEqual(updated.allowedModels, ["google/gemini-2.5-flash"]);
  assert.equal(updated.limitUsd, null);
  assert.equal(updated.name, "Renamed");
  assert.deepEqual(updated.allowedProviders, ["openai", "anthropic"]);
  assert.equal(typeof updated.updatedAt, "string");

  assert.deepEqual(await client.guardrails.delete({ id: created.id }), { deleted: true });
  await rejects(() => client.guardrails.get({ id: created.id }), errors.NotFoundResponseError, 404);
});

test("the list pages through the SDK's iterator and filters by workspace", async () => {
  for (let index = 0; index < 7; index++) await newGuardrail({ name: `g${index}` });
  const first = await client.guardrails.list({ limit: 3 });
  assert.equal(first.result.totalCount, 7);
  assert.equal(first.result.data.length, 3);
  const names = (await allItems(first)).map((guardrail) => guardrail.name);
  assert.deepEqual(names, ["g0", "g1", "g2", "g3", "g4", "g5", "g6"]);

  const workspace = "3f9a1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
  await emulator.control("POST", "seed", { count: 0, workspace_id: workspace });
  await newGuardrail({ name: "elsewhere", workspaceId: workspace });
  const there = await client.guardrails.list({ workspaceId: workspace });
  assert.deepEqual(there.result.data.map((guardrail) => guardrail.name), ["elsewhere"]);
});

test("key assignments: one guardrail per key, gone with the key", async () => {
  const first = (await newGuardrail({ name: "first" })).id;
  const second = (await newGuardrail({ name: "second" })).id;
  const a = await newKey("key-a");
  const b = await newKey("key-b");

  const assigned = await client.guardrails.bulkAssignKeys({ id: first, bulkAssignKeysRequest: { keyHashes: [a, b] } });
  assert.equal(assigned.assignedCount, 2);
  const listed = (await client.guardrails.listGuardrailKeyAssignments({ id: first })).result;
  assert.equal(listed.totalCount, 2);
  const [assignment] = listed.data;
  assert.equal(assignment.keyHash, a);
  assert.equal(assignment.keyName, "key-a");
  assert.match(assignment.keyLabel, /^sk-or-v1-/);
  assert.equal(assignment.guardrailId, first);
  assert.equal(assignment.assignedBy, ACCOUNT_USER_ID);
  assert.equal(typeof assignment.createdAt, "string");

  await client.guardrails.bulkAssignKeys({ id: second, bulkAssignKeysRequest: { keyHashes: [b] } });
  const onFirst = (await client.guardrails.listGuardrailKeyAssignments({ id: first })).result.data;
  assert.deepEqual(onFirst.map((x) => x.keyHash), [a]);
  const everything = await allItems(await client.guardrails.listKeyAssignments({ limit: 1 }));
  assert.deepEqual(everything.map((x) => x.keyHash).sort(), [a, b].sort());

  const removed = await client.guardrails.bulkUnassignKeys({ id: second, bulkUnassignKeysRequest: { keyHashes: [a, b] } });
  assert.equal(removed.unassignedCount, 1);
  await client.apiKeys.delete({ hash: a });
  assert.equal((await client.guardrails.listKeyAssignments({})).result.totalCount, 0);
});

test("member assignments are parsed", async () => {
  const id = (await newGuardrail({ name: "members" })).id;
  const assigned = await client.guardrails.bulkAssignMembers({
    id,
    bulkAssignMembersRequest: { memberUserIds: [ACCOUNT_USER_ID] },
  });
  assert.equal(assigned.assignedCount, 1);
  const listed = (await client.guardrails.listGuardrailMemberAssignments({ id })).result;
  assert.equal(listed.totalCount, 1);
  const [member] = listed.data;
  assert.equal(member.userId, ACCOUNT_USER_ID);
  assert.match(member.organizationId, /^org_/);
  assert.equal(member.guardrailId, id);
  const all = (await client.guardrails.listMemberAssignments({})).result.data;
  assert.deepEqual(all.map((x) => x.userId), [ACCOUNT_USER_ID]);
  const removed = await client.guardrails.bulkUnassignMembers({
    id,
    bulkUnassignMembersRequest: { memberUserIds: [ACCOUNT_USER_ID] },
  });
  assert.equal(removed.unassignedCount, 1);
});

test("documented errors arrive as the SDK's typed errors", async () => {
  const id = (await newGuardrail({ name: "g" })).id;
  const key = await newKey("k");
  // 400: what the SDK's own validation lets through reaches the emulator and is refused there.
  const message = await rejects(
    () => client.guardrails.create({ createGuardrailRequest: { name: "g", allowedModels: ["acme/unknown"] } }),
    errors.BadRequestResponseError,
    400,
  );
  assert.match(message, /unknown model/);
  await rejects(
    () => client.guardrails.create({ createGuardrailRequest: { name: "g", limitUsd: -1 } }),
    errors.BadRequestResponseError,
    400,
  );
  await rejects(
    () => client.guardrails.update({ id, updateGuardrailRequest: {} }),
    errors.BadRequestResponseError,
    400,
  );
  // 404
  for (const call of [
    () => client.guardrails.get({ id: UNKNOWN_ID }),
    () => client.guardrails.delete({ id: UNKNOWN_ID }),
    () => client.guardrails.update({ id: UNKNOWN_ID, updateGuardrailRequest: { name: "x" } }),
    () => client.guardrails.listGuardrailKeyAssignments({ id: UNKNOWN_ID }),
    () => client.guardrails.bulkAssignKeys({ id: UNKNOWN_ID, bulkAssignKeysRequest: { keyHashes: [key] } }),
    () => client.guardrails.bulkAssignKeys({ id, bulkAssignKeysRequest: { keyHashes: [UNKNOWN_HASH] } }),
  ]) {
    await rejects(call, errors.NotFoundResponseError, 404);
  }
  // 401 and 403
  await rejects(() => emulator.client(null).guardrails.list({}), errors.UnauthorizedResponseError, 401);
  const inferenceKey = (await client.apiKeys.create({ requestBody: { name: "inference" } })).key;
  const inference = emulator.client(inferenceKey);
  // Where the TS SDK declares 403 it raises its typed error; elsewhere (list, listKeyAssignments:
  // only the Python SDK declares 403 there) the generic one, with the same status and body.
  for (const [call, ErrorClass] of [
    [() => inference.guardrails.create({ createGuardrailRequest: { name: "x" } }), errors.ForbiddenResponseError],
    [() => inference.guardrails.bulkAssignKeys({ id, bulkAssignKeysRequest: { keyHashes: [key] } }), errors.ForbiddenResponseError],
    [() => inference.guardrails.list({}), errors.OpenRouterDefaultError],
    [() => inference.guardrails.listKeyAssignments({}), errors.OpenRouterDefaultError],
  ]) {
    assert.match(await rejects(call, ErrorClass, 403), /Only management keys/);
  }
});

test("models.list is public, parsed and paged; listForUser needs the management key", async () => {
  const anonymous = emulator.client(null);
  const whole = await anonymous.models.list({});
  const models = whole.result.data;
  assert.ok(models.length >= 10);
  assert.equal(whole.result.totalCount, models.length);
  const gpt = models.find((model) => model.id === "openai/gpt-4.1");
  assert.equal(gpt.canonicalSlug, "openai/gpt-4.1-2025-04-14");
  assert.ok(Number(gpt.pricing.prompt) > 0);
  assert.ok(gpt.contextLength > 0);
  assert.ok(gpt.architecture.inputModalities.includes("text"));
  const created = models.map((model) => model.created);
  assert.deepEqual(created, [...created].sort((x, y) => y - x));

  const paged = await allItems(await anonymous.models.list({ limit: 4 }));
  assert.deepEqual(paged.map((model) => model.id), models.map((model) => model.id));

  const forUser = await client.models.listForUser({ bearer: emulator.managementKey }, {});
  assert.equal(forUser.result.data.length, models.length);
});
