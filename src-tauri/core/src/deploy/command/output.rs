//! A command target's captured output: only the last [`OUTPUT_TAIL_BYTES`] of each stream are kept
//! for messages, with the secret and every key-shaped value (`sk-or-…`) redacted.

use super::OUTPUT_TAIL_BYTES;
use crate::api::endpoint::is_key_char;

/// Shown instead of the secret in captured output.
const REDACTED: &str = "[REDACTED]";

/// Beyond what is shown, how many bytes of output are kept so that a key-shaped value cut by the
/// start of the kept buffer is never within what is shown (OpenRouter keys are ~73 characters).
pub(super) const KEY_MARGIN: usize = 256;

/// The start of every OpenRouter key (inference `sk-or-v1-…`, management keys alike).
const KEY_PREFIX: &[u8] = crate::api::endpoint::KEY_PREFIX.as_bytes();

/// The last `keep` bytes of a stream. `keep` exceeds what is shown by at least the secret's length
/// (and [`KEY_MARGIN`]), so that a secret cut by the start of the buffer is never within what is
/// shown.
pub(super) struct Tail {
    bytes: Vec<u8>,
    keep: usize,
    /// Bytes dropped from the front so far.
    dropped: bool,
}

impl Tail {
    pub(super) fn new(keep: usize) -> Self {
        Tail {
            bytes: Vec::new(),
            keep,
            dropped: false,
        }
    }

