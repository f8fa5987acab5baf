//! The engineers' commands against a database filled by the tests' builders: what they print,
//! what they record, what they refuse, and the exit codes.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use patdesk::mail::{MailPolicy, analyze};
use patdesk::request::{PurposeSource, RequestState};
use patdesk::store::{EventKind, PushState, Store};
use serde_json::Value;
use tempfile::TempDir;

use common::builders::RequestBuilder;
use common::control::{Daemon, os_user_of, patdesk_as};
use common::users::{ALICE, os_user, team_and_control};

/// A config and a database in a temporary folder, as an engineer's machine has them, and the
/// daemon serving them once a command runs.
struct Desk {
    dir: TempDir,
    config: PathBuf,
    daemon: std::cell::OnceCell<Daemon>,
}

impl Desk {
    fn new() -> Desk {
        let dir = TempDir::new().expect("temp dir");
        let config = dir.path().join("patdesk.toml");
        std::fs::write(
            &config,
            format!("[store]\npath = \"patdesk.db\"\n{}", team_and_control()),
        )
        .expect("write config");
        Desk {
            dir,
            config,
            daemon: std::cell::OnceCell::new(),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("patdesk.db")
    }

    fn store(&self) -> Store {
        Store::open(&self.db(), &patdesk::clock::Clock::system()).expect("open store")
    }

    fn insert(&self, builder: RequestBuilder) -> i64 {
        builder.insert(&mut self.store())
    }

    /// Stores `raw` as intake would have read it from INBOX at `uid`: tied to `request`, or
    /// waiting in triage with its note.
    fn receive(&self, raw: &[u8], uid: u32, request: Option<i64>, triage: Option<&str>) {
        common::builders::receive(&mut self.store(), raw, uid, request, triage);
    }

    /// Runs a command as the team member `login` (or, for any other name, as a stranger).
    fn run_as(&self, login: &str, args: &[&str]) -> Output {
        self.daemon.get_or_init(|| Daemon::start(&self.config));
        patdesk_as(os_user_of(login), &self.config, args)
    }

    /// Runs a command that must succeed and returns its standard output.
    fn ok_as(&self, login: &str, args: &[&str]) -> String {
        let output = self.run_as(login, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "patdesk {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_as("alice", args)
    }

    fn json_as(&self, login: &str, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok_as(login, &args)).expect("JSON output")
    }

    fn json(&self, args: &[&str]) -> Value {
        self.json_as("alice", args)
    }

    /// Runs a command that must fail with `code`; returns its error message.
    fn fails_as(&self, login: &str, args: &[&str], code: i32) -> String {
        let output = self.run_as(login, args);
        assert_eq!(
            output.status.code(),
            Some(code),
            "patdesk {args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stderr).expect("UTF-8")
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        self.fails_as("alice", args, code)
    }

    fn state_of(&self, id: i64) -> RequestState {
        self.store().request(id).expect("request").state
    }

    fn event_kinds(&self, id: i64) -> Vec<String> {
        self.store()
            .events_for(id)
            .expect("events")
            .into_iter()
            .map(|event| event.kind.to_string())
            .collect()
    }
}

#[test]
fn a_new_database_is_its_owners_alone() {
    let desk = Desk::new();
    drop(desk.store());
    let mode = std::fs::metadata(desk.db())
        .expect("db exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn a_new_database_has_the_latest_schema_with_pages_that_hold_several_mails() {
    let desk = Desk::new();
    let store = desk.store();
    let version: i64 = store
        .connection()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("version");
    assert_eq!(version, 20);
    let page_size: i64 = store
        .connection()
        .pragma_query_value(None, "page_size", |row| row.get(0))
        .expect("page size");
    assert_eq!(page_size, 16 * 1024);
}

/// A database deleted under the daemon is not recreated empty by the next command (an empty
/// audit log would verify as intact): commands say it is missing.
#[test]
fn a_deleted_database_is_refused_not_recreated() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    assert!(desk.ok(&["list"]).contains("PAT-1"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", desk.db().display()));
    }
    for args in [vec!["list"], vec!["audit", "verify"], vec!["show", "PAT-1"]] {
        let error = desk.fails(&args, 1);
        assert!(
            error.contains("does not exist") && error.contains("only `patdesk run` creates one"),
            "patdesk {args:?}: {error}"
        );
    }
    assert!(!desk.db().exists(), "no empty database made in its place");
}

/// A store that had its file removed or replaced under it writes nothing more (it would write
/// on into the deleted file, or beside the new one), and the running daemon's `status` fails
/// once its database is replaced.
#[test]
fn a_database_removed_or_replaced_under_the_daemon_stops_its_writes() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    assert!(desk.ok(&["status"]).contains("running"));
    let mut held = desk.store();
    let other = Desk::new();
    other.insert(RequestBuilder::tidy());
    drop(other.store());
    // Replaced: another database copied into its place.
    let replacement = desk.dir.path().join("replacement.db");
    std::fs::copy(other.db(), &replacement).expect("copy");
    std::fs::rename(&replacement, desk.db()).expect("replace");
    let error = held
        .write(|tx| tx.add_note(id, "alice", "after the file was replaced"))
        .expect_err("a write into the replaced database");
    assert!(error.to_string().contains("removed or replaced"), "{error}");
    let status = desk.run_as("alice", &["status"]);
    assert_eq!(status.status.code(), Some(7), "{status:?}");
    assert!(
        String::from_utf8_lossy(&status.stderr).contains("was replaced since the daemon started"),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // Removed.
    std::fs::remove_file(desk.db()).expect("remove");
    let error = held
        .write(|tx| tx.add_note(id, "alice", "after the file was removed"))
        .expect_err("a write into the removed database");
    assert!(error.to_string().contains("removed or replaced"), "{error}");
}

#[test]
fn a_database_from_a_newer_patdesk_is_refused() {
    let desk = Desk::new();
    let store = desk.store();
    store
        .connection()
        .pragma_update(None, "user_version", 99)
        .expect("set");
    drop(store);
    let error = Store::open(&desk.db(), &patdesk::clock::Clock::system())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        error.contains("schema version 99") && error.contains("upgrade patdesk"),
        "{error}"
    );
}

#[test]
fn list_filters_by_state_org_owner_risk_and_date() {
    let desk = Desk::new();
    let tidy = desk.insert(RequestBuilder::tidy().github_id(1));
    let risky = desk.insert(
        RequestBuilder::tidy()
            .github_id(2)
            .org("other-org")
            .owner("dave", None)
            .permission("repository", "workflows", "write")
            .state(RequestState::AwaitingPurpose)
            .requested("2026-11-20T08:00:00Z"),
    );

    let all = desk.json(&["list"]);
    let ids: Vec<i64> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, vec![risky, tidy], "newest first");

    let ids_for = |args: &[&str]| -> Vec<i64> {
        let mut full = vec!["list"];
        full.extend_from_slice(args);
        desk.json(&full)
            .as_array()
            .expect("array")
            .iter()
            .map(|r| r["id"].as_i64().expect("id"))
            .collect()
    };
    assert_eq!(ids_for(&["--state", "awaiting_purpose"]), vec![risky]);
    assert_eq!(ids_for(&["--org", "acme-corp"]), vec![tidy]);
    assert_eq!(ids_for(&["--owner", "dave"]), vec![risky]);
    assert_eq!(
        ids_for(&["--owner", "DAVE"]),
        vec![risky],
        "logins are case-insensitive, as at GitHub"
    );
    let plan: String = desk
        .store()
        .connection()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT id FROM requests WHERE owner_login = ?1 COLLATE NOCASE",
            ["DAVE"],
            |row| row.get(3),
        )
        .expect("plan");
    assert!(
        plan.contains("requests_owner"),
        "served by the index: {plan}"
    );
    assert_eq!(ids_for(&["--risk", "critical"]), vec![risky]);
    assert_eq!(ids_for(&["--risk", "low"]), vec![tidy]);
    // Sorted, the other way round, and paged.
    assert_eq!(
        ids_for(&["--sort", "risk"]),
        vec![risky, tidy],
        "critical first"
    );
    assert_eq!(ids_for(&["--sort", "risk", "--reverse"]), vec![tidy, risky]);
    assert_eq!(ids_for(&["--reverse"]), vec![tidy, risky], "oldest first");
    assert_eq!(ids_for(&["--limit", "1", "--offset", "1"]), vec![tidy]);
    assert_eq!(ids_for(&["--offset", "1"]), vec![tidy]);
    assert_eq!(ids_for(&["--since", "2026-11-10"]), vec![risky]);
    assert_eq!(
        ids_for(&["--since", "2026-11-02T09:30:00Z"]),
        vec![risky, tidy]
    );
    assert_eq!(ids_for(&["--limit", "1"]), vec![risky]);

