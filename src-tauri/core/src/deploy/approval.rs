//! Approval of command deploy targets. A command target runs a program of the person's choosing
//! with a new secret, so the web view (or anything else that can write a rotation policy) must not
//! be able to make Keyward run one on its own: the person approves each exact target (program,
//! arguments, working directory, variable) in a prompt the front end shows outside the web view
//! (the desktop shell: a native dialog; the CLI: a y/N question on a terminal). The store keeps
//! only a SHA-256 digest of those fields ([`command_digest`]); changing any of them needs a new
//! approval, and a command whose digest is not approved is never run ([`super::deploy`] refuses it).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use super::{DeployTarget, printable};
use crate::Error;

/// Versions the digest's encoding: a new encoding never matches an approval of the old one.
const DIGEST_DOMAIN: &[u8] = b"keyward command approval v1\0";

/// What the person is asked to approve: the exact fields of one command target, and the digest the
/// approval is stored under. Holds no secret (targets never do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandApprovalRequest {
    pub program: String,
    pub args: Vec<String>,
    pub env_var: String,
    /// `None`: Keyward's own working directory.
    pub working_dir: Option<String>,
    /// [`command_digest`] of the target.
    pub digest: String,
}

impl CommandApprovalRequest {
    /// The request for `target`; `None` for targets that are not commands.
    pub fn for_target(target: &DeployTarget) -> Option<Self> {
        let DeployTarget::Command {
            program,
            args,
            env_var,
            working_dir,
        } = target
        else {
            return None;
        };
        Some(CommandApprovalRequest {
            program: program.clone(),
            args: args.clone(),
            env_var: env_var.clone(),
            working_dir: working_dir.clone(),
            digest: command_digest(program, args, env_var, working_dir.as_deref()),
        })
    }

    /// The text a prompt shows: every field on its own line, each argument quoted and numbered
    /// (control characters escaped, so nothing can hide a part of the command), and what
    /// approving means.
    pub fn prompt_text(&self) -> String {
        let mut text = String::from(
            "A rotation policy wants Keyward to run this program with a new API key's secret in \
             its environment:\n\n",
        );
        text.push_str(&format!("Program: {}\n", quoted(&self.program)));
        if self.args.is_empty() {
            text.push_str("Arguments: none\n");
        } else {
            text.push_str(&format!("Arguments ({}):\n", self.args.len()));
            for (index, arg) in self.args.iter().enumerate() {
                text.push_str(&format!("  {}. {}\n", index + 1, quoted(arg)));
            }
        }
        text.push_str(&format!(
            "Working directory: {}\n",
            self.working_dir
                .as_deref()
                .map_or_else(|| "Keyward's own".to_owned(), quoted)
        ));
        text.push_str(&format!(
            "Secret in environment variable: {}\n\n",
            quoted(&self.env_var)
        ));
        text.push_str(
            "Approve only if you set this up yourself. Keyward will run exactly this command when \
             the key is rotated (also automatically, if the policy says so); any change to it \
             needs your approval again.",
        );
        text
    }
}

fn quoted(text: &str) -> String {
    // Whole, never cut: the person must see every character that will run.
    format!(
        "\"{}\"",
        text.chars()
            .flat_map(char::escape_debug)
            .collect::<String>()
    )
}

