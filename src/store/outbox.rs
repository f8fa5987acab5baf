//! The outbox table: mail waiting to be sent, and what became of each. A command queues a
//! mail in the transaction that made its decision; the outbox worker sends it.

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::stored::{Stored, StoredName, sql_list, stored_by_name};
use super::{EventKind, StoreError, Tx, parse_time, time_at};
use crate::mail::{Outgoing, OutgoingKind};
use crate::request::RequestState;
use jiff::Timestamp;

/// Where an outbox mail stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for the worker.
    Queued,
    /// Handed to the SMTP conversation, committed before it starts.
    Sending,
    Sent,
    /// The conversation broke off after the data: it may have gone.
    Uncertain,
    Failed,
}

impl OutboxState {
    /// Mail that has left, or may have.
    const MAY_HAVE_GONE: [OutboxState; 3] = [
        OutboxState::Sent,
        OutboxState::Sending,
        OutboxState::Uncertain,
    ];

    /// Mail that has not certainly gone.
    const NOT_SENT: [OutboxState; 4] = [
        OutboxState::Queued,
        OutboxState::Sending,
        OutboxState::Uncertain,
        OutboxState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Uncertain => "uncertain",
            OutboxState::Failed => "failed",
        }
    }
}

impl StoredName for OutboxState {
    const ALL: &'static [Self] = &[
        OutboxState::Queued,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Uncertain,
        OutboxState::Failed,
    ];

    fn as_str(self) -> &'static str {
        OutboxState::as_str(self)
    }
}

stored_by_name!(OutboxState, "outbox state");

/// How one try to send a mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    Failed,
    /// It may have gone: never resent by itself.
    Uncertain,
    /// A transient error: queued again.
    Retry,
}

impl MailOutcome {
    fn state(self) -> OutboxState {
        match self {
            MailOutcome::Sent => OutboxState::Sent,
            MailOutcome::Failed => OutboxState::Failed,
            MailOutcome::Uncertain => OutboxState::Uncertain,
            MailOutcome::Retry => OutboxState::Queued,
        }
    }

    fn event(self) -> EventKind {
        match self {
            MailOutcome::Sent => EventKind::MailSent,
            MailOutcome::Failed => EventKind::MailFailed,
            MailOutcome::Uncertain => EventKind::MailUncertain,
            MailOutcome::Retry => EventKind::MailRetry,
        }
    }
}

/// One row of the outbox: what `outbox list` and `show` print, and what the worker sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutboxMail {
    pub id: i64,
    pub request_id: Option<i64>,
    /// Its template's name.
    pub kind: Stored<OutgoingKind>,
    pub recipient: String,
    pub state: OutboxState,
    pub attempts: i64,
    pub last_error: Option<String>,
    #[serde(with = "super::stored_time")]
    pub created_at: Timestamp,
    /// When its state last changed.
    #[serde(with = "super::stored_time")]
    pub updated_at: Timestamp,
    /// Set once composed; the same on every retry. How to find it in a mailbox.
    pub message_id: Option<String>,
    /// What the template needs, as queued. Only the worker reads it; it stays in the daemon.
    #[serde(skip)]
    pub payload: serde_json::Value,
    /// The bytes once composed.
    #[serde(skip)]
    pub raw: Option<Vec<u8>>,
}

impl OutboxMail {
    /// The mail as its template reads it.
    pub fn letter(&self) -> Result<Outgoing, String> {
        Outgoing::from_stored(self.kind.as_str(), &self.payload)
    }
}

const COLUMNS: &str = "id, request_id, kind, recipient, state, attempts, last_error, \
                       created_at, updated_at, message_id, payload, raw";

fn mail_from_row(row: &rusqlite::Row) -> Result<OutboxMail, StoreError> {
    let payload: String = row.get(10)?;
    Ok(OutboxMail {
        id: row.get(0)?,
        request_id: row.get(1)?,
        kind: row.get(2)?,
        recipient: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        last_error: row.get(6)?,
        created_at: time_at(row, 7)?,
        updated_at: time_at(row, 8)?,
        message_id: row.get(9)?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
        raw: row.get(11)?,
    })
}

fn mail_in_state(
    conn: &rusqlite::Connection,
    state: OutboxState,
) -> Result<Vec<OutboxMail>, StoreError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE state = ?1 ORDER BY id"
    ))?;
    let mails = statement.query_and_then([state], mail_from_row)?;
    mails.collect()
}

/// What asking to send a mail again did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resend {
    /// Queued again, from the state it was in.
    Queued { was: OutboxState },
    /// Only mail that may not have gone (`uncertain`) or did not go (`failed`) is sent again.
    Refused { state: OutboxState },
}

const INTERRUPTED: &str =
    "patdesk stopped during the SMTP conversation: the mail may have been sent";

