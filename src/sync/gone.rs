//! Whether a request really left GitHub's pending list.
//!
//! GitHub pages the pending list by number, newest first. A request decided or cancelled while
//! a sync is between pages moves every older one up a place, and the one at a page's edge
//! onto a page already read: absent from the listing, yet still pending. So absence from the
//! whole listing only raises the question; the answer comes from the listing filtered to the
//! request's token (`token_id[]`, or `owner[]` for a request GitHub described without its
//! token's id): a page or two at most, which nothing else on the list can shift.

use std::collections::HashSet;

use crate::github::{GithubClient, GithubError};
use crate::store::RequestRecord;

/// Of `missing` (open requests the whole listing lacked), the GitHub ids still pending.
pub async fn still_pending(
    client: &GithubClient,
    org: &str,
    missing: &[&RequestRecord],
) -> Result<HashSet<i64>, GithubError> {
    if missing.is_empty() {
        return Ok(HashSet::new());
    }
    let token_ids: Vec<i64> = missing
        .iter()
        .filter_map(|record| record.token_id)
        .collect();
    let mut owners: Vec<String> = missing
        .iter()
        .filter(|record| record.token_id.is_none())
        .map(|record| record.request.owner_login.to_lowercase())
        .collect();
    owners.sort();
    owners.dedup();
    let mut listed = Vec::new();
    if !token_ids.is_empty() {
        listed.extend(client.pending_requests_for_tokens(org, &token_ids).await?);
    }
    if !owners.is_empty() {
        listed.extend(client.pending_requests_of_owners(org, &owners).await?);
    }
    let sought: HashSet<i64> = missing
        .iter()
        .map(|record| record.github_request_id)
        .collect();
    Ok(listed
        .into_iter()
        .map(|request| request.id)
        .filter(|id| sought.contains(id))
        .collect())
}

/// Whether GitHub still lists `record` as pending, read as above.
pub async fn is_pending(
    client: &GithubClient,
    record: &RequestRecord,
) -> Result<bool, GithubError> {
    let found = still_pending(client, &record.request.org, &[record]).await?;
    Ok(found.contains(&record.github_request_id))
}
