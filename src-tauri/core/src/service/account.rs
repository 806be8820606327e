//! A key's account: what else names it (its guardrail, the BYOK credentials and log destinations
//! whose allowlists hold its hash) and "what stops this key first" (its own limit, its guardrail's
//! per-key budget, its workspace's pooled budgets, the account's credits), each with what is left
//! and when it runs out at the current burn rate.
//!
//! One request per resource kind, made concurrently. An endpoint the account can't use (403, 404:
//! a plan without guardrails, a key that may list keys but not read credits) leaves that part
//! unavailable instead of failing the whole answer. The watcher gathers the budget facts once per
//! tick per profile ([`AccountFacts`]) and hands each key its budgets for the forecast alert.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::Keyward;
use super::watch::{by_key, history_start, usage_point};
use crate::Error;
use crate::api::{
    ApiKey, BudgetInterval, ByokKey, Credits, Guardrail, KeyAssignment, LimitReset,
    ObservabilityDestination, OpenRouterClient, WorkspaceBudgets,
};
use crate::store::Profile;
use crate::usage::{self, ActivityDays, Budget, SpendStop, StopScope, UsagePoint};

/// How far back snapshots are read for burn rates (the burn window plus the snapshot before it).
const BURN_SNAPSHOT_DAYS: i64 = usage::BURN_WINDOW_DAYS as i64 + 2;

/// A part of the account Keyward could not read for this key (403/404 from its endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AccountPart {
    Guardrails,
    Byok,
    Observability,
    WorkspaceBudgets,
    Credits,
}

/// The key's guardrail, summarised for its details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyGuardrail {
    pub id: String,
    pub name: String,
    /// Budget in USD per assigned key; `null`: no budget.
    pub limit_usd: Option<f64>,
    pub reset_interval: Option<LimitReset>,
    /// `null`: every model allowed.
    pub allowed_models: Option<Vec<String>>,
    /// `null`: every provider allowed.
    pub allowed_providers: Option<Vec<String>>,
    pub ignored_providers: Option<Vec<String>>,
    pub enforces_zdr: bool,
    pub include_byok_in_budgets: bool,
}

/// A BYOK provider credential whose allowlist names the key (never the provider key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyByok {
    pub id: String,
    pub provider: String,
    pub name: Option<String>,
    /// The masked snippet the API shows (`sk-...AbCd`).
    pub label: String,
    pub disabled: bool,
}

/// An observability destination whose `api_key_hashes` names the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyDestination {
    pub id: String,
    pub name: Option<String>,
    /// `langfuse`, `datadog`, `webhook`, …
    pub kind: String,
    pub enabled: bool,
}

/// Arguments of `key_account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeyAccountArgs {
    pub profile_id: String,
    pub key_hash: String,
}

/// Everything the key's details show about its place in the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct KeyAccount {
    pub profile_id: String,
    pub key_hash: String,
    pub workspace_name: Option<String>,
    /// `null`: no guardrail (or guardrails unavailable, see `unavailable`).
    pub guardrail: Option<KeyGuardrail>,
    pub byok: Vec<KeyByok>,
    pub destinations: Vec<KeyDestination>,
    /// Every limit in the key's way, the one that stops it first first.
    pub stops: Vec<SpendStop>,
    /// Parts the account can't read; shown as unavailable, not as an error.
    pub unavailable: Vec<AccountPart>,
}

/// What a profile's account says about budgets, read once (per details view, or per watch tick).
/// `None` in a field: that endpoint answered 403/404.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AccountFacts {
    pub guardrails: Option<Vec<Guardrail>>,
    pub assignments: Option<Vec<KeyAssignment>>,
    /// By workspace id.
    pub budgets: Option<HashMap<String, WorkspaceBudgets>>,
    /// Workspace names by id.
    pub workspace_names: HashMap<String, String>,
    pub credits: Option<Credits>,
}

/// `Ok(None)` for an endpoint this account can't use (403/404), the error otherwise.
fn tolerate<T>(result: Result<T, Error>, what: &str) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error @ (Error::NotFound { .. } | Error::Forbidden { .. })) => {
            tracing::info!(kind = %error.kind(), "{what} unavailable for this account");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

fn reset_of(interval: BudgetInterval) -> Option<LimitReset> {
    match interval {
        BudgetInterval::Daily => Some(LimitReset::Daily),
        BudgetInterval::Weekly => Some(LimitReset::Weekly),
        BudgetInterval::Monthly => Some(LimitReset::Monthly),
        BudgetInterval::Lifetime => None,
    }
}

fn sum_burn<'a>(
    keys: impl Iterator<Item = &'a ApiKey>,
    burns: &HashMap<String, f64>,
) -> Option<f64> {
    let mut total = None;
    for key in keys {
        if let Some(burn) = burns.get(&key.hash) {
            *total.get_or_insert(0.0) += burn;
        }
    }
    total
}

