//! The one SQLite file: schema, migrations, every SQL statement, and the audit chain.
//!
//! WAL mode with a busy timeout, so the daemon and an engineer's command can use the file at
//! once: readers never wait, writers take turns. Every change is made in a [`Tx`] together
//! with its audit event, so either both are stored or neither.

mod alerts;
mod approvals;
mod audit;
mod backup;
mod chain;
mod checkpoint;
mod deadlines;
mod event_kind;
mod heads;
mod health;
mod intake;
mod messages;
mod outbox;
mod outside_tokens;
mod policy;
mod pushes;
mod report;
mod requests;
mod retention;
mod schema;
mod slack;
mod stored;
mod time;
mod webhooks;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::clock::Clock;
use crate::lifecycle::Member;

pub use alerts::{Alert, AlertKind};
pub use approvals::{Approvals, GivenApproval};
pub use audit::{Audit, Mismatch, PushBacking};
pub use backup::backup;
pub use chain::{Break, ChainHead, ChainKey, GENESIS, Verification};
pub use checkpoint::{Checkpointer, WalRestarts};
pub use deadlines::Waiting;
pub use event_kind::EventKind;
pub use heads::{HeadSent, LaterDecision};
pub use health::{Counts, Part, PartHealth};
pub use intake::{FolderEra, MailboxPosition};
pub use messages::{
    Direction, MessageRecord, NewMessage, TriageClosed, TriageItem, TriageOutcome,
    UnverifiedAnswer, content_hash,
};
pub use outbox::{MailOutcome, OutboxMail, OutboxState, Resend, UnansweredQuestion};
pub use outside_tokens::{
    OutsideCounts, OutsideMark, OutsideRevocation, OutsideToken, OutsideTokenRow,
};
pub use pushes::{Push, PushOutcome, PushState, PushTarget};
pub use report::{MemberDecisions, ReportLine};
pub use requests::{
    Decision, EndingGrant, EventRecord, ExportRow, ListFilter, NewRequest, RequestRecord,
    RequestSummary, SortBy,
};
pub use retention::{DatabaseSize, Reduced};
pub use slack::{SlackDue, slack_view};
pub use stored::Stored;
pub use time::{format_time, stored_time};
pub(crate) use time::{optional_time_at, parse_time, time_at};
pub use webhooks::{Delivery, GithubClaim, RefusalCount, Taken, WebhookCounts, WebhookRefusal};

/// A page of a read: the rows after `after` (an id or a seq, the order the read keeps), at
/// most `limit`. The daemon answers a page at a time, so no read holds a whole table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Page {
    pub after: i64,
    pub limit: u32,
}

impl Page {
    /// Every row: for reads inside the daemon and the tests, never for a caller.
    pub const ALL: Page = Page {
        after: 0,
        limit: u32::MAX,
    };

    /// The first `limit` rows.
    pub fn first(limit: u32) -> Page {
        Page { after: 0, limit }
    }
}

/// How long a writer waits for another to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database {} does not exist: only `patdesk run` creates one. Check store.path in the config; a database that was deleted is restored from a backup (`patdesk backup`), not recreated empty",
        path.display()
    )]
    Missing { path: PathBuf },
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "the database {} has schema version {found}, newer than this patdesk knows ({known}): upgrade patdesk",
        path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "the database {} was removed or replaced while patdesk had it open: nothing more is written to it; restore it from a backup (or put the file back) and restart the service",
        path.display()
    )]
    Replaced { path: PathBuf },
    #[error("no request {0}: `patdesk list` shows the requests there are")]
    NoSuchRequest(i64),
    #[error(
        "no outside token {org}:{grant_id}: `patdesk list --outside` shows the approved tokens no request accounts for"
    )]
    NoSuchGrant { org: String, grant_id: i64 },
    #[error("no outbox mail {0}: `patdesk outbox list` shows the mail not yet sent")]
    NoSuchMail(i64),
    #[error("no incoming mail {0}: `patdesk triage` shows the mail waiting for a person")]
    NoSuchMessage(i64),
    #[error(
        "mail {0} is not an answer waiting in triage: only an unverified answer about a request can be accepted"
    )]
    NotAnAnswer(i64),
    #[error("mail {id} is out of triage already: it was {outcome}")]
    TriageClosed { id: i64, outcome: TriageOutcome },
    #[error("mail {0} never needed a person: it is not in triage")]
    NotInTriage(i64),
    #[error("stored data cannot be read ({0}); run `patdesk audit verify`")]
    Corrupt(String),
    #[error("cannot start a thread for the database: {0}")]
    Thread(std::io::Error),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Bytes per database page, for new databases.
