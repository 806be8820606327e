//! [`ApiAccountLinks`]: the app's [`AccountLinks`], over the profile's `OpenRouterClient`. A key's
//! guardrail comes from the account's key assignments, its BYOK credentials and log destinations
//! from its workspace's lists (each filtered by hash): one listing per kind, whatever the key.
//! Adding or removing a hash reads the one resource again just before changing it, so a list
//! someone edited since the rotation started is changed from what it holds now.

use futures::future::BoxFuture;

use super::links::AccountLinks;
use crate::Error;
use crate::api::{ByokKey, ObservabilityDestination, OpenRouterClient};
use crate::rotation::Attachment;

/// [`AccountLinks`] on the real API (the default of `RotationConfig`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiAccountLinks;

impl ApiAccountLinks {
    async fn find(
        client: &OpenRouterClient,
        key_hash: &str,
        workspace_id: Option<&str>,
    ) -> Result<Vec<Attachment>, Error> {
        let (assignments, byok, destinations) = futures::try_join!(
            absent_if_missing("guardrails", client.all_key_assignments()),
            absent_if_missing("byok", client.list_byok_keys_in(workspace_id)),
            absent_if_missing(
                "observability destinations",
                client.list_destinations_in(workspace_id)
            ),
        )?;
        let mut found = Vec::new();
        // A key holds at most one guardrail; the assignment names only its id.
        if let Some(assignment) = assignments
            .iter()
            .find(|assignment| assignment.key_hash.eq_ignore_ascii_case(key_hash))
        {
            match client.get_guardrail(&assignment.guardrail_id).await {
                Ok(guardrail) => found.push(Attachment::Guardrail {
                    id: guardrail.id,
                    name: guardrail.name,
                }),
                // Deleted between the two reads: the key has no guardrail any more.
                Err(Error::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        found.extend(
            byok.iter()
                .filter(|credential| credential.names_key(key_hash))
                .map(byok_attachment),
        );
        found.extend(
            destinations
                .iter()
                .filter(|destination| destination.names_key(key_hash))
                .map(destination_attachment),
        );
        Ok(found)
    }

    async fn change(
        client: &OpenRouterClient,
        attachment: &Attachment,
        key_hash: &str,
        add: bool,
    ) -> Result<(), Error> {
        let hashes = [key_hash.to_owned()];
        match attachment {
            Attachment::Guardrail { id, .. } => {
                // Both are idempotent on the server (assigning twice assigns once; removing what
                // is not assigned is no error).
                if add {
                    client.assign_keys(id, &hashes).await?;
                } else {
                    client.unassign_keys(id, &hashes).await?;
                }
            }
            Attachment::Byok { id, .. } => {
                let credential = client.get_byok_key(id).await?;
                let list = if add {
                    credential.allowlist_adding(key_hash)
                } else {
                    credential.allowlist_removing(key_hash)
                };
                if let Some(list) = list {
                    client.set_byok_allowed_key_hashes(id, Some(list)).await?;
                }
            }
            Attachment::Destination { id, .. } => {
                let destination = client.get_destination(id).await?;
                let list = if add {
                    destination.key_hashes_adding(key_hash)
                } else {
                    destination.key_hashes_removing(key_hash)
                };
                if let Some(list) = list {
                    client.set_destination_key_hashes(id, Some(list)).await?;
                }
            }
        }
        Ok(())
    }
}

/// A list endpoint the server does not have (404: an older server or a sandbox without it) names
/// no key: nothing of that kind to carry. Any other failure (403 included: it may hide what does
/// name the key) stops the caller, so a rotation never starts without what it must carry.
async fn absent_if_missing<T>(
    kind: &str,
    listing: impl std::future::Future<Output = Result<Vec<T>, Error>>,
) -> Result<Vec<T>, Error> {
    match listing.await {
        Err(Error::NotFound { message }) => {
            tracing::info!(kind, %message, "no such list on this server: nothing of it to carry");
            Ok(Vec::new())
        }
        other => other,
    }
}

fn byok_attachment(credential: &ByokKey) -> Attachment {
    Attachment::Byok {
        id: credential.id.clone(),
        provider: credential.provider.clone(),
        name: credential
            .name
            .clone()
            .unwrap_or_else(|| credential.label.clone()),
    }
}

fn destination_attachment(destination: &ObservabilityDestination) -> Attachment {
    Attachment::Destination {
        id: destination.id.clone(),
        name: destination
            .name
            .clone()
            .unwrap_or_else(|| destination.kind.clone()),
        destination_type: destination.kind.clone(),
    }
}

impl AccountLinks for ApiAccountLinks {
    fn attachments<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        key_hash: &'a str,
        workspace_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Attachment>, Error>> {
        Box::pin(Self::find(client, key_hash, workspace_id))
    }

    fn attach<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(Self::change(client, attachment, key_hash, true))
    }

    fn detach<'a>(
        &'a self,
        client: &'a OpenRouterClient,
        attachment: &'a Attachment,
        key_hash: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            match Self::change(client, attachment, key_hash, false).await {
                // A resource deleted meanwhile names nobody any more: the hash is off it.
                Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
                Err(error) => Err(error),
            }
        })
    }
}
