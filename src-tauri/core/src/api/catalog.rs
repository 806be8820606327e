//! OpenRouter's public model list (`GET /models`, no key needed), for model pickers: the fields Keyward
//! reads, and the picker's search. `OpenRouterClient::models()` fetches and caches it.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Prices in USD per token (`request`: per request), as the API's decimal strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
pub struct ModelPricing {
    #[serde(default)]
    pub prompt: String,
    #[serde(default)]
    pub completion: String,
    #[serde(default)]
    pub request: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, TS)]
pub struct ModelArchitecture {
    #[serde(default)]
    pub modality: Option<String>,
    #[serde(default)]
    pub input_modalities: Vec<String>,
    #[serde(default)]
    pub output_modalities: Vec<String>,
}

/// One entry of OpenRouter's public model list (`GET /models`), for model pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Model {
    /// The slug requests name, e.g. `openai/gpt-4.1`.
    pub id: String,
    /// The immutable identifier guardrails store, e.g. `openai/gpt-4.1-2025-04-14`.
    #[serde(default)]
    pub canonical_slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub created: Option<i64>,
    #[serde(default)]
    pub context_length: Option<u32>,
    #[serde(default)]
    pub pricing: ModelPricing,
    #[serde(default)]
    pub architecture: Option<ModelArchitecture>,
}

impl Model {
    /// The author part of the slug (`openai` of `openai/gpt-4.1`).
    pub fn author(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }

    /// Whether this model answers to `slug` (its id or canonical slug), as guardrail lists name it.
    pub fn is(&self, slug: &str) -> bool {
        self.id == slug || self.canonical_slug == slug
    }

    /// The picker's search: every blank-separated word of `query` appears (case-insensitively) in
    /// the id, canonical slug or name.
    pub fn matches(&self, query: &str) -> bool {
        let haystack = format!("{} {} {}", self.id, self.canonical_slug, self.name).to_lowercase();
        query
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Links {
    #[serde(default)]
    pub next: Option<String>,
}

/// `GET /models`: a page of the list with its total and the next page's link.
#[derive(Deserialize)]
pub(crate) struct ModelsPage {
    pub data: Vec<Model>,
    #[serde(default)]
    pub total_count: Option<u64>,
    #[serde(default)]
    pub links: Links,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_example_parses() {
        let model: Model = serde_json::from_value(json!({
            "architecture": {"input_modalities": ["text"], "instruct_type": "chatml",
                             "modality": "text->text", "output_modalities": ["text"], "tokenizer": "GPT"},
            "canonical_slug": "openai/gpt-4", "context_length": 8192, "created": 1692901234,
            "default_parameters": null, "id": "openai/gpt-4", "name": "GPT-4",
            "pricing": {"completion": "0.00006", "image": "0", "prompt": "0.00003", "request": "0"},
            "supported_parameters": ["temperature"], "supported_voices": null,
            "top_provider": {"context_length": 8192, "is_moderated": true, "max_completion_tokens": 4096},
            "per_request_limits": null, "links": {"details": "/api/v1/models/openai/gpt-4/endpoints"}
        }))
        .unwrap();
        assert_eq!(model.author(), "openai");
        assert!(model.is("openai/gpt-4"));
        assert!(model.matches("GPT 4"));
        assert!(!model.matches("claude"));
    }
}
