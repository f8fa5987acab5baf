//! The audit log: append-only, chained, and checked — including by someone who edits the
//! database file directly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use patdesk::store::{EventKind, Store};
use serde_json::json;
use tempfile::TempDir;

use common::builders::RequestBuilder;

struct Desk {
    dir: TempDir,
}

impl Desk {
    fn new() -> Desk {
        let dir = TempDir::new().expect("temp dir");
        std::fs::write(
            dir.path().join("patdesk.toml"),
            format!(
                "[store]\npath = \"patdesk.db\"\n{}",
                common::users::team_and_control()
            ),
        )
        .expect("write config");
        Desk { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("patdesk.db")
    }

    fn store(&self) -> Store {
        Store::open(&self.db(), &patdesk::clock::Clock::system()).expect("open")
    }

    /// A history: three requests, each with a note.
    fn with_history(self) -> Desk {
        self.with_history_noted("looked at it")
    }

    fn with_history_noted(self, note: &str) -> Desk {
        let mut store = self.store();
        for github_id in 1..=3 {
            let id = RequestBuilder::tidy()
                .github_id(github_id)
                .insert(&mut store);
            let tx = store.transaction().expect("tx");
            tx.add_note(id, "alice", note).expect("note");
            tx.commit().expect("commit");
        }
        drop(store);
        self
    }

    /// Runs a command as root with the daemon down: what an auditor does with a copy of the
    /// database, or an admin after an incident.
    fn patdesk(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(args)
            .arg("--break-glass")
            .arg("--config")
            .arg(self.dir.path().join("patdesk.toml"))
            .output()
            .expect("runs")
    }

    /// Edits the file as an intruder would: plain SQL, triggers dropped first.
    fn tamper(&self, sql: &str) {
        let conn = rusqlite::Connection::open(self.db()).expect("open raw");
        conn.execute_batch(&format!(
            "DROP TRIGGER events_append_only_update; DROP TRIGGER events_append_only_delete; {sql}"
        ))
        .expect("tamper");
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn events_cannot_be_updated_or_deleted_through_sql() {
    let desk = Desk::new().with_history();
    let conn = rusqlite::Connection::open(desk.db()).expect("open raw");
    for sql in [
        "UPDATE events SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
    ] {
        let error = conn.execute(sql, []).expect_err("refused").to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
}

#[test]
fn verify_passes_on_an_honest_log() {
    let desk = Desk::new().with_history();
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("audit log intact: 6 event(s)"), "{text}");
}

/// `audit head` prints SEQ:HASH of the newest event.
fn printed_head(desk: &Desk) -> String {
    String::from_utf8_lossy(&desk.patdesk(&["audit", "head"]).stdout)
        .trim()
        .to_string()
}

#[test]
fn head_prints_the_newest_events_seq_and_hash() {
    let desk = Desk::new().with_history();
    let head = printed_head(&desk);
    let (seq, hash) = head.split_once(':').expect("SEQ:HASH");
    assert_eq!(seq, "6");
    assert_eq!(hash.len(), 64);
    let recorded = desk.store().chain_head().expect("head").expect("some");
    assert_eq!(recorded.hash, hash);
}

#[test]
fn verify_passes_against_the_head_it_printed() {
    let desk = Desk::new().with_history();
    let head = printed_head(&desk);
    let output = desk.patdesk(&["audit", "verify", "--head", &head]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn an_edited_event_is_named() {
    let desk = Desk::new().with_history();
    desk.tamper("UPDATE events SET detail = '{\"text\":\"nothing to see\"}' WHERE seq = 4");
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(6));
    let message = stderr(&output);
    assert!(message.contains("broken at event 4"), "{message}");
    assert!(message.contains("does not match its hash"), "{message}");
}

#[test]
fn a_deleted_event_is_found_by_the_gap_it_leaves() {
    let desk = Desk::new().with_history();
    desk.tamper("DELETE FROM events WHERE seq = 3");
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(6));
    assert!(
        stderr(&output).contains("broken at event 4"),
        "{}",
        stderr(&output)
    );

    // Renumbering to hide the gap breaks the links instead.
    let desk = Desk::new().with_history();
    desk.tamper("DELETE FROM events WHERE seq = 3; UPDATE events SET seq = seq - 1 WHERE seq > 3");
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(6));
    assert!(
        stderr(&output).contains("does not link"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_rewritten_log_is_caught_by_a_recorded_head() {
    let desk = Desk::new().with_history();
    let recorded = desk
        .store()
        .chain_head()
        .expect("head")
        .expect("some")
        .to_string();

    // The intruder builds a different, internally consistent history and swaps it in.
    let forged = Desk::new().with_history_noted("all fine");
    desk.tamper(&format!(
        "ATTACH DATABASE '{}' AS forged; DELETE FROM events; INSERT INTO events SELECT * FROM forged.events;",
        forged.db().display()
    ));

    // On its own the forged chain holds together…
    assert_eq!(desk.patdesk(&["audit", "verify"]).status.code(), Some(0));
    // …but not against the head recorded elsewhere.
    let output = desk.patdesk(&["audit", "verify", "--head", &recorded]);
    assert_eq!(output.status.code(), Some(6));
    assert!(stderr(&output).contains("rewritten"), "{}", stderr(&output));
}

#[test]
fn a_truncated_log_is_caught_by_a_recorded_head() {
    let desk = Desk::new().with_history();
    let recorded = desk
        .store()
        .chain_head()
        .expect("head")
        .expect("some")
        .to_string();
    desk.tamper("DELETE FROM events WHERE seq > 4");
    // The chain that is left holds together, but the third request's recording went with the
    // tail: its row is accounted for by no event.
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(6));
    assert!(
        stderr(&output).contains("PAT-3 is in_review, but its events say nothing"),
        "{}",
        stderr(&output)
    );
    let output = desk.patdesk(&["audit", "verify", "--head", &recorded]);
    assert_eq!(output.status.code(), Some(6));
    assert!(stderr(&output).contains("truncated"), "{}", stderr(&output));
    let bad = desk.patdesk(&["audit", "verify", "--head", "6:nothex"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_failed_transaction_leaves_no_event_behind() {
    let desk = Desk::new();
    let mut store = desk.store();
    let id = RequestBuilder::tidy().insert(&mut store);
    {
        let tx = store.transaction().expect("tx");
        tx.add_note(id, "alice", "written, then rolled back")
            .expect("note");
        // Dropped without commit.
    }
    assert_eq!(store.events_for(id).expect("events").len(), 1);
    assert!(
        store
            .verify_chain(None)
            .expect("verify")
            .first_break
            .is_none()
    );
}

#[test]
fn concurrent_writers_take_turns_and_the_chain_holds() {
    let desk = Desk::new();
    let id = RequestBuilder::tidy().insert(&mut desk.store());
    let writers: Vec<_> = ["alice", "bob", "carol"]
        .into_iter()
        .map(|who| {
            let db: PathBuf = desk.db();
            std::thread::spawn(move || {
                let mut store = Store::open(&db, &patdesk::clock::Clock::system()).expect("open");
                for n in 0..100 {
                    let tx = store.transaction().expect("tx");
                    tx.append_event(who, Some(id), EventKind::Note, &json!({ "n": n }))
                        .expect("append");
                    tx.commit().expect("commit");
                }
            })
        })
        .collect();
    // A reader meanwhile, as an engineer running `patdesk list` would.
    let reader_db = desk.db();
    let reader = std::thread::spawn(move || {
        let store =
            Store::open(Path::new(&reader_db), &patdesk::clock::Clock::system()).expect("open");
        for _ in 0..50 {
            store.events_for(1).expect("read while others write");
        }
    });
    for writer in writers {
        writer.join().expect("writer finished");
    }
    reader.join().expect("reader finished");

    let store = desk.store();
    let verification = store.verify_chain(None).expect("verify");
    assert_eq!(verification.events, 301);
    assert!(
        verification.first_break.is_none(),
        "{:?}",
        verification.first_break
    );
}

#[test]
fn events_appended_together_chain_onto_each_other_and_onto_other_writers() {
    let desk = Desk::new();
    let id = RequestBuilder::tidy().insert(&mut desk.store());
    let writers: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|who| {
            let db: PathBuf = desk.db();
            std::thread::spawn(move || {
                let mut store = Store::open(&db, &patdesk::clock::Clock::system()).expect("open");
                for n in 0..50 {
                    let tx = store.transaction().expect("tx");
                    let heads: Vec<_> = (0..3)
                        .map(|part| {
                            let detail = json!({ "n": n, "part": part });
                            tx.append_event(who, Some(id), EventKind::Note, &detail)
                                .expect("append")
                        })
                        .collect();
                    assert_eq!(heads[1].seq, heads[0].seq + 1);
                    assert_eq!(heads[2].seq, heads[1].seq + 1);
                    tx.commit().expect("commit");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("writer finished");
    }

    let store = desk.store();
    let verification = store.verify_chain(None).expect("verify");
    assert_eq!(verification.events, 1 + 2 * 50 * 3);
    assert!(
        verification.first_break.is_none(),
        "{:?}",
        verification.first_break
    );
}

#[test]
fn a_state_set_by_hand_is_named_by_verify() {
    let desk = Desk::new().with_history();
    rusqlite::Connection::open(desk.db())
        .expect("open raw")
        .execute("UPDATE requests SET state = 'approved' WHERE id = 2", [])
        .expect("edit");
    let output = desk.patdesk(&["audit", "verify", "--json"]);
    assert_eq!(output.status.code(), Some(6));
    let audit: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert!(audit["first_break"].is_null(), "the chain itself is intact");
    assert_eq!(audit["mismatches"][0]["request"], 2, "{audit}");
    assert!(
        stderr(&output).contains("PAT-2 is approved, but its events say in_review"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_push_inserted_by_hand_is_named_by_verify() {
    let desk = Desk::new().with_history();
    rusqlite::Connection::open(desk.db())
        .expect("open raw")
        .execute(
            "INSERT INTO github_pushes (request_id, action, idempotency_key, state, created_at, updated_at)
             VALUES (1, 'approve', 'forged', 'queued', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')",
            [],
        )
        .expect("insert");
    let output = desk.patdesk(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(6));
    assert!(
        stderr(&output).contains("(approve PAT-1) was queued by no event"),
        "{}",
        stderr(&output)
    );
}

/// An engineer who is not root verifies through the daemon, as themselves.
#[test]
fn a_member_verifies_through_the_daemon() {
    let desk = Desk::new().with_history();
    let config = desk.dir.path().join("patdesk.toml");
    let _daemon = common::control::Daemon::start(&config);
    let output = common::control::patdesk_as(common::users::BOB, &config, &["audit", "verify"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("audit log intact: 6 event(s)"));
    let head = common::control::patdesk_as(common::users::BOB, &config, &["audit", "head"]);
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).trim(),
        desk.store()
            .chain_head()
            .expect("head")
            .expect("some")
            .to_string()
    );
    // A stranger's account reads nothing.
    let stranger = common::control::patdesk_as(common::users::MALLORY, &config, &["audit", "head"]);
    assert_eq!(stranger.status.code(), Some(5), "{}", stderr(&stranger));
    // With the daemon running, root's break-glass is refused: one writer at a time.
    let glass = desk.patdesk(&["note", "1", "x"]);
    assert_eq!(glass.status.code(), Some(5), "{}", stderr(&glass));
    assert!(
        stderr(&glass).contains("already running"),
        "{}",
        stderr(&glass)
    );
}

/// With a key, every event carries a MAC: events from before the key are history, an event
/// appended without the key after a keyed one breaks the chain there, and so does one whose MAC
/// was made with another key. Without the key, only the hashes are checked (and said so).
#[test]
fn events_written_without_the_key_break_the_keyed_chain() {
    use patdesk::store::ChainKey;
    let desk = Desk::new();
    let key = ChainKey::from_signing_key(b"the signing key");
    let note = |store: &mut Store, text: &str| {
        store
            .write(|tx| tx.append_event("alice", None, EventKind::Note, &json!({ "text": text })))
            .expect("append")
            .seq
    };
    note(&mut desk.store(), "before the key");
    let mut keyed = desk.store().keyed(Some(key.clone()));
    let first_keyed = note(&mut keyed, "the first with a MAC");
    note(&mut keyed, "the second");
    let verified = keyed.verify_chain(None).expect("verify");
    assert_eq!(verified.first_break, None, "{verified:?}");
    assert_eq!(verified.keyed_from, Some(first_keyed));
    assert!(verified.macs_checked);

    let forged = note(&mut desk.store(), "appended by a writer without the key");
    let broken = keyed.verify_chain(None).expect("verify");
    let at = broken.first_break.expect("the forged event is found");
    assert_eq!(at.seq, forged);
    assert!(
        at.problem.contains("written without patdesk's key"),
        "{at:?}"
    );
    // Hashes alone cannot tell: without the key the chain holds.
    let unkeyed = desk.store().verify_chain(None).expect("verify");
    assert_eq!(unkeyed.first_break, None);
    assert!(!unkeyed.macs_checked);

    let other = Desk::new();
    note(
        &mut other
            .store()
            .keyed(Some(ChainKey::from_signing_key(b"another key"))),
        "made with another key",
    );
    let checked = other
        .store()
        .keyed(Some(key))
        .verify_chain(None)
        .expect("verify");
    assert!(
        checked
            .first_break
            .is_some_and(|at| at.problem.contains("MAC does not hold")),
        "another key's MAC was taken"
    );
}
