// Every key-management operation of the official TypeScript SDK (@openrouter/sdk 1.3.19) against the
// emulator: the SDK must parse each answer, and the parsed values must be the ones the API promises.

import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";
import { NotFoundResponseError } from "@openrouter/sdk/models/errors";
import { useEmulator } from "./emulator.mjs";

let emulator;
let client;

useEmulator((started) => {
  emulator = started;
  client = started.client();
});

const hashesOf = async (query = {}) => (await client.apiKeys.list(query)).data.map((key) => key.hash);

test("create with every field is parsed", async () => {
  const defaultWorkspace = (await client.apiKeys.create({ requestBody: { name: "probe" } })).data.workspaceId;
  const expires = new Date("2031-01-02T03:04:05.000Z");

  const created = await client.apiKeys.create({
    requestBody: {
      name: "customer-acme",
      limit: 25.5,
      limitReset: "weekly",
      includeByokInLimit: true,
      expiresAt: expires,
      creatorUserId: "user_conformance",
      workspaceId: defaultWorkspace,
      external: { user: "end-user-42" },
    },
  });

  const { key, data } = created;
  assert.match(key, /^sk-or-v1-/);
  assert.match(data.hash, /^[0-9a-f]{64}$/);
  assert.equal(data.hash, createHash("sha256").update(key).digest("hex"));
  assert.equal(data.name, "customer-acme");
  assert.ok(!data.label.includes(key) && data.label.startsWith("sk-or-v1-"));
  assert.equal(data.disabled, false);
  assert.equal(data.limit, 25.5);
  assert.equal(data.limitRemaining, 25.5);
  assert.equal(data.limitReset, "weekly");
  assert.equal(data.includeByokInLimit, true);
  assert.ok(data.expiresAt instanceof Date);
  assert.equal(data.expiresAt.getTime(), expires.getTime());
  assert.equal(data.creatorUserId, "user_conformance");
  assert.equal(data.externalUser, "end-user-42");
  assert.equal(data.workspaceId, defaultWorkspace);
  for (const field of ["usage", "usageDaily", "usageWeekly", "usageMonthly", "byokUsage", "byokUsageDaily", "byokUsageWeekly", "byokUsageMonthly"]) {
    assert.equal(data[field], 0, field);
  }
  assert.equal(typeof data.createdAt, "string");
});

test("create with only a name gets the defaults", async () => {
  const { data } = await client.apiKeys.create({ requestBody: { name: "bare" } });
  assert.equal(data.name, "bare");
  assert.equal(data.limit, null);
  assert.equal(data.limitRemaining, null);
  assert.equal(data.limitReset, null);
  assert.equal(data.includeByokInLimit, false);
  assert.equal(data.disabled, false);
  assert.ok(data.expiresAt === null || data.expiresAt === undefined);
  assert.equal(data.externalUser, null);
  assert.match(data.workspaceId, /^[0-9a-f-]{36}$/);
});

test("get returns the created key", async () => {
  const created = (await client.apiKeys.create({ requestBody: { name: "fetch-me", limit: 3, limitReset: "daily" } })).data;
  const fetched = (await client.apiKeys.get({ hash: created.hash })).data;
  assert.equal(fetched.hash, created.hash);
  assert.equal(fetched.name, "fetch-me");
  assert.equal(fetched.limit, 3);
  assert.equal(fetched.limitRemaining, 3);
  assert.equal(fetched.limitReset, "daily");
  assert.equal(fetched.label, created.label);
  assert.equal(fetched.createdAt, created.createdAt);
});

