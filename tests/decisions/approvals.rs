//! Two-person approval (`review.approvals_needed`): a critical request is approved by two
//! different members, each approval its own audit event, and GitHub and the requester hear
//! of it only when the second is given.

use super::common;

use patdesk::lifecycle::{Authentication, Member, PushAction};
use patdesk::request::RequestState;
use patdesk::review::{ReviewPolicy, Risk};
use patdesk::store::{Decision, PushTarget, Store};
use patdesk::sync::push_decisions;
use serde_json::{Value, json};

use common::desk::wait_for;
use common::github_desk::{Desk, alerts_of, org_with, runtime};
use common::standin::{Standin, pending};

/// dave's request for write access to his repository's administration: critical.
fn critical_request(id: i64) -> Value {
    let mut request = pending(
        id,
        "dave",
        "repo-settings dave",
        Some("Sets the branch protection of acme-corp/api from the release job"),
    );
    request["permissions"] =
        json!({ "repository": { "administration": "write", "metadata": "read" } });
    request
}

fn desk_with(requests: &[Value]) -> (Standin, Desk) {
    Desk::synced(
        org_with(requests, "acme-corp"),
        json!({ "dave": "dave@example.org" }),
        "",
    )
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The GitHub calls queued, and the approval mails to the requester, for request `id`.
fn follow_ups(store: &Store, id: i64) -> (i64, i64) {
    let count = |sql: &str| -> i64 {
        store
            .connection()
            .query_row(sql, [id], |row| row.get(0))
            .expect("count")
    };
    (
        count("SELECT COUNT(*) FROM github_pushes WHERE request_id = ?1"),
        // This desk knows no address for dave: telling him is recorded as not possible.
        count(
            "SELECT COUNT(*) FROM events WHERE request_id = ?1 AND kind = 'requester_not_told'
               AND json_extract(detail, '$.mail') = 'approval'",
        ),
    )
}

#[test]
fn a_critical_request_is_approved_by_two_members_and_github_hears_of_it_once() {
    let (standin, desk) = desk_with(&[critical_request(1)]);
    let record = desk.record_by_github_id(1);
    assert_eq!(
        (record.state, record.risk),
        (RequestState::InReview, Risk::Critical)
    );
    let id = record.id.to_string();

    // alice's approval is recorded; the request stays in review, nothing goes out.
    let first = desk.patdesk_as("alice", &["approve", &id, "--reason", "the release job"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("recorded (1 of 2: alice)"),
        "{}",
        stdout(&first)
    );
    let store = desk.store();
    assert_eq!(
        store.request(record.id).expect("request").state,
        RequestState::InReview
    );
    assert_eq!(follow_ups(&store, record.id), (0, 0));
    let given = store.approvals(record.id).expect("approvals");
    assert_eq!(given.len(), 1);
    assert_eq!(given[0].by, "alice");
    assert_eq!(given[0].reason.as_deref(), Some("the release job"));
    assert_eq!(
        given[0].member.as_ref().map(|m| m.authenticated_by),
        Some(Authentication::PeerCredentials)
    );

    // She cannot be the second as well.
    let again = desk.patdesk_as("alice", &["approve", &id, "--reason", "really"]);
    assert_ne!(again.status.code(), Some(0));
    assert!(
        stderr(&again).contains("alice has already approved"),
        "{}",
        stderr(&again)
    );
    assert_eq!(store.approvals(record.id).expect("approvals").len(), 1);

    // The table and the record say who has approved and that one more is needed.
    let listed = stdout(&desk.patdesk_as("bob", &["list"]));
    assert!(listed.contains("in_review (approved 1/2)"), "{listed}");
    let shown = stdout(&desk.patdesk_as("bob", &["show", &id]));
    assert!(
        shown.contains("approvals       1 of 2 (alice); 1 more needed"),
        "{shown}"
    );

    // bob's is the second: approved, carried to GitHub once, the requester told once.
    let second = desk.patdesk_as("bob", &["approve", &id, "--reason", "checked the job"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("is approved (by alice and bob)"),
        "{}",
        stdout(&second)
    );
    let approved = store.request(record.id).expect("request");
    assert_eq!(approved.state, RequestState::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("bob"));
    assert_eq!(follow_ups(&store, record.id), (1, 1));
    wait_for(60, || (!standin.calls().is_empty()).then_some(()))
        .expect("the approval reaches GitHub");
    let calls = standin.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["action"], "approve");

    // The audit log: alice's approval, then bob's decision naming hers.
    let events = store.events_for(record.id).expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let given_at = kinds
        .iter()
        .position(|k| *k == "approval_given")
        .expect("given");
    let decided_at = kinds
        .iter()
        .position(|k| *k == "approved")
        .expect("approved");
    assert!(given_at < decided_at, "{kinds:?}");
    assert_eq!(events[given_at].actor, "alice");
    let decision = &events[decided_at];
    assert_eq!(decision.actor, "bob");
    assert_eq!(decision.detail["with_approvals"][0]["by"], "alice");
    assert_eq!(
        decision.detail["with_approvals"][0]["member"]["os_user"],
        "pd-alice"
    );
    assert!(
        desk.patdesk_as("bob", &["audit", "verify"])
            .status
            .success()
    );
}

#[test]
fn a_change_to_the_request_asks_for_the_approvals_again() {
    let (_standin, desk) = desk_with(&[critical_request(1)]);
    let record = desk.record_by_github_id(1);
    let id = record.id.to_string();
    let first = desk.patdesk_as("alice", &["approve", &id, "--reason", "the release job"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    // A new purpose: what alice approved is not what stands now.
    let purpose = desk.patdesk_as(
        "bob",
        &[
            "purpose",
            &id,
            "Sets branch protection and rulesets of every repository from the release job",
        ],
    );
    assert_eq!(purpose.status.code(), Some(0), "{}", stderr(&purpose));
    let store = desk.store();
    assert!(store.approvals(record.id).expect("approvals").is_empty());
    let shown = stdout(&desk.patdesk_as("bob", &["show", &id]));
    assert!(
        shown.contains("approvals       0 of 2; 2 more needed"),
        "{shown}"
    );
    // bob's approval is now the first of two, not the second.
    let bob = desk.patdesk_as("bob", &["approve", &id, "--reason", "checked the job"]);
    assert_eq!(bob.status.code(), Some(0), "{}", stderr(&bob));
    assert!(
        stdout(&bob).contains("recorded (1 of 2: bob)"),
        "{}",
        stdout(&bob)
    );
    assert_eq!(
        store.request(record.id).expect("request").state,
        RequestState::InReview
    );
    assert_eq!(follow_ups(&store, record.id), (0, 0));
}

#[test]
fn an_approval_by_a_member_since_removed_is_not_carried_to_github() {
    let (standin, desk) = desk_with(&[critical_request(1)]);
    let record = desk.record_by_github_id(1);
    let member = |login: &str, uid| Member {
        login: login.to_string(),
        os_user: format!("pd-{login}"),
        uid,
        authenticated_by: Authentication::PeerCredentials,
        slack: None,
    };
    let policy = ReviewPolicy::default();
    let mut store = desk.store();
    let reason = Some("the release job");
    patdesk::decide::approve(
        &mut store,
        &member("alice", 4241),
        record.id,
        reason,
        None,
        &policy,
    )
    .expect("alice approves");
    let decided = patdesk::decide::approve(
        &mut store,
        &member("bob", 4242),
        record.id,
        reason,
        None,
        &policy,
    )
    .expect("bob approves");
    assert_eq!(decided.state, RequestState::Approved);
    assert!(decided.github_push.is_some());
    // alice leaves the team before the push goes: the approval it needed is not a member's.
    let mut team = desk.config().team;
    team.members.retain(|m| m.login != "alice");
    let report = runtime()
        .block_on(push_decisions(&desk.client(), &mut store, &team))
        .expect("push");
    assert_eq!((report.done, report.refused), (0, 1), "{report}");
    assert!(standin.calls().is_empty());
    let refused = alerts_of(&store, "github_push_refused");
    assert!(
        refused.iter().any(
            |a| a.contains("an approval it counted: alice decided it but is not a team member")
        ),
        "{refused:?}"
    );
}

/// A completing decision written by someone with the database at hand, counting one
/// member's approval twice, is refused before GitHub though every name in it is a member's.
#[test]
fn a_decision_counting_one_approval_twice_is_not_carried_to_github() {
    let (standin, desk) = desk_with(&[critical_request(1)]);
    let id = desk.record_by_github_id(1).id;
    let member = |login: &str, uid| Member {
        login: login.to_string(),
        os_user: format!("pd-{login}"),
        uid,
        authenticated_by: Authentication::PeerCredentials,
        slack: None,
    };
    let mut store = desk.store();
    let reason = Some("the release job");
    patdesk::decide::approve(
        &mut store,
        &member("alice", 4241),
        id,
        reason,
        None,
        &ReviewPolicy::default(),
    )
    .expect("alice approves");
    let alices = store.approvals(id).expect("approvals");
    assert_eq!(alices.len(), 1);
    let twice = [alices[0].clone(), alices[0].clone()];
    store
        .write_for(&member("bob", 4242), |tx| {
            tx.record_decision(id, "bob", Decision::Approved, reason, &twice, None)?;
            tx.enqueue_push(
                &PushTarget::Request(id),
                PushAction::Approve,
                reason,
                "forged-approve",
            )
        })
        .expect("forged");
    let report = runtime()
        .block_on(push_decisions(
            &desk.client(),
            &mut store,
            &desk.config().team,
        ))
        .expect("push");
    assert_eq!((report.done, report.refused), (0, 1), "{report}");
    assert!(standin.calls().is_empty());
    assert!(
        alerts_of(&store, "github_push_refused")
            .iter()
            .any(|a| a.contains("alice approved it twice")),
        "{:?}",
        alerts_of(&store, "github_push_refused")
    );
}

#[test]
fn a_request_of_lower_risk_is_approved_by_one_member() {
    let (_standin, desk) = desk_with(&[pending(
        2,
        "dave",
        "issue-reader dave",
        Some("Reads the issues of acme-corp/api for the weekly report"),
    )]);
    let record = desk.record_by_github_id(2);
    assert!(record.risk < Risk::Critical, "{:?}", record.risk);
    let id = record.id.to_string();
    let output = desk.patdesk_as("alice", &["approve", &id, "--reason", "the weekly report"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("is approved (by alice)"),
        "{}",
        stdout(&output)
    );
    assert_eq!(follow_ups(&desk.store(), record.id).0, 1);
}
