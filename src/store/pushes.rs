//! The GitHub push table: decisions waiting to be carried to GitHub, and what became of each.
//! A decision queues its push in its own transaction; the push task carries it.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::stored::{Stored, StoredName, stored_by_name};
use super::{EventKind, StoreError, Tx, time_at};
use crate::lifecycle::PushAction;
use jiff::Timestamp;

/// What a push acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushTarget {
    /// A request's decision.
    Request(i64),
    /// An approved token no request accounts for, by its grant: only ever revoked.
    OutsideGrant { org: String, grant_id: i64 },
}

impl PushTarget {
    /// The request the push's events and alerts belong to, if any.
    pub fn request_id(&self) -> Option<i64> {
        match self {
            PushTarget::Request(id) => Some(*id),
            PushTarget::OutsideGrant { .. } => None,
        }
    }

    /// The grant columns of `github_pushes`, NULL for a request.
    pub(super) fn grant(&self) -> (Option<&str>, Option<i64>) {
        match self {
            PushTarget::Request(_) => (None, None),
            PushTarget::OutsideGrant { org, grant_id } => (Some(org), Some(*grant_id)),
        }
    }

    /// Reads the target from a row's `request_id, grant_org, grant_id`.
    pub(super) fn from_columns(
        request_id: Option<i64>,
        grant_org: Option<String>,
        grant_id: Option<i64>,
    ) -> Result<PushTarget, StoreError> {
        match (request_id, grant_org, grant_id) {
            (Some(id), None, None) => Ok(PushTarget::Request(id)),
            (None, Some(org), Some(grant_id)) => Ok(PushTarget::OutsideGrant { org, grant_id }),
            other => Err(StoreError::Corrupt(format!(
                "a GitHub push names neither one request nor one grant: {other:?}"
            ))),
        }
    }
}

impl std::fmt::Display for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushTarget::Request(id) => write!(f, "PAT-{id}"),
            PushTarget::OutsideGrant { org, grant_id } => {
                write!(f, "the outside token {org}:{grant_id}")
            }
        }
    }
}

/// Where a push stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Waiting for the push task, tried or not.
    Queued,
    Done,
    Failed,
}

impl PushState {
    pub fn as_str(self) -> &'static str {
        match self {
            PushState::Queued => "queued",
            PushState::Done => "done",
            PushState::Failed => "failed",
        }
    }
}

impl StoredName for PushState {
    const ALL: &'static [Self] = &[PushState::Queued, PushState::Done, PushState::Failed];

    fn as_str(self) -> &'static str {
        PushState::as_str(self)
    }
}

stored_by_name!(PushState, "push state");

/// How one try to carry a push ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Done,
    Failed,
    /// A transient error: queued again, never marked failed.
    Retry,
}

impl PushOutcome {
    fn state(self) -> PushState {
        match self {
            PushOutcome::Done => PushState::Done,
            PushOutcome::Failed => PushState::Failed,
            PushOutcome::Retry => PushState::Queued,
        }
    }

    fn event(self) -> EventKind {
        match self {
            PushOutcome::Done => EventKind::GithubPushDone,
            PushOutcome::Failed => EventKind::GithubPushFailed,
            PushOutcome::Retry => EventKind::GithubPushRetry,
        }
    }
}

/// One row of the push table: what `show` prints, and what the push task carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Push {
    pub id: i64,
    pub target: PushTarget,
    pub action: Stored<PushAction>,
    pub reason: Option<String>,
    pub state: PushState,
    /// More than zero: an earlier attempt may have reached GitHub.
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "super::stored_time")]
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "id, request_id, grant_org, grant_id, action, reason, state, attempts, last_error, created_at";

fn push_from_row(row: &rusqlite::Row) -> Result<Push, StoreError> {
    Ok(Push {
        id: row.get(0)?,
        target: PushTarget::from_columns(row.get(1)?, row.get(2)?, row.get(3)?)?,
        action: row.get(4)?,
        reason: row.get(5)?,
        state: row.get(6)?,
        attempts: row.get(7)?,
        last_error: row.get(8)?,
        created_at: time_at(row, 9)?,
    })
}

impl super::Store {
    pub fn pushes_for(&self, request_id: i64) -> Result<Vec<Push>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM github_pushes WHERE request_id = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_and_then([request_id], push_from_row)?;
        rows.collect()
    }

    /// Whether a decision waits that was never tried: one an engineer has just recorded.
    pub fn has_untried_pushes(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM github_pushes WHERE state = ?1 AND attempts = 0)",
            [PushState::Queued],
            |row| row.get(0),
        )?)
    }

    /// Decisions not yet carried to GitHub, oldest first.
    pub fn queued_pushes(&self) -> Result<Vec<Push>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM github_pushes WHERE state = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_and_then([PushState::Queued], push_from_row)?;
        rows.collect()
    }
}

impl Tx<'_> {
    /// Queues a decision for GitHub. Like mail, once per idempotency key.
    pub fn enqueue_push(
        &self,
        target: &PushTarget,
        action: PushAction,
        reason: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let existing: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM github_pushes WHERE idempotency_key = ?1",
                [idempotency_key],
                |row| row.get(0),
            )
            .optional()?;
        if existing.is_some() {
            return Ok(None);
        }
        let request_id = target.request_id();
        let (grant_org, grant_id) = target.grant();
        self.tx.execute(
            "INSERT INTO github_pushes (request_id, grant_org, grant_id, action, reason,
                idempotency_key, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            params![
                request_id,
                grant_org,
                grant_id,
                Stored::from(action),
                reason,
                idempotency_key,
                PushState::Queued,
                self.now
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        // The push task carries a push only when this event names the member who decided, and
        // the push's target (request, or grant) is the event's.
        let mut detail = json!({ "push": id, "action": action.as_str(), "reason": reason,
                                 "decided_by": self.member() });
        if let (Some(org), Some(grant_id)) = (grant_org, grant_id) {
            detail["grant_org"] = json!(org);
            detail["grant_id"] = json!(grant_id);
        }
        self.append_event("system", request_id, EventKind::GithubPushQueued, &detail)?;
        Ok(Some(id))
    }

    /// An attempt is about to be made: counted and committed first, so after a crash the
    /// next attempt knows GitHub may already have it.
    pub fn record_push_attempt(&self, push_id: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE github_pushes SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
            params![push_id, self.now],
        )?;
        Ok(())
    }

    /// How a try ended, with the error of a try that did not succeed, and its event.
    pub fn record_push_outcome(
        &self,
        push: &Push,
        outcome: PushOutcome,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let error = detail["error"].as_str().map(str::to_string);
        self.tx.execute(
            "UPDATE github_pushes SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            params![push.id, outcome.state(), error, self.now],
        )?;
        let mut detail = detail;
        detail["push"] = json!(push.id);
        detail["action"] = json!(push.action);
        if let PushTarget::OutsideGrant { org, grant_id } = &push.target {
            detail["grant_org"] = json!(org);
            detail["grant_id"] = json!(grant_id);
        }
        self.append_event("system", push.target.request_id(), outcome.event(), &detail)?;
        Ok(())
    }
}