const PAGE_SIZE: i64 = 16 * 1024;

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// What every write stamps its changes and events with.
    clock: Clock,
    /// What every event appended carries a MAC by, and the chain is verified with.
    chain_key: Option<ChainKey>,
    /// The file this connection opened: a write checks the path still names it, or it would
    /// go on into a deleted file, or beside a file put in its place.
    identity: FileIdentity,
}

/// A file as the kernel knows it: its device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// The file `path` names now, if any.
    pub fn of(path: &Path) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        Some(FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
        })
    }
}

/// How to open a store's database again on another connection (another thread): the same
/// path, clock and chain key.
#[derive(Debug, Clone)]
pub struct Reopen {
    path: PathBuf,
    clock: Clock,
    chain_key: Option<ChainKey>,
}

impl Reopen {
    pub fn open(&self) -> Result<Store, StoreError> {
        Ok(Store::open_existing(&self.path, &self.clock)?.keyed(self.chain_key.clone()))
    }
}

impl Store {
    /// Opens the database, creating it (readable by its owner only) and bringing its schema up
    /// to date. Only the daemon's start creates one: every other opening is
    /// [`Store::open_existing`].
    pub fn open(path: &Path, clock: &Clock) -> Result<Store, StoreError> {
        create_private(path)?;
        Store::connect(path, clock)
    }

    /// Opens a database that exists: a typo in `store.path`, or a database deleted under the
    /// daemon, is an error to see, not an empty desk (whose empty audit log would verify).
    pub fn open_existing(path: &Path, clock: &Clock) -> Result<Store, StoreError> {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        Store::connect(path, clock)
    }

    fn connect(path: &Path, clock: &Clock) -> Result<Store, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Mails are kept whole, a few KB each: 16 KB pages hold several rows where 4 KB pages
        // hold one and leave the rest empty (the database is a third smaller, intake a quarter
        // cheaper). Only a new database takes it, before its first table and before WAL; an
        // existing one keeps its page size.
        conn.pragma_update(None, "page_size", PAGE_SIZE)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: each commit's WAL frames reach the disk before the commit returns. Intake
        // acknowledges a mail on the server (MOVE) right after its commit, and the outbox sends
        // after marking a mail `sending`: with NORMAL a power loss could drop those commits,
        // losing a mail or sending one twice.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let identity = FileIdentity::of(path).ok_or_else(|| StoreError::Missing {
            path: path.to_path_buf(),
        })?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            clock: clock.clone(),
            chain_key: None,
            identity,
        };
        store.migrate()?;
        Ok(store)
    }

    /// This store, appending events with a MAC by `key` and checking the chain's MACs with
    /// it (the daemon's stores; a store without a key neither makes nor checks them).
    pub fn keyed(mut self, key: Option<ChainKey>) -> Store {
        self.chain_key = key;
        self
    }

    /// How to open this database again, with this store's clock and key.
    pub fn reopen(&self) -> Reopen {
        Reopen {
            path: self.path.clone(),
            clock: self.clock.clone(),
            chain_key: self.chain_key.clone(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file this store opened.
    pub fn identity(&self) -> FileIdentity {
        self.identity
    }

    /// The clock this store's writes are stamped by; whoever holds the store reads the time
    /// from it too.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The time now, by this store's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > known {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (version, migration) in (1..)
            .zip(schema::MIGRATIONS)
            .skip(usize::try_from(found).unwrap_or(0))
        {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated while this one waited for the lock.
            let current: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if current < version {
                tx.execute_batch(migration)?;
                tx.pragma_update(None, "user_version", version)?;
            }
            tx.commit()?;
        }
        Ok(())
    }

    /// Starts a write. Writers queue for the database's one write lock up front (BEGIN
    /// IMMEDIATE), so a transaction never fails half-way because another began writing.
    pub fn transaction(&mut self) -> Result<Tx<'_>, StoreError> {
        if FileIdentity::of(&self.path) != Some(self.identity) {
            return Err(StoreError::Replaced {
                path: self.path.clone(),
            });
        }
        let at = self.clock.now();
        Ok(Tx {
            tx: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?,
            at,
            now: format_time(at),
            appended: RefCell::new(None),
            member: None,
            chain_key: self.chain_key.clone(),
        })
    }

    /// Runs `write` as one transaction: committed when it returns `Ok`, rolled back (nothing
    /// of it kept) when it returns an error.
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        write: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let tx = self.transaction()?;
        let written = write(&tx)?;
        tx.commit()?;
        Ok(written)
    }

    /// [`Store::write`] on behalf of an authenticated team member: every event the write
    /// appends under the member's login also records their OS account, uid and how they were
    /// authenticated, and so does the queueing of a GitHub call (which the push task checks).
    pub fn write_for<T, E: From<StoreError>>(
        &mut self,
        member: &Member,
        write: impl FnOnce(&Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut tx = self.transaction()?;
        tx.member = Some(member.clone());
        let written = write(&tx)?;
        tx.commit()?;
        Ok(written)
    }

    /// A number that changes whenever another connection (an engineer's command, another task
    /// of the daemon) commits: the cheap way to notice new work without being told.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))?)
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn chain_head(&self) -> Result<Option<ChainHead>, StoreError> {
        chain::head(&self.conn)
    }

    pub fn verify_chain(&self, expected: Option<&ChainHead>) -> Result<Verification, StoreError> {
        chain::verify(&self.conn, expected, self.chain_key.as_ref())
    }
}