/// The SHA-256 (hex) of a command target's program, arguments, variable and working directory, in
/// an unambiguous encoding (every field length-prefixed, the argument count included, the working
/// directory's absence distinct from an empty one).
pub fn command_digest(
    program: &str,
    args: &[String],
    env_var: &str,
    working_dir: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(DIGEST_DOMAIN);
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    };
    field(program.as_bytes());
    field(env_var.as_bytes());
    match working_dir {
        None => field(b"none"),
        Some(dir) => {
            field(b"some");
            field(dir.as_bytes());
        }
    }
    field(&(args.len() as u64).to_be_bytes());
    for arg in args {
        field(arg.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// The digest of a target if it is a command.
pub fn target_digest(target: &DeployTarget) -> Option<String> {
    match target {
        DeployTarget::Command {
            program,
            args,
            env_var,
            working_dir,
        } => Some(command_digest(
            program,
            args,
            env_var,
            working_dir.as_deref(),
        )),
        _ => None,
    }
}

/// Asks the person whether a command target may run, outside the web view. Front ends supply it:
/// the desktop shell a native dialog, the CLI a y/N prompt on a terminal (refusing when there is
/// none), tests a [`MemoryApprover`].
pub trait CommandApprover: Send + Sync {
    /// `Ok(true)`: the person approved exactly this request. `Ok(false)`: they refused (or could
    /// not be asked). `Err`: the prompt itself failed.
    fn approve<'a>(
        &'a self,
        request: &'a CommandApprovalRequest,
    ) -> BoxFuture<'a, Result<bool, Error>>;
}

/// An approver with a fixed answer that records what it was asked (tests).
#[derive(Debug)]
pub struct MemoryApprover {
    answer: Mutex<bool>,
    asked: Mutex<Vec<CommandApprovalRequest>>,
}

impl MemoryApprover {
    pub fn approving() -> Self {
        Self::answering(true)
    }

    pub fn refusing() -> Self {
        Self::answering(false)
    }

    fn answering(answer: bool) -> Self {
        MemoryApprover {
            answer: Mutex::new(answer),
            asked: Mutex::new(Vec::new()),
        }
    }

    /// Changes the answer for the next requests.
    pub fn set_answer(&self, answer: bool) {
        *self.answer.lock().unwrap_or_else(PoisonError::into_inner) = answer;
    }

    /// Every request asked so far, oldest first.
    pub fn asked(&self) -> Vec<CommandApprovalRequest> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl CommandApprover for MemoryApprover {
    fn approve<'a>(
        &'a self,
        request: &'a CommandApprovalRequest,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(request.clone());
        let answer = *self.answer.lock().unwrap_or_else(PoisonError::into_inner);
        Box::pin(async move { Ok(answer) })
    }
}

/// Why a command target may not run: `field` is `targets[i].program` of the policy.
pub(crate) fn not_approved(field: &str, program: &str, refused: bool) -> Error {
    Error::invalid(field, not_approved_message(program, refused))
}

/// The sentence of [`not_approved`], worded to follow the field's name ("Program needs your
/// approval…"), as the desktop form shows it.
pub(crate) fn not_approved_message(program: &str, refused: bool) -> String {
    let shown = printable(program);
    if refused {
        format!(
            "was not approved: running {shown} was refused in the approval prompt (or no one \
             could be asked), so Keyward will not run it"
        )
    } else {
        format!(
            "needs your approval: {shown}, with exactly these arguments, working directory and \
             variable, has not been approved to run (or has changed since it was). Save the \
             rotation policy in the desktop app, or rotate from a terminal, to be asked; Keyward \
             never runs an unapproved command"
        )
    }
}

/// Whether `target` may run under `approved` (digests): non-command targets always may.
pub(crate) fn is_approved(target: &DeployTarget, approved: &HashSet<String>) -> bool {
    target_digest(target).is_none_or(|digest| approved.contains(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(program: &str, args: &[&str], dir: Option<&str>) -> DeployTarget {
        DeployTarget::Command {
            program: program.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            env_var: "KEY".into(),
            working_dir: dir.map(str::to_owned),
        }
    }

    #[test]
    fn every_field_changes_the_digest_and_the_encoding_is_unambiguous() {
        let base = target_digest(&target("/bin/a", &["x", "y"], None)).unwrap();
        let others = [
            target("/bin/b", &["x", "y"], None),
            target("/bin/a", &["x"], None),
            target("/bin/a", &["xy"], None),
            target("/bin/a", &["x", "y", ""], None),
            target("/bin/a", &["x", "y"], Some("")),
            target("/bin/a", &["x", "y"], Some("/tmp")),
        ];
        for other in &others {
            assert_ne!(target_digest(other).unwrap(), base, "{other:?}");
        }
        let renamed = DeployTarget::Command {
            program: "/bin/a".into(),
            args: vec!["x".into(), "y".into()],
            env_var: "OTHER".into(),
            working_dir: None,
        };
        assert_ne!(target_digest(&renamed).unwrap(), base);
        assert_eq!(
            target_digest(&target("/bin/a", &["x", "y"], None)).unwrap(),
            base
        );
        assert!(target_digest(&DeployTarget::Clipboard).is_none());
    }

    #[test]
    fn the_prompt_names_every_field_whole() {
        let request = CommandApprovalRequest::for_target(&target(
            "/usr/bin/env",
            &["sh", "-c", "curl evil\nrm -rf ~"],
            Some("/srv"),
        ))
        .unwrap();
        let text = request.prompt_text();
        assert!(text.contains("Program: \"/usr/bin/env\""), "{text}");
        assert!(text.contains("3. \"curl evil\\nrm -rf ~\""), "{text}");
        assert!(text.contains("Working directory: \"/srv\""), "{text}");
        assert!(text.contains("\"KEY\""), "{text}");
    }
}