    let table = desk.ok(&["list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&format!("PAT-{risky}")) && table.contains("awaiting_purpose"),
        "{table}"
    );
    assert!(
        desk.ok(&["list", "--state", "denied"])
            .contains("no requests match")
    );
}

#[test]
fn list_arguments_say_what_is_accepted() {
    let desk = Desk::new();
    let message = desk.fails(&["list", "--state", "pending"], 2);
    assert!(
        message.contains("awaiting_purpose") && message.contains("in_review"),
        "{message}"
    );
    let message = desk.fails(&["list", "--risk", "huge"], 2);
    assert!(message.contains("critical"), "{message}");
    let message = desk.fails(&["list", "--since", "last tuesday"], 2);
    assert!(message.contains("YYYY-MM-DD"), "{message}");
}

#[test]
fn show_gives_the_record_findings_conversation_and_events() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy().all_repositories().no_expiry());
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/human/gmail-top-posted-wrapped-attribution.eml"),
    )
    .expect("fixture");
    desk.receive(&raw, 1, Some(id), None);

    let text = desk.ok(&["show", &format!("PAT-{id}")]);
    for expected in [
        "issue-reader weekly report",
        "carol <carol@example.org>",
        "all repositories of acme-corp",
        "no_expiry",
        "to meet the policy: Set an expiry",
        "The token lets our nightly CI job read issues",
        "request_recorded",
        "mail_recorded",
    ] {
        assert!(text.contains(expected), "show lacks {expected:?}:\n{text}");
    }

    let json = desk.json(&["show", &id.to_string()]);
    assert_eq!(json["request"]["id"], id);
    assert_eq!(json["request"]["state"], "in_review");
    assert_eq!(json["messages"][0]["kind"], "human");
    assert_eq!(json["events"].as_array().expect("events").len(), 2);
    let recorded = &json["events"][1];
    assert_eq!(recorded["kind"], "mail_recorded");
    assert_eq!(recorded["detail"]["kind"], "human");
    assert_eq!(recorded["detail"]["message"], json["messages"][0]["id"]);
    assert!(recorded["detail"]["sha256"].is_string(), "{recorded}");
}

#[test]
fn an_unknown_or_malformed_id_is_a_clear_error() {
    let desk = Desk::new();
    let message = desk.fails(&["show", "PAT-404"], 4);
    assert!(message.contains("no request 404"), "{message}");
    let message = desk.fails(&["show", "abc"], 2);
    assert!(message.contains("PAT-12"), "{message}");
    let message = desk.fails_as("alice", &["approve", "404"], 4);
    assert!(message.contains("no request 404"), "{message}");
}

/// A tidy request alice approved through the daemon, and what `approve --json` answered.
fn approved_by_alice() -> (Desk, i64, serde_json::Value) {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    let json = desk.json_as(
        "alice",
        &["approve", &id.to_string(), "--reason", "scoped well"],
    );
    (desk, id, json)
}

#[test]
fn approve_records_the_decision_with_its_reason() {
    let (desk, id, json) = approved_by_alice();
    assert_eq!(json["state"], "approved");
    let record = desk.store().request(id).expect("request");
    assert_eq!(record.state, RequestState::Approved);
    assert_eq!(record.decided_by.as_deref(), Some("alice"));
    assert_eq!(record.decision_reason.as_deref(), Some("scoped well"));
}

/// The event says who, as the kernel told the daemon: login, OS user, uid, how.
#[test]
fn the_approval_event_names_the_member_as_the_kernel_knows_them() {
    let (desk, id, _) = approved_by_alice();
    let approved = desk
        .store()
        .events_for(id)
        .expect("events")
        .into_iter()
        .find(|event| event.kind == EventKind::Approved)
        .expect("approved event");
    let alice = os_user(ALICE);
    assert_eq!(approved.actor, "alice");
    assert_eq!(
        approved.detail["member"],
        serde_json::json!({ "login": "alice", "os_user": alice.name, "uid": alice.uid,
                            "authenticated_by": "peer_credentials" })
    );
}

#[test]
fn approve_queues_the_approval_for_github() {
    let (desk, id, json) = approved_by_alice();
    assert!(json["github_push"].is_i64(), "{json}");
    let pushes = desk.store().pushes_for(id).expect("pushes");
    assert_eq!(
        (pushes.len(), pushes[0].action.as_str(), pushes[0].state),
        (1, "approve", PushState::Queued)
    );
}

