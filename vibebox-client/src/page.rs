//! Lists: [`PageRequest`] (`?limit=&cursor=`), the [`Page`] answer, and helpers that walk
//! every page ([`paginate`], [`collect_all`]).

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::Deserialize;
pub use vibebox_core::store::Page;

use crate::error::Result;
use crate::transport::Call;

/// Which page of a list to fetch. The default is the server's: the first page of 50.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page, 1–500 (the server's default 50 when `None`).
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`; `None` for the first page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit: Some(limit),
            cursor: None,
        }
    }

    /// The page after the one that returned `cursor`, of the same size.
    pub fn after(&self, cursor: impl Into<String>) -> Self {
        Self {
            limit: self.limit,
            cursor: Some(cursor.into()),
        }
    }

    /// Adds `limit` and `cursor` to a call's query.
    pub(crate) fn apply(&self, call: Call) -> Call {
        call.query_opt("limit", self.limit)
            .query_opt("cursor", self.cursor.clone())
    }
}

/// Every item of a list, page after page, fetched as the stream is read:
///
/// ```no_run
/// # async fn f(client: vibebox_client::Client) -> vibebox_client::Result<()> {
/// use futures::TryStreamExt;
/// let teams: Vec<_> = vibebox_client::paginate(None, |page| {
///     let client = client.clone();
///     async move { client.list_teams(page).await }
/// })
/// .try_collect()
/// .await?;
/// # Ok(()) }
/// ```
pub fn paginate<'a, T, F, Fut>(limit: Option<u32>, fetch: F) -> BoxStream<'a, Result<T>>
where
    T: Send + 'a,
    F: FnMut(PageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    let first = Some(PageRequest {
        limit,
        cursor: None,
    });
    stream::try_unfold((first, fetch), |(next, mut fetch)| async move {
        let Some(request) = next else {
            return Ok(None);
        };
        let page = fetch(request.clone()).await?;
        let next = page
            .next_cursor
            .filter(|c| !c.is_empty())
            .map(|c| request.after(c));
        Ok(Some((page.items, (next, fetch))))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Every item of a list, all pages read before returning:
///
/// ```no_run
/// # async fn f(client: vibebox_client::Client) -> vibebox_client::Result<()> {
/// let projects = vibebox_client::collect_all(|page| client.list_projects(page)).await?;
/// # Ok(()) }
/// ```
pub async fn collect_all<T, F, Fut>(mut fetch: F) -> Result<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut all = Vec::new();
    loop {
        let page = fetch(request.clone()).await?;
        all.extend(page.items);
        match page.next_cursor.filter(|c| !c.is_empty()) {
            Some(cursor) => request = request.after(cursor),
            None => return Ok(all),
        }
    }
}

impl PageRequest {
    /// The largest page the server serves.
    pub const MAX_LIMIT: u32 = 500;
}

/// A page, or the bare array older servers answered for ports, variables, sessions, an
/// environment's extensions, API keys and devices (read as one last page).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum PageOrList<T> {
    /// `{items, next_cursor}`.
    Page(Page<T>),
    /// `[…]`.
    List(Vec<T>),
}

impl<T> From<PageOrList<T>> for Page<T> {
    fn from(p: PageOrList<T>) -> Self {
        match p {
            PageOrList::Page(page) => page,
            PageOrList::List(items) => Page {
                items,
                next_cursor: None,
            },
        }
    }
}
