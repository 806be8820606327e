//! What a client may talk to, and with what: the base URL is `https://` (plain `http://` only to
//! this machine's loopback, for the emulator and the sandbox), and a management or pasted key is
//! shaped like an OpenRouter key. Checked where a profile or a pasted key is accepted (a clear
//! message naming the field) and again where a client is built, so a stored profile from before
//! these rules can't send its key in clear text either.

use std::net::IpAddr;

use secrecy::{ExposeSecret, SecretString};
use url::{Host, Url};

use crate::Error;

/// Every OpenRouter key starts with this (`sk-or-v1-…` today).
pub const KEY_PREFIX: &str = "sk-or-";
/// The characters a key is made of after its prefix (letters, digits, `-`, `_`): what a key must
/// hold to be accepted, and what a command target's output redaction treats as part of a key.
pub fn is_key_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// Longer than any key OpenRouter issues (`sk-or-v1-` + 64 hex digits = 73 characters).
const MAX_KEY_LEN: usize = 256;

/// True for 127.0.0.0/8, ::1 (also as `::ffff:127.x.x.x`) and the name `localhost`.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            IpAddr::V6(*ip).is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// The base URL `text` (trimmed, without a trailing `/`) if Keyward may send a key to it; otherwise
/// why not, as a sentence to follow "Invalid base URL: ".
pub fn check_base_url(text: &str) -> Result<Url, String> {
    let trimmed = text.trim().trim_end_matches('/');
    let example = super::DEFAULT_BASE_URL;
    let parsed = Url::parse(trimmed)
        .map_err(|err| format!("\"{trimmed}\" is not a URL ({err}); e.g. {example}"))?;
    let Some(host) = parsed.host() else {
        return Err(format!(
            "\"{trimmed}\" must be an https:// URL with a host, e.g. {example}"
        ));
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not contain credentials; the management key is kept in the keychain".to_owned(),
        );
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&host) => Ok(parsed),
        "http" => Err(format!(
            "\"{trimmed}\" uses plain http://, which would send the key unencrypted; use https:// \
             (http:// is allowed only to this machine: 127.0.0.1, ::1 or localhost)"
        )),
        _ => Err(format!(
            "\"{trimmed}\" must be an https:// URL such as {example}"
        )),
    }
}

/// `key` without surrounding blanks and a pasted `Bearer ` prefix (what the client sends).
pub fn bare_key(key: &str) -> &str {
    let key = key.trim();
    key.strip_prefix("Bearer ").unwrap_or(key).trim_start()
}

/// Refuses a key that can't be an OpenRouter key (e.g. `hello world`, a URL, half a key) before it
/// is sent anywhere: it must start with `sk-or-` and hold only letters, digits, `-` and `_`. The
/// message never repeats the key. `field` names the input ("management_key", "secret").
pub fn check_key_shape(field: &str, key: &SecretString) -> Result<(), Error> {
    let key = bare_key(key.expose_secret());
    if key.is_empty() {
        return Err(Error::invalid(field, "is empty: paste the key"));
    }
    let body = key.strip_prefix(KEY_PREFIX).unwrap_or_default();
    let shaped = !body.is_empty() && key.len() <= MAX_KEY_LEN && body.bytes().all(is_key_char);
    if shaped {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "this is not an OpenRouter key: one starts with {KEY_PREFIX} (e.g. sk-or-v1-…) and \
                 has no spaces or other characters; copy the whole key again"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        for good in [
            "https://openrouter.ai/api/v1",
            "https://example.test:8443/api/v1/",
            "http://127.0.0.1:8080/api/v1",
            "http://127.9.8.7/api/v1",
            "http://[::1]:9/api/v1",
            "http://[::ffff:127.0.0.1]:9/api/v1",
            "http://localhost:3000/api/v1",
            "http://LOCALHOST/api/v1",
        ] {
            assert!(check_base_url(good).is_ok(), "{good}");
        }
        assert_eq!(
            check_base_url(" https://openrouter.ai/api/v1/ ")
                .unwrap()
                .as_str(),
            "https://openrouter.ai/api/v1"
        );
        for bad in [
            "http://openrouter.ai/api/v1",
            "http://10.0.0.1/api/v1",
            "http://192.168.1.5:8080/api/v1",
            "http://[::2]/api/v1",
            "http://localhost.evil.test/api/v1",
            "http://127.0.0.1.nip.io/api/v1",
            "ftp://openrouter.ai/api/v1",
            "https://user:pw@openrouter.ai/api/v1",
            "openrouter.ai",
            "",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
        let why = check_base_url("http://openrouter.ai/api/v1").unwrap_err();
        assert!(why.contains("https://"), "{why}");
    }

    #[test]
    fn key_shape() {
        for good in [
            "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",
            "  Bearer sk-or-v1-local-management-key\n",
            "sk-or-mgmt-good",
            "sk-or-v1-x",
        ] {
            assert!(
                check_key_shape("management_key", &SecretString::from(good)).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "hello world",
            "",
            "   ",
            "sk-or-",
            "sk-or-v1-abc def",
            "sk-or-v1-abc\u{e9}",
            "https://openrouter.ai",
            "sk-proj-abcdefgh1234",
        ] {
            let err = check_key_shape("management_key", &SecretString::from(bad)).unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{bad}");
            if bad.trim().len() > KEY_PREFIX.len() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
        let long = format!("sk-or-v1-{}", "a".repeat(300));
        assert!(check_key_shape("k", &SecretString::from(long)).is_err());
    }
}
