//! The model catalogue behind `/activity` items, demo usage and simulated traffic, and the richer
//! entries `GET /models` serves and guardrails resolve model slugs against (`MODELS`).

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

/// One model of `GET /models`: the fields Keyward and the SDKs' `models.list` read. Prices are USD per
/// token (per request for `request`), as strings like the real API's.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    pub id: &'static str,
    /// The immutable identifier guardrails store (`allowed_models` answers with these).
    pub canonical_slug: &'static str,
    pub name: &'static str,
    /// Unix seconds.
    pub created: i64,
    pub context_length: u32,
    pub max_completion_tokens: u32,
    pub prompt: &'static str,
    pub completion: &'static str,
    /// The provider slug guardrails' `allowed_providers` / `ignored_providers` name.
    pub provider: &'static str,
    pub tokenizer: &'static str,
    pub input_modalities: &'static [&'static str],
    pub description: &'static str,
}

const TEXT: &[&str] = &["text"];
const TEXT_IMAGE: &[&str] = &["text", "image"];
const TEXT_IMAGE_FILE: &[&str] = &["text", "image", "file"];

macro_rules! model {
    ($id:expr, $slug:expr, $name:expr, $created:expr, $ctx:expr, $max:expr, $prompt:expr,
     $completion:expr, $provider:expr, $tokenizer:expr, $inputs:expr, $description:expr) => {
        ModelInfo {
            id: $id,
            canonical_slug: $slug,
            name: $name,
            created: $created,
            context_length: $ctx,
            max_completion_tokens: $max,
            prompt: $prompt,
            completion: $completion,
            provider: $provider,
            tokenizer: $tokenizer,
            input_modalities: $inputs,
            description: $description,
        }
    };
}