impl AccountFacts {
    /// The guardrail assigned to `hash`, if guardrails and assignments could be read.
    pub fn guardrail_of(&self, hash: &str) -> Option<&Guardrail> {
        let assignment = self
            .assignments
            .as_ref()?
            .iter()
            .find(|assignment| assignment.key_hash == hash)?;
        self.guardrails
            .as_ref()?
            .iter()
            .find(|guardrail| guardrail.id == assignment.guardrail_id)
    }

    /// The budgets in `key`'s way besides its own limit: its guardrail's (per key), its
    /// workspace's (pooled over `keys` of that workspace) and the account's credits (burned by all
    /// `keys`). `burns`: USD/day by key hash, for the keys that have a burn rate.
    pub fn budgets_for(
        &self,
        key: &ApiKey,
        keys: &[ApiKey],
        burns: &HashMap<String, f64>,
    ) -> Vec<Budget> {
        let key_burn = burns.get(&key.hash).copied();
        let mut budgets = Vec::new();
        if let Some(guardrail) = self.guardrail_of(&key.hash)
            && let Some(limit) = guardrail.limit_usd
        {
            let reset = guardrail
                .reset_interval
                .clone()
                .filter(|reset| !matches!(reset, LimitReset::Other(_)));
            budgets.push(Budget {
                scope: StopScope::Guardrail,
                name: guardrail.name.clone(),
                limit,
                spent: usage::key_period_spend(
                    key,
                    reset.as_ref(),
                    guardrail.include_byok_in_budgets,
                ),
                reset,
                burn_per_day: key_burn,
            });
        }
        if let Some(workspace_id) = &key.workspace_id
            && let Some(budgets_of) = self.budgets.as_ref().and_then(|all| all.get(workspace_id))
        {
            let pool: Vec<&ApiKey> = keys
                .iter()
                .filter(|other| other.workspace_id.as_ref() == Some(workspace_id))
                .collect();
            let name = self
                .workspace_names
                .get(workspace_id)
                .cloned()
                .unwrap_or_else(|| "Workspace".to_owned());
            for budget in &budgets_of.budgets {
                let reset = reset_of(budget.interval());
                let spent = pool
                    .iter()
                    .map(|member| {
                        usage::key_period_spend(
                            member,
                            reset.as_ref(),
                            budgets_of.include_byok_in_budgets,
                        )
                    })
                    .sum();
                budgets.push(Budget {
                    scope: StopScope::Workspace,
                    name: name.clone(),
                    limit: budget.limit_usd,
                    reset,
                    spent,
                    burn_per_day: sum_burn(pool.iter().copied(), burns),
                });
            }
        }
        if let Some(credits) = &self.credits {
            budgets.push(Budget {
                scope: StopScope::Credits,
                name: "Account credits".to_owned(),
                limit: credits.total_credits,
                reset: None,
                spent: credits.total_usage,
                burn_per_day: sum_burn(keys.iter(), burns),
            });
        }
        budgets
    }

    /// Which parts are missing.
    fn unavailable(&self) -> Vec<AccountPart> {
        let mut parts = Vec::new();
        if self.guardrails.is_none() || self.assignments.is_none() {
            parts.push(AccountPart::Guardrails);
        }
        if self.budgets.is_none() {
            parts.push(AccountPart::WorkspaceBudgets);
        }
        if self.credits.is_none() {
            parts.push(AccountPart::Credits);
        }
        parts
    }
}

