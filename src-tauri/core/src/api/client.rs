//! `OpenRouterClient`: one method per endpoint of the keys API, each validating its input, sending
//! with timeouts and the retry policy, and turning every failure into a `keyward_core::Error`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::created::parse_created;
use super::endpoint::{bare_key, check_base_url};
use super::models::{
    ActivityItem, ApiKey, Credits, CurrentKey, DataEnvelope, DeleteResponse, NewKey,
};
use super::requests::{ActivityQuery, CreateKeyRequest, ListKeysQuery, UpdateKeyRequest};
use super::retry::{Failure, Plan, Replay, RetryPolicy, plan, server_hint};
use super::validation::validate_hash;
use crate::Error;

#[doc(hidden)]
pub mod fuzzing;
mod guardrails;
mod pages;
mod response;
mod workspaces;

pub use guardrails::MODELS_TTL;
pub use response::MAX_RESPONSE_BYTES;
pub(crate) use response::encode;
use response::{
    Body, MAX_ERROR_BYTES, decode, error_chain, error_for_status, note_possible_creation,
    read_body, redirect_error, too_large,
};

/// OpenRouter's production API; every path of the reference is relative to it.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";

/// The current time, injectable so validation ("expiry in the past") is testable.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Everything an `OpenRouterClient` needs. Build with `ClientConfig::new`, then adjust fields.
pub struct ClientConfig {
    /// e.g. `https://openrouter.ai/api/v1` or an emulator's `http://127.0.0.1:PORT/api/v1`; a trailing
    /// `/` is ignored. Plain `http://` only to loopback (`endpoint::check_base_url`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer …`. Empty = no Authorization header at all. A pasted
    /// `Bearer ` prefix and surrounding blanks are removed.
    pub api_key: SecretString,
    /// Limit for one attempt, connecting and reading the whole answer included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Pages `list_all` requests at once.
    pub list_concurrency: usize,
    /// Longest 2xx body read (default `MAX_RESPONSE_BYTES`); a longer one fails with `Decode`.
    pub max_response_bytes: usize,
    pub user_agent: String,
    pub clock: Clock,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, api_key: SecretString) -> ClientConfig {
        ClientConfig {
            base_url: base_url.into(),
            api_key,
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            list_concurrency: 8,
            max_response_bytes: MAX_RESPONSE_BYTES,
            user_agent: format!("keyward/{}", env!("CARGO_PKG_VERSION")),
            clock: Arc::new(Utc::now),
        }
    }

    /// The production API with `api_key`.
    pub fn openrouter(api_key: SecretString) -> ClientConfig {
        ClientConfig::new(DEFAULT_BASE_URL, api_key)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &"[REDACTED]")
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("list_concurrency", &self.list_concurrency)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// A client for OpenRouter's key-management API. Cheap to clone (shared connection pool).
#[derive(Clone)]
pub struct OpenRouterClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    /// `base_url` parsed, to resolve a redirect's target for its error message.
    parsed_base: url::Url,
    /// `host[:port]`, for error messages.
    host: String,
    api_key: Option<SecretString>,
    request_timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    list_concurrency: usize,
    max_response_bytes: usize,
    clock: Clock,
    models_cache: guardrails::ModelCache,
}

impl fmt::Debug for OpenRouterClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenRouterClient")
            .field("base_url", &self.inner.base_url)
            .field("authenticated", &self.inner.api_key.is_some())
            .finish_non_exhaustive()
    }
}

/// One logical API call: what is sent, and whether sending it twice is harmless.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) replay: Replay,
}

/// A call that failed, with whether any attempt may have reached the server before the last one
/// (what `delete_key` needs to read a 404 on a retry as success).
struct CallError {
    error: Error,
    earlier_attempt_may_have_landed: bool,
    /// The last attempt timed out, lost its connection or got a 5xx: its effect is unknown.
    last_attempt_may_have_landed: bool,
}

impl From<CallError> for Error {
    fn from(failed: CallError) -> Error {
        failed.error
    }
}

