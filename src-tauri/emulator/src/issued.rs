//! Every secret this emulator process handed out — the `key` of each `POST /keys` answer and each
//! management key `POST /_emulator/management-keys` generated or took — kept in memory only (never
//! in `--state FILE`, which holds hashes) and listed by `GET /_emulator/issued-secrets`
//! (`{"secrets": ["sk-or-v1-…", …]}`, oldest first). It exists for the end-to-end suite's secret
//! hygiene scan, which searches everything Keyward wrote to disk for each of them.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State as AxumState;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::json;

use crate::app::{ApiResult, App, json_response, lock};

/// The secrets handed out since this process started.
#[derive(Default)]
pub struct IssuedSecrets(Mutex<Vec<String>>);

impl IssuedSecrets {
    pub fn record(&self, secret: &str) {
        lock(&self.0).push(secret.to_owned());
    }

    pub fn list(&self) -> Vec<String> {
        lock(&self.0).clone()
    }
}

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/issued-secrets", get(issued_secrets))
}

async fn issued_secrets(AxumState(app): AxumState<Arc<App>>) -> ApiResult {
    Ok(json_response(
        StatusCode::OK,
        json!({"secrets": app.issued.list()}),
    ))
}
