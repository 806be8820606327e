//! What the soak believes the server holds: every key it ever learned of, each field as the set of
//! values it may have. An operation that converged sets a field to one value; one that was reported
//! failed after it may have reached the server adds the requested value to the set (the server may
//! or may not have applied it). The final state must pick, for every field, a value in its set.

use std::collections::BTreeMap;

use serde_json::Value;

/// The values one field may have, in the order they became possible.
#[derive(Clone, Debug, PartialEq)]
pub struct Maybe<T>(pub Vec<T>);

impl<T: Clone + PartialEq> Maybe<T> {
    pub fn certain(value: T) -> Self {
        Maybe(vec![value])
    }

    pub fn set(&mut self, value: T) {
        self.0 = vec![value];
    }

    /// `value` may have been applied (or not).
    pub fn add(&mut self, value: T) {
        if !self.0.contains(&value) {
            self.0.push(value);
        }
    }

    pub fn is(&self, value: &T) -> bool {
        self.0.len() == 1 && self.0[0] == *value
    }

    pub fn allows(&self, value: &T) -> bool {
        self.0.contains(value)
    }

    pub fn is_certain(&self) -> bool {
        self.0.len() == 1
    }
}

/// The fields the soak changes, as the server should have them.
#[derive(Clone, Debug)]
pub struct ModelKey {
    pub hash: String,
    /// The stable part of every name it has had (`soak-g3-k17`): its lineage, which a rotation keeps.
    pub lineage: String,
    pub group: u32,
    pub name: Maybe<String>,
    /// Limits are whole cents from a small set, so `==` is exact.
    pub limit: Maybe<Option<f64>>,
    pub limit_reset: Maybe<Option<String>>,
    pub include_byok: Maybe<bool>,
    pub disabled: Maybe<bool>,
    pub exists: Maybe<bool>,
    /// Part of a rotation the soak could not finish yet: left alone until the end.
    pub busy: bool,
}

impl ModelKey {
    pub fn is_present(&self) -> bool {
        self.exists.is(&true)
    }

    /// Safe to pick for a single-key operation: certainly there and not in a rotation.
    pub fn is_available(&self) -> bool {
        self.is_present() && !self.busy
    }

    /// What in `server` (a KeyObject, or `None` when the server lacks the key) the model does not
    /// allow; empty when it fits.
    pub fn mismatches(&self, server: Option<&Value>) -> Vec<String> {
        let Some(key) = server else {
            return if self.exists.allows(&false) {
                Vec::new()
            } else {
                vec![format!(
                    "{} ({}) is gone from the server",
                    self.lineage, self.hash
                )]
            };
        };
        let mut wrong = Vec::new();
        if !self.exists.allows(&true) {
            wrong.push("exists on the server".to_owned());
        }
        let name = key["name"].as_str().unwrap_or_default().to_owned();
        if !self.name.allows(&name) {
            wrong.push(format!("name {name:?} not in {:?}", self.name.0));
        }
        let limit = key["limit"].as_f64();
        if !self.limit.allows(&limit) {
            wrong.push(format!("limit {limit:?} not in {:?}", self.limit.0));
        }
        let reset = key["limit_reset"].as_str().map(str::to_owned);
        if !self.limit_reset.allows(&reset) {
            wrong.push(format!(
                "limit_reset {reset:?} not in {:?}",
                self.limit_reset.0
            ));
        }
        let byok = key["include_byok_in_limit"].as_bool().unwrap_or_default();
        if !self.include_byok.allows(&byok) {
            wrong.push(format!(
                "include_byok_in_limit {byok} not in {:?}",
                self.include_byok.0
            ));
        }
        let disabled = key["disabled"].as_bool().unwrap_or_default();
        if !self.disabled.allows(&disabled) {
            wrong.push(format!("disabled {disabled} not in {:?}", self.disabled.0));
        }
        wrong
            .into_iter()
            .map(|what| format!("{} ({}): {what}", self.lineage, self.hash))
            .collect()
    }

    /// The key a completed rotation made from this one: the same settings, a new hash and name,
    /// enabled.
    pub fn successor(&self, hash: &str, name: &str) -> ModelKey {
        ModelKey {
            hash: hash.to_owned(),
            name: Maybe::certain(name.to_owned()),
            disabled: Maybe::certain(false),
            exists: Maybe::certain(true),
            busy: false,
            ..self.clone()
        }
    }
}

/// A create reported failed: the key may exist on the server without anyone holding its secret.
#[derive(Clone, Debug)]
pub struct DoubtfulCreate {
    pub name: String,
    pub error: String,
}

#[derive(Default)]
pub struct Model {
    pub keys: BTreeMap<String, ModelKey>,
    pub doubtful_creates: Vec<DoubtfulCreate>,
}

impl Model {
    pub fn insert(&mut self, key: ModelKey) {
        self.keys.insert(key.hash.clone(), key);
    }

    pub fn get_mut(&mut self, hash: &str) -> Option<&mut ModelKey> {
        self.keys.get_mut(hash)
    }

    /// The hashes of keys a single-key operation may pick, in a stable order.
    pub fn available(&self) -> Vec<String> {
        self.keys
            .values()
            .filter(|key| key.is_available())
            .map(|key| key.hash.clone())
            .collect()
    }

    /// Every difference between the model and `server` (hash → KeyObject): a key the model does not
    /// allow in its state, and a key on the server the model does not know (an orphan).
    pub fn mismatches(&self, server: &BTreeMap<String, Value>) -> Vec<String> {
        let mut wrong: Vec<String> = self
            .keys
            .values()
            .flat_map(|key| key.mismatches(server.get(&key.hash)))
            .collect();
        for (hash, key) in server {
            if !self.keys.contains_key(hash) {
                wrong.push(format!(
                    "orphan: {hash} ({:?}) is on the server and unknown to the soak",
                    key["name"]
                ));
            }
        }
        wrong
    }
}