#[test]
fn approve_queues_the_requesters_mail() {
    let (desk, id, json) = approved_by_alice();
    assert!(json["mail"].is_i64(), "{json}");
    let outbox = desk.store().outbox_for(id).expect("outbox");
    assert_eq!(
        (outbox[0].kind.as_str(), outbox[0].recipient.as_str()),
        ("approval", "carol@example.org")
    );
}

#[test]
fn an_approval_is_recorded_then_queued_in_one_trail() {
    let (desk, id, _) = approved_by_alice();
    assert_eq!(
        desk.event_kinds(id),
        vec![
            "request_recorded",
            "approved",
            "github_push_queued",
            "mail_queued"
        ]
    );
}

#[test]
fn approval_is_refused_with_the_reason() {
    let desk = Desk::new();
    let waiting = desk.insert(
        RequestBuilder::tidy()
            .github_id(1)
            .purpose(None)
            .state(RequestState::AwaitingPurpose),
    );
    let message = desk.fails_as("alice", &["approve", &waiting.to_string()], 5);
    assert!(message.contains("purpose is not known yet"), "{message}");

    // GitHub ignores case in logins: bob owns BOB's and Bob's tokens.
    for (github_id, spelling) in [(2, "bob"), (4, "BOB"), (5, "Bob")] {
        let own = desk.insert(
            RequestBuilder::tidy()
                .github_id(github_id)
                .owner(spelling, None),
        );
        let message = desk.fails_as("bob", &["approve", &own.to_string()], 5);
        assert!(message.contains("owns this token"), "{spelling}: {message}");
        assert_eq!(desk.state_of(own), RequestState::InReview);
    }

    let open = desk.insert(RequestBuilder::tidy().github_id(3));
    let message = desk.fails_as("mallory", &["approve", &open.to_string()], 5);
    assert!(message.contains("not a member of the team"), "{message}");
    // Who the members are is not the stranger's business.
    assert!(
        !message.contains("alice") && !message.contains("bob"),
        "{message}"
    );

    desk.ok_as("alice", &["approve", &open.to_string()]);
    let message = desk.fails_as("bob", &["approve", &open.to_string()], 5);
    assert!(message.contains("already approved"), "{message}");

    // Nothing refused left a trace.
    assert_eq!(desk.state_of(waiting), RequestState::AwaitingPurpose);
    assert_eq!(desk.event_kinds(waiting), vec!["request_recorded"]);
    assert_eq!(desk.store().pushes_for(open).expect("pushes").len(), 1);
}

#[test]
fn deny_needs_a_reason_that_is_not_blank() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy().state(RequestState::AwaitingPurpose));
    let message = desk.fails_as("alice", &["deny", &id.to_string()], 2);
    assert!(message.contains("--reason"), "{message}");
    let message = desk.fails_as("alice", &["deny", &id.to_string(), "--reason", "  "], 2);
    assert!(message.contains("must not be empty"), "{message}");
    assert_eq!(desk.state_of(id), RequestState::AwaitingPurpose);
}

#[test]
fn a_denial_tells_the_requester_the_reason_and_what_would_meet_the_policy() {
    let desk = Desk::new();
    let id = desk.insert(
        RequestBuilder::tidy()
            .all_repositories()
            .state(RequestState::AwaitingPurpose),
    );
    desk.ok_as(
        "alice",
        &[
            "deny",
            &id.to_string(),
            "--reason",
            "Too broad for a report",
        ],
    );
    assert_eq!(desk.state_of(id), RequestState::Denied);
    let payload: Value = {
        let store = desk.store();
        store
            .connection()
            .query_row(
                "SELECT payload FROM outbox WHERE request_id = ?1",
                [id],
                |row| row.get::<_, String>(0),
            )
            .map(|text| serde_json::from_str(&text).expect("JSON"))
            .expect("queued mail")
    };
    assert_eq!(payload["reason"], "Too broad for a report");
    let steps = payload["steps"].as_array().expect("steps");
    assert!(
        steps.iter().any(|step| step
            .as_str()
            .is_some_and(|s| s.contains("Select only the repositories"))),
        "{steps:?}"
    );
}

#[test]
fn a_requester_without_an_address_is_not_mailed() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy().owner("erin", None));
    let json = desk.json_as("bob", &["approve", &id.to_string()]);
    assert!(json["mail"].is_null(), "{json}");
    assert!(desk.store().outbox_for(id).expect("outbox").is_empty());
}

#[test]
fn the_log_says_when_a_requester_could_not_be_told() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy().owner("erin", None));
    desk.json_as("bob", &["approve", &id.to_string()]);
    assert!(
        desk.event_kinds(id)
            .contains(&"requester_not_told".to_string())
    );
}

/// `--reason` is words, as approve's and deny's; the runbook's case is `--category`.
#[test]
fn revoke_asks_for_the_category_apart_from_the_reason() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    desk.ok_as("alice", &["approve", &id.to_string()]);
    let message = desk.fails_as(
        "bob",
        &["revoke", &id.to_string(), "--reason", "no-longer-required"],
        2,
    );
    assert!(message.contains("--category"), "{message}");
    assert_eq!(desk.state_of(id), RequestState::Approved);
}

#[test]
fn revoke_only_approved_tokens_with_a_listed_reason() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    let message = desk.fails_as(
        "alice",
        &["revoke", &id.to_string(), "--category", "expired"],
        5,
    );
    assert!(message.contains("only an approved token"), "{message}");
    desk.ok_as("alice", &["approve", &id.to_string()]);

    let message = desk.fails_as(
        "alice",
        &["revoke", &id.to_string(), "--category", "bored"],
        2,
    );
    assert!(
        message.contains("no-longer-required") && message.contains("compromised"),
        "{message}"
    );

    desk.ok_as(
        "bob",
        &[
            "revoke",
            &id.to_string(),
            "--category",
            "compromised",
            "--reason",
            "leaked in a log",
        ],
    );
    let record = desk.store().request(id).expect("request");
    assert_eq!(record.state, RequestState::Revoked);
    assert_eq!(record.revoke_reason.as_deref(), Some("compromised"));
    assert_eq!(record.revoke_note.as_deref(), Some("leaked in a log"));
    let actions: Vec<String> = desk
        .store()
        .pushes_for(id)
        .expect("pushes")
        .into_iter()
        .map(|p| p.action.to_string())
        .collect();
    assert_eq!(actions, vec!["approve", "revoke"]);
}

