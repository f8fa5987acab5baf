//! Online backups: a consistent copy of the database while the daemon keeps writing. SQLite's
//! `VACUUM INTO` reads one snapshot (WAL lets it read beside the writer) and writes it as a
//! compact database of its own; the copy is then audited as `audit verify` audits the original,
//! so a backup that would not restore a trustworthy trail is known at once.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use super::{Audit, BUSY_TIMEOUT, Store, StoreError};
use crate::clock::Clock;

/// Copies the database at `database` to `out` (a new file, readable by its owner only) and
/// audits the copy. A partial copy is removed.
pub fn backup(database: &Path, out: &Path, clock: &Clock) -> Result<Audit, StoreError> {
    if std::fs::symlink_metadata(database).is_err() {
        return Err(StoreError::Missing {
            path: database.to_path_buf(),
        });
    }
    let create_error = |source| StoreError::Create {
        path: out.to_path_buf(),
        source,
    };
    // VACUUM INTO fills an empty file; made here first, so that it is private and so that an
    // existing file (an earlier backup) is never overwritten.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(out).map_err(create_error)?;
    let copied = copy(database, out);
    if copied.is_err() {
        let _ = std::fs::remove_file(out);
    }
    copied?;
    Store::open_existing(out, clock)?.audit(None)
}

fn copy(database: &Path, out: &Path) -> Result<(), StoreError> {
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|source| StoreError::Open {
        path: database.to_path_buf(),
        source,
    })?;
    source.busy_timeout(BUSY_TIMEOUT)?;
    let target = out.to_str().ok_or_else(|| StoreError::Create {
        path: out.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the backup's path must be UTF-8",
        ),
    })?;
    source.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}
