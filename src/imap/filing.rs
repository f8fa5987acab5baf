//! The store's half of a catch-up: fetched mail is analysed and committed on a thread of its
//! own, so the next batch is read from the server while this one is filed.
//!
//! The thread has its own connection to the database (a connection cannot be shared between
//! threads). It tells the catch-up which mails are committed; only those are acknowledged on
//! the server.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::IntakeError;
use crate::config::Secret;
use crate::conversation::{self, Outcome, Threading};
use crate::mail::{Analysis, Kind, MailPolicy, analyze};
use crate::review::ReviewPolicy;
use crate::store::{
    Checkpointer, Direction, MailboxPosition, NewMessage, Store, StoreError, Tx, content_hash,
};
use crate::sync::orgs_to_sync;

/// Tries at one mail before it is quarantined.
const MAX_ATTEMPTS: u32 = 3;
/// A commit stops taking in waiting batches once it holds this many mails. Whatever has been
/// fetched while the last commit ran joins the next one, so commits grow (and cost less per
/// mail) exactly when filing falls behind reading.
const GROUP_MAILS: usize = 1000;
/// Mails committed between checkpoints: about 25 MB of WAL for mail of 2 KB, near SQLite's
/// own 1,000 pages (16 MB). More often, the fsyncs of each checkpoint cost more than they save
/// (a 10,000-mail catch-up took 0.46 s checkpointing every 1,000 mails, 0.43 s every 4,000).
const CHECKPOINT_MAILS: usize = 4000;

/// One mail as read from the server.
pub(super) struct FetchedMail {
    pub uid: u32,
    /// The whole mail, or its headers when it is over the size cap.
    pub raw: Vec<u8>,
    /// Why the record is incomplete, if it is.
    pub note: Option<&'static str>,
}

/// What one commit did, for the catch-up to acknowledge and report.
#[derive(Debug, Default)]
pub(super) struct Filed {
    /// Stored now or before: to be acknowledged.
    pub processed: Vec<u32>,
    /// Failed too often: stored from their headers, to go to the Quarantine folder.
    pub quarantined: Vec<u32>,
    /// Orgs whose requests these mails are about.
    pub syncs: BTreeSet<String>,
    pub ingested: usize,
    pub recognised: usize,
}

/// How intake reads and files a mail; owned, so the filing thread can hold it.
#[derive(Clone)]
pub(super) struct Filing {
    pub policy: MailPolicy,
    /// Signs patdesk's Message-IDs; with it, replies are threaded onto their requests.
    pub signing_key: Option<Secret>,
    pub review: ReviewPolicy,
    pub orgs: Vec<String>,
}

/// The folder being caught up, as selected.
pub(super) struct Place {
    pub folder: String,
    pub uidvalidity: u32,
    pub highest_modseq: Option<u64>,
}

/// The filing thread of one catch-up.
pub(super) struct Filer {
    thread: JoinHandle<Result<(), StoreError>>,
}

impl Filer {
    /// Files what `fetched` brings into the database at `path`, on a thread of its own with
    /// its own connection, telling `filed` after each commit.
    pub fn start(
        path: PathBuf,
        filing: Filing,
        place: Place,
        fetched: mpsc::Receiver<Vec<FetchedMail>>,
        filed: mpsc::UnboundedSender<Filed>,
    ) -> Filer {
        let thread = tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&path)?;
            // Checkpoints beside the filing, not inside its commits.
            let checkpointer = Checkpointer::beside(&store)?;
            let filed_all = file_all(&mut store, &filing, &place, fetched, &filed, &checkpointer);
            checkpointer.finish();
            filed_all
        });
        Filer { thread }
    }

    /// Waits until every batch is filed; a panic on the thread goes on here.
    pub async fn finished(self) -> Result<(), IntakeError> {
        match self.thread.await {
            Ok(result) => Ok(result?),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(error) => Err(IntakeError::Filing(error.to_string())),
        }
    }
}

/// Files every batch `fetched` brings until it closes, telling `filed` after each commit and
/// `checkpointer` after every `CHECKPOINT_MAILS`. Stops early, without error, when nobody
/// listens to `filed` any more.
fn file_all(
    store: &mut Store,
    filing: &Filing,
    place: &Place,
    mut fetched: mpsc::Receiver<Vec<FetchedMail>>,
    filed: &mpsc::UnboundedSender<Filed>,
    checkpointer: &Checkpointer,
) -> Result<(), StoreError> {
    let mut since_checkpoint = 0;
    while let Some(mut group) = fetched.blocking_recv() {
        while group.len() < GROUP_MAILS {
            match fetched.try_recv() {
                Ok(more) => group.extend(more),
                Err(_) => break,
            }
        }
        let outcome = file_group(store, filing, place, &group)?;
        if let Some(last_uid) = group.iter().map(|mail| mail.uid).max() {
            remember_position(
                store,
                &place.folder,
                place.uidvalidity,
                last_uid,
                place.highest_modseq,
            )?;
        }
        since_checkpoint += group.len();
        if since_checkpoint >= CHECKPOINT_MAILS {
            checkpointer.nudge();
            since_checkpoint = 0;
        }
        if filed.send(outcome).is_err() {
            break;
        }
    }
    Ok(())
}

