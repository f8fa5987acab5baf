//! Times in tables as a person reads them: "3 h ago", "in 2 days"; past a month, the date.
//! `--utc` prints the exact time instead.

use jiff::Timestamp;

/// `at` as seen from `now`: relative within a month, the date beyond.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second() - at.as_second();
    let (span, past) = (seconds.unsigned_abs(), seconds >= 0);
    let amount = match span {
        0..60 => return "just now".to_string(),
        60..3600 => format!("{} min", span / 60),
        3600..86_400 => format!("{} h", span / 3600),
        86_400..172_800 => "1 day".to_string(),
        172_800..2_592_000 => format!("{} days", span / 86_400),
        _ => return at.strftime("%Y-%m-%d").to_string(),
    };
    if past {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// A stored time, relative or exact (as the store writes it) as asked.
pub fn shown(at: Timestamp, utc: bool, now: Timestamp) -> String {
    if utc {
        crate::store::format_time(at)
    } else {
        relative(at, now)
    }
}

#[cfg(test)]
mod tests {
    use super::relative;
    use jiff::{SignedDuration, Timestamp};

    #[test]
    fn recent_times_are_relative_and_old_ones_dated() {
        let now: Timestamp = "2026-12-03T12:00:00Z".parse().expect("time");
        let ago = |seconds: i64| relative(now - SignedDuration::from_secs(seconds), now);
        assert_eq!(ago(20), "just now");
        assert_eq!(ago(5 * 60), "5 min ago");
        assert_eq!(ago(3 * 3600 + 59), "3 h ago");
        assert_eq!(ago(30 * 3600), "1 day ago");
        assert_eq!(ago(9 * 86_400), "9 days ago");
        assert_eq!(ago(40 * 86_400), "2026-10-24");
        assert_eq!(relative(now + SignedDuration::from_hours(2), now), "in 2 h");
    }

    /// Across a month's end, the new year, the leap day and Europe's summer-time change: the
    /// span is counted in UTC seconds, so no calendar shift shows in it.
    #[test]
    fn relative_times_hold_across_the_calendar() {
        let at = |text: &str| -> Timestamp { text.parse().expect("time") };
        for (when, now, shown) in [
            ("2027-05-01T00:00:59Z", "2027-04-30T23:59:59Z", "in 1 min"),
            (
                "2027-04-01T00:00:00Z",
                "2027-04-30T23:59:59Z",
                "29 days ago",
            ),
            ("2028-01-01T00:00:10Z", "2027-12-31T23:59:30Z", "just now"),
            ("2027-12-31T22:59:30Z", "2027-12-31T23:59:30Z", "1 h ago"),
            ("2028-01-02T00:00:00Z", "2027-12-31T23:59:30Z", "in 1 day"),
            ("2027-11-01T00:00:00Z", "2027-12-31T23:59:30Z", "2027-11-01"),
            ("2028-02-28T12:00:00Z", "2028-02-29T12:00:00Z", "1 day ago"),
            ("2028-03-01T12:00:00Z", "2028-02-29T12:00:00Z", "in 1 day"),
            (
                "2028-01-31T12:00:00Z",
                "2028-02-29T12:00:00Z",
                "29 days ago",
            ),
            ("2028-01-30T12:00:00Z", "2028-02-29T12:00:00Z", "2028-01-30"),
            // Europe's clocks go from 02:00 to 03:00 at 01:00 UTC: still an hour apart.
            ("2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z", "1 h ago"),
            ("2027-10-31T00:30:00Z", "2027-10-31T01:30:00Z", "1 h ago"),
        ] {
            assert_eq!(relative(at(when), at(now)), shown, "{when} from {now}");
        }
    }
}
