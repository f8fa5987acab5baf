//! The policy task, with `[policy] mode = "shadow"`: each request in review is put to the
//! team's policy once (again when the request changes), and the answer, the floor applied,
//! recorded in the audit log under `policy@<sha256>`. A person still decides.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use crate::policy::Policy;
use crate::store::{EventKind, Store};

/// Requests answered in one round; the rest wait for the next.
const ROUND: usize = 200;

pub(super) struct PolicyTask {
    pub policy: Policy,
    pub store: Store,
    pub look_for_commits: Duration,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(mut task: PolicyTask) {
    let actor = task.policy.actor();
    let mut seen_version = None;
    loop {
        // A round whenever another connection committed; every look when that cannot be read.
        let version = task.store.data_version().ok();
        if version.is_none() || version != seen_version {
            seen_version = version;
            match answer_due(&mut task.policy, &mut task.store, &actor) {
                Ok(0) => {}
                Ok(answered) => {
                    tracing::info!(answered, policy = actor, "policy answered (shadow)")
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

/// Answers the requests the policy has not answered since they changed; how many.
fn answer_due(
    policy: &mut Policy,
    store: &mut Store,
    actor: &str,
) -> Result<usize, crate::store::StoreError> {
    let due = store.awaiting_policy(actor, ROUND)?;
    for &id in &due {
        let record = store.request(id)?;
        let verdict = policy.verdict(&record);
        store.write(|tx| {
            tx.append_event(
                actor,
                Some(id),
                EventKind::PolicyAnswered,
                &json!({
                    "mode": "shadow",
                    "answer": verdict.answer,
                    "policy": verdict.policy,
                }),
            )
            .map(drop)
        })?;
    }
    Ok(due.len())
}
