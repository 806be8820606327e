//! What else names a key by its hash and must name the new key too when it is rotated: its
//! guardrail (a key holds at most one), the BYOK provider keys whose `allowed_api_key_hashes` list
//! it, the observability destinations whose `api_key_hashes` list it. A rotation snapshots these
//! when it starts (so a resumed run carries the same list) and carries each to the new key.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One resource that names a key by its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Attachment {
    /// The key's guardrail: assigning it to the new key is what keeps the new key guarded.
    Guardrail { id: String, name: String },
    /// A BYOK provider key whose `allowed_api_key_hashes` names the key.
    Byok {
        id: String,
        provider: String,
        name: String,
    },
    /// An observability destination whose `api_key_hashes` names the key.
    Destination {
        id: String,
        name: String,
        /// The destination's type (`langfuse`, `webhook`, …).
        #[serde(rename = "type")]
        #[ts(rename = "type")]
        destination_type: String,
    },
}

impl Attachment {
    pub fn id(&self) -> &str {
        match self {
            Attachment::Guardrail { id, .. }
            | Attachment::Byok { id, .. }
            | Attachment::Destination { id, .. } => id,
        }
    }

    pub fn is_guardrail(&self) -> bool {
        matches!(self, Attachment::Guardrail { .. })
    }

    /// `guardrail "EU only"`, `BYOK key "prod" (anthropic)`, `log destination "traces" (langfuse)`.
    pub fn describe(&self) -> String {
        match self {
            Attachment::Guardrail { name, .. } => format!("guardrail \"{name}\""),
            Attachment::Byok { provider, name, .. } => {
                format!("BYOK key \"{name}\" ({provider})")
            }
            Attachment::Destination {
                name,
                destination_type,
                ..
            } => format!("log destination \"{name}\" ({destination_type})"),
        }
    }
}

/// `guardrail "g", BYOK key "b" (openai)`; `none` for an empty list.
pub fn describe_all(attachments: &[Attachment]) -> String {
    if attachments.is_empty() {
        return "none".to_owned();
    }
    attachments
        .iter()
        .map(Attachment::describe)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_tagged_by_kind() {
        let destination = Attachment::Destination {
            id: "d1".into(),
            name: "traces".into(),
            destination_type: "langfuse".into(),
        };
        let json = serde_json::to_value(&destination).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "destination", "id": "d1", "name": "traces", "type": "langfuse"})
        );
        assert_eq!(
            serde_json::from_value::<Attachment>(json).unwrap(),
            destination
        );
        let guardrail = Attachment::Guardrail {
            id: "g1".into(),
            name: "EU only".into(),
        };
        assert!(guardrail.is_guardrail());
        assert_eq!(
            describe_all(&[guardrail, destination]),
            "guardrail \"EU only\", log destination \"traces\" (langfuse)"
        );
        assert_eq!(describe_all(&[]), "none");
    }
}
