// `/analytics/query` and `/analytics/meta` through the official TypeScript SDK (@openrouter/sdk
// 1.3.19). The SDK's row schema is `z.object({})`: it strips every value of a row, so row contents are
// checked on the same query sent without the SDK; the SDK must still parse the answer.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as errors from "@openrouter/sdk/models/errors";
import { UNKNOWN_HASH, useEmulator } from "./emulator.mjs";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

const newKey = async (name) => (await client.apiKeys.create({ requestBody: { name } })).data;

async function rejects(call, type, status) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof type, `${error?.constructor?.name}: ${error}`);
    assert.equal(error.statusCode, status);
    return true;
  });
}

async function rawQuery(body) {
  const response = await fetch(`${emulator.baseUrl}/analytics/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${emulator.managementKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200);
  return (await response.json()).data;
}

test("analytics: per-key spend by day and model, meta, and declared errors", async () => {
  const key = await newKey("spender");
  const other = await newKey("other");
  await emulator.recordUsage(key.hash, { usage: 1.25, requests: 10, model: "openai/gpt-4.1" });
  await emulator.recordUsage(key.hash, { usage: 0.5, requests: 4, model: "anthropic/claude-sonnet-4" });
  await emulator.recordUsage(other.hash, { usage: 9, requests: 1, model: "openai/gpt-4.1" });
  const now = await emulator.now();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const end = new Date(start.getTime() + 86_400_000);

  const requestBody = {
    metrics: ["total_usage", "request_count"],
    dimensions: ["model"],
    granularity: "day",
    timeRange: { start, end },
    filters: [{ field: "api_key_id", operator: "eq", value: key.hash }],
    orderBy: { field: "total_usage", direction: "desc" },
  };
  const answer = (await client.analytics.queryAnalytics({ requestBody })).data;
  assert.equal(answer.metadata.rowCount, 2);
  assert.equal(answer.metadata.truncated, false);
  assert.equal(answer.data.length, 2);
  const raw = await rawQuery({
    metrics: requestBody.metrics,
    dimensions: requestBody.dimensions,
    granularity: "day",
    time_range: { start: start.toISOString(), end: end.toISOString() },
    filters: requestBody.filters,
    order_by: requestBody.orderBy,
  });
  const day = `${start.toISOString().slice(0, 10)}T00:00:00.000Z`;
  assert.deepEqual(raw.data, [
    { date__day: day, model: "openai/gpt-4.1", total_usage: 1.25, request_count: 10 },
    { date__day: day, model: "anthropic/claude-sonnet-4", total_usage: 0.5, request_count: 4 },
  ]);

  const unknown = (await client.analytics.queryAnalytics({
    requestBody: { metrics: ["total_usage"], filters: [{ field: "api_key_id", operator: "eq", value: UNKNOWN_HASH }] },
  })).data;
  assert.deepEqual(unknown.data, []);
  assert.ok(unknown.warnings[0].includes(UNKNOWN_HASH));

  const meta = (await client.analytics.getAnalyticsMeta()).data;
  assert.ok(meta.metrics.some((metric) => metric.name === "total_usage" && metric.displayFormat === "currency"));
  assert.ok(meta.dimensions.some((dimension) => dimension.name === "api_key_id"));
  assert.ok(meta.granularities.some((granularity) => granularity.name === "day"));
  assert.ok(meta.operators.some((operator) => operator.name === "in" && operator.valueType === "array"));

  await rejects(client.analytics.queryAnalytics({ requestBody: { metrics: ["no_such_metric"] } }), errors.BadRequestResponseError, 400);
  const stranger = emulator.client("sk-or-v1-not-a-key-of-this-account");
  await rejects(stranger.analytics.getAnalyticsMeta(), errors.UnauthorizedResponseError, 401);
  await rejects(stranger.analytics.queryAnalytics({ requestBody: { metrics: ["request_count"] } }), errors.UnauthorizedResponseError, 401);
  const inference = (await client.apiKeys.create({ requestBody: { name: "inference" } })).key;
  await rejects(emulator.client(inference).analytics.queryAnalytics({ requestBody: { metrics: ["request_count"] } }), errors.ForbiddenResponseError, 403);
});
