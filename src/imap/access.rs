//! The IMAP commands patdesk sends, each under the configured deadline: logging in and
//! making the folders, reading sizes and bodies, acknowledging (MOVE or a keyword), and the
//! Sent folder's copies.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;

use super::{ConnectError, ImapError, ImapSession, Login, PROCESSED_KEYWORD, connect};
use crate::config::{Acknowledge, MailboxConfig, Secret};
use crate::oauth::Credential;

/// What of a mail to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Whole,
    /// The header section, up to and including the blank line that ends it.
    Header,
}

/// The mailbox and how to reach it. Kept apart from the store, which cannot be shared
/// between threads, so the IMAP calls can borrow it across their awaits.
pub struct MailboxAccess {
    pub mailbox: MailboxConfig,
    pub credential: Credential,
    /// Whether the server offers MOVE; learnt at each login.
    pub can_move: bool,
}

impl MailboxAccess {
    pub fn new(mailbox: MailboxConfig, credential: Credential) -> MailboxAccess {
        MailboxAccess {
            mailbox,
            credential,
            can_move: true,
        }
    }

    pub(super) fn deadline(&self) -> Duration {
        self.mailbox.command_timeout
    }

    pub(super) async fn command<T, E: std::fmt::Display>(
        &self,
        during: &str,
        future: impl std::future::Future<Output = Result<T, E>>,
    ) -> Result<T, ImapError> {
        tokio::time::timeout(self.deadline(), future)
            .await
            .map_err(|_| ImapError::Timeout {
                during: during.to_string(),
                seconds: self.deadline().as_secs(),
            })?
            .map_err(|e| ImapError::Imap {
                during: during.to_string(),
                error: e.to_string(),
            })
    }

    /// Connects, logs in, and makes sure the watched, Processed and Quarantine folders exist.
    pub async fn open_session(&self) -> Result<ImapSession, ImapError> {
        let mut session = self.sign_in().await?;
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

    /// Connects, signs in and logs out, as `check-config --connect` asks.
    pub async fn check_sign_in(&self) -> Result<(), ConnectError> {
        let mut session = self.sign_in().await?;
        let _ = tokio::time::timeout(self.deadline(), session.logout()).await;
        Ok(())
    }

    /// Connects and signs in. A refused token is renewed and tried once more: the provider
    /// may have revoked it before its time.
    async fn sign_in(&self) -> Result<ImapSession, ConnectError> {
        let (endpoint, username, deadline) = (
            &self.mailbox.endpoint,
            &self.mailbox.username,
            self.deadline(),
        );
        let tokens = match &self.credential {
            Credential::Password(password) => {
                let login = Login::Password { username, password };
                return connect(endpoint, login, deadline).await;
            }
            Credential::Oauth2(tokens) => tokens,
        };
        let with_token = |token: Secret| async move {
            let login = Login::Bearer {
                username,
                token: &token,
            };
            connect(endpoint, login, deadline).await
        };
        match with_token(tokens.token().await?).await {
            Err(ConnectError::Login { .. }) => with_token(tokens.renewed().await?).await,
            other => other,
        }
    }

    /// The whole mails (or the header sections) of `uids`, by UID. Each answer is copied out
    /// as it arrives and its buffer let go, so a fetch holds its mails once, not twice.
    pub(super) async fn fetch(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        section: Section,
    ) -> Result<HashMap<u32, Vec<u8>>, ImapError> {
        if uids.is_empty() {
            return Ok(HashMap::new());
        }
        let query = match section {
            Section::Whole => "(UID BODY.PEEK[])",
            Section::Header => "(UID BODY.PEEK[HEADER])",
        };
        let answers = self
            .command("FETCH", session.uid_fetch(uid_set(uids), query))
            .await?;
        let raws = self
            .command("FETCH", async move {
                let mut answers = std::pin::pin!(answers);
                let mut raws = HashMap::with_capacity(uids.len());
                while let Some(answer) = answers.try_next().await? {
                    let raw = match section {
                        Section::Whole => answer.body(),
                        Section::Header => answer.header(),
                    };
                    if let (Some(uid), Some(raw)) = (answer.uid, raw) {
                        raws.insert(uid, raw.to_vec());
                    }
                }
                Ok::<_, async_imap::error::Error>(raws)
            })
            .await?;
        if raws.len() < uids.len() {
            // Expunged by someone else meanwhile, or the connection closed mid-answer (which
            // ends the answers as quietly): only a live session tells the two apart.
            self.command("NOOP", session.noop()).await?;
        }
        Ok(raws)
    }

    /// A session with the watched folder selected, for acknowledging while another session
    /// reads; refused if the folder is no longer the one being read.
    pub(super) async fn open_selected(&self, uidvalidity: u32) -> Result<ImapSession, ImapError> {
        let mut session = self.open_session().await?;
        let selected = self
            .command("SELECT", session.select(&self.mailbox.folder))
            .await?;
        if selected.uid_validity.unwrap_or(0) != uidvalidity {
            return Err(ImapError::Imap {
                during: "SELECT".to_string(),
                error: "the folder's UIDVALIDITY changed during the catch-up".to_string(),
            });
        }
        Ok(session)
    }

    /// Marks stored mail as handled, as the config says.
    pub(super) async fn acknowledge(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<(), ImapError> {
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
    pub(super) async fn sizes(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
    ) -> Result<Vec<(u32, u32)>, ImapError> {
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
    pub(super) async fn move_to(
        &self,
        session: &mut ImapSession,
        uids: &[u32],
        folder: &str,
    ) -> Result<(), ImapError> {
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

/// `1:3,7,9:10` for sorted UIDs.
pub(super) fn uid_set(uids: &[u32]) -> String {
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

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_are_compact_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
    }
}
