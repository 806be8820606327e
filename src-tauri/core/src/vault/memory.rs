//! An in-memory keychain for tests of logic: one map shared by every clone (so a "restarted" service
//! over a clone of the same vault reads back what the first one saved), and faults a test switches on
//! to make the keychain answer as a locked, missing or refusing one would, with the same errors.
//! The app and the CLI never use it.
//!
//! Not keyring 3's own mock (`keyring::mock`, installed with the process-global
//! `set_default_credential_builder`): each mock `Entry` keeps its secret and its injected error to
//! itself, and the vault opens a new `Entry` for every call, so nothing saved could be read back (nor
//! a restarted service find it) and no fault would ever be seen; and the global builder would switch
//! every test of the process at once.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use secrecy::SecretString;

use super::{KeychainBackend, KeychainEntry, os};
use crate::Error;

/// How an injected fault makes the keychain fail: the error kind and advice the OS keychain gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeychainFailure {
    /// `keychain_locked`: the keychain is locked (or its unlock prompt was dismissed).
    Locked,
    /// `keychain_unavailable`: no keychain answers (no Secret Service, no session bus).
    Unavailable,
    /// `keychain_denied`: the keychain refused Keyward access.
    Denied,
    /// `keychain`: any other failure.
    Failed,
}

impl KeychainFailure {
    fn error(self, what: &str) -> Error {
        match self {
            KeychainFailure::Locked => Error::KeychainLocked {
                message: os::FIX_LOCKED.to_owned(),
                source: None,
            },
            KeychainFailure::Unavailable => Error::KeychainUnavailable {
                message: os::FIX_UNAVAILABLE.to_owned(),
                source: None,
            },
            KeychainFailure::Denied => Error::KeychainDenied {
                message: "access was refused; allow Keyward in your keychain settings".to_owned(),
                source: None,
            },
            KeychainFailure::Failed => Error::Keychain {
                message: format!("{what} could not be reached (an injected fault)"),
                source: None,
            },
        }
    }
}

/// The keychain operations a fault can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeychainOp {
    Get,
    Set,
    Delete,
}

/// A fault to inject: every call fails with `failure`, unless narrowed to one operation, one entry
/// or a number of calls (`Fault::new(KeychainFailure::Locked).on(KeychainOp::Set).times(1)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    failure: KeychainFailure,
    op: Option<KeychainOp>,
    entry: Option<KeychainEntry>,
    /// Calls left to fail; `None`: until cleared.
    remaining: Option<u32>,
}

impl Fault {
    pub fn new(failure: KeychainFailure) -> Self {
        Fault {
            failure,
            op: None,
            entry: None,
            remaining: None,
        }
    }

    /// Only calls of this operation fail.
    pub fn on(mut self, op: KeychainOp) -> Self {
        self.op = Some(op);
        self
    }

    /// Only calls on this entry fail.
    pub fn on_entry(mut self, entry: KeychainEntry) -> Self {
        self.entry = Some(entry);
        self
    }

    /// Only the next `calls` matching calls fail; then the fault is gone.
    pub fn times(mut self, calls: u32) -> Self {
        self.remaining = Some(calls);
        self
    }

    fn matches(&self, op: KeychainOp, entry: &KeychainEntry) -> bool {
        self.op.is_none_or(|only| only == op)
            && self.entry.as_ref().is_none_or(|only| only == entry)
            && self.remaining != Some(0)
    }
}

#[derive(Default)]
struct State {
    entries: HashMap<KeychainEntry, SecretString>,
    faults: Vec<Fault>,
}

/// The in-memory keychain. Clones share their entries and faults.
#[derive(Clone, Default)]
pub struct MemoryKeychain {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for MemoryKeychain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryKeychain")
            .field("entries", &state.entries.len())
            .field("faults", &state.faults)
            .finish()
    }
}

impl MemoryKeychain {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every change is a single map or list operation, so a panic elsewhere can't leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a fault; the first matching fault answers each call.
    pub fn inject(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    /// Removes every fault: the keychain works again.
    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// The secret an entry holds, read past any fault (for a test's own checks).
    pub fn secret(&self, entry: &KeychainEntry) -> Option<SecretString> {
        self.state().entries.get(entry).cloned()
    }

    /// Every entry held, sorted by service and account.
    pub fn entries(&self) -> Vec<KeychainEntry> {
        let mut entries: Vec<KeychainEntry> = self.state().entries.keys().cloned().collect();
        entries.sort_by(|a, b| (&a.service, &a.account).cmp(&(&b.service, &b.account)));
        entries
    }

    /// The error of the first fault matching this call, if any (counting the call against it).
    fn fault(
        state: &mut State,
        op: KeychainOp,
        entry: &KeychainEntry,
        what: &str,
    ) -> Option<Error> {
        let fault = state
            .faults
            .iter_mut()
            .find(|fault| fault.matches(op, entry))?;
        if let Some(left) = fault.remaining.as_mut() {
            *left -= 1;
        }
        let error = fault.failure.error(what);
        state.faults.retain(|fault| fault.remaining != Some(0));
        Some(error)
    }
}

impl KeychainBackend for MemoryKeychain {
    fn get(&self, entry: &KeychainEntry, what: &str) -> Result<SecretString, Error> {
        let mut state = self.state();
        if let Some(error) = Self::fault(&mut state, KeychainOp::Get, entry, what) {
            return Err(error);
        }
        state
            .entries
            .get(entry)
            .cloned()
            .ok_or_else(|| Error::SecretNotFound {
                what: what.to_owned(),
            })
    }

