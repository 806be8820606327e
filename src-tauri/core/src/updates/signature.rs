//! Checks a downloaded artifact against its minisign signature and the public key Keyward was
//! built with — the same check, with the same crate (`minisign-verify`) and encodings, as
//! `tauri-plugin-updater`, which checks it once more before it installs. Both the key and the
//! signature are base64 of minisign's text files (what `tauri signer generate` / `sign` write).
//!
//! The signature must also name the version the manifest announced (`version:X` in its trusted
//! comment, which the Tauri CLI writes when it signs a bundle): the manifest is not signed, so
//! without this a tampered manifest could pair a new version number with an older, genuinely
//! signed artifact (a downgrade).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minisign_verify::{PublicKey, Signature};
use semver::Version;

use crate::Error;

fn base64_text(what: &str, text: &str) -> Result<String, Error> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|err| Error::update(format!("The {what} is not base64 ({err})")))?;
    String::from_utf8(bytes).map_err(|_| Error::update(format!("The {what} is not text")))
}

/// The public key Keyward checks updates with, or why it is not one.
pub fn decode_public_key(pubkey: &str) -> Result<PublicKey, Error> {
    let text = base64_text("updater public key", pubkey)?;
    PublicKey::decode(&text).map_err(|err| {
        Error::update(format!(
            "The updater public key is not a minisign key ({err})"
        ))
    })
}

/// The version a signature's trusted comment names (`…\tversion:0.2.0\t…`), if any.
fn signed_version(trusted_comment: &str) -> Option<&str> {
    trusted_comment
        .split('\t')
        .find_map(|field| field.strip_prefix("version:"))
}

/// `Ok` only when `signature` is a valid signature of `bytes` by `pubkey` that names `version`.
pub fn verify(
    bytes: &[u8],
    signature: &str,
    pubkey: &PublicKey,
    version: &Version,
) -> Result<(), Error> {
    let text = base64_text("update's signature", signature)?;
    let signature = Signature::decode(&text).map_err(|err| {
        Error::update(format!(
            "The update's signature is not a minisign signature ({err})"
        ))
    })?;
    pubkey.verify(bytes, &signature, true).map_err(|err| {
        Error::update(format!(
            "The downloaded update does not match its signature by Keyward's release key \
             ({err}): it was changed or not made by Keyward's maintainers, so nothing was installed"
        ))
    })?;
    // The trusted comment is covered by the global signature `verify` just checked.
    let Some(signed) = signed_version(signature.trusted_comment()) else {
        return Err(Error::update(
            "The update's signature names no version, so it can't be matched to the version \
             announced; nothing was installed",
        ));
    };
    match Version::parse(signed.trim().trim_start_matches('v')) {
        Ok(signed) if signed == *version => Ok(()),
        _ => Err(Error::update(format!(
            "The update announced as {version} is signed as version {signed}: nothing was installed"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with the pinned Tauri CLI (2.12.5) and a throwaway key pair (not the release key):
    // `tauri signer generate -w k.key -p ""`, `tauri signer sign -f k.key -p "" --app-version 0.2.0`.
    const CLI_PUBKEY: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IG1pbmlzaWduIHB1YmxpYyBrZXk6IEZBQzQ4Q0NDOTM4QTU4NUYKUldSZldJcVR6SXpFK3BaakVaZm5ZRCtVN3pBYmYzaTMzRTBRUVNURFozL0JFM1VGUXdLcitTTVEK";
    const CLI_SIGNATURE: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVSZldJcVR6SXpFK2traFAwanhjK0xkU2Q3Qk1iL1JyM3dubENoRUNxb1dCZWlYVGJqUjRzNFBVbmJKdFo4aTJEWHAvU0JsK0RVbjZDSUt5VVhPM3dVWHltV3BiRkdwT3dnPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2Njg0MDc0CWZpbGU6YXJ0aWZhY3QuYmluCXZlcnNpb246MC4yLjAKMGJpVGx0K0g1cWNrMkt1ZlpVOVQ2YThrZEFOeTVpdURpT00vRjNkQzhnRlFHOERUaGdaT0RSTzg0Y2wwUU9DNFNWZ1VwMUlrWHc2Q2JDMHNuOElTQXc9PQo=";
    const CLI_ARTIFACT: &[u8] = b"keyward fixture\n";

    #[test]
    fn a_signature_made_by_the_tauri_cli_verifies_and_binds_its_version() {
        let key = decode_public_key(CLI_PUBKEY).unwrap();
        let v = |text: &str| Version::parse(text).unwrap();
        verify(CLI_ARTIFACT, CLI_SIGNATURE, &key, &v("0.2.0")).unwrap();
        let other = verify(CLI_ARTIFACT, CLI_SIGNATURE, &key, &v("0.3.0")).unwrap_err();
        assert!(
            other.to_string().contains("signed as version 0.2.0"),
            "{other}"
        );
        let tampered = verify(b"keyward fixture!\n", CLI_SIGNATURE, &key, &v("0.2.0")).unwrap_err();
        assert!(
            tampered.to_string().contains("does not match"),
            "{tampered}"
        );
    }
}
