//! The GitHub task: every org synced every `sync_interval`, mail or no mail, and an org synced
//! soon after GitHub's mail about it (many mails within the debounce window, one sync); after
//! each sync, queued decisions are carried to GitHub, and a new decision within seconds.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until};

use crate::control::SyncNow;
use crate::github::GithubClient;
use crate::store::{Part, Store};
use crate::sync::{Deciders, Round, SyncOptions, round};
use crate::wake::{OutboxWake, PushWake, Soon, SyncAsk};

pub(super) struct GithubTask {
    pub client: GithubClient,
    pub store: Store,
    pub orgs: Vec<String>,
    pub options: SyncOptions,
    pub interval: Duration,
    /// Rung by the control socket when a decision commits: it is carried at once.
    pub pushes: PushWake,
    /// How often the queue is looked at besides: a safety net, since every decision is made
    /// by this daemon and rings `pushes`.
    pub look_for_decisions: Duration,
    pub debounce: Duration,
    pub triggers: mpsc::UnboundedReceiver<SyncAsk>,
    /// `patdesk sync` through the control socket: synced now, answered with the round.
    pub requests: mpsc::UnboundedReceiver<SyncNow>,
    /// Whose decisions may be carried to GitHub.
    pub deciders: Deciders,
    /// Told after each sync, which may have queued questions to requesters.
    pub outbox: Option<OutboxWake>,
    pub shutdown: watch::Receiver<bool>,
}

/// After a first trigger, waits out the debounce window and returns every org asked for; an
/// ask for a sync now (the webhook's) ends the wait, with what was asked so far.
pub async fn gather_triggers(
    first: SyncAsk,
    triggers: &mut mpsc::UnboundedReceiver<SyncAsk>,
    debounce: Duration,
) -> BTreeSet<String> {
    let mut now = first.soon == Soon::Now;
    let mut orgs = BTreeSet::from([first.org]);
    let deadline = Instant::now() + debounce;
    while !now {
        tokio::select! {
            more = triggers.recv() => match more {
                Some(ask) => {
                    now = ask.soon == Soon::Now;
                    orgs.insert(ask.org);
                }
                None => break,
            },
            _ = sleep_until(deadline) => break,
        }
    }
    // Asks already queued go with this round rather than start a window of their own.
    while let Ok(ask) = triggers.try_recv() {
        orgs.insert(ask.org);
    }
    orgs
}

pub(super) async fn run(mut task: GithubTask) {
    let mut next_full_sync = Instant::now();
    let mut failing = false;
    loop {
        let mut asked_by: Option<tokio::sync::oneshot::Sender<serde_json::Value>> = None;
        let due: BTreeSet<String> = tokio::select! {
            Some(asked) = task.requests.recv() => {
                asked_by = Some(asked.reply);
                match asked.org {
                    Some(org) => BTreeSet::from([org]),
                    None => task.orgs.iter().cloned().collect(),
                }
            }
            _ = sleep_until(next_full_sync) => {
                next_full_sync = Instant::now() + task.interval;
                task.orgs.iter().cloned().collect()
            }
            Some(first) = task.triggers.recv() => {
                let asked = gather_triggers(first, &mut task.triggers, task.debounce).await;
                asked.into_iter().filter(|org| task.orgs.iter().any(|known| known.eq_ignore_ascii_case(org))).collect()
            }
            // A decision just committed: carry it now, without a sync (no orgs).
            () = task.pushes.woken() => BTreeSet::new(),
            _ = tokio::time::sleep(task.look_for_decisions) => {
                // The safety net: a push queued that nobody rang for.
                if task.store.has_untried_pushes().unwrap_or(false) {
                    BTreeSet::new()
                } else {
                    // At debug level: how a test sees that nothing was waiting to be synced.
                    tracing::debug!("github task idle round");
                    continue;
                }
            }
            _ = task.shutdown.changed() => break,
        };
        // Cancelling here is safe: every database write happens between two awaits, in one
        // transaction, so a stop lands before a transaction or after its commit.
        let work = sync_and_push(
            &task.client,
            &mut task.store,
            &due,
            &task.options,
            &task.deciders,
            &mut failing,
        );
        tokio::select! {
            round = work => {
                if let Some(reply) = asked_by {
                    let _ = reply.send(round.answer());
                }
            }
            _ = task.shutdown.changed() => break,
        }
        if let Some(outbox) = &task.outbox {
            outbox.wake();
        }
    }
}

