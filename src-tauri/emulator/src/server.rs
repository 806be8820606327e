//! The HTTP server: the accept loop over hyper (so a fault can close a connection without any
//! response), the router, the fault gate in front of `/api/v1` and the JSON-only error guard.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::app::{App, error_body, json_response};
use crate::faults::{Fault, log_entry};
use crate::{api, body_faults, control};

/// Lets a handler close the connection its request came in on, without a response.
#[derive(Clone, Debug)]
pub struct ConnectionCloser(Arc<Notify>);

impl ConnectionCloser {
    fn close(&self) {
        self.0.notify_one();
    }
}

pub fn router(app: Arc<App>) -> Router {
    let api = api::router()
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            crate::quirks::gate,
        ))
        .layer(middleware::from_fn_with_state(Arc::clone(&app), api_gate));
    Router::new()
        .nest("/api/v1", api)
        .nest(
            "/_emulator",
            control::router().merge(crate::quirks::router()),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(json_errors_only))
        .with_state(app)
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        error_body(StatusCode::NOT_FOUND, "Not Found"),
    )
}

/// Faults, latency and the request log for every `/api/v1` request.
async fn api_gate(AxumState(app): AxumState<Arc<App>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    // Inside the nested router the URI has lost its `/api/v1` prefix; log and match the full path.
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |original| original.0.clone());
    let path = uri.path().to_owned();
    let query = uri.query().map(str::to_owned);
    let decision = app.faults().decide(&path, Instant::now());
    if let Some(latency) = decision.latency {
        tokio::time::sleep(latency).await;
    }
    let log = |status: Option<u16>, fault: Option<&'static str>| {
        let at = app.state().now();
        app.log().push(log_entry(
            at,
            &method,
            &path,
            query.as_deref(),
            status,
            fault,
        ));
    };
    let closer = request.extensions().get::<ConnectionCloser>().cloned();
    let kind = decision.fault.as_ref().map(Fault::kind);
    let (response, fault) = match decision.fault {
        Some(Fault::Drop) => {
            log(None, kind);
            return close_connection(closer, Duration::ZERO).await;
        }
        Some(Fault::Timeout { hold }) => {
            log(None, kind);
            return close_connection(closer, hold).await;
        }
        Some(Fault::RateLimit {
            retry_after_seconds,
            retry_after_ms,
        }) => {
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                error_body(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded"),
            );
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            if let Some(ms) = retry_after_ms {
                headers.insert("retry-after-ms", HeaderValue::from(ms));
            }
            (response, kind)
        }
        Some(Fault::ServerError { status }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                json_response(status, error_body(status, "Internal Server Error")),
                kind,
            )
        }
        Some(Fault::SlowBody { chunks, delay }) => (
            body_faults::slow(next.run(request).await, chunks, delay).await,
            kind,
        ),
        Some(Fault::CutBody) => (body_faults::cut(next.run(request).await).await, kind),
        None => (next.run(request).await, None),
    };
    log(Some(response.status().as_u16()), fault);
    response
}

/// After `hold`, closes the connection without answering (the connection task drops it, which
/// also drops this future). Without a closer (not served by [`serve`]) it answers 504 instead.
async fn close_connection(closer: Option<ConnectionCloser>, hold: Duration) -> Response {
    tokio::time::sleep(hold).await;
    match closer {
        Some(closer) => {
            closer.close();
            std::future::pending::<Response>().await
        }
        None => json_response(
            StatusCode::GATEWAY_TIMEOUT,
            error_body(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout"),
        ),
    }
}

/// Every error body is JSON in OpenRouter's shape, even the ones axum writes itself (405, 413…).
async fn json_errors_only(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json || status.is_success() && status != StatusCode::NO_CONTENT {
        return response;
    }
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("Error").to_owned()
    } else {
        text
    };
    json_response(status, error_body(status, &message))
}

/// Serves `router` on `listener` until `shutdown` turns true (or its sender is dropped); open
/// connections, including held ones, are closed then.
pub async fn serve(listener: TcpListener, router: Router, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stopped| *stopped) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let close = Arc::new(Notify::new());
            let closer = ConnectionCloser(Arc::clone(&close));
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(closer.clone());
                    router.clone().oneshot(request.map(Body::new))
                });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                () = close.notified() => {}
                _ = shutdown.wait_for(|stopped| *stopped) => {}
            }
        });
    }
}
