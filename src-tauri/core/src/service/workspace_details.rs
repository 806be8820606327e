//! The Workspaces view: one workspace with its key count, spend, budgets and members, and the
//! budget edits. Spend comes from the cached keys' own usage counters (pooled over the
//! workspace's keys, as OpenRouter pools a workspace budget), so showing it costs no request per
//! key; the workspace, its budgets and its members are asked for concurrently.

use crate::Error;
use crate::api::{
    ApiKey, BudgetInterval, LimitReset, OrganizationMember, SetWorkspaceBudgetRequest,
    WorkspaceBudgets, WorkspaceMember,
};
use crate::audit::{AuditAction, AuditValue, BudgetChange, NewAuditEntry};
use crate::ipc::{
    WorkspaceBudgetDeleteArgs, WorkspaceBudgetSetArgs, WorkspaceBudgetStatus, WorkspaceDetails,
    WorkspaceDetailsArgs, WorkspaceMemberInfo,
};
use crate::usage::key_period_spend;

use super::Keyward;

/// The budget intervals in the order the view lists them.
const INTERVALS: [BudgetInterval; 4] = [
    BudgetInterval::Daily,
    BudgetInterval::Weekly,
    BudgetInterval::Monthly,
    BudgetInterval::Lifetime,
];

/// Parses a budget as typed ("25", " 12.50 ") and checks it as the API would, before sending.
pub fn parse_budget_limit(input: &str) -> Result<f64, Error> {
    let typed = input.trim().trim_start_matches('$').trim();
    let limit: f64 = typed.parse().map_err(|_| {
        Error::invalid(
            "limit_usd",
            if typed.is_empty() {
                "is required: a number of US dollars greater than 0".to_owned()
            } else {
                format!("\"{typed}\" is not a number of US dollars")
            },
        )
    })?;
    SetWorkspaceBudgetRequest::new(limit).validate()?;
    Ok(limit)
}

/// What `keys` spent in `interval`'s current period, by their own counters.
fn spent_in(keys: &[&ApiKey], interval: BudgetInterval, include_byok: bool) -> f64 {
    let reset = match interval {
        BudgetInterval::Daily => Some(LimitReset::Daily),
        BudgetInterval::Weekly => Some(LimitReset::Weekly),
        BudgetInterval::Monthly => Some(LimitReset::Monthly),
        BudgetInterval::Lifetime => None,
    };
    keys.iter()
        .map(|key| key_period_spend(key, reset.as_ref(), include_byok))
        .sum()
}

/// Each interval's budget (set or not) with its keys' spend.
pub fn budget_statuses(budgets: &WorkspaceBudgets, keys: &[&ApiKey]) -> Vec<WorkspaceBudgetStatus> {
    INTERVALS
        .iter()
        .map(|&interval| {
            let limit_usd = budgets
                .budgets
                .iter()
                .find(|budget| budget.interval() == interval)
                .map(|budget| budget.limit_usd);
            let spent = spent_in(keys, interval, budgets.include_byok_in_budgets);
            WorkspaceBudgetStatus {
                interval,
                limit_usd,
                spent,
                left: limit_usd.map(|limit| (limit - spent).max(0.0)),
            }
        })
        .collect()
}

