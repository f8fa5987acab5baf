//! Time-bound grants (`approve --until`): the owner is told a day ahead, the grant is revoked
//! at its end in the name of the member who set it, and that revocation (and only a
//! revocation) reaches GitHub even once the member has left. The clock is moved, never waited
//! for.

use super::common;

use jiff::{SignedDuration, Timestamp};
use patdesk::clock::ManualClock;
use patdesk::decide::{self, DecideError};
use patdesk::grants::{GrantRound, end_due};
use patdesk::lifecycle::{Authentication, Member};
use patdesk::mail::Outgoing;
use patdesk::request::RequestState;
use patdesk::review::ReviewPolicy;
use patdesk::store::{OutboxMail, Store};
use patdesk::sync::push_decisions;
use serde_json::json;

use common::builders::{RequestBuilder, requested_at};
use common::dates::days_from_start;
use common::github_desk::{Desk, alerts_of, org_with, reads, runtime};

fn member(login: &str, uid: u32) -> Member {
    Member {
        login: login.to_string(),
        os_user: format!("pd-{login}"),
        uid,
        authenticated_by: Authentication::PeerCredentials,
        slack: None,
    }
}

/// A fresh database on a clock standing when the builders' requests were made.
fn store_at_request_time() -> (tempfile::TempDir, ManualClock, Store) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let clock = ManualClock::starting_at(requested_at());
    let store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    (dir, clock, store)
}

fn hours(hours: i64) -> SignedDuration {
    SignedDuration::from_hours(hours)
}

fn mails_of(store: &Store, id: i64, kind: &str) -> Vec<OutboxMail> {
    store
        .outbox_for(id)
        .expect("outbox")
        .into_iter()
        .filter(|mail| mail.kind.as_str() == kind)
        .collect()
}

#[test]
fn a_grant_for_a_time_is_told_a_day_ahead_and_revoked_at_its_end() {
    let (_dir, clock, mut store) = store_at_request_time();
    let id = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let until = requested_at() + hours(72);
    let done = decide::approve(
        &mut store,
        &member("alice", 4241),
        id,
        Some("for the quarter's report"),
        Some(until),
        &ReviewPolicy::default(),
    )
    .expect("approve");
    assert_eq!(
        (done.state, done.until),
        (RequestState::Approved, Some(until))
    );
    assert_eq!(store.request(id).expect("request").grant_until, Some(until));
    // The approval mail says until when, and the approval's event records it.
    let approval = mails_of(&store, id, "approval");
    assert_eq!(approval.len(), 1);
    match approval[0].letter().expect("letter") {
        Outgoing::Approval(mail) => {
            assert_eq!(mail.until.as_deref(), Some("2026-11-05T09:30:00.000Z"))
        }
        other => panic!("{other:?}"),
    }
    let events = store.events_for(id).expect("events");
    let approved = events
        .iter()
        .find(|e| e.kind == "approved")
        .expect("approved");
    assert_eq!(approved.detail["until"], "2026-11-05T09:30:00.000Z");

    let at = |offset: SignedDuration| until + offset;
    let round = |store: &mut Store, now: Timestamp| {
        clock.set(now);
        end_due(store, now).expect("round")
    };
    assert_eq!(round(&mut store, at(hours(-25))), GrantRound::default());
    // A day ahead: the owner is told, once.
    assert_eq!(
        round(&mut store, at(hours(-24))),
        GrantRound {
            notices: 1,
            revoked: 0
        }
    );
    assert_eq!(round(&mut store, at(hours(-2))), GrantRound::default());
    let notices = mails_of(&store, id, "grant_ending");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].recipient, "carol@example.org");
    match notices[0].letter().expect("letter") {
        Outgoing::GrantEnding(mail) => assert_eq!(mail.until, "2026-11-05T09:30:00.000Z"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        round(&mut store, at(SignedDuration::from_secs(-1))),
        GrantRound::default()
    );
    // At its end: revoked in alice's name, by the grant's end, with the GitHub call and the
    // requester's mail queued.
    assert_eq!(
        round(&mut store, at(SignedDuration::ZERO)),
        GrantRound {
            notices: 0,
            revoked: 1
        }
    );
    let record = store.request(id).expect("request");
    assert_eq!(record.state, RequestState::Revoked);
    assert_eq!(record.revoked_by.as_deref(), Some("alice"));
    assert_eq!(record.revoke_reason.as_deref(), Some("expired"));
    assert!(
        record
            .revoke_note
            .as_deref()
            .is_some_and(|note| note.contains("until 2026-11-05T09:30:00.000Z")),
        "{:?}",
        record.revoke_note
    );
    let pushes = store.pushes_for(id).expect("pushes");
    assert_eq!(
        pushes.iter().map(|p| p.action.as_str()).collect::<Vec<_>>(),
        ["approve", "revoke"]
    );
    assert_eq!(mails_of(&store, id, "revocation").len(), 1);
    let events = store.events_for(id).expect("events");
    let revoked = events
        .iter()
        .find(|e| e.kind == "revoked")
        .expect("revoked");
    assert_eq!(revoked.detail["member"]["authenticated_by"], "grant_end");
    assert_eq!(revoked.detail["member"]["login"], "alice");
    // Done once: later rounds leave it alone.
    assert_eq!(round(&mut store, at(hours(1))), GrantRound::default());
    assert!(
        store
            .verify_chain(None)
            .expect("verify")
            .first_break
            .is_none()
    );
}

