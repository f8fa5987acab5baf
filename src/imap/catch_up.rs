//! One catch-up of the watched folder: this session reads, `intake`'s filer stores, and what
//! is committed is acknowledged, all at once.

use tokio::sync::mpsc;

use super::access::Section;
use super::budget::{Budget, plan_fetches};
use super::{
    Acknowledge, CatchUp, ImapError, ImapSession, MailboxAccess, MailboxWatch, PROCESSED_KEYWORD,
};
use crate::intake::{Fetched, FetchedMail, Filed, Filer, GIVEN_UP, Place, Tries, Try};

/// Stored mails acknowledged in one command, at most.
const ACK_BATCH: usize = 1000;
/// Mails whose sizes are read per round trip, and fetched per round trip at most (fewer when
/// they are large: see `budget`).
const BATCH: usize = 100;
/// Mails whose first tries are counted in one commit before any of them is fetched: a commit
/// per fetch would wait each time for the filer's commit, and reading would wait with it.
const COUNTED_TOGETHER: usize = 1000;
/// Fetches read ahead of filing, at most: reading never runs far ahead of the store, so a
/// catch-up holds a few fetches in memory, not the folder.
const FETCHED_AHEAD: usize = 2;

impl MailboxWatch {
    /// Stores and acknowledges every mail in the folder.
    ///
    /// Three things run at once: this session reads batches, a thread files them in the store,
    /// and what is committed is acknowledged (on a second session once there is a set of
    /// `ACK_BATCH` of them, so a large backlog's acknowledgement does not wait for its reading).
    pub async fn catch_up(&mut self, session: &mut ImapSession) -> Result<CatchUp, ImapError> {
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
            self.store
                .remember_position(&folder, uidvalidity, 0, selected.highest_modseq)?;
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

        let mut tries = Tries::beside(&self.store, &folder, uidvalidity)?;
        let (to_filing, fetched) = mpsc::channel(FETCHED_AHEAD);
        let (filed_tx, mut filed) = mpsc::unbounded_channel();
        let filer = Filer::start(
            self.store.reopen(),
            self.intake.clone(),
            Place {
                folder: folder.clone(),
                uidvalidity,
                highest_modseq: selected.highest_modseq,
            },
            fetched,
            filed_tx,
        );
        let cap = u32::try_from(self.intake.policy.max_message_bytes).unwrap_or(u32::MAX);
        // Field by field: the store stays out of the futures, which must be `Send`.
        let imap = &self.imap;
        let together = tokio::try_join!(
            imap.read_batches(session, &uids, cap, &mut tries, to_filing),
            imap.acknowledge_as_filed(&mut filed, uidvalidity),
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
}

impl MailboxAccess {
    /// Reads `uids` in batches, sizes first so a mail over `cap` is never fetched whole, and
    /// hands each fetch to `filing`; every try is counted in `tries` before its fetch (first
    /// tries a thousand at a time, a mail tried before alone). Returns
    /// how many mails were over the cap; stops early, without error, when filing has stopped.
    async fn read_batches(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        cap: u32,
        tries: &mut Tries,
        filing: mpsc::Sender<Fetched>,
    ) -> Result<usize, ImapError> {
        let budget = Budget::new();
        let mut oversize = 0;
        for window in uids.chunks(COUNTED_TOGETHER) {
            let mut sizes: Vec<(u32, u32)> = Vec::with_capacity(window.len());
            for batch in window.chunks(BATCH) {
                sizes.extend(self.sizes(session, batch).await?);
            }
            sizes.sort_unstable();
            let tried_before = tries
                .tried_before(sizes.iter().map(|(uid, _)| *uid).collect())
                .await?;
            let (again, first): (Vec<_>, Vec<_>) = sizes
                .into_iter()
                .partition(|(uid, _)| tried_before.binary_search(uid).is_ok());
            tries
                .count_first(first.iter().map(|(uid, _)| *uid).collect())
                .await?;
            for fetch in first
                .chunks(BATCH)
                .flat_map(|batch| plan_fetches(batch, cap))
            {
                let held = budget.hold(fetch, cap).await?;
                let (mails, over) = self.fetch_mails(session, fetch, cap, Try::First).await?;
                oversize += over;
                if filing.send(Fetched { mails, held }).await.is_err() {
                    return Ok(oversize);
                }
            }
            for mail in &again {
                // Alone, once everything before it is committed: if it brings patdesk down
                // again, its count is the only one that grows.
                let held = budget.hold_all().await?;
                let mails = match tries.count_again(mail.0).await? {
                    Try::GiveUp => self
                        .fetch_headers(session, mail.0, GIVEN_UP, Try::GiveUp)
                        .await?
                        .into_iter()
                        .collect(),
                    tried @ (Try::Again | Try::First) => {
                        let (mails, over) = self
                            .fetch_mails(session, std::slice::from_ref(mail), cap, tried)
                            .await?;
                        oversize += over;
                        mails
                    }
                };
                if filing.send(Fetched { mails, held }).await.is_err() {
                    return Ok(oversize);
                }
            }
        }
        Ok(oversize)
    }

    /// The mails of `fetch` (UID, size): whole, or only the headers of those over `cap`.
    /// Returns them and how many were over the cap; a mail expunged by someone else meanwhile
    /// is not there.
    async fn fetch_mails(
        &self,
        session: &mut ImapSession,
        fetch: &[(u32, u32)],
        cap: u32,
        tried: Try,
    ) -> Result<(Vec<FetchedMail>, usize), ImapError> {
        let whole: Vec<u32> = fetch
            .iter()
            .filter(|(_, size)| *size <= cap)
            .map(|(uid, _)| *uid)
            .collect();
        let mut bodies = self.fetch(session, &whole, Section::Whole).await?;
        let (mut mails, mut oversize) = (Vec::with_capacity(fetch.len()), 0);
        for &(uid, size) in fetch {
            if size > cap {
                oversize += 1;
                let note = "over the size cap: only its headers were read";
                mails.extend(self.fetch_headers(session, uid, note, tried).await?);
            } else if let Some(raw) = bodies.remove(&uid) {
                mails.push(FetchedMail {
                    uid,
                    raw,
                    note: None,
                    tried,
                });
            }
        }
        Ok((mails, oversize))
    }

    /// The header section of `uid` alone, to be stored with `note` saying why.
    async fn fetch_headers(
        &self,
        session: &mut ImapSession,
        uid: u32,
        note: &'static str,
        tried: Try,
    ) -> Result<Option<FetchedMail>, ImapError> {
        let mut headers = self.fetch(session, &[uid], Section::Header).await?;
        Ok(headers.remove(&uid).map(|raw| FetchedMail {
            uid,
            raw,
            note: Some(note),
            tried,
        }))
    }

    /// Acknowledges what the filer has committed, in sets of `ACK_BATCH` on a second session
    /// opened for them (unless the server refuses one); returns what is left to acknowledge when the filer is done.
    async fn acknowledge_as_filed(
        &self,
        filed: &mut mpsc::UnboundedReceiver<Filed>,
        uidvalidity: u32,
    ) -> Result<Acknowledging, ImapError> {
        let mut done = Acknowledging::default();
        while let Some(group) = filed.recv().await {
            done.report.ingested += group.ingested;
            done.report.recognised += group.recognised;
            done.report.quarantined += group.quarantined.len();
            done.unacknowledged.extend(group.processed);
            done.quarantined.extend(group.quarantined);
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
