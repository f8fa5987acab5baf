//! How much mail a catch-up holds at once. Each FETCH asks for about `FETCH_BYTES` of mail (by
//! the sizes the server gave first), and mail read but not yet committed holds its bytes of a
//! budget of `HELD_BYTES`: the reader waits for the filer before it takes more. A backlog of
//! mails near the size cap is read one mail at a time, and the daemon stays far below its
//! unit's `MemoryMax` (each mail is in memory a few times over while it is parsed and stored).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::ImapError;
use crate::intake::FilingError;

/// Bytes of mail asked for in one FETCH, at most; a mail bigger than this is fetched alone.
const FETCH_BYTES: u64 = 8 << 20;
/// Bytes of mail read and not yet committed, at most: one mail near the 25 MB cap, or
/// several fetches of ordinary mail, so reading still runs ahead of filing.
const HELD_BYTES: u32 = 32 << 20;

/// The bytes a mail of `size` costs when fetched: nothing beyond its headers when it is over
/// `cap`, as only those are read.
fn fetched_bytes(size: u32, cap: u32) -> u64 {
    if size > cap { 0 } else { u64::from(size) }
}

/// `sizes` (UID, size) cut into consecutive fetches of at most `FETCH_BYTES` each, and at
/// least one mail each.
pub(super) fn plan_fetches(sizes: &[(u32, u32)], cap: u32) -> Vec<&[(u32, u32)]> {
    let mut fetches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (at, (_, size)) in sizes.iter().enumerate() {
        let cost = fetched_bytes(*size, cap);
        if at > start && bytes + cost > FETCH_BYTES {
            fetches.push(&sizes[start..at]);
            (start, bytes) = (at, 0);
        }
        bytes += cost;
    }
    if start < sizes.len() {
        fetches.push(&sizes[start..]);
    }
    fetches
}

/// The budget of bytes held between reading and filing.
#[derive(Clone)]
pub(super) struct Budget(Arc<Semaphore>);

impl Budget {
    pub(super) fn new() -> Budget {
        Budget(Arc::new(Semaphore::new(HELD_BYTES as usize)))
    }

    /// Waits until the mails of `fetch` fit in the budget, and holds their bytes; a fetch
    /// bigger than the whole budget waits for all of it.
    pub(super) async fn hold(
        &self,
        fetch: &[(u32, u32)],
        cap: u32,
    ) -> Result<OwnedSemaphorePermit, ImapError> {
        let bytes: u64 = fetch
            .iter()
            .map(|(_, size)| fetched_bytes(*size, cap))
            .sum();
        let permits = u32::try_from(bytes).unwrap_or(u32::MAX).min(HELD_BYTES);
        self.hold_permits(permits).await
    }

    /// Waits until everything read before is committed, and holds the whole budget.
    pub(super) async fn hold_all(&self) -> Result<OwnedSemaphorePermit, ImapError> {
        self.hold_permits(HELD_BYTES).await
    }

    async fn hold_permits(&self, permits: u32) -> Result<OwnedSemaphorePermit, ImapError> {
        Arc::clone(&self.0)
            .acquire_many_owned(permits)
            .await
            .map_err(|_| FilingError::Stopped("the memory budget was closed".to_string()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::{FETCH_BYTES, plan_fetches};

    const CAP: u32 = 25_000_000;

    fn lengths(sizes: &[(u32, u32)]) -> Vec<usize> {
        plan_fetches(sizes, CAP)
            .iter()
            .map(|fetch| fetch.len())
            .collect()
    }

    #[test]
    fn ordinary_mail_is_fetched_a_whole_batch_at_once() {
        let sizes: Vec<(u32, u32)> = (1..=100).map(|uid| (uid, 4_000)).collect();
        assert_eq!(lengths(&sizes), vec![100]);
    }

    #[test]
    fn large_mails_are_fetched_one_at_a_time() {
        let sizes: Vec<(u32, u32)> = (1..=10).map(|uid| (uid, 24_000_000)).collect();
        assert_eq!(lengths(&sizes), vec![1; 10]);
    }

    #[test]
    fn a_fetch_stops_before_the_byte_budget_is_passed() {
        let mb = 1 << 20;
        // 3 + 3 fits in 8 MB; a third 3 MB mail starts the next fetch, as does the 7 MB one.
        let sizes = [(1, 3 * mb), (2, 3 * mb), (3, 3 * mb), (4, 7 * mb), (5, mb)];
        let plan = plan_fetches(&sizes, CAP);
        assert_eq!(
            plan,
            vec![&sizes[0..2], &sizes[2..3], &sizes[3..5]],
            "7 + 1 MB is exactly the budget"
        );
        for fetch in plan {
            let bytes: u64 = fetch.iter().map(|(_, size)| u64::from(*size)).sum();
            assert!(fetch.len() == 1 || bytes <= FETCH_BYTES, "{fetch:?}");
        }
    }

    #[test]
    fn mails_over_the_cap_cost_only_their_headers() {
        let sizes = [(1, 4_000), (2, 90_000_000), (3, 4_000)];
        assert_eq!(lengths(&sizes), vec![3]);
        assert!(plan_fetches(&[], CAP).is_empty());
    }
}
