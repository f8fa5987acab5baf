//! The outbox task: sends queued mail every round, and as soon as intake or the sync has
//! queued some.

use std::time::Duration;

use tokio::sync::watch;

use crate::conversation::{self, Reminders};
use crate::smtp::{CopiesFiled, Sender};
use crate::store::{Part, Store};
use crate::wake::OutboxWake;

pub(super) struct OutboxTask {
    pub sender: Sender,
    pub store: Store,
    /// How often the outbox is looked at when nobody asks: a transient refusal is retried this late.
    pub interval: Duration,
    /// How often the outbox notices mail queued by another process, such as an engineer's command.
    pub look_for_commits: Duration,
    pub wake: OutboxWake,
    pub reminders: Reminders,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(mut task: OutboxTask) {
    let mut failing = false;
    let mut filing_failed = false;
    match task.sender.settle_interrupted(&mut task.store) {
        Ok(0) => {}
        Ok(count) => tracing::warn!(
            count,
            "mail interrupted mid-send marked uncertain; looked for in the Sent folder before any resend"
        ),
        Err(error) => tracing::error!(%error, "cannot settle interrupted sends"),
    }
    // Looking in the Sent folder takes an IMAP login: once an interval, however often woken.
    let mut next_look_in_sent = tokio::time::Instant::now();
    loop {
        match conversation::queue_due_reminders(&mut task.store, &task.reminders) {
            Ok(0) => {}
            Ok(queued) => tracing::info!(queued, "reminders queued"),
            Err(error) => tracing::error!(%error, "cannot queue reminders"),
        }
        if tokio::time::Instant::now() >= next_look_in_sent {
            next_look_in_sent = tokio::time::Instant::now() + task.interval;
            match task.sender.settle_uncertain(&mut task.store).await {
                Ok(settled) if settled.found + settled.requeued > 0 => tracing::info!(
                    found_in_sent = settled.found,
                    sent_again = settled.requeued,
                    "uncertain mail settled"
                ),
                Ok(_) => {}
                Err(error) => tracing::error!(%error, "cannot settle uncertain mail"),
            }
        }
        // A round is never cancelled: a mail marked `sending` must get its outcome recorded,
        // and a round ends within the SMTP timeout of its last mail.
        let shutdown = &task.shutdown;
        let stopping = || *shutdown.borrow();
        match task
            .sender
            .send_queued_until(&mut task.store, stopping)
            .await
        {
            Ok(report) if report.sent + report.failed + report.uncertain > 0 => {
                // The line says what happened; the fields carry the same for a query.
                tracing::info!(
                    sent = report.sent,
                    failed = report.failed,
                    uncertain = report.uncertain,
                    retrying = report.retrying,
                    held = report.held,
                    "mail sent: {} sent, {} failed, {} may not have gone, {} to retry, {} held by the limits",
                    report.sent,
                    report.failed,
                    report.uncertain,
                    report.retrying,
                    report.held
                );
                task.store.report_health(Part::Smtp, None);
                failing = false;
            }
            Ok(report) if report.retrying > 0 => {
                task.store
                    .report_health(Part::Smtp, Some("the mail server is not accepting mail"));
                if !failing {
                    tracing::warn!(
                        waiting = report.retrying,
                        "mail server not accepting mail; the outbox retries every round"
                    );
                    failing = true;
                }
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "outbox round failed"),
        }
        match task.sender.file_copies(&mut task.store).await {
            Ok(CopiesFiled {
                error: Some(error),
                waiting,
                ..
            }) => {
                if !filing_failed {
                    tracing::warn!(%error, waiting, "sent mail not filed in the Sent folder yet; retried every round");
                    filing_failed = true;
                }
            }
            Ok(filing) => {
                if filing_failed && filing.filed > 0 {
                    tracing::info!(
                        filed = filing.filed,
                        "sent mail filed in the Sent folder again"
                    );
                }
                filing_failed = false;
            }
            Err(error) => tracing::error!(%error, "cannot record sent mail as filed"),
        }
        let round_due = tokio::time::sleep(task.interval);
        tokio::pin!(round_due);
        let seen = task.store.data_version().ok();
        loop {
            tokio::select! {
                () = &mut round_due => break,
                () = task.wake.woken() => break,
                _ = tokio::time::sleep(task.look_for_commits) => {
                    // The safety net: every mail is queued by this daemon, which rings `wake`
                    // (the control socket after a decision, intake, the GitHub task); a
                    // commit nobody rang for is still sent within this look.
                    if task.store.data_version().ok() != seen {
                        break;
                    }
                }
                _ = task.shutdown.changed() => return,
            }
        }
    }
}