    fn set(&self, entry: &KeychainEntry, secret: &SecretString, what: &str) -> Result<(), Error> {
        let mut state = self.state();
        if let Some(error) = Self::fault(&mut state, KeychainOp::Set, entry, what) {
            return Err(error);
        }
        state.entries.insert(entry.clone(), secret.clone());
        Ok(())
    }

    fn delete(&self, entry: &KeychainEntry, what: &str) -> Result<bool, Error> {
        let mut state = self.state();
        if let Some(error) = Self::fault(&mut state, KeychainOp::Delete, entry, what) {
            return Err(error);
        }
        Ok(state.entries.remove(entry).is_some())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::vault::Vault;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn clones_share_entries_and_services_are_separate() {
        let keychain = MemoryKeychain::new();
        let vault = Vault::with_backend("svc", keychain.clone());
        let other = Vault::with_backend("other-svc", keychain.clone());
        vault.set_management_key("p", &secret("one")).unwrap();
        let restarted = vault.clone();
        assert_eq!(
            restarted.management_key("p").unwrap().expose_secret(),
            "one"
        );
        assert_eq!(
            other.management_key("p").unwrap_err().kind(),
            "secret_not_found"
        );
        assert_eq!(
            keychain.entries(),
            vec![KeychainEntry::new("svc", "management-key/p")]
        );
        assert!(vault.delete_pending_secret("p", "h").is_ok_and(|had| !had));
        vault.delete_management_key("p").unwrap();
        assert!(keychain.entries().is_empty());
    }

    #[test]
    fn faults_answer_as_the_os_keychain_would_for_the_calls_they_cover() {
        let keychain = MemoryKeychain::new();
        let vault = Vault::with_backend("svc", keychain.clone());
        vault.set_management_key("p", &secret("one")).unwrap();

        keychain.inject(Fault::new(KeychainFailure::Locked).times(2));
        for _ in 0..2 {
            let err = vault.management_key("p").unwrap_err();
            assert_eq!(err.kind(), "keychain_locked");
            assert!(
                err.to_string()
                    .starts_with("The system keychain is locked: ")
            );
        }
        assert_eq!(vault.management_key("p").unwrap().expose_secret(), "one");

        keychain.inject(Fault::new(KeychainFailure::Unavailable).on(KeychainOp::Set));
        let err = vault.set_management_key("q", &secret("two")).unwrap_err();
        assert_eq!(err.kind(), "keychain_unavailable");
        assert!(vault.has_management_key("p").unwrap());
        keychain.clear_faults();
        vault.set_management_key("q", &secret("two")).unwrap();

        let entry = vault.management_key_entry("q").unwrap();
        keychain.inject(Fault::new(KeychainFailure::Denied).on_entry(entry));
        assert_eq!(
            vault.delete_management_key("q").unwrap_err().kind(),
            "keychain_denied"
        );
        vault.delete_management_key("p").unwrap();
        keychain.clear_faults();
        keychain.inject(Fault::new(KeychainFailure::Failed));
        let err = vault.pending_secret("p", "h").unwrap_err();
        assert_eq!(err.kind(), "keychain");
        assert!(
            err.to_string().contains("The pending secret of key h"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_move_to_kept_leaves_the_secret_pending() {
        let keychain = MemoryKeychain::new();
        let vault = Vault::with_backend("svc", keychain.clone());
        vault.set_pending_secret("p", "h", &secret("s")).unwrap();
        keychain.inject(Fault::new(KeychainFailure::Locked).on(KeychainOp::Delete));
        assert_eq!(
            vault.keep_pending_secret("p", "h").unwrap_err().kind(),
            "keychain_locked"
        );
        // Written to the kept entry first: it is in both places, never in none.
        assert_eq!(vault.pending_secret("p", "h").unwrap().expose_secret(), "s");
        assert_eq!(vault.kept_secret("p", "h").unwrap().expose_secret(), "s");
        keychain.clear_faults();
        vault.keep_pending_secret("p", "h").unwrap();
        assert_eq!(
            keychain.entries(),
            vec![KeychainEntry::new("svc", "kept/p/h")]
        );
    }
}
