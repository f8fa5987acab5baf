//! The GitHub client, the sync and the decision pushes against the local stand-in.

mod common;

use std::process::Command;
use std::time::Duration;

use patdesk::github::{ClientOptions, GithubError};
use patdesk::request::RequestState;
use patdesk::review::ReviewPolicy;
use patdesk::store::{AlertKind, EventKind, PushState, Store};
use patdesk::sync::{push_decisions, sync_org};
use serde_json::{Value, json};
use tempfile::TempDir;

use common::dates::{CALENDAR, days_from_start};
use common::github_desk::{Desk, many, org_with, runtime};
use common::standin::{Standin, grant_for, pending};

#[test]
fn two_hundred_and_fifty_requests_over_three_pages_across_two_orgs_sync_once() {
    let acme = many(10_000, 150);
    let cafe = many(20_000, 100);
    let standin = Standin::start(
        &[
            ("acme-corp", 11, org_with(&acme, "acme-corp")),
            ("cafe-cymru", 12, org_with(&cafe, "cafe-cymru")),
        ],
        json!({}),
    );
    let desk = Desk::new(
        &standin,
        &[("acme-corp", 11), ("cafe-cymru", 12)],
        "app-test-key.pem",
        "",
    );
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();

    for (org, expected) in [("acme-corp", 150), ("cafe-cymru", 100)] {
        let report = runtime
            .block_on(sync_org(&client, &mut store, org, &desk.options()))
            .expect("sync");
        assert_eq!(
            (report.pending, report.new),
            (expected, expected),
            "{report}"
        );
    }
    let count: i64 = store
        .connection()
        .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0))
        .expect("count");
    assert_eq!(count, 250);
    let record = desk.record_by_github_id(10_042);
    assert_eq!(record.request.repositories, vec!["acme-corp/api"]);
    assert_eq!(
        record.request.token_name.as_deref(),
        Some("issue-reader 42")
    );

    // Nothing changed: the second sync writes nothing and GitHub answers from its cache.
    let events_before = desk.events();
    let not_modified_before = standin.stats()["not_modified"].as_u64().unwrap_or(0);
    for org in ["acme-corp", "cafe-cymru"] {
        let report = runtime
            .block_on(sync_org(&client, &mut store, org, &desk.options()))
            .expect("sync");
        assert_eq!(
            (report.new, report.changed, report.withdrawn),
            (0, 0, 0),
            "{report}"
        );
    }
    assert_eq!(
        desk.events(),
        events_before,
        "a second sync must write nothing"
    );
    let not_modified = standin.stats()["not_modified"].as_u64().unwrap_or(0) - not_modified_before;
    assert!(
        not_modified >= 3,
        "the pending pages should have been answered 304: {not_modified}"
    );
}

#[test]
fn a_changed_request_writes_one_event_naming_the_change() {
    let mut requests = many(0, 3);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();
    runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");

    requests[1]["permissions"]["repository"]["issues"] = json!("write");
    standin.replace_org("acme-corp", org_with(&requests, "acme-corp"));
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");
    assert_eq!(report.changed, 1, "{report}");

    let record = desk.record_by_github_id(2);
    let events = store.events_for(record.id).expect("events");
    let changed: Vec<&patdesk::store::EventRecord> = events
        .iter()
        .filter(|event| event.kind == "request_changed")
        .collect();
    assert_eq!(changed.len(), 1);
    let changes = &changed[0].detail["changes"];
    assert_eq!(
        changes.as_object().map(|changes| changes.len()),
        Some(1),
        "{changes}"
    );
    assert_eq!(
        changes["permissions"]["to"]["repository"]["issues"],
        "write"
    );
    assert_eq!(
        record.request.permissions.repository["issues"].as_str(),
        "write"
    );

    // The owner's login as GitHub spells it now: recorded as a change, and stored.
    let before = record.request.owner_login.clone();
    let respelled = before.to_uppercase();
    requests[1]["owner"]["login"] = json!(respelled);
    standin.replace_org("acme-corp", org_with(&requests, "acme-corp"));
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");
    assert_eq!(report.changed, 1, "{report}");
    let record = desk.record_by_github_id(2);
    assert_eq!(record.request.owner_login, respelled);
    let events = store.events_for(record.id).expect("events");
    let respelling = events
        .iter()
        .rfind(|event| event.kind == "request_changed")
        .expect("a change event");
    assert_eq!(
        respelling.detail["changes"]["owner_login"]["from"],
        before.as_str()
    );
    assert_eq!(
        respelling.detail["changes"]["owner_login"]["to"],
        respelled.as_str()
    );
}

#[test]
fn vanished_requests_were_approved_elsewhere_or_withdrawn() {
    let requests = many(0, 3);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();
    runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");

    // Request 1 was approved in GitHub's web interface; request 2 was cancelled.
    let mut org = org_with(&requests[2..], "acme-corp");
    org["grants"] = json!([grant_for(&requests[0], 777, &days_from_start(45))]);
    standin.replace_org("acme-corp", org);
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");
    assert_eq!(
        (report.approved_elsewhere, report.withdrawn),
        (1, 1),
        "{report}"
    );

    let approved = desk.record_by_github_id(1);
    assert_eq!(approved.state, RequestState::Approved);
    assert_eq!(approved.grant_id, Some(777));
    assert_eq!(approved.decided_by, None, "the approver is not known");
    assert_eq!(desk.record_by_github_id(2).state, RequestState::Withdrawn);
    // Still pending, untouched (its owner has no address anywhere).
    assert_eq!(
        desk.record_by_github_id(3).state,
        RequestState::NeedsContact
    );
}

