//! Copying committed pages from the WAL into the database file on a thread of its own.
//!
//! SQLite does it by itself in the commit that finds the WAL over 1,000 pages, and that
//! writer stops until the pages are copied and the file synced. A writer that commits much in
//! a row (intake catching up on a backlog) hands the work to a [`Checkpointer`] instead, which
//! copies beside it: a passive checkpoint never holds a writer up. It then copies what was
//! committed meanwhile with writers held back (a restart), so that the next commit starts the
//! WAL over: a writer that never pauses would otherwise make it grow for as long as it writes
//! (a 10,000-mail catch-up left 70 MB of WAL without the restart, about 33 MB with it).

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Store, StoreError};

/// How long a restart waits for the writer to finish its transaction, and then for readers
/// to leave the WAL, before it gives up until the next nudge. Short: the writer waits for a
/// restart, and an engineer's long `patdesk export` must not hold intake up through it.
const RESTART_PATIENCE: Duration = Duration::from_millis(100);

/// Whether the checkpointer may restart the WAL after copying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WalRestarts {
    /// Only patdesk reads the WAL.
    #[default]
    Allowed,
    /// Litestream replicates the database from its WAL: a restart Litestream did not make
    /// itself costs it a full snapshot of the database, so the checkpointer copies passively
    /// only and leaves restarting the WAL to Litestream's own checkpoints.
    LeftToLitestream,
}

/// The thread that checkpoints for one writer, while it lives.
pub struct Checkpointer {
    wake: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Takes over checkpointing from `writer`'s commits, on a connection of its own. Pages
    /// `writer` commits after the last [`Checkpointer::nudge`] are left to the next checkpoint
    /// of any connection.
    pub fn beside(writer: &Store, restarts: WalRestarts) -> Result<Checkpointer, StoreError> {
        let own = Store::open_existing(writer.path(), writer.clock())?;
        own.conn.busy_timeout(RESTART_PATIENCE)?;
        writer.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (wake, woken) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("patdesk-checkpoint".to_string())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // Several nudges while the last checkpoint ran: one checkpoint covers them.
                    while woken.try_recv().is_ok() {}
                    // Nothing committed is lost when a checkpoint fails, and the next one
                    // (this thread's or any connection's) copies it: a warning, as SQLite's own
                    // autocheckpoint keeps its failures from the committing writer.
                    let copied = own.checkpoint().and_then(|()| match restarts {
                        WalRestarts::Allowed => own.restart_wal(),
                        WalRestarts::LeftToLitestream => Ok(()),
                    });
                    if let Err(error) = copied {
                        tracing::warn!(%error, "cannot checkpoint the database's WAL");
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Checkpointer { wake, thread })
    }

    /// There are committed pages worth copying now.
    pub fn nudge(&self) {
        // The thread runs until `finish`; only a panic ends it sooner, and `finish` carries it.
        let _ = self.wake.send(());
    }

    /// Waits for the checkpoint under way, if any, and stops.
    pub fn finish(self) {
        drop(self.wake);
        if let Err(panic) = self.thread.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Store {
    /// Copies what is left in the WAL, holding writers back meanwhile, so the next write
    /// starts the WAL over instead of making it longer. After [`Store::checkpoint`] there is
    /// little left to copy. Gives up, without error, when the busy timeout runs out first.
    fn restart_wal(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies every committed page it can into the database file without waiting for
    /// readers or writers (a passive checkpoint).
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Checkpointer, Store};

    fn file_size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0)
    }

    #[test]
    fn the_checkpointer_copies_what_the_writer_only_committed_to_the_wal() {
        let dir = tempfile::TempDir::new().expect("dir");
        let path = dir.path().join("patdesk.db");
        let writer = Store::open(&path, &crate::clock::Clock::system()).expect("store");
        let conn = writer.connection();
        conn.execute_batch("CREATE TABLE filler (bytes BLOB)")
            .expect("table");
        writer.checkpoint().expect("checkpoint the empty table");
        let before = file_size(&path);

        let checkpointer =
            Checkpointer::beside(&writer, super::WalRestarts::Allowed).expect("checkpointer");
        let autocheckpoint: i64 = conn
            .query_row("PRAGMA wal_autocheckpoint", [], |row| row.get(0))
            .expect("pragma");
        assert_eq!(autocheckpoint, 0, "the writer no longer checkpoints itself");
        // Each commit alone: well past the 1,000 pages at which the writer would have
        // checkpointed by itself.
        for _ in 0..1200 {
            conn.execute("INSERT INTO filler VALUES (zeroblob(16000))", [])
                .expect("insert");
        }
        assert_eq!(file_size(&path), before, "committed to the WAL only");

        checkpointer.nudge();
        checkpointer.finish();
        assert!(
            file_size(&path) > before + 1200 * 16_000,
            "the pages are in the database file: {} bytes",
            file_size(&path)
        );
    }
}
