//! The team mailbox's Sent folder, for the sender: copies filed, uncertain mail looked for.

use std::collections::HashSet;

use futures::future::BoxFuture;

use super::{ImapError, MailboxAccess};
use crate::config::MailboxConfig;
use crate::smtp::SentFolder;

impl SentFolder for MailboxAccess {
    fn mailbox(&self) -> &MailboxConfig {
        &self.mailbox
    }

    fn file<'a>(
        &'a self,
        mails: &'a [(i64, Vec<u8>)],
        filed: &'a mut (dyn FnMut(i64) + Send),
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.file_sent(mails, filed)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn find<'a>(
        &'a self,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashSet<String>, String>> {
        Box::pin(async move {
            self.find_in_sent(message_ids)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

impl MailboxAccess {
    /// Files copies of sent mail in the Sent folder (created if missing), marked seen, one by
    /// one; `filed` is told each mail's key as soon as its copy is in.
    pub async fn file_sent<K: Copy>(
        &self,
        mails: &[(K, Vec<u8>)],
        mut filed: impl FnMut(K),
    ) -> Result<(), ImapError> {
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
    pub async fn find_in_sent(&self, message_ids: &[String]) -> Result<HashSet<String>, ImapError> {
        let mut found = HashSet::new();
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
}