impl super::Store {
    pub fn outbox_for(&self, request_id: i64) -> Result<Vec<OutboxMail>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE request_id = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_and_then([request_id], mail_from_row)?;
        rows.collect()
    }

    /// Mail that has not certainly gone: queued, being sent, uncertain or failed; by id.
    pub fn mail_not_sent(&self, page: super::Page) -> Result<Vec<OutboxMail>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox
             WHERE state IN ({}) AND id > ?1 ORDER BY id LIMIT ?2",
            sql_list(OutboxState::NOT_SENT.map(OutboxState::as_str))
        ))?;
        let rows = statement.query_and_then(params![page.after, page.limit], mail_from_row)?;
        rows.collect()
    }

    /// Mail to send now: queued, oldest first.
    pub fn queued_mail(&self) -> Result<Vec<OutboxMail>, StoreError> {
        mail_in_state(&self.conn, OutboxState::Queued)
    }

    /// Mail that may or may not have gone, oldest first.
    pub fn uncertain_mail(&self) -> Result<Vec<OutboxMail>, StoreError> {
        mail_in_state(&self.conn, OutboxState::Uncertain)
    }

    /// Sent mail whose copy is not yet in the Sent folder, oldest first, at most `limit`: its
    /// outbox id and the bytes that were sent.
    pub fn unfiled_sent_mail(&self, limit: usize) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, raw FROM outbox
             WHERE state = ?1 AND filed = 0 AND raw IS NOT NULL ORDER BY id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![OutboxState::Sent, limit], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that the copy of outbox mail `id` is in the Sent folder.
    pub fn mark_mail_filed(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE outbox SET filed = 1 WHERE id = ?1", [id])?;
        Ok(())
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
        let kind = mail.kind();
        let inserted = self.tx.execute(
            "INSERT INTO outbox (request_id, kind, idempotency_key, recipient, payload, state,
                created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (idempotency_key) DO NOTHING",
            params![
                request_id,
                Stored::from(kind),
                idempotency_key,
                recipient,
                mail.payload().to_string(),
                OutboxState::Queued,
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
            EventKind::MailQueued,
            &json!({ "outbox": id, "kind": kind.as_str(), "to": recipient }),
        )?;
        Ok(Some(id))
    }

    /// Queues outbox mail `id` again because `by` asked, after checking it did not arrive. It
    /// keeps its bytes and Message-ID: a copy that did arrive after all is the same mail.
    pub fn resend_mail(&self, id: i64, by: &str) -> Result<Resend, StoreError> {
        let mut statement = self
            .tx
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?;
        let mail = statement
            .query_and_then([id], mail_from_row)?
            .next()
            .transpose()?
            .ok_or(StoreError::NoSuchMail(id))?;
        let state = mail.state;
        match state {
            OutboxState::Uncertain | OutboxState::Failed => {}
            OutboxState::Queued | OutboxState::Sending | OutboxState::Sent => {
                return Ok(Resend::Refused { state });
            }
        }
        self.tx.execute(
            "UPDATE outbox SET state = ?2, last_error = NULL, updated_at = ?3 WHERE id = ?1",
            params![id, OutboxState::Queued, self.now],
        )?;
        self.append_event(
            by,
            mail.request_id,
            EventKind::MailResendRequested,
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
             WHERE request_id = ?1 AND state = ?4",
            params![request_id, recipient, self.now, OutboxState::Queued],
        )?;
        Ok(moved)
    }

    /// Keeps the composed mail and marks it as being sent: committed before the SMTP
    /// conversation, so after a crash patdesk knows the mail may have gone.
    pub fn mark_mail_sending(
        &self,
        id: i64,
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE outbox SET state = ?5, message_id = ?2, raw = ?3, attempts = attempts + 1,
                updated_at = ?4 WHERE id = ?1",
            params![id, message_id, raw, self.now, OutboxState::Sending],
        )?;
        Ok(())
    }

    /// Mail left `sending` by a stop in the middle of its SMTP conversation (a crash, a kill):
    /// it may have gone, so it becomes `uncertain`, with its event, and is never resent by
    /// itself. Returns how many.
    pub fn settle_interrupted_sends(&self) -> Result<usize, StoreError> {
        let interrupted = mail_in_state(&self.tx, OutboxState::Sending)?;
        for mail in &interrupted {
            self.record_mail_outcome(mail, MailOutcome::Uncertain, Some(INTERRUPTED))?;
        }
        Ok(interrupted.len())
    }

    /// Settles an `uncertain` mail by what the Sent folder holds: found there, it was sent;
    /// missing from a folder the server fills itself, it was never accepted and is queued
    /// again, to go with the same bytes and Message-ID.
    pub fn settle_uncertain(&self, mail: &OutboxMail, found: bool) -> Result<(), StoreError> {
        let (state, kind) = if found {
            (OutboxState::Sent, EventKind::MailFoundInSent)
        } else {
            (OutboxState::Queued, EventKind::MailNotInSent)
        };
        self.tx.execute(
            "UPDATE outbox SET state = ?2, last_error = NULL, updated_at = ?3, filed = ?4
             WHERE id = ?1 AND state = ?5",
            params![mail.id, state, self.now, found, OutboxState::Uncertain],
        )?;
        self.append_event(
            "system",
            mail.request_id,
            kind,
            &json!({ "outbox": mail.id, "kind": mail.kind, "to": mail.recipient,
                     "message_id": mail.message_id }),
        )?;
        Ok(())
    }

    /// How a try ended, with its event.
    pub fn record_mail_outcome(
        &self,
        mail: &OutboxMail,
        outcome: MailOutcome,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            params![mail.id, outcome.state(), error, self.now],
        )?;
        self.append_event(
            "system",
            mail.request_id,
            outcome.event(),
            &json!({ "outbox": mail.id, "kind": mail.kind, "to": mail.recipient, "error": error }),
        )?;
        Ok(())
    }
}

