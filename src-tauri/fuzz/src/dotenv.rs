//! The `.env` editor. Input: byte 0 picks the variable, byte 1 another one, then the new value,
//! `0xFF`, the file's bytes (any bytes). Properties, for every edit that succeeds:
//! - the file then assigns the variable exactly once, and a dotenv reader gets the value back;
//! - every other variable reads as before, byte for byte;
//! - editing again with the same value changes nothing;
//! - the undo (`restore` from the old file as backup) gives back the old file byte for byte;
//! - an edit that fails leaves nothing to check, but it must fail, not panic.

use keyward_core::fuzzing::{dotenv_edit, dotenv_restore, dotenv_values};

use crate::split;

const NAMES: [&str; 8] = [
    "OPENROUTER_API_KEY",
    "A",
    "KEY",
    "export",
    "_",
    "B_2",
    "OPENROUTER_API_KEY_OLD",
    "a",
];

pub fn dotenv(input: &[u8]) {
    let [variable, other, rest @ ..] = input else {
        return;
    };
    let variable = NAMES[usize::from(*variable) % NAMES.len()];
    let other = NAMES[usize::from(*other) % NAMES.len()];
    let (value, content) = split(rest);
    let value = String::from_utf8_lossy(value);

    // Reading never panics, and an undo with no backup of a file without the variable is a no-op.
    let before = dotenv_values(content, variable);
    if let Ok(found) = &before
        && found.is_empty()
    {
        let restored = dotenv_restore(content, None, variable);
        assert_eq!(restored.as_deref(), Ok(content));
    }
    let _ = dotenv_restore(content, Some(value.as_bytes()), variable);

    let Ok((edited, replaced)) = dotenv_edit(content, variable, &value) else {
        return;
    };
    let show = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let Ok(before) = before else {
        panic!(
            "edit succeeded on a file the editor can't read: {:?}",
            show(content)
        );
    };
    assert_eq!(replaced, !before.is_empty());

    // Exactly one assignment, holding the value.
    let after =
        dotenv_values(&edited, variable).unwrap_or_else(|err| panic!("{err}: {:?}", show(&edited)));
    assert_eq!(after.len(), 1, "{:?}", show(&edited));
    assert_eq!(
        unquote(after[0]).as_deref(),
        Some(value.as_bytes()),
        "written as {:?}",
        show(after[0])
    );

    // Other variables untouched.
    if other != variable {
        assert_eq!(
            dotenv_values(content, other),
            dotenv_values(&edited, other),
            "{other} changed: {:?} -> {:?}",
            show(content),
            show(&edited)
        );
    }

    // Idempotent.
    let again = dotenv_edit(&edited, variable, &value);
    assert_eq!(again, Ok((edited.clone(), true)));

    // Undo from the backup gives the old file back.
    let undone = dotenv_restore(&edited, Some(content), variable)
        .unwrap_or_else(|err| panic!("undo failed: {err}"));
    assert_eq!(show(&undone), show(content));
    assert_eq!(undone, content);
}

/// What a dotenv reader makes of a written value: `'…'` literal, `"…"` with `\` escapes, bare as is.
fn unquote(written: &[u8]) -> Option<Vec<u8>> {
    match written {
        [b'\'', inner @ .., b'\''] => Some(inner.to_vec()),
        [b'"', inner @ .., b'"'] => {
            let mut out = Vec::with_capacity(inner.len());
            let mut bytes = inner.iter();
            while let Some(&b) = bytes.next() {
                if b == b'\\' {
                    out.push(*bytes.next()?);
                } else {
                    out.push(b);
                }
            }
            Some(out)
        }
        bare => Some(bare.to_vec()),
    }
}
