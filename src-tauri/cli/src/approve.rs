//! The CLI's [`CommandApprover`]: a command deploy target not approved yet is shown on the terminal
//! (program, arguments, working directory, variable) with a `[y/N]` question. Only an interactive
//! terminal can approve: when standard input is not a terminal (a script, CI, a pipe) the target
//! is refused without reading anything, so nothing unattended ever approves a command.

use std::future::Future;
use std::io::{self, BufRead, IsTerminal, Write};
use std::pin::Pin;

use keyward_core::Error;
use keyward_core::deploy::{CommandApprovalRequest, CommandApprover};

pub struct TerminalApprover;

impl CommandApprover for TerminalApprover {
    fn approve<'a>(
        &'a self,
        request: &'a CommandApprovalRequest,
    ) -> Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'a>> {
        let text = request.prompt_text();
        Box::pin(async move {
            let asked = tokio::task::spawn_blocking(move || {
                let stdin = io::stdin();
                let terminal = stdin.is_terminal();
                decide(terminal, &text, &mut stdin.lock(), &mut io::stderr())
            })
            .await
            .map_err(|join| Error::Internal {
                message: format!("the approval prompt did not finish ({join})"),
                source: Some(join.into()),
            })?;
            asked.map_err(|err| Error::Internal {
                message: format!("could not read the answer from the terminal: {err}"),
                source: Some(err.into()),
            })
        })
    }
}

/// Shows `text` on `out` and reads the answer from `input`: `y` or `yes` (any case) approves,
/// anything else (an empty line, end of input) refuses. Not a terminal: refused, nothing read.
fn decide(
    terminal: bool,
    text: &str,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> io::Result<bool> {
    if !terminal {
        writeln!(
            out,
            "{text}\n\nRefused: standard input is not a terminal, so no one can approve this \
             command here. Run the command again in a terminal, or approve it in the desktop app."
        )?;
        return Ok(false);
    }
    write!(out, "{text}\n\nAllow this command to run? [y/N] ")?;
    out.flush()?;
    let mut line = String::new();
    input.read_line(&mut line)?;
    let answer = line.trim().to_ascii_lowercase();
    Ok(answer == "y" || answer == "yes")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn answer(terminal: bool, typed: &str) -> (bool, String) {
        let mut out = Vec::new();
        let approved = decide(
            terminal,
            "Program: \"/bin/x\"",
            &mut typed.as_bytes(),
            &mut out,
        )
        .unwrap();
        (approved, String::from_utf8(out).unwrap())
    }

    #[test]
    fn only_yes_on_a_terminal_approves() {
        for typed in ["y\n", "Y\n", "yes\n", " YES \n"] {
            assert!(answer(true, typed).0, "{typed:?}");
        }
        for typed in ["\n", "", "n\n", "no\n", "yess\n", "sure\n"] {
            assert!(!answer(true, typed).0, "{typed:?}");
        }
        let (_, shown) = answer(true, "n\n");
        assert!(
            shown.contains("/bin/x") && shown.contains("[y/N]"),
            "{shown}"
        );
    }

    #[test]
    fn without_a_terminal_it_refuses_without_reading() {
        let mut input: &[u8] = b"y\n";
        let mut out = Vec::new();
        assert!(!decide(false, "Program: \"/bin/x\"", &mut input, &mut out).unwrap());
        assert_eq!(input, b"y\n", "the answer was read");
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.contains("not a terminal"), "{shown}");
    }
}
