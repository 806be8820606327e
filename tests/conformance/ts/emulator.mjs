// The emulator under test for one test file: started from KEYWARD_EMULATOR_BIN on a free port, its
// first stdout line read as JSON, its `/_emulator` controls, and clients of the official TS SDK.

import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, beforeEach } from "node:test";
import { OpenRouter } from "@openrouter/sdk";

export const MANAGEMENT_KEY = "sk-or-v1-conformance-ts-management";
export const UNKNOWN_HASH = "0".repeat(64);

// The SDK falls back to this variable when no key is given; the no-key tests need it unset.
delete process.env.OPENROUTER_API_KEY;

/**
 * Registers a test file's hooks: one emulator for the file (handed to `started` once it runs),
 * stopped at the end, reset before each test. Register other `beforeEach` hooks after this one.
 */
export function useEmulator(started) {
  let emulator;
  before(async () => {
    emulator = await startEmulator();
    started(emulator);
  });
  after(() => emulator?.stop());
  beforeEach(() => emulator.reset());
}

export async function startEmulator() {
  const binary = process.env.KEYWARD_EMULATOR_BIN;
  if (!binary) {
    throw new Error(
      "KEYWARD_EMULATOR_BIN is not set: run `cargo xtask test --only conformance-ts`, " +
        "or build the emulator and point the variable at the binary",
    );
  }
  const child = spawn(binary, ["--port", "0", "--management-key", MANAGEMENT_KEY], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const firstLine = await new Promise((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the emulator exited (${code}) before its first line`)));
    child.once("error", reject);
  });
  // Keep reading so the emulator never blocks on a full pipe.
  lines.on("line", () => {});
  let endpoints;
  try {
    endpoints = JSON.parse(firstLine);
  } catch {
    child.kill("SIGKILL");
    throw new Error(`the emulator's first line is not JSON: ${firstLine}`);
  }
  return new Emulator(child, endpoints);
}

class Emulator {
  constructor(child, endpoints) {
    this.child = child;
    this.baseUrl = endpoints.base_url;
    this.controlUrl = endpoints.control_url.replace(/\/$/, "");
    this.managementKey = endpoints.management_key;
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }

  async control(method, path, body) {
    const response = await fetch(`${this.controlUrl}/${path.replace(/^\//, "")}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} /_emulator/${path} answered ${response.status}: ${text}`);
    }
    return text.trim() ? JSON.parse(text) : null;
  }

  /** Forgets everything; then, within 5 minutes of UTC midnight (when usage windows reset), moves
   * the emulator's clock past it so no test straddles one. */
  async reset() {
    await this.control("POST", "reset");
    const now = await this.now();
    if (now.getUTCHours() === 23 && now.getUTCMinutes() >= 55) {
      await this.control("POST", "clock", { advance_seconds: 600 });
    }
  }

  setFaults(faults) {
    return this.control("POST", "faults", faults);
  }

  recordUsage(hash, usage) {
    return this.control("POST", `keys/${hash}/usage`, usage);
  }

  async now() {
    return new Date((await this.control("GET", "clock")).now);
  }

  /** Retries off (the default retries 5xx for an hour) and a timeout. `null` = no key at all. */
  client(apiKey = this.managementKey) {
    return new OpenRouter({
      ...(apiKey === null ? {} : { apiKey }),
      serverURL: this.baseUrl,
      retryConfig: { strategy: "none" },
      timeoutMs: 10_000,
    });
  }

  /** An API path without the SDK, to compare what was sent with what the SDK parsed. */
  async rawGet(path, apiKey = this.managementKey) {
    const response = await fetch(`${this.baseUrl}/${path}`, {
      headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" },
    });
    return response.json();
  }
}
