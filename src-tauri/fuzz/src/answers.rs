//! Answers: byte 0 picks the endpoint (or an error status), the rest is the body.

use keyward_core::fuzzing::{Endpoint, error_answer, parse_answer};

/// Byte 0 below `Endpoint::ALL.len()` picks a 2xx endpoint; any other value is an error answer
/// whose status is 400 + (byte 1 mod 200).
pub fn answers(input: &[u8]) {
    let Some((&select, rest)) = input.split_first() else {
        return;
    };
    match Endpoint::ALL.get(usize::from(select)) {
        Some(&endpoint) => {
            let Err(error) = parse_answer(endpoint, rest) else {
                return;
            };
            // A body Keyward can't read is a decode error, never anything else.
            assert_eq!(error.kind(), "decode", "{endpoint:?}: {error}");
            if endpoint == Endpoint::CreateKey {
                // The only copy of a new secret never lands in an error message (and so a log).
                if let Some(secret) = top_level_key(rest) {
                    assert!(!error.to_string().contains(&secret), "{error}");
                }
            }
        }
        None => {
            let (status, body) = match rest.split_first() {
                Some((&status, body)) => (400 + u16::from(status) % 200, body),
                None => (500, rest),
            };
            let error = error_answer(status, body);
            // The server's words reach the UI, the log and a terminal: short, and without control
            // characters (no escape sequences, no forged log lines).
            let message = error.to_string();
            assert!(
                message.chars().count() <= 400,
                "{} chars",
                message.chars().count()
            );
            assert!(!message.chars().any(char::is_control), "{message:?}");
            if status == 429 {
                assert_eq!(error.kind(), "rate_limited");
            }
        }
    }
}

/// The `key` string of a create answer, if the body is a JSON object holding one worth looking for.
fn top_level_key(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let key = value.get("key")?.as_str()?;
    (key.len() >= 8).then(|| key.to_owned())
}