#[test]
fn a_high_risk_approval_needs_a_reason() {
    let desk = Desk::new();
    let risky = desk.insert(RequestBuilder::tidy().all_repositories().no_expiry());
    let risk = desk.store().request(risky).expect("request").risk;
    assert!(
        risk >= patdesk::review::Risk::High,
        "the fixture is risky: {risk:?}"
    );
    let refused = desk.fails(&["approve", &risky.to_string()], 2);
    assert!(
        refused.contains("needs --reason") && refused.contains("review.approval_reason_from"),
        "{refused}"
    );
    assert_eq!(
        desk.state_of(risky),
        RequestState::InReview,
        "nothing recorded"
    );
    desk.ok(&[
        "approve",
        &risky.to_string(),
        "--reason",
        "the release bot, reviewed by bob",
    ]);
    assert_eq!(desk.state_of(risky), RequestState::Approved);
    // A low-risk one needs none.
    let tidy = desk.insert(RequestBuilder::tidy().github_id(2));
    desk.ok(&["approve", &tidy.to_string()]);
}

#[test]
fn a_note_changes_nothing_but_the_log() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy().state(RequestState::Denied));
    let said = desk.ok_as(
        "bob",
        &[
            "note",
            &id.to_string(),
            "Asked on Slack; they will come back",
        ],
    );
    assert_eq!(
        said.trim(),
        format!("Note added to PAT-{id} (by bob); it is denied."),
        "the note is what is confirmed, not a decision"
    );
    assert_eq!(desk.state_of(id), RequestState::Denied);
    let events = desk.store().events_for(id).expect("events");
    let note = events.last().expect("note event");
    assert_eq!((note.kind.as_str(), note.actor.as_str()), ("note", "bob"));
    assert_eq!(note.detail["text"], "Asked on Slack; they will come back");
}

fn awaiting_purpose(desk: &Desk) -> i64 {
    desk.insert(
        RequestBuilder::tidy()
            .purpose(None)
            .state(RequestState::AwaitingPurpose),
    )
}

/// One the review would call too short is not taken.
#[test]
fn a_purpose_too_short_for_the_review_is_refused() {
    let desk = Desk::new();
    let id = awaiting_purpose(&desk);
    let short = desk.fails_as("alice", &["purpose", &id.to_string(), "for CI"], 2);
    assert!(
        short.contains("at least 20") && short.contains("review.min_purpose_chars"),
        "{short}"
    );
    assert_eq!(desk.state_of(id), RequestState::AwaitingPurpose);
}

#[test]
fn a_purpose_given_another_way_moves_the_request_into_review() {
    let desk = Desk::new();
    let id = awaiting_purpose(&desk);
    desk.ok_as(
        "alice",
        &[
            "purpose",
            &format!("pat-{id}"),
            "Reads issues of acme-corp/api for the weekly report",
        ],
    );
    let after = desk.store().request(id).expect("request");
    assert_eq!(after.state, RequestState::InReview);
    assert_eq!(
        after.purpose_source.and_then(|source| source.known()),
        Some(PurposeSource::Engineer)
    );
    let event = desk
        .store()
        .events_for(id)
        .expect("events")
        .pop()
        .expect("event");
    assert_eq!(event.kind, EventKind::PurposeRecorded);
    assert_eq!(event.detail["from"], "awaiting_purpose");
    // Now it can be approved.
    desk.ok_as("bob", &["approve", &id.to_string()]);
}

#[test]
fn a_purpose_given_another_way_clears_the_missing_purpose_finding() {
    let desk = Desk::new();
    let id = awaiting_purpose(&desk);
    let missing = |desk: &Desk| {
        desk.store()
            .request(id)
            .expect("request")
            .findings
            .iter()
            .any(|finding| finding.code == "purpose_missing")
    };
    assert!(missing(&desk));
    desk.ok_as(
        "alice",
        &[
            "purpose",
            &id.to_string(),
            "Reads issues of acme-corp/api for the weekly report",
        ],
    );
    assert!(!missing(&desk));
}

/// The purpose column of `export --format json`'s only row, and where it came from.
fn exported_purpose(desk: &Desk) -> (Value, Value) {
    let sheet = desk.json(&["export", "--format", "json"]);
    let row = &sheet[0];
    (row["purpose"].clone(), row["purpose_from"].clone())
}

/// `show`'s purpose line.
fn shown_purpose(desk: &Desk, id: i64) -> String {
    desk.ok(&["show", &id.to_string()])
        .lines()
        .find(|line| line.trim_start().starts_with("purpose"))
        .expect("a purpose line")
        .to_string()
}

/// A request whose reason on GitHub is too short to count as its purpose.
fn with_a_short_github_reason() -> (Desk, i64) {
    let desk = Desk::new();
    let id = desk.insert(
        RequestBuilder::tidy()
            .purpose(None)
            .github_reason(Some("for CI"))
            .state(RequestState::AwaitingPurpose),
    );
    (desk, id)
}

/// Both give GitHub's reason, as no purpose yet.
#[test]
fn show_and_export_give_githubs_reason_as_no_purpose_yet() {
    let (desk, id) = with_a_short_github_reason();
    let from = "GitHub's reason, not taken as the purpose";
    assert!(
        shown_purpose(&desk, id).ends_with(&format!("for CI (from {from})")),
        "{}",
        shown_purpose(&desk, id)
    );
    assert_eq!(
        exported_purpose(&desk),
        (Value::from("for CI"), Value::from(from))
    );
}

#[test]
fn show_and_export_say_a_team_member_gave_the_purpose() {
    let (desk, id) = with_a_short_github_reason();
    let purpose = "Reads issues of acme-corp/api for the weekly report";
    desk.ok_as("alice", &["purpose", &id.to_string(), purpose]);
    assert!(
        shown_purpose(&desk, id).ends_with(&format!("{purpose} (from a team member)")),
        "{}",
        shown_purpose(&desk, id)
    );
    assert_eq!(
        exported_purpose(&desk),
        (Value::from(purpose), Value::from("a team member"))
    );
}

/// A folder alice may write in, holding `sheet.csv` with the words `precious`.
fn alices_folder_with_a_file() -> (TempDir, std::path::PathBuf) {
    let mine = TempDir::new().expect("temp dir");
    std::os::unix::fs::chown(mine.path(), Some(os_user(ALICE).uid), None).expect("chown");
    let out = mine.path().join("sheet.csv");
    std::fs::write(&out, "precious").expect("write");
    std::os::unix::fs::chown(&out, Some(os_user(ALICE).uid), None).expect("chown");
    (mine, out)
}

