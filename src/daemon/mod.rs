//! `patdesk run`: wires the long-running tasks together, and stops them on SIGTERM or Ctrl-C.
//!
//! It runs mail intake (IMAP), the GitHub task (sync on a timer and when GitHub's mail asks,
//! then carry decisions back) and the outbox (SMTP). No business rules live here: each task
//! calls the module that owns its job.

mod alerts_task;
mod github_task;
mod lock;
mod outbox_task;

use anyhow::{Context as _, anyhow};
use tokio::sync::{mpsc, watch};

pub use github_task::{SyncTrigger, gather_triggers};
pub use lock::{DaemonLock, LockError, running_daemon};
pub use outbox_task::OutboxWake;

use crate::config::{Config, ConfigError};
use crate::github::{ClientOptions, GithubClient};
use crate::imap::{Intake, MailboxAccess};
use crate::mail::compose::Templates;
use crate::smtp::Sender;
use crate::store::Store;
use crate::sync::{SyncOptions, load_directory};

/// Runs until SIGTERM or Ctrl-C. Each task finishes the transaction it is in; none is started
/// after the signal.
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_tasks(config))
}

async fn run_tasks(config: Config) -> anyhow::Result<()> {
    if config.github.is_none() && config.mailbox.is_none() {
        return Err(anyhow!(
            "nothing to run: add a [mailbox] and a [github] section to {} (patdesk.example.toml shows them)",
            config.source.display()
        ));
    }
    let _lock = DaemonLock::acquire(&config.store.path)?;
    let read = |secret: &crate::config::SecretRef| {
        secret.read().map_err(|problem| ConfigError::Invalid {
            path: config.source.clone(),
            problems: vec![problem],
        })
    };
    let (shutdown_tx, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: finishing the current transaction");
        let _ = shutdown_tx.send(true);
    });
    let (trigger, triggers) = mpsc::unbounded_channel::<String>();
    let mut tasks = tokio::task::JoinSet::new();
    // Mail is sent only with [smtp]; without it the queue waits for a config that has one, and
    // nobody needs to wake an outbox task.
    let outbox_wake = OutboxWake::default();
    let outbox = config.smtp.is_some().then(|| outbox_wake.clone());

    let orgs: Vec<String> = config
        .github
        .iter()
        .flat_map(|github| github.orgs.iter().map(|org| org.login.clone()))
        .collect();
    if let Some(github) = &config.github {
        let key = read(&github.private_key)?;
        let client = GithubClient::new(
            github,
            &key,
            ClientOptions {
                timeout: github.timeout,
                ..ClientOptions::default()
            },
        )?;
        let directory = match &config.people_directory {
            Some(path) => load_directory(path).map_err(|error| anyhow!(error))?,
            None => Default::default(),
        };
        let options = SyncOptions {
            policy: config.review.clone(),
            directory,
            expiry_warning_days: github.expiry_warning_days,
        };
        tasks.spawn(github_task::run(github_task::GithubTask {
            client,
            store: Store::open(&config.store.path)?,
            orgs: orgs.clone(),
            options,
            interval: github.sync_interval,
            debounce: github.sync_debounce,
            triggers,
            outbox: outbox.clone(),
            shutdown: shutdown.clone(),
        }));
    }
    if let Some(mailbox) = &config.mailbox {
        let intake = Intake {
            imap: MailboxAccess {
                mailbox: mailbox.clone(),
                password: read(&mailbox.password)?,
                can_move: true,
            },
            policy: config.mail.clone(),
            signing_key: config.signing_key.as_ref().map(read).transpose()?,
            review: config.review.clone(),
            store: Store::open(&config.store.path)?,
            orgs: orgs.clone(),
            trigger: config
                .github
                .is_some()
                .then(|| SyncTrigger(trigger.clone())),
            outbox: outbox.clone(),
        };
        tasks.spawn(intake.run(shutdown.clone()));
    }
    if let Some(smtp) = &config.smtp {
        let Some(signing_key) = &config.signing_key else {
            return Err(anyhow!(
                "[smtp] is set but [signing] key is not: patdesk signs the Message-IDs of its mail so replies can be threaded; add it to {}",
                config.source.display()
            ));
        };
        let password = smtp
            .login
            .as_ref()
            .map(|(_, password)| read(password))
            .transpose()?;
        let templates = Templates::load(config.templates_dir.as_deref())?;
        let reply_to = match &config.mailbox {
            Some(mailbox) => mailbox.address.clone(),
            None => smtp.from.clone(),
        };
        let mut sender = Sender::new(smtp, password, read(signing_key)?, templates, &reply_to)?;
        if let Some(mailbox) = &config.mailbox {
            sender = sender.with_mailbox(MailboxAccess {
                mailbox: mailbox.clone(),
                password: read(&mailbox.password)?,
                can_move: true,
            });
        }
        tasks.spawn(outbox_task::run(outbox_task::OutboxTask {
            sender,
            store: Store::open(&config.store.path)?,
            interval: outbox_task::OUTBOX_INTERVAL,
            wake: outbox_wake,
            reminders: config.reminders.clone(),
            shutdown: shutdown.clone(),
        }));
    }
    let webhook = config.alerts.slack_webhook.as_ref().map(read).transpose()?;
    if config.alerts.email.is_some() && config.smtp.is_none() {
        return Err(anyhow!(
            "alerts.email is set but [smtp] is not: alert mail cannot be sent; add [smtp] to {}",
            config.source.display()
        ));
    }
    tasks.spawn(alerts_task::run(alerts_task::AlertsTask {
        store: Store::open(&config.store.path)?,
        notifier: crate::alerts::Notifier::new(&config.alerts, webhook),
        stalled_after: config.alerts.stalled_after,
        outbox: outbox.clone(),
        shutdown: shutdown.clone(),
    }));
    tracing::info!(
        orgs = orgs.join(","),
        mailbox = config.mailbox.as_ref().map(|mailbox| format!("{}@{}", mailbox.folder, mailbox.endpoint.host)).unwrap_or_default(),
        outbox = config.smtp.as_ref().map(|smtp| format!("{}:{}", smtp.endpoint.host, smtp.endpoint.port)).unwrap_or_default(),
        database = %config.store.path.display(),
        "patdesk running"
    );
    while let Some(finished) = tasks.join_next().await {
        if let Err(error) = finished {
            tracing::error!(%error, "a task stopped unexpectedly");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs go to standard error: readable lines in a terminal (journald takes them as they are).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PATDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
