//! The Slack tasks, with [slack]: one keeps the Socket Mode connection and acts on the clicks
//! it delivers; the other keeps the channel's messages in step with the records. Apart, so a
//! click is never queued behind a round of posts (Slack takes a second per post to a channel
//! when it is busy).

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::SlackConfig;
use crate::slack::api::{SlackError, WebApi};
use crate::slack::decisions::SlackDesk;
use crate::slack::publish::{PublishError, publish_due};
use crate::slack::socket::{self, Health, Liveness};
use crate::store::{Part, Store};
use crate::wake::Wake;

/// Envelopes waiting for the desk: a burst of clicks queues here, never in front of the acks.
const QUEUE: usize = 1024;
/// After a failed round of posting, the next waits this long, or as long as Slack asks.
const PUBLISH_RETRY: Duration = Duration::from_secs(5);

/// The clicks.
pub(super) struct DecisionsTask {
    pub desk: SlackDesk,
    pub ping_every: Duration,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn decisions(task: DecisionsTask) {
    let DecisionsTask {
        mut desk,
        ping_every,
        mut shutdown,
    } = task;
    let (deliver, mut delivered) = mpsc::channel(QUEUE);
    // The connection's health, written by the desk's own connection to the database.
    let (health, mut health_changes) = watch::channel(None);
    let connection = tokio::spawn(socket::run(
        desk.api.clone(),
        Liveness::every(ping_every),
        deliver,
        move |now: Health| {
            let _ = health.send(Some(now));
        },
        shutdown.clone(),
    ));
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            envelope = delivered.recv() => match envelope {
                Some(envelope) => desk.handle(envelope).await,
                None => break,
            },
            Ok(()) = health_changes.changed() => {
                let now = health_changes.borrow_and_update().clone();
                match now {
                    Some(Health::Connected) => desk.store.report_health(Part::Slack, None),
                    Some(Health::Failing(error)) => {
                        desk.store.report_health(Part::Slack, Some(&error));
                    }
                    None => {}
                }
            }
        }
    }
    let _ = connection.await;
}

/// The channel's messages.
pub(super) struct ChannelTask {
    pub config: SlackConfig,
    /// `review.approvals_needed`: a message says who has approved and how many more must.
    pub approvals_needed: crate::config::PerRisk,
    pub api: WebApi,
    pub store: Store,
    pub look_for_commits: Duration,
    /// Rung after a decision here: the messages are due.
    pub publish: Wake,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn channel(mut task: ChannelTask) {
    let mut seen_version = None;
    let mut due_at = Some(tokio::time::Instant::now());
    loop {
        if due_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
            seen_version = task.store.data_version().ok();
            due_at = match publish_due(
                &mut task.store,
                &task.api,
                &task.config,
                &task.approvals_needed,
            )
            .await
            {
                Ok(_) => None,
                Err(error) => {
                    let wait = match &error {
                        PublishError::Slack(SlackError::RateLimited { retry_after, .. }) => {
                            *retry_after
                        }
                        _ => PUBLISH_RETRY,
                    };
                    tracing::warn!(%error, "cannot bring the Slack channel up to date; trying again");
                    Some(tokio::time::Instant::now() + wait)
                }
            };
        }
        let retry = async {
            match due_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = task.shutdown.changed() => break,
            () = task.publish.woken() => due_at = Some(tokio::time::Instant::now()),
            () = retry => {}
            _ = tokio::time::sleep(task.look_for_commits) => {
                // A decision by the CLI or the GitHub sync commits from another connection:
                // noticed here within this look.
                if task.store.data_version().ok() != seen_version {
                    due_at = Some(tokio::time::Instant::now());
                }
            }
        }
    }
}
