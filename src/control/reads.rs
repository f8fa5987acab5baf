//! What the read requests answer: the records as the CLI shows them, and the service's
//! status. Gathered here, by the daemon, because only it can open the database; the CLI
//! formats them.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::admission::ControlCounts;
use crate::config::{PerRisk, SendLimits};
use crate::request::RequestState;
use crate::store::{
    Approvals, ChainHead, Counts, DatabaseSize, EventRecord, MessageRecord, OutboxMail, PartHealth,
    Push, RequestRecord, Store, StoreError, WebhookCounts,
};

/// `patdesk show`: a request and everything about it (its newest mails and events, when
/// there are more than [`SHOWN_PER_REQUEST`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestDetail {
    pub request: RequestRecord,
    pub messages: Vec<MessageRecord>,
    /// Earlier mails tied to the request, not shown.
    #[serde(default)]
    pub earlier_messages: u64,
    pub outbox: Vec<OutboxMail>,
    pub github_pushes: Vec<Push>,
    pub events: Vec<EventRecord>,
    /// Earlier events of the request, not shown (`patdesk watch --from` shows them all).
    #[serde(default)]
    pub earlier_events: u64,
    /// In review: who has approved, when it needs more than one approval or has some.
    #[serde(default)]
    pub approvals: Option<Approvals>,
}

/// The most mails, and events, `show` gives of one request: mail from outside can tie any
/// number of them to a request, and an answer is held whole in the daemon's memory.
pub const SHOWN_PER_REQUEST: u32 = 200;

/// `approvals_needed`: `review.approvals_needed`, to say who is still needed.
pub fn request_detail(
    store: &Store,
    id: i64,
    approvals_needed: &PerRisk,
) -> Result<RequestDetail, StoreError> {
    let request = store.request(id)?;
    let approvals = match request.state {
        RequestState::InReview => Approvals::of(store, id, approvals_needed.of(request.risk))?,
        _ => None,
    };
    let (messages, all_messages) = store.newest_messages_for(id, SHOWN_PER_REQUEST)?;
    let (events, all_events) = store.newest_events_for(id, SHOWN_PER_REQUEST)?;
    Ok(RequestDetail {
        request,
        earlier_messages: all_messages.saturating_sub(messages.len() as u64),
        messages,
        outbox: store.outbox_for(id)?,
        github_pushes: store.pushes_for(id)?,
        earlier_events: all_events.saturating_sub(events.len() as u64),
        events,
        approvals,
    })
}

/// `patdesk status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    /// The pid of the daemon running on this database.
    pub daemon: Option<String>,
    pub parts: Vec<PartHealth>,
    pub counts: Counts,
    pub breaker: Breaker,
    pub audit_head: Option<ChainHead>,
    /// The database file's size, and how much of the mail in it is kept whole.
    #[serde(default)]
    pub database: DatabaseSize,
    /// GitHub's webhook deliveries taken and refused (all zero where none was received).
    #[serde(default)]
    pub webhook: WebhookCounts,
    /// The control socket's connections open now, and those turned away since the start.
    #[serde(default)]
    pub control: ControlCounts,
    /// The config the daemon runs on, and whether the file still says the same; `None` when
    /// no daemon answered.
    #[serde(default)]
    pub config: Option<ConfigInUse>,
    /// Why the service counts as unhealthy; empty when it is not.
    pub problems: Vec<String>,
}

/// The config the daemon runs on: which file, when it was read, whether the file says the
/// same now, and the last reload it refused. A config file edited but not applied, or applied
/// and refused, is told here, not only in the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigInUse {
    pub path: std::path::PathBuf,
    pub loaded: LoadedConfig,
    pub file: FileSinceLoaded,
}

/// When the daemon read the config it runs on, and the reload it refused since, if any.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadedConfig {
    pub at: Timestamp,
    pub refused_reload: Option<RefusedReload>,
}

/// A reload the daemon refused (the file broken, a secret missing), keeping the config it had.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedReload {
    pub at: Timestamp,
    pub error: String,
}

/// The config file now, against the text the daemon loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileSinceLoaded {
    Same,
    Changed,
    /// Gone, or not readable by the daemon.
    Unreadable,
}

impl FileSinceLoaded {
    /// The file at `path` against the digest of the text loaded from it.
    pub fn of(path: &std::path::Path, loaded_digest: &str) -> FileSinceLoaded {
        match std::fs::read_to_string(path) {
            Ok(text) if crate::config::digest_of(&text) == loaded_digest => FileSinceLoaded::Same,
            Ok(_) => FileSinceLoaded::Changed,
            Err(_) => FileSinceLoaded::Unreadable,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Breaker {
    pub sent_in_window: usize,
    pub limit: usize,
    pub window_minutes: i64,
    pub paused: bool,
}

/// The status as the daemon `pid` sees it.
pub fn status(
    store: &Store,
    pid: Option<String>,
    limits: SendLimits,
    stalled_after: std::time::Duration,
    control: ControlCounts,
) -> Result<Status, StoreError> {
    let limits = crate::smtp::RateLimits::from(limits);
    let (sent_in_window, paused) = limits.breaker(store)?;
    let mut status = Status {
        daemon: pid,
        parts: store.health()?,
        counts: store.counts()?,
        breaker: Breaker {
            sent_in_window,
            limit: limits.breaker_count,
            window_minutes: limits.breaker_window.as_mins(),
            paused,
        },
        audit_head: store.chain_head()?,
        database: store.database_size()?,
        webhook: store.webhook_counts()?,
        control,
        config: None,
        problems: Vec::new(),
    };
    status.problems = problems(&status, stalled_after, store.now());
    Ok(status)
}

fn problems(status: &Status, stalled_after: std::time::Duration, now: Timestamp) -> Vec<String> {
    let mut problems = Vec::new();
    if status.daemon.is_none() {
        problems.push("the daemon is not running".to_string());
    }
    for part in &status.parts {
        if let Some((_, since)) = crate::alerts::stalled(part, stalled_after, now) {
            problems.push(format!(
                "{} failing since {}: {}",
                part.part,
                crate::store::format_time(since),
                part.last_error.as_deref().unwrap_or("no error recorded")
            ));
        }
    }
    problems
}