/// Reads the budget facts of an account: guardrails of `workspaces` (each workspace's list),
/// every key assignment, each of `workspaces`' budgets, the credits. Concurrent; a 403/404 on any
/// of them leaves that part `None`.
pub(crate) async fn gather_facts(
    client: &OpenRouterClient,
    workspaces: &[(String, String)],
) -> Result<AccountFacts, Error> {
    let guardrails = async {
        let lists = futures::future::join_all(
            workspaces
                .iter()
                .map(|(id, _)| client.list_guardrails_in(id)),
        )
        .await;
        let mut all: Vec<Guardrail> = Vec::new();
        for list in lists {
            for guardrail in list? {
                if !all.iter().any(|known| known.id == guardrail.id) {
                    all.push(guardrail);
                }
            }
        }
        Ok(all)
    };
    let budgets = async {
        let answers = futures::future::join_all(
            workspaces
                .iter()
                .map(|(id, _)| client.workspace_budgets(id)),
        )
        .await;
        let mut by_workspace = HashMap::new();
        for ((id, _), answer) in workspaces.iter().zip(answers) {
            by_workspace.insert(id.clone(), answer?);
        }
        Ok(by_workspace)
    };
    let (guardrails, assignments, budgets, credits) = tokio::join!(
        guardrails,
        client.all_key_assignments(),
        budgets,
        client.credits()
    );
    Ok(AccountFacts {
        guardrails: tolerate(guardrails, "guardrails")?,
        assignments: tolerate(assignments, "guardrail assignments")?,
        budgets: tolerate(budgets, "workspace budgets")?,
        workspace_names: workspaces.iter().cloned().collect(),
        credits: tolerate(credits, "credits")?,
    })
}

impl From<&Guardrail> for KeyGuardrail {
    fn from(guardrail: &Guardrail) -> Self {
        KeyGuardrail {
            id: guardrail.id.clone(),
            name: guardrail.name.clone(),
            limit_usd: guardrail.limit_usd,
            reset_interval: guardrail.reset_interval.clone(),
            allowed_models: guardrail.allowed_models.clone(),
            allowed_providers: guardrail.allowed_providers.clone(),
            ignored_providers: guardrail.ignored_providers.clone(),
            enforces_zdr: guardrail.enforces_zdr(),
            include_byok_in_budgets: guardrail.include_byok_in_budgets,
        }
    }
}

impl Keyward {
    /// The workspaces of a profile as `(id, name)`, as its latest refresh found them; the keys'
    /// own workspace ids when none were listed (a server without `/workspaces`).
    pub(super) fn known_workspaces(
        &self,
        profile: &Profile,
        keys: &[ApiKey],
    ) -> Vec<(String, String)> {
        let mut known: Vec<(String, String)> = self
            .inner
            .workspaces
            .get(&profile.id)
            .unwrap_or_default()
            .into_iter()
            .map(|workspace| (workspace.id, workspace.name))
            .collect();
        for key in keys {
            if let Some(id) = &key.workspace_id
                && !known.iter().any(|(known_id, _)| known_id == id)
            {
                known.push((id.clone(), "Workspace".to_owned()));
            }
        }
        known
    }

    /// Burn rates (USD/day) of a profile's keys from their stored snapshots and activity; keys
    /// with too little history have none.
    pub(super) fn burn_rates(
        &self,
        profile_id: &str,
        keys: &[ApiKey],
        now: DateTime<Utc>,
    ) -> Result<HashMap<String, f64>, Error> {
        let store = self.inner.store();
        let snapshots = by_key(store.snapshots_since(
            profile_id,
            None,
            now - chrono::Duration::days(BURN_SNAPSHOT_DAYS),
        )?);
        let mut burns = HashMap::new();
        for key in keys {
            let activity = store
                .activity(profile_id, Some(&key.hash))?
                .map(|stored| ActivityDays::from_days(&stored.days, stored.fetched_on));
            let of_key = snapshots.get(&key.hash).map_or(&[][..], Vec::as_slice);
            let points: Vec<UsagePoint> = of_key.iter().map(usage_point).collect();
            let days = usage::daily_spend(&points, activity.as_ref(), now);
            let start = history_start(key, of_key, activity.as_ref(), now);
            if let Some(burn) = usage::burn_per_day(&days, start, now) {
                burns.insert(key.hash.clone(), burn);
            }
        }
        Ok(burns)
    }

    /// The account's budget facts for this tick: a few requests per profile (guardrails and
    /// budgets per workspace, assignments, credits), not per key. `None` when they can't be read
    /// (the forecast then looks at each key's own limit only).
    pub(super) async fn account_facts(
        &self,
        profile: &Profile,
        keys: &[(ApiKey, DateTime<Utc>)],
    ) -> Option<AccountFacts> {
        let listed: Vec<ApiKey> = keys.iter().map(|(key, _)| key.clone()).collect();
        let workspaces = self.known_workspaces(profile, &listed);
        let gathered = async {
            let client = self.client_for(profile).await?;
            gather_facts(&client, &workspaces).await
        }
        .await;
        match gathered {
            Ok(facts) => Some(facts),
            Err(error) => {
                tracing::warn!(profile = %profile.id, kind = %error.kind(), "could not read guardrails, budgets or credits; forecasting key limits only");
                None
            }
        }
    }

