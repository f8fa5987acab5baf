//! The approved tokens' use and lifetime, from GitHub's listing of them: a token unused for
//! `review.stale_after_days` (or never used a week after its approval) is stale, alerted for
//! once and listed by `patdesk list --stale` until it is used again or revoked, and its
//! requester is told `review.stale_notice_days` before; a token
//! approved elsewhere (GitHub's own pages, so no member's reason stands beside it) that never
//! expires, or lives beyond `review.max_expiry_days`, is alerted for once.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::github::Grant;
use crate::mail::{Outgoing, UsageNotice};
use crate::store::{AlertKind, RequestRecord, StoreError, Tx, format_time};

use super::{SyncOptions, SyncReport, the_token};

/// A token never used this long after its approval is stale too.
const NEVER_USED_AFTER_DAYS: i64 = 7;

fn days(count: i64) -> SignedDuration {
    SignedDuration::from_hours(count * 24)
}

/// Since when a token is unused (its last use, or its approval), and when that makes it stale:
/// `None` when neither is known.
pub(super) fn unused_window(
    last_used: Option<Timestamp>,
    approved_at: Option<Timestamp>,
    options: &SyncOptions,
) -> Option<(Timestamp, Timestamp)> {
    match (last_used, approved_at) {
        (Some(used), _) => Some((
            used,
            used + days(i64::from(options.policy.stale_after_days)),
        )),
        (None, Some(approved)) => Some((approved, approved + days(NEVER_USED_AFTER_DAYS))),
        (None, None) => None,
    }
}

/// What is wrong with a token's lifetime, if anything: it never expires, or it lives longer
/// than `limit` days from its approval.
pub(super) fn lifetime_breach(
    expires_at: Option<Timestamp>,
    granted_at: Timestamp,
    limit: u32,
) -> Option<String> {
    match expires_at {
        None => Some("never expires".to_string()),
        Some(expires) => {
            let days = expires.duration_since(granted_at).as_hours() / 24;
            (days > i64::from(limit))
                .then(|| format!("lives {days} days, beyond the policy's {limit}"))
        }
    }
}

/// Records the token's last use, and whether it is stale now, about to be (its requester is
/// told once), or in use again.
pub(super) fn track_use(
    tx: &Tx<'_>,
    record: &RequestRecord,
    grant: &Grant,
    options: &SyncOptions,
    now: Timestamp,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    let last_used = grant.token.last_used_at;
    let last_used_text = last_used.map(format_time);
    tx.record_last_use(record.id, last_used_text.as_deref())?;
    let approved_at = grant.access_granted_at.or(record.decided_at);
    let Some((start, stale_at)) = unused_window(last_used, approved_at, options) else {
        return Ok(());
    };
    if now >= stale_at {
        mark_stale(tx, record, grant, options, now, last_used, report)?;
        return Ok(());
    }
    if let Some(used) = &last_used_text {
        tx.record_used_again(record.id, used)?;
    }
    // The notice comes `stale_notice_days` ahead, but not before halfway: a token never used
    // is not reminded of it the day it was approved.
    let notice_days = i64::from(options.policy.stale_notice_days);
    let halfway = start + SignedDuration::from_secs(stale_at.duration_since(start).as_secs() / 2);
    let notice_at = (stale_at - days(notice_days)).max(halfway);
    if notice_days == 0 || now < notice_at {
        tx.clear_usage_notice(record.id)?;
        return Ok(());
    }
    let Some(address) = &record.owner_email else {
        return Ok(());
    };
    let hours_left = stale_at.duration_since(now).as_hours().max(0);
    let stale_in_days = (hours_left + 23) / 24;
    if tx.record_usage_notice(record.id, stale_in_days)? {
        let notice = Outgoing::UsageNotice(UsageNotice {
            request: record.id,
            org: record.request.org.clone(),
            token_name: record.request.token_name.clone(),
            owner: record.request.owner_login.clone(),
            last_used_at: last_used_text.clone(),
            stale_in_days,
        });
        // One per lapse: a token used again and unused again is told again.
        let key = crate::request::idempotency_key(
            record.id,
            format_args!("usage_notice:{}", format_time(start)),
        );
        tx.enqueue_mail(address, &notice, &key)?;
        report.usage_notices += 1;
    }
    Ok(())
}

/// The token is stale: one event and alert, until it is used again.
fn mark_stale(
    tx: &Tx<'_>,
    record: &RequestRecord,
    grant: &Grant,
    options: &SyncOptions,
    now: Timestamp,
    last_used: Option<Timestamp>,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    let unused = match last_used {
        Some(used) => format!(
            "has not been used for {} days",
            now.duration_since(used).as_hours() / 24
        ),
        None => "has never been used".to_string(),
    };
    let detail = json!({
        "grant_id": grant.id,
        "last_used_at": last_used.map(format_time),
        "stale_after_days": options.policy.stale_after_days,
    });
    if tx.record_stale(record.id, &detail)? {
        tx.raise_alert(
            AlertKind::TokenStale,
            Some(record.id),
            &format!(
                "{} {unused}: if it is no longer required, `patdesk revoke {} --category no-longer-required`",
                the_token(record),
                record.id
            ),
        )?;
        report.stale += 1;
    }
    Ok(())
}

/// Records the approved token's expiry, and raises one alert for a token approved elsewhere
/// that never expires or outlives the policy.
pub(super) fn track_lifetime(
    tx: &Tx<'_>,
    record: &RequestRecord,
    grant: &Grant,
    options: &SyncOptions,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    // The approved token's own expiry: GitHub lists `token_expires_at` as null for one that
    // never expires, whatever its request asked for.
    let expires_at = grant.token.expires_at;
    tx.record_token_expiry(record.id, expires_at.map(format_time).as_deref())?;
    // Approved through patdesk: a member saw the review's finding and gave a reason.
    if record.decided_by.is_some() {
        return Ok(());
    }
    let granted_at = grant
        .access_granted_at
        .unwrap_or(record.request.requested_at);
    let limit = options.policy.max_expiry_days;
    let Some(breach) = lifetime_breach(expires_at, granted_at, limit) else {
        return Ok(());
    };
    let detail = json!({
        "grant_id": grant.id,
        "expires_at": expires_at.map(|at| at.to_string()),
        "max_expiry_days": limit,
    });
    if tx.record_lifetime_breach(record.id, &detail)? {
        tx.raise_alert(
            AlertKind::TokenLifetime,
            Some(record.id),
            &format!(
                "{} was approved on GitHub, not through patdesk, and {breach}",
                the_token(record)
            ),
        )?;
        report.lifetime += 1;
    }
    Ok(())
}
