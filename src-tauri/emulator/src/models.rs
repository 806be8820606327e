//! The model catalogue behind `/activity` items, demo usage and simulated traffic.

use sha2::{Digest, Sha256};

/// (model, permaslug, provider) of models the demo data and the traffic simulator use.
pub const CATALOG: &[(&str, &str, &str)] = &[
    ("openai/gpt-4.1", "openai/gpt-4.1-2025-04-14", "OpenAI"),
    (
        "openai/gpt-4.1-mini",
        "openai/gpt-4.1-mini-2025-04-14",
        "OpenAI",
    ),
    ("openai/o3", "openai/o3-2025-04-16", "OpenAI"),
    (
        "anthropic/claude-sonnet-4",
        "anthropic/claude-4-sonnet-20250522",
        "Anthropic",
    ),
    (
        "anthropic/claude-3.5-haiku",
        "anthropic/claude-3-5-haiku",
        "Anthropic",
    ),
    ("google/gemini-2.5-pro", "google/gemini-2.5-pro", "Google"),
    (
        "google/gemini-2.5-flash",
        "google/gemini-2.5-flash",
        "Google AI Studio",
    ),
    (
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "DeepInfra",
    ),
    ("deepseek/deepseek-r1", "deepseek/deepseek-r1", "DeepSeek"),
    (
        "mistralai/mistral-small-3.2-24b-instruct:free",
        "mistralai/mistral-small-3.2-24b-instruct-2506",
        "Chutes",
    ),
];

/// The permaslug, endpoint id and provider name `/activity` reports for `model`. Models outside the
/// catalogue (recorded through the usage control) get derived, stable values.
pub fn describe(model: &str) -> (String, String, String) {
    let endpoint_id = endpoint_id(model);
    if let Some((_, permaslug, provider)) = CATALOG.iter().find(|(name, _, _)| *name == model) {
        return ((*permaslug).to_owned(), endpoint_id, (*provider).to_owned());
    }
    let vendor = model.split('/').next().unwrap_or(model);
    let mut provider: String = vendor
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .collect();
    provider.extend(vendor.chars().skip(1));
    if provider.is_empty() {
        provider = "Unknown".to_owned();
    }
    (model.to_owned(), endpoint_id, provider)
}

/// A stable UUID-shaped endpoint id derived from the model name.
fn endpoint_id(model: &str) -> String {
    let digest = Sha256::digest(model.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_models_are_described() {
        let (permaslug, endpoint, provider) = describe("openai/gpt-4.1");
        assert_eq!(permaslug, "openai/gpt-4.1-2025-04-14");
        assert_eq!(provider, "OpenAI");
        assert_eq!(endpoint.len(), 36);
        let (permaslug, endpoint2, provider) = describe("acme/widget-1");
        assert_eq!(permaslug, "acme/widget-1");
        assert_eq!(provider, "Acme");
        assert_ne!(endpoint, endpoint2);
        assert_eq!(describe("acme/widget-1").1, endpoint2);
    }
}