/// One write: changes and their audit events, committed together or not at all. Dropping it
/// without [`Tx::commit`] rolls everything back.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
    /// One time for everything this transaction records, and its stored form.
    at: Timestamp,
    now: String,
    /// The newest event once this transaction has appended one. The transaction holds the
    /// write lock from its start, so nobody else appends meanwhile; intake appends an event
    /// per mail, and this spares asking the database for the head before each.
    appended: RefCell<Option<ChainHead>>,
    /// Whom this transaction acts for, when a team member asked for it.
    member: Option<Member>,
    chain_key: Option<ChainKey>,
}

impl Tx<'_> {
    pub fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }

    pub fn now(&self) -> &str {
        &self.now
    }

    /// The time this transaction records, as a time to compute with.
    pub fn time(&self) -> Timestamp {
        self.at
    }

    /// The member this transaction acts for, if any.
    pub fn member(&self) -> Option<&Member> {
        self.member.as_ref()
    }

    /// Appends an audit event; `detail` is anything that serialises to JSON (a `json!` value,
    /// or a struct where the event is frequent enough for building a `Value` to show).
    pub fn append_event(
        &self,
        actor: &str,
        request_id: Option<i64>,
        kind: EventKind,
        detail: &impl serde::Serialize,
    ) -> Result<ChainHead, StoreError> {
        let corrupt =
            |e: serde_json::Error| StoreError::Corrupt(format!("{kind} event detail: {e}"));
        let detail = match &self.member {
            Some(member) if member.login == actor => {
                let mut detail = serde_json::to_value(detail).map_err(corrupt)?;
                if let Some(fields) = detail.as_object_mut() {
                    fields.insert(
                        "member".to_string(),
                        serde_json::to_value(member).map_err(corrupt)?,
                    );
                }
                serde_json::to_string(&detail).map_err(corrupt)?
            }
            _ => serde_json::to_string(detail).map_err(corrupt)?,
        };
        let previous = match self.appended.take() {
            Some(appended) => Some(appended),
            None => chain::head(&self.tx)?,
        };
        let head = chain::append(
            &self.tx,
            self.chain_key.as_ref(),
            previous.as_ref(),
            chain::NewEvent {
                at: &self.now,
                actor,
                request_id,
                kind: kind.as_str(),
                detail: &detail,
            },
        )?;
        self.appended.replace(Some(head.clone()));
        Ok(head)
    }
}

/// Creates the database file readable and writable by its owner only, before SQLite opens
/// it: the file holds every mail and decision. SQLite gives its -wal and -shm files the same
/// mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let error = |source| StoreError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(error(e)),
    }
}
