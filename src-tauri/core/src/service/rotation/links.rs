//! The seam between rotation and the rest of the account: [`AccountLinks`] answers what names a
//! key by its hash (its guardrail, BYOK allowlists, log destinations) and adds or removes a hash on
//! one of them. The rotation runner only talks to this trait, so logic tests run it on
//! [`MemoryAccountLinks`] (shared state, fault injection) and the app on the real API.
//! The app's is `ApiAccountLinks` (`api_links.rs`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::future::BoxFuture;

use crate::Error;
use crate::api::OpenRouterClient;
use crate::rotation::Attachment;

/// What names a key by its hash, and changing that. Every call gets the profile's client (the
/// profile whose key it is). `attach` / `detach` are idempotent: adding a hash already there or
/// removing one already gone succeeds without a change, so a step resumed after a crash simply
/// runs again.
pub trait AccountLinks: Send + Sync {
    /// The key's attachments: its guardrail (at most one), the BYOK keys whose
    /// `allowed_api_key_hashes` and the destinations whose `api_key_hashes` name it.
    fn attachments<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        key_hash: &'a str,
        workspace_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Attachment>, Error>>;

    /// Makes `attachment` name `key_hash` too (a guardrail: assigns it to that key).
    fn attach<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Makes `attachment` no longer name `key_hash` (a guardrail: unassigns it from that key).
    fn detach<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// One list-holding resource of [`MemoryAccountLinks`]: the attachment it is, and the hashes it
/// names.
#[derive(Debug, Clone)]
struct Linked {
    attachment: Attachment,
    hashes: Vec<String>,
}

#[derive(Debug, Default)]
struct MemoryState {
    linked: Vec<Linked>,
    /// Calls to let through before the injected failures start.
    fail_after: u32,
    /// Calls that fail (after `fail_after` more succeeded).
    failures: u32,
    calls: u32,
}

/// In-memory [`AccountLinks`] for tests: clones share one state; the guardrail rule (a key holds at
/// most one; assigning replaces) holds as on the server. Faults: [`fail_next`](Self::fail_next)
/// makes the next N calls fail with a 503, [`fail_after`](Self::fail_after) lets some through
/// first (to fail in the middle of a step).
#[derive(Debug, Clone, Default)]
pub struct MemoryAccountLinks {
    state: Arc<Mutex<MemoryState>>,
}

impl MemoryAccountLinks {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, MemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a resource naming `hashes` (for a guardrail: the keys assigned to it).
    pub fn add(&self, attachment: Attachment, hashes: &[&str]) {
        self.state().linked.push(Linked {
            attachment,
            hashes: hashes.iter().map(|hash| (*hash).to_owned()).collect(),
        });
    }

    /// The hashes the resource `id` names now (empty for an unknown id).
    pub fn hashes_of(&self, id: &str) -> Vec<String> {
        self.state()
            .linked
            .iter()
            .find(|linked| linked.attachment.id() == id)
            .map(|linked| linked.hashes.clone())
            .unwrap_or_default()
    }

    /// Whether any resource names `hash`.
    pub fn names(&self, hash: &str) -> bool {
        self.state()
            .linked
            .iter()
            .any(|linked| linked.hashes.iter().any(|known| known == hash))
    }

    /// The next `count` calls fail (503).
    pub fn fail_next(&self, count: u32) {
        self.fail_after(0, count);
    }

    /// After `ok` more calls succeed, the next `count` fail (503).
    pub fn fail_after(&self, ok: u32, count: u32) {
        let mut state = self.state();
        state.fail_after = ok;
        state.failures = count;
    }

    /// Calls answered so far (failed ones included).
    pub fn calls(&self) -> u32 {
        self.state().calls
    }

    fn call<T>(&self, run: impl FnOnce(&mut MemoryState) -> T) -> Result<T, Error> {
        let mut state = self.state();
        state.calls += 1;
        if state.failures > 0 {
            if state.fail_after > 0 {
                state.fail_after -= 1;
            } else {
                state.failures -= 1;
                return Err(Error::Server {
                    status: 503,
                    message: "injected failure (MemoryAccountLinks)".to_owned(),
                });
            }
        }
        Ok(run(&mut state))
    }

    fn change(&self, attachment: &Attachment, hash: &str, add: bool) -> Result<(), Error> {
        self.call(|state| {
            if add && attachment.is_guardrail() {
                // A key holds at most one guardrail: assigning this one replaces any other.
                for linked in &mut state.linked {
                    if linked.attachment.is_guardrail() {
                        linked.hashes.retain(|known| known != hash);
                    }
                }
            }
            let Some(linked) = state
                .linked
                .iter_mut()
                .find(|linked| linked.attachment.id() == attachment.id())
            else {
                return Err(Error::NotFound {
                    message: format!("{} does not exist", attachment.describe()),
                });
            };
            linked.hashes.retain(|known| known != hash);
            if add {
                linked.hashes.push(hash.to_owned());
            }
            Ok(())
        })?
    }
}

impl AccountLinks for MemoryAccountLinks {
    fn attachments<'a>(
        &'a self,
        _: &'a OpenRouterClient,
        key_hash: &'a str,
        _: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Attachment>, Error>> {
        let found = self.call(|state| {
            state
                .linked
                .iter()
                .filter(|linked| linked.hashes.iter().any(|known| known == key_hash))
                .map(|linked| linked.attachment.clone())
                .collect()
        });
        Box::pin(std::future::ready(found))
    }

    fn attach<'a>(
        &'a self,
        _: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(std::future::ready(self.change(attachment, key_hash, true)))
    }

    fn detach<'a>(
        &'a self,
        _: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(std::future::ready(self.change(attachment, key_hash, false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_idempotent_and_a_key_holds_one_guardrail() {
        let links = MemoryAccountLinks::new();
        let eu = Attachment::Guardrail {
            id: "g1".into(),
            name: "EU".into(),
        };
        let us = Attachment::Guardrail {
            id: "g2".into(),
            name: "US".into(),
        };
        let byok = Attachment::Byok {
            id: "b1".into(),
            provider: "openai".into(),
            name: "prod".into(),
        };
        links.add(eu.clone(), &["old"]);
        links.add(us.clone(), &["other"]);
        links.add(byok.clone(), &["old"]);
        links.change(&byok, "new", true).unwrap();
        links.change(&byok, "new", true).unwrap();
        assert_eq!(links.hashes_of("b1"), ["old", "new"]);
        links.change(&byok, "old", false).unwrap();
        links.change(&byok, "old", false).unwrap();
        assert_eq!(links.hashes_of("b1"), ["new"]);
        links.change(&us, "old", true).unwrap();
        assert!(links.hashes_of("g1").is_empty());
        assert_eq!(links.hashes_of("g2"), ["other", "old"]);
        links.fail_after(1, 1);
        links.change(&eu, "x", true).unwrap();
        assert!(matches!(
            links.change(&eu, "y", true),
            Err(Error::Server { status: 503, .. })
        ));
        links.change(&eu, "y", true).unwrap();
        assert_eq!(links.hashes_of("g1"), ["x", "y"]);
    }
}
