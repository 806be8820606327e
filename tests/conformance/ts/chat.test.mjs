// Chat completions through the official TypeScript SDK (@openrouter/sdk 1.3.19): `chat.send` parses the
// emulator's answer (its zod schemas are strict about required fields), and what a key's requests
// meet arrives as the SDK's typed errors: 402 over a limit, 403 for a guardrail or lost BYOK access.

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

const MODEL = "openai/gpt-5-mini";
const OTHER_MODEL = "anthropic/claude-sonnet-4";
const messages = [{ role: "user", content: "Say hello in five words." }];

const newKey = async (requestBody) => {
  const created = await client.apiKeys.create({ requestBody: { name: "chat", ...requestBody } });
  return { secret: created.key, hash: created.data.hash };
};

const send = (secret, chatRequest) =>
  emulator.client(secret).chat.send({ chatRequest: { model: MODEL, messages, ...chatRequest } });

async function rejects(call, type, status, text) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof type, `${error?.constructor?.name}: ${error}`);
    assert.equal(error.statusCode, status);
    if (text) assert.ok(error.message.includes(text), error.message);
    return true;
  });
}

test("chat: send parses the completion and the key is charged", async () => {
  const { secret, hash } = await newKey({});
  const result = await send(secret, {});
  assert.equal(result.object, "chat.completion");
  assert.equal(result.model, MODEL);
  assert.equal(result.choices[0].message.role, "assistant");
  assert.ok(typeof result.choices[0].message.content === "string" && result.choices[0].message.content);
  assert.equal(result.choices[0].finishReason, "stop");
  assert.equal(result.usage.totalTokens, result.usage.promptTokens + result.usage.completionTokens);
  assert.ok(result.usage.cost > 0);
  assert.equal(result.usage.isByok, false);
  const key = (await client.apiKeys.get({ hash })).data;
  assert.ok(Math.abs(key.usage - result.usage.cost) < 1e-9);
});

test("chat: a key over its limit gets 402", async () => {
  const { secret, hash } = await newKey({ limit: 0.5 });
  await emulator.recordUsage(hash, { usage: 0.5 });
  await rejects(() => send(secret, {}), errors.PaymentRequiredResponseError, 402, "Key limit exceeded");
});

test("chat: a guardrail forbidding the model gets 403 naming it", async () => {
  const { secret, hash } = await newKey({});
  const guardrail = (await client.guardrails.create({ createGuardrailRequest: { name: "Only mini", allowedModels: [MODEL] } })).data;
  await client.guardrails.bulkAssignKeys({ id: guardrail.id, bulkAssignKeysRequest: { keyHashes: [hash] } });
  assert.equal((await send(secret, {})).model, MODEL);
  await rejects(() => send(secret, { model: OTHER_MODEL }), errors.ForbiddenResponseError, 403, 'Guardrail "Only mini"');
});

test("chat: BYOK routing admits only the keys its credential names", async () => {
  const named = await newKey({ name: "named" });
  const outsider = await newKey({ name: "outsider" });
  await client.byok.create({
    createBYOKKeyRequest: { provider: "openai", key: "sk-proj-conformance-ts-chat-AbCd", allowedApiKeyHashes: [named.hash] },
  });
  const routed = await send(named.secret, { provider: { only: ["openai"] } });
  assert.equal(routed.usage.isByok, true);
  await rejects(() => send(outsider.secret, { provider: { only: ["openai"] } }), errors.ForbiddenResponseError, 403, "BYOK");
});

test("chat: unknown and disabled keys get 401", async () => {
  await rejects(() => send(`sk-or-v1-${"0".repeat(64)}`, {}), errors.UnauthorizedResponseError, 401);
  const { secret, hash } = await newKey({});
  await client.apiKeys.update({ hash, requestBody: { disabled: true } });
  await rejects(() => send(secret, {}), errors.UnauthorizedResponseError, 401, "API key is disabled");
});
