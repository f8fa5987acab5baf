//! `patdesk run`: wires the long-running tasks together, and stops them on SIGTERM or Ctrl-C.
//!
//! It runs mail intake (IMAP), the GitHub task (sync on a timer and when GitHub's mail or
//! webhook asks, then carry decisions back), GitHub's webhook receiver when configured, the
//! outbox (SMTP), and with [slack] the team channel's clicks and messages. No business rules
//! live here: each task calls the module that owns its job.

mod alerts_task;
mod github_task;
mod lock;
mod memory;
mod notify;
mod one_line;
mod outbox_task;
mod policy_task;
mod pulse;
mod ready;
mod slack_task;
mod upkeep_task;

use anyhow::{Context as _, anyhow};
use tokio::sync::{mpsc, watch};

pub use github_task::gather_triggers;
pub use lock::{DaemonLock, LockError, lock_path, running_daemon};
pub use ready::{GithubReady, Ready, ready};

use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::control::reads::{LoadedConfig, RefusedReload};
use crate::control::{AfterChanges, ControlServer, SyncNow, SyncRequests};
use crate::imap::{MailboxAccess, MailboxWatch};
use crate::intake::Intake;
use crate::store::{ChainKey, Store, WalRestarts};
use crate::wake::{OutboxWake, PushWake, SyncTrigger};

/// How long the token endpoint is given to answer.
pub(crate) const OAUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The runtime's threads, well inside the unit's TasksMax=64 whatever the machine's cores:
/// the work is waiting on servers and the database, not computing.
const WORKER_THREADS: usize = 4;
/// Threads for blocking work (the database, DNS): no caller can make the daemon ask for more,
/// since the control socket answers at most `admission::MAX_ANSWERING` requests at once.
const BLOCKING_THREADS: usize = 24;

/// The key the audit chain's MACs are made with, derived from `[signing] key`; `None` without
/// one (the events then carry no MAC, and the README says what that leaves open).
pub fn chain_key(config: &Config) -> Result<Option<ChainKey>, ConfigError> {
    let Some(signing_key) = &config.signing_key else {
        return Ok(None);
    };
    let secret = signing_key.read().map_err(|problem| ConfigError::Invalid {
        path: config.source.clone(),
        problems: vec![problem],
    })?;
    Ok(Some(ChainKey::from_signing_key(secret.expose().as_bytes())))
}

/// Runs until SIGTERM or Ctrl-C; SIGHUP reloads the config and templates. Each task finishes
/// the transaction it is in; none is started after the signal.
pub fn run(config: Config, clock: Clock) -> anyhow::Result<()> {
    memory::return_large_buffers();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(BLOCKING_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(supervise(config, clock))
}

/// What made the tasks stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Terminate,
    Reload,
}

