//! The key filter of the emergency revoke (CLI, tray): space-separated `field:value` terms, all of
//! which must match. Fields: `name:` (a glob, `*` and `?`, case-insensitive), `workspace:` (a
//! workspace's id, name or slug), `hash:` (a prefix of the key hash), `status:` (`active`,
//! `disabled` or `expired`) and `tag:` (local metadata, looked up through a caller's closure).
//! Values with spaces go in double quotes: `name:"prod api*"`. One parser for every front end, with
//! errors naming what is wrong before any key is touched.

use chrono::{DateTime, Utc};

use crate::Error;
use crate::api::ApiKey;
use crate::ipc::{KeyStatus, WorkspaceInfo};

/// One term of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A lower-cased glob.
    Name(String),
    /// A workspace id, name or slug as typed (resolved against the profile's workspaces).
    Workspace(String),
    /// A lower-cased hash prefix.
    Hash(String),
    Status(KeyStatus),
    Tag(String),
}

/// A parsed filter: every term must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFilter {
    pub terms: Vec<Term>,
}

const FIELD_HELP: &str = "use name:<glob>, workspace:<name or id>, hash:<prefix>, \
                          status:active|disabled|expired or tag:<tag>";

fn bad(message: impl Into<String>) -> Error {
    Error::invalid("filter", message)
}

/// Splits on whitespace outside double quotes; quotes are removed.
fn tokens(expression: &str) -> Result<Vec<String>, Error> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in expression.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    tokens.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(bad("a double quote is not closed"));
    }
    if any {
        tokens.push(current);
    }
    Ok(tokens)
}

impl KeyFilter {
    pub fn parse(expression: &str) -> Result<KeyFilter, Error> {
        let tokens = tokens(expression)?;
        if tokens.is_empty() {
            return Err(bad(format!(
                "is empty: say which keys ({FIELD_HELP}); name:* matches every key"
            )));
        }
        let terms = tokens
            .iter()
            .map(|token| parse_term(token))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyFilter { terms })
    }

    /// Whether `key` matches every term. `workspaces` are the profile's (for names and slugs),
    /// `tags` gives a key's local tags by hash.
    pub fn matches(
        &self,
        key: &ApiKey,
        now: DateTime<Utc>,
        workspaces: &[WorkspaceInfo],
        tags: &dyn Fn(&str) -> Vec<String>,
    ) -> bool {
        self.terms.iter().all(|term| match term {
            Term::Name(glob) => glob_match(glob, &key.name.to_lowercase()),
            Term::Workspace(wanted) => key.workspace_id.as_deref().is_some_and(|id| {
                id.eq_ignore_ascii_case(wanted)
                    || workspaces.iter().any(|w| {
                        w.id == id
                            && (w.name.eq_ignore_ascii_case(wanted)
                                || w.slug.eq_ignore_ascii_case(wanted))
                    })
            }),
            Term::Hash(prefix) => key.hash.to_lowercase().starts_with(prefix),
            Term::Status(status) => KeyStatus::of(key, now) == *status,
            Term::Tag(tag) => tags(&key.hash)
                .iter()
                .any(|have| have.eq_ignore_ascii_case(tag)),
        })
    }

    /// Refuses a `workspace:` term that names no workspace the profile has (a typo would
    /// otherwise match nothing, silently, in an emergency).
    pub fn check_workspaces(&self, workspaces: &[WorkspaceInfo]) -> Result<(), Error> {
        for term in &self.terms {
            if let Term::Workspace(wanted) = term
                && !workspaces.iter().any(|w| {
                    w.id.eq_ignore_ascii_case(wanted)
                        || w.name.eq_ignore_ascii_case(wanted)
                        || w.slug.eq_ignore_ascii_case(wanted)
                })
            {
                return Err(bad(format!(
                    "no workspace named \"{wanted}\" (give its name, slug or id)"
                )));
            }
        }
        Ok(())
    }
}

