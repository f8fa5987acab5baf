//! Where copies of sent mail go: the team mailbox's Sent folder. The sender is handed one, so
//! sending mail does not depend on how the mailbox is reached (`imap` provides it).

use std::collections::HashSet;

use futures::future::BoxFuture;

use crate::config::MailboxConfig;

pub trait SentFolder: Send + Sync {
    /// The team mailbox's settings: who files sent copies, whether replies are asked for at
    /// plus-addresses.
    fn mailbox(&self) -> &MailboxConfig;

    /// Files `mails` (outbox id, raw mail) in the Sent folder, marked seen, telling `filed`
    /// each id as soon as its copy is in.
    fn file<'a>(
        &'a self,
        mails: &'a [(i64, Vec<u8>)],
        filed: &'a mut (dyn FnMut(i64) + Send),
    ) -> BoxFuture<'a, Result<(), String>>;

    /// Which of `message_ids` (without angle brackets) are in the Sent folder.
    fn find<'a>(
        &'a self,
        message_ids: &'a [String],
    ) -> BoxFuture<'a, Result<HashSet<String>, String>>;
}