/// Holds the lock, runs the tasks of the config in use, and swaps in a new config on SIGHUP
/// once every secret and template of it has been read; a config that cannot be used is refused
/// and the one in use kept.
async fn supervise(mut config: Config, clock: Clock) -> anyhow::Result<()> {
    let _lock = DaemonLock::acquire(&config.store.path)?;
    // The one place a database is created (and migrated); every task opens the one there is.
    Store::open(&config.store.path, &clock)?;
    let systemd = std::sync::Arc::new(notify::Systemd::from_env());
    let mut signals = Signals::new()?;
    let mut loaded = LoadedConfig {
        at: clock.now(),
        refused_reload: None,
    };
    let mut next = Some(prepare(&config, &clock, &loaded)?);
    let (watched, watching) = watch::channel(pulse::Watched::of(&config));
    tokio::spawn(pulse::run(
        systemd.clone(),
        config.store.path.clone(),
        clock.clone(),
        config.intervals.status,
        watching,
    ));
    let mut ready = false;
    while let Some(prepared) = next.take() {
        let started = clock.now();
        let (shutdown, mut tasks) = prepared.spawn();
        // A signal while READY waits for the first contact is taken at once, not after it.
        let mut early = None;
        if !ready {
            tokio::select! {
                () = pulse::wait_for_first_contact(&config, &clock, started) => {}
                stop = signals.next() => early = Some(stop),
            }
            pulse::tell(&systemd, &config, &clock);
            systemd.ready();
            ready = true;
        }
        let stop = match early {
            Some(stop) => stop,
            None => tokio::select! {
                stop = signals.next() => stop,
                // Every task ended by itself: nothing is left to run.
                () = join_all(&mut tasks) => Stop::Terminate,
            },
        };
        match stop {
            Stop::Terminate => {
                systemd.stopping();
                tracing::info!("stopping: finishing the current transaction");
            }
            Stop::Reload => {
                systemd.reloading();
                tracing::info!(config = %config.source.display(), "reloading the config");
            }
        }
        let _ = shutdown.send(true);
        join_all(&mut tasks).await;
        if stop == Stop::Reload {
            next = Some(match reload(&config, &clock) {
                Ok((new_config, new_loaded, prepared)) => {
                    config = new_config;
                    loaded = new_loaded;
                    let _ = watched.send(pulse::Watched::of(&config));
                    tracing::info!("config and templates reloaded");
                    prepared
                }
                Err(error) => {
                    tracing::error!("new config refused, the one in use is kept: {error:#}");
                    // `status` tells it too: the journal is not where an engineer looks.
                    loaded.refused_reload = Some(RefusedReload {
                        at: clock.now(),
                        error: format!("{error:#}"),
                    });
                    prepare(&config, &clock, &loaded)?
                }
            });
            pulse::tell(&systemd, &config, &clock);
            systemd.ready();
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The config file read again, with everything it names, ready to run.
fn reload(current: &Config, clock: &Clock) -> anyhow::Result<(Config, LoadedConfig, Prepared)> {
    let new = Config::load(&current.source)?;
    if new.store.path != current.store.path {
        return Err(anyhow!(
            "store.path changed from {} to {}: that needs a restart",
            current.store.path.display(),
            new.store.path.display()
        ));
    }
    let loaded = LoadedConfig {
        at: clock.now(),
        refused_reload: None,
    };
    let prepared = prepare(&new, clock, &loaded)?;
    Ok((new, loaded, prepared))
}

async fn join_all(tasks: &mut tokio::task::JoinSet<()>) {
    while let Some(finished) = tasks.join_next().await {
        if let Err(error) = finished {
            tracing::error!(%error, "a task stopped unexpectedly");
        }
    }
}

type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The tasks of one config, built (every secret and template read) but not started.
struct Prepared {
    shutdown: watch::Sender<bool>,
    tasks: Vec<Task>,
}

impl Prepared {
    fn spawn(self) -> (watch::Sender<bool>, tokio::task::JoinSet<()>) {
        let mut set = tokio::task::JoinSet::new();
        for task in self.tasks {
            set.spawn(task);
        }
        (self.shutdown, set)
    }
}

/// Builds the tasks of `config` from what [`ready`] read of it: intake, the GitHub task, the
/// webhook, the outbox, Slack, the control socket, alerts and upkeep. Only wiring: whatever can be
/// wrong with the config was found by `ready`, which `check-config` runs too.
fn prepare(config: &Config, clock: &Clock, loaded: &LoadedConfig) -> anyhow::Result<Prepared> {
    if config.github.is_none() && config.mailbox.is_none() {
        // The records and the engineers' commands still work; nothing comes in or goes out.
        tracing::warn!(
            config = %config.source.display(),
            "no [mailbox] and no [github]: serving the records only; add them to take in mail and follow GitHub"
        );
    }
    let Ready {
        chain_key,
        templates,
        github: github_ready,
        webhook_secret,
        mailbox_credential,
        signing_key,
        sender,
        slack_webhook,
        slack: slack_api,
        policy,
    } = ready(config, clock)?;
    // The policy's decisions are carried only when the config enforces it.
    let deciders = crate::sync::Deciders::with(config, policy.as_ref());
    let open = || -> Result<Store, crate::store::StoreError> {
        Ok(Store::open_existing(&config.store.path, clock)?.keyed(chain_key.clone()))
    };
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (trigger, triggers) = SyncTrigger::channel();
    let (sync_requests, sync_requests_rx) = mpsc::unbounded_channel::<SyncNow>();
    let mut tasks: Vec<Task> = Vec::new();
    // Mail is sent only with [smtp]; without it the queue waits for a config that has one, and
    // nobody needs to wake an outbox task.
    let outbox_wake = OutboxWake::default();
    let outbox = sender.is_some().then(|| outbox_wake.clone());
    // Decisions go to GitHub only with [github].
    let push_wake = PushWake::default();
    let pushes = github_ready.is_some().then(|| push_wake.clone());

    let orgs: Vec<String> = config
        .github
        .iter()
        .flat_map(|github| github.orgs.iter().map(|org| org.login.clone()))
        .collect();
    if let (Some(github), Some(GithubReady { client, options })) = (&config.github, github_ready) {
        tasks.push(Box::pin(github_task::run(github_task::GithubTask {
            client,
            store: open()?,
            orgs: orgs.clone(),
            options,
            interval: github.sync_interval,
            pushes: push_wake,
            look_for_decisions: config.intervals.look_for_commits,
            debounce: github.sync_debounce,
            triggers,
            requests: sync_requests_rx,
            deciders,
            outbox: outbox.clone(),
            shutdown: shutdown.clone(),
        })));
    }
    if let (Some(webhook), Some(secret)) = (
        config
            .github
            .as_ref()
            .and_then(|github| github.webhook.as_ref()),
        webhook_secret,
    ) {
        let receiver = crate::webhook::Receiver::bind(
            webhook,
            secret,
            orgs.clone(),
            open()?,
            trigger.clone(),
        )?;
        tasks.push(Box::pin(receiver.run(shutdown.clone())));
    }
    if let (Some(mailbox), Some(credential)) = (&config.mailbox, mailbox_credential) {
        let watch = MailboxWatch {
            imap: MailboxAccess::new(mailbox.clone(), credential),
            intake: Intake {
                policy: config.mail.clone(),
                signing_key,
                review: config.review.clone(),
                orgs: orgs.clone(),
                trigger: config.github.is_some().then(|| trigger.clone()),
                outbox: outbox.clone(),
                wal_restarts: match config.store.litestream {
                    true => WalRestarts::LeftToLitestream,
                    false => WalRestarts::Allowed,
                },
            },
            store: open()?,
        };
        tasks.push(Box::pin(watch.run(shutdown.clone())));
    }
    if let Some(sender) = sender {
        tasks.push(Box::pin(outbox_task::run(outbox_task::OutboxTask {
            sender,
            store: open()?,
            interval: config.intervals.outbox,
            look_for_commits: config.intervals.look_for_commits,
            wake: outbox_wake,
            reminders: config.reminders.clone(),
            shutdown: shutdown.clone(),
        })));
    }
    if let (Some(slack), Some(api)) = (&config.slack, slack_api) {
        let publish = crate::wake::Wake::default();
        let after_decision = [outbox.clone(), pushes.clone(), Some(publish.clone())]
            .into_iter()
            .flatten()
            .collect();
        tasks.push(Box::pin(slack_task::decisions(slack_task::DecisionsTask {
            desk: crate::slack::decisions::SlackDesk::new(
                slack.clone(),
                config.team.clone(),
                config.review.clone(),
                api.clone(),
                open()?,
                after_decision,
            ),
            ping_every: config.intervals.slack_ping,
            shutdown: shutdown.clone(),
        })));
        tasks.push(Box::pin(slack_task::channel(slack_task::ChannelTask {
            config: slack.clone(),
            approvals_needed: config.review.approvals_needed,
            api,
            store: open()?,
            look_for_commits: config.intervals.look_for_commits,
            publish,
            shutdown: shutdown.clone(),
        })));
    }
    if let (Some(config_policy), Some(policy)) = (&config.policy, policy)
        && config_policy.mode != crate::config::PolicyMode::Off
    {
        tasks.push(Box::pin(policy_task::run(policy_task::PolicyTask {
            policy,
            mode: config_policy.mode,
            review: config.review.clone(),
            store: open()?,
            look_for_commits: config.intervals.look_for_commits,
            after_decision: [outbox.clone(), pushes.clone()]
                .into_iter()
                .flatten()
                .collect(),
            shutdown: shutdown.clone(),
        })));
    }
    let control = ControlServer::bind(
        config,
        clock,
        chain_key.clone(),
        config.github.is_some().then(|| SyncRequests(sync_requests)),
        AfterChanges {
            outbox: outbox.clone(),
            pushes: pushes.clone(),
        },
        loaded.clone(),
    )?;
    tasks.push(Box::pin(control.run(shutdown.clone())));
    tasks.push(Box::pin(alerts_task::run(alerts_task::AlertsTask {
        store: open()?,
        notifier: crate::alerts::Notifier::new(&config.alerts, slack_webhook),
        stalled_after: config.alerts.stalled_after,
        interval: config.intervals.alerts,
        send_head: config.alerts.send_head,
        weekly_report: config.alerts.weekly_report,
        templates,
        stale_after_days: config.review.stale_after_days,
        decide_within: config.review.decide_within,
        deny_after: config.review.deny_after_hours,
        outbox: outbox.clone(),
        pushes: pushes.clone(),
        shutdown: shutdown.clone(),
    })));
    tasks.push(Box::pin(upkeep_task::run(upkeep_task::UpkeepTask {
        store: open()?.reopen(),
        interval: config.intervals.upkeep,
        keep_raw: config.store.keep_raw,
        backups: config.store.backups.clone(),
        shutdown: shutdown.clone(),
    })));
    tracing::info!(
        orgs = orgs.join(","),
        mailbox = config.mailbox.as_ref().map(|mailbox| format!("{}@{}", mailbox.folder, mailbox.endpoint.host)).unwrap_or_default(),
        outbox = config.smtp.as_ref().map(|smtp| format!("{}:{}", smtp.endpoint.host, smtp.endpoint.port)).unwrap_or_default(),
        database = %config.store.path.display(),
        "patdesk running"
    );
    Ok(Prepared {
        shutdown: shutdown_tx,
        tasks,
    })
}

/// SIGTERM and Ctrl-C stop the daemon; SIGHUP reloads it.
struct Signals {
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> anyhow::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            terminate: signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?,
            hangup: signal(SignalKind::hangup()).context("cannot watch for SIGHUP")?,
        })
    }

    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.terminate.recv() => Stop::Terminate,
            _ = tokio::signal::ctrl_c() => Stop::Terminate,
            _ = self.hangup.recv() => Stop::Reload,
        }
    }
}

