//! Reading an answer: its body up to a cap (counted while streaming, so a huge or endless body is
//! cut off instead of buffered), a redirect refused as an error (a redirect is never followed: the
//! key must not go to another address), and a non-2xx status mapped to a `keyward_core::Error`.

use std::time::Duration;

use serde::de::DeserializeOwned;

use reqwest::StatusCode;
use reqwest::header::LOCATION;

use super::Call;
use crate::Error;

/// The most a 2xx answer may hold unless `ClientConfig::max_response_bytes` says otherwise: 32 MiB.
/// The largest real answers (a page of 100 keys, the model catalog) are well under 2 MiB.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;
/// Of an error answer only the message is read: the first 64 KiB are plenty.
pub(super) const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A body read up to a cap.
pub(super) enum Body {
    Complete(Vec<u8>),
    /// Longer than the cap (announced by `Content-Length` or found while reading); reading
    /// stopped there and the connection is dropped.
    TooLarge,
}

/// Reads `response`'s body, counting bytes as they arrive; never holds more than `cap` of it.
/// With `truncate`, a longer body is cut at `cap` instead of being `TooLarge` (for error messages).
pub(super) async fn read_body(
    mut response: reqwest::Response,
    cap: usize,
    truncate: bool,
) -> Result<Body, reqwest::Error> {
    let announced = response.content_length();
    if !truncate && announced.is_some_and(|length| length > cap as u64) {
        return Ok(Body::TooLarge);
    }
    let mut bytes =
        Vec::with_capacity(announced.map_or(0, |length| length.min(cap as u64) as usize));
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > cap {
            if truncate {
                let room = cap - bytes.len();
                bytes.extend_from_slice(&chunk[..room]);
                return Ok(Body::Complete(bytes));
            }
            return Ok(Body::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Body::Complete(bytes))
}

/// The error for an answer longer than `cap`.
pub(super) fn too_large(what: &str, cap: usize) -> Error {
    Error::Decode {
        message: format!(
            "{what} answered more than {}; Keyward stopped reading there (real answers are far \
             smaller: check the profile's base URL)",
            size_text(cap)
        ),
        source: None,
    }
}

/// "32 MiB", or "1000 bytes" for a cap that is no whole number of MiB.
fn size_text(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error for a 3xx answer: where it pointed (scheme, host and port only; a path or query could
/// carry anything) and that Keyward does not follow it.
pub(super) fn redirect_error(status: StatusCode, location: Option<&str>, base: &url::Url) -> Error {
    let target = location
        .and_then(|location| base.join(location).ok())
        .map(|target| target.origin().ascii_serialization())
        .filter(|origin| origin != "null");
    let message = match target {
        Some(target) => format!(
            "it redirects to {target}; Keyward never follows redirects, so the key is not sent \
             elsewhere: set the profile's base URL to the address that answers directly"
        ),
        None => "it answered with a redirect; Keyward never follows redirects, so the key is not \
                 sent elsewhere: set the profile's base URL to the address that answers directly"
            .to_owned(),
    };
    Error::Server {
        status: status.as_u16(),
        message,
    }
}

/// The `Location` header of a redirect, if it is text.
pub(super) fn location(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Maps a non-2xx answer to an error carrying the server's `error.message` (or, for a body that is
/// not the documented JSON, its first line or the status text).
pub(super) fn error_for_status(status: StatusCode, body: &[u8], hint: Option<Duration>) -> Error {
    let message = server_message(body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no explanation given")
            .to_owned()
    });
    match status {
        // A 400 names the problem only in its message; there is no field to point at.
        StatusCode::BAD_REQUEST => Error::InvalidInput {
            field: None,
            message,
        },
        StatusCode::UNAUTHORIZED => Error::Unauthorized { message },
        StatusCode::FORBIDDEN => Error::Forbidden { message },
        StatusCode::NOT_FOUND => Error::NotFound { message },
        StatusCode::CONFLICT => Error::Conflict { message },
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
            retry_after: hint,
            message,
        },
        _ => Error::Server {
            status: status.as_u16(),
            message,
        },
    }
}

fn server_message(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: ErrorDetail,
    }
    #[derive(serde::Deserialize)]
    struct ErrorDetail {
        message: String,
    }
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return Some(printable_message(&parsed.error.message));
    }
    let text = String::from_utf8_lossy(body);
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(printable_message(first_line))
}

/// The server's words as Keyward shows and logs them: they reach the UI, the log and a terminal, so
/// control characters (escape sequences, line breaks forging log lines) become spaces, and a long
/// message is cut at 200 characters.
fn printable_message(text: &str) -> String {
    const MAX: usize = 200;
    let mut out: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(MAX).is_some() {
        out.push('…');
    }
    out
}