#[test]
fn addresses_come_from_the_directory_then_verified_domains_then_the_profile() {
    let requests = vec![
        pending(1, "dana", "issue-reader dana", None),
        pending(2, "erin", "issue-reader erin", None),
        pending(3, "frank", "issue-reader frank", None),
        pending(4, "ghost", "issue-reader ghost", None),
        pending(6, "ivan", "issue-reader ivan", None),
        pending(
            5,
            "hana",
            "issue-reader hana",
            Some("Reads issues of acme-corp/api for the weekly report"),
        ),
    ];
    let mut org = org_with(&requests, "acme-corp");
    org["verified_emails"] =
        json!({ "dana": ["dana@corp.example"], "erin": ["erin@corp.example"] });
    let standin = Standin::start(
        &[("acme-corp", 11, org)],
        // ivan's profile names somebody else's address, on a domain the team does not allow.
        json!({
            "frank": "frank@public.example",
            "ghost": null,
            "hana": null,
            "ivan": "someone@elsewhere.example",
        }),
    );
    let desk = Desk::new(
        &standin,
        &[("acme-corp", 11)],
        "app-test-key.pem",
        "[people]\ndirectory = \"people.csv\"\nallowed_domains = [\"public.example\"]\n",
    );
    std::fs::write(
        desk.dir.path().join("people.csv"),
        "login,email\nDana,dana@team.example\n",
    )
    .expect("directory");

    let output = desk.patdesk(&["sync", "--json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["orgs"][0]["questions_queued"], 3, "{report}");
    assert_eq!(report["orgs"][0]["needs_contact"], 2, "{report}");

    let address = |id| desk.record_by_github_id(id).owner_email;
    assert_eq!(
        address(1).as_deref(),
        Some("dana@team.example"),
        "the directory comes first"
    );
    assert_eq!(address(2).as_deref(), Some("erin@corp.example"));
    assert_eq!(address(3).as_deref(), Some("frank@public.example"));
    assert_eq!(address(4), None);
    let ghost = desk.record_by_github_id(4);
    assert_eq!(ghost.state, RequestState::NeedsContact);
    let ivan = desk.record_by_github_id(6);
    assert_eq!(
        (ivan.owner_email, ivan.state),
        (None, RequestState::NeedsContact),
        "a public address off people.allowed_domains is never written to"
    );
    assert!(
        desk.store()
            .alerts()
            .expect("alerts")
            .iter()
            .any(|alert| alert.kind == "needs_contact")
    );
    // GitHub's reason is a usable purpose: no question, straight to review.
    let hana = desk.record_by_github_id(5);
    assert_eq!(hana.state, RequestState::InReview);
    assert!(desk.store().outbox_for(hana.id).expect("outbox").is_empty());

    let questions = desk
        .store()
        .outbox_for(desk.record_by_github_id(1).id)
        .expect("outbox");
    assert_eq!(
        (questions[0].kind.as_str(), questions[0].recipient.as_str()),
        ("question", "dana@team.example")
    );

    // A person supplies the missing address: the question follows.
    let id = ghost.id.to_string();
    let output = desk.patdesk_as("alice", &["contact", &id, "--email", "ghost@corp.example"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ghost = desk.record_by_github_id(4);
    assert_eq!(ghost.state, RequestState::AwaitingPurpose);
    assert_eq!(
        desk.store().outbox_for(ghost.id).expect("outbox")[0].recipient,
        "ghost@corp.example"
    );
    let bad = desk.patdesk_as("alice", &["contact", &id, "--email", "not an address"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn rate_limits_are_waited_out_and_server_errors_retried() {
    let requests = many(0, 2);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();

    standin.faults(json!({ "rate_limit_next": 1, "secondary_limit_next": 1, "fail_next": 2 }));
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync completes");
    assert_eq!(report.new, 2);
    assert_eq!(
        client
            .stats
            .rate_limit_waits
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    assert!(
        client
            .stats
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );

    // An outage longer than the retries is an error that says so, and changes nothing.
    standin.faults(json!({ "fail_next": 50 }));
    let events = desk.events();
    let error = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect_err("GitHub keeps failing");
    assert!(
        error.to_string().contains("failed") && error.to_string().contains("500"),
        "{error}"
    );
    assert_eq!(desk.events(), events);
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let requests = many(0, 1);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client_with(ClientOptions {
        timeout: Duration::from_millis(300),
        backoff: Duration::from_millis(20),
        max_attempts: 2,
        ..ClientOptions::default()
    });
    standin.faults(json!({ "delay_ms": 1000 }));
    let error = runtime()
        .block_on(client.pending_requests("acme-corp"))
        .expect_err("too slow");
    assert!(
        matches!(error, GithubError::Network { attempts: 2, .. }),
        "{error}"
    );
}

#[test]
fn a_wrong_key_or_installation_is_a_clear_error() {
    let standin = Standin::start(&[("acme-corp", 11, org_with(&[], "acme-corp"))], json!({}));
    let wrong_key = Desk::new(&standin, &[("acme-corp", 11)], "wrong-app-key.pem", "");
    let output = wrong_key.patdesk(&["sync"]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("refused the App's credentials") && message.contains("github.private_key"),
        "{message}"
    );

    let wrong_installation = Desk::new(&standin, &[("acme-corp", 99)], "app-test-key.pem", "");
    let output = wrong_installation.patdesk(&["sync"]);
    assert_eq!(output.status.code(), Some(1));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("no installation 99") && message.contains("installation_id"),
        "{message}"
    );

    let unknown_org = wrong_installation.patdesk(&["sync", "--org", "nope"]);
    assert_eq!(unknown_org.status.code(), Some(2));
}

#[test]
fn expired_installation_tokens_are_renewed() {
    let requests = many(0, 1);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let runtime = runtime();
    // Tokens that live a second are always within the renewal margin: every call renews.
    standin.faults(json!({ "token_ttl_seconds": 1 }));
    runtime
        .block_on(client.pending_requests("acme-corp"))
        .expect("first");
    // The stand-in expires its token by GitHub's clock, real time: that is the subject here.
    std::thread::sleep(Duration::from_millis(1100));
    runtime
        .block_on(client.pending_requests("acme-corp"))
        .expect("after the first token expired");
}

#[test]
fn a_decision_is_pushed_exactly_once_even_when_retried_after_a_crash() {
    let requests = vec![pending(
        1,
        "carol",
        "issue-reader carol",
        Some("Reads issues of acme-corp/api for the weekly report"),
    )];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({ "carol": "carol@example.org" }),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let record = desk.record_by_github_id(1);
    let id = record.id.to_string();
    // With the daemon down (root's break-glass), so this test alone carries the decision.
    let output = desk.patdesk(&["approve", &id, "--reason", "scoped to one repository"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();
    let report = runtime
        .block_on(push_decisions(&client, &mut store, &desk.config().team))
        .expect("push");
    assert_eq!(report.done, 1, "{report}");
    let calls = standin.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0]["action"].as_str(), calls[0]["id"].as_i64()),
        (Some("approve"), Some(1))
    );
    assert_eq!(calls[0]["reason"], "scoped to one repository");

    // A crash after GitHub took it but before patdesk recorded it: the push is queued again
    // with its attempt counted. The retry checks GitHub first and sends nothing.
    store
        .connection()
        .execute("UPDATE github_pushes SET state = 'queued'", [])
        .expect("simulate the crash");
    let report = runtime
        .block_on(push_decisions(&client, &mut store, &desk.config().team))
        .expect("push again");
    assert_eq!(report.done, 1, "{report}");
    assert_eq!(
        standin.calls().len(),
        1,
        "GitHub must see the approval once"
    );
    let events = store.events_for(record.id).expect("events");
    let last = events.last().expect("event");
    assert_eq!(last.kind, "github_push_done");
    assert!(
        last.detail["note"]
            .as_str()
            .is_some_and(|note| note.contains("already")),
        "{}",
        last.detail
    );

    // The next sync finds the grant and records it, for a later revocation.
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    assert_eq!(desk.record_by_github_id(1).grant_id, Some(900_001));
    let shown = String::from_utf8_lossy(&desk.patdesk(&["show", &id]).stdout).into_owned();
    assert!(
        shown.contains("approved on GitHub, grant 900001"),
        "{shown}"
    );
    assert!(shown.contains("github_push_done"), "{shown}");
    let output = desk.patdesk_as("bob", &["revoke", &id, "--category", "no-longer-required"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let calls = standin.calls();
    assert_eq!(
        (
            calls.len(),
            calls[1]["action"].as_str(),
            calls[1]["id"].as_i64()
        ),
        (2, Some("revoke"), Some(900_001))
    );
}

#[test]
fn a_long_denial_reason_is_cut_to_githubs_limit_and_failures_are_recorded() {
    let requests = vec![
        pending(
            1,
            "carol",
            "issue-reader carol",
            Some("Reads issues of acme-corp/api for the weekly report"),
        ),
        pending(
            2,
            "dave",
            "issue-reader dave",
            Some("Reads issues of acme-corp/api for the weekly report"),
        ),
    ];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let carol = desk.record_by_github_id(1).id.to_string();
    let dave = desk.record_by_github_id(2).id.to_string();
    let long_reason = "Too broad. ".repeat(200);
    assert_eq!(
        desk.patdesk_as("alice", &["deny", &carol, "--reason", &long_reason])
            .status
            .code(),
        Some(0)
    );
    // Dave's request disappears on GitHub before the push reaches it (a decision is carried
    // the moment it commits, so it goes before the deny).
    standin.replace_org("acme-corp", org_with(&requests[..1], "acme-corp"));
    assert_eq!(
        desk.patdesk_as("alice", &["deny", &dave, "--reason", "No."])
            .status
            .code(),
        Some(0)
    );
    let settled = |id: &str| {
        let id: i64 = id.parse().expect("id");
        common::desk::wait_for(30, || {
            let pushes = desk.store().pushes_for(id).ok()?;
            pushes
                .iter()
                .find(|push| push.state == PushState::Done || push.state == PushState::Failed)
                .map(|push| push.state)
        })
        .unwrap_or_else(|| panic!("the push of {id} did not settle"))
    };
    assert_eq!(
        (settled(&carol), settled(&dave)),
        (PushState::Done, PushState::Failed)
    );
    let calls = standin.calls();
    assert_eq!(calls.len(), 1);
    let sent = calls[0]["reason"].as_str().expect("reason");
    assert_eq!(sent.chars().count(), 1024);
    assert!(sent.ends_with("in the mail)"));
    // The failure shows on the request and does not hold up the other.
    let shown = String::from_utf8_lossy(&desk.patdesk(&["show", &dave]).stdout).into_owned();
    assert!(
        shown.contains("failed") && shown.contains("no longer pending"),
        "{shown}"
    );
}

#[test]
fn approved_tokens_are_tracked_for_expiry_once() {
    let request = pending(
        1,
        "carol",
        "issue-reader carol",
        Some("Reads issues of acme-corp/api for the weekly report"),
    );
    let soon = days_from_start(3);
    let standin = Standin::start(
        &[(
            "acme-corp",
            11,
            org_with(std::slice::from_ref(&request), "acme-corp"),
        )],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let id = desk.record_by_github_id(1).id.to_string();
    assert_eq!(
        desk.patdesk_as("alice", &["approve", &id, "--reason", "the weekly report"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        desk.patdesk(&["sync"]).status.code(),
        Some(0),
        "pushes the approval"
    );

    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([grant_for(&request, 900_001, &soon)]);
    standin.replace_org("acme-corp", org.clone());
    for _ in 0..2 {
        assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    }
    let alerts = desk.store().alerts().expect("alerts");
    let expiring: Vec<_> = alerts
        .iter()
        .filter(|alert| alert.kind == "token_expiring")
        .collect();
    assert_eq!(expiring.len(), 1, "announced once: {alerts:?}");
    assert!(
        expiring[0].message.contains("expires in 2 day")
            || expiring[0].message.contains("expires in 3 day"),
        "{}",
        expiring[0].message
    );

    org["grants"][0]["token_expired"] = json!(true);
    standin.replace_org("acme-corp", org);
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    assert_eq!(desk.record_by_github_id(1).state, RequestState::Expired);
}

/// On each date of the `CALENDAR`, with the database's clock set to it: a token 7 days from its
/// expiry is warned of, one unused for `stale_after_days` (90) is stale, one expiring at that
/// instant has expired; a second earlier, none of them.
#[test]
fn expiry_warnings_stale_tokens_and_expiry_fall_due_on_their_second_on_any_date() {
    let requests = |expiry: &[String; 3]| -> Vec<Value> {
        ["carol", "dana", "erin"]
            .iter()
            .zip(expiry)
            .enumerate()
            .map(|(index, (owner, expires_at))| {
                let github_id = index as i64 + 1;
                let mut request = pending(github_id, owner, &format!("reader {owner}"), None);
                request["token_expires_at"] = json!(expires_at);
                request
            })
            .collect()
    };
    let standin = Standin::start(&[("acme-corp", 11, org_with(&[], "acme-corp"))], json!({}));
    for date in CALENDAR {
        let instant: jiff::Timestamp = date.parse().expect("time");
        let at = |days: i64| (instant + jiff::SignedDuration::from_hours(days * 24)).to_string();
        // carol's token expires in 7 days, dana's now; erin's is far off but unused for 90 days.
        let requests = requests(&[at(7), at(0), at(300)]);
        let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
        let hand = patdesk::clock::ManualClock::starting_at(
            instant - jiff::SignedDuration::from_hours(20 * 24),
        );
        let mut store =
            Store::open(&desk.dir.path().join("patdesk.db"), &hand.clock()).expect("store");
        let client = desk.client();
        let runtime = runtime();
        let sync = |store: &mut Store| {
            runtime
                .block_on(sync_org(&client, store, "acme-corp", &desk.options()))
                .unwrap_or_else(|error| panic!("{date}: sync: {error}"))
        };

        standin.replace_org("acme-corp", org_with(&requests, "acme-corp"));
        sync(&mut store);
        // Approved on GitHub's pages ten days before the date; erin's last used 90 days before.
        let mut org = org_with(&[], "acme-corp");
        let mut grants: Vec<Value> = requests
            .iter()
            .zip(1..)
            .map(|(request, grant_id)| {
                let mut grant = grant_for(
                    request,
                    grant_id,
                    request["token_expires_at"].as_str().expect("expiry"),
                );
                grant["access_granted_at"] = json!(at(-10));
                grant["token_last_used_at"] = json!(at(-1));
                grant
            })
            .collect();
        grants[2]["token_last_used_at"] = json!(at(-90));
        org["grants"] = json!(grants);
        standin.replace_org("acme-corp", org);

        hand.set(instant - jiff::SignedDuration::from_secs(1));
        let early = sync(&mut store);
        assert_eq!(
            (
                early.approved_elsewhere,
                early.expiring,
                early.stale,
                early.expired
            ),
            (3, 0, 0, 0),
            "{date}, a second early: {early}"
        );
        hand.set(instant);
        let due = sync(&mut store);
        assert_eq!(
            (due.expiring, due.stale, due.expired),
            (1, 1, 1),
            "{date}: {due}"
        );
        let states: Vec<RequestState> = (1..=3)
            .map(|id| desk.record_by_github_id(id).state)
            .collect();
        assert_eq!(
            states,
            [
                RequestState::Approved,
                RequestState::Expired,
                RequestState::Approved
            ],
            "{date}"
        );
        let alerts = store.alerts().expect("alerts");
        let message_of = |kind: &str| -> Vec<&str> {
            alerts
                .iter()
                .filter(|alert| alert.kind == kind)
                .map(|alert| alert.message.as_str())
                .collect()
        };
        assert_eq!(
            message_of("token_expiring"),
            [format!(
                r#"The token "reader carol" of carol (PAT-{}) expires in 7 day(s)"#,
                desk.record_by_github_id(1).id
            )],
            "{date}"
        );
        assert_eq!(
            message_of("token_expired"),
            [format!(
                r#"The token "reader dana" of dana (PAT-{}) has expired"#,
                desk.record_by_github_id(2).id
            )],
            "{date}"
        );
        let stale = message_of("token_stale");
        assert!(
            stale.len() == 1
                && stale[0].contains("reader erin")
                && stale[0].contains("not been used for 90 days"),
            "{date}: {stale:?}"
        );
    }
}

/// GitHub's listing of approved tokens, as the token-use tests find it after two syncs (each
/// `patdesk sync` a process of its own, as after a restart): carol's token approved here and
/// unused for 100 days; dana's and erin's approved on GitHub's own pages, dana's never expiring,
/// erin's for two years; and two tokens no request of patdesk's accounts for (approved before it
/// was installed), one never expiring and unused for 200 days, one in use within the policy.
struct TokensInUse {
    standin: Standin,
    desk: Desk,
    requests: Vec<Value>,
    /// The org as the stand-in lists it.
    org: Value,
    /// carol's request id in patdesk.
    carol: String,
}

fn tokens_in_use() -> TokensInUse {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![
        pending(1, "carol", "issue-reader carol", purpose),
        pending(2, "dana", "issue-reader dana", purpose),
        pending(3, "erin", "issue-reader erin", purpose),
    ];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({ "carol": "carol@example.org" }),
    );
    let desk = Desk::new(
        &standin,
        &[("acme-corp", 11)],
        "app-test-key.pem",
        "[people]\nallowed_domains = [\"example.org\"]\n",
    );
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let carol = desk.record_by_github_id(1).id.to_string();
    let approve = desk.patdesk_as(
        "alice",
        &["approve", &carol, "--reason", "the weekly report"],
    );
    assert_eq!(
        approve.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    assert_eq!(
        desk.patdesk(&["sync"]).status.code(),
        Some(0),
        "pushes the approval"
    );

    let next_year = days_from_start(300);
    let mut carols = grant_for(&requests[0], 900_001, &next_year);
    carols["token_last_used_at"] = json!(days_ago(100));
    let mut danas = grant_for(&requests[1], 900_002, &next_year);
    danas["token_expires_at"] = Value::Null;
    danas["token_last_used_at"] = json!(days_ago(1));
    let mut erins = grant_for(&requests[2], 900_003, &days_from_start(715));
    erins["token_last_used_at"] = json!(days_ago(2));
    let (mut old_bots, mut fine) = outside_grants();
    old_bots["token_expires_at"] = Value::Null;
    old_bots["token_last_used_at"] = json!(days_ago(200));
    fine["token_last_used_at"] = json!(days_ago(1));
    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([carols, danas, erins, old_bots, fine]);
    standin.replace_org("acme-corp", org.clone());
    for _ in 0..2 {
        assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    }
    TokensInUse {
        standin,
        desk,
        requests,
        org,
        carol,
    }
}

fn days_ago(days: i64) -> String {
    days_from_start(-days)
}

impl TokensInUse {
    /// A kind's alert messages about requests, or about the tokens no request accounts for.
    fn alerts_of(&self, kind: AlertKind, of_requests: bool) -> Vec<String> {
        self.desk
            .store()
            .alerts()
            .expect("alerts")
            .iter()
            .filter(|alert| alert.kind == kind && alert.request_id.is_some() == of_requests)
            .map(|alert| alert.message.clone())
            .collect()
    }

    /// The GitHub request ids `list FLAG --json` prints.
    fn listed(&self, flag: &str) -> Vec<i64> {
        let output = self.desk.patdesk_as("alice", &["list", flag, "--json"]);
        let rows: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        rows.as_array()
            .expect("array")
            .iter()
            .map(|row| row["github_request_id"].as_i64().expect("id"))
            .collect()
    }

    /// GitHub lists carol's token (and the outside one) as used today.
    fn used_again(&mut self) {
        self.org["grants"][0]["token_last_used_at"] = json!(days_ago(0));
        assert_eq!(self.org["grants"][3]["id"], 910_001, "the outside token");
        self.org["grants"][3]["token_last_used_at"] = json!(days_ago(0));
        self.standin.replace_org("acme-corp", self.org.clone());
        assert_eq!(self.desk.patdesk(&["sync"]).status.code(), Some(0));
    }
}

#[test]
fn a_token_unused_for_stale_after_days_is_alerted_for_once() {
    let tokens = tokens_in_use();
    let stale = tokens.alerts_of(AlertKind::TokenStale, true);
    assert_eq!(stale.len(), 1, "once: {stale:?}");
    assert!(
        stale[0].contains("issue-reader carol") && stale[0].contains("not been used for 100 days"),
        "{stale:?}"
    );
    assert!(
        stale[0].contains("--category no-longer-required"),
        "{stale:?}"
    );
}

#[test]
fn a_token_approved_elsewhere_beyond_the_policy_is_alerted_for_once() {
    let tokens = tokens_in_use();
    let lifetime = tokens.alerts_of(AlertKind::TokenLifetime, true);
    assert_eq!(lifetime.len(), 2, "once each: {lifetime:?}");
    assert!(
        lifetime
            .iter()
            .any(|m| m.contains("issue-reader dana") && m.contains("never expires")),
        "{lifetime:?}"
    );
    assert!(
        lifetime
            .iter()
            .any(|m| m.contains("issue-reader erin") && m.contains("beyond the policy's 366")),
        "{lifetime:?}"
    );
}

#[test]
fn tokens_no_request_accounts_for_get_one_alert_per_kind() {
    let tokens = tokens_in_use();
    for kind in [AlertKind::TokenStale, AlertKind::TokenLifetime] {
        let found = tokens.alerts_of(kind, false);
        assert_eq!(found.len(), 1, "{kind:?}, once: {found:?}");
        assert!(
            found[0].contains("1 token(s) of acme-corp approved without a request patdesk saw")
                && found[0].contains("\"legacy deployer\" of old-bot (grant acme-corp:910001)")
                && !found[0].contains("current deployer"),
            "{found:?}"
        );
    }
}

#[test]
fn list_stale_and_no_expiry_name_the_tokens_of_requests() {
    let tokens = tokens_in_use();
    assert_eq!(tokens.listed("--stale"), vec![1]);
    assert_eq!(tokens.listed("--no-expiry"), vec![2]);
}

#[test]
fn list_outside_names_the_tokens_no_request_accounts_for() {
    let tokens = tokens_in_use();
    for flag in ["--stale", "--no-expiry"] {
        let output = tokens
            .desk
            .patdesk_as("alice", &["list", "--outside", flag, "--json"]);
        let rows: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let grants: Vec<i64> = rows
            .as_array()
            .expect("array")
            .iter()
            .map(|row| row["grant_id"].as_i64().expect("grant"))
            .collect();
        assert_eq!(grants, vec![910_001], "{flag}: {rows}");
    }
    let all = tokens.desk.patdesk_as("alice", &["list", "--outside"]);
    let all = String::from_utf8_lossy(&all.stdout);
    assert!(
        all.contains("legacy deployer")
            && all.contains("current deployer")
            && all.contains("910001"),
        "{all}"
    );
}

#[test]
fn the_table_of_requests_points_to_the_outside_tokens_of_the_same_filter() {
    let tokens = tokens_in_use();
    for flag in ["--stale", "--no-expiry"] {
        let table = tokens.desk.patdesk_as("alice", &["list", flag]);
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains(&format!(
                "and 1 token(s) no request accounts for: patdesk list --outside {flag}"
            )),
            "{table}"
        );
    }
}

#[test]
fn show_says_when_a_token_was_last_used_and_since_when_it_is_stale() {
    let tokens = tokens_in_use();
    let record = tokens.desk.record_by_github_id(1);
    assert!(record.stale_since.is_some());
    assert!(record.token_last_used_at.is_some());
    let shown = tokens.desk.patdesk_as("alice", &["show", &tokens.carol]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("last used") && shown.contains("STALE since"),
        "{shown}"
    );
}

#[test]
fn a_stale_token_used_again_is_no_longer_stale() {
    let mut tokens = tokens_in_use();
    tokens.used_again();
    assert_eq!(tokens.listed("--stale"), Vec::<i64>::new());
    let outside = tokens.desk.store().outside_token_counts().expect("counts");
    assert_eq!(outside.stale, 0, "an outside token used again: {outside:?}");
    let record = tokens.desk.record_by_github_id(1);
    assert_eq!(record.stale_since, None);
    let events = tokens.desk.store().events_for(record.id).expect("events");
    let kinds: Vec<&EventKind> = events.iter().map(|event| &event.kind).collect();
    assert!(
        kinds.contains(&&EventKind::TokenStale) && kinds.contains(&&EventKind::TokenUsedAgain),
        "{kinds:?}"
    );
}

#[test]
fn a_token_used_again_raises_no_new_alert() {
    let mut tokens = tokens_in_use();
    let before = tokens.desk.store().alerts().expect("alerts").len();
    tokens.used_again();
    assert_eq!(
        tokens.desk.store().alerts().expect("alerts").len(),
        before,
        "no new alert"
    );
}

/// Used again, then unused for 80 days: within review.stale_notice_days (14) of counting as
/// stale, the owner is told once, by mail.
#[test]
fn a_token_about_to_count_as_stale_brings_its_owner_one_notice() {
    let mut tokens = tokens_in_use();
    tokens.used_again();
    let mut org = org_with(&[], "acme-corp");
    let mut carols = grant_for(&tokens.requests[0], 900_001, &days_from_start(300));
    carols["token_last_used_at"] = json!(days_ago(80));
    org["grants"] = json!([carols]);
    tokens.standin.replace_org("acme-corp", org);
    let address = tokens
        .desk
        .record_by_github_id(1)
        .owner_email
        .expect("carol's address, from her profile");
    for _ in 0..2 {
        assert_eq!(tokens.desk.patdesk(&["sync"]).status.code(), Some(0));
    }
    let notices: Vec<(String, String)> = tokens
        .desk
        .store()
        .connection()
        .prepare("SELECT recipient, payload FROM outbox WHERE kind = 'usage_notice'")
        .expect("query")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("notices");
    assert_eq!(notices.len(), 1, "told once: {notices:?}");
    assert_eq!(notices[0].0, address);
    let payload: Value = serde_json::from_str(&notices[0].1).expect("JSON");
    assert_eq!(payload["stale_in_days"], 10, "{payload}");
    assert_eq!(tokens.listed("--stale"), Vec::<i64>::new(), "not stale yet");
}

#[test]
fn tokens_github_no_longer_lists_are_forgotten() {
    let tokens = tokens_in_use();
    let before = tokens.desk.store().outside_token_counts().expect("counts");
    assert_eq!(before.total, 2, "{before:?}");
    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([tokens.org["grants"][0].clone()]);
    tokens.standin.replace_org("acme-corp", org);
    assert_eq!(tokens.desk.patdesk(&["sync"]).status.code(), Some(0));
    let outside = tokens.desk.store().outside_token_counts().expect("counts");
    assert_eq!(outside.total, 0, "{outside:?}");
}

#[test]
fn the_requesters_standing_is_fetched_kept_and_reviewed() {
    let requests = vec![
        pending(
            1,
            "carol",
            "issue-reader carol",
            Some("Reads issues of acme-corp/api for the weekly report"),
        ),
        pending(
            2,
            "ext-dave",
            "issue-reader dave",
            Some("Reads issues of acme-corp/api for the weekly report"),
        ),
    ];
    let mut writes = requests.clone();
    writes[0]["permissions"]["repository"]["issues"] = json!("write");
    let mut org = org_with(&writes, "acme-corp");
    org["members"] = json!({ "carol": "member" });
    org["outside_collaborators"] = json!(["ext-dave"]);
    org["repository_permissions"] =
        json!({ "acme-corp/api": { "carol": "read", "ext-dave": "read" } });
    let standin = Standin::start(&[("acme-corp", 11, org)], json!({}));
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));

    let carol = desk.record_by_github_id(1);
    let standing = carol.request.requester.as_ref().expect("standing kept");
    assert_eq!(standing.org_role.as_deref(), Some("member"));
    assert_eq!(standing.repository_permissions["acme-corp/api"], "read");
    assert!(
        carol
            .findings
            .iter()
            .any(|finding| finding.code == "write_beyond_own_access")
    );

    let dave = desk.record_by_github_id(2);
    assert!(
        dave.request
            .requester
            .as_ref()
            .is_some_and(|standing| standing.outside_collaborator)
    );
    assert!(
        dave.findings
            .iter()
            .any(|finding| finding.code == "outside_collaborator")
    );
    let shown =
        String::from_utf8_lossy(&desk.patdesk(&["show", &dave.id.to_string()]).stdout).into_owned();
    assert!(shown.contains("outside collaborator"), "{shown}");
}

#[test]
fn team_membership_is_asked_only_for_organization_permissions() {
    let mut carol = pending(
        1,
        "carol",
        "members-reader carol",
        Some("Reads the member list of acme-corp for the directory"),
    );
    carol["permissions"]["organization"] = json!({ "members": "read" });
    let mut erin = pending(
        2,
        "erin",
        "members-reader erin",
        Some("Reads the member list of acme-corp for the directory"),
    );
    erin["permissions"]["organization"] = json!({ "members": "read" });
    let requests = vec![carol, erin];
    let mut org = org_with(&requests, "acme-corp");
    org["members"] = json!({ "carol": "member", "erin": "member" });
    org["teams"] = json!({ "platform": ["erin"] });
    let standin = Standin::start(&[("acme-corp", 11, org)], json!({}));
    let desk = Desk::new(
        &standin,
        &[("acme-corp", 11)],
        "app-test-key.pem",
        "[review]\norg_permission_teams = [\"platform\"]\n",
    );
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let flagged = |id| {
        desk.record_by_github_id(id)
            .findings
            .iter()
            .any(|finding| finding.code == "org_permission_outside_teams")
    };
    assert!(flagged(1), "carol is in no allowed team");
    assert!(!flagged(2), "erin is in platform");
    assert_eq!(
        desk.record_by_github_id(2)
            .request
            .requester
            .expect("standing")
            .teams,
        vec!["platform"]
    );
}

#[test]
fn sync_needs_a_github_section() {
    let dir = TempDir::new().expect("temp dir");
    let config = common::control::records_only_config(dir.path(), "patdesk.toml");
    // No daemon: the command says so, with its own exit code.
    let output = common::control::patdesk_as(common::users::ALICE, &config, &["sync"]);
    assert_eq!(output.status.code(), Some(8));
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains("the daemon is not running") && message.contains("control.sock"),
        "{message}"
    );
    // A daemon without [github] cannot sync.
    let _daemon = common::control::Daemon::start(&config);
    let output = common::control::patdesk_as(common::users::ALICE, &config, &["sync"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("[github]"));
}

#[test]
fn the_daemon_syncs_on_its_timer_without_any_mail_and_stops_on_sigterm() {
    let requests = many(0, 1);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let config = desk.dir.path().join("patdesk.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replace(
            "[[github.orgs]]",
            "sync_interval_seconds = 1\n[[github.orgs]]",
        ),
    )
    .expect("config");

    let log = desk.dir.path().join("daemon.log");
    let mut daemon = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["run", "--config"])
            .arg(&config)
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start the daemon"),
    );
    let count = |desk: &Desk| -> i64 {
        desk.store()
            .connection()
            .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0))
            .unwrap_or(0)
    };
    let wait_for = |expected: i64| {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while count(&desk) < expected {
            assert!(
                std::time::Instant::now() < deadline,
                "the daemon did not sync: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(1);
    // A new request on GitHub, and no mail about it: the timer finds it.
    standin.replace_org("acme-corp", org_with(&many(0, 2), "acme-corp"));
    wait_for(2);

    let pid = daemon.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = daemon.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(
        log.contains("patdesk running") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        desk.store()
            .verify_chain(None)
            .expect("verify")
            .first_break
            .is_none()
    );
}

/// An answer far larger than any real page (17 MB) is refused with a clear error before it is
/// decoded, and changes nothing; the next sync works.
#[test]
fn an_oversized_answer_is_refused_and_changes_nothing() {
    let requests = many(0, 2);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();

    standin.faults(json!({ "huge_next": 100 }));
    let events = desk.events();
    let error = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect_err("refused");
    assert!(error.to_string().contains("larger than"), "{error}");
    assert_eq!(desk.events(), events, "nothing recorded");

    standin.faults(json!({ "huge_next": 0 }));
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("sync");
    assert_eq!(report.new, 2);
}

/// A `Link: next` that names another host is not followed (the installation token would go
/// with it): the sync fails with that reason before any call there (not with a network error
/// from the unknown host), and nothing is recorded.
#[test]
fn a_next_page_on_another_host_is_not_followed() {
    let requests = many(0, 150);
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    let mut store = desk.store();
    let runtime = runtime();

    standin.faults(json!({ "link_host": "collector.evil.example" }));
    let events = desk.events();
    let error = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect_err("refused");
    assert!(
        error.to_string().contains("collector.evil.example")
            && error.to_string().contains("not followed"),
        "{error}"
    );
    assert_eq!(desk.events(), events, "nothing recorded");

    // A new client: the first page's cached answer keeps the Link it came with.
    standin.faults(json!({}));
    let report = runtime
        .block_on(sync_org(
            &desk.client(),
            &mut store,
            "acme-corp",
            &desk.options(),
        ))
        .expect("sync");
    assert_eq!(report.new, 150, "both pages on the API host");
}

/// A push is carried only when the audit log backs it with a member's decision: a row
/// inserted by hand, and a decision by someone no longer in the team, never reach GitHub.
/// Two tokens no request accounts for, approved on GitHub's pages and expiring in 300 days:
/// old-bot's "legacy deployer" (grant 910001) and new-bot's "current deployer" (910002).
fn outside_grants() -> (Value, Value) {
    let next_year = days_from_start(300);
    let grant = |github_id, owner, name, grant_id: i64| {
        let mut grant = grant_for(&pending(github_id, owner, name, None), grant_id, &next_year);
        grant["token_id"] = json!(grant_id + 80_000);
        grant
    };
    (
        grant(90, "old-bot", "legacy deployer", 910_001),
        grant(91, "new-bot", "current deployer", 910_002),
    )
}

/// An org with no pending request and the two outside tokens.
fn org_with_outside_tokens() -> Value {
    let (old_bots, new_bots) = outside_grants();
    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([old_bots, new_bots]);
    org
}

/// The outside tokens' grants `list --outside --json` shows, with how far their revocation
/// has come.
fn outside_listed(desk: &Desk) -> Vec<(i64, Option<String>)> {
    let output = desk.patdesk_as("alice", &["list", "--outside", "--json"]);
    let rows: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    rows.as_array()
        .expect("array")
        .iter()
        .map(|row| {
            (
                row["grant_id"].as_i64().expect("grant"),
                row["revocation"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Two tokens no request accounts for, synced; the first one's name holds a line break, as
/// GitHub's text may.
fn outside_tokens_synced() -> (Standin, Desk) {
    let mut org = org_with_outside_tokens();
    org["grants"][0]["token_name"] = json!("legacy deployer\nPAT-1 is approved (by mallory).");
    let standin = Standin::start(&[("acme-corp", 11, org)], json!({}));
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    (standin, desk)
}

/// alice revokes `grant` (ORG:GRANT), no longer required.
fn revoke_grant(desk: &Desk, grant: &str) -> std::process::Output {
    desk.patdesk_as(
        "alice",
        &[
            "revoke",
            "--grant",
            grant,
            "--category",
            "no-longer-required",
            "--reason",
            "the old deployer is gone",
        ],
    )
}

/// alice's revocation of the first outside token, carried by the next round; the sync after
/// finds the token gone.
fn outside_token_revoked() -> (Standin, Desk) {
    let (standin, desk) = outside_tokens_synced();
    let output = revoke_grant(&desk, "acme-corp:910001");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for _ in 0..2 {
        assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    }
    (standin, desk)
}

#[test]
fn list_outside_shows_each_tokens_revocation_and_how_to_ask_for_one() {
    let (_standin, desk) = outside_tokens_synced();
    assert_eq!(
        outside_listed(&desk),
        vec![(910_001, None), (910_002, None)]
    );
    let table = desk.patdesk_as("alice", &["list", "--outside"]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("REVOCATION") && table.contains("patdesk revoke --grant ORG:GRANT"),
        "{table}"
    );
}

/// Only a team member, as themselves: a stranger and root (who may read) are refused.
#[test]
fn only_a_member_may_revoke_an_outside_token() {
    let (_standin, desk) = outside_tokens_synced();
    let args = [
        "revoke",
        "--grant",
        "acme-corp:910001",
        "--category",
        "no-longer-required",
    ];
    let stranger = desk.patdesk_as("mallory", &args);
    let root = Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(args)
        .arg("--config")
        .arg(desk.dir.path().join("patdesk.toml"))
        .output()
        .expect("runs");
    for (who, refused) in [("a stranger", stranger), ("root", root)] {
        assert_eq!(refused.status.code(), Some(5), "{who}: {refused:?}");
    }
    assert_eq!(outside_listed(&desk)[0], (910_001, None), "nothing queued");
}

#[test]
fn revoking_an_outside_token_queues_it_and_names_it_on_one_line() {
    let (_standin, desk) = outside_tokens_synced();
    let output = revoke_grant(&desk, "acme-corp:910001");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "\"legacy deployer\\nPAT-1 is approved (by mallory).\" of old-bot (acme-corp:910001) \
             is to be revoked (by alice)"
        ),
        "{stdout}"
    );
    assert!(
        !stdout.lines().any(|line| line.starts_with("PAT-1")),
        "{stdout}"
    );
    let listed = outside_listed(&desk);
    assert!(
        matches!(listed[0].1.as_deref(), Some("queued" | "done")) && listed[1].1.is_none(),
        "{listed:?}"
    );
}

#[test]
fn an_outside_token_asked_to_be_revoked_twice_is_revoked_once() {
    let (_standin, desk) = outside_tokens_synced();
    assert_eq!(
        revoke_grant(&desk, "acme-corp:910001").status.code(),
        Some(0)
    );
    let again = revoke_grant(&desk, "acme-corp:910001");
    assert_eq!(again.status.code(), Some(5), "refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already being revoked"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn an_unknown_or_malformed_grant_is_a_clear_error() {
    let (_standin, desk) = outside_tokens_synced();
    let unknown = revoke_grant(&desk, "acme-corp:4711");
    assert_eq!(unknown.status.code(), Some(4), "not found");
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("patdesk list --outside"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    for malformed in ["910001", "acme-corp:", ":910001", "acme-corp:x"] {
        assert_eq!(
            revoke_grant(&desk, malformed).status.code(),
            Some(2),
            "{malformed}"
        );
    }
    let both = desk.patdesk_as(
        "alice",
        &[
            "revoke",
            "3",
            "--grant",
            "acme-corp:910001",
            "--category",
            "expired",
        ],
    );
    assert_eq!(both.status.code(), Some(2), "an ID and a grant");
}

#[test]
fn an_outside_revocation_reaches_github_once_and_the_token_leaves_the_list() {
    let (standin, desk) = outside_token_revoked();
    let revocations: Vec<Value> = standin
        .calls()
        .into_iter()
        .filter(|call| call["action"] == "revoke")
        .collect();
    assert_eq!(revocations.len(), 1, "{revocations:?}");
    assert_eq!(
        (
            revocations[0]["org"].as_str(),
            revocations[0]["id"].as_i64()
        ),
        (Some("acme-corp"), Some(910_001))
    );
    assert_eq!(outside_listed(&desk), vec![(910_002, None)]);
}

/// The trail: alice's revocation with her account, the push it queued and its outcome.
#[test]
fn the_audit_log_records_who_revoked_an_outside_token_and_its_push() {
    let (_standin, desk) = outside_token_revoked();
    let store = desk.store();
    let events = store.events_after(0, 1000).expect("events");
    let revoked: Vec<_> = events
        .iter()
        .filter(|event| event.kind == EventKind::OutsideTokenRevoked)
        .collect();
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    let detail = &revoked[0].detail;
    assert_eq!(revoked[0].actor, "alice");
    assert_eq!(revoked[0].request_id, None);
    assert_eq!(
        (
            detail["org"].as_str(),
            detail["grant_id"].as_i64(),
            detail["owner_login"].as_str(),
            detail["reason"].as_str(),
            detail["note"].as_str(),
            detail["member"]["os_user"].as_str(),
        ),
        (
            Some("acme-corp"),
            Some(910_001),
            Some("old-bot"),
            Some("no-longer-required"),
            Some("the old deployer is gone"),
            Some(common::control::os_user_of("alice")),
        ),
        "{detail}"
    );
    let pushed: Vec<&str> = events
        .iter()
        .filter(|event| {
            event.detail["grant_id"] == 910_001 && event.kind.as_str().starts_with("github_push")
        })
        .map(|event| event.kind.as_str())
        .collect();
    assert_eq!(pushed, vec!["github_push_queued", "github_push_done"]);
    let verify = desk.patdesk(&["audit", "verify"]);
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// GitHub and the table no longer list it; the records sheet keeps it, backed by its event.
#[test]
fn the_records_sheet_keeps_a_revoked_outside_token() {
    let (_standin, desk) = outside_token_revoked();
    let revoked_hash = desk
        .store()
        .events_after(0, 1000)
        .expect("events")
        .into_iter()
        .find(|event| event.kind == EventKind::OutsideTokenRevoked)
        .expect("the revocation's event")
        .hash;
    let sheet = desk.patdesk_as("alice", &["export", "--format", "json"]);
    let sheet: Value = serde_json::from_slice(&sheet.stdout).expect("JSON");
    let rows = sheet.as_array().expect("rows");
    assert_eq!(rows.len(), 1, "{sheet}");
    assert_eq!(
        (
            rows[0]["id"].is_null(),
            rows[0]["grant"].as_i64(),
            rows[0]["owner"].as_str(),
            rows[0]["status"].as_str(),
            rows[0]["revoked_by"].as_str(),
            rows[0]["revoked_why"].as_str(),
            rows[0]["event_hash"].as_str(),
        ),
        (
            true,
            Some(910_001),
            Some("old-bot"),
            Some("revoked"),
            Some("alice"),
            Some("no-longer-required: the old deployer is gone"),
            Some(revoked_hash.as_str()),
        ),
        "{sheet}"
    );
}

#[test]
fn an_outside_revocation_that_fails_may_be_asked_again_and_one_retargeted_is_refused() {
    let standin = Standin::start(&[("acme-corp", 11, org_with_outside_tokens())], json!({}));
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let alice = patdesk::lifecycle::Member {
        login: "alice".to_string(),
        os_user: "pd-alice".to_string(),
        uid: 4241,
        authenticated_by: patdesk::lifecycle::Authentication::PeerCredentials,
        slack: None,
    };
    let reason = patdesk::lifecycle::RevokeReason::NoLongerRequired;
    let mut store = desk.store();
    let client = desk.client();
    let team = desk.config().team;
    let push = |store: &mut Store| {
        runtime()
            .block_on(push_decisions(&client, store, &team))
            .expect("push")
    };

    // GitHub dropped old-bot's grant since the last sync: the revocation fails, is alerted,
    // and may be asked for again.
    let mut org = org_with_outside_tokens();
    org["grants"].as_array_mut().expect("grants").remove(0);
    standin.replace_org("acme-corp", org);
    let first =
        patdesk::decide::revoke_outside(&mut store, &alice, "acme-corp", 910_001, reason, None)
            .expect("revoke");
    let report = push(&mut store);
    assert_eq!(report.failed, 1, "{report}");
    let failed: Vec<String> = store
        .alerts()
        .expect("alerts")
        .into_iter()
        .filter(|alert| alert.kind == "github_push_failed")
        .map(|alert| alert.message)
        .collect();
    assert!(
        failed.len() == 1
            && failed[0].contains("the outside token acme-corp:910001")
            && failed[0].contains("no such grant"),
        "{failed:?}"
    );
    let rows = store
        .outside_tokens(false, false, 0, u32::MAX)
        .expect("rows");
    assert_eq!(rows[0].revocation, Some(PushState::Failed));
    let second =
        patdesk::decide::revoke_outside(&mut store, &alice, "acme-corp", 910_001, reason, None)
            .expect("asked again after a failure");
    assert_ne!(first.github_push, second.github_push);

    // Someone with write access to the file points alice's revocation at new-bot's token: the
    // audit log backs a revocation of 910001, not of 910002, so it is never sent.
    store
        .connection()
        .execute(
            "UPDATE github_pushes SET grant_id = 910002 WHERE id = ?1",
            [second.github_push],
        )
        .expect("retarget");
    let report = push(&mut store);
    assert_eq!((report.done, report.refused), (0, 1), "{report}");
    assert!(
        standin
            .calls()
            .iter()
            .all(|call| call["action"] != "revoke"),
        "{:?}",
        standin.calls()
    );
    assert!(
        store
            .alerts()
            .expect("alerts")
            .iter()
            .any(|alert| alert.kind == "github_push_refused"
                && alert.message.contains("acme-corp:910002")),
        "refused and alerted"
    );
    let audit = store.audit(None).expect("audit");
    assert!(
        audit
            .mismatches
            .iter()
            .any(|m| m.push == Some(second.github_push) && m.problem.contains("queued by no event")),
        "{:?}",
        audit.mismatches
    );

    // A crash after GitHub took a revocation but before patdesk recorded it: the retry finds
    // the grant gone from GitHub's listing and sends nothing.
    let third =
        patdesk::decide::revoke_outside(&mut store, &alice, "acme-corp", 910_001, reason, None)
            .expect("asked again after a refusal");
    store
        .connection()
        .execute(
            "UPDATE github_pushes SET attempts = 1 WHERE id = ?1",
            [third.github_push],
        )
        .expect("an attempt made before the crash");
    let report = push(&mut store);
    assert_eq!(report.done, 1, "{report}");
    assert!(
        standin
            .calls()
            .iter()
            .all(|call| call["action"] != "revoke")
    );
    let done = store.events_after(0, 1000).expect("events");
    let done = done.last().expect("an event");
    assert_eq!(
        (done.kind.as_str(), done.detail["grant_id"].as_i64()),
        ("github_push_done", Some(910_001))
    );
    assert!(
        done.detail["note"]
            .as_str()
            .is_some_and(|note| note.contains("already"))
    );
}

#[test]
fn a_push_the_audit_log_does_not_back_is_never_sent_and_raises_an_alert() {
    let requests = vec![
        pending(
            1,
            "carol",
            "issue-reader carol",
            Some("Reads issues for the report"),
        ),
        pending(
            2,
            "dave",
            "issue-reader dave",
            Some("Reads issues for the report"),
        ),
        pending(
            3,
            "erin",
            "issue-reader erin",
            Some("Reads issues for the report"),
        ),
    ];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let carol = desk.record_by_github_id(1);
    let dave = desk.record_by_github_id(2);
    let erin = desk.record_by_github_id(3);

    // Someone with write access to the file queues an approval with no decision behind it.
    desk.store()
        .connection()
        .execute(
            "INSERT INTO github_pushes (request_id, action, idempotency_key, state, created_at, updated_at)
             VALUES (?1, 'approve', 'forged', 'queued', '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z')",
            [carol.id],
        )
        .expect("insert");
    // And bob approves dave's, then leaves the team before the push goes.
    let bob = patdesk::lifecycle::Member {
        login: "bob".to_string(),
        os_user: "pd-bob".to_string(),
        uid: 4242,
        authenticated_by: patdesk::lifecycle::Authentication::PeerCredentials,
        slack: None,
    };
    patdesk::decide::approve(
        &mut desk.store(),
        &bob,
        dave.id,
        Some("scoped to one repository"),
        None,
        &ReviewPolicy::default(),
    )
    .expect("approve");
    // And alice approves erin's with a click in Slack, then leaves too: a decision taken in
    // Slack is carried only for a member still in the config, as one taken at the CLI.
    let alice_in_slack = patdesk::lifecycle::Member {
        login: "alice".to_string(),
        os_user: "pd-alice".to_string(),
        uid: 4241,
        authenticated_by: patdesk::lifecycle::Authentication::SlackUserId,
        slack: Some(patdesk::lifecycle::SlackIdentity {
            user_id: "U0ALICE0001".to_string(),
            team_id: "T0ACMECORP1".to_string(),
        }),
    };
    patdesk::decide::approve(
        &mut desk.store(),
        &alice_in_slack,
        erin.id,
        Some("scoped to one repository"),
        None,
        &ReviewPolicy::default(),
    )
    .expect("approve");
    let mut team = desk.config().team;
    team.members
        .retain(|member| member.login != "bob" && member.login != "alice");

    let client = desk.client();
    let mut store = desk.store();
    let report = runtime()
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!((report.done, report.refused), (0, 3), "{report}");
    assert!(standin.calls().is_empty(), "{:?}", standin.calls());
    let alerts: Vec<String> = store
        .alerts()
        .expect("alerts")
        .into_iter()
        .filter(|alert| alert.kind == "github_push_refused")
        .map(|alert| alert.message)
        .collect();
    assert_eq!(alerts.len(), 3, "{alerts:?}");
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("no event in the audit log queued it")),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("bob decided it but is not a team member")),
        "{alerts:?}"
    );
    assert!(
        alerts
            .iter()
            .any(|a| a.contains("alice decided it but is not a team member")),
        "{alerts:?}"
    );
    // Refused once, not retried: the next round sends nothing and raises nothing more.
    let again = runtime()
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!((again.done, again.refused), (0, 0));
    assert!(standin.calls().is_empty());
    // And the auditor sees the forged row.
    let verify = desk.patdesk(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&verify.stderr).contains("was queued by no event"));
}

/// A large sync cut off by a rate limit keeps the pages it recorded, and the next one goes on
/// from there. `PATDESK_SYNC_REQUESTS` sets the size (3,000 by default; 100,000 measured, see
/// the README).
#[test]
fn a_large_sync_commits_page_by_page_and_goes_on_after_a_rate_limit() {
    let total: i64 = std::env::var("PATDESK_SYNC_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let requests: Vec<Value> = (1..=total)
        .map(|n| {
            pending(
                n,
                &format!("dev-{}", n % 25),
                &format!("issue-reader {n}"),
                Some("Reads issues of acme-corp/api for the weekly report"),
            )
        })
        .collect();
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    // A rate limit that resets in a minute is an error here, not a wait: the sync stops.
    let client = desk.client_with(ClientOptions {
        timeout: Duration::from_secs(30),
        backoff: Duration::from_millis(50),
        max_rate_limit_wait: Duration::from_secs(1),
        ..ClientOptions::default()
    });
    let recorded = || -> i64 {
        desk.store()
            .connection()
            .query_row(
                "SELECT COUNT(DISTINCT github_request_id) FROM requests",
                [],
                |row| row.get(0),
            )
            .expect("count")
    };
    // About half-way through the calls the first sync would make.
    let calls_before_limit = u32::try_from(total).expect("a count") / 2 + 10;
    standin.faults(json!({ "rate_limit_after": calls_before_limit, "rate_limit_seconds": 60 }));
    let runtime = runtime();
    let mut store = desk.store();
    let cut = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect_err("the rate limit stops the sync");
    assert!(
        matches!(
            cut,
            patdesk::sync::SyncError::Github(GithubError::RateLimited { .. })
        ),
        "{cut}"
    );
    let kept = recorded();
    assert!(
        kept > 0 && kept < total && kept % 100 == 0,
        "whole pages kept, the rest not yet: {kept} of {total}"
    );

    standin.faults(json!({}));
    let calls_before = standin.stats()["requests"].as_u64().expect("stats");
    let report = runtime
        .block_on(sync_org(&client, &mut store, "acme-corp", &desk.options()))
        .expect("the next sync goes on");
    assert_eq!(report.new as i64, total - kept, "{report:?}");
    assert_eq!(report.pending as i64, total);
    assert_eq!(recorded(), total);
    let rows: i64 = desk
        .store()
        .connection()
        .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0))
        .expect("count");
    assert_eq!(rows, total, "each request once");
    // The requests recorded before cost no calls again: a call per page, and the new
    // requests' own (their repositories, their requester's standing and address).
    let calls = standin.stats()["requests"].as_u64().expect("stats") - calls_before;
    let new = u64::try_from(total - kept).expect("count");
    assert!(
        calls < u64::try_from(total).expect("count") / 100 + 3 * new + 100,
        "{calls} calls for {new} new requests"
    );
    assert!(desk.store().audit(None).expect("audit").intact());
}
