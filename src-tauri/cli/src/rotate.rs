//! The `rotate` command's plan: what the new key will get (workspace, limit, reset, BYOK flag,
//! expiry, what names the key, deploy targets), printed before a rotation starts and alone with
//! `--dry-run`.

use keyward_core::api::format_expiry;
use keyward_core::rotation::{Attachment, NewExpiry, RotationPlan};

/// The plan as lines of text.
pub fn plan_lines(plan: &RotationPlan) -> Vec<String> {
    let mut lines = vec![format!(
        "Rotation plan: the new key \"{}\"",
        plan.new_key_name
    )];
    lines.push(format!(
        "  workspace    {}",
        plan.workspace_id.as_deref().unwrap_or("default")
    ));
    let limit = plan
        .limit
        .map_or_else(|| "no limit".to_owned(), |limit| format!("${limit:.2}"));
    let reset = plan.limit_reset.as_ref().map_or_else(
        || "never resets".to_owned(),
        |reset| {
            let word = serde_json::to_value(reset).unwrap_or_default();
            format!("resets {}", word.as_str().unwrap_or("?"))
        },
    );
    lines.push(format!("  limit        {limit}, {reset}"));
    lines.push(format!(
        "  BYOK usage   {} the limit",
        if plan.include_byok_in_limit {
            "counts toward"
        } else {
            "does not count toward"
        }
    ));
    let rule = match plan.new_expiry {
        NewExpiry::KeepLifetime => "the old key's lifetime".to_owned(),
        NewExpiry::Never => "never".to_owned(),
        NewExpiry::Days(days) => format!("{days} days"),
        NewExpiry::At(_) => "a new date".to_owned(),
    };
    let old = plan
        .old_expires_at
        .map_or_else(|| "never".to_owned(), format_expiry);
    lines.push(format!(
        "  expires      {} ({rule}; the old key: {old})",
        plan.expires_at
            .map_or_else(|| "never".to_owned(), format_expiry)
    ));
    if plan.attachments.is_empty() {
        lines.push("  carries      nothing names the key (no guardrail, BYOK allowlist or log destination)".to_owned());
    }
    for attachment in &plan.attachments {
        let what = match attachment {
            Attachment::Guardrail { .. } => "guardrail",
            Attachment::Byok { .. } => "BYOK list",
            Attachment::Destination { .. } => "logs",
        };
        lines.push(format!("  {what:<12} {}", attachment.describe()));
    }
    if plan.targets.is_empty() {
        lines.push(
            "  deploy to    nowhere: you put the new secret in place, then resume".to_owned(),
        );
    }
    for target in &plan.targets {
        lines.push(format!("  deploy to    {}", target.describe()));
    }
    lines
}

/// `--expires`: days, a date, a date and time with a zone, `never` or `keep`.
pub fn parse_expires(input: &str) -> Result<NewExpiry, String> {
    keyward_core::rotation::parse_new_expiry(input).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::api::ApiKey;
    use keyward_core::rotation::RotationPolicy;

    #[test]
    fn the_plan_says_what_the_new_key_gets() {
        let key: ApiKey = serde_json::from_value(serde_json::json!({
            "hash": "h", "name": "eu-api", "label": "sk-or-v1-abc...def", "disabled": false,
            "limit": 5.0, "limit_remaining": 5.0, "limit_reset": "weekly", "usage": 0.0,
            "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
            "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
            "include_byok_in_limit": true, "workspace_id": "ws-1",
            "created_at": "2026-01-01T00:00:00Z", "expires_at": "2026-03-02T00:00:00Z",
        }))
        .unwrap();
        let attachments = vec![
            Attachment::Guardrail {
                id: "g".into(),
                name: "EU only".into(),
            },
            Attachment::Byok {
                id: "b".into(),
                provider: "openai".into(),
                name: "prod".into(),
            },
        ];
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let plan = RotationPlan::for_key(
            &key,
            RotationPolicy::default_for("p", "h"),
            Some(NewExpiry::Days(90)),
            attachments,
            now,
        );
        let text = plan_lines(&plan).join("\n");
        for expected in [
            "\"eu-api · rotated 2026-06-01\"",
            "workspace    ws-1",
            "$5.00, resets weekly",
            "counts toward",
            "expires      2026-08-30T00:00:00Z (90 days; the old key: 2026-03-02T00:00:00Z)",
            "guardrail    guardrail \"EU only\"",
            "BYOK list    BYOK key \"prod\" (openai)",
            "deploy to    nowhere",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
    }
}
