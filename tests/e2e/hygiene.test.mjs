// The secret hygiene scanner can fail: secrets planted in files, in each encoding it claims to
// catch, at odd offsets, are found; clean files and other secrets are not. `node --test` (run.sh
// runs it before the e2e session, so a scanner that finds nothing can never pass the suite).

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { prepare, scan, searchBytes } from "./hygiene.mjs";

const secret = () => `sk-or-v1-${randomBytes(32).toString("hex")}`;
const noise = (n) => randomBytes(n);

test("finds a secret in every encoding, at every alignment, in the middle of other bytes", () => {
  for (let pad = 0; pad < 7; pad += 1) {
    const value = secret();
    const prepared = prepare([{ name: "planted", value }]);
    const utf16 = Buffer.from(`{"k":"${value}"}`, "utf16le");
    const encodings = {
      "utf-8": Buffer.from(`x=${value};`),
      "utf-16le": utf16,
      "utf-16be": Buffer.from(utf16).swap16(),
      base64: Buffer.from(Buffer.concat([noise(pad), Buffer.from(value), noise(5)]).toString("base64")),
      base64url: Buffer.from(Buffer.concat([noise(pad), Buffer.from(value), noise(5)]).toString("base64url")),
      truncated: Buffer.from(value.slice(0, 40)),
      "tail only": Buffer.from(`…${value.slice(-30)}`),
    };
    for (const [what, payload] of Object.entries(encodings)) {
      const bytes = Buffer.concat([noise(1000 + pad), payload, noise(999)]);
      const hits = searchBytes(prepared, bytes);
      assert.ok(hits.length > 0 && hits.every((h) => h.name === "planted"), `${what} with ${pad} bytes before: ${JSON.stringify(hits)}`);
    }
  }
});

test("finds nothing where there is nothing, and tells secrets apart", () => {
  const a = secret();
  const b = secret();
  const prepared = prepare([{ name: "a", value: a }, { name: "b", value: b }]);
  assert.deepEqual(searchBytes(prepared, noise(100_000)), []);
  // The label OpenRouter shows (first 3 and last 3 characters) is not the secret.
  assert.deepEqual(searchBytes(prepared, Buffer.from(`${a.slice(0, 12)}...${a.slice(-3)}`)), []);
  const hits = searchBytes(prepared, Buffer.concat([noise(10), Buffer.from(b)]));
  assert.deepEqual([...new Set(hits.map((h) => h.name))], ["b"]);
  // Shorter than a hash window, and exactly one.
  assert.deepEqual(searchBytes(prepared, Buffer.from("sk-or")), []);
  assert.equal(searchBytes(prepared, Buffer.from(a)).length > 0, true);
});

test("a scan of a tree reports the file, counts files and honours exclusions", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kw-hygiene-test-"));
  try {
    const value = secret();
    await mkdir(join(dir, "data/nested"), { recursive: true });
    await writeFile(join(dir, "data/clean.sqlite3"), noise(70_000));
    await writeFile(join(dir, "data/nested/localstorage.sqlite3"), Buffer.concat([noise(333), Buffer.from(value, "utf16le")]));
    await writeFile(join(dir, "target.env"), `KEY=${value}\n`);
    await symlink(join(dir, "target.env"), join(dir, "data/link-to-target"));
    const prepared = prepare([{ name: "planted", value }]);
    const result = await scan(prepared, [dir], { exclude: (p) => (p === join(dir, "target.env") ? "a deploy target" : null) });
    assert.equal(result.files, 2, "two regular files scanned (the symlink is not followed)");
    // (A UTF-16LE string also holds its UTF-16BE form shifted by a byte: both count.)
    assert.deepEqual([...new Set(result.hits.map((h) => h.path))], [join(dir, "data/nested/localstorage.sqlite3")]);
    const encodings = result.hits.map((h) => h.encoding);
    assert.ok(encodings.includes("utf-16le head") && encodings.includes("utf-16le tail"), encodings.join(", "));
    assert.deepEqual(result.excluded, [{ path: join(dir, "target.env"), reason: "a deploy target" }]);
    assert.deepEqual(result.unreadable, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
