//! What the weekly report reads: the requests waiting, the week's decisions by member, and
//! the approved tokens expiring soon, stale or never expiring. Plain rows; `report` shapes
//! them. And when the last report went out, so one goes out a week.

use rusqlite::{OptionalExtension, params};

use jiff::Timestamp;

use super::{EventKind, Store, StoreError, Tx, optional_time_at};
use crate::request::RequestState;

/// A request or token, as a line of the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportLine {
    pub request: i64,
    pub org: String,
    pub owner: String,
    pub token_name: Option<String>,
    pub state: String,
    /// The time the line is about: requested, expiring, last used (RFC 3339), if any.
    #[serde(with = "super::stored_time::option")]
    pub at: Option<Timestamp>,
}

/// One member's decisions in the week.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MemberDecisions {
    pub member: String,
    pub approved: u32,
    pub denied: u32,
    pub revoked: u32,
}

impl Store {
    /// Open requests, oldest first, with when they were requested.
    pub fn report_waiting(&self) -> Result<Vec<ReportLine>, StoreError> {
        self.report_lines(
            &format!(
                "state IN ({}) ORDER BY requested_at, id",
                super::stored::sql_list(
                    RequestState::ALL
                        .into_iter()
                        .filter(|state| state.is_open())
                        .map(RequestState::as_str)
                )
            ),
            "requested_at",
            params![],
        )
    }

    /// Approved tokens expiring after `from` and up to `until`, soonest first.
    pub fn report_expiring(&self, from: &str, until: &str) -> Result<Vec<ReportLine>, StoreError> {
        self.report_lines(
            "state = 'approved' AND token_expires_at > ?1 AND token_expires_at <= ?2
             ORDER BY token_expires_at, id",
            "token_expires_at",
            params![from, until],
        )
    }

    /// Approved tokens patdesk found stale, longest unused first.
    pub fn report_stale(&self) -> Result<Vec<ReportLine>, StoreError> {
        self.report_lines(
            "state = 'approved' AND stale_since IS NOT NULL
             ORDER BY token_last_used_at IS NOT NULL, token_last_used_at, id",
            "token_last_used_at",
            params![],
        )
    }

    /// Approved tokens that never expire.
    pub fn report_without_expiry(&self) -> Result<Vec<ReportLine>, StoreError> {
        self.report_lines(
            "state = 'approved' AND token_expires_at IS NULL ORDER BY id",
            "decided_at",
            params![],
        )
    }

    fn report_lines(
        &self,
        condition: &str,
        at: &str,
        values: impl rusqlite::Params,
    ) -> Result<Vec<ReportLine>, StoreError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT id, org, owner_login, token_name, state, {at} FROM requests WHERE {condition}"
        ))?;
        let rows = statement.query_map(values, |row| {
            Ok(ReportLine {
                request: row.get(0)?,
                org: row.get(1)?,
                owner: row.get(2)?,
                token_name: row.get(3)?,
                state: row.get(4)?,
                at: optional_time_at(row, 5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Each member's approvals, denials and revocations (of requests' tokens and of tokens no
    /// request accounts for) recorded at or after `since`.
    pub fn report_decisions(&self, since: &str) -> Result<Vec<MemberDecisions>, StoreError> {
        let mut statement = self.conn.prepare(&format!(
            "SELECT actor, SUM(kind = ?2), SUM(kind = ?3), SUM(kind IN (?4, ?5))
             FROM events
             WHERE at >= ?1 AND kind IN ({})
             GROUP BY actor ORDER BY actor",
            EventKind::decisions_sql()
        ))?;
        let kinds = rusqlite::params![
            since,
            EventKind::Approved,
            EventKind::Denied,
            EventKind::Revoked,
            EventKind::OutsideTokenRevoked
        ];
        let rows = statement.query_map(kinds, |row| {
            Ok(MemberDecisions {
                member: row.get(0)?,
                approved: row.get(1)?,
                denied: row.get(2)?,
                revoked: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the last weekly report was sent, if ever.
    pub fn last_report_sent(&self) -> Result<Option<Timestamp>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT MAX(sent_at) FROM reports_sent", [], |row| {
                optional_time_at(row, 0)
            })
            .optional()?
            .flatten())
    }
}

impl Tx<'_> {
    /// Records the report as sent at `at`: the time the caller judged it due, so the next
    /// "is it due?" compares like with like, whatever the wall clock says.
    pub fn record_report_sent(&self, at: jiff::Timestamp) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO reports_sent (sent_at) VALUES (?1)",
            [super::format_time(at)],
        )?;
        Ok(())
    }
}
