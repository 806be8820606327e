//! `list_all`: every key across pages, newest first, no duplicates and no gaps, pages fetched
//! concurrently although the API gives no total count.
//!
//! The server decides the page size: the first page's length is the stride (the reference says 100,
//! but a server answering pages of 7 or 250 must be listed whole too), and listing stops at an
//! empty page or one shorter than the stride. So even a short first page is followed by one more
//! request, which proves it was the last.
//!
//! How: pages are requested at offsets one less than the stride apart (0, 99, 198, … for 100), so two
//! neighbouring pages share a key. If the later page starts with a key the earlier one holds, nothing
//! between them can have been missed, even when keys were created or deleted meanwhile (keys that
//! exist throughout keep their relative order; duplicates are dropped when stitching). A page that
//! does not start inside its predecessor means the list shifted under us: the pages before the break
//! are kept, and the rest is re-read one page at a time at half-page steps, which tolerates up to
//! half a page of keys (~50) created or deleted between two requests. If even that breaks, the whole
//! listing starts over, a bounded number of times, then gives up with `Conflict`. Pages of one key
//! can't overlap: they are stitched (deduplicated) without that proof.

use std::collections::HashSet;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::client::OpenRouterClient;
use super::models::ApiKey;
use super::requests::ListKeysQuery;
use crate::Error;

/// Keys per page of `GET /keys` as the reference documents it (§4.1: "the most recent 100"). Paging
/// does not rely on it: the server's first page sets the stride.
pub const PAGE_SIZE: usize = 100;
const MAX_ROUNDS: u32 = 3;
/// A server that never sends a short page (e.g. one ignoring `offset`) must not page forever.
const MAX_KEYS: u64 = 1_000_000;

struct Page {
    offset: u64,
    keys: Vec<ApiKey>,
}

/// The server's page size, learnt from its first (non-empty) page.
#[derive(Clone, Copy, Debug)]
struct Stride {
    len: usize,
}

impl Stride {
    fn of(first_page: &Page) -> Stride {
        Stride {
            len: first_page.keys.len().max(1),
        }
    }

    /// An empty page, or one shorter than the first, ends the list.
    fn is_last(self, page: &Page) -> bool {
        page.keys.len() < self.len
    }

    /// Pages of one key can't overlap and still move on: they are stitched without the proof.
    fn overlaps(self) -> bool {
        self.len >= 2
    }

    /// Concurrent pages overlap by one key: the proof that nothing fell between them.
    fn concurrent(self) -> u64 {
        if self.overlaps() {
            self.len as u64 - 1
        } else {
            1
        }
    }

    /// Sequential re-reads overlap by half a page, absorbing keys created or deleted meanwhile.
    fn sequential(self) -> u64 {
        (self.len as u64 / 2).max(1)
    }

    /// True when `next` provably continues `previous`: it starts with a key `previous` holds.
    fn continues(self, previous: &Page, next: &Page) -> bool {
        if !self.overlaps() {
            return true;
        }
        next.keys
            .first()
            .is_some_and(|first| previous.keys.iter().any(|key| key.hash == first.hash))
    }

    /// A later page that starts with page 0's first key means the server ignored `offset` (the
    /// newest key can't also sit further down). Caught early, before paging on to `MAX_KEYS`.
    fn ignores_offset(self, first_page: &Page, page: &Page) -> bool {
        page.offset > 0
            && !self.is_last(page)
            && page.keys.first().map(|key| &key.hash)
                == first_page.keys.first().map(|key| &key.hash)
    }
}

/// The pages' keys in order, each key once.
fn stitch(pages: Vec<Page>) -> Vec<ApiKey> {
    let mut seen = HashSet::new();
    pages
        .into_iter()
        .flat_map(|page| page.keys)
        .filter(|key| seen.insert(key.hash.clone()))
        .collect()
}

fn too_many_keys() -> Error {
    Error::Decode {
        message: format!(
            "GET /keys does not page: it ignores `offset` or sends full pages past {MAX_KEYS} keys"
        ),
        source: None,
    }
}

