//! Time-bound grants (`approve --until`): the approved requests whose grant ends soon, and the
//! one notice their owner gets.

use jiff::Timestamp;
use rusqlite::params;
use serde_json::json;

use crate::lifecycle::Member;
use crate::request::RequestState;
use crate::store::{EventKind, Store, StoreError, Tx, format_time, optional_time_at, time_at};

/// An approved request whose grant ends at or before the time asked about.
#[derive(Debug, Clone)]
pub struct EndingGrant {
    pub id: i64,
    pub until: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// Whether its owner has been told.
    pub noticed: bool,
    /// The member whose approval set the end, as its event records them.
    pub approver: Option<Member>,
}

impl Store {
    /// The approved requests whose grant ends at or before `by`, soonest first.
    pub fn grants_ending(&self, by: Timestamp) -> Result<Vec<EndingGrant>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT r.id, r.grant_until, r.decided_at, r.grant_end_notice_at IS NOT NULL,
                (SELECT json_extract(e.detail, '$.member') FROM events e
                 WHERE e.request_id = r.id AND e.kind = ?3 ORDER BY e.seq DESC LIMIT 1)
             FROM requests r
             WHERE r.grant_until IS NOT NULL AND r.grant_until <= ?1 AND r.state = ?2
             ORDER BY r.grant_until",
        )?;
        let rows = statement.query_map(
            params![
                format_time(by),
                RequestState::Approved.as_str(),
                EventKind::Approved
            ],
            |row| {
                Ok(EndingGrant {
                    id: row.get(0)?,
                    until: time_at(row, 1)?,
                    decided_at: optional_time_at(row, 2)?,
                    noticed: row.get(3)?,
                    approver: row
                        .get::<_, Option<String>>(4)?
                        .and_then(|json| serde_json::from_str(&json).ok()),
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// Records, once per grant, that its owner is being told it ends: whether this call did.
    pub fn record_grant_end_notice(&self, id: i64, until: Timestamp) -> Result<bool, StoreError> {
        self.mark_once(
            id,
            "grant_end_notice_at",
            "system",
            EventKind::GrantEndNoticeQueued,
            &json!({ "until": format_time(until) }),
        )
    }
}
