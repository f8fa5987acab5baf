//! Approvals given towards a request that needs more than one (`review.approvals_needed`).
//!
//! Each is its own audit event by the member who gave it; they count only while the request
//! stands as it was approved: any change to the record (GitHub's, a new purpose, a state)
//! moves `updated_at` past them, and the approvals are asked for again.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde::Serialize;

use crate::lifecycle::Member;

use super::{EventKind, Store, StoreError, Tx, optional_time_at, time_at};

/// The approvals a request has and needs (`review.approvals_needed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Approvals {
    /// The members who have approved, oldest first.
    pub given: Vec<String>,
    pub needed: u32,
}

impl Approvals {
    /// How many more members must approve.
    pub fn missing(&self) -> usize {
        (self.needed as usize).saturating_sub(self.given.len())
    }

    /// In words: "1 of 2 (alice); 1 more needed".
    pub fn described(&self) -> String {
        let given = match self.given.as_slice() {
            [] => format!("0 of {}", self.needed),
            names => format!("{} of {} ({})", names.len(), self.needed, names.join(", ")),
        };
        match self.missing() {
            0 => given,
            missing => format!("{given}; {missing} more needed, each a different member"),
        }
    }
}

/// One member's approval, still standing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GivenApproval {
    /// The event that records it.
    pub seq: i64,
    #[serde(with = "super::stored_time")]
    pub at: Timestamp,
    pub by: String,
    pub reason: Option<String>,
    /// Who the daemon authenticated, as the event records it.
    pub member: Option<Member>,
    /// The end this member set for the grant (`approve --until`), if any.
    #[serde(default, with = "super::stored_time::option")]
    pub until: Option<Timestamp>,
}

/// The SQL condition that an event `e` is an approval standing for the request `request` (a
/// table name or alias in the query): given since the request last changed. Every count of
/// approvals (a record, a listing, a Slack message) goes through it.
pub(super) fn standing_for(request: &str) -> String {
    format!(
        "e.request_id = {request}.id AND e.kind = '{}' AND e.at >= {request}.updated_at",
        EventKind::ApprovalGiven.as_str()
    )
}

fn standing(conn: &Connection, id: i64) -> Result<Vec<GivenApproval>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT e.seq, e.at, e.actor, json_extract(e.detail, '$.reason'),
                json_extract(e.detail, '$.member'), json_extract(e.detail, '$.until')
         FROM events e JOIN requests r ON r.id = e.request_id
         WHERE r.id = ?1 AND {}
         ORDER BY e.seq",
        standing_for("r")
    ))?;
    let rows = statement.query_map(params![id], |row| {
        Ok(GivenApproval {
            seq: row.get(0)?,
            at: time_at(row, 1)?,
            by: row.get(2)?,
            reason: row.get(3)?,
            member: row
                .get::<_, Option<String>>(4)?
                .and_then(|json| serde_json::from_str(&json).ok()),
            until: optional_time_at(row, 5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Approvals {
    /// Where request `id` stands in `store`: `None` when it needs one approval and has none.
    pub fn of(store: &Store, id: i64, needed: u32) -> Result<Option<Approvals>, StoreError> {
        let given: Vec<String> = store.approvals(id)?.into_iter().map(|a| a.by).collect();
        Ok((needed > 1 || !given.is_empty()).then_some(Approvals { given, needed }))
    }
}

impl Store {
    /// The approvals request `id` has been given since it last changed, oldest first.
    pub fn approvals(&self, id: i64) -> Result<Vec<GivenApproval>, StoreError> {
        standing(&self.conn, id)
    }
}

impl Tx<'_> {
    /// [`Store::approvals`], inside a write.
    pub fn approvals(&self, id: i64) -> Result<Vec<GivenApproval>, StoreError> {
        standing(&self.tx, id)
    }
}
