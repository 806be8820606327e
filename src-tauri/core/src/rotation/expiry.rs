//! The new key's expiry: resolving a [`NewExpiry`] rule to a date at the moment the key is created,
//! and the checks an expiry for one rotation ("extend expiry") passes before anything is sent.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::NewExpiry;
use crate::Error;
use crate::api::format_expiry;

/// The longest life Keyward gives a new key (10 years). The API documents no maximum; an unbounded
/// one would let a typo (`--expires 36500`) create a key that outlives every review, and dates past
/// year 9999 do not fit the wire format.
pub const MAX_EXPIRY_DAYS: u32 = 3_650;

/// The new key's `expires_at` when it is created at `now`. `keep_lifetime` gives it the old key's
/// whole lifetime from now (not the old expiry itself: a key rotated before it expires would
/// otherwise expire at the same moment and be due again at once); an old key that never expires
/// gives a new one that never does.
pub fn new_expires_at(
    expiry: NewExpiry,
    old_created_at: Option<DateTime<Utc>>,
    old_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match expiry {
        NewExpiry::Never => None,
        NewExpiry::Days(days) => now.checked_add_signed(Duration::days(i64::from(days))),
        NewExpiry::At(at) => Some(at),
        NewExpiry::KeepLifetime => match (old_created_at, old_expires_at) {
            (Some(created), Some(expires)) if expires > created => {
                now.checked_add_signed(expires - created)
            }
            (_, Some(expires)) if expires > now => Some(expires),
            _ => None,
        },
    }
}

/// Refuses (field `new_expiry`) an expiry that is in the past, zero days, or beyond
/// [`MAX_EXPIRY_DAYS`] from `now`.
pub fn validate_new_expiry(expiry: NewExpiry, now: DateTime<Utc>) -> Result<(), Error> {
    let max = now + Duration::days(i64::from(MAX_EXPIRY_DAYS));
    match expiry {
        NewExpiry::KeepLifetime | NewExpiry::Never => Ok(()),
        NewExpiry::Days(0) => Err(Error::invalid("new_expiry", "must be at least 1 day")),
        NewExpiry::Days(days) if days > MAX_EXPIRY_DAYS => Err(Error::invalid(
            "new_expiry",
            format!(
                "{days} days is more than the longest life Keyward gives a key ({MAX_EXPIRY_DAYS} days)"
            ),
        )),
        NewExpiry::Days(_) => Ok(()),
        NewExpiry::At(at) if at <= now => Err(Error::invalid(
            "new_expiry",
            format!(
                "{} is in the past (now is {})",
                format_expiry(at),
                format_expiry(now)
            ),
        )),
        NewExpiry::At(at) if at > max => Err(Error::invalid(
            "new_expiry",
            format!(
                "{} is more than {MAX_EXPIRY_DAYS} days away (the latest is {})",
                format_expiry(at),
                format_expiry(max)
            ),
        )),
        NewExpiry::At(_) => Ok(()),
    }
}

/// Reads an expiry typed by a person (the CLI's `--expires`): a number of days (`90`), a date
/// (`2027-01-31`, midnight UTC), a date and time with a zone (`2027-01-31T12:00:00Z`), `never`
/// or `keep` (the old key's lifetime). Whether it is in the future and not too far is checked when
/// the rotation is planned or started (against that moment).
pub fn parse_new_expiry(input: &str) -> Result<NewExpiry, Error> {
    let text = input.trim();
    match text {
        "" => return Err(Error::invalid("new_expiry", "is empty")),
        "never" | "none" => return Ok(NewExpiry::Never),
        "keep" | "keep_lifetime" => return Ok(NewExpiry::KeepLifetime),
        _ => {}
    }
    if let Ok(days) = text.parse::<u32>() {
        return Ok(NewExpiry::Days(days));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(NewExpiry::At(
            date.and_time(chrono::NaiveTime::MIN).and_utc(),
        ));
    }
    DateTime::parse_from_rfc3339(&text.replacen(' ', "T", 1))
        .map(|at| NewExpiry::At(at.with_timezone(&Utc)))
        .map_err(|_| {
            Error::invalid(
                "new_expiry",
                format!(
                    "\"{text}\" is not a number of days (90), a date (2027-01-31), a date and time \
                     with a zone (2027-01-31T12:00:00Z), never or keep"
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn resolves_each_rule() {
        let now = at("2026-06-01T00:00:00Z");
        let created = Some(at("2026-01-01T00:00:00Z"));
        let expires = Some(at("2026-03-02T00:00:00Z"));
        assert_eq!(
            new_expires_at(NewExpiry::KeepLifetime, created, expires, now),
            Some(at("2026-07-31T00:00:00Z"))
        );
        assert_eq!(
            new_expires_at(NewExpiry::KeepLifetime, created, None, now),
            None
        );
        assert_eq!(
            new_expires_at(NewExpiry::Never, created, expires, now),
            None
        );
        assert_eq!(
            new_expires_at(NewExpiry::Days(10), created, expires, now),
            Some(at("2026-06-11T00:00:00Z"))
        );
        let fixed = at("2027-01-01T12:00:00Z");
        assert_eq!(
            new_expires_at(NewExpiry::At(fixed), created, expires, now),
            Some(fixed)
        );
    }

    #[test]
    fn parses_what_a_person_types() {
        assert_eq!(parse_new_expiry(" 90 ").unwrap(), NewExpiry::Days(90));
        assert_eq!(
            parse_new_expiry("2027-01-31").unwrap(),
            NewExpiry::At(at("2027-01-31T00:00:00Z"))
        );
        assert_eq!(
            parse_new_expiry("2027-01-31T12:00:00+02:00").unwrap(),
            NewExpiry::At(at("2027-01-31T10:00:00Z"))
        );
        assert_eq!(parse_new_expiry("never").unwrap(), NewExpiry::Never);
        assert_eq!(parse_new_expiry("keep").unwrap(), NewExpiry::KeepLifetime);
        assert!(parse_new_expiry("next week").is_err());
        assert!(parse_new_expiry("-3").is_err());
        assert!(parse_new_expiry("").is_err());
    }

    #[test]
    fn refuses_past_zero_and_too_far() {
        let now = at("2026-06-01T00:00:00Z");
        let field = |result: Result<(), Error>| match result {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(validate_new_expiry(
                NewExpiry::At(at("2026-05-31T00:00:00Z")),
                now
            ))
            .as_deref(),
            Some("new_expiry")
        );
        assert!(validate_new_expiry(NewExpiry::At(now), now).is_err());
        assert!(validate_new_expiry(NewExpiry::Days(0), now).is_err());
        assert!(validate_new_expiry(NewExpiry::Days(MAX_EXPIRY_DAYS + 1), now).is_err());
        assert!(validate_new_expiry(NewExpiry::At(at("2036-06-02T00:00:00Z")), now).is_err());
        validate_new_expiry(NewExpiry::Days(MAX_EXPIRY_DAYS), now).unwrap();
        validate_new_expiry(NewExpiry::At(at("2026-06-01T00:00:01Z")), now).unwrap();
        validate_new_expiry(NewExpiry::KeepLifetime, now).unwrap();
        validate_new_expiry(NewExpiry::Never, now).unwrap();
    }
}
