//! Client-side checks run before any request leaves: each failure is an `Error::InvalidInput` naming
//! the field, so a typo never costs a round trip (or, for a create, a half-made key).

use chrono::{DateTime, Datelike, SecondsFormat, Utc};

use crate::Error;

/// Key hashes are the SHA-256 of the key, as 64 lowercase hex digits (reference §3 examples; the
/// emulator derives them the same way). Anything else can't name a key and, put in a path, could
/// even address another endpoint, so it is refused before sending.
pub fn validate_hash(hash: &str) -> Result<(), Error> {
    if hash.is_empty() {
        return Err(Error::invalid("hash", "is empty"));
    }
    let well_formed = hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(
            "hash",
            format!(
                "\"{}\" is not a key hash (64 lowercase hex digits, as shown in the key list)",
                shorten(hash)
            ),
        ))
    }
}

/// An id that is a UUID (guardrails, BYOK credentials, destinations, workspaces); `what` names it in
/// the message ("guardrail id").
pub fn validate_uuid(field: &str, value: &str, what: &str) -> Result<(), Error> {
    uuid::Uuid::try_parse(value)
        .map(|_| ())
        .map_err(|_| Error::invalid(field, format!("\"{value}\" is not a {what} (a UUID)")))
}

/// User ids to add, remove or assign in one request: 1–100, each non-empty without blanks or `/`
/// (it may end up in a path).
pub fn validate_user_ids(field: &str, user_ids: &[String]) -> Result<(), Error> {
    if user_ids.is_empty() {
        return Err(Error::invalid(field, "name at least one member"));
    }
    if user_ids.len() > 100 {
        return Err(Error::invalid(
            field,
            format!("at most 100 members at a time ({} given)", user_ids.len()),
        ));
    }
    match user_ids
        .iter()
        .find(|id| id.is_empty() || id.chars().any(|c| c.is_whitespace() || c == '/'))
    {
        Some(bad) => Err(Error::invalid(
            field,
            format!("\"{bad}\" is not a user id (e.g. user_2dHFtVWx2n56w6HkM0000000000)"),
        )),
        None => Ok(()),
    }
}

pub fn validate_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        Err(Error::invalid("name", "must not be empty"))
    } else {
        Ok(())
    }
}

/// A spending limit in USD: finite and not negative (0 is allowed: it blocks all spend).
pub fn validate_limit(limit: f64) -> Result<(), Error> {
    if !limit.is_finite() {
        Err(Error::invalid(
            "limit",
            "must be a number of US dollars (not NaN or infinite)",
        ))
    } else if limit < 0.0 {
        Err(Error::invalid("limit", "must not be negative"))
    } else {
        Ok(())
    }
}

