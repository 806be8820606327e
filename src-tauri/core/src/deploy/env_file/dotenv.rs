//! The dotenv edit, pure: set exactly one `VARIABLE=value` line of a file's bytes (or put back the
//! line a backup had) and leave every other byte as it was — comments, blank lines, order, other
//! variables, `export ` prefixes, spacing around `=`, a trailing comment, CRLF line endings, a
//! missing final newline, a UTF-8 BOM. The replaced value keeps its quoting style; an unquoted value
//! that needs quotes gets single quotes.

use super::super::validate_variable_name;

/// The new content of a file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Edit {
    pub content: Vec<u8>,
    /// True when an existing line was replaced, false when one was appended.
    pub replaced: bool,
}

/// One assignment of the variable, as byte offsets into the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Assignment {
    /// 1-based number of its first line.
    line: usize,
    /// Start of its first line.
    start: usize,
    /// The value, quotes included.
    value_start: usize,
    value_end: usize,
    /// End of its last line, before the line terminator.
    body_end: usize,
    /// End of its last line, after the terminator (if any).
    end: usize,
    /// The quote the value is in, if any.
    quote: Option<u8>,
}

/// `content` with `variable` set to `value`: its one line replaced, or a line appended.
pub(crate) fn edit(content: &[u8], variable: &str, value: &str) -> Result<Edit, String> {
    validate_variable_name("variable", variable).map_err(|err| err.to_string())?;
    let found = assignments(content, variable)?;
    match found.as_slice() {
        [] => {
            let eol = line_ending(content);
            let mut out = content.to_vec();
            // Keep the file's habit: no final newline stays no final newline.
            let final_newline = content.is_empty() || content.ends_with(b"\n");
            if !final_newline {
                out.extend_from_slice(break_after(content));
            }
            out.extend_from_slice(variable.as_bytes());
            out.push(b'=');
            out.extend_from_slice(&format_value(value, None)?);
            if final_newline {
                out.extend_from_slice(eol);
            }
            Ok(Edit {
                content: out,
                replaced: false,
            })
        }
        [only] => {
            let mut out = Vec::with_capacity(content.len() + value.len());
            out.extend_from_slice(&content[..only.value_start]);
            out.extend_from_slice(&format_value(value, only.quote)?);
            out.extend_from_slice(&content[only.value_end..]);
            Ok(Edit {
                content: out,
                replaced: true,
            })
        }
        several => Err(duplicate_message(variable, several)),
    }
}

/// `current` with `variable`'s line as it is in `backup` (removed if the backup has none; `backup:
/// None` means the file did not exist). Everything else in `current` stays.
pub(crate) fn restore_variable(
    current: &[u8],
    backup: Option<&[u8]>,
    variable: &str,
) -> Result<Vec<u8>, String> {
    let now = assignments(current, variable)?;
    let before = match backup {
        Some(backup) => assignments(backup, variable)?
            .first()
            .map(|line| &backup[line.start..line.body_end]),
        None => None,
    };
    match (now.as_slice(), before) {
        ([], None) => Ok(current.to_vec()),
        ([], Some(line)) => {
            let mut out = current.to_vec();
            let eol = line_ending(current);
            if !current.is_empty() && !current.ends_with(b"\n") {
                out.extend_from_slice(break_after(current));
            }
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
            Ok(out)
        }
        ([only], Some(line)) => {
            let mut out = current[..only.start].to_vec();
            out.extend_from_slice(line);
            out.extend_from_slice(&current[only.body_end..]);
            Ok(out)
        }
        ([only], None) => {
            let mut start = only.start;
            // The deploy appended it after adding a line break to a file without a final one:
            // take that break (`break_after` the old file) away again, and nothing more.
            if only.end == only.body_end && start > 0 {
                let added = match backup {
                    Some(backup) if !backup.is_empty() => break_after(backup),
                    _ => line_ending(current),
                };
                if current[..start].ends_with(added) {
                    start -= added.len();
                } else {
                    start -= 1;
                }
            }
            let mut out = current[..start].to_vec();
            out.extend_from_slice(&current[only.end..]);
            Ok(out)
        }
        (several, _) => Err(duplicate_message(variable, several)),
    }
}