/// A round, with each part's health recorded for `status` and each change of health logged
/// once, not a line per retry.
async fn sync_and_push(
    client: &GithubClient,
    store: &mut Store,
    orgs: &BTreeSet<String>,
    options: &SyncOptions,
    deciders: &Deciders,
    failing: &mut bool,
) -> Round {
    let round = round(
        client,
        store,
        orgs.iter().map(String::as_str),
        options,
        deciders,
    )
    .await;
    for (org, outcome) in &round.synced {
        store.report_health(
            Part::Github(org),
            outcome.as_ref().err().map(String::as_str),
        );
        if let Ok(report) = outcome {
            let changed = report.new
                + report.changed
                + report.withdrawn
                + report.approved_elsewhere
                + report.expired
                > 0;
            if changed {
                tracing::info!(org = %report.org, count = report.pending, "{report}");
            } else {
                tracing::debug!(org = %report.org, count = report.pending, "{report}");
            }
        }
    }
    store.report_health(
        Part::GithubPush,
        round.pushed.as_ref().err().map(String::as_str),
    );
    if let Ok(report) = &round.pushed
        && report.done + report.failed + report.retrying + report.refused > 0
    {
        tracing::info!(count = report.done, "{report}");
    }
    let errors = round.errors();
    match (errors.is_empty(), *failing) {
        (false, false) => {
            tracing::warn!(
                error = errors.join("; "),
                "GitHub sync failing; retrying on the next round"
            );
            *failing = true;
        }
        (true, true) => {
            tracing::info!("GitHub sync recovered");
            *failing = false;
        }
        (false, true) | (true, false) => {}
    }
    round
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(org: &str) -> SyncAsk {
        SyncAsk {
            org: org.to_string(),
            soon: Soon::AfterDebounce,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn many_triggers_within_the_window_make_one_sync_per_org() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        for org in ["acme", "acme", "cafe", "acme"] {
            sender.send(mail(org)).expect("send");
        }
        let later = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = later.send(mail("late-in-window"));
            tokio::time::sleep(Duration::from_secs(10)).await;
            let _ = later.send(mail("after-window"));
        });
        let first = receiver.recv().await.expect("first");
        let orgs = gather_triggers(first, &mut receiver, Duration::from_secs(5)).await;
        assert_eq!(
            orgs,
            BTreeSet::from([
                "acme".to_string(),
                "cafe".to_string(),
                "late-in-window".to_string()
            ])
        );
        // The next trigger starts the next window.
        assert_eq!(
            receiver.recv().await.map(|ask| ask.org).as_deref(),
            Some("after-window")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_webhook_ask_is_synced_without_waiting_out_the_window() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        sender.send(mail("acme")).expect("send");
        let later = sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = later.send(SyncAsk {
                org: "cafe".to_string(),
                soon: Soon::Now,
            });
        });
        let started = Instant::now();
        let first = receiver.recv().await.expect("first");
        let orgs = gather_triggers(first, &mut receiver, Duration::from_secs(5)).await;
        assert_eq!(
            orgs,
            BTreeSet::from(["acme".to_string(), "cafe".to_string()])
        );
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(1),
            "not the whole 5 s window"
        );

        sender
            .send(SyncAsk {
                org: "acme".to_string(),
                soon: Soon::Now,
            })
            .expect("send");
        let started = Instant::now();
        let first = receiver.recv().await.expect("first");
        let orgs = gather_triggers(first, &mut receiver, Duration::from_secs(5)).await;
        assert_eq!(orgs, BTreeSet::from(["acme".to_string()]));
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}