    /// The key's guardrail, BYOK credentials and log destinations naming it, and what stops it
    /// first. The key comes from the profile's cached list (refresh it for fresh numbers).
    pub async fn key_account(&self, profile_id: &str, key_hash: &str) -> Result<KeyAccount, Error> {
        crate::api::validate_hash(key_hash)?;
        let profile = self.require_profile(profile_id)?;
        let keys: Vec<ApiKey> = self
            .inner
            .store()
            .cached_keys::<ApiKey>(&profile.id)?
            .into_iter()
            .map(|cached| cached.key)
            .collect();
        let key = keys
            .iter()
            .find(|key| key.hash == key_hash)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                message: format!("no key {key_hash} in the list of this profile"),
            })?;
        let client = self.client_for(&profile).await?;
        let workspaces = self.known_workspaces(&profile, &keys);
        let workspace = key.workspace_id.as_deref();
        let (facts, byok, destinations) = tokio::join!(
            gather_facts(&client, &workspaces),
            client.list_byok_keys_in(workspace),
            client.list_destinations_in(workspace),
        );
        let facts = facts?;
        let byok = tolerate(byok, "BYOK credentials")?;
        let destinations = tolerate(destinations, "observability destinations")?;

        let now = self.now();
        let burns = self.burn_rates(&profile.id, &keys, now)?;
        let mut budgets: Vec<Budget> = usage::key_limit(&key, burns.get(&key.hash).copied(), now)
            .into_iter()
            .collect();
        budgets.extend(facts.budgets_for(&key, &keys, &burns));

        let mut unavailable = facts.unavailable();
        if byok.is_none() {
            unavailable.push(AccountPart::Byok);
        }
        if destinations.is_none() {
            unavailable.push(AccountPart::Observability);
        }
        Ok(KeyAccount {
            profile_id: profile.id.clone(),
            key_hash: key.hash.clone(),
            workspace_name: workspace.and_then(|id| facts.workspace_names.get(id).cloned()),
            guardrail: facts.guardrail_of(&key.hash).map(KeyGuardrail::from),
            byok: byok
                .unwrap_or_default()
                .iter()
                .filter(|credential| credential.names_key(&key.hash))
                .map(|credential: &ByokKey| KeyByok {
                    id: credential.id.clone(),
                    provider: credential.provider.clone(),
                    name: credential.name.clone(),
                    label: credential.label.clone(),
                    disabled: credential.disabled,
                })
                .collect(),
            destinations: destinations
                .unwrap_or_default()
                .iter()
                .filter(|destination| destination.names_key(&key.hash))
                .map(|destination: &ObservabilityDestination| KeyDestination {
                    id: destination.id.clone(),
                    name: destination.name.clone(),
                    kind: destination.kind.clone(),
                    enabled: destination.enabled,
                })
                .collect(),
            stops: usage::what_stops_first(budgets, now),
            unavailable,
        })
    }
}

/// Each of `keys`' budgets besides its own limit, for the watch's forecast (`series`: each key's
/// daily spend and history start, in `keys`' order). A shared budget (workspace, credits) is
/// forecast only for keys that spend: an idle key in a busy workspace would otherwise raise the
/// pool's alert too.
pub(super) fn watch_budgets(
    facts: Option<&AccountFacts>,
    keys: &[(ApiKey, DateTime<Utc>)],
    series: &[(Vec<usage::DailySpend>, Option<DateTime<Utc>>)],
    now: DateTime<Utc>,
) -> Vec<Vec<Budget>> {
    let Some(facts) = facts else {
        return vec![Vec::new(); keys.len()];
    };
    let burns: HashMap<String, f64> = keys
        .iter()
        .zip(series)
        .filter_map(|((key, _), (days, start))| {
            usage::burn_per_day(days, *start, now).map(|burn| (key.hash.clone(), burn))
        })
        .collect();
    let all: Vec<ApiKey> = keys.iter().map(|(key, _)| key.clone()).collect();
    all.iter()
        .map(|key| {
            let spends = burns.get(&key.hash).is_some_and(|burn| *burn > 0.0);
            let mut budgets = facts.budgets_for(key, &all, &burns);
            budgets.retain(|budget| {
                spends || !matches!(budget.scope, StopScope::Workspace | StopScope::Credits)
            });
            budgets
        })
        .collect()
}

#[cfg(test)]
mod tests;
