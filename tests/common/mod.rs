//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod builders;
pub mod control;
pub mod dates;
pub mod desk;
pub mod generators;
pub mod github_desk;
pub mod hookshot;
pub mod imap_proxy;
pub mod limits;
pub mod mailserver;
pub mod oauth;
pub mod replication;
pub mod rss;
pub mod slack;
pub mod smtp_proxy;
pub mod standin;
pub mod users;
pub mod webhook;

pub use mailserver::unique_suffix;

use std::path::{Path, PathBuf};

use patdesk::mail::MailPolicy;

/// The receiving server the corpus's `Authentication-Results` headers come from.
pub const CORPUS_AUTHSERV_ID: &str = "mx.example.org";

pub struct Fixture {
    /// The folder name: the kind the mail must be classified as.
    pub kind: String,
    pub eml: PathBuf,
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every `.eml` in the corpus, sorted so failures read in a stable order.
pub fn fixtures() -> Vec<Fixture> {
    let mut all = Vec::new();
    for kind_dir in std::fs::read_dir(fixtures_dir()).expect("fixtures folder exists") {
        let kind_dir = kind_dir.expect("readable entry").path();
        if !kind_dir.is_dir() {
            continue;
        }
        let kind = kind_dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("folder names are UTF-8")
            .to_string();
        for entry in std::fs::read_dir(&kind_dir).expect("readable folder") {
            let eml = entry.expect("readable entry").path();
            if eml.extension().is_some_and(|ext| ext == "eml") {
                all.push(Fixture {
                    kind: kind.clone(),
                    eml,
                });
            }
        }
    }
    all.sort_by(|a, b| a.eml.cmp(&b.eml));
    all
}

pub fn corpus_policy() -> MailPolicy {
    MailPolicy {
        trusted_authserv_ids: vec![CORPUS_AUTHSERV_ID.to_string()],
        ..MailPolicy::default()
    }
}

/// A process (a daemon under test) killed when the test ends, passed or failed: a failing test
/// must not leave a daemon holding the test runner's pipes open.
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A runtime for a test that drives patdesk's async parts from plain `#[test]` code.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// One number the database at `db` answers `sql` with, read on a read-only connection (a
/// WAL reader never waits for a daemon's commits); 0 while the database does not exist yet.
pub fn count(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.query_row(sql, [], |row| row.get(0)))
        .unwrap_or(0)
}

/// Mails stored in the database at `db`.
pub fn stored_mails(db: &Path) -> i64 {
    count(db, "SELECT COUNT(*) FROM messages")
}

/// Distinct Message-IDs among them: each mail once.
pub fn distinct_message_ids(db: &Path) -> i64 {
    count(db, "SELECT COUNT(DISTINCT message_id) FROM messages")
}

/// Property tests' configuration: `cases` from a seed the test prints (shown with a failure,
/// beside proptest's minimal failing input); `PATDESK_PROPTEST_SEED=N` replays a run.
pub fn replayable(cases: u32) -> proptest::test_runner::Config {
    let seed = std::env::var("PATDESK_PROPTEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let mut random = [0u8; 8];
            getrandom::getrandom(&mut random).expect("randomness");
            u64::from_le_bytes(random)
        });
    println!("property tests: seed {seed} (replay with PATDESK_PROPTEST_SEED={seed})");
    proptest::test_runner::Config {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..proptest::test_runner::Config::default()
    }
}
