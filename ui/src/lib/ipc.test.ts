import { emit } from "@tauri-apps/api/event";
import { mockIPC } from "@tauri-apps/api/mocks";
import { describe, expect, it } from "vitest";
import type { OpenKeyEvent } from "./bindings/OpenKeyEvent";
import { call, on, toAppError } from "./ipc";

describe("ipc", () => {
  it("invokes the command with one argument object named args", async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, payload) => {
      seen.push([cmd, payload]);
      return { total_credits: 1, total_usage: 0.5 };
    });
    await expect(call("credits_get", { profile_id: "p1" })).resolves.toEqual({ total_credits: 1, total_usage: 0.5 });
    expect(seen).toEqual([["credits_get", { args: { profile_id: "p1" } }]]);
  });

  it("passes an AppError rejection through, filling absent optional fields", async () => {
    mockIPC(() => {
      throw { kind: "not_found", message: "Key not found" };
    });
    await expect(call("key_delete", { profile_id: "p1", hash: "h" })).rejects.toEqual({
      kind: "not_found", message: "Key not found", field: null, retry_after_ms: null,
    });
  });

  it("turns anything else into an internal AppError with a readable message", () => {
    expect(toAppError("command key_frobnicate not found")).toEqual({
      kind: "internal", message: "command key_frobnicate not found", field: null, retry_after_ms: null,
    });
    expect(toAppError(new Error("boom")).message).toBe("boom");
    expect(toAppError({ kind: "made_up", message: "x" }).kind).toBe("internal");
    expect(toAppError(undefined).message).toBe("Something went wrong inside Keyward.");
  });

  it("delivers an event's payload to its handler until unlistened", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: OpenKeyEvent[] = [];
    const unlisten = await on("open-key", (event) => seen.push(event));
    await emit("open-key", { profile_id: "p1", key_hash: "h1" });
    await emit("keys-changed", { profile_id: "p1" });
    unlisten();
    await emit("open-key", { profile_id: "p1", key_hash: "h2" });
    expect(seen).toEqual([{ profile_id: "p1", key_hash: "h1" }]);
  });
});
