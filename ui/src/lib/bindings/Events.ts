// This file was generated from src-tauri/src by `cargo test -p keyward -- --ignored regenerate_bindings`. Do not edit it by hand.
import type { AboutOpenEvent } from "./AboutOpenEvent";
import type { AlertsSnapshot } from "./AlertsSnapshot";
import type { BatchProgressEvent } from "./BatchProgressEvent";
import type { ConnectivityEvent } from "./ConnectivityEvent";
import type { EmergencyRevokeOpenEvent } from "./EmergencyRevokeOpenEvent";
import type { EmptyArgs } from "./EmptyArgs";
import type { KeysChangedEvent } from "./KeysChangedEvent";
import type { KeysCsvProgress } from "./KeysCsvProgress";
import type { OpenKeyEvent } from "./OpenKeyEvent";
import type { RotationView } from "./RotationView";
import type { ScanProgress } from "./ScanProgress";
import type { UpdateProgress } from "./UpdateProgress";

/** Every event the shell emits: `listen(name, e => …)` receives `e.payload` of this type. */
export type Events = {
  "keys-changed": KeysChangedEvent;
  "connectivity": ConnectivityEvent;
  "alerts-changed": AlertsSnapshot;
  "rotation-changed": RotationView;
  "open-key": OpenKeyEvent;
  "locate-progress": ScanProgress;
  "keys-csv-progress": KeysCsvProgress;
  "batch-progress": BatchProgressEvent;
  "emergency-revoke-open": EmergencyRevokeOpenEvent;
  "about-open": AboutOpenEvent;
  "update-progress": UpdateProgress;
  "update-check-open": EmptyArgs;
};