test("update changes each field and null clears the limit", async () => {
  const { hash } = (await client.apiKeys.create({ requestBody: { name: "before", limit: 10, limitReset: "monthly" } })).data;

  const renamed = (await client.apiKeys.update({ hash, requestBody: { name: "after", limit: null } })).data;
  assert.equal(renamed.name, "after");
  assert.equal(renamed.limit, null);
  assert.equal(renamed.limitRemaining, null);
  assert.notEqual(renamed.updatedAt, null);

  const limited = (await client.apiKeys.update({ hash, requestBody: { limit: 5, limitReset: "daily", includeByokInLimit: true } })).data;
  assert.equal(limited.limit, 5);
  assert.equal(limited.limitRemaining, 5);
  assert.equal(limited.limitReset, "daily");
  assert.equal(limited.includeByokInLimit, true);

  const noReset = (await client.apiKeys.update({ hash, requestBody: { limitReset: null } })).data;
  assert.equal(noReset.limitReset, null);
  assert.equal(noReset.limit, 5);

  assert.equal((await client.apiKeys.update({ hash, requestBody: { disabled: true } })).data.disabled, true);
  assert.equal((await client.apiKeys.get({ hash })).data.disabled, true);
  assert.equal((await client.apiKeys.update({ hash, requestBody: { disabled: false } })).data.disabled, false);
});

test("delete answers deleted: true and the key is gone", async () => {
  const { hash } = (await client.apiKeys.create({ requestBody: { name: "doomed" } })).data;
  const answer = await client.apiKeys.delete({ hash });
  assert.deepEqual(answer, { deleted: true });
  assert.ok(!(await hashesOf({ includeDisabled: true })).includes(hash));
  await assert.rejects(client.apiKeys.get({ hash }), NotFoundResponseError);
});

test("list hides disabled keys unless includeDisabled, newest first", async () => {
  const active = (await client.apiKeys.create({ requestBody: { name: "active" } })).data.hash;
  const disabled = (await client.apiKeys.create({ requestBody: { name: "disabled" } })).data.hash;
  await client.apiKeys.update({ hash: disabled, requestBody: { disabled: true } });
  // TS 1.3.19 cannot ask for expired keys: an expired key never shows in its lists.
  const expiresAt = new Date((await emulator.now()).getTime() + 3600_000);
  expiresAt.setUTCMilliseconds(0);
  const expiring = (await client.apiKeys.create({ requestBody: { name: "expiring", expiresAt } })).data.hash;
  assert.deepEqual(await hashesOf(), [expiring, active]);
  await emulator.control("POST", "clock", { advance_seconds: 2 * 3600 });

  assert.deepEqual(await hashesOf(), [active]);
  assert.deepEqual(await hashesOf({ includeDisabled: true }), [disabled, active]);
  assert.deepEqual(await hashesOf({ includeDisabled: false }), [active]);
});

test("paging with offset lists 250+ keys once each", async () => {
  const created = [];
  for (let batch = 0; batch < 13; batch += 1) {
    const names = Array.from({ length: 20 }, (_, index) => `bulk-${batch * 20 + index}`);
    const answers = await Promise.all(names.map((name) => client.apiKeys.create({ requestBody: { name } })));
    created.push(...answers.map((answer) => answer.data.hash));
  }
  assert.equal(created.length, 260);

  const listed = [];
  const pages = [];
  for (let offset = 0; ; ) {
    const page = (await client.apiKeys.list({ offset })).data;
    pages.push(page.length);
    listed.push(...page.map((key) => key.hash));
    offset += page.length;
    if (page.length < 100) break;
  }
  assert.deepEqual(pages, [100, 100, 60]);
  assert.equal(new Set(listed).size, 260);
  assert.deepEqual([...listed].sort(), [...created].sort());
  assert.deepEqual((await hashesOf({ offset: 250 })), listed.slice(250));
  assert.deepEqual(await hashesOf({ offset: 260 }), []);
});

