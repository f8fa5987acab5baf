//! The team policy's answers, as the audit log holds them: which requests waiting for a
//! decision the policy in use has not answered since they last changed.

use rusqlite::params;

use super::{EventKind, Store, StoreError};
use crate::request::RequestState;

impl Store {
    /// Requests in review that `actor` (`policy@<sha256>`) has not answered since the request
    /// last changed, oldest first, at most `limit`.
    pub fn awaiting_policy(&self, actor: &str, limit: usize) -> Result<Vec<i64>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT r.id FROM requests r
             WHERE r.state = ?1
               AND NOT EXISTS (SELECT 1 FROM events e
                               WHERE e.request_id = r.id AND e.kind = ?2 AND e.actor = ?3
                                 AND e.at >= r.updated_at)
             ORDER BY r.id LIMIT ?4",
        )?;
        let ids = statement
            .query_map(
                params![
                    RequestState::InReview.as_str(),
                    EventKind::PolicyAnswered.as_str(),
                    actor,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |row| row.get(0),
            )?
            .collect::<Result<Vec<i64>, _>>()?;
        Ok(ids)
    }
}
