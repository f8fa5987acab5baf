//! The approved tokens whose request patdesk never saw: approved before patdesk was installed,
//! or on GitHub's pages between two syncs. GitHub's listing is their only record; patdesk
//! keeps what it needs to alert once for each (unused too long, never expiring), to count
//! them in the weekly report and to revoke one by its grant (a push of its own, see
//! `PushTarget::OutsideGrant`), and forgets a token GitHub no longer lists.

use std::collections::HashSet;

use rusqlite::{OptionalExtension, params};

use super::{EventKind, PushState, Store, StoreError, Tx, format_time, optional_time_at, time_at};
use jiff::Timestamp;

/// One such token, as GitHub lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideToken {
    pub grant_id: i64,
    pub owner_login: String,
    pub token_name: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub granted_at: Option<Timestamp>,
}

/// One such token, as `patdesk list --outside` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutsideTokenRow {
    pub org: String,
    pub grant_id: i64,
    pub owner_login: String,
    pub token_name: Option<String>,
    #[serde(with = "super::stored_time::option")]
    pub token_expires_at: Option<Timestamp>,
    #[serde(with = "super::stored_time::option")]
    pub token_last_used_at: Option<Timestamp>,
    #[serde(with = "super::stored_time::option")]
    pub access_granted_at: Option<Timestamp>,
    #[serde(with = "super::stored_time")]
    pub first_seen_at: Timestamp,
    /// Unused too long (alerted for, until used again).
    pub stale: bool,
    /// An engineer's revocation, as far as it has come.
    #[serde(default)]
    pub revocation: Option<PushState>,
}

/// An engineer's revocation of an outside token, as the audit log keeps it: the token's row
/// is forgotten once GitHub no longer lists it, the event stays, for the records sheet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutsideRevocation {
    pub org: String,
    pub grant_id: i64,
    pub owner_login: String,
    pub token_name: Option<String>,
    #[serde(with = "super::stored_time::option")]
    pub access_granted_at: Option<Timestamp>,
    pub revoked_by: String,
    #[serde(with = "super::stored_time")]
    pub revoked_at: Timestamp,
    pub reason: String,
    pub note: Option<String>,
    pub event_seq: i64,
    pub event_hash: String,
}

/// What was found once per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideMark {
    Stale,
    Lifetime,
}

impl OutsideMark {
    fn column(self) -> &'static str {
        match self {
            OutsideMark::Stale => "stale_alerted_at",
            OutsideMark::Lifetime => "lifetime_alerted_at",
        }
    }
}

/// How many there are, for the weekly report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutsideCounts {
    pub total: u64,
    pub stale: u64,
    pub without_expiry: u64,
}

