//! The upkeep task: once an hour, raw mail past `store.keep_raw_days` is reduced to its
//! headers and, where `store.backup_dir` is set, a backup is taken when the last is a day old.
//! Both run on a blocking thread: a backup reads the whole database.

use std::time::Duration;

use tokio::sync::watch;

use crate::config::ScheduledBackups;
use crate::store::{Part, Reopen};
use crate::upkeep::{backup_if_due, reduce_old_mail};

pub(super) struct UpkeepTask {
    /// The database, opened afresh each round on the blocking thread.
    pub store: Reopen,
    /// How often upkeep looks; the work itself is daily.
    pub interval: Duration,
    pub keep_raw: Option<Duration>,
    pub backups: Option<ScheduledBackups>,
    pub shutdown: watch::Receiver<bool>,
}

pub(super) async fn run(mut task: UpkeepTask) {
    loop {
        let (store, keep_raw, backups) = (task.store.clone(), task.keep_raw, task.backups.clone());
        let round = tokio::task::spawn_blocking(move || upkeep(&store, keep_raw, backups.as_ref()));
        if let Err(error) = round.await {
            tracing::error!(%error, "the upkeep round stopped unexpectedly");
        }
        tokio::select! {
            _ = tokio::time::sleep(task.interval) => {}
            _ = task.shutdown.changed() => break,
        }
    }
}

/// One round: each part on its own, so a failing backup does not stop the reduction.
fn upkeep(store: &Reopen, keep_raw: Option<Duration>, backups: Option<&ScheduledBackups>) {
    let mut store = match store.open() {
        Ok(store) => store,
        Err(error) => {
            tracing::error!(%error, "upkeep cannot open the database");
            return;
        }
    };
    let now = store.now();
    match reduce_old_mail(&mut store, keep_raw, now) {
        Ok(reduced) if reduced.mails > 0 => tracing::info!(
            mails = reduced.mails,
            bytes = reduced.bytes_dropped,
            "raw mail past store.keep_raw_days reduced to its headers"
        ),
        Ok(_) => {}
        Err(error) => tracing::error!(%error, "cannot reduce old raw mail"),
    }
    let Some(backups) = backups else {
        return;
    };
    match backup_if_due(&store, backups) {
        Ok(Some(path)) => {
            tracing::info!(backup = %path.display(), "backup taken and audited");
            store.report_health(Part::Backup, None);
        }
        Ok(None) => {}
        Err(error) => {
            tracing::error!(%error, "the scheduled backup failed");
            store.report_health(Part::Backup, Some(&error.to_string()));
        }
    }
}
