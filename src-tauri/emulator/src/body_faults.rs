//! Faults that strike after the handler ran, on the way back: a **slow body** (the status line and
//! headers at once, then the body in chunks with a pause before each but the first) and a **cut
//! body** (the headers and the first half of the body, then the connection closes). Both leave the
//! request's effect in place — the key is created, the PATCH applied — while the client may never
//! read the answer: the case a client must not mistake for "nothing happened".
//! Configured beside the other faults (`slow_body`, `cut_body` in `POST /_emulator/faults`).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

/// Longest pause between two chunks of a slow body.
const MAX_CHUNK_DELAY_MS: u64 = 60_000;
/// Most chunks a slow body is cut into.
const MAX_CHUNKS: u32 = 1_000;
/// How long a cut body waits after its half before the connection closes.
const CUT_PAUSE: Duration = Duration::from_millis(20);

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlowBodyFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
    /// The body is sent in this many chunks (default 4).
    #[serde(default = "default_chunks")]
    pub chunks: u32,
    /// Pause before every chunk but the first (default 100 ms).
    #[serde(default = "default_chunk_delay_ms")]
    pub chunk_delay_ms: u64,
}

impl Default for SlowBodyFault {
    fn default() -> Self {
        Self {
            next: 0,
            probability: 0.0,
            chunks: default_chunks(),
            chunk_delay_ms: default_chunk_delay_ms(),
        }
    }
}

fn default_chunks() -> u32 {
    4
}

fn default_chunk_delay_ms() -> u64 {
    100
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CutBodyFault {
    #[serde(default)]
    pub next: u64,
    #[serde(default)]
    pub probability: f64,
}

impl SlowBodyFault {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_CHUNKS).contains(&self.chunks) {
            return Err(format!(
                "\"slow_body.chunks\" must be between 1 and {MAX_CHUNKS}"
            ));
        }
        if self.chunk_delay_ms > MAX_CHUNK_DELAY_MS {
            return Err(format!(
                "\"slow_body.chunk_delay_ms\" must be at most {MAX_CHUNK_DELAY_MS}"
            ));
        }
        Ok(())
    }
}

/// Splits `bytes` into at most `chunks` pieces of (nearly) equal size; an empty body is one empty
/// piece.
fn pieces(bytes: &Bytes, chunks: u32) -> Vec<Bytes> {
    let count = usize::try_from(chunks.max(1)).unwrap_or(1);
    let size = bytes.len().div_ceil(count).max(1);
    if bytes.is_empty() {
        return vec![Bytes::new()];
    }
    (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..(start + size).min(bytes.len())))
        .collect()
}

/// The whole body of `response` (the handlers' bodies are small JSON documents).
async fn into_bytes(response: Response) -> (axum::http::response::Parts, Bytes) {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // The full length is announced, as a server that writes slowly still would.
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    (parts, bytes)
}

/// `response` with its body sent in `chunks` pieces, `delay` before each but the first.
pub async fn slow(response: Response, chunks: u32, delay: Duration) -> Response {
    let (parts, bytes) = into_bytes(response).await;
    let stream = futures::stream::iter(pieces(&bytes, chunks).into_iter().enumerate()).then(
        move |(index, piece)| async move {
            if index > 0 {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, Infallible>(piece)
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// `response` with the first half of its body (at least one byte short of the whole), after which
/// the body fails, which makes the server close the connection mid-message.
pub async fn cut(response: Response) -> Response {
    let (parts, bytes) = into_bytes(response).await;
    let half = bytes.slice(..bytes.len() / 2);
    let stream = futures::stream::iter([Some(half), None]).then(|piece| async move {
        match piece {
            Some(half) => Ok(half),
            None => {
                // Pending for a moment first, so the server flushes the headers and the half.
                tokio::time::sleep(CUT_PAUSE).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "cut_body fault: the connection closes mid-body",
                ))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_body_in_order() {
        let body = Bytes::from_static(b"0123456789");
        let split = pieces(&body, 4);
        assert_eq!(split.len(), 4);
        assert_eq!(split.concat(), b"0123456789");
        assert_eq!(pieces(&body, 1), vec![body.clone()]);
        assert_eq!(pieces(&body, 50).len(), 10);
        assert_eq!(pieces(&Bytes::new(), 3), vec![Bytes::new()]);
    }

    #[test]
    fn slow_body_bounds() {
        assert!(SlowBodyFault::default().validate().is_ok());
        let zero = SlowBodyFault {
            chunks: 0,
            ..SlowBodyFault::default()
        };
        assert!(zero.validate().is_err());
        let long = SlowBodyFault {
            chunk_delay_ms: MAX_CHUNK_DELAY_MS + 1,
            ..SlowBodyFault::default()
        };
        assert!(long.validate().is_err());
    }
}
