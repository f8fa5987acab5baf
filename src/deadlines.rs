//! Time to a decision: a request ready for a decision that waits past
//! `review.decide_within_hours` for its risk reminds the team (an alert naming it), and past
//! twice that is escalated (a second alert, marked so). Each once per stay in review. Where
//! the team set `review.deny_after_hours`, a request still undecided after that is denied,
//! saying why, as [`Member::deadline`].

use jiff::{SignedDuration, Timestamp};

use crate::config::PerRisk;
use crate::decide::{self, DecideError};
use crate::lifecycle::Member;
use crate::store::{AlertKind, Store, StoreError};

/// Raises what is due at `now`; how many alerts.
pub fn raise_due(store: &mut Store, within: &PerRisk, now: Timestamp) -> Result<usize, StoreError> {
    let mut raised = 0;
    for waiting in store.waiting_for_decision()? {
        let hours = i64::from(within.of(waiting.risk));
        let waited = now.duration_since(waiting.since);
        let (kind, what) = if waited >= SignedDuration::from_hours(2 * hours) && !waiting.escalated
        {
            (AlertKind::DecisionOverdue, "escalated")
        } else if waited >= SignedDuration::from_hours(hours)
            && !waiting.reminded
            && !waiting.escalated
        {
            // Once escalated (say the daemon was down through the first deadline), a reminder
            // after it would only say less.
            (AlertKind::DecisionDue, "a reminder")
        } else {
            continue;
        };
        let message = format!(
            "PAT-{} ({} risk) has waited {} h for a decision since {} (the team decides {} risk within {hours} h): {what}",
            waiting.id,
            waiting.risk.as_str(),
            waited.as_hours(),
            crate::store::format_time(waiting.since),
            waiting.risk.as_str(),
        );
        store.write(|tx| tx.raise_alert(kind, Some(waiting.id), &message))?;
        raised += 1;
    }
    Ok(raised)
}

/// Denies the requests in review longer than `after` (hours by risk; 0: never) at `now`; how
/// many.
pub fn deny_overdue(
    store: &mut Store,
    after: &PerRisk,
    now: Timestamp,
) -> Result<usize, DecideError> {
    // Off by default: the alerts task's round (every few seconds) reads nothing for it then.
    if *after == PerRisk::NEVER {
        return Ok(0);
    }
    let mut denied = 0;
    for waiting in store.waiting_for_decision()? {
        let hours = after.of(waiting.risk);
        if hours == 0
            || now.duration_since(waiting.since) < SignedDuration::from_hours(i64::from(hours))
        {
            continue;
        }
        let reason = format!(
            "not decided within {hours} hours of being ready for a decision (the team's limit for {} risk requests): ask again if the token is still needed",
            waiting.risk.as_str()
        );
        decide::deny(store, &Member::deadline(), waiting.id, &reason)?;
        denied += 1;
    }
    Ok(denied)
}
