//! The answer to `POST /keys`, read in two steps because it holds the only copy of the new secret:
//! first the two things that cannot be done without (`key`, the secret, and `data.hash`, which names
//! it in the keychain), then the rest of `data` leniently. A field of the wrong type or missing is
//! replaced by what the request asked for (name, limit, expiry…) or a neutral default, and logged by
//! name (never by value); unknown fields are ignored. So an odd body still hands the secret to the
//! caller, which stores it in the keychain, instead of failing the whole create.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::models::{ApiKey, NewKey};
use super::requests::CreateKeyRequest;
use super::validation::validate_hash;
use crate::Error;

fn undecodable(message: impl Into<String>) -> Error {
    Error::Decode {
        message: message.into(),
        source: None,
    }
}

/// Parses a 2xx body of `POST /keys` sent for `request`. Fails only when the body is not JSON, has
/// no string `key`, or no valid `data.hash`: then there is no secret to keep or nothing to file it
/// under.
pub(crate) fn parse_created(bytes: &[u8], request: &CreateKeyRequest) -> Result<NewKey, Error> {
    // The body is never quoted in errors or logs: it holds a plaintext key.
    let answer: Value = serde_json::from_slice(bytes).map_err(|err| Error::Decode {
        message: format!("POST /keys sent an answer that is not JSON: {err}"),
        source: Some(err.into()),
    })?;
    let Some(secret) = answer.get("key").and_then(Value::as_str) else {
        return Err(undecodable(
            "POST /keys answered without the new key's secret at \"key\"",
        ));
    };
    let secret = SecretString::from(secret.to_owned());
    let data = answer.get("data").and_then(Value::as_object);
    let Some(hash) = data
        .and_then(|data| data.get("hash"))
        .and_then(Value::as_str)
    else {
        return Err(undecodable(
            "POST /keys answered without the new key's \"data.hash\"",
        ));
    };
    validate_hash(hash)
        .map_err(|_| undecodable("POST /keys answered a \"data.hash\" that is not a key hash"))?;
    let key = match data.map(ApiKey::deserialize_map) {
        Some(Ok(key)) => key,
        _ => lenient_key(data, hash, &masked(secret.expose_secret()), request),
    };
    Ok(NewKey { secret, key })
}

impl ApiKey {
    fn deserialize_map(data: &Map<String, Value>) -> Result<ApiKey, serde_json::Error> {
        serde_json::from_value(Value::Object(data.clone()))
    }
}

/// `data` field by field over what the request says the key is: each field the server sent is kept
/// if it parses, otherwise the request's value (or a neutral default) stays and the field's name is
/// logged.
fn lenient_key(
    data: Option<&Map<String, Value>>,
    hash: &str,
    label: &str,
    request: &CreateKeyRequest,
) -> ApiKey {
    let base = from_request(hash, label, request);
    let Ok(Value::Object(mut current)) = serde_json::to_value(&base) else {
        return base;
    };
    // Every field of the key but `hash`, which was taken (and checked) first.
    let fields: Vec<String> = current.keys().filter(|f| *f != "hash").cloned().collect();
    let mut odd: Vec<&str> = Vec::new();
    let mut missing: Vec<&str> = Vec::new();
    for field in &fields {
        let Some(value) = data.and_then(|data| data.get(field)) else {
            missing.push(field);
            continue;
        };
        let mut candidate = current.clone();
        candidate.insert(field.clone(), value.clone());
        if ApiKey::deserialize_map(&candidate).is_ok() {
            current = candidate;
        } else {
            odd.push(field);
        }
    }
    tracing::warn!(
        hash,
        odd = ?odd,
        missing = ?missing,
        "POST /keys answered fields Keyward can't read; it used the request's values or defaults \
         for them and kept the new secret"
    );
    ApiKey::deserialize_map(&current).unwrap_or(base)
}

