//! Time to a decision: a request in review past `review.decide_within_hours` for its risk
//! reminds the team once, past twice that is escalated once, and a decided request or one back
//! with its requester is left alone. The clock is moved, never waited for.

mod common;

use jiff::SignedDuration;
use patdesk::clock::ManualClock;
use patdesk::config::PerRisk;
use patdesk::deadlines::raise_due;
use patdesk::request::RequestState;
use patdesk::store::Store;

use common::builders::{RequestBuilder, requested_at};

fn kinds(store: &Store, id: i64) -> Vec<String> {
    store
        .alerts()
        .expect("alerts")
        .into_iter()
        .filter(|alert| alert.request_id == Some(id))
        .map(|alert| alert.kind.as_str().to_string())
        .collect()
}

#[test]
fn a_request_waiting_past_its_time_reminds_then_escalates_once_each() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let clock = ManualClock::starting_at(requested_at());
    let mut store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    // A medium request (48 h) and a critical one (8 h), both ready for a decision now.
    let medium = RequestBuilder::tidy()
        .github_id(1)
        .all_repositories()
        .insert(&mut store);
    let critical = RequestBuilder::tidy()
        .github_id(2)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let waiting_for_requester = RequestBuilder::tidy()
        .github_id(3)
        .state(RequestState::AwaitingPurpose)
        .insert(&mut store);
    let risk = |id: i64| store.request(id).expect("request").risk;
    assert_eq!(risk(critical), patdesk::review::Risk::Critical);
    let medium_hours = i64::from(PerRisk::DECIDE_WITHIN_HOURS.of(risk(medium)));
    let within = PerRisk::DECIDE_WITHIN_HOURS;

    let at = |hours: i64| requested_at() + SignedDuration::from_hours(hours);
    assert_eq!(raise_due(&mut store, &within, at(7)).expect("round"), 0);
    assert_eq!(
        raise_due(&mut store, &within, at(8)).expect("round"),
        1,
        "critical: 8 h"
    );
    assert_eq!(kinds(&store, critical), ["decision_due"]);
    // Again in the same state: nothing new.
    assert_eq!(raise_due(&mut store, &within, at(9)).expect("round"), 0);
    assert_eq!(
        raise_due(&mut store, &within, at(16)).expect("round"),
        1,
        "critical escalated at 16 h"
    );
    assert_eq!(
        kinds(&store, critical),
        ["decision_due", "decision_overdue"]
    );
    assert!(
        store
            .alerts()
            .expect("alerts")
            .last()
            .is_some_and(|alert| alert.message.contains("escalated")
                && alert
                    .message
                    .contains(&format!("PAT-{critical} (critical risk) has waited 16 h"))),
        "{:?}",
        store.alerts()
    );
    // The medium one reminds at its own time, and a request waiting for its requester never.
    let raised = raise_due(&mut store, &within, at(medium_hours)).expect("round");
    assert_eq!(raised, 1);
    assert_eq!(kinds(&store, medium), ["decision_due"]);
    assert!(kinds(&store, waiting_for_requester).is_empty());
    // Decided: left alone however long it waited.
    store
        .connection()
        .execute(
            "UPDATE requests SET state = 'approved' WHERE id = ?1",
            [medium],
        )
        .expect("decided");
    assert_eq!(
        raise_due(&mut store, &within, at(10 * medium_hours)).expect("round"),
        0
    );
}

#[test]
fn leaving_review_and_coming_back_starts_the_clock_again() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let clock = ManualClock::starting_at(requested_at());
    let mut store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    let id = RequestBuilder::tidy()
        .github_id(1)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let within = PerRisk::DECIDE_WITHIN_HOURS;
    let at = |hours: i64| requested_at() + SignedDuration::from_hours(hours);
    assert_eq!(raise_due(&mut store, &within, at(8)).expect("round"), 1);
    // Back to the requester and into review again 10 h later: the wait counts from there.
    clock.advance(SignedDuration::from_hours(10));
    store
        .connection()
        .execute(
            "UPDATE requests SET state = 'awaiting_purpose', updated_at = ?2 WHERE id = ?1",
            rusqlite_params(id, &clock),
        )
        .expect("out of review");
    store
        .connection()
        .execute(
            "UPDATE requests SET state = 'in_review', updated_at = ?2 WHERE id = ?1",
            rusqlite_params(id, &clock),
        )
        .expect("back in review");
    assert_eq!(
        raise_due(&mut store, &within, at(17)).expect("round"),
        0,
        "7 h since it came back"
    );
    assert_eq!(
        raise_due(&mut store, &within, at(18)).expect("round"),
        1,
        "8 h since it came back"
    );
    let waiting = store.waiting_for_decision().expect("waiting");
    assert_eq!(waiting[0].since, at(10));
}

fn rusqlite_params(id: i64, clock: &ManualClock) -> (i64, String) {
    (id, patdesk::store::format_time(clock.now()))
}

