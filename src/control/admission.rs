//! Who may hold a connection to the control socket, and how much of the daemon one account's
//! requests may use at once. Everyone in `control.group` can connect, members or not, so the
//! socket's costs are bounded per account: open connections, requests being answered, and
//! (in the server) the bytes and seconds a request may take. Whatever is turned away is
//! counted, for `patdesk status`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections open at once, all accounts together: far below the unit's 1,024 files, so
/// intake, GitHub and the database always have theirs.
pub const MAX_CONNECTIONS: usize = 128;
/// Connections one account may hold open at once.
pub const MAX_PER_ACCOUNT: usize = 8;
/// Requests answered from the database at once, each on a thread of its own: far below the
/// unit's 64 tasks, so intake and the sync always find a thread.
pub const MAX_ANSWERING: usize = 4;
/// Of those, how many one account's requests may take: another member's command never waits
/// behind a flood of one account's reads.
pub const MAX_ANSWERING_PER_ACCOUNT: usize = 2;

/// Why a connection was turned away or dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many connections open, from this account or from all.
    Busy,
    /// The caller is not a member, root or the daemon's user: answered without being read.
    NotMember,
    /// No whole request line within the read timeout, or the answer not taken in time.
    Slow,
    /// A request line longer than the protocol allows.
    TooLarge,
}

/// The refusals since the daemon started, and the connections open now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlCounts {
    pub open: usize,
    pub busy: u64,
    pub not_member: u64,
    pub slow: u64,
    pub too_large: u64,
}

impl ControlCounts {
    pub fn refused(&self) -> u64 {
        self.busy + self.not_member + self.slow + self.too_large
    }
}

/// The socket's bookkeeping, shared by the accept loop and the connections.
#[derive(Debug)]
pub struct Admission {
    accounts: Mutex<HashMap<u32, Account>>,
    answering: Arc<Semaphore>,
    busy: AtomicU64,
    not_member: AtomicU64,
    slow: AtomicU64,
    too_large: AtomicU64,
}

/// One account's open connections, and its share of the answering threads.
#[derive(Debug)]
struct Account {
    connections: usize,
    answering: Arc<Semaphore>,
}

/// A connection admitted for `uid`; its place is given back when it drops.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    uid: u32,
    answering: Arc<Semaphore>,
}

/// A place among the requests being answered; given back when it drops.
#[derive(Debug)]
pub struct Answering {
    _account: OwnedSemaphorePermit,
    _all: OwnedSemaphorePermit,
}

impl Default for Admission {
    fn default() -> Admission {
        Admission {
            accounts: Mutex::new(HashMap::new()),
            answering: Arc::new(Semaphore::new(MAX_ANSWERING)),
            busy: AtomicU64::new(0),
            not_member: AtomicU64::new(0),
            slow: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
        }
    }
}

impl Admission {
    /// Admits a connection from `uid`, or counts it as busy when that account, or everyone
    /// together, already holds as many as allowed.
    pub fn admit(self: &Arc<Self>, uid: u32) -> Option<Admitted> {
        let mut accounts = self.accounts();
        let open: usize = accounts.values().map(|account| account.connections).sum();
        let held = accounts.get(&uid).map_or(0, |account| account.connections);
        if open >= MAX_CONNECTIONS || held >= MAX_PER_ACCOUNT {
            drop(accounts);
            self.count(Refusal::Busy);
            return None;
        }
        let account = accounts.entry(uid).or_insert_with(|| Account {
            connections: 0,
            answering: Arc::new(Semaphore::new(MAX_ANSWERING_PER_ACCOUNT)),
        });
        account.connections += 1;
        Some(Admitted {
            admission: self.clone(),
            uid,
            answering: account.answering.clone(),
        })
    }

    pub fn count(&self, refusal: Refusal) {
        let counter = match refusal {
            Refusal::Busy => &self.busy,
            Refusal::NotMember => &self.not_member,
            Refusal::Slow => &self.slow,
            Refusal::TooLarge => &self.too_large,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> ControlCounts {
        ControlCounts {
            open: self
                .accounts()
                .values()
                .map(|account| account.connections)
                .sum(),
            busy: self.busy.load(Ordering::Relaxed),
            not_member: self.not_member.load(Ordering::Relaxed),
            slow: self.slow.load(Ordering::Relaxed),
            too_large: self.too_large.load(Ordering::Relaxed),
        }
    }

    /// The map stays consistent whatever panicked while holding it: each change is one step.
    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Account>> {
        self.accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Admitted {
    /// Waits for a place among the requests being answered: first the account's own share,
    /// then one of all, so an account waiting on itself holds nothing another needs.
    pub async fn answering(&self) -> Answering {
        // Neither semaphore is ever closed, so acquiring fails never.
        let account = self.answering.clone().acquire_owned().await;
        let all = self.admission.answering.clone().acquire_owned().await;
        match (account, all) {
            (Ok(account), Ok(all)) => Answering {
                _account: account,
                _all: all,
            },
            _ => unreachable!("the answering semaphores are never closed"),
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut accounts = self.admission.accounts();
        if let Some(account) = accounts.get_mut(&self.uid) {
            account.connections -= 1;
            if account.connections == 0 {
                accounts.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_holds_at_most_its_share_and_gets_it_back() {
        let admission = Arc::new(Admission::default());
        let held: Vec<_> = (0..MAX_PER_ACCOUNT)
            .map(|_| admission.admit(1000).expect("within the share"))
            .collect();
        assert!(admission.admit(1000).is_none());
        // Another account is not affected by the first one's flood.
        let other = admission.admit(1001).expect("another account");
        assert_eq!(admission.counts().busy, 1);
        assert_eq!(admission.counts().open, MAX_PER_ACCOUNT + 1);
        drop(held);
        drop(other);
        assert_eq!(admission.counts().open, 0);
        assert!(admission.admit(1000).is_some());
    }

    #[test]
    fn all_accounts_together_hold_at_most_the_socket_cap() {
        let admission = Arc::new(Admission::default());
        let held: Vec<_> = (0..MAX_CONNECTIONS)
            .map(|n| {
                admission
                    .admit(2000 + (n / MAX_PER_ACCOUNT) as u32)
                    .expect("below the cap")
            })
            .collect();
        assert!(admission.admit(9999).is_none());
        assert_eq!(admission.counts().busy, 1);
        drop(held);
        assert!(admission.admit(9999).is_some());
    }

    #[tokio::test]
    async fn one_account_cannot_take_every_answering_place() {
        let admission = Arc::new(Admission::default());
        let flood: Vec<_> = (0..MAX_PER_ACCOUNT)
            .map(|_| admission.admit(1000).expect("admitted"))
            .collect();
        let mut places = Vec::new();
        for connection in &flood[..MAX_ANSWERING_PER_ACCOUNT] {
            places.push(connection.answering().await);
        }
        // The flood's next request waits on its own account...
        use futures::FutureExt as _;
        let waiting = flood[MAX_ANSWERING_PER_ACCOUNT].answering().now_or_never();
        assert!(waiting.is_none(), "a third place for one account");
        // ...while a member's is answered at once.
        let member = admission.admit(1001).expect("admitted");
        let answered = member.answering().now_or_never();
        assert!(answered.is_some(), "another account found no place");
    }
}
