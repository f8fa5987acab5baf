//! Mail intake over IMAP: every mail in the watched folder is stored exactly once, then moved
//! out of the way.
//!
//! The rules that make it exactly once: a mail is committed to the store (raw bytes, hash,
//! folder, UIDVALIDITY, UID, what it is) in one transaction, and only then moved to the
//! Processed folder. Only unacknowledged mail stays in the folder, so each catch-up reads the
//! whole folder; a restart re-reads what was stored but not moved and recognises it (by place,
//! or by Message-ID and content after a UIDVALIDITY change). `\Seen` is never relied on: a
//! person reading the mailbox changes nothing. Each try at a mail is counted before it is
//! made; a mail tried three times goes to Quarantine and the triage list, so one bad mail
//! never blocks the others.
//!
//! Push plus reconciliation: IDLE, re-issued at least every `idle_refresh` and ended by every
//! `poll_interval` for a full catch-up; a catch-up after every reconnect; polling where IDLE is
//! missing. Every command has a deadline; any error drops the session and a new one is made
//! with backoff and jitter (1 s to 5 min). Each change of health is logged once.

mod connect;
mod filing;

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use tokio::sync::{mpsc, watch};

pub use connect::{ConnectError, ImapSession, Login, Stream, connect};

use crate::config::{Acknowledge, MailboxConfig, Secret};
use crate::daemon::{OutboxWake, SyncTrigger};
use crate::mail::MailPolicy;
use crate::review::ReviewPolicy;
use crate::store::{Store, StoreError};
use filing::{FetchedMail, Filed, Filer, Filing, Place};

/// The keyword that marks handled mail in flag mode.
pub const PROCESSED_KEYWORD: &str = "$PatdeskProcessed";
/// Stored mails acknowledged in one command, at most.
const ACK_BATCH: usize = 1000;
/// Mails fetched per round trip; bounded so one huge folder never means one huge answer.
const BATCH: usize = 100;
/// Batches read ahead of filing, at most: reading never runs far ahead of the store, so a
/// catch-up holds a few batches in memory, not the folder.
const FETCHED_AHEAD: usize = 2;
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("IMAP {during} failed: {error}")]
    Imap { during: String, error: String },
    #[error("IMAP {during} took longer than {seconds} s")]
    Timeout { during: String, seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("mail filing stopped: {0}")]
    Filing(String),
}

/// What one catch-up did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CatchUp {
    pub ingested: usize,
    /// Already stored (a restart between commit and move, or a UIDVALIDITY change): only moved.
    pub recognised: usize,
    pub oversize: usize,
    pub quarantined: usize,
}

pub struct Intake {
    pub imap: MailboxAccess,
    pub policy: MailPolicy,
    /// Signs patdesk's Message-IDs; with it, replies are threaded onto their requests.
    pub signing_key: Option<Secret>,
    /// For reviewing a request again when its purpose arrives.
    pub review: ReviewPolicy,
    pub store: Store,
    /// The orgs patdesk serves, for GitHub's mails to ask for their sync.
    pub orgs: Vec<String>,
    pub trigger: Option<SyncTrigger>,
    /// Told after each batch, which may have queued an acknowledgement.
    pub outbox: Option<OutboxWake>,
}

/// The mailbox and how to reach it. Kept apart from the store, which cannot be shared
/// between threads, so the IMAP calls can borrow it across their awaits.
pub struct MailboxAccess {
    pub mailbox: MailboxConfig,
    pub password: Secret,
    /// Whether the server offers MOVE; learnt at each login.
    pub can_move: bool,
}

impl MailboxAccess {
    fn deadline(&self) -> Duration {
        self.mailbox.command_timeout
    }