/// A mistyped `--out` once replaced the daemon's config with a CSV.
#[test]
fn export_never_overwrites_a_file() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    let (_mine, out) = alices_folder_with_a_file();
    let message = desk.fails(&["export", "--out", out.to_str().expect("path")], 1);
    assert!(
        message.contains("exists") && message.contains("--force"),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(&out).expect("file"), "precious");
}

#[test]
fn export_force_replaces_a_file() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    let (_mine, out) = alices_folder_with_a_file();
    desk.ok(&["export", "--force", "--out", out.to_str().expect("path")]);
    let sheet = std::fs::read_to_string(&out).expect("sheet");
    assert!(
        !sheet.contains("precious") && sheet.contains("token_name"),
        "{sheet}"
    );
}

/// The sheet holds every decision: it is its owner's alone, as the database is.
#[test]
fn an_exported_sheet_is_its_owners_alone() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    let mine = TempDir::new().expect("temp dir");
    std::os::unix::fs::chown(mine.path(), Some(os_user(ALICE).uid), None).expect("chown");
    let out = mine.path().join("sheet.csv");
    desk.ok(&["export", "--out", out.to_str().expect("path")]);
    let mode = std::fs::metadata(&out).expect("sheet").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn export_writes_the_records_sheet_safe_for_spreadsheets() {
    let desk = Desk::new();
    let formula = desk.insert(
        RequestBuilder::tidy()
            .github_id(1)
            .token_name(Some("=HYPERLINK(\"http://evil.example\",\"click\")"))
            .purpose(Some("Reads issues, \"quoted\", and\nmore lines")),
    );
    let plain = desk.insert(
        RequestBuilder::tidy()
            .github_id(2)
            .token_name(Some("@mention-bot")),
    );
    desk.ok_as("alice", &["approve", &plain.to_string()]);

    // The engineer writes the sheet as themselves, where they may write.
    let mine = TempDir::new().expect("temp dir");
    std::os::unix::fs::chown(mine.path(), Some(os_user(ALICE).uid), None).expect("chown");
    let out = mine.path().join("sheet.csv");
    desk.ok(&["export", "--out", out.to_str().expect("path")]);
    assert_eq!(
        std::fs::metadata(&out).expect("sheet").uid(),
        os_user(ALICE).uid,
        "the sheet is the engineer's file, not the daemon's"
    );
    let bytes = std::fs::read(&out).expect("sheet");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("UTF-8 byte-order mark for spreadsheets");
    assert!(text.contains("\r\n"), "RFC 4180 line ends");

    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    for column in [
        "token_name",
        "purpose",
        "scope_of_access",
        "permissions",
        "date_of_creation",
        "owner",
        "risks",
        "approver",
        "status",
        "decided_at",
        "revoked_at",
        "revoked_why",
        "event_hash",
    ] {
        assert!(
            headers.iter().any(|header| header == column),
            "no column {column}"
        );
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("row")).collect();
    assert_eq!(rows.len(), 2);
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .expect("column")
    };
    assert_eq!(
        &rows[0][column("token_name")],
        "'=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(
        &rows[0][column("purpose")],
        "Reads issues, \"quoted\", and\nmore lines"
    );
    assert_eq!(&rows[1][column("token_name")], "'@mention-bot");
    assert_eq!(&rows[1][column("status")], "approved");
    assert_eq!(&rows[1][column("approver")], "alice");
    assert_eq!(&rows[1][column("revoked_by")], "", "not revoked");

    // The hash on each row is the newest event of that request in the audit log.
    let store = desk.store();
    for (row, id) in rows.iter().zip([formula, plain]) {
        let newest = store.events_for(id).expect("events").pop().expect("event");
        assert_eq!(&row[column("event_hash")], newest.hash.as_str());
    }

    let json = desk.ok(&["export", "--format", "json"]);
    assert_eq!(json.lines().count(), 1, "compact, as every command's JSON");
    let sheet: Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(sheet[1]["status"], "approved");
    assert_eq!(
        sheet[0]["token_name"], "=HYPERLINK(\"http://evil.example\",\"click\")",
        "JSON is data, not a spreadsheet"
    );
    // Typed: numbers as numbers, nothing as null, several findings as a list.
    assert_eq!(sheet[0]["id"], formula, "{}", sheet[0]);
    assert!(sheet[0]["event_seq"].is_i64(), "{}", sheet[0]);
    assert!(sheet[0]["revoked_at"].is_null(), "{}", sheet[0]);
    assert!(sheet[0]["risks"].is_array(), "{}", sheet[0]);
}