impl OpenRouterClient {
    /// Every key matching `query`, newest first, each once.
    pub async fn list_all(&self, query: &ListKeysQuery) -> Result<Vec<ApiKey>, Error> {
        query.validate()?;
        for round in 1..=MAX_ROUNDS {
            let (mut pages, stride) = self.fetch_concurrently(query).await?;
            let break_at = pages
                .windows(2)
                .position(|pair| !stride.continues(&pair[0], &pair[1]));
            let Some(break_at) = break_at else {
                return Ok(stitch(pages));
            };
            tracing::info!(
                round,
                offset = pages[break_at + 1].offset,
                "key list shifted while paging; re-reading the rest sequentially"
            );
            pages.truncate(break_at + 1);
            if let Some(pages) = self.continue_sequentially(query, pages, stride).await? {
                return Ok(stitch(pages));
            }
            tracing::info!(round, "key list kept shifting; starting over");
        }
        Err(Error::Conflict {
            message: "the key list kept changing while it was read (keys created or deleted at \
                      the same time); try again"
                .to_owned(),
        })
    }

    /// Page 0 alone (it sets the stride), then pages 1, 2, … with a window that grows with every
    /// full page up to `list_concurrency`, until the first empty or short page. Pages past it are
    /// dropped. Most accounts take two requests: page 0 and the short page that proves the end.
    async fn fetch_concurrently(
        &self,
        query: &ListKeysQuery,
    ) -> Result<(Vec<Page>, Stride), Error> {
        let first = Page {
            offset: 0,
            keys: self.fetch_page(query, 0).await?,
        };
        let stride = Stride::of(&first);
        if first.keys.is_empty() {
            return Ok((vec![first], stride));
        }
        let mut pages = vec![Some(first)];
        let max_window = self.list_concurrency();
        // Full pages after page 0: the window starts at one request (the likely last page).
        let mut full_pages = 0usize;
        let mut last_index: Option<usize> = None;
        let mut next_index = 1usize;
        let mut in_flight = FuturesUnordered::new();
        loop {
            let window = max_window.min(1 + full_pages);
            while in_flight.len() < window && last_index.is_none_or(|last| next_index <= last) {
                let offset = next_index as u64 * stride.concurrent();
                if offset > MAX_KEYS {
                    return Err(too_many_keys());
                }
                let index = next_index;
                in_flight
                    .push(async move { (index, offset, self.fetch_page(query, offset).await) });
                next_index += 1;
            }
            if let Some(last) = last_index
                && pages.len() > last
                && pages[..=last].iter().all(Option::is_some)
            {
                pages.truncate(last + 1);
                return Ok((pages.into_iter().flatten().collect(), stride));
            }
            let Some((index, offset, result)) = in_flight.next().await else {
                // Unreachable in practice: while pages are missing, one is always in flight.
                return Err(Error::Decode {
                    message: "paging stopped without a last page".to_owned(),
                    source: None,
                });
            };
            let page = Page {
                offset,
                keys: result?,
            };
            if pages[0]
                .as_ref()
                .is_some_and(|first| stride.ignores_offset(first, &page))
            {
                return Err(too_many_keys());
            }
            if stride.is_last(&page) {
                last_index = Some(last_index.map_or(index, |last| last.min(index)));
            } else {
                full_pages += 1;
            }
            if pages.len() <= index {
                pages.resize_with(index + 1, || None);
            }
            pages[index] = Some(page);
        }
    }

