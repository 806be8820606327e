// Credits and activity through the official TypeScript SDK: parsed, and consistent with recorded usage.

import assert from "node:assert/strict";
import { test } from "node:test";
import { useEmulator } from "./emulator.mjs";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

const close = (actual, expected) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} != ${expected}`);

test("credits are parsed and follow recorded usage", async () => {
  const before = (await client.credits.getCredits()).data;
  const raw = (await emulator.rawGet("credits")).data;
  assert.equal(before.totalCredits, raw.total_credits);
  assert.equal(before.totalUsage, raw.total_usage);
  assert.ok(before.totalCredits >= 0 && before.totalUsage >= 0);

  const { hash } = (await client.apiKeys.create({ requestBody: { name: "spender" } })).data;
  await emulator.recordUsage(hash, { usage: 3.5, requests: 2 });

  const after = (await client.credits.getCredits()).data;
  assert.equal(after.totalCredits, before.totalCredits);
  close(after.totalUsage, before.totalUsage + 3.5);
});

test("activity reports recorded usage by day, model and key", async () => {
  const busy = (await client.apiKeys.create({ requestBody: { name: "busy" } })).data.hash;
  const idle = (await client.apiKeys.create({ requestBody: { name: "idle" } })).data.hash;
  await emulator.recordUsage(busy, { usage: 3.5, byok_usage: 1.25, requests: 7, model: "openai/gpt-4o-mini" });
  await emulator.recordUsage(idle, { usage: 0.5, requests: 1, model: "anthropic/claude-3.5-haiku" });
  const recordedDay = (await emulator.control("GET", "clock")).now.slice(0, 10);
  assert.match(recordedDay, /^\d{4}-\d{2}-\d{2}$/);
  // Activity covers completed UTC days: move the clock into the next day.
  await emulator.control("POST", "clock", { advance_seconds: 86_400 });

  const items = (await client.analytics.getUserActivity({ apiKeyHash: busy })).data;
  assert.ok(items.length > 0, "no activity for a key with recorded usage");
  assert.ok(items.every((item) => item.date.startsWith(recordedDay)));
  assert.deepEqual([...new Set(items.map((item) => item.model))], ["openai/gpt-4o-mini"]);
  close(items.reduce((sum, item) => sum + item.usage, 0), 3.5);
  close(items.reduce((sum, item) => sum + item.byokUsageInference, 0), 1.25);
  assert.equal(items.reduce((sum, item) => sum + item.requests, 0), 7);
  for (const item of items) {
    for (const field of ["modelPermaslug", "endpointId", "providerName"]) assert.equal(typeof item[field], "string");
    for (const field of ["promptTokens", "completionTokens", "reasoningTokens"]) assert.ok(Number.isInteger(item[field]));
  }

  const everyone = (await client.analytics.getUserActivity({ date: recordedDay })).data;
  assert.deepEqual(
    [...new Set(everyone.map((item) => item.model))].sort(),
    ["anthropic/claude-3.5-haiku", "openai/gpt-4o-mini"],
  );
  close(everyone.reduce((sum, item) => sum + item.usage, 0), 4);
});
