//! Dates for fixtures, relative to when the test process started.
//!
//! GitHub's records carry absolute times (when a request was made, when its token expires),
//! and patdesk judges them against its clock: a fixture dated for good would turn into an
//! expired token on some day of the calendar. So fixtures are dated from the process's start,
//! fixed once, so that every sync in a test sees the same record and a suite run a year
//! ahead under `faketime` sees what today's run sees.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};

/// When this test process first asked, to the second.
pub fn test_start() -> Timestamp {
    static START: OnceLock<Timestamp> = OnceLock::new();
    *START.get_or_init(|| {
        let now = patdesk::clock::Clock::system().now();
        Timestamp::from_second(now.as_second()).expect("a time within range")
    })
}

/// `days` after the process's start (before it when negative), as GitHub writes times.
pub fn days_from_start(days: i64) -> String {
    (test_start() + SignedDuration::from_hours(days * 24)).to_string()
}

/// The instants a calendar could trip on: a month's end, the last seconds of 2027, the leap
/// day, and the hour Europe changes to and from summer time (01:00 UTC on the last Sunday of
/// March and of October). The tests of what falls due (reminders, expiry warnings, stale
/// tokens, retention) set their clock to each.
pub const CALENDAR: [&str; 5] = [
    "2027-04-30T23:59:59Z",
    "2027-12-31T23:59:30Z",
    "2028-02-29T12:00:00Z",
    "2027-03-28T01:00:00Z",
    "2027-10-31T01:00:00Z",
];