impl Tx<'_> {
    /// `tokens` are `org`'s outside tokens now: each recorded (its facts updated where they
    /// changed; a token used since is no longer stale), and the ones GitHub no longer lists
    /// forgotten.
    pub fn record_outside_tokens(
        &self,
        org: &str,
        tokens: &[OutsideToken],
    ) -> Result<(), StoreError> {
        let mut upsert = self.tx.prepare_cached(
            "INSERT INTO outside_tokens (org, grant_id, owner_login, token_name, token_expires_at,
                token_last_used_at, access_granted_at, first_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (org, grant_id) DO UPDATE SET owner_login = excluded.owner_login,
                token_name = excluded.token_name, token_expires_at = excluded.token_expires_at,
                token_last_used_at = excluded.token_last_used_at,
                -- Used since: no longer stale; a later lapse is alerted for again.
                stale_alerted_at = CASE
                    WHEN token_last_used_at IS excluded.token_last_used_at THEN stale_alerted_at
                END
             WHERE owner_login IS NOT excluded.owner_login OR token_name IS NOT excluded.token_name
                OR token_expires_at IS NOT excluded.token_expires_at
                OR token_last_used_at IS NOT excluded.token_last_used_at",
        )?;
        for token in tokens {
            upsert.execute(params![
                org,
                token.grant_id,
                token.owner_login,
                token.token_name,
                token.expires_at.map(format_time),
                token.last_used_at.map(format_time),
                token.granted_at.map(format_time),
                self.now
            ])?;
        }
        let listed: HashSet<i64> = tokens.iter().map(|token| token.grant_id).collect();
        let known: Vec<i64> = self
            .tx
            .prepare_cached("SELECT grant_id FROM outside_tokens WHERE org = ?1")?
            .query_map([org], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        for gone in known.into_iter().filter(|id| !listed.contains(id)) {
            self.tx.execute(
                "DELETE FROM outside_tokens WHERE org = ?1 AND grant_id = ?2",
                params![org, gone],
            )?;
        }
        Ok(())
    }

    /// The outside token `org:grant_id`, as last listed.
    pub fn outside_token(&self, org: &str, grant_id: i64) -> Result<OutsideToken, StoreError> {
        self.tx
            .query_row(
                "SELECT grant_id, owner_login, token_name, token_expires_at, token_last_used_at,
                    access_granted_at
                 FROM outside_tokens WHERE org = ?1 AND grant_id = ?2",
                params![org, grant_id],
                |row| {
                    Ok(OutsideToken {
                        grant_id: row.get(0)?,
                        owner_login: row.get(1)?,
                        token_name: row.get(2)?,
                        expires_at: optional_time_at(row, 3)?,
                        last_used_at: optional_time_at(row, 4)?,
                        granted_at: optional_time_at(row, 5)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::NoSuchGrant {
                org: org.to_string(),
                grant_id,
            })
    }

    /// `queued` or `done` when a revocation of the grant is on its way or went through,
    /// which makes another pointless; a failed one does not.
    pub fn grant_revocation_standing(
        &self,
        org: &str,
        grant_id: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(self.tx.query_row(
            "SELECT MAX(state) FROM github_pushes
             WHERE grant_org = ?1 AND grant_id = ?2 AND state IN ('queued', 'done')",
            params![org, grant_id],
            |row| row.get(0),
        )?)
    }

    /// Marks what was found of a token, once: whether this call did.
    pub fn mark_outside_token(
        &self,
        org: &str,
        grant_id: i64,
        mark: OutsideMark,
    ) -> Result<bool, StoreError> {
        let column = mark.column();
        let changed = self.tx.execute(
            &format!(
                "UPDATE outside_tokens SET {column} = ?3
                 WHERE org = ?1 AND grant_id = ?2 AND {column} IS NULL"
            ),
            params![org, grant_id, self.now],
        )?;
        Ok(changed > 0)
    }
}

impl Store {
    /// The outside tokens, by org and grant; only the stale ones, only those without expiry;
    /// `limit` of them after the first `offset`.
    pub fn outside_tokens(
        &self,
        stale: bool,
        no_expiry: bool,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<OutsideTokenRow>, StoreError> {
        let mut conditions = vec!["1"];
        if stale {
            conditions.push("stale_alerted_at IS NOT NULL");
        }
        if no_expiry {
            conditions.push("token_expires_at IS NULL");
        }
        let mut statement = self.conn.prepare(&format!(
            "SELECT org, grant_id, owner_login, token_name, token_expires_at, token_last_used_at,
                access_granted_at, first_seen_at, stale_alerted_at IS NOT NULL,
                (SELECT p.state FROM github_pushes p
                 WHERE p.grant_org = t.org AND p.grant_id = t.grant_id
                 ORDER BY p.id DESC LIMIT 1)
             FROM outside_tokens t WHERE {} ORDER BY org, grant_id LIMIT ?1 OFFSET ?2",
            conditions.join(" AND ")
        ))?;
        let rows = statement.query_map([limit, offset], |row| {
            Ok(OutsideTokenRow {
                org: row.get(0)?,
                grant_id: row.get(1)?,
                owner_login: row.get(2)?,
                token_name: row.get(3)?,
                token_expires_at: optional_time_at(row, 4)?,
                token_last_used_at: optional_time_at(row, 5)?,
                access_granted_at: optional_time_at(row, 6)?,
                first_seen_at: time_at(row, 7)?,
                stale: row.get(8)?,
                revocation: row.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The revocations of outside tokens an engineer asked for, of `page` (by seq).
    pub fn outside_revocations(
        &self,
        page: super::Page,
    ) -> Result<Vec<OutsideRevocation>, StoreError> {
        let mut statement = self.conn.prepare(
            "SELECT json_extract(detail, '$.org'), json_extract(detail, '$.grant_id'),
                json_extract(detail, '$.owner_login'), json_extract(detail, '$.token_name'),
                json_extract(detail, '$.access_granted_at'), actor, at,
                json_extract(detail, '$.reason'), json_extract(detail, '$.note'), seq, hash
             FROM events
             -- The request index finds the few events of no request, then their kind.
             WHERE request_id IS NULL AND kind = ?3 AND seq > ?1
             ORDER BY seq LIMIT ?2",
        )?;
        let revoked = EventKind::OutsideTokenRevoked;
        let rows =
            statement.query_map(rusqlite::params![page.after, page.limit, revoked], |row| {
                Ok(OutsideRevocation {
                    org: row.get(0)?,
                    grant_id: row.get(1)?,
                    owner_login: row.get(2)?,
                    token_name: row.get(3)?,
                    access_granted_at: optional_time_at(row, 4)?,
                    revoked_by: row.get(5)?,
                    revoked_at: time_at(row, 6)?,
                    reason: row.get(7)?,
                    note: row.get(8)?,
                    event_seq: row.get(9)?,
                    event_hash: row.get(10)?,
                })
            })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn outside_token_counts(&self) -> Result<OutsideCounts, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COUNT(stale_alerted_at), SUM(token_expires_at IS NULL)
             FROM outside_tokens",
            [],
            |row| {
                Ok(OutsideCounts {
                    total: u64::try_from(row.get::<_, i64>(0)?).unwrap_or_default(),
                    stale: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
                    without_expiry: u64::try_from(row.get::<_, Option<i64>>(2)?.unwrap_or(0))
                        .unwrap_or_default(),
                })
            },
        )?)
    }
}
