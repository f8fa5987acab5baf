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

/// While a part has not yet reported, the status line is refreshed this often: `systemctl
/// status` says "connecting" for a second, not for a whole interval after it connected.
const WHILE_CONNECTING: Duration = Duration::from_secs(1);

/// Which parts the config runs, so the status line names only those.
#[derive(Debug, Clone, Copy)]
pub(super) struct Watched {
    pub intake: bool,
    pub github: bool,
}

impl Watched {
    pub(super) fn of(config: &Config) -> Watched {
        Watched {
            intake: config.mailbox.is_some(),
            github: config.github.is_some(),
        }
    }
}

/// Refreshes the status line every `interval`, or every watchdog period when that is shorter;
/// every second while a part is still connecting. `watched` follows the config in use: a
/// reload may add or drop a part.
pub(super) async fn run(
    systemd: Arc<Systemd>,
    database: PathBuf,
    clock: Clock,
    interval: Duration,
    watched: tokio::sync::watch::Receiver<Watched>,
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
        let mut connecting = false;
        if let Some(store) = &store {
            let line = summary(store, *watched.borrow());
            connecting = line.connecting;
            systemd.status(&line.text);
        }
        if systemd.watchdog().is_some() {
            systemd.alive();
        }
        tokio::time::sleep(if connecting {
            WHILE_CONNECTING.min(every)
        } else {
            every
        })
        .await;
    }
}

/// Says the status now: what READY is sent with, so `systemctl status` is right from the start.
pub(super) fn tell(systemd: &Systemd, config: &Config, clock: &Clock) {
    if let Ok(store) = Store::open_existing(&config.store.path, clock) {
        systemd.status(&summary(&store, Watched::of(config)).text);
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

/// The status line, and whether a part it names has yet to report.
pub struct StatusLine {
    pub text: String,
    pub connecting: bool,
}

/// `intake ok · github ok · outbox 0 queued · 3 awaiting purpose, 1 in review · triage 1`;
/// only the parts the config runs are named.
pub fn summary(store: &Store, watched: Watched) -> StatusLine {
    let health = store.health().unwrap_or_default();
    let mut connecting = false;
    // `label` as the line says it; `name`, the health part (or parts, `github:acme`).
    let mut part = |label: &str, name: &str| {
        let parts: Vec<_> = health
            .iter()
            .filter(|part| part.part == name || part.part.starts_with(&format!("{name}:")))
            .collect();
        let standing = if parts.is_empty() {
            connecting = true;
            "connecting"
        } else if parts.iter().any(|part| part.failing_since.is_some()) {
            "FAILING"
        } else {
            "ok"
        };
        format!("{label} {standing} · ")
    };
    let mut parts = String::new();
    if watched.intake {
        parts.push_str(&part("intake", "imap"));
    }
    if watched.github {
        parts.push_str(&part("github", "github"));
    }
    let counts = store.counts().unwrap_or_default();
    let count = |list: &[(String, i64)], state: &str| {
        list.iter()
            .find(|(name, _)| name == state)
            .map_or(0, |(_, count)| *count)
    };
    StatusLine {
        text: format!(
            "{parts}outbox {} queued · {} awaiting purpose, {} in review · triage {}",
            count(&counts.outbox, "queued"),
            count(&counts.requests, "awaiting_purpose"),
            count(&counts.requests, "in_review"),
            counts.triage
        ),
        connecting,
    }
}
