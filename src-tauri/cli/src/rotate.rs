//! The `rotate` command's plan: what the new key will get (workspace, limit, reset, BYOK flag,
//! expiry, what names the key, deploy targets), printed before a rotation starts and alone with
//! `--dry-run`.

use keyward_core::api::format_expiry;
use keyward_core::rotation::{Attachment, NewExpiry, RotationPlan};

/// The plan as lines of text.
pub fn plan_lines(plan: &RotationPlan) -> Vec<String> {
    let mut lines = vec![format!("Rotation plan: the new key \"{}\"", plan.new_key_name)];
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