#[test]
fn a_grant_approved_less_than_a_day_before_its_end_gets_no_separate_notice() {
    let (_dir, _clock, mut store) = store_at_request_time();
    let id = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let until = requested_at() + hours(6);
    decide::approve(
        &mut store,
        &member("alice", 4241),
        id,
        None,
        Some(until),
        &ReviewPolicy::default(),
    )
    .expect("approve");
    assert_eq!(
        end_due(&mut store, requested_at() + hours(1)).expect("round"),
        GrantRound::default()
    );
    assert!(mails_of(&store, id, "grant_ending").is_empty());
    assert_eq!(end_due(&mut store, until).expect("round").revoked, 1);
}

#[test]
fn an_end_must_lie_ahead_and_not_beyond_the_tokens_own_expiry() {
    let (_dir, _clock, mut store) = store_at_request_time();
    let id = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let expires = store
        .request(id)
        .expect("request")
        .request
        .token_expires_at
        .expect("expiry");
    let policy = ReviewPolicy::default();
    let mut approve = |until: Timestamp| {
        decide::approve(
            &mut store,
            &member("alice", 4241),
            id,
            None,
            Some(until),
            &policy,
        )
    };
    let past = approve(requested_at() - hours(1)).expect_err("in the past");
    assert!(
        matches!(past, DecideError::Invalid(ref why) if why.contains("not in the future")),
        "{past}"
    );
    let beyond = approve(expires + hours(1)).expect_err("beyond the token's expiry");
    assert!(
        beyond.to_string().contains("token itself expires at"),
        "{beyond}"
    );
    assert_eq!(
        store.request(id).expect("request").state,
        RequestState::InReview
    );
    // Up to the token's own expiry is fine.
    let mut approve = |until: Timestamp| {
        decide::approve(
            &mut store,
            &member("alice", 4241),
            id,
            None,
            Some(until),
            &policy,
        )
    };
    assert_eq!(approve(expires).expect("approve").until, Some(expires));
}

#[test]
fn with_two_approvals_the_earliest_end_stands() {
    let (_dir, _clock, mut store) = store_at_request_time();
    let id = RequestBuilder::tidy()
        .github_id(1)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let policy = ReviewPolicy::default();
    let reason = Some("branch protection from the release job");
    let first = decide::approve(
        &mut store,
        &member("alice", 4241),
        id,
        reason,
        Some(requested_at() + hours(10)),
        &policy,
    )
    .expect("alice");
    assert_eq!(first.state, RequestState::InReview);
    let second = decide::approve(
        &mut store,
        &member("bob", 4242),
        id,
        reason,
        Some(requested_at() + hours(48)),
        &policy,
    )
    .expect("bob");
    assert_eq!(second.state, RequestState::Approved);
    assert_eq!(second.until, Some(requested_at() + hours(10)));
}

