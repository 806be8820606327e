// Observability destinations through the official TypeScript SDK (@openrouter/sdk 1.3.19): the
// per-type union parsed with its secrets masked, paging, `api_key_hashes` updates, declared errors.

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

const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";
const LANGFUSE = { publicKey: "pk-lf-ts", secretKey: "sk-lf-ts-conformance-secret-4321" };

const newKey = async (name) => (await client.apiKeys.create({ requestBody: { name } })).data;
const createDestination = async (request) =>
  (await client.observability.create({ createObservabilityDestinationRequest: request })).data;

async function rejects(call, type, status) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof type, `${error?.constructor?.name}: ${error}`);
    assert.equal(error.statusCode, status);
    return true;
  });
}

test("observability: the per-type union parses, secrets masked, hashes set and cleared", async () => {
  const key = await newKey("logged");
  const created = await createDestination({ type: "langfuse", name: "traces", config: LANGFUSE, apiKeyHashes: [key.hash] });
  assert.equal(created.type, "langfuse");
  assert.equal(created.config.publicKey, "pk-lf-ts");
  assert.equal(created.config.secretKey, "****4321");
  assert.deepEqual(created.apiKeyHashes, [key.hash]);
  assert.deepEqual(created.regions, ["global"]);
  assert.deepEqual((await client.observability.get({ id: created.id })).data, created);

  const updated = (await client.observability.update({
    id: created.id,
    updateObservabilityDestinationRequest: { apiKeyHashes: null, enabled: false },
  })).data;
  assert.equal(updated.apiKeyHashes, null);
  assert.equal(updated.enabled, false);

  for (const [type, config] of [
    ["webhook", { url: "https://127.0.0.1/hook" }],
    ["s3", { bucketName: "b", accessKeyId: "AKIA0", secretAccessKey: "s3-secret-abcdefgh" }],
    ["datadog", { apiKey: "dd-api-key-0123456789", mlApp: "app" }],
  ]) {
    await createDestination({ type, name: type, config });
  }
  const types = [];
  for await (const page of await client.observability.list({ limit: 3 })) {
    assert.equal(page.result.totalCount, 4);
    types.push(...page.result.data.map((item) => item.type));
  }
  assert.deepEqual(types, ["langfuse", "webhook", "s3", "datadog"]);

  assert.equal((await client.observability.delete({ id: created.id })).deleted, true);
  await rejects(client.observability.get({ id: created.id }), errors.NotFoundResponseError, 404);
});

test("observability: declared errors", async () => {
  for (let n = 0; n < 5; n++) await createDestination({ type: "langfuse", name: `lf${n}`, config: LANGFUSE });
  await rejects(createDestination({ type: "langfuse", name: "lf5", config: LANGFUSE }), errors.ConflictResponseError, 409);
  await rejects(createDestination({ type: "webhook", name: "hook", config: {} }), errors.BadRequestResponseError, 400);
  await rejects(client.observability.update({ id: UNKNOWN_ID, updateObservabilityDestinationRequest: { enabled: true } }), errors.NotFoundResponseError, 404);
  await rejects(client.observability.delete({ id: UNKNOWN_ID }), errors.NotFoundResponseError, 404);
  const stranger = emulator.client("sk-or-v1-not-a-key-of-this-account");
  await rejects(stranger.observability.list(), errors.UnauthorizedResponseError, 401);
});
