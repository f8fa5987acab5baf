//! The alerts task: raises a stall alert when intake or a sync has been failing too long,
//! sends the audit head and the weekly report when each is due, and delivers every alert to
//! the team.

use std::time::Duration;

use tokio::sync::watch;

use crate::alerts::{Delivery, Notifier, raise_stalls};
use crate::config::SendHead;
use crate::mail::compose::Templates;
use crate::store::Store;
use crate::upkeep::send_head_if_due;
use crate::wake::OutboxWake;

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
    /// Alert mail goes out through the outbox.
    pub outbox: Option<OutboxWake>,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(mut task: AlertsTask) {
    let mut failing = false;
    loop {
        let now = task.store.now();
        match raise_stalls(&mut task.store, task.stalled_after, now) {
            Ok(0) => {}
            Ok(raised) => {
                tracing::warn!(raised, "a part of patdesk has stalled; the team is alerted")
            }
            Err(error) => tracing::error!(%error, "cannot check for stalled parts"),
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