/// The workspace's members, named from the organization's list where it has them.
pub fn members_named(
    members: &[WorkspaceMember],
    organization: &[OrganizationMember],
) -> Vec<WorkspaceMemberInfo> {
    members
        .iter()
        .map(|member| {
            let person = organization.iter().find(|org| org.id == member.user_id);
            let name = person.and_then(|org| {
                let full = [org.first_name.as_deref(), org.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                (!full.is_empty()).then_some(full)
            });
            WorkspaceMemberInfo {
                user_id: member.user_id.clone(),
                name,
                email: person.map(|org| org.email.clone()),
                role: member.role.clone(),
            }
        })
        .collect()
}

impl Keyward {
    /// One workspace with its budgets, its keys' spend and its members.
    pub async fn workspace_details(
        &self,
        args: WorkspaceDetailsArgs,
    ) -> Result<WorkspaceDetails, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        let id = args.workspace_id.trim();
        let (workspace, budgets, members, organization) = tokio::join!(
            client.get_workspace(id),
            client.workspace_budgets(id),
            client.list_workspace_members(id),
            client.organization_members(),
        );
        let (workspace, budgets, members) = (workspace?, budgets?, members?);
        // Names are a nicety: a key that may not list the organization still sees the members.
        let organization = organization.unwrap_or_else(|error| {
            tracing::info!(kind = %error.kind(), "no organization member list; members shown by id");
            Vec::new()
        });
        let cached = self.inner.store().cached_keys::<ApiKey>(&profile.id)?;
        let keys: Vec<&ApiKey> = cached
            .iter()
            .map(|cached| &cached.key)
            .filter(|key| key.workspace_id.as_deref() == Some(workspace.id.as_str()))
            .collect();
        Ok(WorkspaceDetails {
            key_count: u32::try_from(keys.len()).unwrap_or(u32::MAX),
            spend_month: keys.iter().map(|key| key.usage_monthly).sum(),
            include_byok_in_budgets: budgets.include_byok_in_budgets,
            budgets: budget_statuses(&budgets, &keys),
            members: members_named(&members, &organization),
            id: workspace.id,
            name: workspace.name,
            slug: workspace.slug,
            description: workspace.description,
        })
    }

    /// Sets (creates or replaces) one interval's budget; answers the workspace as it is now.
    pub async fn workspace_budget_set(
        &self,
        args: WorkspaceBudgetSetArgs,
    ) -> Result<WorkspaceDetails, Error> {
        let change = BudgetChange {
            workspace_id: args.workspace_id.clone(),
            interval: args.interval,
            limit_usd: parse_budget_limit(&args.limit_usd).ok(),
        };
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::WorkspaceBudgetUpdate)
            .after(AuditValue::Budget(change));
        let result = self.set_workspace_budget(args).await;
        self.audited(entry, result)
    }

    async fn set_workspace_budget(
        &self,
        args: WorkspaceBudgetSetArgs,
    ) -> Result<WorkspaceDetails, Error> {
        let limit = parse_budget_limit(&args.limit_usd)?;
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        client
            .set_workspace_budget(
                &args.workspace_id,
                args.interval,
                &SetWorkspaceBudgetRequest::new(limit),
            )
            .await?;
        tracing::info!(workspace = %args.workspace_id, interval = %args.interval, "workspace budget set");
        self.workspace_details(WorkspaceDetailsArgs {
            profile_id: args.profile_id,
            workspace_id: args.workspace_id,
        })
        .await
    }

    /// Removes one interval's budget; answers the workspace as it is now.
    pub async fn workspace_budget_delete(
        &self,
        args: WorkspaceBudgetDeleteArgs,
    ) -> Result<WorkspaceDetails, Error> {
        let entry = NewAuditEntry::new(&args.profile_id, AuditAction::WorkspaceBudgetUpdate).after(
            AuditValue::Budget(BudgetChange {
                workspace_id: args.workspace_id.clone(),
                interval: args.interval,
                limit_usd: None,
            }),
        );
        let result = self.delete_workspace_budget(args).await;
        self.audited(entry, result)
    }

    async fn delete_workspace_budget(
        &self,
        args: WorkspaceBudgetDeleteArgs,
    ) -> Result<WorkspaceDetails, Error> {
        let profile = self.require_profile(&args.profile_id)?;
        let client = self.client_for(&profile).await?;
        client
            .delete_workspace_budget(&args.workspace_id, args.interval)
            .await?;
        tracing::info!(workspace = %args.workspace_id, interval = %args.interval, "workspace budget removed");
        self.workspace_details(WorkspaceDetailsArgs {
            profile_id: args.profile_id,
            workspace_id: args.workspace_id,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_is_parsed_and_checked_before_sending() {
        assert_eq!(parse_budget_limit(" 12.50 ").unwrap(), 12.5);
        assert_eq!(parse_budget_limit("$40").unwrap(), 40.0);
        for bad in ["", "abc", "0", "-3", "NaN", "inf"] {
            let error = parse_budget_limit(bad).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidInput { field: Some(field), .. } if field == "limit_usd"),
                "{bad:?}: {error:?}"
            );
        }
    }
}