    pub(super) fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        // Trimmed in batches so a chatty program costs amortised O(1) per byte.
        if self.bytes.len() > self.keep * 2 {
            let excess = self.bytes.len() - self.keep;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    /// The last [`OUTPUT_TAIL_BYTES`] as text, every occurrence of `secret` and every key-shaped
    /// value (`sk-or-…`: any key, not only the new one) replaced by `[REDACTED]`, prefixed with `…`
    /// when the start was cut. An occurrence that only partly reaches into what is shown is
    /// redacted whole, and a word cut by the start of what is shown is left out (it may be the end
    /// of a key whose start is gone).
    pub(super) fn redacted(&self, secret: &[u8]) -> String {
        let bytes = &self.bytes;
        let shown_from = bytes.len().saturating_sub(OUTPUT_TAIL_BYTES);
        let mut spans = secret_spans(bytes, secret);
        spans.extend(key_spans(bytes));
        // A word running into the shown window from before it: only its tail would be shown.
        let cut = self.dropped || shown_from > 0;
        if cut {
            let first_word = if shown_from == 0 {
                0
            } else {
                (0..shown_from)
                    .rev()
                    .take_while(|&at| is_key_char(bytes[at]))
                    .last()
                    .unwrap_or(shown_from)
            };
            let starts_in_word = bytes.get(shown_from).is_some_and(|b| is_key_char(*b))
                && (shown_from == 0 || first_word < shown_from);
            if starts_in_word {
                let end = (shown_from..bytes.len())
                    .find(|&at| !is_key_char(bytes[at]))
                    .unwrap_or(bytes.len());
                spans.push((first_word, end));
            }
        }
        let spans = merged(spans);
        let mut text = Vec::with_capacity(bytes.len() - shown_from + REDACTED.len());
        if cut {
            text.extend_from_slice("…".as_bytes());
        }
        // `copied_to`: the next byte not yet in `text`.
        let mut copied_to = shown_from;
        for (start, end) in spans {
            if end <= shown_from {
                continue;
            }
            if start > copied_to {
                text.extend_from_slice(&bytes[copied_to..start]);
            }
            text.extend_from_slice(REDACTED.as_bytes());
            copied_to = end;
        }
        if copied_to < bytes.len() {
            text.extend_from_slice(&bytes[copied_to..]);
        }
        String::from_utf8_lossy(&text).into_owned()
    }
}

/// `spans` sorted, overlapping or touching ones joined: one `[REDACTED]` each.
fn merged(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// Where `secret` occurs in `bytes` (non-overlapping, left to right).
fn secret_spans(bytes: &[u8], secret: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while !secret.is_empty() && at + secret.len() <= bytes.len() {
        if bytes[at..].starts_with(secret) {
            spans.push((at, at + secret.len()));
            at += secret.len();
        } else {
            at += 1;
        }
    }
    spans
}

/// Every key-shaped value in `bytes`: `sk-or-` and the run of key characters after it.
fn key_spans(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at + KEY_PREFIX.len() <= bytes.len() {
        if bytes[at..].starts_with(KEY_PREFIX) {
            let end = (at + KEY_PREFIX.len()..bytes.len())
                .find(|&i| !is_key_char(bytes[i]))
                .unwrap_or(bytes.len());
            spans.push((at, end));
            at = end;
        } else {
            at += 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(chunks: &[&[u8]], keep: usize) -> Tail {
        let mut tail = Tail::new(keep);
        for chunk in chunks {
            tail.push(chunk);
        }
        tail
    }

    #[test]
    fn short_output_is_kept_whole_and_redacted() {
        let secret = b"sk-or-v1-abc";
        let tail = tail_of(&[b"key is sk-or-v1-abc and sk-or-v1-abc!"], 100);
        assert_eq!(tail.redacted(secret), "key is [REDACTED] and [REDACTED]!");
    }

    #[test]
    fn a_secret_straddling_the_shown_window_is_redacted_whole() {
        let secret = b"SECRETSECRET";
        let keep = OUTPUT_TAIL_BYTES + secret.len();
        // The secret starts 5 bytes before the shown window begins.
        let mut data = vec![b'a'; 100];
        data.extend_from_slice(secret);
        data.extend(std::iter::repeat_n(
            b'b',
            OUTPUT_TAIL_BYTES - secret.len() + 5,
        ));
        let tail = tail_of(&[&data], keep);
        let text = tail.redacted(secret);
        assert!(text.starts_with("…[REDACTED]"), "{}", &text[..40]);
        assert!(!text.contains("SECRET"));
        assert!(!text.contains("CRET"), "a cut piece of the secret leaked");
    }

    #[test]
    fn chatty_output_keeps_only_the_tail() {
        let secret = b"sk-or-v1-zzz";
        let keep = OUTPUT_TAIL_BYTES + secret.len();
        let mut tail = Tail::new(keep);
        for round in 0..1000 {
            tail.push(format!("line {round} sk-or-v1-zzz\n").as_bytes());
        }
        let text = tail.redacted(secret);
        assert!(text.starts_with('…'));
        assert!(text.ends_with("line 999 [REDACTED]\n"));
        assert!(!text.contains("sk-or-v1-zzz"));
        assert!(text.len() <= OUTPUT_TAIL_BYTES + 64);
        assert!(tail.bytes.len() <= keep * 2);
    }

    #[test]
    fn every_key_shaped_value_is_redacted_not_only_the_secret() {
        let secret = b"sk-or-v1-new";
        let tail = tail_of(
            &[b"new sk-or-v1-new old=sk-or-v1-0123abcd mgmt:sk-or-v1-ffff_x; done"],
            OUTPUT_TAIL_BYTES + KEY_MARGIN,
        );
        assert_eq!(
            tail.redacted(secret),
            "new [REDACTED] old=[REDACTED] mgmt:[REDACTED]; done"
        );
        // The secret inside a longer key-shaped word: one redaction, nothing left of either.
        let tail = tail_of(
            &[b"x sk-or-v1-new_suffix y"],
            OUTPUT_TAIL_BYTES + KEY_MARGIN,
        );
        assert_eq!(tail.redacted(secret), "x [REDACTED] y");
    }

    #[test]
    fn a_key_cut_by_the_start_of_the_window_leaves_no_fragment() {
        let keep = OUTPUT_TAIL_BYTES + KEY_MARGIN;
        let key = "sk-or-v1-0123456789abcdef0123456789abcdef";
        // The key's first 20 characters are before the shown window, the rest inside it.
        let mut data = vec![b' '; 50];
        data.extend_from_slice(key.as_bytes());
        let rest = OUTPUT_TAIL_BYTES - (key.len() - 20);
        data.extend(std::iter::repeat_n(b' ', rest));
        let tail = tail_of(&[&data], keep);
        let text = tail.redacted(b"unrelated");
        assert!(text.starts_with("…[REDACTED]"), "{}", &text[..40]);
        assert!(!text.contains("abcdef"), "a fragment of a key leaked");
    }
}