/// How `patdesk run` writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The journal's own protocol when systemd runs patdesk, readable lines otherwise.
    Auto,
    /// Readable lines on standard error.
    Text,
    /// One JSON object per line on standard error.
    Json,
    /// Structured entries in systemd's journal (fields such as ORG, ERROR, COUNT).
    Journald,
}

/// Starts logging; `PATDESK_LOG` filters (default `info`). Mail bodies and secrets are never
/// logged at info: the tasks log counts, ids and errors only.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("PATDESK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let format = match format {
        LogFormat::Auto if stderr_is_the_journal() => LogFormat::Journald,
        LogFormat::Auto => LogFormat::Text,
        chosen => chosen,
    };
    if format == LogFormat::Journald {
        match tracing_journald::layer() {
            Ok(journal) => {
                let _ = tracing_subscriber::registry()
                    .with(filter())
                    .with(libraries_capped())
                    // Fields under their own names (ORG, ERROR, COUNT), not F_ORG: none of
                    // patdesk's is named like a field the journal itself sets.
                    .with(
                        journal
                            .with_syslog_identifier("patdesk".to_string())
                            .with_field_prefix(None),
                    )
                    .try_init();
                return;
            }
            Err(error) => eprintln!(
                "patdesk: the journal cannot be reached ({error}); logging to standard error"
            ),
        }
    }
    // Colour only for a person at a terminal: a log file or a pipe gets plain text, and
    // NO_COLOR (https://no-color.org) turns it off everywhere.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let text = tracing_subscriber::fmt::layer()
        .with_writer(one_line::OneLineStderr { colour })
        .with_ansi(colour)
        .with_target(false);
    let registry = tracing_subscriber::registry()
        .with(filter())
        .with(libraries_capped());
    let _ = if format == LogFormat::Json {
        registry.with(text.json().flatten_event(true)).try_init()
    } else {
        registry.with(text).try_init()
    };
}

/// The protocol libraries log what goes over the wire at debug and trace: IMAP's LOGIN and
/// AUTHENTICATE lines, SMTP's AUTH, HTTP bodies with tokens. They stay at info whatever
/// `PATDESK_LOG` asks, so no password, token or assertion reaches a log.
fn libraries_capped() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    [
        "async_imap",
        "imap_proto",
        "lettre",
        "reqwest",
        "hyper",
        "hyper_util",
        "h2",
        "rustls",
        "tokio_rustls",
    ]
    .into_iter()
    .fold(
        Targets::new().with_default(LevelFilter::TRACE),
        |targets, library| targets.with_target(library, LevelFilter::INFO),
    )
}

/// systemd sets `$JOURNAL_STREAM` to the device and inode of the journal stream it connected
/// to standard error; it only counts when standard error still is that stream.
fn stderr_is_the_journal() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = stream.to_str().and_then(|text| text.split_once(':')) else {
        return false;
    };
    let Ok(stderr) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(metadata) = std::fs::File::from(stderr).metadata() else {
        return false;
    };
    device.parse() == Ok(metadata.dev()) && inode.parse() == Ok(metadata.ino())
}
