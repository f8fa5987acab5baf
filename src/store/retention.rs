//! Raw mail is kept for a while, not forever: after `store.keep_raw_days` a mail's bytes are
//! reduced to its header section. What patdesk read from it stays (kind, sender, subject, the
//! answer's text), and so does the SHA-256 of the whole mail: the mail is still recognised if
//! it comes again, and the audit event that recorded it still names its hash. Each reduction
//! is an audit event naming the mails. Mail waiting in triage is kept whole until a person has
//! dealt with it, and so is outgoing mail until it is sent and filed in Sent.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{EventKind, Store, StoreError, Tx};
use crate::mail::header_section;

/// Mails reduced in one commit, at most: one is read at a time, so this bounds the commit,
/// not memory.
const REDUCED_PER_COMMIT: usize = 500;

/// Mail still whole, counted on the partial index `messages_whole`.
const WHOLE_MAILS: &str = "SELECT COUNT(*) FROM messages WHERE reduced_at IS NULL";

/// What one reduction did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reduced {
    pub mails: usize,
    pub bytes_dropped: u64,
}

/// How large the database is, for `patdesk status`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSize {
    pub bytes: u64,
    /// Pages freed (by reduced mail, say) that new rows fill before the file grows.
    pub free_bytes: u64,
    pub whole_mails: u64,
    pub reduced_mails: u64,
}

/// Where a raw mail is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    Messages,
    Outbox,
}

impl Table {
    /// The mails of this table due for reduction: older than ?1, at most ?2.
    fn due(self) -> &'static str {
        match self {
            Table::Messages => {
                // Oldest first by the partial index, which answers all three conditions: the
                // row itself (its raw mail before these columns) is read only to reduce it.
                "SELECT id FROM messages
                 WHERE reduced_at IS NULL AND triage = 0 AND received_at < ?1
                 ORDER BY received_at, id LIMIT ?2"
            }
            Table::Outbox => {
                "SELECT id FROM outbox
                 WHERE reduced_at IS NULL AND raw IS NOT NULL AND state = 'sent' AND filed = 1
                   AND updated_at < ?1 ORDER BY id LIMIT ?2"
            }
        }
    }

    fn read(self) -> &'static str {
        match self {
            Table::Messages => "SELECT raw FROM messages WHERE id = ?1",
            Table::Outbox => "SELECT raw FROM outbox WHERE id = ?1",
        }
    }

    fn write(self) -> &'static str {
        match self {
            Table::Messages => "UPDATE messages SET raw = ?2, reduced_at = ?3 WHERE id = ?1",
            Table::Outbox => "UPDATE outbox SET raw = ?2, reduced_at = ?3 WHERE id = ?1",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Table::Messages => "messages",
            Table::Outbox => "outbox",
        }
    }
}

impl Store {
    /// Reduces every mail (taken in, or sent) older than `before` to its header section, a
    /// commit per `REDUCED_PER_COMMIT` mails.
    pub fn reduce_raw_mail(&mut self, before: &str) -> Result<Reduced, StoreError> {
        let mut total = Reduced::default();
        for table in [Table::Messages, Table::Outbox] {
            loop {
                let reduced = self.write(|tx| tx.reduce_some(table, before))?;
                total.mails += reduced.mails;
                total.bytes_dropped += reduced.bytes_dropped;
                if reduced.mails < REDUCED_PER_COMMIT {
                    break;
                }
            }
        }
        Ok(total)
    }

    pub fn database_size(&self) -> Result<DatabaseSize, StoreError> {
        let pragma = |name: &str| -> Result<u64, StoreError> {
            Ok(self
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))?)
        };
        let page_size = pragma("page_size")?;
        // Both counted on indexes: reading `reduced_at` from the rows would read every mail
        // (it comes after the raw bytes), and `status` asks for this each time.
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(self.conn.query_row(sql, [], |row| row.get(0))?)
        };
        let whole_mails = count(WHOLE_MAILS)?;
        let reduced_mails = count("SELECT COUNT(*) FROM messages")? - whole_mails;
        Ok(DatabaseSize {
            bytes: pragma("page_count")? * page_size,
            free_bytes: pragma("freelist_count")? * page_size,
            whole_mails,
            reduced_mails,
        })
    }
}

impl Tx<'_> {
    /// Reduces up to `REDUCED_PER_COMMIT` mails of `table` older than `before`, one read at a
    /// time, with one audit event naming them.
    fn reduce_some(&self, table: Table, before: &str) -> Result<Reduced, StoreError> {
        let due: Vec<i64> = self
            .tx
            .prepare_cached(table.due())?
            .query_map(params![before, REDUCED_PER_COMMIT], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        let mut reduced = Reduced::default();
        for &id in &due {
            let raw: Option<Vec<u8>> = self
                .tx
                .prepare_cached(table.read())?
                .query_row([id], |row| row.get(0))
                .optional()?
                .flatten();
            let raw = raw.unwrap_or_default();
            let headers = header_section(&raw);
            reduced.bytes_dropped += (raw.len() - headers.len()) as u64;
            self.tx
                .prepare_cached(table.write())?
                .execute(params![id, headers, self.now])?;
            reduced.mails += 1;
        }
        if !due.is_empty() {
            self.append_event(
                "system",
                None,
                EventKind::MailReduced,
                &json!({
                    "table": table.name(),
                    "ids": due,
                    "received_before": before,
                    "kept": "the header section; the hash of the whole mail stays on record",
                    "bytes_dropped": reduced.bytes_dropped,
                }),
            )?;
        }
        Ok(reduced)
    }
}

#[cfg(test)]
mod tests {
    use super::{Table, WHOLE_MAILS};
    use crate::store::Store;

    /// The plan SQLite makes for `sql`, one step a line.
    fn plan(store: &Store, sql: &str) -> String {
        let mut statement = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("plan");
        let unbound = vec![rusqlite::types::Null; statement.parameter_count()];
        let steps = statement
            .query_map(rusqlite::params_from_iter(unbound), |row| {
                row.get::<_, String>(3)
            })
            .expect("steps")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        steps.join("\n")
    }

    #[test]
    fn the_daily_search_and_the_status_count_stay_on_the_index() {
        let dir = tempfile::TempDir::new().expect("dir");
        let store = Store::open(
            &dir.path().join("patdesk.db"),
            &crate::clock::Clock::system(),
        )
        .expect("store");
        // A scan of `messages` would read every mail's raw bytes to reach the columns after.
        for sql in [Table::Messages.due(), WHOLE_MAILS] {
            let plan = plan(&store, sql);
            assert!(
                plan.contains("USING INDEX messages_whole")
                    && !plan.lines().any(|step| step == "SCAN messages"),
                "{sql}: {plan}"
            );
        }
    }
}
