//! The daemon's upkeep, on a database of its own: raw mail reduced after `store.keep_raw_days`,
//! the scheduled backups, and when the audit head is sent to the team.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use jiff::SignedDuration;
use patdesk::clock::ManualClock;
use patdesk::config::{ScheduledBackups, SendHead};
use patdesk::mail::header_section;
use patdesk::store::{AlertKind, ChainHead, Decision, EventKind, Reduced, Store, content_hash};
use patdesk::upkeep::{backup_if_due, reduce_old_mail, send_head_if_due};

use common::builders::RequestBuilder;

const YEAR: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A database whose clock the test moves: it starts on a Thursday in December 2026, whatever
/// the date of the run.
struct Database {
    dir: tempfile::TempDir,
    hand: ManualClock,
}

impl Database {
    fn new() -> Database {
        Database::starting_at("2026-12-03T08:00:00Z".parse().expect("time"))
    }

    fn starting_at(start: jiff::Timestamp) -> Database {
        let database = Database {
            dir: tempfile::TempDir::new().expect("temp dir"),
            hand: ManualClock::starting_at(start),
        };
        Store::open(&database.path(), &database.hand.clock()).expect("create");
        database
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("patdesk.db")
    }

    fn store(&self) -> Store {
        Store::open_existing(&self.path(), &self.hand.clock()).expect("open")
    }

    fn receive(&self, raw: &[u8], uid: u32, triage: Option<&str>) -> i64 {
        common::builders::receive(&mut self.store(), raw, uid, None, triage)
    }

    /// One column of message `id`.
    fn column<T: rusqlite::types::FromSql>(&self, id: i64, column: &str) -> T {
        self.store()
            .connection()
            .query_row(
                &format!("SELECT {column} FROM messages WHERE id = ?1"),
                [id],
                |row| row.get(0),
            )
            .expect("column")
    }
}

fn reply(n: usize) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: Re: your token {n}\r\n\
         Message-ID: <reply-{n}@example.org>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n\
         It reads the issues of acme-corp/api for the weekly report ({n}).\r\n\r\n{}\r\n",
        "Logs attached below.\r\n".repeat(200)
    )
    .into_bytes()
}

/// Three replies received at `t0`: two threaded, one waiting in triage.
struct Mailbox {
    database: Database,
    first: Vec<u8>,
    second: Vec<u8>,
    waiting: Vec<u8>,
    ids: [i64; 3],
    now: jiff::Timestamp,
}

impl Mailbox {
    fn new() -> Mailbox {
        let database = Database::new();
        let (first, second, waiting) = (reply(1), reply(2), reply(3));
        let ids = [
            database.receive(&first, 1, None),
            database.receive(&second, 2, None),
            database.receive(&waiting, 3, Some("not threaded")),
        ];
        let now = database.hand.now();
        Mailbox {
            database,
            first,
            second,
            waiting,
            ids,
            now,
        }
    }

    fn reduce(&self, keep: Option<std::time::Duration>, days_later: i64) -> Reduced {
        let at = self.now + SignedDuration::from_hours(24 * days_later);
        reduce_old_mail(&mut self.database.store(), keep, at).expect("reduce")
    }
}

#[test]
fn mail_younger_than_keep_raw_days_stays_whole() {
    let mailbox = Mailbox::new();
    assert_eq!(mailbox.reduce(Some(YEAR), 0).mails, 0);
}

#[test]
fn keep_raw_days_zero_keeps_every_mail_whole() {
    let mailbox = Mailbox::new();
    assert_eq!(mailbox.reduce(None, 400).mails, 0);
}

#[test]
fn old_mail_is_reduced_to_its_header_section_with_its_hash_kept() {
    let mailbox = Mailbox::new();
    let reduced = mailbox.reduce(Some(YEAR), 366);
    assert_eq!(reduced.mails, 2);
    let (first, second) = (&mailbox.first, &mailbox.second);
    assert_eq!(
        reduced.bytes_dropped,
        (first.len() - header_section(first).len() + second.len() - header_section(second).len())
            as u64
    );
    for (id, raw) in [(mailbox.ids[0], first), (mailbox.ids[1], second)] {
        let kept: Vec<u8> = mailbox.database.column(id, "raw");
        assert_eq!(kept, header_section(raw), "the header section is kept");
        let hash: String = mailbox.database.column(id, "sha256");
        assert_eq!(hash, content_hash(raw), "the whole mail's hash stays");
    }
}