    async fn command<T, E: std::fmt::Display>(
        &self,
        during: &str,
        future: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, IntakeError> {
        tokio::time::timeout(self.deadline(), future)
            .await
            .map_err(|_| IntakeError::Timeout {
                during: during.to_string(),
                seconds: self.deadline().as_secs(),
            })?
            .map_err(|e| IntakeError::Imap {
                during: during.to_string(),
                error: e.to_string(),
            })
    }

    /// Connects, logs in, and makes sure the watched, Processed and Quarantine folders exist.
    pub async fn open_session(&self) -> Result<ImapSession, IntakeError> {
        let login = Login::Password {
            username: &self.mailbox.username,
            password: &self.password,
        };
        let mut session = connect(&self.mailbox.endpoint, login, self.deadline()).await?;
        for folder in [
            &self.mailbox.folder,
            &self.mailbox.processed_folder,
            &self.mailbox.quarantine_folder,
        ] {
            // CREATE fails when the folder exists, which is the usual case.
            let _ = tokio::time::timeout(self.deadline(), session.create(folder)).await;
        }
        Ok(session)
    }

    /// Files copies of sent mail in the Sent folder (created if missing), marked seen, one by
    /// one; `filed` is told each mail's key as soon as its copy is in.
    pub async fn file_sent<K: Copy>(
        &self,
        mails: &[(K, Vec<u8>)],
        mut filed: impl FnMut(K),
    ) -> Result<(), IntakeError> {
        if mails.is_empty() {
            return Ok(());
        }
        let folder = &self.mailbox.sent_folder;
        let mut session = self.open_session().await?;
        // CREATE fails when the folder exists, which is the usual case.
        let _ = tokio::time::timeout(self.deadline(), session.create(folder)).await;
        for (key, mail) in mails {
            self.command(
                "APPEND to the Sent folder",
                session.append(folder, Some("(\\Seen)"), None, mail),
            )
            .await?;
            filed(*key);
        }
        let _ = tokio::time::timeout(self.deadline(), session.logout()).await;
        Ok(())
    }

    /// Which of `message_ids` (without angle brackets) are in the Sent folder.
    pub async fn find_in_sent(
        &self,
        message_ids: &[String],
    ) -> Result<std::collections::HashSet<String>, IntakeError> {
        let mut found = std::collections::HashSet::new();
        if message_ids.is_empty() {
            return Ok(found);
        }
        let folder = &self.mailbox.sent_folder;
        let mut session = self.open_session().await?;
        let _ = tokio::time::timeout(self.deadline(), session.create(folder)).await;
        self.command("SELECT the Sent folder", session.select(folder))
            .await?;
        for id in message_ids {
            // Our Message-IDs are letters, digits, dots, dashes and @: nothing to quote.
            let query = format!("HEADER Message-ID \"{id}\"");
            let uids = self
                .command("SEARCH the Sent folder", session.uid_search(&query))
                .await?;
            if !uids.is_empty() {
                found.insert(id.clone());
            }
        }
        let _ = tokio::time::timeout(self.deadline(), session.logout()).await;
        Ok(found)
    }

    /// The bodies (or headers) of `uids`, by UID.
    async fn fetch(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        what: &str,
    ) -> Result<HashMap<u32, Vec<u8>>, IntakeError> {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let set = uid_set(uids);
        let query = format!("(UID {what})");
        let stream = self
            .command("FETCH", session.uid_fetch(&set, &query))
            .await?;
        let fetches: Vec<_> = self
            .command("FETCH", stream.try_collect::<Vec<_>>())
            .await?;
        Ok(fetches
            .iter()
            .filter_map(|fetch| {
                let raw = if what.contains("HEADER") {
                    fetch.header()
                } else {
                    fetch.body()
                };
                Some((fetch.uid?, raw?.to_vec()))
            })
            .collect())
    }

    /// A session with the watched folder selected, for acknowledging while another session
    /// reads; refused if the folder is no longer the one being read.
    async fn open_selected(&self, uidvalidity: u32) -> Result<ImapSession, IntakeError> {
        let mut session = self.open_session().await?;
        let selected = self
            .command("SELECT", session.select(&self.mailbox.folder))
            .await?;
        if selected.uid_validity.unwrap_or(0) != uidvalidity {
            return Err(IntakeError::Imap {
                during: "SELECT".to_string(),
                error: "the folder's UIDVALIDITY changed during the catch-up".to_string(),
            });
        }
        Ok(session)
    }

    /// Reads `uids` in batches, sizes first so a mail over `cap` is never fetched whole, and
    /// hands each batch to `filing`. Returns how many mails were over the cap; stops early,
    /// without error, when filing has stopped.
    async fn read_batches(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        cap: u32,
        filing: mpsc::Sender<Vec<FetchedMail>>,
    ) -> Result<usize, IntakeError> {
        let mut oversize = 0;
        for batch in uids.chunks(BATCH) {
            let mut sizes: Vec<(u32, u32)> = self.sizes(session, batch).await?;
            sizes.sort_unstable();
            let wanted: Vec<u32> = sizes
                .iter()
                .filter(|(_, size)| *size <= cap)
                .map(|(uid, _)| *uid)
                .collect();
            let mut bodies = self.fetch(session, &wanted, "BODY.PEEK[]").await?;
            let mut mails = Vec::with_capacity(sizes.len());
            for (uid, size) in sizes {
                if size > cap {
                    oversize += 1;
                    let mut headers = self.fetch(session, &[uid], "BODY.PEEK[HEADER]").await?;
                    mails.push(FetchedMail {
                        uid,
                        raw: headers.remove(&uid).unwrap_or_default(),
                        note: Some("over the size cap: only its headers were read"),
                    });
                } else if let Some(raw) = bodies.remove(&uid) {
                    mails.push(FetchedMail {
                        uid,
                        raw,
                        note: None,
                    });
                }
                // Otherwise expunged by someone else meanwhile: nothing to store or move.
            }
            if filing.send(mails).await.is_err() {
                break;
            }
        }
        Ok(oversize)
    }

    /// Acknowledges what the filer has committed, in sets of `ACK_BATCH` on a second session
    /// opened for them (unless the server refuses one), and passes on what the mails ask for;
    /// returns what is left to acknowledge when the filer is done.
    async fn acknowledge_as_filed(
        &self,
        filed: &mut mpsc::UnboundedReceiver<Filed>,
        uidvalidity: u32,
        trigger: Option<&SyncTrigger>,
        outbox: Option<&OutboxWake>,
    ) -> Result<Acknowledging, IntakeError> {
        let mut done = Acknowledging::default();
        while let Some(group) = filed.recv().await {
            done.report.ingested += group.ingested;
            done.report.recognised += group.recognised;
            done.report.quarantined += group.quarantined.len();
            done.unacknowledged.extend(group.processed);
            done.quarantined.extend(group.quarantined);
            if let Some(trigger) = trigger {
                for org in &group.syncs {
                    trigger.org(org);
                }
            }
            // A reply may have queued an acknowledgement to its sender.
            if let Some(outbox) = outbox {
                outbox.wake();
            }
            if done.unacknowledged.len() < ACK_BATCH || done.second_refused {
                continue;
            }
            if done.second.is_none() {
                match self.open_selected(uidvalidity).await {
                    Ok(second) => done.second = Some(second),
                    Err(error) => {
                        // Some servers allow one session per user: the first one acknowledges
                        // once it has read everything.
                        tracing::info!(%error, "no second IMAP session; acknowledging after reading");
                        done.second_refused = true;
                    }
                }
            }
            if let Some(second) = &mut done.second {
                self.acknowledge(second, &done.unacknowledged).await?;
                done.unacknowledged.clear();
            }
        }
        Ok(done)
    }

    /// Marks stored mail as handled, as the config says.
    async fn acknowledge(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<(), IntakeError> {
        match self.mailbox.acknowledge {
            Acknowledge::Move => {
                self.move_to(session, uids, &self.mailbox.processed_folder)
                    .await
            }
            Acknowledge::Flag => {
                if uids.is_empty() {
                    return Ok(());
                }
                let flags = format!("+FLAGS.SILENT ({PROCESSED_KEYWORD})");
                let stream = self
                    .command("STORE", session.uid_store(uid_set(uids), &flags))
                    .await?;
                let _: Vec<_> = self
                    .command("STORE", stream.try_collect::<Vec<_>>())
                    .await?;
                Ok(())
            }
        }
    }

    /// `RFC822.SIZE` of each of `uids` (sorted) that is still there.
    async fn sizes(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<Vec<(u32, u32)>, IntakeError> {
        let stream = self
            .command(
                "FETCH sizes",
                session.uid_fetch(uid_set(uids), "(UID RFC822.SIZE)"),
            )
            .await?;
        let fetches: Vec<_> = self
            .command("FETCH sizes", stream.try_collect::<Vec<_>>())
            .await?;
        // Only answers to this command: flags another session changed meanwhile (intake's own
        // acknowledgement, in flag mode) come in as FETCH responses too, without a size.
        Ok(fetches
            .iter()
            .filter_map(|fetch| Some((fetch.uid?, fetch.size?)))
            .filter(|(uid, _)| uids.binary_search(uid).is_ok())
            .collect())
    }

    /// MOVE where the server has it (RFC 6851); otherwise COPY, `\Deleted` and UID EXPUNGE of
    /// just those mails (UIDPLUS), which ends the same way.
    async fn move_to(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        folder: &str,
    ) -> Result<(), IntakeError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        if self.can_move {
            return self.command("MOVE", session.uid_mv(&set, folder)).await;
        }
        self.command("COPY", session.uid_copy(&set, folder)).await?;
        let flagged = self
            .command(
                "STORE",
                session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)"),
            )
            .await?;
        let _: Vec<_> = self
            .command("STORE", flagged.try_collect::<Vec<_>>())
            .await?;
        let expunged = self.command("EXPUNGE", session.uid_expunge(&set)).await?;
        let _: Vec<_> = self
            .command("EXPUNGE", expunged.try_collect::<Vec<_>>())
            .await?;
        Ok(())
    }
}

impl Intake {
    /// Stores and acknowledges every mail in the folder.
    ///
    /// Three things run at once: this session reads batches, a thread files them in the store,
    /// and what is committed is acknowledged (on a second session once there is a set of
    /// `ACK_BATCH` of them, so a large backlog's acknowledgement does not wait for its reading).
    pub async fn catch_up(&mut self, session: &mut ImapSession) -> Result<CatchUp, IntakeError> {
        let folder = self.imap.mailbox.folder.clone();
        let selected = self.imap.command("SELECT", session.select(&folder)).await?;
        let uidvalidity = selected.uid_validity.unwrap_or(0);
        if let Some(position) = self.store.mailbox_position(&folder)?
            && position.uidvalidity != uidvalidity
        {
            tracing::warn!(
                folder,
                old = position.uidvalidity,
                new = uidvalidity,
                "UIDVALIDITY changed: mails already stored are recognised by Message-ID and content"
            );
        }
        if selected.exists == 0 {
            filing::remember_position(
                &mut self.store,
                &folder,
                uidvalidity,
                0,
                selected.highest_modseq,
            )?;
            return Ok(CatchUp::default());
        }
        // Only what is still to do: in flag mode, mail without the keyword.
        let pending = match self.imap.mailbox.acknowledge {
            Acknowledge::Move => "ALL".to_string(),
            Acknowledge::Flag => format!("UNKEYWORD {PROCESSED_KEYWORD}"),
        };
        let mut uids: Vec<u32> = self
            .imap
            .command("UID SEARCH", session.uid_search(&pending))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();

        let (to_filing, fetched) = mpsc::channel(FETCHED_AHEAD);
        let (filed_tx, mut filed) = mpsc::unbounded_channel();
        let filer = Filer::start(
            self.store.path().to_path_buf(),
            Filing {
                policy: self.policy.clone(),
                signing_key: self.signing_key.clone(),
                review: self.review.clone(),
                orgs: self.orgs.clone(),
            },
            Place {
                folder: folder.clone(),
                uidvalidity,
                highest_modseq: selected.highest_modseq,
            },
            fetched,
            filed_tx,
        );
        let cap = u32::try_from(self.policy.max_message_bytes).unwrap_or(u32::MAX);
        // Field by field: the store stays out of the futures, which must be `Send`.
        let (imap, trigger, outbox) = (&self.imap, &self.trigger, &self.outbox);
        let together = tokio::try_join!(
            imap.read_batches(session, &uids, cap, to_filing),
            imap.acknowledge_as_filed(&mut filed, uidvalidity, trigger.as_ref(), outbox.as_ref()),
        );
        drop(filed);
        // The filer's own error explains a reading that stopped because filing did.
        filer.finished().await?;
        let (oversize, acknowledging) = together?;
        let Acknowledging {
            mut report,
            unacknowledged,
            quarantined,
            second,
            ..
        } = acknowledging;
        report.oversize = oversize;
        match second {
            Some(mut second) => {
                self.imap.acknowledge(&mut second, &unacknowledged).await?;
                let _ = tokio::time::timeout(self.imap.deadline(), second.logout()).await;
            }
            None => {
                for set in unacknowledged.chunks(ACK_BATCH) {
                    self.imap.acknowledge(session, set).await?;
                }
            }
        }
        self.imap
            .move_to(session, &quarantined, &self.imap.mailbox.quarantine_folder)
            .await?;
        while session.unsolicited_responses.try_recv().is_ok() {}
        Ok(report)
    }

