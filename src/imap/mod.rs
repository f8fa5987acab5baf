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

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub use connect::{ConnectError, ImapSession, Login, Stream, connect};

use crate::config::{Acknowledge, MailboxConfig, Secret};
use crate::conversation::{self, Outcome, Threading};
use crate::daemon::{OutboxWake, SyncTrigger};
use crate::mail::{Analysis, Kind, MailPolicy, analyze};
use crate::review::ReviewPolicy;
use crate::store::{Direction, MailboxPosition, NewMessage, Store, StoreError, Tx};
use crate::sync::orgs_to_sync;

/// The keyword that marks handled mail in flag mode.
pub const PROCESSED_KEYWORD: &str = "$PatdeskProcessed";
/// Stored mails acknowledged in one command, at most.
const ACK_BATCH: usize = 1000;
/// Tries at one mail before it is quarantined.
const MAX_ATTEMPTS: u32 = 3;
/// Mails fetched per round trip; bounded so one huge folder never means one huge answer.
const BATCH: usize = 100;
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

    /// `RFC822.SIZE` of each of `uids`.
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
        Ok(fetches
            .iter()
            .filter_map(|fetch| Some((fetch.uid?, fetch.size.unwrap_or(0))))
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
    /// Stores and moves every mail in the folder.
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
        let mut report = CatchUp::default();
        if selected.exists == 0 {
            remember_position(
                &mut self.store,
                &folder,
                uidvalidity,
                0,
                selected.highest_modseq,
            )?;
            return Ok(report);
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
        let cap = u32::try_from(self.policy.max_message_bytes).unwrap_or(u32::MAX);
        let mut last_uid = 0;
        let mut unacknowledged: Vec<u32> = Vec::new();
        let reading = Reading {
            policy: &self.policy,
            threading: self.signing_key.as_ref().map(|key| Threading {
                key: key.expose().as_bytes(),
                policy: &self.review,
            }),
        };
        for batch in uids.chunks(BATCH) {
            // Sizes first, so a mail over the cap is never fetched whole.
            let mut chunk: Vec<(u32, u32)> = self.imap.sizes(session, batch).await?;
            chunk.sort_unstable();
            let wanted: Vec<u32> = chunk
                .iter()
                .filter(|(_, size)| *size <= cap)
                .map(|(uid, _)| *uid)
                .collect();
            let mut bodies = self.imap.fetch(session, &wanted, "BODY.PEEK[]").await?;
            // The raw mail of each UID: whole, or its headers when over the cap.
            let mut mails: Vec<(u32, Vec<u8>, Option<&str>)> = Vec::with_capacity(chunk.len());
            for &(uid, size) in &chunk {
                last_uid = last_uid.max(uid);
                if size > cap {
                    report.oversize += 1;
                    let mut headers = self
                        .imap
                        .fetch(session, &[uid], "BODY.PEEK[HEADER]")
                        .await?;
                    let raw = headers.remove(&uid).unwrap_or_default();
                    mails.push((
                        uid,
                        raw,
                        Some("over the size cap: only its headers were read"),
                    ));
                } else if let Some(raw) = bodies.remove(&uid) {
                    mails.push((uid, raw, None));
                }
                // Otherwise expunged by someone else meanwhile: nothing to store or move.
            }
            let mut processed = Vec::new();
            let mut quarantined = Vec::new();
            let mut syncs = BTreeSet::new();
            let mut record =
                |outcome: Option<Analysis>, uid: u32, report: &mut CatchUp, orgs: &[String]| {
                    match outcome {
                        Some(analysis) => {
                            report.ingested += 1;
                            syncs.extend(orgs_to_sync(&analysis, orgs));
                        }
                        None => report.recognised += 1,
                    }
                    processed.push(uid);
                };
            let batch_uids: Vec<u32> = mails.iter().map(|(uid, _, _)| *uid).collect();
            if !self
                .store
                .any_intake_attempts(&folder, uidvalidity, &batch_uids)?
            {
                // The usual case: the whole batch counted in one commit and stored in another.
                let tx = self.store.transaction()?;
                for uid in &batch_uids {
                    tx.count_intake_attempt(&folder, uidvalidity, *uid)?;
                }
                tx.commit()?;
                let tx = self.store.transaction()?;
                let mut outcomes = Vec::with_capacity(mails.len());
                for (uid, raw, note) in &mails {
                    outcomes.push((
                        *uid,
                        ingest_into(&tx, &reading, &folder, uidvalidity, *uid, raw, *note)?,
                    ));
                }
                tx.commit()?;
                for (uid, outcome) in outcomes {
                    record(outcome, uid, &mut report, &self.orgs);
                }
            } else {
                // An earlier try at this batch never finished: one mail at a time, so a mail
                // that brings patdesk down is found and set aside.
                for (uid, raw, note) in &mails {
                    let attempts = {
                        let tx = self.store.transaction()?;
                        let attempts = tx.count_intake_attempt(&folder, uidvalidity, *uid)?;
                        tx.commit()?;
                        attempts
                    };
                    if attempts > MAX_ATTEMPTS {
                        let mut headers = self
                            .imap
                            .fetch(session, &[*uid], "BODY.PEEK[HEADER]")
                            .await?;
                        let raw = headers.remove(uid).unwrap_or_default();
                        let tx = self.store.transaction()?;
                        ingest_into(
                            &tx,
                            &reading,
                            &folder,
                            uidvalidity,
                            *uid,
                            &raw,
                            Some("failed 3 times: quarantined"),
                        )?;
                        tx.commit()?;
                        quarantined.push(*uid);
                        report.quarantined += 1;
                        continue;
                    }
                    let tx = self.store.transaction()?;
                    let outcome =
                        ingest_into(&tx, &reading, &folder, uidvalidity, *uid, raw, *note)?;
                    tx.commit()?;
                    record(outcome, *uid, &mut report, &self.orgs);
                }
            }
            // Acknowledged only now that the store has them, in sets of up to ACK_BATCH: the
            // server's cost is per command, and a crash before the acknowledgement only means
            // these are recognised on the next catch-up.
            unacknowledged.extend(processed);
            if unacknowledged.len() >= ACK_BATCH {
                self.imap.acknowledge(session, &unacknowledged).await?;
                unacknowledged.clear();
            }
            self.imap
                .move_to(session, &quarantined, &self.imap.mailbox.quarantine_folder)
                .await?;
            remember_position(
                &mut self.store,
                &folder,
                uidvalidity,
                last_uid,
                selected.highest_modseq,
            )?;
            if let Some(trigger) = &self.trigger {
                for org in &syncs {
                    trigger.org(org);
                }
            }
            if let Some(outbox) = &self.outbox {
                outbox.wake();
            }
        }
        self.imap.acknowledge(session, &unacknowledged).await?;
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

/// Stores one mail with what it is, inside `tx`. `None`: it was stored before.
fn remember_position(
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

fn ingest_into(
    tx: &Tx<'_>,
    reading: &Reading<'_>,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
    raw: &[u8],
    note: Option<&str>,
) -> Result<Option<Analysis>, StoreError> {
    let analysis = analyze(raw, reading.policy);
    let sha256 = format!("{:x}", Sha256::digest(raw));
    if tx.has_message(
        folder,
        uidvalidity,
        uid,
        analysis.message_id.as_deref(),
        &sha256,
    )? {
        tx.clear_intake_attempts(folder, uidvalidity, uid)?;
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
        analysis: &analysis,
        direction: Direction::In,
        mailbox: Some(folder),
        uidvalidity: Some(uidvalidity),
        uid: Some(uid),
        request_id: outcome.request_id(),
        triage,
    })?;
    tx.clear_intake_attempts(folder, uidvalidity, uid)?;
    Ok(Some(analysis))
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
