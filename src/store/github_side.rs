//! What the GitHub sync and the decision pushes change: records following GitHub, the state
//! of queued pushes, addresses and alerts. Each change with its audit event.

use rusqlite::params;
use serde::Serialize;
use serde_json::json;

use super::requests::record_from_row;
use super::{StoreError, Tx};
use crate::request::{RequestState, TokenRequest};
use crate::review::Review;
use crate::store::RequestRecord;

/// What a push acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// A decision waiting to be carried to GitHub.
#[derive(Debug, Clone, Serialize)]
pub struct QueuedPush {
    pub id: i64,
    pub target: PushTarget,
    pub action: String,
    pub reason: Option<String>,
    /// More than zero: an earlier attempt may have reached GitHub.
    pub attempts: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alert {
    pub id: i64,
    /// An [`AlertKind`]'s name (kept as read, so an older kind still shows).
    pub kind: String,
    pub request_id: Option<i64>,
    pub message: String,
    pub created_at: String,
    /// When it was told to the team (Slack, mail); `None` while it waits.
    pub delivered_at: Option<String>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertKind {
    CriticalRequest,
    NeedsContact,
    RequesterUnreachable,
    AddressReplaced,
    TokenExpiring,
    TokenExpired,
    /// An approved token unused for `review.stale_after_days`, or never used after a week.
    TokenStale,
    /// A token approved elsewhere that never expires, or lives beyond `review.max_expiry_days`.
    TokenLifetime,
    GithubPushFailed,
    GithubPushRefused,
    SendingPaused,
    MailUncertain,
    IntakeStalled,
    SignInStalled,
    SyncStalled,
    /// The audit chain's head, sent to be kept off this host.
    AuditHead,
    BackupFailing,
    /// The weekly report.
    WeeklyReport,
}

impl AlertKind {
    const ALL: [AlertKind; 18] = [
        AlertKind::CriticalRequest,
        AlertKind::NeedsContact,
        AlertKind::RequesterUnreachable,
        AlertKind::AddressReplaced,
        AlertKind::TokenExpiring,
        AlertKind::TokenExpired,
        AlertKind::TokenStale,
        AlertKind::TokenLifetime,
        AlertKind::GithubPushFailed,
        AlertKind::GithubPushRefused,
        AlertKind::SendingPaused,
        AlertKind::MailUncertain,
        AlertKind::IntakeStalled,
        AlertKind::SignInStalled,
        AlertKind::SyncStalled,
        AlertKind::AuditHead,
        AlertKind::BackupFailing,
        AlertKind::WeeklyReport,
    ];

    /// The name the alerts table, the audit log and `--json` know it by.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::CriticalRequest => "critical_request",
            AlertKind::NeedsContact => "needs_contact",
            AlertKind::RequesterUnreachable => "requester_unreachable",
            AlertKind::AddressReplaced => "address_replaced",
            AlertKind::TokenExpiring => "token_expiring",
            AlertKind::TokenExpired => "token_expired",
            AlertKind::TokenStale => "token_stale",
            AlertKind::TokenLifetime => "token_lifetime",
            AlertKind::GithubPushFailed => "github_push_failed",
            AlertKind::GithubPushRefused => "github_push_refused",
            AlertKind::SendingPaused => "sending_paused",
            AlertKind::MailUncertain => "mail_uncertain",
            AlertKind::IntakeStalled => "intake_stalled",
            AlertKind::SignInStalled => "sign_in_stalled",
            AlertKind::SyncStalled => "sync_stalled",
            AlertKind::AuditHead => "audit_head",
            AlertKind::BackupFailing => "backup_failing",
            AlertKind::WeeklyReport => "weekly_report",
        }
    }

