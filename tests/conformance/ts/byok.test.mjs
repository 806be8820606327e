// BYOK provider credentials through the official TypeScript SDK (@openrouter/sdk 1.3.19): every
// operation parsed (the SDK's zod schemas are strict about required fields), paging followed page by
// page, allowlists set and cleared, and the declared errors.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as errors from "@openrouter/sdk/models/errors";
import { useEmulator } from "./emulator.mjs";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

const PROVIDER_KEY = "sk-proj-conformance-ts-provider-secret-AbCd";
const OTHER_WORKSPACE = "11111111-2222-4333-8444-555555555555";
const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

const newKey = async (name) => (await client.apiKeys.create({ requestBody: { name } })).data;
const createByok = async (request) => (await client.byok.create({ createBYOKKeyRequest: request })).data;

async function rejects(call, type, status) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof type, `${error?.constructor?.name}: ${error}`);
    assert.equal(error.statusCode, status);
    return true;
  });
}

test("byok: create, get, update, delete round trip without the provider key", async () => {
  const key = await newKey("allowed");
  const created = await createByok({ provider: "openai", key: PROVIDER_KEY, name: "Prod", allowedApiKeyHashes: [key.hash] });
  assert.equal(created.label, "sk-...AbCd");
  assert.deepEqual(created.allowedApiKeyHashes, [key.hash]);
  assert.equal(created.allowedModels, null);
  assert.equal(created.sortOrder, 0);
  assert.equal(created.isByokOnly, false);
  assert.deepEqual((await client.byok.get({ id: created.id })).data, created);
  assert.ok(!JSON.stringify(await emulator.rawGet(`byok/${created.id}`)).includes("provider-secret"));

  const cleared = (await client.byok.update({ id: created.id, updateBYOKKeyRequest: { allowedApiKeyHashes: null, name: "Renamed" } })).data;
  assert.equal(cleared.allowedApiKeyHashes, null);
  assert.equal(cleared.name, "Renamed");
  await client.apiKeys.delete({ hash: key.hash });
  const kept = (await client.byok.update({ id: created.id, updateBYOKKeyRequest: { allowedApiKeyHashes: [(await newKey("b")).hash] } })).data;
  assert.equal(kept.allowedApiKeyHashes.length, 1);

  assert.equal((await client.byok.delete({ id: created.id })).deleted, true);
  await rejects(client.byok.get({ id: created.id }), errors.NotFoundResponseError, 404);
});

test("byok: list pages and filters", async () => {
  for (let n = 0; n < 7; n++) {
    await createByok({ provider: n % 2 ? "anthropic" : "openai", key: PROVIDER_KEY, name: `c${n}` });
  }
  await emulator.control("POST", "seed", { count: 0, workspace_id: OTHER_WORKSPACE });
  await createByok({ provider: "groq", key: PROVIDER_KEY, workspaceId: OTHER_WORKSPACE });
  const names = [];
  for await (const page of await client.byok.list({ limit: 3 })) {
    assert.equal(page.result.totalCount, 7);
    names.push(...page.result.data.map((item) => item.name));
  }
  assert.deepEqual(names, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
  const openai = (await client.byok.list({ provider: "openai" })).result;
  assert.equal(openai.totalCount, 4);
  const scoped = (await client.byok.list({ workspaceId: OTHER_WORKSPACE })).result;
  assert.deepEqual(scoped.data.map((item) => item.provider), ["groq"]);
});

test("byok: declared errors", async () => {
  const credential = await createByok({ provider: "openai", key: PROVIDER_KEY });
  await rejects(createByok({ provider: "openai", key: PROVIDER_KEY, allowedApiKeyHashes: ["f".repeat(64)] }), errors.BadRequestResponseError, 400);
  await rejects(client.byok.update({ id: credential.id, updateBYOKKeyRequest: { allowedApiKeyHashes: [] } }), errors.BadRequestResponseError, 400);
  await rejects(client.byok.get({ id: UNKNOWN_ID }), errors.NotFoundResponseError, 404);
  await rejects(client.byok.update({ id: UNKNOWN_ID, updateBYOKKeyRequest: { disabled: true } }), errors.NotFoundResponseError, 404);
  await rejects(client.byok.delete({ id: UNKNOWN_ID }), errors.NotFoundResponseError, 404);
  const stranger = emulator.client("sk-or-v1-not-a-key-of-this-account");
  await rejects(stranger.byok.get({ id: credential.id }), errors.UnauthorizedResponseError, 401);
  await rejects(stranger.byok.list(), errors.UnauthorizedResponseError, 401);
  const inference = (await client.apiKeys.create({ requestBody: { name: "inference" } })).key;
  await rejects(emulator.client(inference).byok.create({ createBYOKKeyRequest: { provider: "openai", key: PROVIDER_KEY } }), errors.ForbiddenResponseError, 403);
});
