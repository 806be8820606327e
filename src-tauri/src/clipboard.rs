//! The clipboard, written from Rust only: a copied secret is marked so clipboard managers keep it out
//! of their history, and cleared again after [`CLIPBOARD_CLEAR_AFTER`] — or when Keyward quits
//! before then ([`clear_on_exit`], called when an exit is requested and not prevented), since the
//! timer of a process that has ended clears nothing. Either way only when the clipboard still holds
//! what Keyward put there: something the person copied since is theirs. Used by `secret_copy` and, as
//! keyward-core's [`ClipboardSink`], by the rotation's clipboard deploy target.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use keyward_core::deploy::ClipboardSink;
use secrecy::{ExposeSecret, SecretString};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_clipboard_manager::{Clipboard, ClipboardExt};

/// How long a copied secret stays on the clipboard.
pub const CLIPBOARD_CLEAR_AFTER: Duration = Duration::from_secs(30);

/// What clearing needs of a clipboard: its text and a way to empty it (the system clipboard, or a
/// fake in the tests).
pub trait Board {
    /// The clipboard's text; `None` when it holds none (or cannot be read).
    fn text(&self) -> Option<SecretString>;
    fn clear(&self) -> Result<(), String>;
}

impl<R: Runtime> Board for Clipboard<R> {
    fn text(&self) -> Option<SecretString> {
        self.read_text().ok().map(SecretString::from)
    }

    fn clear(&self) -> Result<(), String> {
        Clipboard::clear(self).map_err(|err| err.to_string())
    }
}

/// What happened to a secret Keyward had copied.
#[derive(Debug, PartialEq, Eq)]
pub enum Cleared {
    /// It was still on the clipboard and is gone now.
    Done,
    /// The clipboard holds something else now (or nothing): left alone.
    NotOurs,
    /// Nothing of Keyward's was waiting to be cleared.
    NothingCopied,
    /// It was there but clearing failed (the reason, which holds no secret).
    Failed(String),
}

/// The secret Keyward put on the clipboard last and has not cleared yet (app state, managed from
/// the start in `lib.rs`).
#[derive(Default)]
pub struct CopiedSecret(Mutex<Option<SecretString>>);

impl CopiedSecret {
    fn remember(&self, secret: SecretString) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(secret);
    }

    /// Clears `board` if it still holds the secret copied last — only if that is `which`, when
    /// given (a timer clears its own copy, not a later one) — and forgets the secret.
    pub fn clear_if_still_there(&self, board: &dyn Board, which: Option<&SecretString>) -> Cleared {
        let mut copied = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(secret) = copied.as_ref() else {
            return Cleared::NothingCopied;
        };
        if which.is_some_and(|which| which.expose_secret() != secret.expose_secret()) {
            return Cleared::NothingCopied;
        }
        let outcome = match board.text() {
            Some(text) if text.expose_secret() == secret.expose_secret() => match board.clear() {
                Ok(()) => Cleared::Done,
                Err(reason) => Cleared::Failed(reason),
            },
            _ => Cleared::NotOurs,
        };
        *copied = None;
        outcome
    }
}

fn log(outcome: &Cleared, when: &str) {
    match outcome {
        Cleared::Done => tracing::info!(when, "cleared the copied secret from the clipboard"),
        Cleared::Failed(reason) => tracing::warn!(when, %reason, "could not clear the clipboard"),
        Cleared::NotOurs | Cleared::NothingCopied => {}
    }
}

fn copied<R: Runtime>(app: &AppHandle<R>) -> Option<tauri::State<'_, CopiedSecret>> {
    app.try_state::<CopiedSecret>()
}

/// Copies `secret` and clears the clipboard after [`CLIPBOARD_CLEAR_AFTER`] unless something else
/// was copied meanwhile. Returns when it will be cleared; `Err` carries a secret-free reason.
pub fn copy_then_clear(app: &AppHandle, secret: SecretString) -> Result<DateTime<Utc>, String> {
    app.clipboard()
        .write_secret(secret.expose_secret())
        .map_err(|err| format!("could not copy to the clipboard: {err}"))?;
    if let Some(state) = copied(app) {
        state.remember(secret.clone());
    }
    let clears_at = Utc::now()
        + chrono::Duration::from_std(CLIPBOARD_CLEAR_AFTER).unwrap_or(chrono::Duration::zero());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(CLIPBOARD_CLEAR_AFTER).await;
        if let Some(state) = copied(&app) {
            log(
                &state.clear_if_still_there(app.clipboard(), Some(&secret)),
                "after 30 s",
            );
        }
    });
    Ok(clears_at)
}