    /// The kind a stored name is, if patdesk still knows it.
    pub fn named(name: &str) -> Option<AlertKind> {
        AlertKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl super::Store {
    /// Every record of an organisation.
    pub fn requests_of_org(&self, org: &str) -> Result<Vec<RequestRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {} FROM requests WHERE org = ?1 ORDER BY id",
            super::requests::COLUMNS
        ))?;
        let mut rows = statement.query([org])?;
        let mut records = Vec::new();
        while let Some(row) = rows.next()? {
            records.push(record_from_row(row)?);
        }
        Ok(records)
    }

    /// Whether a decision waits that was never tried: one an engineer has just recorded.
    pub fn has_untried_pushes(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM github_pushes WHERE state = 'queued' AND attempts = 0)",
            [],
            |row| row.get(0),
        )?)
    }

    /// Decisions not yet carried to GitHub, oldest first.
    pub fn queued_pushes(&self) -> Result<Vec<QueuedPush>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, request_id, grant_org, grant_id, action, reason, attempts
             FROM github_pushes WHERE state = 'queued' ORDER BY id",
        )?;
        let mut rows = statement.query([])?;
        let mut queued = Vec::new();
        while let Some(row) = rows.next()? {
            queued.push(QueuedPush {
                id: row.get(0)?,
                target: PushTarget::from_columns(row.get(1)?, row.get(2)?, row.get(3)?)?,
                action: row.get(4)?,
                reason: row.get(5)?,
                attempts: row.get(6)?,
            });
        }
        Ok(queued)
    }

    pub fn alerts(&self) -> Result<Vec<Alert>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, kind, request_id, message, created_at, delivered_at FROM alerts ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(Alert {
                id: row.get(0)?,
                kind: row.get(1)?,
                request_id: row.get(2)?,
                message: row.get(3)?,
                created_at: row.get(4)?,
                delivered_at: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// GitHub changed a pending request: the new facts, the new review, one event naming what
    /// changed.
    pub fn record_github_change(
        &self,
        id: i64,
        request: &TokenRequest,
        review: &Review,
        changes: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET token_name = ?2, repository_selection = ?3, repositories = ?4,
                permissions = ?5, token_expires_at = ?6, github_reason = ?7, risk = ?8,
                findings = ?9, updated_at = ?10, requester = ?11, owner_login = ?12 WHERE id = ?1",
            params![
                id,
                request.token_name,
                request.repository_selection.as_str(),
                json(&request.repositories)?,
                json(&request.permissions)?,
                request.token_expires_at.map(super::format_time),
                request.github_reason,
                review.risk.as_str(),
                json(&review.findings)?,
                self.now,
                request.requester.as_ref().map(json).transpose()?,
                request.owner_login,
            ],
        )?;
        self.append_event(
            "github",
            Some(id),
            "request_changed",
            &json!({ "changes": changes, "risk": review.risk }),
        )?;
        Ok(())
    }

    /// A state GitHub decided: withdrawn, approved elsewhere, expired.
    pub fn record_github_state(
        &self,
        id: i64,
        state: RequestState,
        kind: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        let decided = matches!(state, RequestState::Approved).then_some(self.now.as_str());
        self.tx.execute(
            "UPDATE requests SET state = ?2, decided_at = COALESCE(?3, decided_at), updated_at = ?4 WHERE id = ?1",
            params![id, state.as_str(), decided, self.now],
        )?;
        let mut detail = detail;
        detail["from"] = json!(from);
        detail["to"] = json!(state);
        self.append_event("github", Some(id), kind, &detail)?;
        Ok(())
    }

    /// The approved token's grant id, which revoking needs.
    pub fn record_grant(&self, id: i64, grant_id: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET grant_id = ?2, updated_at = ?3 WHERE id = ?1 AND grant_id IS NOT ?2",
            params![id, grant_id, self.now],
        )?;
        Ok(())
    }

    /// Announces once that a token expires soon.
    pub fn record_expiry_warning(
        &self,
        id: i64,
        expires_at: &str,
        days_left: i64,
    ) -> Result<bool, StoreError> {
        let detail = json!({ "expires_at": expires_at, "days_left": days_left });
        self.mark_once(id, "expiry_warned_at", "github", "token_expiring", &detail)
    }

    pub fn record_owner_email(
        &self,
        id: i64,
        by: &str,
        email: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        let before = self.request(id)?.owner_email;
        self.tx.execute(
            "UPDATE requests SET owner_email = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, email, self.now],
        )?;
        self.append_event(
            by,
            Some(id),
            "address_recorded",
            &json!({ "email": email, "source": source, "previous": before }),
        )?;
        Ok(())
    }

    /// Moves a request to `state`, for the sync's own bookkeeping (a question queued, no
    /// address found).
    pub fn record_state(
        &self,
        id: i64,
        by: &str,
        state: RequestState,
        why: &str,
    ) -> Result<(), StoreError> {
        let from = self.request(id)?.state;
        if from == state {
            return Ok(());
        }
        self.tx.execute(
            "UPDATE requests SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), self.now],
        )?;
        self.append_event(
            by,
            Some(id),
            "state_changed",
            &json!({ "from": from, "to": state, "why": why }),
        )?;
        Ok(())
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

    /// The push's outcome: `done`, `failed`, or still `queued` with the error of this try.
    pub fn record_push_outcome(
        &self,
        push: &QueuedPush,
        state: &str,
        detail: serde_json::Value,
    ) -> Result<(), StoreError> {
        let error = detail["error"].as_str().map(str::to_string);
        self.tx.execute(
            "UPDATE github_pushes SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            params![push.id, state, error, self.now],
        )?;
        let kind = match state {
            "done" => "github_push_done",
            "failed" => "github_push_failed",
            _ => "github_push_retry",
        };
        let mut detail = detail;
        detail["push"] = json!(push.id);
        detail["action"] = json!(push.action);
        if let PushTarget::OutsideGrant { org, grant_id } = &push.target {
            detail["grant_org"] = json!(org);
            detail["grant_id"] = json!(grant_id);
        }
        self.append_event("system", push.target.request_id(), kind, &detail)?;
        Ok(())
    }

    pub fn raise_alert(
        &self,
        kind: AlertKind,
        request_id: Option<i64>,
        message: &str,
    ) -> Result<i64, StoreError> {
        let kind = kind.as_str();
        self.tx.execute(
            "INSERT INTO alerts (kind, request_id, message, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![kind, request_id, message, self.now],
        )?;
        let id = self.tx.last_insert_rowid();
        self.append_event(
            "system",
            request_id,
            "alert",
            &json!({ "alert": id, "kind": kind, "message": message }),
        )?;
        Ok(id)
    }
}

fn json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}
