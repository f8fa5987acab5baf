//! Mail taken in or sent: the raw bytes, kept, with what patdesk read from them.

use rusqlite::OptionalExtension;
use rusqlite::{Row, params};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::stored::{Stored, StoredName, stored_by_name};
use super::{EventKind, StoreError, Tx, optional_time_at, time_at};
use crate::mail::{Analysis, Kind};
use crate::request::RequestState;
use jiff::Timestamp;

/// The SHA-256 of a mail's bytes, in lowercase hex: how a mail is recognised by its content.
pub fn content_hash(raw: &[u8]) -> String {
    format!("{:x}", Sha256::digest(raw))
}

/// A mail to record. `mailbox`, `uidvalidity` and `uid` say where intake found it.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub raw: &'a [u8],
    /// `content_hash(raw)`: the caller has it already, from looking for the mail first.
    pub sha256: &'a str,
    pub analysis: &'a Analysis,
    pub direction: Direction,
    pub mailbox: Option<&'a str>,
    pub uidvalidity: Option<u32>,
    pub uid: Option<u32>,
    pub request_id: Option<i64>,
    /// Why a person should look at it; `None` when nothing needs a person.
    pub triage: Option<&'a str>,
}

/// Which way a mail went: into the team's mailbox, or out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl StoredName for Direction {
    const ALL: &'static [Self] = &[Direction::In, Direction::Out];

    fn as_str(self) -> &'static str {
        Direction::as_str(self)
    }
}

stored_by_name!(Direction, "mail direction");

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MessageRecord {
    pub id: i64,
    pub direction: Direction,
    pub message_id: Option<String>,
    pub kind: Stored<Kind>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub request_id: Option<i64>,
    /// Waiting for a person in `patdesk triage`.
    pub triage: bool,
    /// Why it went to triage, if it did.
    pub triage_note: Option<String>,
    /// How it left triage, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage_closed: Option<TriageClosed>,
    #[serde(with = "super::stored_time")]
    pub received_at: Timestamp,
    /// What the person wrote, for human mail.
    pub reply_text: Option<String>,
}

const COLUMNS: &str = "id, direction, message_id, kind, from_address, subject, request_id, triage_note, received_at, analysis, triage, triage_closed, triage_closed_by, triage_closed_at, triage_closed_reason";

/// How a mail left triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageOutcome {
    /// Taken as the requester's answer by a member who checked it with them.
    Accepted,
    /// Looked at and set aside by a member, with a reason; the mail is kept.
    Dismissed,
}

impl StoredName for TriageOutcome {
    const ALL: &'static [Self] = &[TriageOutcome::Accepted, TriageOutcome::Dismissed];

    fn as_str(self) -> &'static str {
        match self {
            TriageOutcome::Accepted => "accepted",
            TriageOutcome::Dismissed => "dismissed",
        }
    }
}

stored_by_name!(TriageOutcome, "triage outcome");

/// Who took a mail out of triage, when, how and why.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TriageClosed {
    pub outcome: TriageOutcome,
    pub by: String,
    /// When: unknown for mail accepted before patdesk kept it.
    #[serde(default, with = "super::stored_time::option")]
    pub at: Option<Timestamp>,
    pub reason: Option<String>,
}

fn message_from_row(row: &Row) -> Result<MessageRecord, StoreError> {
    let analysis: String = row.get(9)?;
    let analysis: serde_json::Value = serde_json::from_str(&analysis)
        .map_err(|e| StoreError::Corrupt(format!("message analysis: {e}")))?;
    Ok(MessageRecord {
        id: row.get(0)?,
        direction: row.get(1)?,
        message_id: row.get(2)?,
        kind: row.get(3)?,
        from: row.get(4)?,
        subject: row.get(5)?,
        request_id: row.get(6)?,
        triage: row.get(10)?,
        triage_note: row.get(7)?,
        triage_closed: match row.get::<_, Option<TriageOutcome>>(11)? {
            Some(outcome) => Some(TriageClosed {
                outcome,
                by: row
                    .get::<_, Option<String>>(12)?
                    .unwrap_or_else(|| "a member".to_string()),
                at: optional_time_at(row, 13)?,
                reason: row.get(14)?,
            }),
            None => None,
        },
        received_at: time_at(row, 8)?,
        reply_text: analysis["reply_text"].as_str().map(str::to_string),
    })
}