/// Reads come a page at a time from the daemon: a sheet, a list and the triage longer than a
/// page are whole and in order, a list's own limit and offset still hold, and a raw
/// `events_after` asking for four billion events gets a page.
#[test]
fn reads_longer_than_a_page_come_whole_and_no_answer_is_larger_than_a_page() {
    use patdesk::control::protocol::{PAGE_ROWS, VERSION};
    use std::io::{BufRead, BufReader, Write};
    let desk = Desk::new();
    let total = PAGE_ROWS as usize * 2 + 3;
    {
        let mut store = desk.store();
        let tx = store.transaction().expect("tx");
        for n in 0..total {
            let request = RequestBuilder::tidy()
                .github_id(n as i64 + 1)
                .token_name(Some(&format!("token-{n}")))
                .build();
            tx.insert_request("system", &request).expect("insert");
        }
        tx.commit().expect("commit");
    }
    let raw = b"From: Stranger <x@example.net>\r\nSubject: hello\r\n\r\nWho are you?\r\n";
    for uid in 1..=(PAGE_ROWS + 2) {
        desk.receive(raw, uid, None, Some("matches no request"));
    }

    let sheet = desk.json(&["export"]);
    let ids: Vec<i64> = sheet
        .as_array()
        .expect("array")
        .iter()
        .map(|row| row["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, (1..=total as i64).collect::<Vec<_>>());
    let csv = desk.ok(&["export"]);
    assert_eq!(csv.lines().count(), total + 1, "a header and every request");

    let listed = desk.json(&["list", "--sort", "id"]);
    assert_eq!(listed.as_array().expect("array").len(), total);
    let table = desk.ok(&["list"]);
    assert_eq!(
        table.lines().count(),
        total + 1,
        "a header and every request"
    );
    let limited = desk.json(&["list", "--limit", "700", "--offset", "2"]);
    assert_eq!(limited.as_array().expect("array").len(), 700);
    // Page after page, each row once and in order, however the next page is asked for.
    let ids = |listed: &serde_json::Value| -> Vec<i64> {
        listed
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|row| row["id"].as_i64())
            .collect()
    };
    let newest_first = ids(&listed);
    let mut expected = newest_first.clone();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.dedup();
    assert_eq!(newest_first, expected);
    assert_eq!(ids(&limited), newest_first[2..702]);
    let mut oldest_first = ids(&desk.json(&["list", "--reverse"]));
    oldest_first.reverse();
    assert_eq!(oldest_first, newest_first);
    assert_eq!(
        desk.json(&["triage"]).as_array().expect("array").len(),
        PAGE_ROWS as usize + 2
    );
    // Mail from outside can tie any number of mails to a request: `show` gives the newest.
    use patdesk::control::reads::SHOWN_PER_REQUEST;
    let tied = b"From: Someone <s@example.net>\r\nSubject: Re: [PAT-7]\r\n\r\nAgain.\r\n";
    for uid in 0..(SHOWN_PER_REQUEST + 3) {
        desk.receive(tied, 10_000 + uid, Some(7), Some("an unverified answer"));
    }
    let shown = desk.json(&["show", "7"]);
    assert_eq!(
        shown["messages"].as_array().map(Vec::len),
        Some(SHOWN_PER_REQUEST as usize)
    );
    assert_eq!(shown["earlier_messages"], 3);
    assert!(
        desk.ok(&["show", "7"])
            .contains("3 earlier mail(s) tied to it not shown"),
        "show names what it left out"
    );

    let mut stream = std::os::unix::net::UnixStream::connect(desk.dir.path().join("control.sock"))
        .expect("connect");
    stream
        .write_all(
            format!("{{\"version\":{VERSION},\"command\":\"events_after\",\"seq\":0,\"limit\":4294967295}}\n")
                .as_bytes(),
        )
        .expect("send");
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .expect("answer");
    let answer: Value = serde_json::from_str(&answer).expect("JSON");
    assert_eq!(
        answer["answer"].as_array().map(Vec::len),
        Some(PAGE_ROWS as usize),
        "{}",
        &answer.to_string()[..200.min(answer.to_string().len())]
    );
}

/// root's break-glass, even a read, leaves the lock file to the database's owner (the
/// service's user), who must open it again when the daemon starts.
#[test]
fn break_glass_leaves_the_lock_file_to_the_databases_owner() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    let service = os_user(ALICE);
    std::os::unix::fs::chown(desk.db(), Some(service.uid), Some(service.gid)).expect("chown");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["list", "--break-glass", "--config"])
        .arg(&desk.config)
        .env_remove("PATDESK_CONFIG")
        .output()
        .expect("patdesk runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lock = patdesk::daemon::lock_path(&desk.db());
    let metadata = std::fs::metadata(&lock).expect("the lock file");
    assert_eq!(
        (metadata.uid(), metadata.gid()),
        (service.uid, service.gid),
        "root left its own lock file"
    );
}

#[test]
fn triage_lists_only_mail_a_person_must_look_at() {
    let desk = Desk::new();
    let raw = b"From: Stranger <x@example.net>\r\nSubject: hello\r\n\r\nWho are you?\r\n";
    desk.receive(raw, 1, None, Some("matches no request"));
    desk.receive(raw, 2, None, None);
    let json = desk.json(&["triage"]);
    let listed = json.as_array().expect("array");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["triage_note"], "matches no request");
    assert!(desk.ok(&["triage"]).contains("x@example.net"));
    assert!(Desk::new().ok(&["triage"]).contains("nothing to triage"));
}

/// The triage table fits the terminal: its long columns (the subject, why the mail waits)
/// give way with an ellipsis, the short ones stay whole, and `--json` has every word.
#[test]
fn the_triage_table_fits_an_80_column_terminal() {
    let desk = Desk::new();
    let subject =
        "Re: [acme-corp] A fine-grained personal access token wants access to your organisation";
    let raw = format!(
        "From: Someone From Far Outside <someone.from.far.outside@example.net>\r\nSubject: {subject}\r\n\r\nHello?\r\n"
    );
    let why = "the sender is not the requester of any open request and no request is named, so nothing was changed";
    desk.receive(raw.as_bytes(), 1, None, Some(why));
    desk.ok(&["status"]);
    let output =
        common::control::patdesk_as_in(os_user_of("alice"), &desk.config, &["triage"], Some(80));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{table}");
    for line in table.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} > 80: {line}\n{table}",
            line.chars().count()
        );
    }
    assert!(table.contains('…'), "{table}");
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|row| row.starts_with("1  ")),
        "{table}"
    );
    let json = desk.json(&["triage"]);
    assert_eq!(json[0]["subject"], subject);
    assert_eq!(json[0]["triage_note"], why);
}

/// A caller's own config cannot make them a member or point the daemon elsewhere: the daemon
/// decides by its own config, whatever file the command read.
#[test]
fn a_second_config_file_changes_nothing() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    desk.ok(&["show", &id.to_string()]);
    let other = desk.dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!(
            "[store]\npath = \"elsewhere.db\"\n[team.members]\nmallory = {{ unix = \"{}\" }}\n\
             [control]\nsocket = \"control.sock\"\n",
            common::users::MALLORY
        ),
    )
    .expect("config");
    let output = patdesk_as(
        common::users::MALLORY,
        &other,
        &["approve", &id.to_string()],
    );
    assert_eq!(output.status.code(), Some(5), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a member of the team"));
    assert_eq!(desk.state_of(id), RequestState::InReview);
    assert!(!desk.dir.path().join("elsewhere.db").exists());
}

/// Replacing an address patdesk has redirects the conversation: it takes --replace, is
/// recorded with both addresses and alerts the team, and queued mail follows the new one.
#[test]
fn contact_replaces_an_address_only_when_told_and_says_so() {
    let desk = Desk::new();
    let id = desk.insert(
        RequestBuilder::tidy()
            .purpose(None)
            .state(RequestState::AwaitingPurpose),
    );
    {
        let mut store = desk.store();
        let tx = store.transaction().expect("tx");
        let question = patdesk::mail::Outgoing::Question(patdesk::mail::TokenQuestion {
            request: id,
            ..Default::default()
        });
        tx.enqueue_mail(
            "carol@example.org",
            &question,
            &format!("pat-{id}:question"),
        )
        .expect("queue");
        tx.commit().expect("commit");
    }
    let message = desk.fails(
        &[
            "contact",
            &id.to_string(),
            "--email",
            "mallory@evil.example",
        ],
        5,
    );
    assert!(
        message.contains("already has the address carol@example.org")
            && message.contains("--replace"),
        "{message}"
    );
    assert_eq!(
        desk.store()
            .request(id)
            .expect("request")
            .owner_email
            .as_deref(),
        Some("carol@example.org")
    );
    desk.ok(&[
        "contact",
        &id.to_string(),
        "--email",
        "carol.new@example.org",
        "--replace",
    ]);
    let store = desk.store();
    assert_eq!(
        store.request(id).expect("request").owner_email.as_deref(),
        Some("carol.new@example.org")
    );
    let event = store
        .events_for(id)
        .expect("events")
        .into_iter()
        .find(|event| event.kind == "address_recorded")
        .expect("recorded");
    assert_eq!(event.actor, "alice");
    assert_eq!(event.detail["previous"], "carol@example.org");
    assert_eq!(event.detail["email"], "carol.new@example.org");
    assert!(store.alerts().expect("alerts").iter().any(|alert| {
        alert.kind == "address_replaced"
            && alert
                .message
                .contains("carol@example.org -> carol.new@example.org")
    }));
    let outbox = store.outbox_for(id).expect("outbox");
    assert_eq!(outbox[0].recipient, "carol.new@example.org");
}

