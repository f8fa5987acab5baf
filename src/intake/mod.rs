//! What happens to a mail once it is read from the mailbox: it is analysed, stored once with
//! what it is, threaded onto its request when it answers one (`conversation`), set aside for
//! triage when nobody can tell, and quarantined when it keeps failing; the orgs GitHub's mails
//! are about are handed to the sync, and the outbox is woken for what a reply queued.
//!
//! `imap` reads the mail and acknowledges it on the server once this module says it is
//! committed; nothing here speaks IMAP.

mod filer;
mod tries;

use std::collections::BTreeSet;

use tokio::sync::OwnedSemaphorePermit;

pub use filer::{Filer, FilingError};
pub use tries::{GIVEN_UP, Tries, Try};

use crate::config::Secret;
use crate::conversation::{self, Outcome, Threading};
use crate::mail::{Analysis, Kind, MailPolicy, analyze};
use crate::review::ReviewPolicy;
use crate::store::{
    Direction, FolderEra, NewMessage, Store, StoreError, Tx, WalRestarts, content_hash,
};
use crate::sync::orgs_to_sync;
use crate::wake::{OutboxWake, SyncTrigger};

/// How intake reads and files a mail, and whom it tells; owned, so the filing thread can hold
/// it.
#[derive(Clone)]
pub struct Intake {
    pub policy: MailPolicy,
    /// Signs patdesk's Message-IDs; with it, replies are threaded onto their requests.
    pub signing_key: Option<Secret>,
    /// For reviewing a request again when its purpose arrives.
    pub review: ReviewPolicy,
    /// The orgs patdesk serves, for GitHub's mails to ask for their sync.
    pub orgs: Vec<String>,
    pub trigger: Option<SyncTrigger>,
    /// Told after each commit, which may have queued an acknowledgement.
    pub outbox: Option<OutboxWake>,
    /// Whether the filer's checkpoints may restart the WAL (not under Litestream).
    pub wal_restarts: WalRestarts,
}

impl Intake {
    /// Asks for what a commit's mails call for: a sync of the orgs GitHub wrote about, and an
    /// outbox round for the acknowledgements replies may have queued.
    fn pass_on(&self, filed: &Filed) {
        if let Some(trigger) = &self.trigger {
            for org in &filed.syncs {
                trigger.org(org);
            }
        }
        if let Some(outbox) = &self.outbox {
            outbox.wake();
        }
    }
}

/// One mail as read from the server.
pub struct FetchedMail {
    pub uid: u32,
    /// The whole mail, or its headers when it is over the size cap or kept failing.
    pub raw: Vec<u8>,
    /// Why the record is incomplete, if it is.
    pub note: Option<&'static str>,
    /// Counted before the mail was fetched.
    pub tried: Try,
}

/// The mails of one fetch, holding their share of the reader's memory budget until they are
/// committed: reading waits for filing instead of piling mail up in memory.
pub struct Fetched {
    pub mails: Vec<FetchedMail>,
    pub held: OwnedSemaphorePermit,
}

/// The folder being read, as selected.
pub struct Place {
    pub folder: String,
    pub uidvalidity: u32,
    pub highest_modseq: Option<u64>,
}

/// What one commit did, for the catch-up to acknowledge and report.
#[derive(Debug, Default)]
pub struct Filed {
    /// Stored now or before: to be acknowledged.
    pub processed: Vec<u32>,
    /// Failed too often: stored from their headers, to go to the Quarantine folder.
    pub quarantined: Vec<u32>,
    /// Orgs whose requests these mails are about.
    pub syncs: BTreeSet<String>,
    pub ingested: usize,
    pub recognised: usize,
}

/// Stores one group of mails, each once, and forgets their tries (counted before they were
/// fetched) in the same commit.
fn file_group(
    store: &mut Store,
    intake: &Intake,
    place: &Place,
    mails: &[FetchedMail],
) -> Result<Filed, StoreError> {
    let reading = Reading {
        policy: &intake.policy,
        threading: intake.signing_key.as_ref().map(|key| Threading {
            key: key.expose().as_bytes(),
            policy: &intake.review,
            trust: intake.policy.replies,
        }),
    };
    let Place {
        folder,
        uidvalidity,
        ..
    } = place;
    let uidvalidity = *uidvalidity;
    let era = FolderEra {
        folder,
        uidvalidity,
    };
    let mut filed = Filed::default();
    let mut record = |outcome: Option<Analysis>, mail: &FetchedMail| {
        match (mail.tried, outcome) {
            (Try::GiveUp, _) => {
                filed.quarantined.push(mail.uid);
                return;
            }
            (Try::First | Try::Again, Some(analysis)) => {
                filed.ingested += 1;
                filed.syncs.extend(orgs_to_sync(&analysis, &intake.orgs));
            }
            (Try::First | Try::Again, None) => filed.recognised += 1,
        }
        filed.processed.push(mail.uid);
    };
    if mails.iter().all(|mail| mail.tried == Try::First) {
        // The usual case: the whole group in one commit.
        let uids: Vec<u32> = mails.iter().map(|mail| mail.uid).collect();
        let outcomes = store.write(|tx| {
            let mut outcomes = Vec::with_capacity(mails.len());
            for mail in mails {
                outcomes.push(ingest_into(tx, &reading, folder, uidvalidity, mail)?);
            }
            tx.clear_intake_attempts(era, &uids)?;
            Ok::<_, StoreError>(outcomes)
        })?;
        for (mail, outcome) in mails.iter().zip(outcomes) {
            record(outcome, mail);
        }
        return Ok(filed);
    }
    // An earlier try at some of these never finished: a commit per mail, so a mail that
    // brings patdesk down takes no other with it.
    for mail in mails {
        let outcome = store.write(|tx| {
            let outcome = ingest_into(tx, &reading, folder, uidvalidity, mail)?;
            tx.clear_intake_attempts(era, &[mail.uid])?;
            Ok::<_, StoreError>(outcome)
        })?;
        record(outcome, mail);
    }
    Ok(filed)
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
    let FetchedMail { uid, raw, note, .. } = mail;
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
            Kind::GithubPatRequestsPending
            | Kind::GithubTokenExpiring
            | Kind::GithubTokenExpired
            | Kind::GithubTokenDecision
            | Kind::Automatic
            | Kind::Bounce => Outcome::Nothing,
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