    /// Extends `pages` (which end with a full page) one page at a time at half-page steps, each page
    /// checked against the one before. `None` when the list shifted too much even for that.
    async fn continue_sequentially(
        &self,
        query: &ListKeysQuery,
        mut pages: Vec<Page>,
        stride: Stride,
    ) -> Result<Option<Vec<Page>>, Error> {
        loop {
            let Some(previous) = pages.last() else {
                return Ok(None);
            };
            if stride.is_last(previous) {
                return Ok(Some(pages));
            }
            let offset = previous.offset + stride.sequential();
            if offset > MAX_KEYS {
                return Err(too_many_keys());
            }
            let page = Page {
                offset,
                keys: self.fetch_page(query, offset).await?,
            };
            if stride.ignores_offset(&pages[0], &page) {
                return Err(too_many_keys());
            }
            if !stride.continues(previous, &page) {
                return Ok(None);
            }
            pages.push(page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hash: &str) -> ApiKey {
        serde_json::from_value(serde_json::json!({
            "hash": hash, "name": hash, "label": "sk-or-v1-x...x", "disabled": false,
            "limit": null, "limit_remaining": null, "limit_reset": null,
            "include_byok_in_limit": false, "usage": 0, "usage_daily": 0, "usage_weekly": 0,
            "usage_monthly": 0, "byok_usage": 0, "byok_usage_daily": 0, "byok_usage_weekly": 0,
            "byok_usage_monthly": 0, "created_at": "2026-01-01T00:00:00Z", "updated_at": null,
            "creator_user_id": null, "external_user": null, "workspace_id": "w"
        }))
        .unwrap()
    }

    fn page(offset: u64, hashes: &[&str]) -> Page {
        Page {
            offset,
            keys: hashes.iter().map(|h| key(h)).collect(),
        }
    }

    #[test]
    fn continuation_needs_the_shared_key() {
        let a = page(0, &["k5", "k4", "k3"]);
        let stride = Stride::of(&a);
        let continues = |previous: &Page, next: &Page| stride.continues(previous, next);
        assert!(continues(&a, &page(2, &["k3", "k2"])));
        // Keys created between the reads shift the next page down: still continuous.
        assert!(continues(&a, &page(2, &["k4", "k3", "k2"])));
        // A deletion shifts it up past the shared key: a possible gap.
        assert!(!continues(&a, &page(2, &["k2", "k1"])));
        assert!(!continues(&a, &page(2, &[])));
    }

    #[test]
    fn stitching_drops_duplicates_and_keeps_order() {
        let keys = stitch(vec![
            page(0, &["k5", "k4", "k3"]),
            page(2, &["k4", "k3", "k2"]),
            page(4, &["k2", "k1"]),
        ]);
        let hashes: Vec<&str> = keys.iter().map(|k| k.hash.as_str()).collect();
        assert_eq!(hashes, vec!["k5", "k4", "k3", "k2", "k1"]);
    }

    #[test]
    fn a_server_ignoring_offset_is_caught() {
        let full: Vec<String> = (0..PAGE_SIZE).map(|n| format!("k{n}")).collect();
        let full: Vec<&str> = full.iter().map(String::as_str).collect();
        let first = page(0, &full);
        let stride = Stride::of(&first);
        let ignores_offset = |first: &Page, page: &Page| stride.ignores_offset(first, page);
        assert!(ignores_offset(&first, &page(99, &full)));
        assert!(!ignores_offset(&first, &page(0, &full)));
        assert!(!ignores_offset(&first, &page(99, &full[1..])));
        let mut shifted = full.clone();
        shifted.rotate_left(1);
        assert!(!ignores_offset(&first, &page(99, &shifted)));
    }

    #[test]
    fn the_first_page_sets_the_stride() {
        let seven = Stride::of(&page(0, &["a", "b", "c", "d", "e", "f", "g"]));
        assert_eq!((seven.concurrent(), seven.sequential()), (6, 3));
        assert!(!seven.is_last(&page(6, &["g", "h", "i", "j", "k", "l", "m"])));
        assert!(seven.is_last(&page(6, &["g", "h"])));
        assert!(seven.is_last(&page(6, &[])));
        // One key per page: no overlap is possible, so pages are stitched without the proof.
        let one = Stride::of(&page(0, &["a"]));
        assert_eq!((one.concurrent(), one.sequential()), (1, 1));
        assert!(one.continues(&page(0, &["a"]), &page(1, &["b"])));
    }
}
