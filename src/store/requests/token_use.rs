//! What the approved tokens' listing says of each token's use and lifetime, recorded on its
//! request: the last use GitHub saw, since when the token is stale, and the one alert for a
//! token approved elsewhere without an expiry or beyond the policy. Each change that a person
//! acts on is an event in the trail.

use rusqlite::params;
use serde_json::json;

use crate::store::{EventKind, StoreError, Tx};

impl Tx<'_> {
    /// The token's last use as GitHub reports it now (a fact, not an event: it changes with
    /// every use).
    pub fn record_last_use(&self, id: i64, last_used_at: Option<&str>) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET token_last_used_at = ?2 WHERE id = ?1 AND token_last_used_at IS NOT ?2",
            params![id, last_used_at],
        )?;
        Ok(())
    }

    /// The approved token's expiry as GitHub lists it (none: it never expires), which
    /// `list --no-expiry` reads; the request's own may have asked for another.
    pub fn record_token_expiry(&self, id: i64, expires_at: Option<&str>) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET token_expires_at = ?2 WHERE id = ?1 AND token_expires_at IS NOT ?2",
            params![id, expires_at],
        )?;
        Ok(())
    }

    /// Marks the token stale, once until it is used again: whether this call did.
    pub fn record_stale(&self, id: i64, detail: &serde_json::Value) -> Result<bool, StoreError> {
        self.mark_once(id, "stale_since", "github", EventKind::TokenStale, detail)
    }

    /// A stale token used again is no longer stale: whether it was.
    pub fn record_used_again(&self, id: i64, last_used_at: &str) -> Result<bool, StoreError> {
        let changed = self.tx.execute(
            "UPDATE requests SET stale_since = NULL WHERE id = ?1 AND stale_since IS NOT NULL",
            [id],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        self.append_event(
            "github",
            Some(id),
            EventKind::TokenUsedAgain,
            &json!({ "last_used_at": last_used_at }),
        )?;
        Ok(true)
    }

    /// Records that the requester is being told the token will soon count as stale, once
    /// until it is used again: whether this call did.
    pub fn record_usage_notice(&self, id: i64, stale_in_days: i64) -> Result<bool, StoreError> {
        let detail = json!({ "stale_in_days": stale_in_days });
        self.mark_once(
            id,
            "usage_notice_at",
            "system",
            EventKind::UsageNoticeQueued,
            &detail,
        )
    }

    /// The token was used since its notice: the next lapse gets a notice of its own.
    pub fn clear_usage_notice(&self, id: i64) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE requests SET usage_notice_at = NULL WHERE id = ?1 AND usage_notice_at IS NOT NULL",
            [id],
        )?;
        Ok(())
    }

    /// Records, once per token, that its lifetime breaks the policy: whether this call did.
    pub fn record_lifetime_breach(
        &self,
        id: i64,
        detail: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        self.mark_once(
            id,
            "lifetime_alerted_at",
            "github",
            EventKind::TokenLifetimeBreach,
            detail,
        )
    }

    /// Sets the request's `column` to now unless it is set already, and records event `kind`
    /// when it did: whether it did. `column` is one of this module's callers' own names.
    pub(super) fn mark_once(
        &self,
        id: i64,
        column: &'static str,
        actor: &str,
        kind: EventKind,
        detail: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let changed = self.tx.execute(
            &format!("UPDATE requests SET {column} = ?2 WHERE id = ?1 AND {column} IS NULL"),
            params![id, self.now],
        )?;
        if changed == 0 {
            return Ok(false);
        }
        self.append_event(actor, Some(id), kind, detail)?;
        Ok(true)
    }
}
