//! What systemd hears from the running daemon besides READY: a one-line `STATUS=` summary for
//! `systemctl status`, and the watchdog's "alive" when the unit sets `WatchdogSec=`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::notify::Systemd;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// How long READY waits for the first contact with the mailbox (or GitHub): a service that
/// cannot reach them is still started, and says so in its status.
const FIRST_CONTACT_WAIT: Duration = Duration::from_secs(30);

/// Refreshes the status line every `interval`, or every watchdog period when that is shorter.
pub(super) async fn run(
    systemd: Arc<Systemd>,
    database: PathBuf,
    clock: Clock,
    interval: Duration,
) {
    let every = systemd
        .watchdog()
        .map_or(interval, |watchdog| watchdog.min(interval));
    let store = match Store::open_existing(&database, &clock) {
        Ok(store) => Some(store),
        Err(error) => {
            tracing::warn!(%error, "the status line for systemd cannot be read");
            None
        }
    };
    loop {
        if let Some(store) = &store {
            systemd.status(&summary(store));
        }
        if systemd.watchdog().is_some() {
            systemd.alive();
        }
        tokio::time::sleep(every).await;
    }
}

/// Waits until intake (or else the GitHub sync) has reported since `started`, working or not,
/// for at most [`FIRST_CONTACT_WAIT`].
pub(super) async fn wait_for_first_contact(
    config: &Config,
    clock: &Clock,
    started: jiff::Timestamp,
) {
    // With neither, there is nothing to contact: the records are served at once.
    if config.mailbox.is_none() && config.github.is_none() {
        return;
    }
    let Ok(store) = Store::open_existing(&config.store.path, clock) else {
        return;
    };
    let part_prefix = if config.mailbox.is_some() {
        "imap"
    } else {
        "github:"
    };
    let deadline = tokio::time::Instant::now() + FIRST_CONTACT_WAIT;
    while tokio::time::Instant::now() < deadline {
        let reported = store
            .health()
            .unwrap_or_default()
            .iter()
            .any(|part| part.part.starts_with(part_prefix) && part.updated_at >= started);
        if reported {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `intake ok · github ok (2 orgs) · outbox 0 queued · 3 awaiting purpose · triage 1`.
pub fn summary(store: &Store) -> String {
    let health = store.health().unwrap_or_default();
    let part = |name: &str| {
        let parts: Vec<_> = health
            .iter()
            .filter(|part| part.part == name || part.part.starts_with(&format!("{name}:")))
            .collect();
        if parts.is_empty() {
            "not yet".to_string()
        } else if parts.iter().any(|part| part.failing_since.is_some()) {
            "FAILING".to_string()
        } else {
            "ok".to_string()
        }
    };
    let counts = store.counts().unwrap_or_default();
    let count = |list: &[(String, i64)], state: &str| {
        list.iter()
            .find(|(name, _)| name == state)
            .map_or(0, |(_, count)| *count)
    };
    format!(
        "intake {} · github {} · outbox {} queued · {} awaiting purpose, {} in review · triage {}",
        part("imap"),
        part("github"),
        count(&counts.outbox, "queued"),
        count(&counts.requests, "awaiting_purpose"),
        count(&counts.requests, "in_review"),
        counts.triage
    )
}
