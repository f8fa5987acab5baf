//! `patdesk run`: wires the long-running tasks together, and stops them on SIGTERM or Ctrl-C.
//!
//! It runs mail intake (IMAP) and the GitHub task (sync on a timer and when GitHub's mail asks,
//! then carry decisions back); the outbox joins them later. No business rules live here: each task
//! calls the module that owns its job.

mod github_task;

use anyhow::{Context as _, anyhow};
use tokio::sync::{mpsc, watch};

pub use github_task::{SyncTrigger, gather_triggers};

use crate::config::{Config, ConfigError};
use crate::github::{ClientOptions, GithubClient};
use crate::imap::{Intake, MailboxAccess};
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
        };
        tasks.spawn(intake.run(shutdown.clone()));
    }
    tracing::info!(
        orgs = orgs.join(","),
        mailbox = config.mailbox.as_ref().map(|mailbox| format!("{}@{}", mailbox.folder, mailbox.endpoint.host)).unwrap_or_default(),
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
