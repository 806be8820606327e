//! The events the shell emits to the window, listed once: [`keyward_events!`] makes the names, the
//! typed emitters and the generator's list (`Events.ts`) from the same lines.

use keyward_core::batch::{BatchProgressEvent, EmergencyRevokeOpenEvent};
use keyward_core::ipc::{ConnectivityEvent, KeysChangedEvent, KeysCsvProgress, OpenKeyEvent};
use keyward_core::rotation::RotationView;
use keyward_core::service::EventSink;
use keyward_core::watch::AlertsSnapshot;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::bindings::TsType;

macro_rules! keyward_events {
    ($($constant:ident = $name:literal: $payload:ty;)*) => {
        $(pub const $constant: &str = $name;)*

        /// Every event name with its payload type, for the TypeScript generator.
        pub fn signatures() -> Vec<(&'static str, TsType)> {
            vec![$(($name, TsType::of::<$payload>())),*]
        }
    };
}

keyward_events! {
    KEYS_CHANGED = "keys-changed": KeysChangedEvent;
    CONNECTIVITY = "connectivity": ConnectivityEvent;
    ALERTS_CHANGED = "alerts-changed": AlertsSnapshot;
    ROTATION_CHANGED = "rotation-changed": RotationView;
    OPEN_KEY = "open-key": OpenKeyEvent;
    LOCATE_PROGRESS = "locate-progress": keyward_core::locate::ScanProgress;
    KEYS_CSV_PROGRESS = "keys-csv-progress": KeysCsvProgress;
    BATCH_PROGRESS = "batch-progress": BatchProgressEvent;
    EMERGENCY_REVOKE_OPEN = "emergency-revoke-open": EmergencyRevokeOpenEvent;
    ABOUT_OPEN = "about-open": keyward_core::diagnostics::AboutOpenEvent;
    UPDATE_PROGRESS = "update-progress": keyward_core::updates::UpdateProgress;
    UPDATE_CHECK_OPEN = "update-check-open": keyward_core::ipc::EmptyArgs;
}

/// Emits `payload` as `name` to every window; a failure is only logged (nobody to tell).
pub fn emit<T: Serialize + Clone>(app: &AppHandle, name: &str, payload: T) {
    if let Err(err) = app.emit(name, payload) {
        tracing::warn!(event = name, error = %err, "could not emit an event");
    }
}

/// Forwards the service's events to every window of the app.
pub struct WindowEvents {
    app: AppHandle,
}

impl WindowEvents {
    pub fn new(app: AppHandle) -> Self {
        WindowEvents { app }
    }

    fn emit<T: Serialize + Clone>(&self, name: &str, payload: T) {
        emit(&self.app, name, payload);
    }
}

impl EventSink for WindowEvents {
    fn keys_changed(&self, event: KeysChangedEvent) {
        self.emit(KEYS_CHANGED, event);
    }

    fn connectivity(&self, event: ConnectivityEvent) {
        self.emit(CONNECTIVITY, event);
    }

    fn rotation_changed(&self, rotation: RotationView) {
        self.emit(ROTATION_CHANGED, rotation);
    }

    fn batch_progress(&self, event: BatchProgressEvent) {
        self.emit(BATCH_PROGRESS, event);
    }
}