#[test]
fn a_request_first_seen_past_twice_its_time_is_escalated_and_not_reminded_after() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let clock = ManualClock::starting_at(requested_at());
    let mut store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    let id = RequestBuilder::tidy()
        .github_id(1)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let within = PerRisk::DECIDE_WITHIN_HOURS;
    let at = |hours: i64| requested_at() + SignedDuration::from_hours(hours);
    // The daemon was down through the first deadline (8 h) and the second (16 h).
    assert_eq!(raise_due(&mut store, &within, at(20)).expect("round"), 1);
    assert_eq!(raise_due(&mut store, &within, at(21)).expect("round"), 0);
    assert_eq!(kinds(&store, id), ["decision_overdue"]);
}

#[test]
fn a_request_left_undecided_past_deny_after_hours_is_denied_saying_why_and_only_then() {
    use patdesk::deadlines::deny_overdue;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let clock = ManualClock::starting_at(requested_at());
    let mut store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    let low = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let critical = RequestBuilder::tidy()
        .github_id(2)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let risk = |store: &Store, id: i64| store.request(id).expect("request").risk;
    let low_risk = risk(&store, low);
    assert!(low_risk < patdesk::review::Risk::Critical);
    // Only the low risk's deadline is set: 10 days.
    let mut after = PerRisk::NEVER;
    match low_risk {
        patdesk::review::Risk::Low => after.low = 240,
        patdesk::review::Risk::Medium => after.medium = 240,
        patdesk::review::Risk::High => after.high = 240,
        patdesk::review::Risk::Critical => unreachable!(),
    }
    let at = |hours: i64| requested_at() + SignedDuration::from_hours(hours);
    assert_eq!(deny_overdue(&mut store, &after, at(239)).expect("round"), 0);
    clock.set(at(240));
    assert_eq!(deny_overdue(&mut store, &after, at(240)).expect("round"), 1);
    let denied = store.request(low).expect("request");
    assert_eq!(denied.state, RequestState::Denied);
    assert_eq!(denied.decided_by.as_deref(), Some("patdesk:deadline"));
    assert!(
        denied
            .decision_reason
            .as_deref()
            .is_some_and(|why| why.contains("not decided within 240 hours")),
        "{:?}",
        denied.decision_reason
    );
    let pushes = store.pushes_for(low).expect("pushes");
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].action.as_str(), "deny");
    let events = store.events_for(low).expect("events");
    let event = events.iter().find(|e| e.kind == "denied").expect("denied");
    assert_eq!(event.detail["member"]["authenticated_by"], "deadline");
    // The critical request has no deadline set: it waits for a person however long.
    assert_eq!(
        deny_overdue(&mut store, &after, at(10_000)).expect("round"),
        0
    );
    assert_eq!(
        store.request(critical).expect("request").state,
        RequestState::InReview
    );
    // Off by default.
    assert_eq!(
        patdesk::review::ReviewPolicy::default().deny_after_hours,
        PerRisk::NEVER
    );
}

/// A deadline's denial reaches GitHub with no member behind it; anything else in a deadline's
/// name is refused.
#[test]
fn a_deadlines_denial_is_carried_to_github_and_nothing_else_in_its_name() {
    use common::github_desk::{Desk, alerts_of, org_with, reads, runtime};
    let requests = [reads(1, "carol"), reads(2, "dave")];
    let (standin, desk) = Desk::synced(org_with(&requests, "acme-corp"), serde_json::json!({}), "");
    let carol = desk.record_by_github_id(1).id;
    let dave = desk.record_by_github_id(2).id;
    let mut store = desk.store();
    let mut after = PerRisk::NEVER;
    after.low = 1;
    after.medium = 1;
    after.high = 1;
    let now = patdesk::clock::Clock::system().now() + SignedDuration::from_hours(2);
    // Both are denied by the deadline; then a forged approval of dave's in its name.
    store
        .connection()
        .execute(
            "UPDATE requests SET state = 'in_review' WHERE id = ?1",
            [dave],
        )
        .expect("ready");
    assert_eq!(
        patdesk::deadlines::deny_overdue(&mut store, &after, now).expect("round"),
        2
    );
    store
        .connection()
        .execute(
            "UPDATE requests SET state = 'in_review' WHERE id = ?1",
            [dave],
        )
        .expect("forge");
    patdesk::decide::approve(
        &mut store,
        &patdesk::lifecycle::Member::deadline(),
        dave,
        Some("forged"),
        None,
        &patdesk::review::ReviewPolicy::default(),
    )
    .expect("recorded");
    let report = runtime()
        .block_on(patdesk::sync::push_decisions(
            &desk.client(),
            &mut store,
            &desk.config().team,
        ))
        .expect("push");
    assert_eq!((report.done, report.refused), (2, 1), "{report}");
    let actions: Vec<(String, i64)> = standin
        .calls()
        .iter()
        .map(|call| {
            (
                call["action"].as_str().unwrap_or("").to_string(),
                call["id"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(actions.contains(&("deny".to_string(), 1)), "{actions:?}");
    assert!(
        !actions.contains(&("approve".to_string(), 2)),
        "{actions:?}"
    );
    assert!(
        alerts_of(&store, "github_push_refused")
            .iter()
            .any(|a| a.contains("a deadline may only deny"))
    );
    assert_eq!(
        store.request(carol).expect("request").decided_by.as_deref(),
        Some("patdesk:deadline")
    );
}
