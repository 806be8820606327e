//! The two requests of an update: the manifest and the artifact, each with a size cap, timeouts,
//! and redirects followed only to `https://` (see the module header of `updates`).

use std::time::Duration;

use url::Url;

use super::UpdateProgress;
use super::manifest::{MAX_MANIFEST_BYTES, Manifest};
use crate::Error;
use crate::api::endpoint::is_loopback;

/// Larger than any Keyward installer by far; a bigger download is refused, not filled into memory.
pub const MAX_ARTIFACT_BYTES: u64 = 512 * 1024 * 1024;

const MAX_REDIRECTS: usize = 5;

/// `Ok` for an `https://` URL; in debug and test builds also for `http://` to this machine. The
/// release build's only rule is `https://` (the branch below is compiled out).
pub fn check_endpoint(url: &Url) -> Result<(), Error> {
    let plain_loopback =
        url.scheme() == "http" && url.host().is_some_and(|host| is_loopback(&host));
    if url.scheme() == "https" || (cfg!(debug_assertions) && plain_loopback) {
        return Ok(());
    }
    Err(Error::update(format!(
        "The update address {url} is not https://: updates are only fetched over https"
    )))
}

pub(super) fn client() -> Result<reqwest::Client, Error> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if check_endpoint(attempt.url()).is_err() {
            attempt.error("redirected away from https")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(15))
        // Between two reads of the body: a stalled download fails instead of hanging.
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION"), " (updater)"))
        .build()
        .map_err(|err| Error::update(format!("Could not start the updater's HTTP client: {err}")))
}

fn request_error(what: &str, url: &Url, err: reqwest::Error) -> Error {
    let host = url.host_str().unwrap_or("the update server");
    Error::update(format!("Could not download {what} from {host}: {err}")).with_source(err)
}

async fn get(client: &reqwest::Client, url: &Url, what: &str) -> Result<reqwest::Response, Error> {
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|err| request_error(what, url, err))?;
    if !response.status().is_success() {
        return Err(Error::update(format!(
            "The update server answered {} for {what} ({url})",
            response.status()
        )));
    }
    Ok(response)
}

/// Reads at most `cap` bytes of `response`'s body, reporting each chunk.
async fn body(
    mut response: reqwest::Response,
    url: &Url,
    what: &str,
    cap: u64,
    mut progress: impl FnMut(UpdateProgress),
) -> Result<Vec<u8>, Error> {
    let total = response.content_length();
    if total.is_some_and(|total| total > cap) {
        return Err(Error::update(format!(
            "The {what} is larger than {} MiB: refused",
            cap / (1024 * 1024)
        )));
    }
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(cap) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| request_error(what, url, err))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > cap {
            return Err(Error::update(format!(
                "The {what} is larger than {} MiB: refused",
                cap / (1024 * 1024)
            )));
        }
        bytes.extend_from_slice(&chunk);
        progress(UpdateProgress {
            downloaded: bytes.len() as u64,
            total,
        });
    }
    Ok(bytes)
}

pub(super) async fn manifest(
    client: &reqwest::Client,
    endpoint: &Url,
) -> Result<(Manifest, serde_json::Value), Error> {
    let what = "the update manifest";
    let response = get(client, endpoint, what).await?;
    let bytes = body(response, endpoint, what, MAX_MANIFEST_BYTES as u64, |_| {}).await?;
    let manifest = Manifest::parse(&bytes)?;
    let raw = serde_json::from_slice(&bytes).map_err(|err| {
        Error::update(format!("The update manifest could not be read: {err}")).with_source(err)
    })?;
    Ok((manifest, raw))
}

pub(super) async fn artifact(
    client: &reqwest::Client,
    url: &Url,
    progress: impl FnMut(UpdateProgress),
) -> Result<Vec<u8>, Error> {
    let what = "the update";
    let response = get(client, url, what).await?;
    body(response, url, what, MAX_ARTIFACT_BYTES, progress).await
}