/// Copies text that holds no secret (diagnostics, a crash note): not marked, not cleared later.
pub fn copy_text(app: &AppHandle, text: &str) -> Result<(), String> {
    app.clipboard()
        .write_text(text)
        .map_err(|err| format!("could not copy to the clipboard: {err}"))
}

/// The app is quitting: a secret copied less than 30 s ago (its timer dies with the process) is
/// cleared now if the clipboard still holds it.
pub fn clear_on_exit<R: Runtime>(app: &AppHandle<R>) {
    if let Some(state) = copied(app) {
        log(
            &state.clear_if_still_there(app.clipboard(), None),
            "on quit",
        );
    }
}

/// The clipboard deploy target of a rotation: copy, then clear after 30 s.
pub struct ShellClipboard {
    app: AppHandle,
}

impl ShellClipboard {
    pub fn new(app: AppHandle) -> Self {
        ShellClipboard { app }
    }
}

impl ClipboardSink for ShellClipboard {
    fn copy_secret(&self, secret: &SecretString) -> Result<(), String> {
        copy_then_clear(&self.app, secret.clone()).map(|_| ())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A clipboard in memory; `fail` makes clearing fail.
    #[derive(Default)]
    struct FakeBoard {
        text: RefCell<Option<String>>,
        fail: bool,
    }

    impl FakeBoard {
        fn holding(text: &str) -> Self {
            FakeBoard {
                text: RefCell::new(Some(text.to_owned())),
                fail: false,
            }
        }
    }

    impl Board for FakeBoard {
        fn text(&self) -> Option<SecretString> {
            self.text.borrow().clone().map(SecretString::from)
        }
        fn clear(&self) -> Result<(), String> {
            if self.fail {
                return Err("no clipboard".to_owned());
            }
            *self.text.borrow_mut() = None;
            Ok(())
        }
    }

    // A made-up, key-shaped fixture (never a real key).
    const SECRET: &str =
        "sk-or-v1-0000000000000000000000000000000000000000000000000000000000000abc";

    fn copied(secret: &str) -> CopiedSecret {
        let state = CopiedSecret::default();
        state.remember(SecretString::from(secret));
        state
    }

    #[test]
    fn quitting_clears_a_secret_still_on_the_clipboard() {
        let board = FakeBoard::holding(SECRET);
        let state = copied(SECRET);
        assert_eq!(state.clear_if_still_there(&board, None), Cleared::Done);
        assert!(board.text.borrow().is_none());
        // Forgotten: a second quit hook (or the timer) does nothing.
        assert_eq!(
            state.clear_if_still_there(&board, None),
            Cleared::NothingCopied
        );
    }

    #[test]
    fn what_the_person_copied_since_is_left_alone() {
        let board = FakeBoard::holding("their own text");
        let state = copied(SECRET);
        assert_eq!(state.clear_if_still_there(&board, None), Cleared::NotOurs);
        assert_eq!(board.text.borrow().as_deref(), Some("their own text"));
    }

    #[test]
    fn nothing_copied_means_nothing_cleared() {
        let board = FakeBoard::holding(SECRET);
        let state = CopiedSecret::default();
        assert_eq!(
            state.clear_if_still_there(&board, None),
            Cleared::NothingCopied
        );
        assert_eq!(board.text.borrow().as_deref(), Some(SECRET));
    }

    #[test]
    fn an_earlier_copy_s_timer_does_not_clear_a_later_secret() {
        let later = "sk-or-v1-1111111111111111111111111111111111111111111111111111111111111def";
        let board = FakeBoard::holding(later);
        let state = copied(later);
        let earlier = SecretString::from(SECRET);
        assert_eq!(
            state.clear_if_still_there(&board, Some(&earlier)),
            Cleared::NothingCopied
        );
        assert_eq!(board.text.borrow().as_deref(), Some(later));
        // The later copy's own timer (or quitting) still clears it.
        assert_eq!(state.clear_if_still_there(&board, None), Cleared::Done);
    }

    #[test]
    fn a_failed_clear_is_reported() {
        let board = FakeBoard {
            text: RefCell::new(Some(SECRET.to_owned())),
            fail: true,
        };
        let state = copied(SECRET);
        assert_eq!(
            state.clear_if_still_there(&board, None),
            Cleared::Failed("no clipboard".to_owned())
        );
    }
}
