//! Lists that page on the server (`{"data": [...], "total_count": n}` with `offset`/`limit`), fetched
//! whole by one routine for every such endpoint (workspaces, members, guardrails, assignments, BYOK,
//! destinations). The server decides the page size: `limit` asks for 100, but the first page's length
//! is the stride (a server may cap pages lower, or ignore `limit`). With a total, the rest is fetched
//! at once at that stride; without one, page on until an empty page or one shorter than the first.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Call, OpenRouterClient};
use crate::Error;

/// One page of a paged list.
#[derive(Deserialize)]
pub(crate) struct ListPage<T> {
    pub data: Vec<T>,
    #[serde(default)]
    pub total_count: Option<u64>,
}

/// Items asked per page (the API's maximum for these lists); the server may answer fewer or more.
pub(crate) const LIST_LIMIT: u64 = 100;
/// A server that never stops paging must not page forever.
const MAX_ITEMS: u64 = 100_000;

impl OpenRouterClient {
    /// Every item of the paged list at `path` (with `query` added to each page's own).
    pub(crate) async fn list_every_page<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<Vec<T>, Error> {
        let page = |offset: u64| {
            let mut pairs = query.to_vec();
            pairs.push(("offset", offset.to_string()));
            pairs.push(("limit", LIST_LIMIT.to_string()));
            let call = Call::get(path, pairs);
            async move { self.json::<ListPage<T>>(&call).await }
        };
        let first = page(0).await?;
        let mut items = first.data;
        let stride = items.len() as u64;
        if stride == 0 {
            return Ok(items);
        }
        match first.total_count {
            Some(total) if stride >= total => {}
            Some(total) => {
                let total = total.min(MAX_ITEMS);
                let mut rest: Vec<(u64, Vec<T>)> = Vec::new();
                let mut pending: FuturesUnordered<_> = (1..total.div_ceil(stride))
                    .map(|index| {
                        let offset = index * stride;
                        let fetch = page(offset);
                        async move { fetch.await.map(|page| (offset, page.data)) }
                    })
                    .collect();
                while let Some(result) = pending.next().await {
                    rest.push(result?);
                }
                rest.sort_by_key(|(offset, _)| *offset);
                items.extend(rest.into_iter().flat_map(|(_, data)| data));
                if items.len() as u64 > total {
                    // More items than the server says exist: it repeats pages (ignores `offset`).
                    return Err(Error::Decode {
                        message: format!(
                            "GET {path} answered more items than its total_count ({total}): it does not page"
                        ),
                        source: None,
                    });
                }
            }
            None => {
                let mut offset = stride;
                loop {
                    if offset >= MAX_ITEMS {
                        return Err(Error::Decode {
                            message: format!(
                                "GET {path} did not end after {} items; the server may be ignoring \"offset\"",
                                items.len()
                            ),
                            source: None,
                        });
                    }
                    let next = page(offset).await?;
                    let done = (next.data.len() as u64) < stride;
                    items.extend(next.data);
                    if done {
                        break;
                    }
                    offset += stride;
                }
            }
        }
        Ok(items)
    }
}