#[test]
fn the_revocation_at_a_grants_end_reaches_github_after_its_approver_left_and_nothing_else_does() {
    let requests = [reads(1, "carol"), reads(2, "dave")];
    let (standin, desk) = Desk::synced(
        org_with(&requests, "acme-corp"),
        json!({ "carol": "carol@example.org" }),
        "",
    );
    let carol = desk.record_by_github_id(1);
    let dave = desk.record_by_github_id(2);
    let until: Timestamp = days_from_start(3).parse().expect("time");
    let policy = ReviewPolicy::default();
    let mut store = desk.store();
    decide::approve(
        &mut store,
        &member("alice", 4241),
        carol.id,
        Some("the report"),
        Some(until),
        &policy,
    )
    .expect("approve");
    let team = desk.config().team;
    let client = desk.client();
    let report = runtime()
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!(report.done, 1, "{report}");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    assert!(desk.record_by_github_id(1).grant_id.is_some());

    // A forged approval in the name of a grant's end is refused.
    let forger = Member {
        authenticated_by: Authentication::GrantEnd,
        ..member("alice", 4241)
    };
    decide::approve(
        &mut store,
        &forger,
        dave.id,
        Some("the report"),
        None,
        &policy,
    )
    .expect("recorded");
    // alice leaves; the grant's time is up.
    let mut without_alice = team.clone();
    without_alice.members.retain(|m| m.login != "alice");
    assert_eq!(end_due(&mut store, until).expect("round").revoked, 1);
    let report = runtime()
        .block_on(push_decisions(&client, &mut store, &without_alice))
        .expect("push");
    assert_eq!((report.done, report.refused), (1, 1), "{report}");
    let calls = standin.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[1]["action"], "revoke");
    let refused = alerts_of(&store, "github_push_refused");
    assert!(
        refused
            .iter()
            .any(|a| a.contains("the end of a grant may only revoke it")),
        "{refused:?}"
    );
}

#[test]
fn the_cli_approves_until_a_date_and_list_and_show_say_so() {
    let requests = [reads(1, "carol"), reads(2, "dave")];
    // Alerts rounds every half second: a grant's end is found soon after it.
    let (standin, desk) = Desk::synced(
        org_with(&requests, "acme-corp"),
        json!({}),
        "[intervals]\nalerts_seconds = 0.5\n",
    );
    let id = desk.record_by_github_id(1).id.to_string();
    let text = |output: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    };
    let past = desk.patdesk_as("alice", &["approve", &id, "--until", "2000-01-01"]);
    assert_ne!(past.status.code(), Some(0));
    assert!(text(&past).contains("not in the future"), "{}", text(&past));
    let beyond = days_from_start(60);
    let late = desk.patdesk_as("alice", &["approve", &id, "--until", &beyond]);
    assert_ne!(late.status.code(), Some(0));
    assert!(
        text(&late).contains("token itself expires at"),
        "{}",
        text(&late)
    );
    let bad = desk.patdesk_as("alice", &["approve", &id, "--until", "next tuesday"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("is not a date"), "{}", text(&bad));

    // Three and a half days ahead: "in 3 days" however long the test has run.
    let until = (common::dates::test_start() + hours(84)).to_string();
    let ok = desk.patdesk_as(
        "alice",
        &["approve", &id, "--reason", "the report", "--until", &until],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(text(&ok).contains("The approval is until"), "{}", text(&ok));
    let listed = text(&desk.patdesk_as("bob", &["list"]));
    assert!(listed.contains("approved (until in 3 days)"), "{listed}");
    let shown = text(&desk.patdesk_as("bob", &["show", &id]));
    assert!(shown.contains("approved until  "), "{shown}");
    assert!(shown.contains("(patdesk revokes it then)"), "{shown}");
    // The records sheet has the end in a column of its own.
    let sheet = desk.patdesk_as("bob", &["export", "--format", "json"]);
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&sheet.stdout).unwrap_or_else(|_| panic!("{}", text(&sheet)));
    let carol_row = rows
        .iter()
        .find(|row| row["id"].as_i64().map(|n| n.to_string()) == Some(id.clone()))
        .unwrap_or_else(|| panic!("no row of PAT-{id}: {}", text(&sheet)));
    assert!(
        carol_row["approved_until"].as_str().is_some(),
        "{carol_row}"
    );

    // The daemon ends a grant on its own: dave's, approved for a few seconds, is approved and
    // then revoked at GitHub without anyone asking.
    let dave = desk.record_by_github_id(2).id.to_string();
    // The daemon runs on the system clock: the end is a few seconds ahead of it.
    let soon = (patdesk::clock::Clock::system().now() + SignedDuration::from_secs(3)).to_string();
    let ok = desk.patdesk_as(
        "alice",
        &["approve", &dave, "--reason", "one build", "--until", &soon],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let actions = || -> Vec<String> {
        standin
            .calls()
            .iter()
            .filter_map(|call| call["action"].as_str().map(str::to_string))
            .collect()
    };
    common::desk::wait_for(60, || {
        (actions().contains(&"revoke".to_string())).then_some(())
    })
    .unwrap_or_else(|| panic!("no revocation reached GitHub: {:?}", standin.calls()));
    assert_eq!(desk.record_by_github_id(2).state, RequestState::Revoked);
}