pub fn validate_expiry(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Error> {
    // RFC 3339 has four-digit years: a later one would be sent as "+10000-…", which the API
    // can't read.
    if expires_at.year() > 9999 {
        return Err(Error::invalid(
            "expires_at",
            "must be before the year 10000",
        ));
    }
    if expires_at <= now {
        Err(Error::invalid(
            "expires_at",
            format!(
                "{} is in the past (now is {})",
                format_expiry(expires_at),
                format_expiry(now)
            ),
        ))
    } else {
        Ok(())
    }
}

pub fn validate_workspace_id(workspace_id: &str) -> Result<(), Error> {
    if workspace_id.trim().is_empty() {
        Err(Error::invalid("workspace_id", "must not be empty"))
    } else {
        Ok(())
    }
}

/// The wire form of an expiry: UTC with whole seconds and a `Z` (the API rejects minute precision).
pub fn format_expiry(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads an expiry typed by a person (CLI flag, UI field): ISO 8601 / RFC 3339 **with a zone** (`Z`
/// or `+02:00`; a space may replace `T`; seconds optional), converted to UTC, and in the future of
/// `now`. A value without a zone is refused rather than guessed: a wrong guess moves the expiry by
/// hours.
pub fn parse_expiry(input: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let text = input.trim();
    if text.is_empty() {
        return Err(Error::invalid("expires_at", "is empty"));
    }
    let normalized = text.replacen(' ', "T", 1);
    let parsed = DateTime::parse_from_rfc3339(&normalized)
        .or_else(|_| DateTime::parse_from_str(&normalized, "%Y-%m-%dT%H:%M%#z"))
        .map(|at| at.with_timezone(&Utc));
    let at = match parsed {
        Ok(at) => at,
        Err(_) if has_no_zone(&normalized) => {
            return Err(Error::invalid(
                "expires_at",
                format!(
                    "\"{text}\" has no time zone; add Z for UTC or an offset such as +02:00 \
                     (e.g. 2030-01-31T23:59:59Z)"
                ),
            ));
        }
        Err(_) => {
            return Err(Error::invalid(
                "expires_at",
                format!("\"{text}\" is not a date and time such as 2030-01-31T23:59:59Z"),
            ));
        }
    };
    validate_expiry(at, now)?;
    Ok(at)
}

/// True for "2030-01-31T10:00:00" or "2030-01-31": date-times that parse once a zone is added.
fn has_no_zone(text: &str) -> bool {
    let with_zone = format!("{text}Z");
    DateTime::parse_from_rfc3339(&with_zone).is_ok()
        || DateTime::parse_from_str(&with_zone, "%Y-%m-%dT%H:%M%#z").is_ok()
        || chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    fn field_of(err: Error) -> Option<String> {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => panic!("not invalid input: {other:?}"),
        }
    }

    #[test]
    fn hashes() {
        let good = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
        assert!(validate_hash(good).is_ok());
        for bad in [
            "",
            "nope",
            &good[..63],
            &format!("{good}0"),
            &good.to_uppercase(),
            "../../credits",
            &format!("{}g", &good[..63]),
        ] {
            assert_eq!(
                field_of(validate_hash(bad).unwrap_err()).as_deref(),
                Some("hash")
            );
        }
    }

    #[test]
    fn names_and_limits() {
        assert!(validate_name("prod").is_ok());
        assert!(validate_name(" \t\n").is_err());
        assert!(validate_limit(0.0).is_ok());
        assert!(validate_limit(12.5).is_ok());
        for bad in [-0.01, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                field_of(validate_limit(bad).unwrap_err()).as_deref(),
                Some("limit")
            );
        }
    }

    #[test]
    fn expiry_strings() {
        let expected = Utc.with_ymd_and_hms(2030, 1, 31, 22, 0, 0).unwrap();
        for ok in [
            "2030-01-31T22:00:00Z",
            "2030-01-31T22:00:00+00:00",
            "2030-02-01T00:00:00+02:00",
            " 2030-01-31 22:00:00Z ",
            "2030-01-31T22:00Z",
            "2030-01-31T22:00:00.000Z",
        ] {
            assert_eq!(parse_expiry(ok, now()).unwrap(), expected, "{ok}");
        }
        let zoneless = parse_expiry("2030-01-31T22:00:00", now()).unwrap_err();
        assert!(zoneless.to_string().contains("no time zone"), "{zoneless}");
        let date_only = parse_expiry("2030-01-31", now()).unwrap_err();
        assert!(
            date_only.to_string().contains("no time zone"),
            "{date_only}"
        );
        let garbage = parse_expiry("next tuesday", now()).unwrap_err();
        assert!(garbage.to_string().contains("not a date"), "{garbage}");
        let past = parse_expiry("2026-06-01T11:59:59Z", now()).unwrap_err();
        assert!(past.to_string().contains("in the past"), "{past}");
        assert_eq!(field_of(past).as_deref(), Some("expires_at"));
        assert!(parse_expiry("", now()).is_err());
        // Found by fuzzing: year 10000 was accepted and sent as "+10000-01-01T00:00:00Z", which
        // no RFC 3339 reader (the API's included) takes.
        let far = parse_expiry("+10000-01-01T00:00Z", now()).unwrap_err();
        assert_eq!(field_of(far).as_deref(), Some("expires_at"));
        assert!(parse_expiry("9999-12-31T23:59:59Z", now()).is_ok());
    }

    #[test]
    fn expiry_wire_form_has_seconds_and_z() {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 0).unwrap()
            + chrono::Duration::milliseconds(789);
        assert_eq!(format_expiry(at), "2030-01-02T03:04:00Z");
    }
}