#[test]
fn mail_waiting_in_triage_is_never_reduced() {
    let mailbox = Mailbox::new();
    mailbox.reduce(Some(YEAR), 366);
    let whole: Vec<u8> = mailbox.database.column(mailbox.ids[2], "raw");
    assert_eq!(whole, mailbox.waiting);
}

#[test]
fn what_patdesk_read_from_a_reduced_mail_stays() {
    let mailbox = Mailbox::new();
    let text_before: String = mailbox.database.column(mailbox.ids[0], "analysis");
    mailbox.reduce(Some(YEAR), 366);
    let text_after: String = mailbox.database.column(mailbox.ids[0], "analysis");
    assert_eq!(text_after, text_before);
    assert!(text_after.contains("weekly report"));
}

/// Recognised by its content if the same mail comes again, as after a UIDVALIDITY change.
#[test]
fn a_reduced_mail_is_still_recognised_when_it_comes_again() {
    let mailbox = Mailbox::new();
    mailbox.reduce(Some(YEAR), 366);
    let mut store = mailbox.database.store();
    let tx = store.transaction().expect("tx");
    assert!(
        tx.has_message(
            "INBOX",
            2,
            99,
            Some("reply-1@example.org"),
            &content_hash(&mailbox.first)
        )
        .expect("look")
    );
}

#[test]
fn reducing_mail_is_one_audit_event_naming_the_mails() {
    let mailbox = Mailbox::new();
    mailbox.reduce(Some(YEAR), 366);
    let store = mailbox.database.store();
    let event: String = store
        .connection()
        .query_row(
            "SELECT detail FROM events WHERE kind = 'mail_reduced'",
            [],
            |row| row.get(0),
        )
        .expect("one mail_reduced event");
    let event: serde_json::Value = serde_json::from_str(&event).expect("JSON");
    assert_eq!(
        event["ids"],
        serde_json::json!([mailbox.ids[0], mailbox.ids[1]]),
        "{event}"
    );
    assert!(store.audit(None).expect("audit").intact());
}

#[test]
fn each_mail_is_reduced_once_and_counted_as_reduced() {
    let mailbox = Mailbox::new();
    mailbox.reduce(Some(YEAR), 366);
    assert_eq!(mailbox.reduce(Some(YEAR), 366).mails, 0);
    let size = mailbox.database.store().database_size().expect("size");
    assert_eq!((size.whole_mails, size.reduced_mails), (1, 2));
    assert!(size.bytes > 0 && size.free_bytes <= size.bytes, "{size:?}");
}

/// Raw mail kept 30 days is reduced on the second it turns 30 days old, whatever the calendar
/// between: across a month's end, the new year, the leap day and Europe's summer-time changes.
#[test]
fn raw_mail_is_reduced_on_the_second_it_is_due_on_any_date() {
    const THIRTY_DAYS: Duration = Duration::from_secs(30 * 24 * 60 * 60);
    for date in common::dates::CALENDAR {
        let due: jiff::Timestamp = date.parse().expect("time");
        let database = Database::starting_at(due - SignedDuration::from_hours(30 * 24));
        database.receive(&reply(1), 1, None);
        let mut store = database.store();
        let second = SignedDuration::from_secs(1);
        let early = reduce_old_mail(&mut store, Some(THIRTY_DAYS), due - second).expect("reduce");
        assert_eq!(early.mails, 0, "{date}, a second early");
        let due_now = reduce_old_mail(&mut store, Some(THIRTY_DAYS), due + second).expect("reduce");
        assert_eq!(due_now.mails, 1, "{date}");
    }
}

/// A database with one request, its backups kept two at a time in a folder that also holds
/// a file of the admin's own.
struct Backups {
    database: Database,
    backups: ScheduledBackups,
    t0: jiff::Timestamp,
}

