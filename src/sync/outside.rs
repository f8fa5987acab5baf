//! The approved tokens no request of patdesk's matches: approved before patdesk was
//! installed, or on GitHub's pages between two syncs. They have no request record, but they
//! are the team's tokens all the same: each is followed for its use and lifetime, and the
//! ones unused too long or outliving the policy are alerted for once each, gathered into one
//! alert per org and sync (a first sync may find hundreds), each named by the grant
//! `patdesk revoke --grant` takes.

use std::collections::HashSet;

use jiff::Timestamp;

use crate::github::Grant;
use crate::store::{AlertKind, OutsideMark, OutsideToken, StoreError, Tx};

use super::usage::{lifetime_breach, unused_window};
use super::{SyncOptions, SyncReport};

/// Tokens named in one alert; the rest are counted.
const NAMED_IN_AN_ALERT: usize = 20;

pub(super) fn track_outside(
    tx: &Tx<'_>,
    org: &str,
    grants: &[Grant],
    matched: &HashSet<i64>,
    options: &SyncOptions,
    now: Timestamp,
    report: &mut SyncReport,
) -> Result<(), StoreError> {
    let outside: Vec<&Grant> = grants
        .iter()
        .filter(|grant| !matched.contains(&grant.id))
        .collect();
    let tokens: Vec<OutsideToken> = outside
        .iter()
        .map(|grant| OutsideToken {
            grant_id: grant.id,
            owner_login: grant.owner.login.clone(),
            token_name: grant.token.name.clone(),
            expires_at: grant.token.expires_at,
            last_used_at: grant.token.last_used_at,
            granted_at: grant.access_granted_at,
        })
        .collect();
    tx.record_outside_tokens(org, &tokens)?;

    let mut stale = Vec::new();
    let mut lifetime = Vec::new();
    for grant in outside {
        let last_used = grant.token.last_used_at;
        let stale_now = matches!(
            unused_window(last_used, grant.access_granted_at, options),
            Some((_, stale_at)) if now >= stale_at
        );
        // Stale: alerted for once, until it is used again (which `record_outside_tokens`
        // notices by its new last use).
        if stale_now && tx.mark_outside_token(org, grant.id, OutsideMark::Stale)? {
            let since = last_used.map_or_else(
                || "never used".to_string(),
                |used| format!("last used {}", used.strftime("%Y-%m-%d")),
            );
            stale.push(format!("{} ({since})", named(org, grant)));
        }
        let Some(granted_at) = grant.access_granted_at else {
            continue;
        };
        if let Some(breach) = lifetime_breach(
            grant.token.expires_at,
            granted_at,
            options.policy.max_expiry_days,
        ) && tx.mark_outside_token(org, grant.id, OutsideMark::Lifetime)?
        {
            lifetime.push(format!("{} ({breach})", named(org, grant)));
        }
    }
    let page =
        format!("https://github.com/organizations/{org}/settings/personal-access-tokens/active");
    if !stale.is_empty() {
        report.stale += stale.len();
        tx.raise_alert(
            AlertKind::TokenStale,
            None,
            &format!(
                "{} token(s) of {org} approved without a request patdesk saw are unused (for review.stale_after_days = {}, or never a week after approval): {}. Revoke those no longer required: patdesk revoke --grant {org}:GRANT --category no-longer-required (or at {page})",
                stale.len(),
                options.policy.stale_after_days,
                listing(&stale)
            ),
        )?;
    }
    if !lifetime.is_empty() {
        report.lifetime += lifetime.len();
        tx.raise_alert(
            AlertKind::TokenLifetime,
            None,
            &format!(
                "{} token(s) of {org} approved without a request patdesk saw outlive the policy (review.max_expiry_days = {}): {}. See {page}",
                lifetime.len(),
                options.policy.max_expiry_days,
                listing(&lifetime)
            ),
        )?;
    }
    Ok(())
}

/// `"NAME" of OWNER (grant ORG:ID)`, the grant as `patdesk revoke --grant` takes it.
fn named(org: &str, grant: &Grant) -> String {
    format!(
        "\"{}\" of {} (grant {org}:{})",
        grant.token.name.as_deref().unwrap_or("(unnamed)"),
        grant.owner.login,
        grant.id
    )
}

/// The first few, and how many more.
fn listing(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(NAMED_IN_AN_ALERT)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > NAMED_IN_AN_ALERT {
        text.push_str(&format!("; and {} more", items.len() - NAMED_IN_AN_ALERT));
    }
    text
}
