//! GitHub's webhook deliveries: the ids taken, so a replay is refused even after a restart,
//! and the refusals counted by why, for `patdesk status`. Deliveries are triggers, not
//! records: what they start (a sync) writes its own events. Who GitHub says decided a request on
//! its own pages is kept as its claim, for the sync to record beside what the API shows.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, optional_time_at, time_at};
use jiff::Timestamp;

/// How long a delivery id is remembered. GitHub redelivers, on request, deliveries of the
/// last three days; a month leaves room and keeps the table small.
const REMEMBERED_DAYS: i64 = 30;

/// Why a delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookRefusal {
    /// No `X-Hub-Signature-256`.
    Unsigned,
    /// A signature that is not the body's HMAC with the App's webhook secret.
    BadSignature,
    /// A body over `github.webhook.max_body_bytes`.
    Oversized,
    /// A delivery id taken before (GitHub's redelivery, or a replay): answered 2xx, not acted
    /// on again, and counted here.
    Replayed,
    /// An event patdesk does not act on, or a payload that does not parse as it.
    UnknownEvent,
    /// A token request in an organisation the config does not name.
    UnknownOrg,
}

impl WebhookRefusal {
    pub const ALL: [WebhookRefusal; 6] = [
        WebhookRefusal::Unsigned,
        WebhookRefusal::BadSignature,
        WebhookRefusal::Oversized,
        WebhookRefusal::Replayed,
        WebhookRefusal::UnknownEvent,
        WebhookRefusal::UnknownOrg,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookRefusal::Unsigned => "unsigned",
            WebhookRefusal::BadSignature => "bad_signature",
            WebhookRefusal::Oversized => "oversized",
            WebhookRefusal::Replayed => "replayed",
            WebhookRefusal::UnknownEvent => "unknown_event",
            WebhookRefusal::UnknownOrg => "unknown_org",
        }
    }

    fn from_name(name: &str) -> Option<WebhookRefusal> {
        WebhookRefusal::ALL
            .into_iter()
            .find(|refusal| refusal.as_str() == name)
    }
}

/// A delivery as it is kept: its id, event, and for a token request the action, the org, the
/// request and who GitHub says acted.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub action: Option<&'a str>,
    pub org: Option<&'a str>,
    pub request_id: Option<i64>,
    pub sender: Option<&'a str>,
    /// The SHA-256 of the event name and the signed body, lower-case hex.
    pub body_sha256: &'a str,
}

/// What GitHub's webhook said was done with a request, by whom, and when it said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GithubClaim {
    pub action: String,
    pub sender: String,
    #[serde(with = "super::stored_time")]
    pub received_at: Timestamp,
}

/// Whether a delivery id was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Fresh,
    Replayed,
}

/// What `status` shows of the webhook.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookCounts {
    /// Deliveries taken in the last `REMEMBERED_DAYS` days.
    pub taken: u64,
    /// Of those, events patdesk does not act on (answered 200).
    #[serde(default)]
    pub not_used: u64,
    #[serde(with = "super::stored_time::option")]
    pub last_taken_at: Option<Timestamp>,
    pub refused: Vec<RefusalCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalCount {
    pub reason: WebhookRefusal,
    pub count: u64,
    #[serde(with = "super::stored_time")]
    pub last_at: Timestamp,
}

impl Tx<'_> {
    /// Takes a delivery, unless its id was taken before. Ids older than a month are forgotten.
    pub fn take_webhook_delivery(&self, delivery: &Delivery<'_>) -> Result<Taken, StoreError> {
        let forgotten_before = self.time() - jiff::SignedDuration::from_hours(24 * REMEMBERED_DAYS);
        self.tx.execute(
            "DELETE FROM webhook_deliveries WHERE received_at < ?1",
            [super::format_time(forgotten_before)],
        )?;
        // The same signed body under another id is the same delivery again: the id is not
        // signed, the body is.
        let body_seen: bool = self.tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE body_sha256 = ?1)",
            [delivery.body_sha256],
            |row| row.get(0),
        )?;
        if body_seen {
            return Ok(Taken::Replayed);
        }
        let inserted = self.tx.execute(
            "INSERT INTO webhook_deliveries
                 (delivery_id, event, action, org, request_id, sender, received_at, body_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (delivery_id) DO NOTHING",
            params![
                delivery.id,
                delivery.event,
                delivery.action,
                delivery.org,
                delivery.request_id,
                delivery.sender,
                self.now,
                delivery.body_sha256
            ],
        )?;
        Ok(match inserted {
            0 => Taken::Replayed,
            _ => Taken::Fresh,
        })
    }

    /// What GitHub's webhook last said was done with request `request_id` of `org` on
    /// GitHub's side (approved, denied, cancelled) and by whom: a claim, kept beside what the
    /// API shows, never instead of it.
    pub fn github_claim(
        &self,
        org: &str,
        request_id: i64,
    ) -> Result<Option<GithubClaim>, StoreError> {
        Ok(self
            .tx
            .query_row(
                "SELECT action, sender, received_at FROM webhook_deliveries
                 WHERE lower(org) = lower(?1) AND request_id = ?2 AND sender IS NOT NULL
                   AND action IN ('approved', 'denied', 'cancelled')
                 ORDER BY received_at DESC LIMIT 1",
                params![org, request_id],
                |row| {
                    Ok(GithubClaim {
                        action: row.get(0)?,
                        sender: row.get(1)?,
                        received_at: time_at(row, 2)?,
                    })
                },
            )
            .optional()?)
    }

    /// Adds `count` refusals for `reason`.
    pub fn count_webhook_refusals(
        &self,
        reason: WebhookRefusal,
        count: u64,
    ) -> Result<(), StoreError> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.tx.execute(
            "INSERT INTO webhook_refusals (reason, count, last_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at",
            params![reason.as_str(), count, self.now],
        )?;
        Ok(())
    }
}

impl Store {
    pub fn webhook_counts(&self) -> Result<WebhookCounts, StoreError> {
        let (taken, not_used, last_taken_at) = self.conn.query_row(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE action IS NULL), MAX(received_at)
             FROM webhook_deliveries",
            [],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    optional_time_at(row, 2)?,
                ))
            },
        )?;
        let mut statement = self
            .conn
            .prepare("SELECT reason, count, last_at FROM webhook_refusals ORDER BY reason")?;
        let refused = statement
            .query_and_then([], |row| {
                let name: String = row.get(0)?;
                let reason = WebhookRefusal::from_name(&name).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "webhook refusal {name:?} is not one patdesk counts"
                    ))
                })?;
                Ok::<_, StoreError>(RefusalCount {
                    reason,
                    count: u64::try_from(row.get::<_, i64>(1)?).unwrap_or_default(),
                    last_at: time_at(row, 2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(WebhookCounts {
            taken: u64::try_from(taken).unwrap_or_default(),
            not_used: u64::try_from(not_used).unwrap_or_default(),
            last_taken_at,
            refused,
        })
    }
}
