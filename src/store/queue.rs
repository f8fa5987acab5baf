//! What the commands leave for the daemon: mail to send (the outbox) and decisions to carry
//! to GitHub. Each is queued once, keyed by an idempotency key, in the transaction that made
//! the decision; the daemon's workers carry them out.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

use super::{PushTarget, StoreError, Tx};
use crate::lifecycle::PushAction;
use crate::mail::Outgoing;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OutboxRecord {
    pub id: i64,
    pub request_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
    /// When its state last changed.
    pub updated_at: String,
    /// Given when the mail is composed; how to find it in a mailbox.
    pub message_id: Option<String>,
}

const OUTBOX_COLUMNS: &str = "id, request_id, kind, recipient, state, attempts, last_error, \
                              created_at, updated_at, message_id";

fn outbox_record(row: &rusqlite::Row) -> rusqlite::Result<OutboxRecord> {
    Ok(OutboxRecord {
        id: row.get(0)?,
        request_id: row.get(1)?,
        kind: row.get(2)?,
        recipient: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        last_error: row.get(6)?,
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
        message_id: row.get(9)?,
    })
}

/// What asking to send a mail again did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// Queued again, from the state it was in.
    Queued { was: String },
    /// Only mail that may not have gone (`uncertain`) or did not go (`failed`) is sent again.
    Refused { state: String },
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PushRecord {
    pub id: i64,
    pub action: String,
    pub reason: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl super::Store {
    pub fn outbox_for(&self, request_id: i64) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE request_id = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_map([request_id], outbox_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Mail that has not certainly gone: queued, being sent, uncertain or failed; by id.
    pub fn mail_not_sent(&self, page: super::Page) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
             WHERE state IN ('queued', 'sending', 'uncertain', 'failed') AND id > ?1
             ORDER BY id LIMIT ?2"
        ))?;
        let rows = statement.query_map(rusqlite::params![page.after, page.limit], outbox_record)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn pushes_for(&self, request_id: i64) -> Result<Vec<PushRecord>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, action, reason, state, attempts, last_error, created_at
             FROM github_pushes WHERE request_id = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map([request_id], |row| {
            Ok(PushRecord {
                id: row.get(0)?,
                action: row.get(1)?,
                reason: row.get(2)?,
                state: row.get(3)?,
                attempts: row.get(4)?,
                last_error: row.get(5)?,
                created_at: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl Tx<'_> {
    /// Queues a mail for the outbox worker. Returns `None` when a mail with the same key was
    /// queued before: asking twice sends once.
    pub fn enqueue_mail(
        &self,
        recipient: &str,
        mail: &Outgoing,
        idempotency_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let request_id = mail.request();
        let kind = mail.kind().as_str();
        let payload = mail.payload();
        let inserted = self.tx.execute(
            "INSERT INTO outbox (request_id, kind, idempotency_key, recipient, payload, state,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?6)
             ON CONFLICT (idempotency_key) DO NOTHING",
            params![
                request_id,
                kind,
                idempotency_key,
                recipient,
                payload.to_string(),
                self.now
            ],
        )?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = self.tx.last_insert_rowid();
        self.append_event(
            "system",
            request_id,
            "mail_queued",
            &json!({ "outbox": id, "kind": kind, "to": recipient }),
        )?;
        Ok(Some(id))
    }

    /// Queues outbox mail `id` again because `by` asked, after checking it did not arrive. It
    /// keeps its bytes and Message-ID: a copy that did arrive after all is the same mail.
    pub fn resend_mail(&self, id: i64, by: &str) -> Result<Resend, StoreError> {
        let mail = self
            .tx
            .query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = ?1"),
                [id],
                outbox_record,
            )
            .optional()?
            .ok_or(StoreError::NoSuchMail(id))?;
        let state = mail.state;
        if !matches!(state.as_str(), "uncertain" | "failed") {
            return Ok(Resend::Refused { state });
        }
        self.tx.execute(
            "UPDATE outbox SET state = 'queued', last_error = NULL, updated_at = ?2 WHERE id = ?1",
            params![id, self.now],
        )?;
        self.append_event(
            by,
            mail.request_id,
            "mail_resend_requested",
            &json!({ "outbox": id, "kind": mail.kind, "to": mail.recipient, "was": state,
                     "message_id": mail.message_id }),
        )?;
        Ok(Resend::Queued { was: state })
    }

    /// Mail about `request_id` that has not been tried yet goes to `recipient` instead, and is
    /// composed afresh for it. Mail that may have gone (sending, uncertain) is left for a person.
    pub fn redirect_queued_mail(
        &self,
        request_id: i64,
        recipient: &str,
    ) -> Result<usize, StoreError> {
        let moved = self.tx.execute(
            "UPDATE outbox SET recipient = ?2, raw = NULL, message_id = NULL, updated_at = ?3
             WHERE request_id = ?1 AND state = 'queued'",
            params![request_id, recipient, self.now],
        )?;
        Ok(moved)
    }

    /// Queues a decision for GitHub. Like mail, once per idempotency key.
    pub fn enqueue_push(
        &self,
        target: &PushTarget,
        action: PushAction,
        reason: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let action = action.as_str();
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
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7)",
            params![
                request_id,
                grant_org,
                grant_id,
                action,
                reason,
                idempotency_key,
                self.now
            ],
        )?;
        let id = self.tx.last_insert_rowid();
        // The push task carries a push only when this event names the member who decided, and
        // the push's target (request, or grant) is the event's.
        let mut detail = json!({ "push": id, "action": action, "reason": reason,
                                 "decided_by": self.member() });
        if let (Some(org), Some(grant_id)) = (grant_org, grant_id) {
            detail["grant_org"] = json!(org);
            detail["grant_id"] = json!(grant_id);
        }
        self.append_event("system", request_id, "github_push_queued", &detail)?;
        Ok(Some(id))
    }
}
