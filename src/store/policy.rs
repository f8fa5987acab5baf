//! The team policy's answers, as the audit log holds them: which requests waiting for a
//! decision the policy in use has not answered since they last changed, and which of its
//! backtest's more permissive cases members have accepted.

use std::collections::BTreeSet;

use rusqlite::params;

use super::{EventKind, Store, StoreError};
use crate::request::RequestState;

impl Store {
    /// Requests in review that `actor` (`policy@<sha256>`) has not answered since the request
    /// last changed (when `enforcing`, answered while enforcing: a shadow answer given while
    /// the policy was held back does not count), oldest first, at most `limit`.
    pub fn awaiting_policy(
        &self,
        actor: &str,
        limit: usize,
        enforcing: bool,
    ) -> Result<Vec<i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT r.id FROM requests r
             WHERE r.state = ?1
               AND NOT EXISTS (SELECT 1 FROM events e
                               WHERE e.request_id = r.id AND e.kind = ?2 AND e.actor = ?3
                                 AND e.at >= r.updated_at
                                 AND (?5 = 0 OR json_extract(e.detail, '$.mode') = 'enforce'))
             ORDER BY r.id LIMIT ?4",
        )?;
        let ids = statement
            .query_map(
                params![
                    RequestState::InReview.as_str(),
                    EventKind::PolicyAnswered.as_str(),
                    actor,
                    i64::try_from(limit).unwrap_or(i64::MAX),
                    enforcing
                ],
                |row| row.get(0),
            )?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }

    /// The requests members accepted as cases where `actor` may be more permissive than the
    /// people were (`patdesk policy accept`).
    pub fn accepted_policy_cases(&self, actor: &str) -> Result<BTreeSet<i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT DISTINCT request_id FROM events
             WHERE kind = ?1 AND json_extract(detail, '$.policy') = ?2 AND request_id IS NOT NULL",
        )?;
        let ids = statement
            .query_map(params![EventKind::PolicyCaseAccepted, actor], |row| {
                row.get(0)
            })?
            .collect::<Result<BTreeSet<i64>, _>>()?;
        Ok(ids)
    }
}
