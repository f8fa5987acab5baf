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

use super::{Store, StoreError};

/// The thread that checkpoints for one writer, while it lives.
pub struct Checkpointer {
    wake: mpsc::Sender<()>,
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Checkpointer {
    /// Takes over checkpointing from `writer`'s commits, on a connection of its own. Pages
    /// `writer` commits after the last [`Checkpointer::nudge`] are left to the next checkpoint
    /// of any connection.
    pub fn beside(writer: &Store) -> Result<Checkpointer, StoreError> {
        let own = Store::open(writer.path())?;
        writer.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (wake, woken) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("patdesk-checkpoint".to_string())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // Several nudges while the last checkpoint ran: one checkpoint covers them.
                    while woken.try_recv().is_ok() {}
                    own.checkpoint()?;
                    own.restart_wal()?;
                }
                Ok(())
            })
            .map_err(StoreError::Thread)?;
        Ok(Checkpointer { wake, thread })
    }

    /// There are committed pages worth copying now.
    pub fn nudge(&self) {
        // The thread only stops on an error, which `finish` reports.
        let _ = self.wake.send(());
    }

    /// Waits for the checkpoint under way, if any, and stops.
    pub fn finish(self) -> Result<(), StoreError> {
        drop(self.wake);
        match self.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Store {
    /// Copies what is left in the WAL, holding writers back meanwhile, so the next write
    /// starts the WAL over instead of making it longer. After [`Store::checkpoint`] there is
    /// little left to copy.
    pub fn restart_wal(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Copies every committed page it can into the database file without waiting for
    /// readers or writers (a passive checkpoint).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
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
        let writer = Store::open(&path).expect("store");
        let conn = writer.connection();
        conn.execute_batch("CREATE TABLE filler (bytes BLOB)")
            .expect("table");
        writer.checkpoint().expect("checkpoint the empty table");
        let before = file_size(&path);

        let checkpointer = Checkpointer::beside(&writer).expect("checkpointer");
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
        checkpointer.finish().expect("finish");
        assert!(
            file_size(&path) > before + 1200 * 16_000,
            "the pages are in the database file: {} bytes",
            file_size(&path)
        );
    }
}
