//! The team's Slack channel as the daemon last left it: which request has a message there
//! (by its `ts`), and the state that message shows. Not part of the record: a message is a
//! view of a request, and the audit log holds the decisions taken from it.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};
use crate::request::RequestState;

/// How many messages one round posts or updates; the rest wait for the next round.
const ROUND: i64 = 50;

/// A request whose Slack message is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlackDue {
    /// Ready for a decision, with no message yet (or one whose post may not have finished).
    Post { request_id: i64 },
    /// Its message shows a state the request has left.
    Update {
        request_id: i64,
        channel: String,
        ts: String,
    },
}

/// What a message shows of its request, as `slack_messages.shown` keeps it: the state, and
/// for a request in review the approvals it has (`in_review+1`), so a member's approval short
/// of the threshold updates the message too.
pub fn slack_view(state: RequestState, approvals: usize) -> String {
    match (state, approvals) {
        (RequestState::InReview, 1..) => format!("{}+{approvals}", state.as_str()),
        _ => state.as_str().to_string(),
    }
}

impl Store {
    /// The messages to post and to update in `channel`, oldest request first.
    pub fn slack_due(&self, channel: &str) -> Result<Vec<SlackDue>, StoreError> {
        let mut due = Vec::new();
        let mut posts = self.conn.prepare_cached(
            "SELECT r.id FROM requests r LEFT JOIN slack_messages m ON m.request_id = r.id
             WHERE r.state = ?1 AND (m.request_id IS NULL OR m.ts IS NULL OR m.channel <> ?3)
             ORDER BY r.id LIMIT ?2",
        )?;
        // A message in a channel the config no longer names is posted again in the new one.
        for id in posts.query_map(
            params![RequestState::InReview.as_str(), ROUND, channel],
            |row| row.get::<_, i64>(0),
        )? {
            due.push(SlackDue::Post { request_id: id? });
        }
        // As `slack_view` writes it.
        let mut updates = self.conn.prepare_cached(&format!(
            "SELECT r.id, m.channel, m.ts FROM requests r JOIN slack_messages m ON m.request_id = r.id
             WHERE m.ts IS NOT NULL AND m.channel = ?1
               AND m.shown <> r.state || CASE WHEN r.state = 'in_review' THEN
                   COALESCE((SELECT '+' || COUNT(*) FROM events e WHERE {}
                             HAVING COUNT(*) > 0), '')
                   ELSE '' END
             ORDER BY r.id LIMIT ?2",
            super::approvals::standing_for("r")
        ))?;
        for row in updates.query_map(params![channel, ROUND], |row| {
            Ok(SlackDue::Update {
                request_id: row.get(0)?,
                channel: row.get(1)?,
                ts: row.get(2)?,
            })
        })? {
            due.push(row?);
        }
        Ok(due)
    }

    /// A post of request `id`'s message is about to be made.
    pub fn slack_posting(&mut self, id: i64, channel: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.tx.execute(
                "INSERT INTO slack_messages (request_id, channel, ts, shown, updated_at)
                 VALUES (?1, ?2, NULL, '', ?3)
                 ON CONFLICT (request_id) DO UPDATE SET channel = ?2, updated_at = ?3",
                params![id, channel, tx.now],
            )?;
            Ok(())
        })
    }

    /// Request `id`'s message is in `channel` at `ts`, showing `shown` (see [`slack_view`]).
    pub fn slack_shown(
        &mut self,
        id: i64,
        channel: &str,
        ts: &str,
        shown: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.tx.execute(
                "INSERT INTO slack_messages (request_id, channel, ts, shown, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (request_id) DO UPDATE SET channel = ?2, ts = ?3, shown = ?4,
                     updated_at = ?5",
                params![id, channel, ts, shown, tx.now],
            )?;
            Ok(())
        })
    }

    /// Where request `id`'s message is, once posted.
    pub fn slack_message(&self, id: i64) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT channel, ts FROM slack_messages WHERE request_id = ?1 AND ts IS NOT NULL",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?)
    }
}
