//! The audit heads sent to the team, to be kept off this host: which, when and why, so the
//! next is sent once a day and after each decision, not more often.

use rusqlite::{OptionalExtension, params};

use super::{ChainHead, EventKind, Store, StoreError, Tx, chain, time_at};
use jiff::Timestamp;

/// The last head sent: where the chain stood, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadSent {
    pub head: ChainHead,
    pub sent_at: Timestamp,
}

/// A decision recorded after the last head sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterDecision {
    pub request_id: Option<i64>,
    pub kind: EventKind,
    pub by: String,
}

impl Store {
    pub fn last_head_sent(&self) -> Result<Option<HeadSent>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, hash, sent_at FROM heads_sent ORDER BY seq DESC LIMIT 1",
                [],
                |row| {
                    Ok(HeadSent {
                        head: ChainHead {
                            seq: row.get(0)?,
                            hash: row.get(1)?,
                            mac: None,
                        },
                        sent_at: time_at(row, 2)?,
                    })
                },
            )
            .optional()?)
    }

    /// The latest decision after event `seq`, if there is one.
    pub fn decision_after(&self, seq: i64) -> Result<Option<LaterDecision>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT request_id, kind, actor FROM events
                 WHERE seq > ?1 AND kind IN ({}) ORDER BY seq DESC LIMIT 1",
                EventKind::decisions_sql()
            ))?
            .query_row([seq], |row| {
                Ok(LaterDecision {
                    request_id: row.get(0)?,
                    kind: row.get(1)?,
                    by: row.get(2)?,
                })
            })
            .optional()?)
    }
}

impl Tx<'_> {
    /// Where the chain stands before this transaction appends anything.
    pub fn chain_head(&self) -> Result<Option<ChainHead>, StoreError> {
        chain::head(&self.tx)
    }

    /// Records that `head` is being sent, and why.
    pub fn record_head_sent(&self, head: &ChainHead, why: &str) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO heads_sent (seq, hash, why, sent_at) VALUES (?1, ?2, ?3, ?4)",
            params![head.seq, head.hash, why, self.now],
        )?;
        Ok(())
    }
}