fn parse_term(token: &str) -> Result<Term, Error> {
    let Some((field, value)) = token.split_once(':') else {
        return Err(bad(format!(
            "\"{token}\" is not field:value ({FIELD_HELP})"
        )));
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(format!("\"{field}:\" needs a value")));
    }
    match field.trim().to_ascii_lowercase().as_str() {
        "name" => Ok(Term::Name(value.to_lowercase())),
        "workspace" => Ok(Term::Workspace(value.to_owned())),
        "hash" => {
            if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!(
                    "hash:{value}: a key hash prefix is hexadecimal"
                )));
            }
            Ok(Term::Hash(value.to_ascii_lowercase()))
        }
        "status" => match value.to_ascii_lowercase().as_str() {
            "active" => Ok(Term::Status(KeyStatus::Active)),
            "disabled" => Ok(Term::Status(KeyStatus::Disabled)),
            "expired" => Ok(Term::Status(KeyStatus::Expired)),
            _ => Err(bad(format!(
                "status:{value}: the status is active, disabled or expired"
            ))),
        },
        "tag" => Ok(Term::Tag(value.to_owned())),
        other => Err(bad(format!("unknown field \"{other}\" ({FIELD_HELP})"))),
    }
}

/// `*` any run of characters, `?` any one; everything else literal.
fn glob_match(glob: &str, text: &str) -> bool {
    let glob: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut g, mut t) = (0, 0);
    // The last `*` seen and the text position it was tried at (backtracking, linear memory).
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if g < glob.len() && (glob[g] == '?' || glob[g] == text[t]) {
            g += 1;
            t += 1;
        } else if g < glob.len() && glob[g] == '*' {
            star = Some((g, t));
            g += 1;
        } else if let Some((star_g, star_t)) = star {
            g = star_g + 1;
            t = star_t + 1;
            star = Some((star_g, star_t + 1));
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, hash: &str, disabled: bool, workspace: Option<&str>) -> ApiKey {
        let mut key: ApiKey = serde_json::from_value(serde_json::json!({
            "hash": hash, "name": name, "label": "sk-or-v1-abc...def", "disabled": disabled,
            "limit": null, "limit_remaining": null, "limit_reset": null, "usage": 0.0,
            "usage_daily": 0.0, "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
            "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
        }))
        .unwrap();
        key.workspace_id = workspace.map(str::to_owned);
        key
    }

    fn workspaces() -> Vec<WorkspaceInfo> {
        vec![WorkspaceInfo {
            id: "ws-1".into(),
            name: "Research Lab".into(),
            slug: "research".into(),
        }]
    }

    fn matches(expression: &str, key: &ApiKey) -> bool {
        let tags = |hash: &str| {
            if hash.starts_with("ab") {
                vec!["leaked".to_owned()]
            } else {
                vec![]
            }
        };
        KeyFilter::parse(expression)
            .unwrap()
            .matches(key, Utc::now(), &workspaces(), &tags)
    }

    #[test]
    fn globs() {
        assert!(glob_match("prod-*", "prod-api"));
        assert!(glob_match("*", ""));
        assert!(glob_match("p?od*api", "prod-eu-api"));
        assert!(glob_match("*-api-*", "x-api-api-y"));
        assert!(!glob_match("prod-*", "staging-prod-1"));
        assert!(!glob_match("a?", "a"));
    }

    #[test]
    fn terms_all_must_match() {
        let prod = key("Prod-API", "abcd01", false, Some("ws-1"));
        let off = key("prod-old", "ef0001", true, None);
        assert!(matches("name:prod-*", &prod));
        assert!(matches("name:prod-* status:active", &prod));
        assert!(!matches("name:prod-* status:active", &off));
        assert!(matches("status:disabled", &off));
        assert!(matches("hash:ABCD", &prod));
        assert!(!matches("hash:ef", &prod));
        assert!(matches("workspace:research", &prod));
        assert!(matches("workspace:\"research lab\"", &prod));
        assert!(matches("workspace:ws-1", &prod));
        assert!(!matches("workspace:ws-1", &off));
        assert!(matches("tag:LEAKED", &prod));
        assert!(!matches("tag:leaked", &off));
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let message = |expression: &str| KeyFilter::parse(expression).unwrap_err().to_string();
        assert!(message("").contains("empty"));
        assert!(message("prod").contains("not field:value"));
        assert!(message("color:red").contains("unknown field"));
        assert!(message("status:gone").contains("active, disabled or expired"));
        assert!(message("hash:xyz").contains("hexadecimal"));
        assert!(message("name:").contains("needs a value"));
        assert!(message("name:\"open").contains("quote"));
        let filter = KeyFilter::parse("workspace:nowhere").unwrap();
        assert!(filter.check_workspaces(&workspaces()).is_err());
        assert!(
            KeyFilter::parse("workspace:Research")
                .unwrap()
                .check_workspaces(&workspaces())
                .is_ok()
        );
    }
}
