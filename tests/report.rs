//! The weekly report's content, from a known database: what waits (oldest first, with how
//! long), the week's decisions by member, the tokens expiring within 14 days, stale and
//! without expiry, and the audit head, as patdesk's own template writes it.

mod common;

use jiff::SignedDuration;
use patdesk::config::ReportTime;
use patdesk::mail::compose::Templates;
use patdesk::report::{render, weekly};
use patdesk::request::RequestState;
use patdesk::store::{Decision, EventKind, Store, format_time};
use tempfile::TempDir;

use common::builders::RequestBuilder;

fn days(count: i64) -> SignedDuration {
    SignedDuration::from_hours(count * 24)
}

#[test]
fn the_weekly_report_says_what_waits_what_was_decided_and_which_tokens_need_a_look() {
    let dir = TempDir::new().expect("temp dir");
    let mut store = Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    // The builders' requests are made on a fixed day; the report is two days after.
    let now = common::builders::requested_at() + days(2);
    let ago = |count: i64| (now - days(count)).to_string();

    let old_wait = RequestBuilder::tidy()
        .github_id(1)
        .owner("carol", Some("carol@example.org"))
        .token_name(Some("ci-reader"))
        .requested(&ago(10))
        .insert(&mut store);
    let new_wait = RequestBuilder::tidy()
        .github_id(2)
        .owner("dana", None)
        .token_name(Some("docs\nPAT-99  0 day(s)  forged line"))
        .state(RequestState::AwaitingPurpose)
        .requested(&ago(3))
        .insert(&mut store);
    let expiring = RequestBuilder::tidy()
        .github_id(3)
        .owner("erin", None)
        .token_name(Some("deployer"))
        .expires_in_days(5)
        .insert(&mut store);
    let later = RequestBuilder::tidy()
        .github_id(4)
        .owner("fay", None)
        .expires_in_days(60)
        .insert(&mut store);
    let forever = RequestBuilder::tidy()
        .github_id(5)
        .owner("gus", None)
        .token_name(Some("backup-bot"))
        .no_expiry()
        .insert(&mut store);
    let denied = RequestBuilder::tidy()
        .github_id(6)
        .owner("hal", None)
        .insert(&mut store);
    store
        .write(|tx| {
            tx.record_decision(expiring, "alice", Decision::Approved, Some("deploys"))?;
            tx.record_decision(later, "alice", Decision::Approved, None)?;
            tx.record_decision(forever, "bob", Decision::Approved, Some("backups"))?;
            tx.record_decision(denied, "bob", Decision::Denied, Some("too broad"))?;
            tx.record_last_use(later, None)?;
            tx.record_stale(later, &serde_json::json!({}))?;
            // A token no request accounts for, revoked by its grant: bob's revocation too.
            tx.append_event(
                "bob",
                None,
                EventKind::OutsideTokenRevoked,
                &serde_json::json!({ "org": "acme-corp", "grant_id": 910_001 }),
            )?;
            Ok::<_, patdesk::store::StoreError>(())
        })
        .expect("decisions");

    let report = weekly(&store, now, 90).expect("report");
    let waiting: Vec<(i64, i64)> = report
        .waiting
        .iter()
        .map(|line| (line.request, line.days))
        .collect();
    assert_eq!(
        waiting,
        vec![(old_wait, 10), (new_wait, 3)],
        "oldest first, with how long"
    );
    let decisions: Vec<(&str, u32, u32)> = report
        .decisions
        .iter()
        .map(|member| (member.member.as_str(), member.approved, member.denied))
        .collect();
    assert_eq!(decisions, vec![("alice", 2, 0), ("bob", 1, 1)]);
    let ids = |lines: &[patdesk::report::Line]| -> Vec<i64> {
        lines.iter().map(|line| line.request).collect()
    };
    assert_eq!(ids(&report.expiring), vec![expiring], "within 14 days only");
    assert_eq!(report.expiring[0].days, 3, "days left");
    assert_eq!(ids(&report.stale), vec![later]);
    assert_eq!(report.stale[0].date, "never");
    assert_eq!(ids(&report.without_expiry), vec![forever]);
    let head = store.chain_head().expect("head").expect("events");
    assert_eq!(report.audit_head, head.to_string());

    let text = render(&Templates::load(None).expect("templates"), &report).expect("render");
    let week_ending = now.strftime("%Y-%m-%d").to_string();
    assert!(
        text.starts_with(&format!(
            "patdesk weekly report, the week to {week_ending}\n\n"
        )),
        "{text}"
    );
    for expected in [
        "Waiting for a decision (2), oldest first:",
        &format!("  PAT-{old_wait}  10 day(s)  in_review  carol: \"ci-reader\" (acme-corp)"),
        "  alice: 2 approved, 0 denied, 0 revoked",
        "  bob: 1 approved, 1 denied, 1 revoked",
        "Tokens expiring within 14 days (1):",
        &format!("  PAT-{later}  last used never  fay:"),
        &format!("  PAT-{forever}  gus: \"backup-bot\" (acme-corp)"),
        "Tokens approved without a request patdesk saw: 0, of them 0 stale",
        &format!("Audit head: {head}"),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // A line break in a token name is written out, not a line of the report.
    assert!(!text.contains("\nPAT-99"), "{text}");
    assert!(text.contains("docs\\nPAT-99"), "{text}");
}

/// On its day the report is raised as an alert (so it reaches Slack and the alert address as
/// every alert does), once; not on another day.
#[test]
fn the_report_is_raised_once_on_its_day() {
    let dir = TempDir::new().expect("temp dir");
    let monday: jiff::Timestamp = "2026-12-07T09:00:00Z".parse().expect("time");
    let hand = patdesk::clock::ManualClock::starting_at(monday);
    let mut store = Store::open(&dir.path().join("patdesk.db"), &hand.clock()).expect("store");
    let templates = Templates::load(None).expect("templates");
    // The store's clock and the `now` the daemon hands over are one: the clock is moved.
    let send_at = |store: &mut Store, day, now| {
        hand.set(now);
        let time = ReportTime { day, hour: 8 };
        patdesk::report::send_if_due(store, time, &templates, 90, hand.now()).expect("report")
    };
    assert!(!send_at(&mut store, jiff::civil::Weekday::Friday, monday));
    assert!(send_at(&mut store, jiff::civil::Weekday::Monday, monday));
    assert!(!send_at(
        &mut store,
        jiff::civil::Weekday::Monday,
        monday + SignedDuration::from_hours(3)
    ));
    let alerts = store.alerts().expect("alerts");
    let reports: Vec<_> = alerts
        .iter()
        .filter(|alert| alert.kind == "weekly_report")
        .collect();
    assert_eq!(reports.len(), 1, "{alerts:?}");
    assert_eq!(
        format_time(reports[0].created_at),
        "2026-12-07T09:00:00.000Z"
    );
    assert!(
        reports[0]
            .message
            .starts_with("patdesk weekly report, the week to 2026-12-07")
    );
    assert!(send_at(
        &mut store,
        jiff::civil::Weekday::Monday,
        monday + days(7)
    ));
}
