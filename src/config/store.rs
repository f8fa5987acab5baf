//! `[store]`: where the database is, how long raw mail is kept whole, and the daemon's own
//! scheduled backups.

use std::path::PathBuf;
use std::time::Duration;

use super::{DEFAULT_STORE_PATH, raw};

/// A year of mail kept whole: long enough for an audit to read what was said, short enough
/// that years of attachments do not pile up.
const DEFAULT_KEEP_RAW_DAYS: u64 = 365;
const DEFAULT_BACKUPS_KEPT: u64 = 7;
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// Raw mail older than this is reduced to its header section; `None` keeps it whole.
    pub keep_raw: Option<Duration>,
    /// A daily backup by the daemon, when asked for.
    pub backups: Option<ScheduledBackups>,
    /// Litestream replicates the database (`store.litestream = true`): restarting the WAL is
    /// left to it.
    pub litestream: bool,
}

/// The daemon's daily backups: `patdesk-<time>.db` files in `dir`, the newest `keep` kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledBackups {
    pub dir: PathBuf,
    pub keep: usize,
}

impl super::Validator {
    pub(super) fn store(&mut self, raw: raw::RawStore) -> StoreConfig {
        let days = self.within(
            "store.keep_raw_days",
            raw.keep_raw_days,
            0..=36_500,
            DEFAULT_KEEP_RAW_DAYS,
        );
        let keep = self.within(
            "store.backups_kept",
            raw.backups_kept,
            1..=3650,
            DEFAULT_BACKUPS_KEPT,
        );
        if raw.backups_kept.is_some() && raw.backup_dir.is_none() {
            self.problem(
                "store.backups_kept",
                "has no effect without store.backup_dir (where the daily backups go)",
            );
        }
        StoreConfig {
            path: self.path(raw.path.unwrap_or_else(|| DEFAULT_STORE_PATH.into())),
            keep_raw: (days > 0).then(|| DAY * u32::try_from(days).unwrap_or(u32::MAX)),
            backups: raw.backup_dir.map(|dir| ScheduledBackups {
                dir: self.path(dir),
                keep: usize::try_from(keep).unwrap_or(usize::MAX),
            }),
            litestream: raw.litestream.unwrap_or(false),
        }
    }
}