/// Adds to a failed create's message that the key may exist after all.
pub(super) fn note_possible_creation(error: Error) -> Error {
    const NOTE: &str = "the key may have been created anyway: refresh the list before trying again";
    match error {
        Error::Server { status, message } => Error::Server {
            status,
            message: format!("{message} ({NOTE})"),
        },
        Error::Network {
            host,
            message,
            source,
        } => Error::Network {
            host,
            message: format!("{message} ({NOTE})"),
            source,
        },
        Error::Decode { message, source } => Error::Decode {
            message: format!("{message} ({NOTE})"),
            source,
        },
        // A timeout while waiting for the answer: the request may well have reached the server.
        Error::Timeout {
            host,
            after,
            source,
            ..
        } => Error::Timeout {
            host,
            after,
            note: NOTE.to_owned(),
            source,
        },
        other => other,
    }
}

/// A request body as JSON.
pub(crate) fn encode(body: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(body).map_err(|err| Error::Decode {
        message: format!("could not encode the request: {err}"),
        source: Some(err.into()),
    })
}

pub(super) fn decode<T: DeserializeOwned>(call: &Call, bytes: &[u8]) -> Result<T, Error> {
    // The body is never quoted: a create answer holds a plaintext key.
    serde_json::from_slice(bytes).map_err(|err| Error::Decode {
        message: format!(
            "{} sent an answer Keyward can't read: {err}",
            call.describe()
        ),
        source: Some(err.into()),
    })
}

/// "error sending request: connection refused" rather than reqwest's outermost line alone.
pub(super) fn error_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|seen: &String| seen.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_short_and_printable() {
        // Found by fuzzing: a hostile server's words reached the UI, the log and the CLI's
        // terminal whole, escape sequences and line breaks included.
        let long = "x".repeat(10_000);
        let body =
            format!(r#"{{"error":{{"message":"\u001b[2J\u001b]0;owned\u0007{long}\nforged"}}}}"#);
        for body in [body.as_bytes(), b"\x1b[31mred\x07 text\r\n".as_slice()] {
            let message = error_for_status(StatusCode::BAD_GATEWAY, body, None).to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(message.chars().count() < 400, "{}", message.len());
        }
        let err = error_for_status(StatusCode::BAD_GATEWAY, b"\x1b[31mred\x07 text\r\n", None);
        assert_eq!(
            err.to_string(),
            "OpenRouter answered with HTTP 502:  [31mred  text"
        );
    }

    #[test]
    fn status_mapping_keeps_the_server_message() {
        let body = br#"{"error":{"code":404,"message":"Key not found"}}"#;
        let err = error_for_status(StatusCode::NOT_FOUND, body, None);
        assert_eq!(err.kind(), "not_found");
        assert!(err.to_string().contains("Key not found"));

        let err = error_for_status(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"error":{"code":429,"message":"Rate limit exceeded"}}"#,
            Some(Duration::from_secs(3)),
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));

        let err = error_for_status(StatusCode::BAD_GATEWAY, b"<html>\n  Bad gateway\n", None);
        assert_eq!(err.to_string(), "OpenRouter answered with HTTP 502: <html>");
        let err = error_for_status(StatusCode::SERVICE_UNAVAILABLE, b"", None);
        assert!(err.to_string().contains("Service Unavailable"));
        assert_eq!(
            error_for_status(StatusCode::BAD_REQUEST, b"{}", None).kind(),
            "invalid_input"
        );
        assert_eq!(
            error_for_status(StatusCode::PAYMENT_REQUIRED, b"{}", None).kind(),
            "server"
        );
        for (status, kind) in [
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            (StatusCode::FORBIDDEN, "forbidden"),
            (StatusCode::CONFLICT, "conflict"),
            (StatusCode::INTERNAL_SERVER_ERROR, "server"),
        ] {
            assert_eq!(error_for_status(status, b"", None).kind(), kind);
        }
    }

    #[test]
    fn a_redirect_names_only_the_origin() {
        let base = url::Url::parse("http://127.0.0.1:9/api/v1/keys").unwrap();
        let err = redirect_error(
            StatusCode::FOUND,
            Some("https://evil.test:8443/steal?key=1"),
            &base,
        );
        let text = err.to_string();
        assert!(text.contains("HTTP 302"), "{text}");
        assert!(text.contains("https://evil.test:8443"), "{text}");
        assert!(!text.contains("steal"), "{text}");
        let err = redirect_error(StatusCode::MOVED_PERMANENTLY, Some("/elsewhere"), &base);
        assert!(err.to_string().contains("http://127.0.0.1:9"), "{err}");
        assert!(
            redirect_error(StatusCode::FOUND, None, &base)
                .to_string()
                .contains("redirect")
        );
    }
}
