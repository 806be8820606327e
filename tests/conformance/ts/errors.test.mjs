// Every documented error as the official TypeScript SDK (@openrouter/sdk 1.3.19) raises it from the
// emulator's answers: the typed error where the operation declares the status, the generic
// OpenRouterDefaultError where it does not (reference §4 tables), with code and message intact.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import * as errors from "@openrouter/sdk/models/errors";
import { UNKNOWN_HASH, useEmulator } from "./emulator.mjs";

let emulator;
let client;
let keyHash;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});
beforeEach(async () => {
  keyHash = (await client.apiKeys.create({ requestBody: { name: "existing" } })).data.hash;
});

const TYPED = {
  400: errors.BadRequestResponseError,
  401: errors.UnauthorizedResponseError,
  403: errors.ForbiddenResponseError,
  404: errors.NotFoundResponseError,
  429: errors.TooManyRequestsResponseError,
  500: errors.InternalServerResponseError,
};

// name -> [call with a client and an existing key's hash, statuses the SDK declares for it]
const OPERATIONS = {
  list: [(c) => c.apiKeys.list(), [400, 401, 429, 500]],
  create: [(c) => c.apiKeys.create({ requestBody: { name: "made" } }), [400, 401, 403, 429, 500]],
  get: [(c, hash) => c.apiKeys.get({ hash }), [401, 404, 429, 500]],
  update: [(c, hash) => c.apiKeys.update({ hash, requestBody: { name: "renamed" } }), [400, 401, 404, 429, 500]],
  delete: [(c, hash) => c.apiKeys.delete({ hash }), [401, 404, 429, 500]],
  getCurrentKeyMetadata: [(c) => c.apiKeys.getCurrentKeyMetadata(), [401, 500]],
  getCredits: [(c) => c.credits.getCredits(), [401, 403, 500]],
  getUserActivity: [(c) => c.analytics.getUserActivity(), [400, 401, 403, 404, 500]],
};
const MANAGEMENT_ONLY = Object.keys(OPERATIONS).filter((name) => name !== "getCurrentKeyMetadata");

/** `call` must fail with `status`, raised as the class the SDK declares for it; returns the error. */
async function expectError(operation, status, call, message) {
  let caught;
  try {
    await call();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught, `${operation}: expected HTTP ${status}, but the call succeeded`);
  const declared = OPERATIONS[operation][1].includes(status);
  const expected = declared ? TYPED[status] : errors.OpenRouterDefaultError;
  assert.equal(caught.constructor, expected, `${operation} ${status}: got ${caught.constructor.name}: ${caught.message}`);
  assert.equal(caught.statusCode, status);
  const body = JSON.parse(caught.body);
  assert.equal(body.error.code, status);
  assert.equal(typeof body.error.message, "string");
  if (message !== undefined) assert.equal(body.error.message, message);
  if (declared) {
    assert.equal(caught.error.code, status);
    assert.equal(caught.error.message, body.error.message);
    assert.equal(caught.message, body.error.message);
  }
  return caught;
}

const run = (operation, sdk, hash = keyHash) => () => OPERATIONS[operation][0](sdk, hash);

describe("401", () => {
  for (const operation of Object.keys(OPERATIONS)) {
    test(`${operation} without a key`, () =>
      expectError(operation, 401, run(operation, emulator.client(null)), "Missing Authentication header"));
    test(`${operation} with an unknown key`, () =>
      expectError(operation, 401, run(operation, emulator.client(`sk-or-v1-${"ab".repeat(32)}`)), "Invalid API key"));
  }
});

describe("403 for an inference key", () => {
  for (const operation of MANAGEMENT_ONLY) {
    test(operation, async () => {
      const created = await client.apiKeys.create({ requestBody: { name: "inference-only" } });
      await expectError(
        operation,
        403,
        run(operation, emulator.client(created.key), created.data.hash),
        "Only management keys can perform this operation",
      );
      assert.equal((await client.apiKeys.get({ hash: created.data.hash })).data.name, "inference-only");
    });
  }
});

describe("404 for an unknown hash", () => {
  for (const operation of ["get", "update", "delete"]) {
    test(operation, () => expectError(operation, 404, run(operation, client, UNKNOWN_HASH), "Key not found"));
  }
});

describe("400", () => {
  test("create with an empty name", () =>
    expectError("create", 400, () => client.apiKeys.create({ requestBody: { name: "" } })));
  test("create with an unknown limitReset", async () => {
    await expectError("create", 400, () => client.apiKeys.create({ requestBody: { name: "k", limitReset: "yearly" } }));
    assert.deepEqual((await client.apiKeys.list({ includeDisabled: true })).data.map((key) => key.hash), [keyHash]);
  });
  test("update without fields", () =>
    expectError("update", 400, () => client.apiKeys.update({ hash: keyHash, requestBody: {} }), "No update fields provided"));
  test("list with a negative offset", () => expectError("list", 400, () => client.apiKeys.list({ offset: -1 })));
  test("activity with a malformed date", () =>
    expectError("getUserActivity", 400, () => client.analytics.getUserActivity({ date: "yesterday" })));
});

describe("429 with a readable Retry-After", () => {
  for (const operation of Object.keys(OPERATIONS)) {
    test(operation, async () => {
      await emulator.setFaults({ rate_limit: { next: 1, retry_after_seconds: 2 } });
      const error = await expectError(operation, 429, run(operation, client), "Rate limit exceeded");
      assert.equal(error.headers.get("retry-after"), "2");
      // One request only: the key is untouched and the API answers again.
      assert.equal((await client.apiKeys.get({ hash: keyHash })).data.name, "existing");
    });
  }
  test("retry-after-ms when configured", async () => {
    await emulator.setFaults({ rate_limit: { next: 1, retry_after_seconds: 1, retry_after_ms: 1500 } });
    const error = await expectError("list", 429, () => client.apiKeys.list(), "Rate limit exceeded");
    assert.equal(error.headers.get("retry-after"), "1");
    assert.equal(error.headers.get("retry-after-ms"), "1500");
  });
});

describe("500 from an injected server error", () => {
  for (const operation of Object.keys(OPERATIONS)) {
    test(operation, async () => {
      await emulator.setFaults({ server_error: { next: 1, status: 500 } });
      await expectError(operation, 500, run(operation, client), "Internal Server Error");
      assert.equal((await client.apiKeys.get({ hash: keyHash })).data.name, "existing");
    });
  }
});
