//! A policy replayed over the team's own past decisions: what it would have answered for each
//! request people decided, as a table against what they did, and every request where it would
//! have been more permissive than they were (approving what they denied). The evidence a team
//! needs before letting a policy act.

use jiff::Timestamp;
use serde::Serialize;

use super::{Answer, POLICY_ACTOR_PREFIX, Policy};
use crate::request::RequestState;
use crate::store::{Page, RequestRecord, Store, StoreError};

/// What the people decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum People {
    Approved,
    Denied,
}

/// A request where the policy would have let through what people refused.
#[derive(Debug, Clone, Serialize)]
pub struct MorePermissive {
    pub id: i64,
    pub org: String,
    pub token_name: Option<String>,
    pub owner_login: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub policy: Answer,
}

/// The replay's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Backtest {
    /// Requests people decided (since the date asked), replayed.
    pub decided: usize,
    /// `[policy answer][people]`: rows approve, deny, person; columns approved, denied.
    pub table: [[usize; 2]; 3],
    pub more_permissive: Vec<MorePermissive>,
}

impl Backtest {
    /// Replays `record` if people decided it (on or after `since`).
    pub fn add(&mut self, policy: &mut Policy, record: &RequestRecord, since: Option<Timestamp>) {
        let Some(people) = people_decision(record) else {
            return;
        };
        if since.is_some_and(|since| record.decided_at.is_none_or(|at| at < since)) {
            return;
        }
        let verdict = policy.verdict(&as_decided(record));
        let row = match verdict.answer {
            Answer::Approve { .. } => 0,
            Answer::Deny { .. } => 1,
            Answer::Person { .. } => 2,
        };
        let column = match people {
            People::Approved => 0,
            People::Denied => 1,
        };
        self.table[row][column] += 1;
        self.decided += 1;
        if row == 0 && people == People::Denied {
            self.more_permissive.push(MorePermissive {
                id: record.id,
                org: record.request.org.clone(),
                token_name: record.request.token_name.clone(),
                owner_login: record.request.owner_login.clone(),
                decided_by: record.decided_by.clone(),
                decision_reason: record.decision_reason.clone(),
                policy: verdict.answer,
            });
        }
    }

    /// Replays every request in `store`, a page at a time (the daemon's own check before it
    /// lets a policy enforce).
    pub fn of_store(policy: &mut Policy, store: &Store) -> Result<Backtest, StoreError> {
        let mut backtest = Backtest::default();
        let mut after = 0;
        loop {
            let page = store.export(Page { after, limit: 500 })?;
            let Some(last) = page.last() else {
                return Ok(backtest);
            };
            after = last.record.id;
            for row in &page {
                backtest.add(policy, &row.record, None);
            }
        }
    }

    /// Of the requests replayed, those the policy would have decided as people did.
    pub fn agreed(&self) -> usize {
        self.table[0][0] + self.table[1][1]
    }
}

/// What people decided of `record`, if they decided it: denied, or approved (the approval
/// stands in a token approved, revoked since or expired since).
fn people_decision(record: &RequestRecord) -> Option<People> {
    // A policy's own decisions are not the people's.
    if record.decided_by.as_ref()?.starts_with(POLICY_ACTOR_PREFIX) {
        return None;
    }
    match record.state {
        RequestState::Denied => Some(People::Denied),
        RequestState::Approved | RequestState::Revoked | RequestState::Expired => {
            Some(People::Approved)
        }
        RequestState::New
        | RequestState::AwaitingPurpose
        | RequestState::InReview
        | RequestState::NeedsContact
        | RequestState::Withdrawn => None,
    }
}

/// The record as the policy would have met it: waiting for a decision, nothing of what came
/// after (the decision, a revocation, the token's use) in it.
fn as_decided(record: &RequestRecord) -> RequestRecord {
    let mut before = record.clone();
    before.state = RequestState::InReview;
    before.decided_by = None;
    before.decided_at = None;
    before.decision_reason = None;
    before.revoked_by = None;
    before.revoked_at = None;
    before.revoke_reason = None;
    before.revoke_note = None;
    before.grant_id = None;
    before.token_last_used_at = None;
    before.stale_since = None;
    before
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::floor;

    const APPROVE_READ_ONLY: &str = "package patdesk\nimport rego.v1\ndefault decision := \"person\"\ndecision := \"approve\" if every _, a in input.permissions.repository { a == \"read\" }\nreasons contains \"read only\" if decision == \"approve\"\n";

    fn decided(state: RequestState, by: &str) -> RequestRecord {
        let mut record = floor::sample_request();
        record.state = state;
        record.decided_by = Some(by.to_string());
        record.decided_at = Some(Timestamp::UNIX_EPOCH);
        record.decision_reason = Some("not now".to_string());
        record
    }

    #[test]
    fn the_table_counts_agreement_and_lists_what_the_policy_would_have_let_through() {
        let mut policy = Policy::from_text("read-only.rego", APPROVE_READ_ONLY).expect("valid");
        let mut backtest = Backtest::default();
        backtest.add(&mut policy, &decided(RequestState::Approved, "alice"), None);
        backtest.add(&mut policy, &decided(RequestState::Revoked, "alice"), None);
        backtest.add(&mut policy, &decided(RequestState::Denied, "bob"), None);
        // Not decided by people: not replayed.
        backtest.add(&mut policy, &floor::sample_request(), None);
        let mut writes = decided(RequestState::Denied, "bob");
        writes
            .request
            .permissions
            .repository
            .insert("contents".to_string(), crate::request::Access::Write);
        backtest.add(&mut policy, &writes, None);
        assert_eq!(backtest.decided, 4);
        assert_eq!(backtest.table, [[2, 1], [0, 0], [0, 1]]);
        assert_eq!(backtest.agreed(), 2);
        assert_eq!(backtest.more_permissive.len(), 1);
        assert_eq!(
            backtest.more_permissive[0].decided_by.as_deref(),
            Some("bob")
        );
        // Only what was decided on or after the date.
        let mut later = Backtest::default();
        later.add(
            &mut policy,
            &decided(RequestState::Denied, "bob"),
            Some(Timestamp::UNIX_EPOCH + jiff::SignedDuration::from_secs(1)),
        );
        assert_eq!(later.decided, 0);
    }
}
