//! What mail intake records: where it is in each folder, which mails it has, and how often it
//! has tried each one.

use rusqlite::{OptionalExtension, params};

use super::{StoreError, Tx};

/// Where intake is in one folder.
/// A folder in one UIDVALIDITY era: where a UID names one mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderEra<'a> {
    pub folder: &'a str,
    pub uidvalidity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    pub uidvalidity: u32,
    pub last_uid: u32,
}

impl super::Store {
    pub fn mailbox_position(&self, mailbox: &str) -> Result<Option<MailboxPosition>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = ?1",
                [mailbox],
                |row| {
                    Ok(MailboxPosition {
                        uidvalidity: row.get(0)?,
                        last_uid: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    /// Remembers how far `mailbox` has been read (for `status` and UIDVALIDITY changes): never
    /// backwards within one UIDVALIDITY.
    pub fn remember_position(
        &mut self,
        mailbox: &str,
        uidvalidity: u32,
        last_uid: u32,
        modseq: Option<u64>,
    ) -> Result<(), StoreError> {
        let last_uid = match self.mailbox_position(mailbox)? {
            Some(previous) if previous.uidvalidity == uidvalidity => {
                previous.last_uid.max(last_uid)
            }
            _ => last_uid,
        };
        let position = MailboxPosition {
            uidvalidity,
            last_uid,
        };
        self.write(|tx| tx.set_mailbox_position(mailbox, &position, modseq))
    }

    /// Those of `uids` tried before without finishing, sorted.
    pub fn tried_before(&self, era: FolderEra<'_>, uids: &[u32]) -> Result<Vec<u32>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT uid FROM intake_attempts
             WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid IN (SELECT value FROM json_each(?3))
             ORDER BY uid",
        )?;
        let uids = statement
            .query_map(
                params![era.folder, era.uidvalidity, json_list(uids)],
                |row| row.get(0),
            )?
            .collect::<Result<_, _>>()?;
        Ok(uids)
    }
}

impl Tx<'_> {
    /// Whether this mail is stored already: at the same place, or (after a UIDVALIDITY
    /// change, or a copy in another folder) with the same Message-ID and content.
    pub fn has_message(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        uid: u32,
        message_id: Option<&str>,
        sha256: &str,
    ) -> Result<bool, StoreError> {
        let at_place: Option<i64> = self
            .tx
            .prepare_cached(
                "SELECT id FROM messages WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
            )?
            .query_row(params![mailbox, uidvalidity, uid], |row| row.get(0))
            .optional()?;
        if at_place.is_some() {
            return Ok(true);
        }
        // Two statements, so each is served by its index (a partial one for mail without a
        // Message-ID).
        let same_content: Option<i64> = match message_id {
            Some(message_id) => self
                .tx
                .prepare_cached(
                    "SELECT id FROM messages
                     WHERE message_id = ?1 AND sha256 = ?2 AND direction = 'in'",
                )?
                .query_row(params![message_id, sha256], |row| row.get(0))
                .optional()?,
            None => self
                .tx
                .prepare_cached(
                    "SELECT id FROM messages
                     WHERE message_id IS NULL AND sha256 = ?1 AND direction = 'in'",
                )?
                .query_row(params![sha256], |row| row.get(0))
                .optional()?,
        };
        Ok(same_content.is_some())
    }

    pub fn set_mailbox_position(
        &self,
        mailbox: &str,
        position: &MailboxPosition,
        highest_modseq: Option<u64>,
    ) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid, highest_modseq, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = ?2, last_uid = ?3,
                highest_modseq = ?4, updated_at = ?5",
            params![
                mailbox,
                position.uidvalidity,
                position.last_uid,
                highest_modseq.and_then(|modseq| i64::try_from(modseq).ok()),
                self.now
            ],
        )?;
        Ok(())
    }

    /// Counts an attempt before it is made; returns how many there have been, this one included.
    pub fn count_intake_attempt(&self, era: FolderEra<'_>, uid: u32) -> Result<u32, StoreError> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT INTO intake_attempts (mailbox, uidvalidity, uid, attempts) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET attempts = attempts + 1
                 RETURNING attempts",
            )?
            .query_row(params![era.folder, era.uidvalidity, uid], |row| {
                row.get(0)
            })?)
    }

    /// Counts one try at each of `uids` in one statement: a whole batch's try is counted
    /// before it is made.
    pub fn count_intake_attempts(
        &self,
        era: FolderEra<'_>,
        uids: &[u32],
    ) -> Result<(), StoreError> {
        self.for_uids(
            "INSERT INTO intake_attempts (mailbox, uidvalidity, uid, attempts)
             SELECT ?1, ?2, value, 1 FROM json_each(?3) WHERE true
             ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE SET attempts = attempts + 1",
            era,
            uids,
        )
    }

    /// Forgets the tries at `uids`, once they are stored.
    pub fn clear_intake_attempts(
        &self,
        era: FolderEra<'_>,
        uids: &[u32],
    ) -> Result<(), StoreError> {
        self.for_uids(
            "DELETE FROM intake_attempts WHERE mailbox = ?1 AND uidvalidity = ?2
             AND uid IN (SELECT value FROM json_each(?3))",
            era,
            uids,
        )
    }

    /// Runs `sql` with ?1 = the mailbox, ?2 = its UIDVALIDITY, ?3 = the UIDs as a JSON list.
    fn for_uids(&self, sql: &str, era: FolderEra<'_>, uids: &[u32]) -> Result<(), StoreError> {
        self.tx.prepare_cached(sql)?.execute(params![
            era.folder,
            era.uidvalidity,
            json_list(uids)
        ])?;
        Ok(())
    }
}

/// `[1,2,3]`: UIDs as one parameter, for SQLite's `json_each`.
fn json_list(uids: &[u32]) -> String {
    serde_json::Value::from(uids).to_string()
}