impl super::Store {
    /// The conversation of a request, oldest first.
    pub fn messages_for(&self, request_id: i64) -> Result<Vec<MessageRecord>, StoreError> {
        self.messages_where("request_id = ?1 ORDER BY id", [request_id])
    }

    /// The newest `limit` mails tied to a request, oldest first, and how many there are in
    /// all: mail from outside can tie any number to a request, so `show` reads a bounded few.
    pub fn newest_messages_for(
        &self,
        request_id: i64,
        limit: u32,
    ) -> Result<(Vec<MessageRecord>, u64), StoreError> {
        let newest = self.messages_where(
            "id IN (SELECT id FROM messages WHERE request_id = ?1 ORDER BY id DESC LIMIT ?2)
             ORDER BY id",
            rusqlite::params![request_id, limit],
        )?;
        let all: u64 = self.conn.query_row(
            "SELECT COUNT(*) FROM messages WHERE request_id = ?1",
            [request_id],
            |row| row.get(0),
        )?;
        Ok((newest, all))
    }

    /// Mail a person should look at (not tied to any request, not understood, or not
    /// authenticated), by id, each with the state of the request it is about; with `all`,
    /// also the mail taken out of triage since.
    pub fn triage(&self, page: super::Page, all: bool) -> Result<Vec<TriageItem>, StoreError> {
        let which = if all {
            "(triage = 1 OR triage_closed IS NOT NULL)"
        } else {
            "triage = 1"
        };
        let mail = self.messages_where(
            &format!("{which} AND id > ?1 ORDER BY id LIMIT ?2"),
            rusqlite::params![page.after, page.limit],
        )?;
        let mut state_of = self
            .conn
            .prepare_cached("SELECT state FROM requests WHERE id = ?1")?;
        mail.into_iter()
            .map(|mail| {
                let state: Option<String> = match mail.request_id {
                    Some(id) => state_of.query_row([id], |row| row.get(0)).optional()?,
                    None => None,
                };
                let request_state = state
                    .map(|state| state.parse::<RequestState>())
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("request state: {e}")))?;
                Ok(TriageItem {
                    mail,
                    request_state,
                })
            })
            .collect()
    }

    fn messages_where(
        &self,
        condition: &str,
        values: impl rusqlite::Params,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE {condition}"))?;
        let mut rows = statement.query(values)?;
        let mut messages = Vec::new();
        while let Some(row) = rows.next()? {
            messages.push(message_from_row(row)?);
        }
        Ok(messages)
    }
}

/// A mail in triage, with the state of the request it is about (when it is about one): an
/// unverified answer about a request decided since is late, and is shown so.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TriageItem {
    #[serde(flatten)]
    pub mail: MessageRecord,
    pub request_state: Option<RequestState>,
}

/// An answer from the requester's address that was not authenticated, waiting in triage.
#[derive(Debug, Clone)]
pub struct UnverifiedAnswer {
    pub request_id: i64,
    /// What the person wrote.
    pub text: String,
}

