//! Tries at each mail, counted in the store before the mail is fetched: a mail that brings
//! patdesk down (while it is read from the server, analysed or stored) has its try on record
//! already, so a later catch-up takes it alone, and after `MAX_ATTEMPTS` sets it aside.
//!
//! The count has a connection of its own, used off the runtime's threads: the reading
//! session waits for it, never the other tasks.

use super::FilingError;
use crate::store::{FolderEra, Store, StoreError};

/// Tries at one mail before it is quarantined.
const MAX_ATTEMPTS: u32 = 3;
/// Why a mail given up on is on record from its headers only (and waits in triage).
pub const GIVEN_UP: &str = "failed 3 times: quarantined";

/// Which try at a mail this is; decides how it is read and filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Try {
    /// Never tried before: filed with the rest of its batch in one commit.
    First,
    /// Tried before without finishing: read and filed alone.
    Again,
    /// Tried `MAX_ATTEMPTS` times already: only its headers are read, and it is quarantined.
    GiveUp,
}

/// The count of tries in one folder era.
pub struct Tries {
    /// `None` only while a count runs on its thread.
    store: Option<Store>,
    folder: String,
    uidvalidity: u32,
}

impl Tries {
    /// Counts beside `store`, on a connection of their own.
    pub fn beside(store: &Store, folder: &str, uidvalidity: u32) -> Result<Tries, StoreError> {
        Ok(Tries {
            store: Some(store.reopen().open()?),
            folder: folder.to_string(),
            uidvalidity,
        })
    }

    /// Those of `uids` (sorted) tried before without finishing.
    pub async fn tried_before(&mut self, uids: Vec<u32>) -> Result<Vec<u32>, FilingError> {
        self.with_store(move |store, era| store.tried_before(era, &uids))
            .await
    }

    /// Counts a first try at each of `uids`, in one commit.
    pub async fn count_first(&mut self, uids: Vec<u32>) -> Result<(), FilingError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.with_store(move |store, era| store.write(|tx| tx.count_intake_attempts(era, &uids)))
            .await
    }

    /// Counts another try at `uid`, which was tried before.
    pub async fn count_again(&mut self, uid: u32) -> Result<Try, FilingError> {
        let attempts = self
            .with_store(move |store, era| store.write(|tx| tx.count_intake_attempt(era, uid)))
            .await?;
        Ok(if attempts > MAX_ATTEMPTS {
            Try::GiveUp
        } else {
            Try::Again
        })
    }

    /// Runs `count` on a blocking thread with the connection, which comes back with it.
    async fn with_store<T: Send + 'static>(
        &mut self,
        count: impl FnOnce(&mut Store, FolderEra<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, FilingError> {
        let mut store = self.store.take().ok_or_else(|| {
            FilingError::Stopped("an earlier count of tries did not finish".to_string())
        })?;
        let (folder, uidvalidity) = (self.folder.clone(), self.uidvalidity);
        let counted = tokio::task::spawn_blocking(move || {
            let era = FolderEra {
                folder: &folder,
                uidvalidity,
            };
            let counted = count(&mut store, era);
            (store, counted)
        })
        .await;
        match counted {
            Ok((store, counted)) => {
                self.store = Some(store);
                Ok(counted?)
            }
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Cancelled: the runtime is shutting down.
            Err(error) => Err(FilingError::Stopped(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{GIVEN_UP, MAX_ATTEMPTS};

    #[test]
    fn the_quarantine_note_names_the_tries_it_took() {
        assert!(GIVEN_UP.contains(&format!("failed {MAX_ATTEMPTS} times")));
    }
}
