//! The outbox worker's side of the store: what to send, and what became of it.

use rusqlite::params;
use serde_json::json;

use super::{StoreError, Tx};

/// A mail waiting in the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: i64,
    pub request_id: Option<i64>,
    pub kind: String,
    pub recipient: String,
    pub payload: serde_json::Value,
    /// Set once composed; the same on every retry.
    pub message_id: Option<String>,
    pub raw: Option<Vec<u8>>,
    pub attempts: i64,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
}

const INTERRUPTED: &str =
    "patdesk stopped during the SMTP conversation: the mail may have been sent";

impl super::Store {
    /// Mail to send now: queued, oldest first.
    pub fn queued_mail(&self) -> Result<Vec<OutgoingMail>, StoreError> {
        mail_in_state(&self.conn, "queued")
    }

    /// Sent mail whose copy is not yet in the Sent folder, oldest first, at most `limit`: its
    /// outbox id and the bytes that were sent.
    pub fn unfiled_sent_mail(&self, limit: usize) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, raw FROM outbox
             WHERE state = 'sent' AND filed = 0 AND raw IS NOT NULL ORDER BY id LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map([limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records that the copy of outbox mail `id` is in the Sent folder.
    pub fn mark_mail_filed(&self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute("UPDATE outbox SET filed = 1 WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Mail that may or may not have gone, oldest first.
    pub fn uncertain_mail(&self) -> Result<Vec<OutgoingMail>, StoreError> {
        mail_in_state(&self.conn, "uncertain")
    }
}

fn mail_in_state(
    conn: &rusqlite::Connection,
    state: &str,
) -> Result<Vec<OutgoingMail>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, request_id, kind, recipient, payload, message_id, raw, attempts, updated_at
         FROM outbox WHERE state = ?1 ORDER BY id",
    )?;
    let mails = statement.query_and_then([state], |row| {
        let payload: String = row.get(4)?;
        Ok::<_, StoreError>(OutgoingMail {
            id: row.get(0)?,
            request_id: row.get(1)?,
            kind: row.get(2)?,
            recipient: row.get(3)?,
            payload: serde_json::from_str(&payload)
                .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
            message_id: row.get(5)?,
            raw: row.get(6)?,
            attempts: row.get(7)?,
            updated_at: row.get(8)?,
        })
    })?;
    mails.collect()
}

impl Tx<'_> {
    /// Keeps the composed mail and marks it as being sent: committed before the SMTP
    /// conversation, so after a crash patdesk knows the mail may have gone.
    pub fn mark_mail_sending(
        &self,
        id: i64,
        message_id: &str,
        raw: &[u8],
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE outbox SET state = 'sending', message_id = ?2, raw = ?3, attempts = attempts + 1,
                updated_at = ?4 WHERE id = ?1",
            params![id, message_id, raw, self.now],
        )?;
        Ok(())
    }

    /// Mail left `sending` by a stop in the middle of its SMTP conversation (a crash, a kill):
    /// it may have gone, so it becomes `uncertain`, with its event, and is never resent by
    /// itself. Returns how many.
    pub fn settle_interrupted_sends(&self) -> Result<usize, StoreError> {
        let interrupted = mail_in_state(&self.tx, "sending")?;
        for mail in &interrupted {
            self.record_mail_outcome(mail, "uncertain", Some(INTERRUPTED))?;
        }
        Ok(interrupted.len())
    }

    /// Settles an `uncertain` mail by what the Sent folder holds: found there, it was sent;
    /// missing from a folder the server fills itself, it was never accepted and is queued
    /// again, to go with the same bytes and Message-ID.
    pub fn settle_uncertain(&self, mail: &OutgoingMail, found: bool) -> Result<(), StoreError> {
        let (state, kind) = if found {
            ("sent", "mail_found_in_sent")
        } else {
            ("queued", "mail_not_in_sent")
        };
        self.tx.execute(
            "UPDATE outbox SET state = ?2, last_error = NULL, updated_at = ?3, filed = ?4
             WHERE id = ?1 AND state = 'uncertain'",
            params![mail.id, state, self.now, found],
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

    /// `sent`, `failed`, `uncertain`, or `queued` again (a transient error), with its event.
    pub fn record_mail_outcome(
        &self,
        mail: &OutgoingMail,
        state: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            params![mail.id, state, error, self.now],
        )?;
        let kind = match state {
            "sent" => "mail_sent",
            "failed" => "mail_failed",
            "uncertain" => "mail_uncertain",
            _ => "mail_retry",
        };
        self.append_event(
            "system",
            mail.request_id,
            kind,
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
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM outbox
             WHERE state IN ('sent', 'sending', 'uncertain') AND updated_at >= ?1
               AND (?2 IS NULL OR lower(recipient) = lower(?2))",
            params![since, recipient],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Whether an alert of `kind` naming `part` in its message was raised since `since`: a
    /// stalled part alerts once per outage.
    pub fn alert_about_since(
        &self,
        kind: super::AlertKind,
        part: &str,
        since: &str,
    ) -> Result<bool, StoreError> {
        let kind = kind.as_str();
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE kind = ?1 AND created_at >= ?2
                AND instr(message, ?3) = 1",
            params![kind, since, part],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }

    /// Whether an alert of `kind` was raised since `since`: a paused outbox alerts once.
    pub fn alert_raised_since(
        &self,
        kind: super::AlertKind,
        since: &str,
    ) -> Result<bool, StoreError> {
        let kind = kind.as_str();
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM alerts WHERE kind = ?1 AND created_at >= ?2",
            params![kind, since],
            |row| row.get(0),
        )?;
        Ok(count > 0)
    }
}

impl super::Store {
    /// The Message-IDs of a request's conversation so far, oldest first: what patdesk sent (or
    /// may have) and what the requester's replies threaded onto it. A new mail about the request
    /// answers the last and references them all, so it lands in the same thread.
    pub fn conversation_ids(&self, request_id: i64) -> Result<Vec<String>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT message_id FROM (
                 SELECT message_id, updated_at AS at FROM outbox
                 WHERE request_id = ?1 AND message_id IS NOT NULL
                   AND state IN ('sent', 'sending', 'uncertain')
                 UNION ALL
                 SELECT message_id, received_at AS at FROM messages
                 WHERE request_id = ?1 AND direction = 'in' AND message_id IS NOT NULL
                   AND triage = 0
             ) ORDER BY at",
        )?;
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
    pub last_asked: String,
}

impl Tx<'_> {
    /// Requests waiting for their purpose whose question (and every reminder so far) has left,
    /// none still waiting in the outbox.
    pub fn unanswered_questions(&self) -> Result<Vec<UnansweredQuestion>, StoreError> {
        let mut statement = self.tx.prepare_cached(
            "SELECT r.id, q.recipient, q.payload,
                    (SELECT COUNT(*) FROM outbox m WHERE m.request_id = r.id AND m.kind = 'reminder'),
                    (SELECT MAX(m.updated_at) FROM outbox m WHERE m.request_id = r.id
                        AND m.kind IN ('question', 'reminder'))
             FROM requests r JOIN outbox q ON q.request_id = r.id AND q.kind = 'question'
             WHERE r.state = 'awaiting_purpose' AND q.state IN ('sent', 'uncertain')
               AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.request_id = r.id
                   AND m.kind IN ('question', 'reminder') AND m.state IN ('queued', 'sending'))
             ORDER BY r.id",
        )?;
        let rows = statement.query_map([], |row| {
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
                last_asked,
            });
        }
        Ok(unanswered)
    }
}
