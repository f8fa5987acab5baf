//! Time-bound grants (`approve --until`): a day before a grant ends its owner is told, and at
//! its end patdesk revokes it, in the name of the member whose approval set the time.
//!
//! The alerts task runs this every few seconds, so a grant is revoked within a minute of its
//! end. The revocation goes through the same rules and trail as a member's (`decide::revoke`):
//! an audit event, the GitHub call, the requester's mail. It is authenticated as
//! [`Authentication::GrantEnd`], which the push to GitHub accepts for a revocation only.

use crate::decide::{self, DecideError};
use crate::lifecycle::{Authentication, Member, RevokeReason};
use crate::mail::{GrantEnding, Outgoing};
use crate::request::idempotency_key;
use crate::store::{EndingGrant, Store, StoreError, format_time};
use jiff::{SignedDuration, Timestamp};

/// How long before its end a grant's owner is told.
pub const NOTICE: SignedDuration = SignedDuration::from_hours(24);

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GrantRound {
    pub notices: usize,
    pub revoked: usize,
}

/// Tells and revokes what is due at `now`.
pub fn end_due(store: &mut Store, now: Timestamp) -> Result<GrantRound, DecideError> {
    let mut round = GrantRound::default();
    for grant in store.grants_ending(now + NOTICE)? {
        if grant.until <= now {
            revoke(store, &grant)?;
            round.revoked += 1;
        } else if !grant.noticed && told_before(&grant) && notice(store, &grant)? {
            round.notices += 1;
        }
    }
    Ok(round)
}

/// A grant approved less than a day before its end was told its end in the approval.
fn told_before(grant: &EndingGrant) -> bool {
    grant
        .decided_at
        .is_none_or(|decided| decided < grant.until - NOTICE)
}

fn notice(store: &mut Store, grant: &EndingGrant) -> Result<bool, StoreError> {
    store.write(|tx| {
        if !tx.record_grant_end_notice(grant.id, grant.until)? {
            return Ok(false);
        }
        let record = tx.request(grant.id)?;
        let mail = Outgoing::GrantEnding(GrantEnding {
            request: record.id,
            org: record.request.org.clone(),
            token_name: record.request.token_name.clone(),
            owner: record.request.owner_login.clone(),
            until: format_time(grant.until),
        });
        let key = idempotency_key(
            record.id,
            format_args!("grant_ending:{}", format_time(grant.until)),
        );
        decide::queue_for_requester(tx, &record, &mail, &key)?;
        Ok(true)
    })
}

/// Revokes `grant` in the name of the member whose approval set its end.
fn revoke(store: &mut Store, grant: &EndingGrant) -> Result<(), DecideError> {
    let approver = grant.approver.as_ref();
    let by = Member {
        login: approver.map_or_else(|| "patdesk".to_string(), |member| member.login.clone()),
        os_user: approver.map_or_else(String::new, |member| member.os_user.clone()),
        uid: approver.map_or(0, |member| member.uid),
        authenticated_by: Authentication::GrantEnd,
        slack: None,
    };
    let note = format!(
        "the approval was until {}: its time is up",
        format_time(grant.until)
    );
    decide::revoke(store, &by, grant.id, RevokeReason::Expired, Some(&note))?;
    Ok(())
}
