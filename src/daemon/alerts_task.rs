//! The alerts task: raises a stall alert when intake or a sync has been failing too long,
//! reminds of requests waiting past their time, ends time-bound grants,
//! sends the audit head and the weekly report when each is due, and delivers every alert to
//! the team.

use std::time::Duration;

use tokio::sync::watch;

use crate::alerts::{Delivery, Notifier, raise_stalls};
use crate::config::SendHead;
use crate::mail::compose::Templates;
use crate::store::{FileIdentity, Store};
use crate::upkeep::send_head_if_due;
use crate::wake::{OutboxWake, PushWake};

pub(super) struct AlertsTask {
    pub store: Store,
    /// `None` when no channel is configured: alerts then wait in the store and in `status`.
    pub notifier: Option<Notifier>,
    pub stalled_after: Duration,
    /// How soon an alert reaches the team.
    pub interval: Duration,
    pub send_head: SendHead,
    /// The day of the weekly report, and what it is written with.
    pub weekly_report: Option<crate::config::ReportTime>,
    pub templates: Templates,
    pub stale_after_days: u32,
    /// How long a request may wait for a decision, by risk.
    pub decide_within: crate::config::PerRisk,
    /// After how long an undecided request is denied, by risk (0: never).
    pub deny_after: crate::config::PerRisk,
    /// Alert mail goes out through the outbox.
    pub outbox: Option<OutboxWake>,
    /// A grant's end queues a revocation for the GitHub task.
    pub pushes: Option<PushWake>,
    pub shutdown: watch::Receiver<bool>,
}

/// Whether the file the store opened is no longer the one at its path.
fn database_lost(store: &Store) -> bool {
    FileIdentity::of(store.path()) != Some(store.identity())
}

pub(super) async fn run(mut task: AlertsTask) {
    let mut failing = false;
    let mut told_database_lost = false;
    loop {
        if database_lost(&task.store) {
            // Nothing can be recorded any more: say so once, and keep saying it in the log.
            tracing::error!(database = %task.store.path().display(), "the database was removed or replaced under the daemon: nothing more is written; restore it and restart the service");
            if !told_database_lost {
                told_database_lost = true;
                if let Some(notifier) = &task.notifier
                    && let Err(error) = notifier
                        .tell_without_the_store(
                            "database removed or replaced",
                            &format!(
                                "The database {} was removed or replaced under the running daemon: nothing more is written to it. Restore it from a backup (or put the file back) and restart the service.",
                                task.store.path().display()
                            ),
                        )
                        .await
                {
                    tracing::error!(%error, "the team cannot be told the database is lost");
                }
            }
            tracing::debug!("alerts round done");
            tokio::select! {
                _ = tokio::time::sleep(task.interval) => {}
                _ = task.shutdown.changed() => break,
            }
            continue;
        }
        let now = task.store.now();
        match raise_stalls(&mut task.store, task.stalled_after, now) {
            Ok(0) => {}
            Ok(raised) => {
                tracing::warn!(raised, "a part of patdesk has stalled; the team is alerted")
            }
            Err(error) => tracing::error!(%error, "cannot check for stalled parts"),
        }
        match crate::deadlines::raise_due(&mut task.store, &task.decide_within, now) {
            Ok(0) => {}
            Ok(raised) => tracing::info!(
                raised,
                "requests waiting past their time to a decision; the team is alerted"
            ),
            Err(error) => tracing::error!(%error, "cannot check the requests' time to a decision"),
        }
        match crate::deadlines::deny_overdue(&mut task.store, &task.deny_after, now) {
            Ok(0) => {}
            Ok(denied) => {
                tracing::info!(
                    denied,
                    "requests undecided past review.deny_after_hours: denied"
                );
                for wake in [&task.pushes, &task.outbox].into_iter().flatten() {
                    wake.wake();
                }
            }
            Err(error) => tracing::error!(%error, "cannot deny the requests past their deadline"),
        }
        match crate::grants::end_due(&mut task.store, now) {
            Ok(round) => {
                if round.revoked > 0 {
                    tracing::info!(revoked = round.revoked, "time-bound grants ended: revoked");
                    if let Some(pushes) = &task.pushes {
                        pushes.wake();
                    }
                }
                if round.revoked + round.notices > 0
                    && let Some(outbox) = &task.outbox
                {
                    outbox.wake();
                }
            }
            Err(error) => tracing::error!(%error, "cannot end the time-bound grants due"),
        }
        if let Some(notifier) = &task.notifier {
            match send_head_if_due(&mut task.store, task.send_head, now) {
                Ok(Some(head)) => tracing::info!(%head, "audit head sent to the team"),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "cannot send the audit head"),
            }
            if let Some(time) = task.weekly_report {
                match crate::report::send_if_due(
                    &mut task.store,
                    time,
                    &task.templates,
                    task.stale_after_days,
                    now,
                ) {
                    Ok(true) => tracing::info!("weekly report sent to the team"),
                    Ok(false) => {}
                    Err(error) => tracing::error!(%error, "cannot send the weekly report"),
                }
            }
            match notifier.deliver(&mut task.store).await {
                Ok(Delivery {
                    error: Some(error),
                    waiting,
                    ..
                }) => {
                    if !failing {
                        tracing::warn!(%error, waiting, "alerts cannot be delivered; retrying");
                        failing = true;
                    }
                }
                Ok(delivery) => {
                    if delivery.delivered > 0 {
                        tracing::info!(delivered = delivery.delivered, "alerts delivered");
                        if let Some(outbox) = &task.outbox {
                            outbox.wake();
                        }
                    }
                    failing = false;
                }
                Err(error) => tracing::error!(%error, "cannot deliver alerts"),
            }
        }
        // At debug level: how a test (or an admin) sees that the rounds go on.
        tracing::debug!("alerts round done");
        tokio::select! {
            _ = tokio::time::sleep(task.interval) => {}
            _ = task.shutdown.changed() => break,
        }
    }
}