/// The socket answers a malformed request or another protocol version with a clear error and
/// changes nothing.
#[test]
fn the_socket_refuses_what_is_not_a_request_of_its_version() {
    use patdesk::control::protocol::VERSION;
    use std::io::{BufRead, BufReader, Write};
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    desk.ok(&["show", &id.to_string()]);
    let ask = |line: &str| -> Value {
        let mut stream =
            std::os::unix::net::UnixStream::connect(desk.dir.path().join("control.sock"))
                .expect("connect");
        stream.write_all(line.as_bytes()).expect("send");
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .expect("answer");
        serde_json::from_str(&answer).expect("a JSON answer")
    };
    let other = ask(&format!(
        "{{\"version\":99,\"command\":\"approve\",\"id\":{id}}}\n"
    ));
    assert_eq!(other["error"], "version", "{other}");
    assert!(
        other["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("version {VERSION}")),
        "{other}"
    );
    let garbage = ask("approve everything\n");
    assert_eq!(garbage["error"], "invalid", "{garbage}");
    let unknown = ask(&format!(
        "{{\"version\":{VERSION},\"command\":\"drop_tables\"}}\n"
    ));
    assert_eq!(unknown["error"], "invalid", "{unknown}");
    // root (this test) may read but not decide.
    let approve = ask(&format!(
        "{{\"version\":{VERSION},\"command\":\"approve\",\"id\":{id}}}\n"
    ));
    assert_eq!(approve["error"], "refused", "{approve}");
    assert_eq!(desk.state_of(id), RequestState::InReview);
    assert_eq!(desk.event_kinds(id), vec!["request_recorded"]);
}

/// What a stranger writes reaches the terminal as text: escape sequences, a CR/LF that would
/// print a fake field, and bidi overrides are shown written out, through every command that
/// prints outside text.
#[test]
fn outside_text_cannot_act_on_the_terminal() {
    let desk = Desk::new();
    let id = desk.insert(
        RequestBuilder::tidy()
            .token_name(Some("ci\r\nrisk            low"))
            .github_reason(Some("nightly \u{202e}gnirts\u{202c} job")),
    );
    let raw = "From: Stranger <x@example.net>\r\nSubject: =?UTF-8?B?\
               SGkbXTA7b3duZWQHG1sySg==?=\r\n\r\nOur answer.\u{1b}[8m hidden\r\n"
        .as_bytes();
    desk.receive(raw, 1, Some(id), None);
    desk.receive(raw, 2, None, Some("matches no request"));
    let analysis = analyze(raw, &MailPolicy::default());
    assert!(
        analysis
            .subject
            .as_deref()
            .is_some_and(|s| s.contains('\u{1b}')),
        "the fixture's Subject carries an escape: {:?}",
        analysis.subject
    );
    let acting = |c: char| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    // What servers said: an IMAP error in the health table, an SMTP answer on a queued mail.
    let store = desk.store();
    store.report_health(
        patdesk::store::Part::Imap,
        Some("NO [ALERT] \u{1b}[2J\r\nimap_idle          ok"),
    );
    store
        .connection()
        .execute(
            "INSERT INTO outbox (request_id, kind, idempotency_key, recipient, state, attempts,
                last_error, created_at, updated_at)
             VALUES (?1, 'question', 'escapes', 'dave@example.org', 'queued', 1,
                '451 \u{1b}]0;owned\u{7} try later', '2026-12-03T08:00:00.000Z',
                '2026-12-03T08:00:00.000Z')",
            [id],
        )
        .expect("a queued mail with the server's answer");
    drop(store);
    let show_id = format!("PAT-{id}");
    for (args, visible) in [
        (vec!["list"], "ci\\r\\nrisk"),
        (vec!["show", &show_id], "\\x1b[8m hidden"),
        (vec!["triage"], "Hi\\x1b]0;owned\\x07"),
        (vec!["outbox", "list"], "451 \\x1b]0;owned\\x07 try later"),
    ] {
        let text = desk.ok(&args);
        assert!(
            !text.chars().any(acting),
            "patdesk {args:?} printed a control character:\n{text:?}"
        );
        assert!(
            text.contains(visible),
            "patdesk {args:?} shows {visible}:\n{text}"
        );
    }
    // `status` exits 7 while a part fails; what it prints is what counts here.
    let status = desk.run_as("alice", &["status"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(
        !status.chars().any(acting),
        "status printed a control character:\n{status:?}"
    );
    assert!(
        status.contains("NO [ALERT] \\x1b[2J\\r\\nimap_idle"),
        "{status}"
    );
    assert!(
        !status.lines().any(|line| line.starts_with("imap_idle")),
        "no forged part:\n{status}"
    );
    let show = desk.ok(&["show", &format!("PAT-{id}")]);
    assert!(show.contains("ci\\r\\nrisk"), "{show}");
    assert!(show.contains("\\u{202e}gnirts"), "{show}");
    assert_eq!(
        show.lines().filter(|line| line.starts_with("risk")).count(),
        1,
        "one risk field, not a forged second:\n{show}"
    );
}

/// `patdesk backup` copies the database while the daemon serves it; the copy passes the audit
/// with the last decision in it, is private, and is never written over.
/// `patdesk backup --out OUT`, run by root.
fn backed_up(desk: &Desk, out: &Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["backup", "--out"])
        .arg(out)
        .arg("--config")
        .arg(&desk.config)
        .output()
        .expect("patdesk runs")
}

#[test]
fn a_backup_is_a_private_copy_that_passes_the_audit_at_the_same_head() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    desk.json(&["approve", &id.to_string(), "--reason", "scoped well"]);
    let head = desk.ok(&["audit", "head"]).trim().to_string();
    let out = desk.dir.path().join("patdesk-copy.db");
    let made = backed_up(&desk, &out);
    let said = String::from_utf8_lossy(&made.stdout);
    assert_eq!(
        made.status.code(),
        Some(0),
        "{said} {}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        said.contains(&format!("head {head}")) && said.contains("intact"),
        "{said}"
    );
    let mode = std::fs::metadata(&out)
        .expect("the copy")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let copy =
        Store::open_existing(&out, &patdesk::clock::Clock::system()).expect("the copy opens");
    let audit = copy.audit(None).expect("audit");
    assert!(audit.intact(), "{audit:?}");
    assert_eq!(audit.chain.head.map(|h| h.to_string()), Some(head));
    assert_eq!(
        copy.request(id).expect("request").state,
        RequestState::Approved
    );
}