impl Backups {
    fn new() -> Backups {
        let database = Database::new();
        RequestBuilder::tidy().insert(&mut database.store());
        let dir = database.dir.path().join("backups");
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("patdesk-notes.txt"), "the admin's own file").expect("write");
        let t0 = database.hand.now();
        Backups {
            database,
            backups: ScheduledBackups { dir, keep: 2 },
            t0,
        }
    }

    /// The round `hours` after the first: the backup made, if one was due.
    fn at(&self, hours: i64) -> Result<Option<PathBuf>, patdesk::upkeep::UpkeepError> {
        self.database
            .hand
            .set(self.t0 + SignedDuration::from_hours(hours));
        backup_if_due(&self.database.store(), &self.backups)
    }
}

#[test]
fn the_first_backup_is_made_at_once_named_by_its_time() {
    let backups = Backups::new();
    let first = backups
        .at(0)
        .expect("backup")
        .expect("none there: one is due");
    assert_eq!(
        first.file_name().and_then(|name| name.to_str()),
        Some("patdesk-20261203T080000Z.db")
    );
}

#[test]
fn a_backup_is_private() {
    let backups = Backups::new();
    let first = backups.at(0).expect("backup").expect("due");
    let mode = std::fs::metadata(&first)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_backup_passes_the_audit_with_the_same_head() {
    let backups = Backups::new();
    let first = backups.at(0).expect("backup").expect("due");
    let copy =
        Store::open_existing(&first, &patdesk::clock::Clock::system()).expect("open the copy");
    assert!(copy.audit(None).expect("audit").intact());
    assert_eq!(
        copy.chain_head().expect("head"),
        backups.database.store().chain_head().expect("head")
    );
}

#[test]
fn backups_are_made_once_a_day() {
    let backups = Backups::new();
    backups.at(0).expect("backup").expect("due");
    assert_eq!(backups.at(1).expect("look"), None, "one a day");
    assert!(backups.at(25).expect("backup").is_some(), "a day later");
}

#[test]
fn the_newest_backups_are_kept_and_other_files_left_alone() {
    let backups = Backups::new();
    backups.at(0).expect("backup").expect("due");
    let second = backups.at(25).expect("backup").expect("a day later");
    let third = backups.at(50).expect("backup").expect("another day");
    let mut left: Vec<String> = std::fs::read_dir(&backups.backups.dir)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    left.sort();
    let name = |path: &PathBuf| {
        path.file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned()
    };
    assert_eq!(
        left,
        [name(&second), name(&third), "patdesk-notes.txt".to_string()],
        "the newest two kept, the oldest removed"
    );
}

/// A trail rewritten by hand: the copy fails its audit, is set aside, and does not count as
/// the day's backup, so the next round an hour later tries again.
#[test]
fn a_copy_that_fails_its_audit_is_set_aside_and_tried_again() {
    let backups = Backups::new();
    backups.at(0).expect("backup").expect("due");
    backups
        .database
        .store()
        .connection()
        .execute_batch(
            "DROP TRIGGER events_append_only_update;
             UPDATE events SET actor = 'mallory' WHERE seq = 1;",
        )
        .expect("tamper");
    for hours in [25, 26] {
        let failed = backups
            .at(hours)
            .expect_err("the copy does not pass the audit");
        let patdesk::upkeep::UpkeepError::BackupNotIntact { path } = failed else {
            panic!("{failed}");
        };
        assert!(
            path.to_string_lossy().ends_with(".db.not-intact"),
            "{}",
            path.display()
        );
        assert!(path.exists(), "kept for a look");
    }
}

/// A database with one request and the first head already sent, at `t0`.
struct Heads {
    _database: Database,
    store: Store,
    id: i64,
    t0: jiff::Timestamp,
    first: ChainHead,
}

impl Heads {
    fn new() -> Heads {
        let database = Database::new();
        let mut store = database.store();
        let id = RequestBuilder::tidy().insert(&mut store);
        let t0 = database.hand.now();
        let first = send_head_if_due(&mut store, SendHead::DailyAndDecisions, t0)
            .expect("send")
            .expect("the first is sent at once");
        Heads {
            _database: database,
            store,
            id,
            t0,
            first,
        }
    }

    fn at(&self, minutes: i64) -> jiff::Timestamp {
        self.t0 + SignedDuration::from_mins(minutes)
    }

    fn send(&mut self, when: SendHead, minutes: i64) -> Option<ChainHead> {
        let at = self.at(minutes);
        send_head_if_due(&mut self.store, when, at).expect("send")
    }

    fn decide(&mut self, decision: Decision, reason: &str) -> i64 {
        let id = self.id;
        self.store
            .write(|tx| tx.record_decision(id, "alice", decision, Some(reason), &[], None))
            .expect("decide");
        self.store.chain_head().expect("head").expect("events").seq
    }

    fn messages(&self) -> Vec<String> {
        self.store
            .alerts()
            .expect("alerts")
            .into_iter()
            .filter(|alert| alert.kind == AlertKind::AuditHead)
            .map(|alert| alert.message)
            .collect()
    }
}

#[test]
fn no_head_is_sent_when_sending_is_off() {
    let database = Database::new();
    let mut store = database.store();
    RequestBuilder::tidy().insert(&mut store);
    let now = database.hand.now();
    assert_eq!(
        send_head_if_due(&mut store, SendHead::Off, now).expect("off"),
        None
    );
}

#[test]
fn the_first_head_is_sent_at_once_and_names_the_chain_before_its_own_event() {
    let heads = Heads::new();
    let now_head = heads.store.chain_head().expect("head").expect("events");
    assert_eq!(heads.first.seq + 1, now_head.seq);
    assert!(heads.messages()[0].contains(&heads.first.to_string()));
}

#[test]
fn no_head_is_sent_when_nothing_was_decided_within_the_day() {
    let mut heads = Heads::new();
    assert_eq!(heads.send(SendHead::DailyAndDecisions, 1), None);
}

#[test]
fn a_head_is_sent_right_after_a_decision_saying_which() {
    let mut heads = Heads::new();
    let approved_seq = heads.decide(Decision::Approved, "one repository");
    let after = heads
        .send(SendHead::DailyAndDecisions, 2)
        .expect("after a decision");
    assert_eq!(after.seq, approved_seq, "the head right after the approval");
    let messages = heads.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let id = heads.id;
    assert!(
        messages[1].contains(&format!(
            "audit head {after} (after PAT-{id} approved by alice)"
        )) && messages[1].contains(&format!("patdesk audit verify --head {after}")),
        "{messages:?}"
    );
}

/// Daily only: a decision does not send one; a day does.
#[test]
fn a_daily_head_waits_for_the_day_whatever_is_decided() {
    let mut heads = Heads::new();
    heads.decide(Decision::Denied, "changed my mind");
    assert_eq!(heads.send(SendHead::Daily, 3), None);
    let daily = heads
        .send(SendHead::Daily, 24 * 60)
        .expect("a day after the last");
    assert!(heads.messages()[1].contains(&format!("audit head {daily} (daily)")));
}

/// A revocation of a token no request accounts for (`revoke --grant`) is a decision too.
#[test]
fn a_head_is_sent_after_a_token_no_request_accounts_for_is_revoked() {
    let mut heads = Heads::new();
    heads
        .store
        .write(|tx| {
            tx.append_event(
                "alice",
                None,
                EventKind::OutsideTokenRevoked,
                &serde_json::json!({ "org": "acme-corp", "grant_id": 4711 }),
            )
        })
        .expect("revoke");
    let revoked = heads
        .send(SendHead::DailyAndDecisions, 1)
        .expect("after the revocation");
    assert!(
        heads.messages()[1].contains(&format!(
            "audit head {revoked} (after a token no request accounts for revoked by alice)"
        )),
        "{:?}",
        heads.messages()
    );
}

/// Every head sent is still in the chain, which is what `audit verify --head` checks.
#[test]
fn every_head_sent_verifies_against_the_chain() {
    let mut heads = Heads::new();
    heads.decide(Decision::Approved, "one repository");
    let after = heads.send(SendHead::DailyAndDecisions, 2).expect("sent");
    let daily = heads.send(SendHead::Daily, 2 + 24 * 60).expect("sent");
    for head in [&heads.first, &after, &daily] {
        let verification = heads.store.verify_chain(Some(head)).expect("verify");
        assert!(
            verification.first_break.is_none(),
            "{head}: {verification:?}"
        );
    }
}