/// What a backup of `content` keeps for [`restore_variable`]: `variable`'s line alone (empty when the
/// file has none), so a backup never copies the file's other values.
pub(crate) fn variable_line(content: &[u8], variable: &str) -> Result<Vec<u8>, String> {
    match assignments(content, variable)?.as_slice() {
        [] => Ok(Vec::new()),
        [only] => {
            let mut line = content[only.start..only.body_end].to_vec();
            line.push(b'\n');
            Ok(line)
        }
        several => Err(duplicate_message(variable, several)),
    }
}

/// What each assignment of `variable` in `content` holds, as written (quotes included): the
/// editor's own reading of the file, for checks that an edit touched only what it meant to.
pub(crate) fn written_values<'a>(
    content: &'a [u8],
    variable: &str,
) -> Result<Vec<&'a [u8]>, String> {
    Ok(assignments(content, variable)?
        .iter()
        .map(|found| &content[found.value_start..found.value_end])
        .collect())
}

fn duplicate_message(variable: &str, found: &[Assignment]) -> String {
    let lines: Vec<String> = found.iter().map(|a| a.line.to_string()).collect();
    format!(
        "{variable} is set {} times (lines {}); which one a program uses depends on how it reads \
         the file, so remove the extra ones and try again",
        found.len(),
        lines.join(", ")
    )
}

/// What ends the last line of `content` (which has no final `\n`) before a line is appended: just
/// `\n` after a bare CR (so the CR does not become part of that line's value), else the file's
/// line ending.
fn break_after(content: &[u8]) -> &'static [u8] {
    if content.ends_with(b"\r") {
        b"\n"
    } else {
        line_ending(content)
    }
}

/// `\r\n` when the file's first line ends with it, else `\n`.
fn line_ending(content: &[u8]) -> &'static [u8] {
    match content.iter().position(|&b| b == b'\n') {
        Some(at) if at > 0 && content[at - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    }
}

