//! The handles one part of the daemon holds to ask another for work soon. They live below
//! both sides: intake and the GitHub task ring them, the daemon wires them to the tasks that
//! answer.

use std::sync::Arc;

use tokio::sync::{Notify, mpsc};

/// Asks a task for a round soon: the outbox task to send, the GitHub task to carry decisions.
/// Cheap to clone.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

/// Asks the outbox task to send what is queued.
pub type OutboxWake = Wake;
/// Asks the GitHub task to carry queued decisions to GitHub (without a sync).
pub type PushWake = Wake;

impl Wake {
    pub fn wake(&self) {
        // One stored permit: many wakes before the next round make one round.
        self.0.notify_one();
    }

    /// Resolves at the next wake (or at once for one made since the last).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// How soon an org asked for is synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soon {
    /// GitHub's mail: several about one change arrive within seconds, so the GitHub task
    /// waits out its debounce window and syncs once.
    AfterDebounce,
    /// GitHub's webhook: one delivery per change, signed, and the reason to have it at all is
    /// speed.
    Now,
}

/// An org the GitHub task is asked to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAsk {
    pub org: String,
    pub soon: Soon,
}

/// Asks the GitHub task to sync an org soon. Cheap to clone.
#[derive(Clone)]
pub struct SyncTrigger(mpsc::UnboundedSender<SyncAsk>);

impl SyncTrigger {
    /// The trigger, and what the GitHub task reads the orgs asked for from.
    pub fn channel() -> (SyncTrigger, mpsc::UnboundedReceiver<SyncAsk>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (SyncTrigger(sender), receiver)
    }

    /// A sync of `org` after the debounce window (GitHub's mail asked).
    pub fn org(&self, org: &str) {
        self.ask(org, Soon::AfterDebounce);
    }

    /// A sync of `org` at once (GitHub's webhook asked).
    pub fn org_now(&self, org: &str) {
        self.ask(org, Soon::Now);
    }

    fn ask(&self, org: &str, soon: Soon) {
        // The task is gone only at shutdown, when nothing needs syncing any more.
        let _ = self.0.send(SyncAsk {
            org: org.to_string(),
            soon,
        });
    }
}
