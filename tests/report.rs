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

/// A week of records, two days after the builders' requests: two requests waiting (one with
/// a line break in its token name), three approved (one expiring within days, one unused, one
/// never expiring), one denied, and a token no request accounts for revoked by bob.
struct Week {
    _dir: TempDir,
    store: Store,
    now: jiff::Timestamp,
    old_wait: i64,
    new_wait: i64,
    expiring: i64,
    later: i64,
    forever: i64,
}

impl Week {
    fn new() -> Week {
        let dir = TempDir::new().expect("temp dir");
        let mut store = Store::open(
            &dir.path().join("patdesk.db"),
            &patdesk::clock::Clock::system(),
        )
        .expect("store");
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
                tx.record_decision(
                    expiring,
                    "alice",
                    Decision::Approved,
                    Some("deploys"),
                    &[],
                    None,
                )?;
                tx.record_decision(later, "alice", Decision::Approved, None, &[], None)?;
                tx.record_decision(
                    forever,
                    "bob",
                    Decision::Approved,
                    Some("backups"),
                    &[],
                    None,
                )?;
                tx.record_decision(
                    denied,
                    "bob",
                    Decision::Denied,
                    Some("too broad"),
                    &[],
                    None,
                )?;
                tx.record_last_use(later, None)?;
                tx.record_stale(later, &serde_json::json!({}))?;
                tx.append_event(
                    "bob",
                    None,
                    EventKind::OutsideTokenRevoked,
                    &serde_json::json!({ "org": "acme-corp", "grant_id": 910_001 }),
                )?;
                Ok::<_, patdesk::store::StoreError>(())
            })
            .expect("decisions");
        Week {
            _dir: dir,
            store,
            now,
            old_wait,
            new_wait,
            expiring,
            later,
            forever,
        }
    }

    fn report(&self) -> patdesk::report::WeeklyReport {
        weekly(&self.store, self.now, 90).expect("report")
    }

    fn text(&self) -> String {
        render(&Templates::load(None).expect("templates"), &self.report()).expect("render")
    }
}

fn ids(lines: &[patdesk::report::Line]) -> Vec<i64> {
    lines.iter().map(|line| line.request).collect()
}

#[test]
fn the_report_lists_the_waiting_requests_oldest_first_with_their_days() {
    let week = Week::new();
    let waiting: Vec<(i64, i64)> = week
        .report()
        .waiting
        .iter()
        .map(|line| (line.request, line.days))
        .collect();
    assert_eq!(waiting, vec![(week.old_wait, 10), (week.new_wait, 3)]);
}

#[test]
fn the_report_counts_each_members_decisions() {
    let week = Week::new();
    let report = week.report();
    let decisions: Vec<(&str, u32, u32)> = report
        .decisions
        .iter()
        .map(|member| (member.member.as_str(), member.approved, member.denied))
        .collect();
    assert_eq!(decisions, vec![("alice", 2, 0), ("bob", 1, 1)]);
}

#[test]
fn the_report_names_tokens_expiring_within_fourteen_days_with_the_days_left() {
    let week = Week::new();
    let report = week.report();
    assert_eq!(ids(&report.expiring), vec![week.expiring]);
    assert_eq!(report.expiring[0].days, 3);
}

#[test]
fn the_report_names_stale_and_never_expiring_tokens() {
    let week = Week::new();
    let report = week.report();
    assert_eq!(ids(&report.stale), vec![week.later]);
    assert_eq!(report.stale[0].date, "never");
    assert_eq!(ids(&report.without_expiry), vec![week.forever]);
}

#[test]
fn the_report_carries_the_audit_head() {
    let week = Week::new();
    let head = week.store.chain_head().expect("head").expect("events");
    assert_eq!(week.report().audit_head, head.to_string());
    assert!(week.text().contains(&format!("Audit head: {head}")));
}

#[test]
fn the_rendered_report_says_each_part_in_a_line() {
    let week = Week::new();
    let text = week.text();
    let week_ending = week.now.strftime("%Y-%m-%d").to_string();
    assert!(
        text.starts_with(&format!(
            "patdesk weekly report, the week to {week_ending}\n\n"
        )),
        "{text}"
    );
    for expected in [
        "Waiting for a decision (2), oldest first:",
        &format!(
            "  PAT-{}  10 day(s)  in_review  carol: \"ci-reader\" (acme-corp)",
            week.old_wait
        ),
        "  alice: 2 approved, 0 denied, 0 revoked",
        "  bob: 1 approved, 1 denied, 1 revoked",
        "Tokens expiring within 14 days (1):",
        &format!("  PAT-{}  last used never  fay:", week.later),
        &format!("  PAT-{}  gus: \"backup-bot\" (acme-corp)", week.forever),
        "Tokens approved without a request patdesk saw: 0, of them 0 stale",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

/// A line break in a token name is written out, not a line of the report.
#[test]
fn a_line_break_in_a_token_name_cannot_forge_a_line_of_the_report() {
    let text = Week::new().text();
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

#[test]
fn the_report_gives_the_weeks_time_to_a_decision_by_risk() {
    let dir = TempDir::new().expect("temp dir");
    let start = common::builders::requested_at();
    let clock = patdesk::clock::ManualClock::starting_at(start);
    let mut store = Store::open(&dir.path().join("patdesk.db"), &clock.clock()).expect("store");
    let quick = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let slow = RequestBuilder::tidy().github_id(2).insert(&mut store);
    let admin = RequestBuilder::tidy()
        .github_id(3)
        .permission("repository", "administration", "write")
        .insert(&mut store);
    let risk = |id: i64| store.request(id).expect("request").risk;
    let (easy_risk, admin_risk) = (risk(quick), risk(admin));
    assert_eq!(risk(slow), easy_risk);
    assert!(admin_risk > easy_risk);
    for (after_hours, id, who) in [(2, quick, "alice"), (6, slow, "bob"), (10, admin, "alice")] {
        clock.set(start + SignedDuration::from_hours(after_hours));
        store
            .write(|tx| tx.record_decision(id, who, Decision::Approved, Some("fine"), &[], None))
            .expect("decided");
    }
    let report = weekly(&store, start + days(1), 90).expect("report");
    let times: Vec<(String, usize, f64, f64)> = report
        .time_to_decision
        .iter()
        .map(|line| {
            (
                line.risk.clone(),
                line.decided,
                line.p50_hours,
                line.p95_hours,
            )
        })
        .collect();
    assert_eq!(
        times,
        vec![
            (admin_risk.as_str().to_string(), 1, 10.0, 10.0),
            (easy_risk.as_str().to_string(), 2, 2.0, 6.0),
        ],
        "riskiest first"
    );
    let text = render(&Templates::load(None).expect("templates"), &report).expect("render");
    assert!(
        text.contains(&format!(
            "  {}: 2 decided, p50 2.0 h, p95 6.0 h",
            easy_risk.as_str()
        )),
        "{text}"
    );
}