impl super::Store {
    /// Mail that has left, or may have left, since `since` (an RFC 3339 time): to `recipient`
    /// (any case), or to anyone. The rate guards count these.
    pub fn mail_sent_since(
        &self,
        recipient: Option<&str>,
        since: &str,
    ) -> Result<usize, StoreError> {
        let count: i64 = self
            .conn
            .prepare_cached(&format!(
                "SELECT COUNT(*) FROM outbox
             WHERE state IN ({}) AND updated_at >= ?1
               AND (?2 IS NULL OR lower(recipient) = lower(?2))",
                sql_list(OutboxState::MAY_HAVE_GONE.map(OutboxState::as_str))
            ))?
            .query_row(params![since, recipient], |row| row.get(0))?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }
}

impl super::Store {
    /// The Message-IDs of a request's conversation so far, oldest first: what patdesk sent (or
    /// may have) and what the requester's replies threaded onto it. A new mail about the request
    /// answers the last and references them all, so it lands in the same thread.
    pub fn conversation_ids(&self, request_id: i64) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT message_id FROM (
                 SELECT message_id, updated_at AS at FROM outbox
                 WHERE request_id = ?1 AND message_id IS NOT NULL
                   AND state IN ({})
                 UNION ALL
                 SELECT message_id, received_at AS at FROM messages
                 WHERE request_id = ?1 AND direction = 'in' AND message_id IS NOT NULL
                   AND triage = 0 AND triage_closed IS NOT 'dismissed'
             ) ORDER BY at",
            sql_list(OutboxState::MAY_HAVE_GONE.map(OutboxState::as_str))
        ))?;
        let ids = statement
            .query_map([request_id], |row| row.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids
            .into_iter()
            .map(|id| id.trim_matches(['<', '>']).to_string())
            .filter(|id| !id.is_empty())
            .collect())
    }
}

/// A request still waiting for its purpose, and where its asking stands.
#[derive(Debug, Clone)]
pub struct UnansweredQuestion {
    pub request_id: i64,
    pub recipient: String,
    /// The question's payload: a reminder says the same.
    pub payload: serde_json::Value,
    pub reminders: usize,
    /// When the question or the last reminder left.
    pub last_asked: Timestamp,
}

impl Tx<'_> {
    /// Requests waiting for their purpose whose question (and every reminder so far) has left,
    /// none still waiting in the outbox.
    pub fn unanswered_questions(&self) -> Result<Vec<UnansweredQuestion>, StoreError> {
        // ?1 question, ?2 reminder, ?3 awaiting_purpose, ?4…?5 gone, ?6…?7 waiting.
        let mut statement = self.tx.prepare_cached(
            "SELECT r.id, q.recipient, q.payload,
                    (SELECT COUNT(*) FROM outbox m WHERE m.request_id = r.id AND m.kind = ?2),
                    (SELECT MAX(m.updated_at) FROM outbox m WHERE m.request_id = r.id
                        AND m.kind IN (?1, ?2))
             FROM requests r JOIN outbox q ON q.request_id = r.id AND q.kind = ?1
             WHERE r.state = ?3 AND q.state IN (?4, ?5)
               AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.request_id = r.id
                   AND m.kind IN (?1, ?2) AND m.state IN (?6, ?7))
             ORDER BY r.id",
        )?;
        let asking = params![
            Stored::from(OutgoingKind::Question),
            Stored::from(OutgoingKind::Reminder),
            RequestState::AwaitingPurpose.as_str(),
            OutboxState::Sent,
            OutboxState::Uncertain,
            OutboxState::Queued,
            OutboxState::Sending,
        ];
        let rows = statement.query_map(asking, |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, String>(4)?,
            ))
        })?;
        let mut unanswered = Vec::new();
        for row in rows {
            let (request_id, recipient, payload, reminders, last_asked) = row?;
            unanswered.push(UnansweredQuestion {
                request_id,
                recipient,
                payload: serde_json::from_str(&payload)
                    .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
                reminders: usize::try_from(reminders).unwrap_or(usize::MAX),
                last_asked: parse_time(&last_asked)?,
            });
        }
        Ok(unanswered)
    }
}
