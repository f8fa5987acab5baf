//! How each part of the running daemon is doing, for `patdesk status` and the stall alerts.
//! Not audited: it is the daemon's pulse, not a decision.

use rusqlite::params;
use serde::Serialize;

use super::{StoreError, optional_time_at, time_at};
use jiff::Timestamp;

/// A part of the daemon that reports how it is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    /// Mail intake's IMAP session.
    Imap,
    /// New mail reported by IDLE.
    ImapIdle,
    /// Getting OAuth 2 tokens to sign in with.
    Oauth2,
    /// Sending the outbox.
    Smtp,
    /// Syncing one organisation.
    Github(&'a str),
    /// Carrying decisions to GitHub.
    GithubPush,
    /// The daemon's scheduled backups.
    Backup,
    /// The Slack app's Socket Mode connection.
    Slack,
}

impl Part<'_> {
    /// The name the health table (and `patdesk status`) knows it by.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match self {
            Part::Imap => "imap".into(),
            Part::ImapIdle => "imap_idle".into(),
            Part::Oauth2 => "oauth2".into(),
            Part::Smtp => "smtp".into(),
            Part::Github(org) => format!("github:{org}").into(),
            Part::GithubPush => "github_push".into(),
            Part::Backup => "backup".into(),
            Part::Slack => "slack".into(),
        }
    }
}

impl<'a> Part<'a> {
    /// The part a stored name is, if any.
    pub fn named(name: &'a str) -> Option<Part<'a>> {
        match name {
            "imap" => Some(Part::Imap),
            "imap_idle" => Some(Part::ImapIdle),
            "oauth2" => Some(Part::Oauth2),
            "smtp" => Some(Part::Smtp),
            "github_push" => Some(Part::GithubPush),
            "backup" => Some(Part::Backup),
            "slack" => Some(Part::Slack),
            other => other.strip_prefix("github:").map(Part::Github),
        }
    }
}

/// One part of the daemon (its [`Part::name`]): when it last worked, and since when it has been
/// failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PartHealth {
    pub part: String,
    #[serde(with = "super::stored_time::option")]
    pub ok_at: Option<Timestamp>,
    #[serde(with = "super::stored_time::option")]
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    /// When the part last reported, working or not.
    #[serde(with = "super::stored_time")]
    pub updated_at: Timestamp,
}

/// Counts for `patdesk status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    /// Requests per state.
    pub requests: Vec<(String, i64)>,
    /// Outbox mail per state.
    pub outbox: Vec<(String, i64)>,
    pub triage: i64,
    pub undelivered_alerts: i64,
}

impl super::Store {
    /// Records that `part` worked just now, or failed with `error`; a failure keeps the time
    /// the failing began. Best effort: a pulse that cannot be written is logged, and the work
    /// it describes goes on.
    pub fn report_health(&self, part: Part<'_>, error: Option<&str>) {
        let part = part.name();
        if let Err(problem) = self.write_health(&part, error) {
            tracing::warn!(%problem, part = %part, "cannot record the daemon's health");
        }
    }

    fn write_health(&self, part: &str, error: Option<&str>) -> Result<(), StoreError> {
        let now = super::format_time(self.now());
        match error {
            None => self.conn.execute(
                "INSERT INTO health (part, ok_at, failing_since, last_error, updated_at)
                 VALUES (?1, ?2, NULL, NULL, ?2)
                 ON CONFLICT (part) DO UPDATE SET ok_at = ?2, failing_since = NULL,
                     last_error = NULL, updated_at = ?2",
                params![part, now],
            )?,
            Some(error) => self.conn.execute(
                "INSERT INTO health (part, ok_at, failing_since, last_error, updated_at)
                 VALUES (?1, NULL, ?2, ?3, ?2)
                 ON CONFLICT (part) DO UPDATE SET
                     failing_since = COALESCE(failing_since, ?2), last_error = ?3, updated_at = ?2",
                params![part, now, error],
            )?,
        };
        Ok(())
    }

    pub fn health(&self) -> Result<Vec<PartHealth>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT part, ok_at, failing_since, last_error, updated_at FROM health ORDER BY part",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(PartHealth {
                part: row.get(0)?,
                ok_at: optional_time_at(row, 1)?,
                failing_since: optional_time_at(row, 2)?,
                last_error: row.get(3)?,
                updated_at: time_at(row, 4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn counts(&self) -> Result<Counts, StoreError> {
        let grouped = |sql: &str| -> Result<Vec<(String, i64)>, StoreError> {
            let mut statement = self.conn.prepare_cached(sql)?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let count = |sql: &str| -> Result<i64, StoreError> {
            Ok(self.conn.query_row(sql, [], |row| row.get(0))?)
        };
        Ok(Counts {
            requests: grouped(
                "SELECT state, COUNT(*) FROM requests GROUP BY state ORDER BY state",
            )?,
            outbox: grouped("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")?,
            triage: count("SELECT COUNT(*) FROM messages WHERE triage = 1")?,
            undelivered_alerts: count("SELECT COUNT(*) FROM alerts WHERE delivered_at IS NULL")?,
        })
    }

    /// Alerts not yet told to the team, oldest first.
    pub fn undelivered_alerts(&self) -> Result<Vec<super::Alert>, StoreError> {
        Ok(self
            .alerts()?
            .into_iter()
            .filter(|alert| alert.delivered_at.is_none())
            .collect())
    }

    pub fn mark_alert_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE alerts SET delivered_at = ?2 WHERE id = ?1",
            params![id, super::format_time(self.now())],
        )?;
        Ok(())
    }
}
