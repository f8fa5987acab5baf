//! What happens to a mail once it is read from the mailbox: it is analysed, stored once with
//! what it is, threaded onto its request when it answers one (`conversation`), set aside for
//! triage when nobody can tell, and quarantined when it keeps failing; the orgs GitHub's mails
//! are about are handed to the sync, and the outbox is woken for what a reply queued.
//!
//! `imap` reads the mail and acknowledges it on the server once this module says it is
//! committed; nothing here speaks IMAP.

mod filer;

use std::collections::BTreeSet;

pub use filer::{Filer, FilingError};

use crate::config::Secret;
use crate::conversation::{self, Outcome, Threading};
use crate::mail::{Analysis, Kind, MailPolicy, analyze};
use crate::review::ReviewPolicy;
use crate::store::{Direction, FolderEra, NewMessage, Store, StoreError, Tx, content_hash};
use crate::sync::orgs_to_sync;
use crate::wake::{OutboxWake, SyncTrigger};

/// Tries at one mail before it is quarantined.
const MAX_ATTEMPTS: u32 = 3;

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
    /// The whole mail, or its headers when it is over the size cap.
    pub raw: Vec<u8>,
    /// Why the record is incomplete, if it is.
    pub note: Option<&'static str>,
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

/// Stores one group of mails, each once: counted as tried first, so a mail that brings
/// patdesk down is found and quarantined on a later try.
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
    let record = |outcome: Option<Analysis>, uid: u32, filed: &mut Filed| {
        match outcome {
            Some(analysis) => {
                filed.ingested += 1;
                filed.syncs.extend(orgs_to_sync(&analysis, &intake.orgs));
            }
            None => filed.recognised += 1,
        }
        filed.processed.push(uid);
    };
    let uids: Vec<u32> = mails.iter().map(|mail| mail.uid).collect();
    if !store.any_intake_attempts(era, &uids)? {
        // The usual case: the whole group counted in one commit and stored in another.
        store.write(|tx| tx.count_intake_attempts(era, &uids))?;
        let outcomes = store.write(|tx| {
            let mut outcomes = Vec::with_capacity(mails.len());
            for mail in mails {
                let outcome = ingest_into(tx, &reading, folder, uidvalidity, mail)?;
                outcomes.push((mail.uid, outcome));
            }
            tx.clear_intake_attempts(era, &uids)?;
            Ok::<_, StoreError>(outcomes)
        })?;
        for (uid, outcome) in outcomes {
            record(outcome, uid, &mut filed);
        }
        return Ok(filed);
    }
    // An earlier try at these mails never finished: one mail at a time, so a mail that brings
    // patdesk down is found and set aside.
    for mail in mails {
        let attempts = store.write(|tx| tx.count_intake_attempt(era, mail.uid))?;
        if attempts > MAX_ATTEMPTS {
            let headers = FetchedMail {
                uid: mail.uid,
                raw: header_section(&mail.raw).to_vec(),
                note: Some("failed 3 times: quarantined"),
            };
            store.write(|tx| {
                ingest_into(tx, &reading, folder, uidvalidity, &headers)?;
                tx.clear_intake_attempts(era, &[mail.uid])
            })?;
            filed.quarantined.push(mail.uid);
            continue;
        }
        let outcome = store.write(|tx| {
            let outcome = ingest_into(tx, &reading, folder, uidvalidity, mail)?;
            tx.clear_intake_attempts(era, &[mail.uid])?;
            Ok::<_, StoreError>(outcome)
        })?;
        record(outcome, mail.uid, &mut filed);
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