/// What `GET /models` serves (newest first, sorted there). Holds every `CATALOG` model (a test checks it).
pub const MODELS: &[ModelInfo] = &[
    model!(
        "openai/gpt-5",
        "openai/gpt-5-2025-08-07",
        "OpenAI: GPT-5",
        1_754_587_413,
        400_000,
        128_000,
        "0.00000125",
        "0.00001",
        "openai",
        "GPT",
        TEXT_IMAGE_FILE,
        "GPT-5 is OpenAI's most advanced model, with major improvements in reasoning and code quality."
    ),
    model!(
        "openai/gpt-5-mini",
        "openai/gpt-5-mini-2025-08-07",
        "OpenAI: GPT-5 Mini",
        1_754_587_407,
        400_000,
        128_000,
        "0.00000025",
        "0.000002",
        "openai",
        "GPT",
        TEXT_IMAGE_FILE,
        "GPT-5 Mini is a compact version of GPT-5 for lighter-weight reasoning tasks."
    ),
    model!(
        "google/gemini-2.5-flash",
        "google/gemini-2.5-flash",
        "Google: Gemini 2.5 Flash",
        1_750_172_488,
        1_048_576,
        65_535,
        "0.0000003",
        "0.0000025",
        "google-ai-studio",
        "Gemini",
        TEXT_IMAGE_FILE,
        "Gemini 2.5 Flash is Google's workhorse model for reasoning, coding and mathematics."
    ),
    model!(
        "google/gemini-2.5-pro",
        "google/gemini-2.5-pro",
        "Google: Gemini 2.5 Pro",
        1_750_169_544,
        1_048_576,
        65_536,
        "0.00000125",
        "0.00001",
        "google-vertex",
        "Gemini",
        TEXT_IMAGE_FILE,
        "Gemini 2.5 Pro is Google's state-of-the-art model for advanced reasoning and coding."
    ),
    model!(
        "mistralai/mistral-small-3.2-24b-instruct:free",
        "mistralai/mistral-small-3.2-24b-instruct-2506",
        "Mistral: Mistral Small 3.2 24B (free)",
        1_750_443_016,
        131_072,
        131_072,
        "0",
        "0",
        "chutes",
        "Mistral",
        TEXT_IMAGE,
        "Mistral Small 3.2 is an updated 24B model tuned for instruction following."
    ),
    model!(
        "anthropic/claude-sonnet-4",
        "anthropic/claude-4-sonnet-20250522",
        "Anthropic: Claude Sonnet 4",
        1_747_930_371,
        200_000,
        64_000,
        "0.000003",
        "0.000015",
        "anthropic",
        "Claude",
        TEXT_IMAGE_FILE,
        "Claude Sonnet 4 balances capability and speed for coding and reasoning."
    ),
    model!(
        "anthropic/claude-opus-4",
        "anthropic/claude-4-opus-20250522",
        "Anthropic: Claude Opus 4",
        1_747_931_245,
        200_000,
        32_000,
        "0.000015",
        "0.000075",
        "anthropic",
        "Claude",
        TEXT_IMAGE_FILE,
        "Claude Opus 4 is Anthropic's most capable model for complex, long-running tasks."
    ),
    model!(
        "deepseek/deepseek-r1-0528:free",
        "deepseek/deepseek-r1-0528",
        "DeepSeek: R1 0528 (free)",
        1_748_455_170,
        163_840,
        163_840,
        "0",
        "0",
        "chutes",
        "DeepSeek",
        TEXT,
        "An update of DeepSeek R1 with open reasoning tokens, free to use."
    ),
    model!(
        "openai/o3",
        "openai/o3-2025-04-16",
        "OpenAI: o3",
        1_744_823_457,
        200_000,
        100_000,
        "0.000002",
        "0.000008",
        "openai",
        "GPT",
        TEXT_IMAGE_FILE,
        "o3 is a reasoning model for math, science, coding and visual reasoning."
    ),
    model!(
        "openai/gpt-4.1",
        "openai/gpt-4.1-2025-04-14",
        "OpenAI: GPT-4.1",
        1_744_651_385,
        1_047_576,
        32_768,
        "0.000002",
        "0.000008",
        "openai",
        "GPT",
        TEXT_IMAGE_FILE,
        "GPT-4.1 is a flagship model for advanced instruction following and long-context reasoning."
    ),
    model!(
        "openai/gpt-4.1-mini",
        "openai/gpt-4.1-mini-2025-04-14",
        "OpenAI: GPT-4.1 Mini",
        1_744_651_381,
        1_047_576,
        32_768,
        "0.0000004",
        "0.0000016",
        "openai",
        "GPT",
        TEXT_IMAGE_FILE,
        "GPT-4.1 Mini is a mid-sized model with competitive performance at lower latency and cost."
    ),
    model!(
        "meta-llama/llama-4-maverick",
        "meta-llama/llama-4-maverick-17b-128e-instruct",
        "Meta: Llama 4 Maverick",
        1_743_881_822,
        1_048_576,
        16_384,
        "0.00000015",
        "0.0000006",
        "deepinfra",
        "Llama4",
        TEXT_IMAGE,
        "Llama 4 Maverick is a mixture-of-experts multimodal model from Meta."
    ),
    model!(
        "deepseek/deepseek-r1",
        "deepseek/deepseek-r1",
        "DeepSeek: R1",
        1_737_381_095,
        163_840,
        163_840,
        "0.0000004",
        "0.000002",
        "deepseek",
        "DeepSeek",
        TEXT,
        "DeepSeek R1 is an open reasoning model on par with OpenAI o1."
    ),
    model!(
        "meta-llama/llama-3.3-70b-instruct",
        "meta-llama/llama-3.3-70b-instruct",
        "Meta: Llama 3.3 70B Instruct",
        1_733_506_137,
        131_072,
        16_384,
        "0.00000013",
        "0.00000039",
        "deepinfra",
        "Llama3",
        TEXT,
        "Llama 3.3 70B is a multilingual instruction-tuned model from Meta."
    ),
    model!(
        "anthropic/claude-3.5-haiku",
        "anthropic/claude-3-5-haiku",
        "Anthropic: Claude 3.5 Haiku",
        1_730_678_400,
        200_000,
        8_192,
        "0.0000008",
        "0.000004",
        "anthropic",
        "Claude",
        TEXT_IMAGE,
        "Claude 3.5 Haiku is Anthropic's fastest model, for real-time applications."
    ),
    model!(
        "mistralai/mistral-large-2411",
        "mistralai/mistral-large-2411",
        "Mistral Large 2411",
        1_731_978_415,
        131_072,
        131_072,
        "0.000002",
        "0.000006",
        "mistral",
        "Mistral",
        TEXT,
        "Mistral Large 2411 is Mistral's flagship model with improved long context and function calling."
    ),
];

/// The model named by its slug or canonical slug (what guardrails accept).
pub fn find_model(slug: &str) -> Option<&'static ModelInfo> {
    MODELS
        .iter()
        .find(|model| model.id == slug || model.canonical_slug == slug)
}

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

    #[test]
    fn every_catalog_model_is_served_with_its_permaslug() {
        for (name, permaslug, _) in CATALOG {
            let model = find_model(name).unwrap();
            assert_eq!(model.canonical_slug, *permaslug);
            assert_eq!(find_model(permaslug).unwrap().id, *name);
        }
        let mut ids: Vec<_> = MODELS.iter().map(|model| model.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), MODELS.len());
    }
}
