//! The handles one part of the daemon holds to ask another for work soon. They live below
//! both sides: intake and the GitHub task ring them, the daemon wires them to the tasks that
//! answer.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

/// Asks the outbox task for a round soon. Cheap to clone.
#[derive(Clone, Default)]
pub struct OutboxWake(Arc<Notify>);

impl OutboxWake {
    pub fn wake(&self) {
        // One stored permit: many wakes before the next round make one round.
        self.0.notify_one();
    }

    /// Resolves at the next wake (or at once for one made since the last).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Asks the GitHub task to sync an org soon. Cheap to clone.
#[derive(Clone)]
pub struct SyncTrigger(mpsc::UnboundedSender<String>);

impl SyncTrigger {
    /// The trigger, and what the GitHub task reads the orgs asked for from.
    pub fn channel() -> (SyncTrigger, mpsc::UnboundedReceiver<String>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (SyncTrigger(sender), receiver)
    }

    pub fn org(&self, org: &str) {
        // The task is gone only at shutdown, when nothing needs syncing any more.
        let _ = self.0.send(org.to_string());
    }
}