test("list by workspaceId", async () => {
  const home = (await client.apiKeys.create({ requestBody: { name: "home" } })).data;
  const otherWorkspace = randomUUID();
  const seeded = (await emulator.control("POST", "seed", { count: 5, seed: 11, workspace_id: otherWorkspace })).hashes;
  const everyKey = (await emulator.control("GET", "keys")).data;
  const now = await emulator.now();
  const visible = seeded.filter((hash) => {
    const key = everyKey.find((candidate) => candidate.hash === hash);
    return key.expires_at === null || key.expires_at === undefined || new Date(key.expires_at) > now;
  });

  const elsewhere = (await client.apiKeys.list({ workspaceId: otherWorkspace, includeDisabled: true })).data;
  assert.deepEqual(elsewhere.map((key) => key.hash), visible);
  assert.ok(elsewhere.every((key) => key.workspaceId === otherWorkspace));
  assert.deepEqual(await hashesOf({ includeDisabled: true }), [home.hash]);
  assert.deepEqual(await hashesOf({ workspaceId: home.workspaceId, includeDisabled: true }), [home.hash]);
});

test("recorded usage moves every window and limitRemaining", async () => {
  const { hash } = (await client.apiKeys.create({ requestBody: { name: "spender", limit: 20, limitReset: "monthly" } })).data;
  await emulator.recordUsage(hash, { usage: 3.5, byok_usage: 1.25, requests: 7, model: "openai/gpt-4o-mini" });

  const spent = (await client.apiKeys.get({ hash })).data;
  assert.equal(spent.usage, 3.5);
  assert.equal(spent.usageDaily, 3.5);
  assert.equal(spent.usageWeekly, 3.5);
  assert.equal(spent.usageMonthly, 3.5);
  assert.equal(spent.byokUsage, 1.25);
  assert.equal(spent.byokUsageDaily, 1.25);
  assert.equal(spent.byokUsageWeekly, 1.25);
  assert.equal(spent.byokUsageMonthly, 1.25);
  assert.ok(Math.abs(spent.limitRemaining - 16.5) < 1e-9);

  const counted = (await client.apiKeys.update({ hash, requestBody: { includeByokInLimit: true } })).data;
  assert.ok(Math.abs(counted.limitRemaining - 15.25) < 1e-9);
});

test("current key metadata of the management key", async () => {
  const me = (await client.apiKeys.getCurrentKeyMetadata()).data;
  const raw = (await emulator.rawGet("key")).data;
  assert.equal(me.isManagementKey, true);
  assert.equal(me.isProvisioningKey, true);
  assert.equal(me.label, raw.label);
  assert.equal(me.limit, raw.limit);
  assert.equal(me.usage, raw.usage);
  assert.equal(me.isFreeTier, raw.is_free_tier);
  assert.equal(me.workspaceId, raw.workspace_id);
  assert.equal(me.organizationId, raw.organization_id);
  assert.equal(me.rateLimit.requests, raw.rate_limit.requests);
  assert.deepEqual(me.allowedDataRegions, raw.allowed_data_regions);
  assert.equal(me.freeModelDailyRequests.limit, raw.free_model_daily_requests.limit);
});

test("current key metadata of a created inference key", async () => {
  const expiresAt = new Date((await emulator.now()).getTime() + 30 * 86_400_000);
  expiresAt.setUTCMilliseconds(0);
  const created = await client.apiKeys.create({ requestBody: { name: "inference", limit: 20, limitReset: "monthly", expiresAt } });
  await emulator.recordUsage(created.data.hash, { usage: 2, byok_usage: 0.5, requests: 3 });

  const me = (await emulator.client(created.key).apiKeys.getCurrentKeyMetadata()).data;
  assert.equal(me.isManagementKey, false);
  assert.equal(me.isProvisioningKey, false);
  assert.equal(me.label, created.data.label);
  assert.equal(me.limit, 20);
  assert.ok(Math.abs(me.limitRemaining - 18) < 1e-9);
  assert.equal(me.limitReset, "monthly");
  assert.equal(me.includeByokInLimit, false);
  assert.equal(me.usage, 2);
  assert.equal(me.usageDaily, 2);
  assert.equal(me.usageMonthly, 2);
  assert.equal(me.byokUsage, 0.5);
  assert.equal(me.expiresAt.getTime(), expiresAt.getTime());
  assert.equal(me.workspaceId, created.data.workspaceId);
});
