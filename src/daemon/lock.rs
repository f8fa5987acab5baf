//! One daemon per database: two would send every question twice. The lock is an advisory
//! lock on a file beside the database, released by the kernel when the process ends however
//! it ends, so a crash never leaves a stale lock behind. The file holds the holder's pid for
//! the message a second start gives, and for `patdesk status`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another patdesk (pid {pid}) is already running on {database}; stop it first (systemctl stop patdesk)"
    )]
    Held { pid: String, database: PathBuf },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held for as long as it lives.
pub struct DaemonLock {
    _file: File,
}

pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DaemonLock {
    pub fn acquire(database: &Path) -> Result<DaemonLock, LockError> {
        let path = lock_path(database);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = open(&path).map_err(io)?;
        give_to_the_databases_owner(&file, database).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    pid: holder(&mut file),
                    database: database.to_path_buf(),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DaemonLock { _file: file })
    }
}

/// The pid of the daemon holding the lock on `database`, if one is running.
pub fn running_daemon(database: &Path) -> Option<String> {
    let mut file = OpenOptions::new()
        .read(true)
        .open(lock_path(database))
        .ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(_) => Some(holder(&mut file)),
    }
}

/// root's break-glass may be the first to make the lock file; the daemon, as its own user,
/// must open it again. So the file belongs to whoever owns the database, as SQLite does for
/// the files it makes beside it.
fn give_to_the_databases_owner(file: &File, database: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    // Only root can give a file away, and only root's file can belong to someone else.
    if crate::control::peer::effective_uid() != 0 {
        return Ok(());
    }
    let Ok(owner) = std::fs::metadata(database) else {
        return Ok(());
    };
    let has = file.metadata()?;
    if (has.uid(), has.gid()) == (owner.uid(), owner.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(owner.uid()), Some(owner.gid()))
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let pid = text.trim();
    if pid.is_empty() {
        "unknown".to_string()
    } else {
        pid.to_string()
    }
}
