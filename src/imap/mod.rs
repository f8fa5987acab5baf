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

mod access;
mod budget;
mod catch_up;
mod connect;
mod sent;

use std::time::Duration;

use tokio::sync::watch;

pub use connect::{ConnectError, ImapSession, Login, Stream, connect};

pub use access::MailboxAccess;

use crate::backoff::jittered;
use crate::config::Acknowledge;
use crate::intake::{FilingError, Intake};
use crate::oauth::Credential;
use crate::store::{Part, Store, StoreError};

/// The keyword that marks handled mail in flag mode.
pub const PROCESSED_KEYWORD: &str = "$PatdeskProcessed";
const MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("IMAP {during} failed: {error}")]
    Imap { during: String, error: String },
    #[error("IMAP {during} took longer than {seconds} s")]
    Timeout { during: String, seconds: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Filing(#[from] FilingError),
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

/// Why a session ended without an error.
enum Ended {
    Shutdown,
    /// Signed in with a token that is due for renewal.
    TokenDue,
}

/// The watched folder: read over `imap`, each mail handed to `intake`.
pub struct MailboxWatch {
    pub imap: MailboxAccess,
    pub intake: Intake,
    pub store: Store,
}

impl MailboxWatch {
    /// Runs until `shutdown`: connect, catch up, IDLE, repeat; reconnect after any error.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = Duration::from_secs(1);
        let mut healthy: Option<bool> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.session_round(&mut shutdown, &mut healthy).await {
                Ok(Ended::Shutdown) => break,
                // Not a failure: a new session with a new token, at once.
                Ok(Ended::TokenDue) => backoff = Duration::from_secs(1),
                Err(error) => {
                    self.store
                        .report_health(Part::Imap, Some(&error.to_string()));
                    if let ImapError::Connect(ConnectError::Token(token_error)) = &error {
                        self.store
                            .report_health(Part::Oauth2, Some(&token_error.to_string()));
                    }
                    if healthy != Some(false) {
                        tracing::warn!(%error, "mail intake failing; reconnecting with backoff");
                        healthy = Some(false);
                    }
                    let wait = jittered(backoff, backoff / 2);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
    }

    /// One session's life: until asked to stop, or until its token is due for renewal.
    async fn session_round(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        healthy: &mut Option<bool>,
    ) -> Result<Ended, ImapError> {
        let mut session = self.imap.open_session().await?;
        if matches!(self.imap.credential, Credential::Oauth2(_)) {
            self.store.report_health(Part::Oauth2, None);
        }
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
        let longest_wait = self
            .imap
            .mailbox
            .poll_interval
            .min(self.imap.mailbox.idle_refresh);
        loop {
            let wait = match &self.imap.credential {
                Credential::Oauth2(tokens) => {
                    let good_for = tokens.good_for().await;
                    if good_for.is_zero() {
                        let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                        return Ok(Ended::TokenDue);
                    }
                    longest_wait.min(good_for)
                }
                Credential::Password(_) => longest_wait,
            };
            let report = self.catch_up(&mut session).await?;
            self.store.report_health(Part::Imap, None);
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
                return Ok(Ended::Shutdown);
            }
            if !can_idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.imap.mailbox.poll_interval) => continue,
                    _ = shutdown.changed() => {
                        let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                        return Ok(Ended::Shutdown);
                    }
                }
            }
            let mut idle = session.idle();
            self.imap.command("IDLE", idle.init()).await?;
            let stopped = {
                let (waiting, interrupt) = idle.wait_with_timeout(wait);
                // async-imap's timeout starts again at every line the server sends, and servers
                // send keepalives during IDLE ("* OK Still here", every minute or two; every
                // second in the tests' Dovecot): the wait is bounded here too, or a session
                // would outlive its token and its IDLE renewal. At the deadline the interrupt
                // ends the wait, which then returns, so nothing is cut off mid-read.
                let mut interrupt = Some(interrupt);
                let deadline = tokio::time::sleep(wait);
                tokio::pin!(waiting, deadline);
                loop {
                    tokio::select! {
                        outcome = &mut waiting => {
                            let outcome = outcome.map_err(|e| ImapError::Imap { during: "IDLE".to_string(), error: e.to_string() })?;
                            if matches!(outcome, async_imap::extensions::idle::IdleResponse::NewData(_)) {
                                self.store.report_health(Part::ImapIdle, None);
                            }
                            break false;
                        }
                        () = &mut deadline, if interrupt.is_some() => drop(interrupt.take()),
                        _ = shutdown.changed() => break true,
                    }
                }
            };
            session = self.imap.command("DONE", idle.done()).await?;
            if stopped {
                let _ = tokio::time::timeout(self.imap.deadline(), session.logout()).await;
                return Ok(Ended::Shutdown);
            }
        }
    }
}