impl OpenRouterClient {
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let base_url = config.base_url.trim().trim_end_matches('/').to_owned();
        // Enforced here too, not only where a profile is saved: no client ever sends a key over
        // plain http to another machine.
        let parsed = check_base_url(&base_url).map_err(|why| Error::invalid("base_url", why))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => base_url.clone(),
        };

        let key_text = bare_key(config.api_key.expose_secret());
        let api_key = if key_text.is_empty() {
            None
        } else {
            // Checked once here so a key with a line break fails now, clearly, not on every call.
            if HeaderValue::from_str(&format!("Bearer {key_text}")).is_err() {
                return Err(Error::invalid(
                    "api_key",
                    "contains characters that can't be sent (a line break or non-ASCII); paste \
                     the key again",
                ));
            }
            Some(SecretString::from(key_text))
        };

        let connect_timeout = config.connect_timeout.min(config.request_timeout);
        let mut default_headers = HeaderMap::new();
        default_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(config.user_agent.clone())
            .default_headers(default_headers)
            .timeout(config.request_timeout)
            .connect_timeout(connect_timeout)
            // A redirect is answered as an error (`response::redirect_error`), never followed:
            // following it would send the key to whatever address the answer names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| Error::Network {
                host: host.clone(),
                message: format!("could not set up the HTTP client: {}", error_chain(&err)),
                source: Some(err.into()),
            })?;

        Ok(OpenRouterClient {
            inner: Arc::new(Inner {
                http,
                base_url,
                parsed_base: parsed,
                host,
                api_key,
                request_timeout: config.request_timeout,
                connect_timeout,
                retry: config.retry,
                list_concurrency: config.list_concurrency.max(1),
                max_response_bytes: config.max_response_bytes,
                clock: config.clock,
                models_cache: guardrails::ModelCache::default(),
            }),
        })
    }

    /// The base URL in use, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub(crate) fn list_concurrency(&self) -> usize {
        self.inner.list_concurrency
    }

    fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }

    /// One page (up to 100 keys, newest first) of `GET /keys` from `offset`.
    pub async fn list_page(
        &self,
        query: &ListKeysQuery,
        offset: u64,
    ) -> Result<Vec<ApiKey>, Error> {
        query.validate()?;
        self.fetch_page(query, offset).await
    }

    /// `list_page` without re-validating, for the pager.
    pub(crate) async fn fetch_page(
        &self,
        query: &ListKeysQuery,
        offset: u64,
    ) -> Result<Vec<ApiKey>, Error> {
        let call = Call::get("/keys", query.pairs(offset));
        let envelope: DataEnvelope<Vec<ApiKey>> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `POST /keys`. The answer's plaintext key is only ever held as a `SecretString`.
    ///
    /// Not retried once the request may have reached the server (a second copy would create a
    /// second key). If this fails with `Server`, `Timeout` or `Network`, the key may exist anyway:
    /// refresh the list before trying again.
    pub async fn create_key(&self, request: &CreateKeyRequest) -> Result<NewKey, Error> {
        request.validate(self.now())?;
        let body = serde_json::to_vec(request).map_err(|err| Error::Decode {
            message: format!("could not encode the request: {err}"),
            source: Some(err.into()),
        })?;
        let call = Call {
            method: Method::POST,
            path: "/keys".to_owned(),
            query: Vec::new(),
            body: Some(body),
            replay: Replay::CreatesSomething,
        };
        let bytes = self.execute(&call).await.map_err(|failed| {
            // `Decode` here is a 2xx answer too large to read: the key was created.
            if failed.last_attempt_may_have_landed
                || failed.earlier_attempt_may_have_landed
                || matches!(failed.error, Error::Decode { .. })
            {
                note_possible_creation(failed.error)
            } else {
                failed.error
            }
        })?;
        // Secret and hash first, the rest leniently: an odd body must not lose the only copy of
        // the secret (the caller stores it in the keychain right away).
        parse_created(&bytes, request).map_err(note_possible_creation)
    }

    /// `GET /keys/{hash}`.
    pub async fn get_key(&self, hash: &str) -> Result<ApiKey, Error> {
        validate_hash(hash)?;
        let call = Call::get(&format!("/keys/{hash}"), Vec::new());
        let envelope: DataEnvelope<ApiKey> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `PATCH /keys/{hash}`. Retried like a GET: every field is an absolute value ("limit = 5", not
    /// "limit + 5"), so applying it twice leaves the same key as applying it once.
    pub async fn update_key(&self, hash: &str, update: &UpdateKeyRequest) -> Result<ApiKey, Error> {
        validate_hash(hash)?;
        update.validate()?;
        let call = Call::with_body(
            Method::PATCH,
            format!("/keys/{hash}"),
            encode(update)?,
            Replay::Idempotent,
        );
        let envelope: DataEnvelope<ApiKey> = self.json(&call).await?;
        Ok(envelope.data)
    }

    /// `DELETE /keys/{hash}`. Retried on 5xx and lost answers (deleting twice deletes once). A 404 on
    /// a retry, after an attempt that may have reached the server, is the first attempt's success
    /// whose answer got lost, so it counts as deleted; a 404 on the first attempt (or after only
    /// 429s / refused connections) is `NotFound`.
    pub async fn delete_key(&self, hash: &str) -> Result<(), Error> {
        validate_hash(hash)?;
        self.delete_resource(format!("/keys/{hash}")).await
    }

    /// `DELETE path`, answered `{"deleted": true}`. A 404 on a retry, after an attempt that may have
    /// reached the server, is that attempt's success whose answer got lost: deleted.
    pub(crate) async fn delete_resource(&self, path: String) -> Result<(), Error> {
        let call = Call::delete(path);
        let bytes = match self.execute(&call).await {
            Ok(bytes) => bytes,
            Err(CallError {
                error: Error::NotFound { .. },
                earlier_attempt_may_have_landed: true,
                ..
            }) => {
                tracing::info!(
                    path = %call.path,
                    "404 on a retried DELETE: the earlier attempt deleted it"
                );
                return Ok(());
            }
            Err(failed) => return Err(failed.error),
        };
        let answer: DeleteResponse = decode(&call, &bytes)?;
        if answer.deleted {
            Ok(())
        } else {
            Err(Error::Decode {
                message: format!("{} answered \"deleted\": false", call.describe()),
                source: None,
            })
        }
    }

    /// `GET /key`: metadata of the client's own key. Works with any valid key, so it also checks a
    /// pasted inference key (build a client with it) and tells management keys apart
    /// (`CurrentKey::can_manage_keys`).
    pub async fn current_key(&self) -> Result<CurrentKey, Error> {
        let envelope: DataEnvelope<CurrentKey> = self.json(&Call::get("/key", Vec::new())).await?;
        Ok(envelope.data)
    }

    /// `GET /credits` (management key).
    pub async fn credits(&self) -> Result<Credits, Error> {
        let envelope: DataEnvelope<Credits> = self.json(&Call::get("/credits", Vec::new())).await?;
        Ok(envelope.data)
    }

    /// `GET /activity` (management key): per-day, per-model spend of the last 30 completed UTC days.
    pub async fn activity(&self, query: &ActivityQuery) -> Result<Vec<ActivityItem>, Error> {
        query.validate()?;
        let envelope: DataEnvelope<Vec<ActivityItem>> =
            self.json(&Call::get("/activity", query.pairs())).await?;
        Ok(envelope.data)
    }

    pub(crate) async fn json<T: DeserializeOwned>(&self, call: &Call) -> Result<T, Error> {
        let bytes = self.execute(call).await?;
        decode(call, &bytes)
    }

    /// Sends `call` until it succeeds or the retry policy gives up; returns the 2xx body.
    async fn execute(&self, call: &Call) -> Result<Vec<u8>, CallError> {
        let span = tracing::debug_span!("openrouter", method = %call.method, path = %call.path);
        async {
            let started = Instant::now();
            let mut attempt: u32 = 0;
            let mut earlier_attempt_may_have_landed = false;
            loop {
                attempt += 1;
                let (error, failure) = match self.attempt(call, attempt).await {
                    Attempt::Success(bytes) => return Ok(bytes),
                    Attempt::Failed { error, failure } => (error, failure),
                };
                let Some(failure) = failure else {
                    return Err(CallError {
                        error,
                        earlier_attempt_may_have_landed,
                        last_attempt_may_have_landed: false,
                    });
                };
                let may_have_landed = matches!(failure, Failure::Server { .. } | Failure::NoAnswer);
                let elapsed = started.elapsed();
                match plan(
                    &self.inner.retry,
                    call.replay,
                    failure,
                    attempt,
                    elapsed,
                    rand::random::<f64>(),
                ) {
                    Plan::RetryAfter(wait) => {
                        tracing::info!(
                            attempt,
                            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            kind = %error.kind(),
                            "retrying OpenRouter request"
                        );
                        earlier_attempt_may_have_landed |= may_have_landed;
                        tokio::time::sleep(wait).await;
                    }
                    Plan::GiveUp { wait } => {
                        tracing::debug!(attempt, kind = %error.kind(), "giving up");
                        let error = match error {
                            Error::RateLimited { message, .. } => Error::RateLimited {
                                retry_after: wait,
                                message,
                            },
                            other => other,
                        };
                        return Err(CallError {
                            error,
                            earlier_attempt_may_have_landed,
                            last_attempt_may_have_landed: may_have_landed,
                        });
                    }
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn attempt(&self, call: &Call, attempt: u32) -> Attempt {
        let url = match self.url(call) {
            Ok(url) => url,
            Err(error) => {
                return Attempt::Failed {
                    error,
                    failure: None,
                };
            }
        };
        let mut request = self
            .inner
            .http
            .request(call.method.clone(), url)
            .timeout(self.inner.request_timeout);
        if let Some(key) = &self.inner.api_key {
            // reqwest marks this header sensitive, so it never shows in its Debug output either.
            request = request.bearer_auth(key.expose_secret());
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let sent_at = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return self.transport_failure(err, attempt),
        };
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_redirection() {
            let location = response::location(&headers);
            return Attempt::Failed {
                error: redirect_error(status, location.as_deref(), &self.inner.parsed_base),
                failure: None,
            };
        }
        let (cap, truncate) = if status.is_success() {
            (self.inner.max_response_bytes, false)
        } else {
            (MAX_ERROR_BYTES, true)
        };
        let bytes = match read_body(response, cap, truncate).await {
            Ok(Body::Complete(bytes)) => bytes,
            Ok(Body::TooLarge) => {
                tracing::warn!(attempt, cap, "OpenRouter's answer is larger than the cap");
                return Attempt::Failed {
                    error: too_large(&call.describe(), cap),
                    failure: None,
                };
            }
            Err(err) => return self.transport_failure(err, attempt),
        };
        tracing::debug!(
            attempt,
            status = status.as_u16(),
            elapsed_ms = u64::try_from(sent_at.elapsed().as_millis()).unwrap_or(u64::MAX),
            "OpenRouter answered"
        );
        if status.is_success() {
            return Attempt::Success(bytes);
        }
        let hint = server_hint(&headers, SystemTime::now());
        let error = error_for_status(status, &bytes, hint);
        let failure = if status == StatusCode::TOO_MANY_REQUESTS {
            Some(Failure::RateLimited { hint })
        } else if status.is_server_error() {
            Some(Failure::Server { hint })
        } else {
            None
        };
        Attempt::Failed { error, failure }
    }

    fn transport_failure(&self, err: reqwest::Error, attempt: u32) -> Attempt {
        let host = self.inner.host.clone();
        // A connect error means no byte of the request left this machine; anything later (timeout
        // while waiting, connection dropped) may have reached the server.
        let failure = if err.is_connect() {
            Failure::ConnectFailed
        } else {
            Failure::NoAnswer
        };
        let error = if err.is_timeout() {
            Error::Timeout {
                host,
                after: if err.is_connect() {
                    self.inner.connect_timeout
                } else {
                    self.inner.request_timeout
                },
                note: String::new(),
                source: None,
            }
        } else {
            Error::Network {
                host,
                message: error_chain(&err),
                source: None,
            }
        };
        tracing::debug!(
            attempt,
            kind = %error.kind(),
            connect = err.is_connect(),
            "no answer from OpenRouter"
        );
        let error = error.with_source(err);
        Attempt::Failed {
            error,
            failure: Some(failure),
        }
    }

    fn url(&self, call: &Call) -> Result<url::Url, Error> {
        let mut url = url::Url::parse(&format!("{}{}", self.inner.base_url, call.path))
            .map_err(|err| Error::invalid("base_url", err.to_string()))?;
        if !call.query.is_empty() {
            url.query_pairs_mut().extend_pairs(call.query.iter());
        }
        Ok(url)
    }
}

enum Attempt {
    Success(Vec<u8>),
    /// `failure` is `None` when retrying can't help (4xx other than 429).
    Failed {
        error: Error,
        failure: Option<Failure>,
    },
}

impl Call {
    pub(crate) fn get(path: &str, query: Vec<(&'static str, String)>) -> Call {
        Call {
            method: Method::GET,
            path: path.to_owned(),
            query,
            body: None,
            replay: Replay::Idempotent,
        }
    }

    /// A `DELETE` of `path` (retried: deleting twice leaves what deleting once does).
    pub(crate) fn delete(path: String) -> Call {
        Call {
            method: Method::DELETE,
            path,
            query: Vec::new(),
            body: None,
            replay: Replay::Idempotent,
        }
    }

    /// A call with a JSON body and no query.
    pub(crate) fn with_body(method: Method, path: String, body: Vec<u8>, replay: Replay) -> Call {
        Call {
            method,
            path,
            query: Vec::new(),
            body: Some(body),
            replay,
        }
    }

    fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_the_key() {
        let config = ClientConfig::new(
            "http://127.0.0.1:1/api/v1/",
            SecretString::from("sk-or-v1-very-secret"),
        );
        let debug = format!("{config:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        let client = OpenRouterClient::new(config).unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:1/api/v1");
        assert!(!format!("{client:?}").contains("very-secret"));
    }

    #[test]
    fn bad_configs_are_refused() {
        for url in [
            "",
            "openrouter.ai",
            "ftp://x/api",
            "http://",
            "http://openrouter.ai/api/v1",
            "http://192.168.0.10:8080/api/v1",
        ] {
            let err =
                OpenRouterClient::new(ClientConfig::new(url, SecretString::from("k"))).unwrap_err();
            assert_eq!(err.kind(), "invalid_input", "{url}");
        }
        let err = OpenRouterClient::new(ClientConfig::new(
            DEFAULT_BASE_URL,
            SecretString::from("sk-or\nv1"),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("api_key"));
    }
}