/// Every assignment of `variable` in `content`. Values in quotes may span lines, as dotenv readers
/// allow, so lines inside them are never mistaken for assignments.
fn assignments(content: &[u8], variable: &str) -> Result<Vec<Assignment>, String> {
    let mut found = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while pos < content.len() {
        let (body_end, end) = line_bounds(content, pos);
        let skip_bom = if pos == 0 && content.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let Some(head) = assignment_head(&content[pos + skip_bom..body_end]) else {
            pos = end;
            line += 1;
            continue;
        };
        let value_start = pos + skip_bom + head.value_offset;
        let quote = content
            .get(value_start)
            .copied()
            .filter(|b| matches!(b, b'"' | b'\'' | b'`'));
        let (value_end, last_body_end, last_end) = match quote {
            Some(quote) => {
                let close = closing_quote(content, value_start + 1, quote).ok_or_else(|| {
                    format!(
                        "line {line} opens a {} quote that never closes; fix the file first",
                        char::from(quote)
                    )
                })?;
                let (last_body_end, last_end) = line_bounds(content, close);
                (close + 1, last_body_end, last_end)
            }
            None => (
                pos + skip_bom
                    + unquoted_value_end(&content[pos + skip_bom..body_end], head.value_offset),
                body_end,
                end,
            ),
        };
        let name = &content[pos + skip_bom + head.name.0..pos + skip_bom + head.name.1];
        if name == variable.as_bytes() {
            found.push(Assignment {
                line,
                start: pos,
                value_start,
                value_end,
                body_end: last_body_end,
                end: last_end,
                quote,
            });
        }
        line += content[pos..last_end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        pos = last_end;
    }
    Ok(found)
}

/// The end of the line starting at or containing `at`: (before its terminator, after it).
fn line_bounds(content: &[u8], at: usize) -> (usize, usize) {
    match content[at..].iter().position(|&b| b == b'\n') {
        Some(offset) => {
            let newline = at + offset;
            let body_end = if newline > at && content[newline - 1] == b'\r' {
                newline - 1
            } else {
                newline
            };
            (body_end, newline + 1)
        }
        None => {
            let end = content.len();
            let body_end = if end > at && content[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            (body_end, end)
        }
    }
}

/// Where the name and the value of an assignment line are (`[export ]NAME[ ]=[ ]value`).
struct Head {
    name: (usize, usize),
    value_offset: usize,
}

fn assignment_head(body: &[u8]) -> Option<Head> {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let mut at = body.iter().take_while(|b| blank(b)).count();
    if body[at..].starts_with(b"export") && body.get(at + 6).is_some_and(blank) {
        at += 6;
        at += body[at..].iter().take_while(|b| blank(b)).count();
    }
    let name_start = at;
    at += body[at..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    let name_end = at;
    if name_end == name_start {
        return None;
    }
    at += body[at..].iter().take_while(|b| blank(b)).count();
    if body.get(at) != Some(&b'=') {
        return None;
    }
    at += 1;
    at += body[at..].iter().take_while(|b| blank(b)).count();
    Some(Head {
        name: (name_start, name_end),
        value_offset: at,
    })
}

/// The index of the quote closing a value opened just before `from`; backslash escapes count only in
/// double quotes.
fn closing_quote(content: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut at = from;
    while at < content.len() {
        match content[at] {
            b'\\' if quote == b'"' => at += 2,
            byte if byte == quote => return Some(at),
            _ => at += 1,
        }
    }
    None
}

/// The end of an unquoted value: before a ` #` comment and trailing blanks.
fn unquoted_value_end(body: &[u8], value_offset: usize) -> usize {
    let mut end = body.len();
    for at in value_offset..body.len() {
        if body[at] == b'#' && at > value_offset && matches!(body[at - 1], b' ' | b'\t') {
            end = at;
            break;
        }
    }
    while end > value_offset && matches!(body[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// The value as it is written in the file: in the replaced line's quotes (`"` escapes `\`, `"`, `$`
/// and `` ` ``; `'` is literal, so a value containing `'` goes in double quotes instead), or bare
/// when every character is safe bare, else in single quotes.
fn format_value(value: &str, quote: Option<u8>) -> Result<Vec<u8>, String> {
    if value.is_empty() {
        return Err("the secret is empty; nothing to write".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err(
            "the secret contains a line break or control character, which a .env line cannot \
             hold"
                .to_owned(),
        );
    }
    let bare_safe = value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'_' | b'-' | b'.' | b':' | b'/' | b'+' | b'@' | b'%' | b',' | b'=' | b'~' | b'^'
            )
    });
    let single = |v: &str| format!("'{v}'").into_bytes();
    let double = |v: &str| {
        let mut out = String::with_capacity(v.len() + 2);
        out.push('"');
        for c in v.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out.into_bytes()
    };
    Ok(match quote {
        Some(b'"') => double(value),
        Some(_) if !value.contains('\'') => single(value),
        Some(_) => double(value),
        None if bare_safe => value.as_bytes().to_vec(),
        None if !value.contains('\'') => single(value),
        None => double(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "sk-or-v1-new";

    fn set(content: &str, variable: &str, value: &str) -> Result<String, String> {
        edit(content.as_bytes(), variable, value)
            .map(|edit| String::from_utf8(edit.content).unwrap())
    }

    fn replaced(content: &str) -> String {
        set(content, "KEY", NEW).unwrap()
    }

    #[test]
    fn replaces_only_the_value_and_keeps_everything_else() {
        let before = "# top comment\n\nA=1\nKEY=sk-or-v1-old\n  # KEY=commented\nB=\"two\"\n";
        let after = "# top comment\n\nA=1\nKEY=sk-or-v1-new\n  # KEY=commented\nB=\"two\"\n";
        assert_eq!(replaced(before), after);
        let edit = edit(before.as_bytes(), "KEY", NEW).unwrap();
        assert!(edit.replaced);
    }

    #[test]
    fn keeps_export_spacing_and_trailing_comment() {
        assert_eq!(
            replaced("export  KEY = old   # the API key\n"),
            "export  KEY = sk-or-v1-new   # the API key\n"
        );
        assert_eq!(replaced("\tKEY=old\n"), "\tKEY=sk-or-v1-new\n");
        assert_eq!(replaced("KEY=\nX=1\n"), "KEY=sk-or-v1-new\nX=1\n");
        assert_eq!(replaced("KEY=old#not-a-comment\n"), "KEY=sk-or-v1-new\n");
    }

    #[test]
    fn keeps_the_quoting_style() {
        assert_eq!(replaced("KEY=\"old\"\n"), "KEY=\"sk-or-v1-new\"\n");
        assert_eq!(replaced("KEY='old' # c\n"), "KEY='sk-or-v1-new' # c\n");
        assert_eq!(replaced("KEY=`old`\n"), "KEY='sk-or-v1-new'\n");
        assert_eq!(
            replaced("KEY=\"old # with hash\" # c\n"),
            "KEY=\"sk-or-v1-new\" # c\n"
        );
        assert_eq!(replaced("KEY=\"a \\\" b\"\n"), "KEY=\"sk-or-v1-new\"\n");
    }

    #[test]
    fn quotes_values_that_need_it() {
        assert_eq!(set("KEY=old\n", "KEY", "a=b").unwrap(), "KEY=a=b\n");
        assert_eq!(set("KEY=old\n", "KEY", "a#b c").unwrap(), "KEY='a#b c'\n");
        assert_eq!(
            set("KEY=old\n", "KEY", "a $HOME").unwrap(),
            "KEY='a $HOME'\n"
        );
        assert_eq!(set("KEY=old\n", "KEY", "it's").unwrap(), "KEY=\"it's\"\n");
        assert_eq!(
            set("KEY=\"old\"\n", "KEY", "a\"b\\c$d`e").unwrap(),
            "KEY=\"a\\\"b\\\\c\\$d\\`e\"\n"
        );
        assert_eq!(set("KEY='old'\n", "KEY", "it's").unwrap(), "KEY=\"it's\"\n");
    }

    #[test]
    fn refuses_values_a_line_cannot_hold() {
        for bad in ["a\nb", "a\rb", "a\0b", ""] {
            let err = set("KEY=old\n", "KEY", bad).unwrap_err();
            assert!(err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn keeps_crlf_and_a_missing_final_newline() {
        assert_eq!(
            replaced("A=1\r\nKEY=old\r\nB=2"),
            "A=1\r\nKEY=sk-or-v1-new\r\nB=2"
        );
        assert_eq!(
            replaced("A=1\r\nKEY=\"old\""),
            "A=1\r\nKEY=\"sk-or-v1-new\""
        );
        assert_eq!(replaced("KEY=old"), "KEY=sk-or-v1-new");
    }

    #[test]
    fn appends_in_the_files_style() {
        assert_eq!(replaced(""), "KEY=sk-or-v1-new\n");
        assert_eq!(replaced("A=1\n"), "A=1\nKEY=sk-or-v1-new\n");
        assert_eq!(replaced("A=1"), "A=1\nKEY=sk-or-v1-new");
        assert_eq!(
            replaced("A=1\r\nB=2\r\n"),
            "A=1\r\nB=2\r\nKEY=sk-or-v1-new\r\n"
        );
        assert_eq!(replaced("A=1\r\nB=2"), "A=1\r\nB=2\r\nKEY=sk-or-v1-new");
        assert!(!edit(b"A=1\n", "KEY", NEW).unwrap().replaced);
    }

    #[test]
    fn other_names_are_not_the_variable() {
        for other in [
            "KEYS=1\n",
            "MY_KEY=1\n",
            "KEY.SUB=1\n",
            "KEY-2=1\n",
            "# KEY=1\n",
            "KEY\n",
        ] {
            assert_eq!(
                replaced(other),
                format!("{other}KEY=sk-or-v1-new\n"),
                "{other:?}"
            );
        }
        assert_eq!(replaced("exportKEY=1\n"), "exportKEY=1\nKEY=sk-or-v1-new\n");
        assert_eq!(replaced("export KEY=1\n"), "export KEY=sk-or-v1-new\n");
    }

    #[test]
    fn refuses_a_variable_set_twice() {
        let err = set("KEY=a\nB=1\nexport KEY=b\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("set 2 times (lines 1, 3)"), "{err}");
    }

    #[test]
    fn multi_line_values_are_one_entry() {
        // A line inside another variable's quoted value is not an assignment.
        let content = "CERT=\"line1\nKEY=inside\nline3\"\nKEY=real\n";
        assert_eq!(
            replaced(content),
            "CERT=\"line1\nKEY=inside\nline3\"\nKEY=sk-or-v1-new\n"
        );
        // The variable's own multi-line value is replaced whole; line numbers count every line.
        assert_eq!(
            replaced("A=1\nKEY='one\ntwo' # c\nB=2\n"),
            "A=1\nKEY='sk-or-v1-new' # c\nB=2\n"
        );
        let err = set("A=\"x\ny\"\nKEY=1\nKEY=2\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("lines 3, 4"), "{err}");
    }

    #[test]
    fn refuses_an_unterminated_quote() {
        let err = set("A=1\nB=\"open\nKEY=1\n", "KEY", NEW).unwrap_err();
        assert!(err.contains("line 2 opens a \" quote"), "{err}");
    }

    #[test]
    fn a_bom_does_not_hide_the_first_line() {
        assert_eq!(
            replaced("\u{feff}KEY=old\nA=1\n"),
            "\u{feff}KEY=sk-or-v1-new\nA=1\n"
        );
    }

    #[test]
    fn non_utf8_bytes_elsewhere_are_kept() {
        let before = b"A=\xff\xfe\nKEY=old\n";
        let edit = edit(before, "KEY", NEW).unwrap();
        assert_eq!(edit.content, b"A=\xff\xfe\nKEY=sk-or-v1-new\n");
    }

    #[test]
    fn restore_undoes_every_kind_of_edit_exactly() {
        let originals = [
            "A=1\nKEY=old\nB=2\n",
            "A=1\nKEY=\"old\" # c\nB=2",
            "A=1\r\nexport KEY = 'old'\r\n",
            "A=1\n",
            "A=1",
            "A=1\r\nB=2",
            "",
            "A=1\nKEY='multi\nline'\nB=2\n",
            // A last line ending in a bare CR (found by fuzzing): the edit adds "\n" after it,
            // the undo takes that "\n" away and leaves the CR, which was the file's.
            "A=1\r",
            "A=1\nB=2\r",
            "A=1\r\nB=2\r",
        ];
        for original in originals {
            let deployed = edit(original.as_bytes(), "KEY", NEW).unwrap().content;
            let restored = restore_variable(&deployed, Some(original.as_bytes()), "KEY").unwrap();
            assert_eq!(
                String::from_utf8(restored).unwrap(),
                original,
                "{original:?}"
            );
        }
    }

    #[test]
    fn a_backup_of_the_variables_line_alone_restores_like_the_whole_file() {
        for original in [
            "A=1\nKEY=old\nB=2\n",
            "export KEY = \"old value\" # note\r\nB=2\r\n",
            "A=secret-a\nKEY='multi\nline'\n",
            "A=1\n",
            "KEY=old",
        ] {
            let line = variable_line(original.as_bytes(), "KEY").unwrap();
            assert!(
                !String::from_utf8_lossy(&line).contains("secret-a"),
                "{original:?}"
            );
            let deployed = edit(original.as_bytes(), "KEY", NEW).unwrap().content;
            assert_eq!(
                restore_variable(&deployed, Some(&line), "KEY").unwrap(),
                restore_variable(&deployed, Some(original.as_bytes()), "KEY").unwrap(),
                "{original:?}"
            );
        }
    }

    #[test]
    fn appending_after_a_bare_cr_leaves_the_last_value_alone() {
        // Found by fuzzing: "\r\n" added after a last line ending in "\r" made it "A=\r\r\n",
        // so A (empty before) read as a CR.
        let original = "B=1\r\nA=\r";
        let deployed = edit(original.as_bytes(), "KEY", NEW).unwrap().content;
        assert_eq!(written_values(&deployed, "A").unwrap(), [b"".as_slice()]);
        let restored = restore_variable(&deployed, Some(original.as_bytes()), "KEY").unwrap();
        assert_eq!(restored, original.as_bytes());
    }

    #[test]
    fn restore_keeps_edits_made_since() {
        let original = "A=1\nKEY=old\n";
        let deployed =
            String::from_utf8(edit(original.as_bytes(), "KEY", NEW).unwrap().content).unwrap();
        let edited_since = format!("# added later\n{deployed}C=3\n");
        let restored =
            restore_variable(edited_since.as_bytes(), Some(original.as_bytes()), "KEY").unwrap();
        assert_eq!(
            String::from_utf8(restored).unwrap(),
            "# added later\nA=1\nKEY=old\nC=3\n"
        );
        // Removed by hand since: the old line comes back at the end.
        let restored = restore_variable(b"A=1\n", Some(original.as_bytes()), "KEY").unwrap();
        assert_eq!(restored, b"A=1\nKEY=old\n");
        // A new file holding only the variable becomes empty.
        let created = edit(b"", "KEY", NEW).unwrap().content;
        assert!(restore_variable(&created, None, "KEY").unwrap().is_empty());
    }
}
