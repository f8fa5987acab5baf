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
