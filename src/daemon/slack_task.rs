//! The Slack task, with [slack]: keeps the Socket Mode connection, acts on the clicks it
//! delivers, and keeps the channel's messages in step with the records.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::SlackConfig;
use crate::slack::decisions::SlackDesk;
use crate::slack::publish::publish_due;
use crate::slack::socket::{self, Health, Liveness};
use crate::store::{Part, Store};
use crate::wake::Wake;

/// Envelopes waiting for the desk: a burst of clicks queues here, never in front of the acks.
const QUEUE: usize = 1024;
/// After a failed round of posting, the next waits this long (Slack's rate limits included).
const PUBLISH_RETRY: Duration = Duration::from_secs(5);

pub(super) struct SlackTask {
    pub config: SlackConfig,
    pub desk: SlackDesk,
    /// Where the connection's health is reported (its own connection to the database).
    pub health_store: Store,
    pub ping_every: Duration,
    pub look_for_commits: Duration,
    /// Rung after a decision here or elsewhere in the daemon: the messages are due.
    pub publish: Wake,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(task: SlackTask) {
    let SlackTask {
        config,
        mut desk,
        health_store,
        ping_every,
        look_for_commits,
        publish,
        mut shutdown,
    } = task;
    let (deliver, mut delivered) = mpsc::channel(QUEUE);
    let health_store = std::sync::Mutex::new(health_store);
    let report = move |health: Health| {
        let Ok(store) = health_store.lock() else {
            return;
        };
        match health {
            Health::Connected => store.report_health(Part::Slack, None),
            Health::Failing(error) => store.report_health(Part::Slack, Some(&error)),
        }
    };
    let connection = tokio::spawn(socket::run(
        desk.api.clone(),
        Liveness::every(ping_every),
        deliver,
        report,
        shutdown.clone(),
    ));
    let mut seen_version = None;
    let mut publish_due_at = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= publish_due_at {
            seen_version = desk.store.data_version().ok();
            publish_due_at = match publish_due(&mut desk.store, &desk.api, &config).await {
                Ok(_) => tokio::time::Instant::now() + Duration::from_secs(3600),
                Err(error) => {
                    tracing::warn!(%error, "cannot bring the Slack channel up to date; trying again");
                    tokio::time::Instant::now() + PUBLISH_RETRY
                }
            };
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            envelope = delivered.recv() => match envelope {
                Some(envelope) => desk.handle(envelope).await,
                None => break,
            },
            () = publish.woken() => publish_due_at = tokio::time::Instant::now(),
            () = tokio::time::sleep_until(publish_due_at) => {}
            _ = tokio::time::sleep(look_for_commits) => {
                // A decision by the CLI or the GitHub sync commits from another connection:
                // noticed here within this look.
                if desk.store.data_version().ok() != seen_version {
                    publish_due_at = tokio::time::Instant::now();
                }
            }
        }
    }
    let _ = connection.await;
}