#[test]
fn a_backup_never_overwrites_a_file() {
    let desk = Desk::new();
    desk.insert(RequestBuilder::tidy());
    let out = desk.dir.path().join("patdesk-copy.db");
    assert_eq!(backed_up(&desk, &out).status.code(), Some(0));
    let again = backed_up(&desk, &out);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(
        Store::open_existing(&out, &patdesk::clock::Clock::system())
            .expect("still there")
            .audit(None)
            .expect("audit")
            .intact()
    );
}

/// `show` tells the conversation in the order it happened: the question, then the answer.
#[test]
fn show_lists_the_conversation_in_time_order() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    desk.store()
        .connection()
        .execute(
            "INSERT INTO outbox (request_id, kind, idempotency_key, recipient, state, attempts,
                created_at, updated_at)
             VALUES (?1, 'question', 'order', 'dave@example.org', 'sent', 1,
                '2026-12-01T10:00:00.000Z', '2026-12-01T10:00:00.000Z')",
            [id],
        )
        .expect("the question, sent two days ago");
    let reply =
        b"From: Dave <dave@example.org>\r\nSubject: Re: your token\r\n\r\nIt reads issues.\r\n";
    desk.receive(reply, 1, Some(id), None);
    let show = desk.ok(&["show", &id.to_string()]);
    let question = show
        .find("out question to dave@example.org")
        .expect("the question");
    let answer = show
        .find("in human from dave@example.org")
        .expect("the answer");
    assert!(question < answer, "the question comes first:\n{show}");
}

/// Tables say "3 h ago"; `--utc` gives the exact time.
#[test]
fn list_shows_times_relative_or_exact_in_utc() {
    let desk = Desk::new();
    let three_hours_ago =
        patdesk::clock::Clock::system().now() - jiff::SignedDuration::from_mins(3 * 60 + 5);
    let exact = three_hours_ago.to_string();
    desk.insert(RequestBuilder::tidy().requested(&exact));
    let readable = desk.ok(&["list"]);
    assert!(readable.contains("3 h ago"), "{readable}");
    let utc = desk.ok(&["list", "--utc"]);
    let date = &exact[..10];
    assert!(utc.contains(date) && !utc.contains(" ago"), "{utc}");
}

/// `patdesk watch` prints each new event as it happens, and only new ones.
#[test]
fn watch_prints_new_events_as_they_happen() {
    use std::io::BufRead;
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    // The daemon up, and something older than the watch.
    desk.ok(&["note", &id.to_string(), "Before the watch"]);
    let mut watch = common::KillOnDrop(
        common::users::command_as(os_user(ALICE), common::users::patdesk_binary())
            .args(["watch", "--json", "--config"])
            .arg(&desk.config)
            .env_remove("PATDESK_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("patdesk watch"),
    );
    let lines = std::io::BufReader::new(watch.stdout.take().expect("stdout")).lines();
    // The watch says on standard error which event it starts after: it has taken the head.
    let mut said = String::new();
    std::io::BufReader::new(watch.stderr.take().expect("stderr"))
        .read_line(&mut said)
        .expect("the watch's first line");
    assert!(
        said.starts_with("patdesk: watching the audit log after event "),
        "{said}"
    );
    desk.ok_as("bob", &["note", &id.to_string(), "While watching"]);
    let (found, rest) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if found.send(line).is_err() {
                break;
            }
        }
    });
    let line = rest
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("an event within seconds");
    let event: Value = serde_json::from_str(&line).expect("one JSON object a line");
    assert_eq!(event["kind"], "note", "{event}");
    assert_eq!(event["actor"], "bob", "{event}");
    assert_eq!(
        event["detail"]["text"], "While watching",
        "only what came after: {event}"
    );
    let _ = watch.kill();
}

/// A typo in the config file does not lock the team out of the daemon running on the config
/// it loaded: commands warn with the file's problems and go on through the socket, `status`
/// says the file changed since the daemon loaded it; what acts without the daemon refuses.
#[test]
fn a_broken_config_file_leaves_the_daemon_reachable() {
    let desk = Desk::new();
    let id = desk.insert(RequestBuilder::tidy());
    let before = desk.ok(&["status"]);
    assert!(before.contains("config"), "{before}");
    assert!(!before.contains("CHANGED"), "{before}");
    let good = std::fs::read_to_string(&desk.config).expect("config");
    // Valid TOML with a wrong value, and then not TOML at all: the socket is found in both.
    for broken in [
        format!("{good}[intervals]\nstatus_seconds = \"often\"\n"),
        format!("[mailbox\n{good}"),
    ] {
        std::fs::write(&desk.config, &broken).expect("the typo");
        let status = desk.run_as("alice", &["status"]);
        let stderr = String::from_utf8_lossy(&status.stderr);
        let stdout = String::from_utf8_lossy(&status.stdout);
        assert_eq!(status.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stderr.contains("warning"), "{stderr}");
        assert!(stderr.contains("check-config"), "{stderr}");
        assert!(stdout.contains("the file has CHANGED since"), "{stdout}");
        assert!(desk.ok(&["list"]).contains(&format!("PAT-{id}")));
        desk.ok(&["note", &id.to_string(), "still reachable"]);
    }
    let backup = desk.dir.path().join("copy.db");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["backup", "--out"])
        .arg(&backup)
        .arg("--config")
        .arg(&desk.config)
        .env_remove("PATDESK_CONFIG")
        .output()
        .expect("patdesk runs");
    assert_eq!(refused.status.code(), Some(3), "{refused:?}");
    assert!(!backup.exists());
    std::fs::write(&desk.config, good).expect("put back");
    assert!(!desk.ok(&["status"]).contains("CHANGED"));
}