fn file_group(
    store: &mut Store,
    filing: &Filing,
    place: &Place,
    mails: &[FetchedMail],
) -> Result<Filed, StoreError> {
    let reading = Reading {
        policy: &filing.policy,
        threading: filing.signing_key.as_ref().map(|key| Threading {
            key: key.expose().as_bytes(),
            policy: &filing.review,
            trust: filing.policy.replies,
        }),
    };
    let Place {
        folder,
        uidvalidity,
        ..
    } = place;
    let uidvalidity = *uidvalidity;
    let mut filed = Filed::default();
    let record = |outcome: Option<Analysis>, uid: u32, filed: &mut Filed| {
        match outcome {
            Some(analysis) => {
                filed.ingested += 1;
                filed.syncs.extend(orgs_to_sync(&analysis, &filing.orgs));
            }
            None => filed.recognised += 1,
        }
        filed.processed.push(uid);
    };
    let uids: Vec<u32> = mails.iter().map(|mail| mail.uid).collect();
    if !store.any_intake_attempts(folder, uidvalidity, &uids)? {
        // The usual case: the whole group counted in one commit and stored in another.
        let tx = store.transaction()?;
        tx.count_intake_attempts(folder, uidvalidity, &uids)?;
        tx.commit()?;
        let tx = store.transaction()?;
        let mut outcomes = Vec::with_capacity(mails.len());
        for mail in mails {
            let outcome = ingest_into(&tx, &reading, folder, uidvalidity, mail)?;
            outcomes.push((mail.uid, outcome));
        }
        tx.clear_intake_attempts(folder, uidvalidity, &uids)?;
        tx.commit()?;
        for (uid, outcome) in outcomes {
            record(outcome, uid, &mut filed);
        }
        return Ok(filed);
    }
    // An earlier try at these mails never finished: one mail at a time, so a mail that brings
    // patdesk down is found and set aside.
    for mail in mails {
        let attempts = {
            let tx = store.transaction()?;
            let attempts = tx.count_intake_attempt(folder, uidvalidity, mail.uid)?;
            tx.commit()?;
            attempts
        };
        let tx = store.transaction()?;
        if attempts > MAX_ATTEMPTS {
            let headers = FetchedMail {
                uid: mail.uid,
                raw: header_section(&mail.raw).to_vec(),
                note: Some("failed 3 times: quarantined"),
            };
            ingest_into(&tx, &reading, folder, uidvalidity, &headers)?;
            tx.clear_intake_attempts(folder, uidvalidity, &[mail.uid])?;
            tx.commit()?;
            filed.quarantined.push(mail.uid);
            continue;
        }
        let outcome = ingest_into(&tx, &reading, folder, uidvalidity, mail)?;
        tx.clear_intake_attempts(folder, uidvalidity, &[mail.uid])?;
        tx.commit()?;
        record(outcome, mail.uid, &mut filed);
    }
    Ok(filed)
}

/// Remembers how far the folder has been read (for `status` and UIDVALIDITY changes).
pub(super) fn remember_position(
    store: &mut Store,
    folder: &str,
    uidvalidity: u32,
    last_uid: u32,
    modseq: Option<u64>,
) -> Result<(), StoreError> {
    let previous = store.mailbox_position(folder)?;
    let last_uid = match previous {
        Some(previous) if previous.uidvalidity == uidvalidity => previous.last_uid.max(last_uid),
        _ => last_uid,
    };
    let tx = store.transaction()?;
    tx.set_mailbox_position(
        folder,
        &MailboxPosition {
            uidvalidity,
            last_uid,
        },
        modseq,
    )?;
    tx.commit()
}

/// How intake reads a mail and files it.
struct Reading<'a> {
    policy: &'a MailPolicy,
    /// `None` without a signing key: replies then wait in triage.
    threading: Option<Threading<'a>>,
}

/// Stores one mail with what it is, inside `tx`. `None`: it was stored before. The caller
/// clears its count of tries in the same transaction.
fn ingest_into(
    tx: &Tx<'_>,
    reading: &Reading<'_>,
    folder: &str,
    uidvalidity: u32,
    mail: &FetchedMail,
) -> Result<Option<Analysis>, StoreError> {
    let FetchedMail { uid, raw, note } = mail;
    let analysis = analyze(raw, reading.policy);
    let sha256 = content_hash(raw);
    if tx.has_message(
        folder,
        uidvalidity,
        *uid,
        analysis.message_id.as_deref(),
        &sha256,
    )? {
        return Ok(None);
    }
    let outcome = match &reading.threading {
        Some(threading) => conversation::handle(tx, &analysis, threading)?,
        None => match analysis.kind {
            Kind::Human | Kind::Other => Outcome::Triage("not threaded: no signing key configured"),
            _ => Outcome::Nothing,
        },
    };
    let triage = note.or(outcome.triage());
    tx.insert_message(&NewMessage {
        raw,
        sha256: &sha256,
        analysis: &analysis,
        direction: Direction::In,
        mailbox: Some(folder),
        uidvalidity: Some(uidvalidity),
        uid: Some(*uid),
        request_id: outcome.request_id(),
        triage,
    })?;
    Ok(Some(analysis))
}

/// The header section of a mail, up to and including the blank line that ends it; the whole
/// mail when it has no body.
fn header_section(raw: &[u8]) -> &[u8] {
    let crlf = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    };
    &raw[..end]
}

#[cfg(test)]
mod tests {
    use super::header_section;

    #[test]
    fn the_header_section_ends_at_the_first_blank_line() {
        assert_eq!(
            header_section(b"Subject: a\r\nFrom: b\r\n\r\nbody\r\n\r\nmore"),
            b"Subject: a\r\nFrom: b\r\n\r\n"
        );
        assert_eq!(header_section(b"Subject: a\n\nbody"), b"Subject: a\n\n");
        assert_eq!(header_section(b"Subject: a\r\n"), b"Subject: a\r\n");
    }
}