impl Tx<'_> {
    /// Triage mail `id`, when it is an answer about a request with text to take.
    pub fn unverified_answer(&self, id: i64) -> Result<UnverifiedAnswer, StoreError> {
        let row: Option<(i64, Option<i64>, Stored<Kind>, String)> = self
            .tx
            .query_row(
                "SELECT triage, request_id, kind, analysis FROM messages WHERE id = ?1 AND direction = ?2",
                params![id, Direction::In],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .optional()?;
        let Some((triage, request_id, kind, analysis)) = row else {
            return Err(StoreError::NoSuchMessage(id));
        };
        let text = serde_json::from_str::<serde_json::Value>(&analysis)
            .ok()
            .and_then(|analysis| analysis["reply_text"].as_str().map(str::to_string));
        match (triage, request_id, kind.known(), text) {
            (1, Some(request_id), Some(Kind::Human), Some(text)) => {
                Ok(UnverifiedAnswer { request_id, text })
            }
            (1, ..) => Err(StoreError::NotAnAnswer(id)),
            _ => Err(self.why_not_in_triage(id)?),
        }
    }

    /// Takes mail `id` out of triage: `by` accepted it as the requester's answer.
    pub fn accept_triaged_answer(&self, id: i64, by: &str) -> Result<(), StoreError> {
        let request_id = self.close_triage(id, TriageOutcome::Accepted, by, None)?;
        self.append_event(
            by,
            request_id,
            EventKind::UnverifiedAnswerAccepted,
            &json!({ "message": id }),
        )?;
        Ok(())
    }

    /// Takes mail `id` out of triage without changing anything else: `by` looked at it and
    /// set it aside for `reason`. The mail stays in the records. Returns the request it was
    /// about, if any.
    pub fn dismiss_triaged(
        &self,
        id: i64,
        by: &str,
        reason: &str,
    ) -> Result<Option<i64>, StoreError> {
        let request_id = self.close_triage(id, TriageOutcome::Dismissed, by, Some(reason))?;
        self.append_event(
            by,
            request_id,
            EventKind::TriageDismissed,
            &json!({ "message": id, "reason": reason }),
        )?;
        Ok(request_id)
    }

    /// Marks mail `id`, waiting in triage, as out of it; returns the request it is about.
    fn close_triage(
        &self,
        id: i64,
        outcome: TriageOutcome,
        by: &str,
        reason: Option<&str>,
    ) -> Result<Option<i64>, StoreError> {
        let closed: Option<Option<i64>> = self
            .tx
            .query_row(
                "UPDATE messages SET triage = 0, triage_closed = ?2, triage_closed_by = ?3,
                     triage_closed_at = ?4, triage_closed_reason = ?5
                 WHERE id = ?1 AND direction = ?6 AND triage = 1 RETURNING request_id",
                params![id, outcome, by, self.now, reason, Direction::In],
                |row| row.get(0),
            )
            .optional()?;
        match closed {
            Some(request_id) => Ok(request_id),
            None => Err(self.why_not_in_triage(id)?),
        }
    }

    /// The error for mail `id` that is not waiting in triage.
    fn why_not_in_triage(&self, id: i64) -> Result<StoreError, StoreError> {
        let known: Option<Option<TriageOutcome>> = self
            .tx
            .query_row(
                "SELECT triage_closed FROM messages WHERE id = ?1 AND direction = ?2",
                params![id, Direction::In],
                |row| row.get(0),
            )
            .optional()?;
        Ok(match known {
            None => StoreError::NoSuchMessage(id),
            Some(Some(outcome)) => StoreError::TriageClosed { id, outcome },
            Some(None) => StoreError::NotInTriage(id),
        })
    }

    pub fn insert_message(&self, message: &NewMessage<'_>) -> Result<i64, StoreError> {
        let analysis = serde_json::to_string(message.analysis)
            .map_err(|e| StoreError::Corrupt(format!("message analysis: {e}")))?;
        let sha256 = message.sha256;
        self.tx.prepare_cached(
            "INSERT INTO messages (direction, mailbox, uidvalidity, uid, message_id, sha256, raw,
                kind, from_address, subject, analysis, request_id, triage, triage_note, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
                message.direction,
                message.mailbox,
                message.uidvalidity,
                message.uid,
                message.analysis.message_id,
                sha256,
                message.raw,
                Stored::from(message.analysis.kind),
                message.analysis.from,
                message.analysis.subject,
                analysis,
                message.request_id,
                message.triage.is_some(),
                message.triage,
                self.now,
        ])?;
        let id = self.tx.last_insert_rowid();
        self.append_event(
            "system",
            message.request_id,
            EventKind::MailRecorded,
            &MailRecorded {
                kind: message.analysis.kind,
                message: id,
                message_id: message.analysis.message_id.as_deref(),
                sha256,
                triage: message.triage,
            },
        )?;
        Ok(id)
    }
}

/// The detail of a `mail_recorded` event: one per mail stored, so a struct rather than a
/// `json!` value, with its keys in the order `json!` gives them.
#[derive(Serialize)]
struct MailRecorded<'a> {
    kind: Kind,
    message: i64,
    message_id: Option<&'a str>,
    sha256: &'a str,
    triage: Option<&'a str>,
}