/// The masked form OpenRouter shows for a key (reference §3: `sk-or-v1-d35...55d`, the first and
/// last three characters after the prefix); what rotation's verification compares `GET /key` with.
fn masked(secret: &str) -> String {
    let (prefix, body) = match secret.strip_prefix("sk-or-v1-") {
        Some(body) => ("sk-or-v1-", body),
        None => ("", secret),
    };
    let chars: Vec<char> = body.chars().collect();
    if chars.len() < 6 {
        return format!("{prefix}...");
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{prefix}{head}...{tail}")
}

/// What the key is known to be from the request alone.
fn from_request(hash: &str, label: &str, request: &CreateKeyRequest) -> ApiKey {
    ApiKey {
        hash: hash.to_owned(),
        name: request.name.clone(),
        label: label.to_owned(),
        disabled: false,
        limit: request.limit,
        limit_remaining: request.limit,
        limit_reset: request.limit_reset.clone(),
        include_byok_in_limit: request.include_byok_in_limit.unwrap_or(false),
        usage: 0.0,
        usage_daily: 0.0,
        usage_weekly: 0.0,
        usage_monthly: 0.0,
        byok_usage: 0.0,
        byok_usage_daily: 0.0,
        byok_usage_weekly: 0.0,
        byok_usage_monthly: 0.0,
        created_at: None,
        updated_at: None,
        creator_user_id: None,
        external_user: None,
        workspace_id: request.workspace_id.clone(),
        last_used_at: None,
        expires_at: request.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LimitReset;
    use serde_json::json;

    const HASH: &str = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
    const SECRET: &str =
        "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";

    fn example() -> Value {
        json!({
            "key": SECRET,
            "data": {
                "hash": HASH, "name": "My New API Key", "label": "sk-or-v1-d35...55d",
                "disabled": false, "limit": 50.0, "limit_remaining": 50.0, "limit_reset": "monthly",
                "include_byok_in_limit": true, "usage": 0.0, "usage_daily": 0.0,
                "usage_weekly": 0.0, "usage_monthly": 0.0, "byok_usage": 0.0,
                "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0, "byok_usage_monthly": 0.0,
                "created_at": "2025-08-24T10:30:00Z", "updated_at": null,
                "expires_at": "2027-12-31T23:59:59Z", "last_used_at": null,
                "creator_user_id": "user_2dHFtVWx2n56w6HkM0000000000", "external_user": null,
                "workspace_id": "0df9e665-d932-5740-b2c7-b52af166bc11"
            }
        })
    }

    fn request() -> CreateKeyRequest {
        CreateKeyRequest {
            limit: Some(50.0),
            limit_reset: Some(LimitReset::Monthly),
            ..CreateKeyRequest::new("My New API Key")
        }
    }

    fn parse(value: &Value) -> Result<NewKey, Error> {
        parse_created(&serde_json::to_vec(value).unwrap(), &request())
    }

    #[test]
    fn an_odd_field_keeps_the_secret_and_the_rest() {
        let mut body = example();
        body["data"]["usage"] = json!("a lot");
        body["data"]["disabled"] = Value::Null;
        body["data"]["brand_new"] = json!({"x": 1});
        body["data"].as_object_mut().unwrap().remove("label");
        body["extra_top_level"] = json!([1, 2]);
        let created = parse(&body).unwrap();
        assert_eq!(
            created.secret.expose_secret(),
            body["key"].as_str().unwrap()
        );
        assert_eq!(created.key.hash, body["data"]["hash"].as_str().unwrap());
        assert_eq!(created.key.usage, 0.0);
        assert!(!created.key.disabled);
        // The masked form the reference shows for this very key.
        assert_eq!(created.key.label, "sk-or-v1-d35...55d");
        assert_eq!(created.key.name, body["data"]["name"].as_str().unwrap());
        assert_eq!(created.key.limit_reset, Some(LimitReset::Monthly));
        // Fields only the server knows are kept too (not just the request's values).
        assert_eq!(
            created.key.creator_user_id.as_deref(),
            body["data"]["creator_user_id"].as_str()
        );
        assert!(created.key.created_at.is_some());
        assert!(created.key.include_byok_in_limit);
    }

    #[test]
    fn the_requests_expiry_and_reset_stand_in_for_odd_ones() {
        let expiry = "2027-12-31T23:59:59Z".parse().unwrap();
        let request = CreateKeyRequest {
            expires_at: Some(expiry),
            ..request()
        };
        let body =
            json!({"key": SECRET, "data": {"hash": HASH, "expires_at": 5, "limit_reset": []}});
        let created = parse_created(&serde_json::to_vec(&body).unwrap(), &request).unwrap();
        assert_eq!(created.key.expires_at, Some(expiry));
        assert_eq!(created.key.limit_reset, Some(LimitReset::Monthly));
        assert_eq!(created.key.label, "sk-or-v1-d35...55d");
    }

    #[test]
    fn a_garbled_data_object_falls_back_to_the_request() {
        let body = json!({"key": SECRET, "data": {"hash": HASH, "name": 7, "expires_at": "soon"}});
        let created = parse(&body).unwrap();
        assert_eq!(created.key.name, "My New API Key");
        assert_eq!(created.key.limit, Some(50.0));
        assert_eq!(created.key.expires_at, None);
    }

    #[test]
    fn without_secret_or_hash_it_is_an_error_that_quotes_nothing() {
        for body in [
            json!({"data": {"hash": HASH}}),
            json!({"key": 5, "data": {"hash": HASH}}),
            json!({"key": SECRET, "data": {"name": "x"}}),
            json!({"key": SECRET, "data": {"hash": "../credits"}}),
            json!({"key": SECRET}),
        ] {
            let err = parse(&body).unwrap_err();
            assert_eq!(err.kind(), "decode", "{body}");
            assert!(!err.to_string().contains(SECRET), "{err}");
        }
        let err = parse_created(b"{\"key\": \"sk-or-v1-abc", &request()).unwrap_err();
        assert!(!err.to_string().contains("sk-or-v1-abc"), "{err}");
    }
}
