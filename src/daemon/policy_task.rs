//! The policy task: each request in review is put to the team's policy once (again when the
//! request changes), and the answer, the floor applied, recorded in the audit log under
//! `policy@<sha256>`. In shadow a person still decides. Enforcing, the policy's approvals and
//! denials are decisions, through the same rules as a member's (`decide`), carried to GitHub
//! and the requester; its "a person" leaves the request to the team.
//!
//! A policy the config enforces decides only once it has proved itself on the team's own
//! history: while its backtest finds a request it would have approved that people denied, and
//! no member has accepted that case (`patdesk policy accept`), it is held in shadow and the
//! team is alerted. The check runs when the task starts and whenever a case is accepted.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::config::PolicyMode;
use crate::decide::{self, DecideError};
use crate::lifecycle::{Authentication, Member};
use crate::policy::backtest::Backtest;
use crate::policy::{Answer, Policy};
use crate::review::ReviewPolicy;
use crate::store::{AlertKind, EventKind, Store, StoreError};
use crate::wake::Wake;

/// Requests answered in one round; the rest wait for the next.
const ROUND: usize = 200;
/// The most case ids an alert names.
const NAMED_CASES: usize = 20;

pub(super) struct PolicyTask {
    pub policy: Policy,
    /// Shadow or enforce (the task does not run with `off`).
    pub mode: PolicyMode,
    /// The rules an enforced decision goes through, as a member's.
    pub review: ReviewPolicy,
    pub store: Store,
    pub look_for_commits: Duration,
    /// Rung after a decision: the GitHub task, the outbox, Slack.
    pub after_decision: Vec<Wake>,
    pub shutdown: watch::Receiver<bool>,
}

/// Whether the policy decides now, and on what it was last judged.
struct Gate {
    enforcing: bool,
    /// The accepted cases counted when it was last judged; `None`: never judged.
    accepted: Option<usize>,
}

pub(super) async fn run(mut task: PolicyTask) {
    let actor = task.policy.actor();
    let mut seen_version = None;
    let mut gate = Gate {
        enforcing: false,
        accepted: None,
    };
    loop {
        // A round whenever another connection committed; every look when that cannot be read.
        let version = task.store.data_version().ok();
        if version.is_none() || version != seen_version {
            seen_version = version;
            // The backtest reads every request: over a large history, seconds. It runs off the
            // runtime's worker so the control socket and intake go on meanwhile.
            if task.mode == PolicyMode::Enforce
                && let Err(error) =
                    tokio::task::block_in_place(|| judge(&mut task, &actor, &mut gate))
            {
                tracing::error!(%error, "cannot check whether the policy may enforce");
            }
            match answer_due(&mut task, &actor, gate.enforcing) {
                Ok(Answered { answered: 0, .. }) => {}
                Ok(Answered { answered, decided }) => {
                    tracing::info!(
                        answered,
                        decided,
                        policy = actor,
                        enforcing = gate.enforcing,
                        "policy answered"
                    );
                    if decided > 0 {
                        for wake in &task.after_decision {
                            wake.wake();
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "cannot put requests to the policy"),
            }
        }
        tokio::select! {
            _ = task.shutdown.changed() => return,
            _ = tokio::time::sleep(task.look_for_commits) => {}
        }
    }
}

/// Opens the gate when every request the policy would have approved against the people's
/// denial is accepted; judged again only when the accepted cases change.
fn judge(task: &mut PolicyTask, actor: &str, gate: &mut Gate) -> Result<(), StoreError> {
    let accepted = task.store.accepted_policy_cases(actor)?;
    if gate.enforcing || gate.accepted == Some(accepted.len()) {
        return Ok(());
    }
    let first = gate.accepted.is_none();
    gate.accepted = Some(accepted.len());
    let backtest = Backtest::of_store(&mut task.policy, &task.store)?;
    let open: Vec<i64> = backtest
        .more_permissive
        .iter()
        .map(|case| case.id)
        .filter(|id| !accepted.contains(id))
        .collect();
    if open.is_empty() {
        gate.enforcing = true;
        tracing::info!(
            policy = actor,
            decided = backtest.decided,
            "the policy enforces: its backtest has no unaccepted case"
        );
        return Ok(());
    }
    tracing::warn!(
        policy = actor,
        cases = open.len(),
        "the policy is held in shadow: its backtest has cases no member accepted"
    );
    if first {
        let named: Vec<String> = open
            .iter()
            .take(NAMED_CASES)
            .map(|id| format!("PAT-{id}"))
            .collect();
        let message = format!(
            "[policy] mode is \"enforce\", but {actor} would have approved {} request(s) the people denied ({}{}), and no member has accepted them: it runs in shadow until each is accepted (`patdesk policy accept FILE ID... --reason TEXT`) or the policy is changed; `patdesk policy backtest FILE` lists them",
            open.len(),
            named.join(", "),
            if open.len() > NAMED_CASES {
                ", …"
            } else {
                ""
            }
        );
        task.store
            .write(|tx| tx.raise_alert(AlertKind::PolicyHeldInShadow, None, &message))?;
    }
    Ok(())
}

/// What a round did.
struct Answered {
    answered: usize,
    decided: usize,
}

/// Answers the requests the policy has not answered since they changed, deciding on them when
/// `enforcing`.
fn answer_due(task: &mut PolicyTask, actor: &str, enforcing: bool) -> Result<Answered, StoreError> {
    let due = task.store.awaiting_policy(actor, ROUND, enforcing)?;
    let mode = if enforcing { "enforce" } else { "shadow" };
    let mut decided = 0;
    for &id in &due {
        let record = task.store.request(id)?;
        let verdict = task.policy.verdict(&record);
        // Recorded first: whatever comes of the decision, this version of the request is
        // answered, and is not put to the policy again.
        task.store.write(|tx| {
            tx.append_event(
                actor,
                Some(id),
                EventKind::PolicyAnswered,
                &json!({ "mode": mode, "answer": verdict.answer, "policy": verdict.policy }),
            )
            .map(drop)
        })?;
        if !enforcing {
            continue;
        }
        match decide_as_policy(task, actor, id, &verdict.answer) {
            Ok(true) => decided += 1,
            Ok(false) => {}
            Err(DecideError::Store(error)) => return Err(error),
            Err(refused) => {
                tracing::warn!(request = id, policy = actor, %refused, "the policy's decision was refused")
            }
        }
    }
    Ok(Answered {
        answered: due.len(),
        decided,
    })
}

/// Acts on `answer` for request `id` as the policy: whether it decided.
fn decide_as_policy(
    task: &mut PolicyTask,
    actor: &str,
    id: i64,
    answer: &Answer,
) -> Result<bool, DecideError> {
    let policy = Member {
        login: actor.to_string(),
        os_user: "patdesk".to_string(),
        uid: crate::control::peer::effective_uid(),
        authenticated_by: Authentication::Policy,
        slack: None,
    };
    let reasons = match answer.reasons() {
        [] => "it meets the team's policy".to_string(),
        reasons => reasons.join("; "),
    };
    match answer {
        Answer::Approve { .. } => {
            decide::approve(
                &mut task.store,
                &policy,
                id,
                Some(&reasons),
                None,
                &task.review,
            )?;
        }
        Answer::Deny { .. } => {
            decide::deny(&mut task.store, &policy, id, &reasons)?;
        }
        Answer::Person { .. } => return Ok(false),
    }
    Ok(true)
}
