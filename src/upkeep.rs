//! Keeping the records in shape while the daemon runs: raw mail reduced to its headers once
//! it is older than `store.keep_raw_days`, a daily backup where `store.backup_dir` asks for
//! one, and the audit chain's head sent to the team (daily, and after each decision) to be kept
//! off this host, where a rewrite of the chain cannot reach it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;

use crate::config::{ScheduledBackups, SendHead};
use crate::store::{AlertKind, ChainHead, EventKind, Reduced, Store, StoreError, format_time};

/// How often a daily thing happens.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// The daemon's backups are named `patdesk-<UTC time>.db`, so their names sort by time.
const BACKUP_PREFIX: &str = "patdesk-";
const BACKUP_SUFFIX: &str = ".db";

#[derive(Debug, thiserror::Error)]
pub enum UpkeepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the backup directory {}: {source}", dir.display())]
    BackupDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("the backup {} does not pass the audit; it is kept for a look, and the next is tried in an hour", path.display())]
    BackupNotIntact { path: PathBuf },
}

/// Reduces the raw mail older than `keep_raw` (`None`: kept whole forever).
pub fn reduce_old_mail(
    store: &mut Store,
    keep_raw: Option<Duration>,
    now: Timestamp,
) -> Result<Reduced, StoreError> {
    let Some(keep_raw) = keep_raw else {
        return Ok(Reduced::default());
    };
    let keep_raw = jiff::SignedDuration::try_from(keep_raw).unwrap_or(jiff::SignedDuration::MAX);
    let before = now.checked_sub(keep_raw).unwrap_or(Timestamp::MIN);
    store.reduce_raw_mail(&format_time(before))
}

/// Sends the chain's head to the team when `when` says it is due: once a day, and (if asked)
/// after a decision recorded since the last one sent. Returns the head sent.
pub fn send_head_if_due(
    store: &mut Store,
    when: SendHead,
    now: Timestamp,
) -> Result<Option<ChainHead>, StoreError> {
    if when == SendHead::Off {
        return Ok(None);
    }
    let Some(head) = store.chain_head()? else {
        return Ok(None);
    };
    let last = store.last_head_sent()?;
    let why = match &last {
        None => Some("the first one sent".to_string()),
        Some(last) => {
            let decision = match when {
                SendHead::DailyAndDecisions => store.decision_after(last.head.seq)?,
                SendHead::Daily | SendHead::Off => None,
            };
            let sent_at = last.sent_at;
            match decision {
                Some(decision) => Some(format!(
                    "after {} by {}",
                    match (decision.request_id, &decision.kind) {
                        (_, EventKind::OutsideTokenRevoked) => {
                            "a token no request accounts for revoked".to_string()
                        }
                        (Some(id), kind) => format!("PAT-{id} {kind}"),
                        (None, kind) => kind.to_string(),
                    },
                    decision.by
                )),
                None if now.duration_since(sent_at).unsigned_abs() >= DAY => {
                    Some("daily".to_string())
                }
                None => None,
            }
        }
    };
    let Some(why) = why else {
        return Ok(None);
    };
    // A head vouches for everything before it: none is sent for a log that does not verify
    // (an event written without the key, say), or it would name a forged decision as real.
    if let Some(broken) = store.verify_chain(None)?.first_break {
        return Err(StoreError::Corrupt(format!(
            "the audit log is broken at event {} ({}): no head is sent until it is repaired; run `patdesk audit verify`",
            broken.seq, broken.problem
        )));
    }
    store.write(|tx| {
        // The head as it stands before the alert's own event is appended: that is the one
        // sent, and a later chain still contains it.
        let head = tx.chain_head()?.unwrap_or(head);
        tx.record_head_sent(&head, &why)?;
        let mac = head
            .mac
            .as_deref()
            .map(|mac| format!(" Its MAC, for whoever holds the signing key: {mac}."))
            .unwrap_or_default();
        let message = format!(
            "audit head {head} ({why}).{mac} Keep this line where patdesk cannot write: \
             `patdesk audit verify --head {head}` shows whether the trail has been rewritten since."
        );
        tx.raise_alert(AlertKind::AuditHead, None, &message)?;
        Ok(Some(head))
    })
}

/// Takes a backup into `backups.dir` when the newest there is a day old or there is none, and
/// removes all but the newest `backups.keep`. Returns the new backup, if one was taken.
pub fn backup_if_due(
    store: &Store,
    backups: &ScheduledBackups,
) -> Result<Option<PathBuf>, UpkeepError> {
    let now = store.now();
    let dir_error = |source| UpkeepError::BackupDir {
        dir: backups.dir.clone(),
        source,
    };
    std::fs::create_dir_all(&backups.dir).map_err(dir_error)?;
    let mut taken = backups_in(&backups.dir).map_err(dir_error)?;
    let due = match taken.last() {
        Some((at, _)) => now.duration_since(*at).unsigned_abs() >= DAY,
        None => true,
    };
    if !due {
        return Ok(None);
    }
    let name = format!(
        "{BACKUP_PREFIX}{}{BACKUP_SUFFIX}",
        now.strftime("%Y%m%dT%H%M%SZ")
    );
    let path = backups.dir.join(name);
    let audit = crate::store::backup(store.path(), &path, store.clock())?;
    if !audit.intact() {
        // Renamed out of the daily series: kept for a look, it must not count as the day's
        // backup, or the next try would wait a day instead of an hour.
        let mut kept = path.clone().into_os_string();
        kept.push(".not-intact");
        let kept = PathBuf::from(kept);
        std::fs::rename(&path, &kept).map_err(dir_error)?;
        return Err(UpkeepError::BackupNotIntact { path: kept });
    }
    taken.push((now, path.clone()));
    let surplus = taken.len().saturating_sub(backups.keep);
    for (_, old) in taken.drain(..surplus) {
        remove_backup(&old);
    }
    Ok(Some(path))
}

/// Removes a backup, with the WAL files SQLite leaves beside one that was opened.
fn remove_backup(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                tracing::warn!(backup = %path.display(), %error, "cannot remove an old backup");
            }
            _ => {}
        }
    }
}

/// The daemon's backups in `dir`, oldest first, with the times their names give.
fn backups_in(dir: &Path) -> std::io::Result<Vec<(Timestamp, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some(time) = name
            .strip_prefix(BACKUP_PREFIX)
            .and_then(|rest| rest.strip_suffix(BACKUP_SUFFIX))
        else {
            continue;
        };
        // Another file that happens to start so is not the daemon's.
        if let Ok(at) = Timestamp::strptime("%Y%m%dT%H%M%S%z", time.replace('Z', "+0000")) {
            found.push((at, path));
        }
    }
    found.sort();
    Ok(found)
}
