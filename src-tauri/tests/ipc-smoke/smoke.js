// Drives every command of the shell through the real IPC (no @tauri-apps/api: this page is not
// bundled) and checks the answers. The verdict becomes the name of a fresh sandbox profile (through
// the app's own commands), which run.sh reads back from the app's database.
const out = document.getElementById("out");
const T = window.__TAURI_INTERNALS__;
const call = (cmd, args) => T.invoke(cmd, { args });
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) passed += 1; else failed += 1;
  out.textContent += (ok ? "PASS " : "FAIL ") + name + ": " + detail + "\n";
}

async function step(name, run, verify) {
  try {
    const value = await run();
    const [ok, detail] = verify(value);
    check(name, ok, detail);
    return value;
  } catch (error) {
    check(name, false, "rejected " + JSON.stringify(error));
    return undefined;
  }
}

async function rejects(name, run, kind) {
  try {
    await run();
    check(name, false, "resolved, expected " + kind);
  } catch (error) {
    check(name, error && error.kind === kind, JSON.stringify(error));
  }
}

(async () => {
  let evalBlocked = false;
  try { eval("1"); } catch { evalBlocked = true; }
  check("csp blocks eval", evalBlocked, String(evalBlocked));
  let fetchBlocked = false;
  try { await fetch("https://example.com/"); } catch { fetchBlocked = true; }
  check("csp blocks remote fetch", fetchBlocked, String(fetchBlocked));

  const events = [];
  await step("listen keys-changed", async () => {
    const handler = T.transformCallback((e) => events.push(e));
    return T.invoke("plugin:event|listen", { event: "keys-changed", target: { kind: "Any" }, handler });
  }, () => [true, "ok"]);

  const state = await step("app_state", () => call("app_state", {}),
    (s) => [Array.isArray(s.profiles) && Array.isArray(s.pending_secrets), s.profiles.length + " profiles"]);
  const profile = await step("sandbox_open", () => call("sandbox_open", {}),
    (p) => [p.is_sandbox && p.base_url.startsWith("http://127.0.0.1:"), p.name + " " + p.base_url]);
  if (!state || !profile) { await report(); return; }
  const id = profile.id;
  const listArgs = { profile_id: id, include_disabled: true, include_expired: true, refresh: true };
  await step("keys_list refresh", () => call("keys_list", listArgs),
    (k) => [k.keys.length > 0 && k.connectivity.state === "online" && !k.from_cache && "status" in k.keys[0],
      k.keys.length + " keys, " + k.connectivity.state]);
  await step("keys_list cached", () => call("keys_list", { ...listArgs, refresh: false }),
    (k) => [k.from_cache && k.fetched_at !== null, "from_cache=" + k.from_cache]);
  await step("credits_get", () => call("credits_get", { profile_id: id }),
    (c) => [typeof c.total_credits === "number", "$" + c.total_usage.toFixed(2) + " of $" + c.total_credits.toFixed(2)]);
  const bad = { profile_id: id, name: " ", limit: -1, limit_reset: null, include_byok_in_limit: false,
    expires_at: "2001-01-01T00:00:00Z" };
  await step("key_validate_create", () => call("key_validate_create", bad),
    (e) => [e.map((x) => x.field).join() === "name,limit,expires_at", e.map((x) => x.field + ":" + x.kind).join(", ")]);
  await rejects("key_create invalid", () => call("key_create", bad), "invalid_input");
  const created = await step("key_create", () => call("key_create", { ...bad, name: "smoke", limit: 5,
    limit_reset: "monthly", expires_at: null }),
    (c) => [c.secret.startsWith("sk-or-v1-") && c.pending_saved === (c.keychain_error === null),
      c.key.name + " " + c.key.label + " pending_saved=" + c.pending_saved]);
  if (created) {
    const hash = created.key.hash;
    await step("key_check", () => call("key_check", { secret: created.secret, base_url: profile.base_url }),
      (k) => [!k.is_management_key && k.label === created.key.label, "is_management_key=" + k.is_management_key]);
    if (created.pending_saved) {
      await step("secret_copy", () => call("secret_copy", { profile_id: id, key_hash: hash }),
        (r) => [Date.parse(r.clears_at) > Date.now(), "clears_at " + r.clears_at]);
    }
    await step("key_update", () => call("key_update", { profile_id: id, hash, limit: null, disabled: true }),
      (r) => [r.limit === null && r.limit_reset === "monthly" && r.status === "disabled", "limit=" + r.limit + " status=" + r.status]);
    if (created.pending_saved) {
      await step("pending_resolve keep", () => call("pending_resolve", { profile_id: id, key_hash: hash, action: "keep" }),
        (s) => [s.pending_secrets.some((p) => p.key_hash === hash && p.state === "kept"), "kept"]);
      await step("pending_resolve forget", () => call("pending_resolve", { profile_id: id, key_hash: hash, action: "forget" }),
        (s) => [!s.pending_secrets.some((p) => p.key_hash === hash), s.pending_secrets.length + " held"]);
    }
    await step("key_delete", () => call("key_delete", { profile_id: id, hash }), (r) => [r === null, String(r)]);
    await rejects("key_delete again", () => call("key_delete", { profile_id: id, hash }), "not_found");
  }
  await step("locate_folders", () => call("locate_folders", {}), (f) => [Array.isArray(f), f.length + " folders"]);
  await step("locate_scan", () => call("locate_scan", {}),
    (r) => [r.last_scan !== null && r.last_scan.saved && !r.last_scan.cancelled, r.last_scan.places_found + " places"]);
  await step("locate_report", () => call("locate_report", {}),
    (r) => [Array.isArray(r.keys) && Array.isArray(r.stale) && r.last_scan !== null, r.keys.length + " keys"]);
  await step("locate_scan_cancel idle", () => call("locate_scan_cancel", {}), (r) => [r === false, String(r)]);
  await step("key_locations", () => call("key_locations", { profile_id: id, key_hash: "0".repeat(64) }),
    (l) => [Array.isArray(l.places) && l.places.length === 0, l.places.length + " places"]);
  await step("locate_deploy_suggestions", () => call("locate_deploy_suggestions", { profile_id: id, key_hash: "0".repeat(64) }),
    (t) => [Array.isArray(t) && t.length === 0, t.length + " targets"]);
  // The CSV picks open native dialogs (not drivable here); the apply/run refuse a file never picked.
  await rejects("labels_import_apply unknown file", () => call("labels_import_apply",
    { profile_id: id, file_id: "nope", valid_only: false }), "invalid_input");
  await rejects("keys_csv_create unknown file", () => call("keys_csv_create", { profile_id: id, file_id: "nope" }),
    "invalid_input");
  await step("keys_csv_cancel", () => call("keys_csv_cancel", { profile_id: id }), (r) => [r === null, String(r)]);
  await rejects("profile_add wrong key", () => call("profile_add", { name: "x", base_url: profile.base_url,
    workspace_id: null, management_key: "sk-or-v1-nope" }), "unauthorized");
  await rejects("profile_replace_key sandbox", () => call("profile_replace_key", { id, management_key: "k" }), "invalid_input");
  // Batch operations and the emergency revoke, on three of the sandbox's active keys.
  const listed = await call("keys_list", { ...listArgs, refresh: false });
  const three = listed.keys.filter((k) => k.status === "active").slice(0, 3).map((k) => k.hash);
  await step("batch_run", () => call("batch_run", { profile_id: id, run_id: "smoke-1", hashes: three, operation: { kind: "set_limit", limit: 7, limit_reset: null } }),
    (r) => [r.done === three.length && r.failed === 0, r.done + " done"]);
  await rejects("batch_run bad limit", () => call("batch_run", { profile_id: id, run_id: "smoke-2", hashes: three, operation: { kind: "set_limit", limit: -1, limit_reset: null } }), "invalid_input");
  await step("batch_cancel (no such run)", () => call("batch_cancel", { run_id: "smoke-none" }), (r) => [r === false, String(r)]);
  await rejects("revoke_preview bad filter", () => call("revoke_preview", { profile_id: id, selection: { kind: "filter", expression: "colour:red" }, refresh: false }), "invalid_input");
  const revoked = await step("revoke_start", () => call("revoke_start", { profile_id: id, run_id: "smoke-3", selection: { kind: "hashes", hashes: three } }),
    (r) => [r.report.done === three.length && r.revoke.disabled.length === three.length, r.report.done + " disabled"]);
  await step("revokes_list", () => call("revokes_list", { profile_id: id }), (r) => [r.length >= 1, r.length + " revokes"]);
  if (revoked) {
    await step("revoke_reenable", () => call("revoke_reenable", { profile_id: id, run_id: "smoke-4", revoke_id: revoked.revoke.id }),
      (r) => [r.done === three.length, r.done + " enabled"]);
    await step("revoke_delete", () => call("revoke_delete", { profile_id: id, run_id: "smoke-5", revoke_id: revoked.revoke.id }),
      (r) => [r.done === three.length, r.done + " deleted"]);
  }
  await step("emergency_revoke_take", () => call("emergency_revoke_take", {}), (r) => [r === false, String(r)]);
  // About and diagnostics (the links and the log folder would start other programs: not here).
  await step("about_info", () => call("about_info", {}),
    (a) => [a.name === "Keyward" && /^\d+\.\d+\.\d+/.test(a.version) && a.commit.length > 0 && a.log_dir.endsWith("logs"), a.version + " " + a.commit + " " + a.webview_version]);
  await step("diagnostics_copy", () => call("diagnostics_copy", {}),
    (d) => [d.text.includes("App: Keyward") && !/sk-or-v1-[0-9a-f]{16}/.test(d.text), d.text.split("\n").length + " lines"]);
  await step("crash_latest", () => call("crash_latest", {}), (r) => [r === null, JSON.stringify(r)]);
  await rejects("crash_dismiss not a note", () => call("crash_dismiss", { id: "../keyward.sqlite3" }), "invalid_input");
  await step("about_open_take", () => call("about_open_take", {}), (r) => [r === false, String(r)]);
  // Updates: run.sh points the (debug-only) endpoint at a closed port on 127.0.0.1; no offer, no install.
  await step("update_check_take", () => call("update_check_take", {}), (r) => [r === false, String(r)]);
  await rejects("update_check (release server unreachable)", () => call("update_check", {}), "update");
  await rejects("update_install without an offer", () => call("update_install", { version: "99.0.0" }), "update");
  await step("profile_rename", () => call("profile_rename", { id, name: "Demo" }), (p) => [p.name === "Demo", p.name]);
  await step("profile_switch", () => call("profile_switch", { id }), (s) => [s.active_profile_id === id, "active"]);
  await rejects("unknown profile", () => call("credits_get", { profile_id: "nope" }), "profile_not_found");
  check("keys-changed events", events.length >= 3 && events[0].payload.profile_id === id,
    events.length + " received");
  // Every change above is in the audit log (no secret in it), and the chain verifies.
  await step("audit_list", () => call("audit_list", { profile_id: id, limit: 0 }),
    (p) => [p.entries.some((e) => e.action === "profile_rename") && !JSON.stringify(p).includes("sk-or-v1-"),
      p.entries.length + " entries"]);
  await step("audit_verify", () => call("audit_verify", {}), (v) => [v.ok && v.count > 0, "ok=" + v.ok + " count=" + v.count]);
  await step("profile_remove", () => call("profile_remove", { id }),
    (s) => [s.profiles.length === 0 && s.active_profile_id === null, s.profiles.length + " profiles left"]);
  await report();
})();

async function report() {
  const verdict = failed === 0 ? "smoke: PASS " + passed : "smoke: FAIL " + failed + " of " + (passed + failed);
  out.textContent += verdict + "\n";
  const sandbox = await call("sandbox_open", {});
  await call("profile_rename", { id: sandbox.id, name: verdict });
}
