// The secret hygiene scanner: searches files for secrets, byte for byte, in the encodings a secret
// could be stored in without being "written" on purpose — UTF-8/ASCII (logs, SQLite text, JSON),
// UTF-16 little and big endian (WebKit's local storage and IndexedDB keep strings as UTF-16) and
// base64 (standard and URL-safe, at each of the three byte alignments it can have inside a longer
// base64 text). A secret counts as found when the first or the last 24 characters after its
// `sk-or-v1-` prefix appear (so a truncated copy counts too), or its base64 does. One pass per file
// whatever the number of secrets: a rolling hash over 16-byte windows picks the candidate needles.
// Used by the e2e suite's last scenario (scenarios/hygiene.mjs); hygiene.test.mjs plants secrets
// to prove it finds them.

import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

const PREFIX = "sk-or-v1-";
/** Characters of a secret's body that, found anywhere, count as the secret. */
export const WINDOW_CHARS = 24;
/** Files larger than this are not read but reported (and fail the scan when they are in scope). */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;
const HASH_BYTES = 16;
const BASE = 257;

/** Every byte string whose presence means `secret` is in a file, each with what it is. */
export function needlesFor(secret) {
  const body = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  const windows = body.length > WINDOW_CHARS ? [body.slice(0, WINDOW_CHARS), body.slice(-WINDOW_CHARS)] : [secret];
  const needles = [];
  for (const [i, text] of windows.entries()) {
    const part = windows.length === 1 ? "whole" : i === 0 ? "head" : "tail";
    needles.push({ encoding: `utf-8 ${part}`, bytes: Buffer.from(text, "utf8") });
    needles.push({ encoding: `utf-16le ${part}`, bytes: Buffer.from(text, "utf16le") });
    needles.push({ encoding: `utf-16be ${part}`, bytes: Buffer.from(text, "utf16le").swap16() });
  }
  const raw = Buffer.from(secret, "utf8");
  for (let skip = 0; skip < 3; skip += 1) {
    const usable = Math.floor((raw.length - skip) / 3) * 3;
    if (usable < 18) continue;
    const b64 = raw.subarray(skip, skip + usable).toString("base64");
    needles.push({ encoding: `base64+${skip}`, bytes: Buffer.from(b64) });
    const url = b64.replaceAll("+", "-").replaceAll("/", "_");
    if (url !== b64) needles.push({ encoding: `base64url+${skip}`, bytes: Buffer.from(url) });
  }
  return needles.filter((n) => n.bytes.length >= HASH_BYTES);
}

function hashOf(bytes, start) {
  let h = 0;
  for (let i = 0; i < HASH_BYTES; i += 1) h = (Math.imul(h, BASE) + bytes[start + i]) >>> 0;
  return h;
}

/** B^(HASH_BYTES-1) mod 2^32, to take the leaving byte out of the rolling hash. */
const DROP = (() => {
  let p = 1;
  for (let i = 1; i < HASH_BYTES; i += 1) p = Math.imul(p, BASE) >>> 0;
  return p;
})();

/**
 * The secrets to look for, prepared once: `secrets` is [{ name, value }] (the name says what the
 * secret is, for the report; the value never goes into it).
 */
export function prepare(secrets) {
  const byHash = new Map();
  let needles = 0;
  for (const { name, value } of secrets) {
    for (const needle of needlesFor(value)) {
      const h = hashOf(needle.bytes, 0);
      if (!byHash.has(h)) byHash.set(h, []);
      byHash.get(h).push({ name, ...needle });
      needles += 1;
    }
  }
  return { byHash, secrets: secrets.length, needles };
}

/** The secrets in `bytes`: [{ name, encoding, offset }], at most one hit per secret and encoding. */
export function searchBytes(prepared, bytes) {
  const hits = [];
  const seen = new Set();
  if (bytes.length < HASH_BYTES) return hits;
  let h = hashOf(bytes, 0);
  for (let i = 0; ; i += 1) {
    const candidates = prepared.byHash.get(h);
    if (candidates) {
      for (const c of candidates) {
        const key = `${c.name}\u0000${c.encoding}`;
        if (seen.has(key) || i + c.bytes.length > bytes.length) continue;
        if (bytes.compare(c.bytes, 0, c.bytes.length, i, i + c.bytes.length) === 0) {
          seen.add(key);
          hits.push({ name: c.name, encoding: c.encoding, offset: i });
        }
      }
    }
    if (i + HASH_BYTES >= bytes.length) break;
    h = (Math.imul((h - Math.imul(bytes[i], DROP)) >>> 0, BASE) + bytes[i + HASH_BYTES]) >>> 0;
  }
  return hits;
}

/**
 * Walks `roots` (files or directories, symlinks not followed) and searches every regular file.
 * `exclude(path)` → a reason string leaves a file out (listed in the result); `include(path, stat)`
 * → false skips it silently (e.g. /tmp entries older than the session). Returns { files, bytes,
 * paths (every file scanned), hits: [{ path, name, encoding, offset }], excluded: [{ path, reason }], unreadable: [{ path, error }],
 * tooLarge: [path] }.
 */
export async function scan(prepared, roots, { exclude = () => null, include = () => true } = {}) {
  const result = { files: 0, bytes: 0, paths: [], hits: [], excluded: [], unreadable: [], tooLarge: [] };
  const visit = async (path) => {
    let info;
    try {
      info = await lstat(path);
    } catch (err) {
      if (err.code !== "ENOENT") result.unreadable.push({ path, error: err.code ?? String(err) });
      return;
    }
    if (!include(path, info)) return;
    const reason = exclude(path);
    if (reason) {
      result.excluded.push({ path, reason });
      return;
    }
    if (info.isDirectory()) {
      let entries;
      try {
        entries = await readdir(path);
      } catch (err) {
        if (err.code !== "ENOENT") result.unreadable.push({ path, error: err.code ?? String(err) });
        return;
      }
      for (const entry of entries.sort()) await visit(join(path, entry));
      return;
    }
    if (!info.isFile()) return;
    if (info.size > MAX_FILE_BYTES) {
      result.tooLarge.push(path);
      return;
    }
    let bytes;
    try {
      bytes = await readFile(path);
    } catch (err) {
      // Gone between listing and reading (a WAL checkpoint, a temp file): nothing left to leak.
      if (err.code !== "ENOENT") result.unreadable.push({ path, error: err.code ?? String(err) });
      return;
    }
    result.files += 1;
    result.bytes += bytes.length;
    result.paths.push(path);
    for (const hit of searchBytes(prepared, bytes)) result.hits.push({ path, ...hit });
  };
  for (const root of roots) await visit(root);
  return result;
}
