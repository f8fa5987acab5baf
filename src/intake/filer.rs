//! The store's half of a catch-up: fetched mail is analysed and committed on a thread of its
//! own, so the next batch is read from the server while this one is filed.
//!
//! The thread has its own connection to the database (a connection cannot be shared between
//! threads). It tells the catch-up which mails are committed; only those are acknowledged on
//! the server.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{Fetched, Filed, Intake, Place, file_group};

use crate::store::{Checkpointer, Reopen, Store, StoreError};

/// A commit stops taking in waiting batches once it holds this many mails. Whatever has been
/// fetched while the last commit ran joins the next one, so commits grow (and cost less per
/// mail) exactly when filing falls behind reading.
const GROUP_MAILS: usize = 1000;
/// Mails committed between checkpoints: about 25 MB of WAL for mail of 2 KB, near SQLite's
/// own 1,000 pages (16 MB). More often, the fsyncs of each checkpoint cost more than they save
/// (a 10,000-mail catch-up took 0.46 s checkpointing every 1,000 mails, 0.43 s every 4,000).
const CHECKPOINT_MAILS: usize = 4000;

#[derive(Debug, thiserror::Error)]
pub enum FilingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mail filing stopped: {0}")]
    Stopped(String),
}

/// The filing thread of one catch-up.
pub struct Filer {
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Filer {
    /// Files what `fetched` brings into the database at `path`, on a thread of its own with
    /// its own connection, telling `filed` after each commit.
    pub fn start(
        store: Reopen,
        intake: Intake,
        place: Place,
        fetched: mpsc::Receiver<Fetched>,
        filed: mpsc::UnboundedSender<Filed>,
    ) -> Filer {
        let thread = tokio::task::spawn_blocking(move || {
            let mut store = store.open()?;
            // Checkpoints beside the filing, not inside its commits.
            let checkpointer = Checkpointer::beside(&store, intake.wal_restarts)?;
            let filed_all = file_all(&mut store, &intake, &place, fetched, &filed, &checkpointer);
            checkpointer.finish();
            filed_all
        });
        Filer { thread }
    }

    /// Waits until every batch is filed; a panic on the thread goes on here.
    pub async fn finished(self) -> Result<(), FilingError> {
        match self.thread.await {
            Ok(result) => Ok(result?),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(error) => Err(FilingError::Stopped(error.to_string())),
        }
    }
}

/// Files every batch `fetched` brings until it closes, passing on what each commit asks for
/// (syncs, the outbox), telling `filed` after each commit and `checkpointer` after every
/// `CHECKPOINT_MAILS`. Stops early, without error, when nobody listens to `filed` any more.
fn file_all(
    store: &mut Store,
    intake: &Intake,
    place: &Place,
    mut fetched: mpsc::Receiver<Fetched>,
    filed: &mpsc::UnboundedSender<Filed>,
    checkpointer: &Checkpointer,
) -> Result<(), StoreError> {
    let mut since_checkpoint = 0;
    while let Some(Fetched { mails, held }) = fetched.blocking_recv() {
        let mut group = mails;
        // What the group holds of the reader's memory budget, given back once it is committed.
        let mut holding = vec![held];
        while group.len() < GROUP_MAILS {
            match fetched.try_recv() {
                Ok(more) => {
                    group.extend(more.mails);
                    holding.push(more.held);
                }
                Err(_) => break,
            }
        }
        let outcome = file_group(store, intake, place, &group)?;
        let (last_uid, mails) = (group.iter().map(|mail| mail.uid).max(), group.len());
        drop(group);
        drop(holding);
        if let Some(last_uid) = last_uid {
            store.remember_position(
                &place.folder,
                place.uidvalidity,
                last_uid,
                place.highest_modseq,
            )?;
        }
        since_checkpoint += mails;
        if since_checkpoint >= CHECKPOINT_MAILS {
            checkpointer.nudge();
            since_checkpoint = 0;
        }
        intake.pass_on(&outcome);
        if filed.send(outcome).is_err() {
            break;
        }
    }
    Ok(())
}