    /// Runs until `shutdown`: connect, catch up, IDLE, repeat; reconnect after any error.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        let mut healthy: Option<bool> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.session_round(&mut shutdown, &mut healthy).await {
                Ok(()) => break,
                Err(error) => {
                    self.store.report_health("imap", Some(&error.to_string()));
                    if healthy != Some(false) {
                        tracing::warn!(%error, "mail intake failing; reconnecting with backoff");
                        healthy = Some(false);
                    }
                    let wait = jittered(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
    }

    /// One session's life; `Ok` only when asked to stop.
    async fn session_round(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        healthy: &mut Option<bool>,
    ) -> Result<(), IntakeError> {
        let mut session = self.imap.open_session().await?;
        if *healthy != Some(true) {
            tracing::info!(
                host = self.imap.mailbox.endpoint.host,
                folder = self.imap.mailbox.folder,
                "mail intake connected"
            );
            *healthy = Some(true);
        }
        let capabilities = self
            .imap
            .command("CAPABILITY", session.capabilities())
            .await?;
        let can_idle = capabilities.has_str("IDLE");
        self.imap.can_move = capabilities.has_str("MOVE");
        let wait = self
            .imap
            .mailbox
            .poll_interval
            .min(self.imap.mailbox.idle_refresh);
        loop {
            let report = self.catch_up(&mut session).await?;
            self.store.report_health("imap", None);
            if report != CatchUp::default() {
                tracing::info!(
                    ingested = report.ingested,
                    recognised = report.recognised,
                    oversize = report.oversize,
                    quarantined = report.quarantined,
                    "mail taken in"
                );
            }
            if *shutdown.borrow() {
                let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                return Ok(());
            }
            if !can_idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.imap.mailbox.poll_interval) => continue,
                    _ = shutdown.changed() => {
                        let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                        return Ok(());
                    }
                }
            }
            let mut idle = session.idle();
            self.imap.command("IDLE", idle.init()).await?;
            let stopped = {
                let (waiting, _interrupt) = idle.wait_with_timeout(wait);
                tokio::select! {
                    outcome = waiting => {
                        let outcome = outcome.map_err(|e| IntakeError::Imap { during: "IDLE".to_string(), error: e.to_string() })?;
                        if matches!(outcome, async_imap::extensions::idle::IdleResponse::NewData(_)) {
                            self.store.report_health("imap_idle", None);
                        }
                        false
                    }
                    _ = shutdown.changed() => true,
                }
            };
            session = self.imap.command("DONE", idle.done()).await?;
            if stopped {
                let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                return Ok(());
            }
        }
    }
}

/// Where acknowledging stands when the filer is done.
#[derive(Default)]
struct Acknowledging {
    report: CatchUp,
    /// Committed, not yet acknowledged.
    unacknowledged: Vec<u32>,
    /// Stored from their headers; to be moved to the Quarantine folder.
    quarantined: Vec<u32>,
    /// The session acknowledging sets while reading went on, if one was needed.
    second: Option<ImapSession>,
    /// The server would not open a second session.
    second_refused: bool,
}

/// `1:3,7,9:10` for sorted UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut ranges: Vec<String> = Vec::new();
    let mut iter = uids.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        ranges.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
    }
    ranges.join(",")
}

fn jittered(base: Duration) -> Duration {
    let nanos = u64::from(jiff::Timestamp::now().subsec_nanosecond().unsigned_abs());
    let spread = u64::try_from(base.as_millis() / 2).unwrap_or(0).max(1);
    base + Duration::from_millis(nanos % spread)
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_are_compact_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
