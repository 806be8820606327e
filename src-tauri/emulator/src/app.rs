//! The shared server context every handler sees, and the JSON response helpers all of them use.

use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Value, json};

use crate::faults::{FaultState, RequestLog};
use crate::persist::Persister;
use crate::quirks::QuirkConfig;
use crate::state::State;
use crate::traffic::TrafficRun;

/// Locks a mutex; a panic elsewhere must not take the whole emulator down with it.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct App {
    state: Mutex<State>,
    faults: Mutex<FaultState>,
    log: Mutex<RequestLog>,
    quirks: Mutex<QuirkConfig>,
    pub persister: Option<Persister>,
    pub traffic: Mutex<Option<TrafficRun>>,
    /// Randomness of the traffic simulator.
    pub rng: Mutex<StdRng>,
    /// The secrets handed out (memory only), for `GET /_emulator/issued-secrets`.
    pub issued: crate::issued::IssuedSecrets,
}

impl App {
    pub fn new(state: State, faults: FaultState, persister: Option<Persister>) -> Self {
        Self {
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            log: Mutex::new(RequestLog::default()),
            quirks: Mutex::new(QuirkConfig::default()),
            persister,
            traffic: Mutex::new(None),
            rng: Mutex::new(StdRng::from_os_rng()),
            issued: Default::default(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultState> {
        lock(&self.faults)
    }

    pub fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    /// Wire quirks (`/_emulator/quirks`); a leaf lock, never held while taking another.
    pub fn quirks(&self) -> MutexGuard<'_, QuirkConfig> {
        lock(&self.quirks)
    }

    pub fn state_mutex(&self) -> &Mutex<State> {
        &self.state
    }

    /// Called after every change of persisted state: schedules a write of `--state FILE`.
    pub fn changed(&self) {
        if let Some(persister) = &self.persister {
            persister.mark_dirty();
        }
    }
}

/// A JSON body with the given status (`application/json`).
pub fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    (status, Json(body)).into_response()
}

/// `{"data": …}`, the envelope of every successful API answer but delete's.
#[derive(Serialize)]
pub struct Data<T> {
    pub data: T,
}

/// An error in OpenRouter's shape: `{"error":{"code":<int>,"message":<str>}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Key not found")
    }
}

pub fn error_body(status: StatusCode, message: &str) -> Value {
    json!({"error": {"code": status.as_u16(), "message": message}})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, error_body(self.status, &self.message))
    }
}

pub type ApiResult = Result<Response, ApiError>;
