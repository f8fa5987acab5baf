//! The alerts table: what the team is told, raised in the transaction that found it, and
//! delivered by the notifier.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::stored::{Stored, StoredName};
use super::{EventKind, StoreError, Tx, format_time, optional_time_at, time_at};
use jiff::Timestamp;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    /// Kept as read, so another version's kind still shows.
    pub kind: Stored<AlertKind>,
    pub request_id: Option<i64>,
    pub message: String,
    #[serde(with = "super::stored_time")]
    pub created_at: Timestamp,
    /// When it was told to the team (Slack, mail); `None` while it waits.
    #[serde(with = "super::stored_time::option")]
    pub delivered_at: Option<Timestamp>,
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
    /// A request ready for a decision has waited past `review.decide_within_hours`.
    DecisionDue,
    /// ... and past twice that: escalated.
    DecisionOverdue,
    /// The config enforces a policy whose backtest finds cases it would have approved that
    /// people denied, not all accepted: it runs in shadow meanwhile.
    PolicyHeldInShadow,
}

impl AlertKind {
    pub const ALL: [AlertKind; 21] = [
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
        AlertKind::DecisionDue,
        AlertKind::DecisionOverdue,
        AlertKind::PolicyHeldInShadow,
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
            AlertKind::DecisionDue => "decision_due",
            AlertKind::DecisionOverdue => "decision_overdue",
            AlertKind::PolicyHeldInShadow => "policy_held_in_shadow",
        }
    }
}

impl StoredName for AlertKind {
    const ALL: &'static [Self] = &AlertKind::ALL;

    fn as_str(self) -> &'static str {
        AlertKind::as_str(self)
    }
}

impl super::Store {
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
                created_at: time_at(row, 4)?,
                delivered_at: optional_time_at(row, 5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether an alert of `kind` naming `part` in its message was raised since `since`: a
    /// stalled part alerts once per outage.
    pub fn alert_about_since(
        &self,
        kind: AlertKind,
        part: &str,
        since: Timestamp,
    ) -> Result<bool, StoreError> {
        let kind = Stored::from(kind);
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE kind = ?1 AND created_at >= ?2
                AND instr(message, ?3) = 1",
            params![kind, format_time(since), part],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }

    /// Whether an alert of `kind` was raised since `since`: a paused outbox alerts once.
    pub fn alert_raised_since(&self, kind: AlertKind, since: &str) -> Result<bool, StoreError> {
        let kind = Stored::from(kind);
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE kind = ?1 AND created_at >= ?2",
            params![kind, since],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }
}

impl Tx<'_> {
    pub fn raise_alert(
        &self,
        kind: AlertKind,
        request_id: Option<i64>,
        message: &str,
    ) -> Result<i64, StoreError> {
        let kind = Stored::from(kind);
        self.tx.execute(
            "INSERT INTO alerts (kind, request_id, message, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![kind, request_id, message, self.now],
        )?;
        let id = self.tx.last_insert_rowid();
        self.append_event(
            "system",
            request_id,
            EventKind::Alert,
            &json!({ "alert": id, "kind": kind, "message": message }),
        )?;
        Ok(id)
    }
}
