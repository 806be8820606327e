// Pure rotation helpers: the words for steps, actions, targets and policies. Presentation only — the
// rules (policy defaults and validation, the new key's name, the name glob) are the core's, asked through
// rotation_policy_get/_validate, rotation_plan and rotation_batch_plan. Plain TypeScript (no runes).
import { clockTime } from "./watch-format";
import type {
  Attachment, DeployTarget, NewExpiry, RotationAction, RotationPolicy, RotationStatus, RotationStepName, RotationView,
} from "./rotation-types";

export const STEP_ORDER: RotationStepName[] = [
  "create", "store_secret", "attach", "deploy", "verify", "drain", "disable_old", "delete_old", "detach",
];

export const STEP_LABEL: Record<RotationStepName, string> = {
  create: "Create the new key",
  store_secret: "Store its secret in the OS keychain",
  attach: "Give it the old key's guardrail, BYOK and log links",
  deploy: "Deploy the new secret",
  verify: "Verify the new key works",
  drain: "Wait until the old key is no longer used",
  disable_old: "Disable the old key",
  delete_old: "Delete the old key",
  detach: "Remove the old key from those links",
};

/** The headline when a step stops the rotation. */
export const STEP_FAILED: Record<RotationStepName, string> = {
  create: "Creating the new key failed",
  store_secret: "Storing the new secret in the OS keychain failed",
  attach: "Adding the new key to the old key's guardrail, BYOK or log links failed",
  deploy: "Deploying the new secret failed",
  verify: "The new key did not pass its check",
  drain: "Watching the old key's usage failed",
  disable_old: "Disabling the old key failed",
  delete_old: "Deleting the old key failed",
  detach: "Removing the old key from its guardrail, BYOK or log links failed",
};

export const STATUS_LABEL: Record<RotationStatus, string> = {
  running: "running",
  waiting: "waiting",
  failed: "needs attention",
  completed: "completed",
  rolled_back: "rolled back",
  abandoned: "abandoned",
};

export const ACTION_LABEL: Record<RotationAction, string> = {
  resume: "Resume",
  retry: "Retry",
  confirm_drained: "Old key is no longer used",
  delete_now: "Delete the old key now",
  roll_back: "Roll back…",
  abandon: "Abandon…",
};

export const TARGET_KIND_LABEL: Record<DeployTarget["kind"], string> = {
  clipboard: "Clipboard",
  env_file: ".env file",
  keychain: "OS keychain entry",
  command: "Command",
  keyward_run: "keyward run",
};

/** One line naming where a target puts the secret. */
export function describeTarget(t: DeployTarget): string {
  switch (t.kind) {
    case "clipboard": return "the clipboard (cleared after 30 s)";
    case "env_file": return `${t.variable || "?"} in ${t.path || "?"}`;
    case "keychain": return `keychain entry ${t.service || "?"} / ${t.account || "?"}`;
    case "command": return `${[t.program || "?", ...t.args].join(" ")} (secret in $${t.env_var || "?"})`;
    case "keyward_run": return "keyward-cli run (kept in Keyward's keychain)";
  }
}

export function durationWords(secs: number): string {
  if (secs === 0) return "at once";
  if (secs % 86400 === 0) return `${secs / 86400} ${secs === 86400 ? "day" : "days"}`;
  if (secs % 3600 === 0) return `${secs / 3600} h`;
  if (secs % 60 === 0) return `${secs / 60} min`;
  return `${secs} s`;
}

/** `guardrail "EU only"`, `BYOK key "prod" (openai)`, `log destination "traces" (langfuse)`. */
export function describeAttachment(a: Attachment): string {
  switch (a.kind) {
    case "guardrail": return `guardrail "${a.name}"`;
    case "byok": return `BYOK key "${a.name}" (${a.provider})`;
    case "destination": return `log destination "${a.name}" (${a.type})`;
  }
}

export function newExpiryWords(e: NewExpiry): string {
  if (e === "keep_lifetime") return "keeps the old key's remaining lifetime";
  if (e === "none") return "never expires";
  if ("at" in e) return `expires ${e.at.slice(0, 10)}`;
  return `expires ${e.days} ${e.days === 1 ? "day" : "days"} after rotation`;
}

export function scheduleWords(p: RotationPolicy): string {
  const parts: string[] = [];
  if (p.every_days !== null) parts.push(`every ${p.every_days} ${p.every_days === 1 ? "day" : "days"}`);
  if (p.before_expiry_days !== null) parts.push(`${p.before_expiry_days} ${p.before_expiry_days === 1 ? "day" : "days"} before expiry`);
  return parts.length === 0 ? "no schedule (by hand only)" : parts.join(" and ");
}

/** A step's time, "12:03" today and with the day otherwise; "—" when there is none. */
export function stepTime(iso: string | null, now: number = Date.now()): string {
  return (iso && clockTime(iso, now)) || "—";
}

export function stepDone(view: RotationView, step: RotationStepName): boolean {
  const s = view.steps.find((x) => x.step === step);
  return !!s && s.status === "done";
}
