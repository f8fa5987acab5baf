//! The weekly report to the team (`alerts.weekly_report`): the requests waiting, oldest first
//! and with how long; the week's decisions by member; the approved tokens expiring within 14
//! days, stale, or never expiring; and the audit head. Its text is the `report` template, which
//! the admin can replace like the mail templates; it reaches the team as an alert (Slack and
//! the alert address), so it is delivered, retried and escaped as every alert is.

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::config::ReportTime;
use crate::mail::compose::{ComposeError, Templates};
use crate::store::{
    AlertKind, MemberDecisions, OutsideCounts, ReportLine, Store, StoreError, format_time,
};

/// Tokens expiring this soon are listed.
pub const EXPIRING_WITHIN_DAYS: i64 = 14;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] ComposeError),
}

/// What the template sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyReport {
    /// The day the report covers up to (YYYY-MM-DD, UTC).
    pub week_ending: String,
    pub waiting: Vec<Line>,
    pub decisions: Vec<MemberDecisions>,
    /// The week's time from ready to decided, by risk (riskiest first; risks with no decision
    /// left out).
    pub time_to_decision: Vec<DecisionTimes>,
    pub expiring_within_days: i64,
    pub expiring: Vec<Line>,
    pub stale_after_days: u32,
    pub stale: Vec<Line>,
    pub without_expiry: Vec<Line>,
    /// The approved tokens no request of patdesk's accounts for.
    pub outside: OutsideCounts,
    /// `SEQ:HASH`, or "empty".
    pub audit_head: String,
}

/// How long the week's decisions of one risk took, from ready for a decision to decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionTimes {
    pub risk: String,
    pub decided: usize,
    /// Hours, one decimal.
    pub p50_hours: f64,
    pub p95_hours: f64,
}

impl DecisionTimes {
    fn of(risk: crate::review::Risk, mut hours: Vec<f64>) -> DecisionTimes {
        hours.sort_by(f64::total_cmp);
        // The nearest rank: the value at or below which that share of decisions lies.
        let at = |share: f64| {
            let rank = ((hours.len() as f64) * share).ceil() as usize;
            let value = hours[rank.clamp(1, hours.len()) - 1];
            (value * 10.0).round() / 10.0
        };
        DecisionTimes {
            risk: risk.as_str().to_string(),
            decided: hours.len(),
            p50_hours: at(0.5),
            p95_hours: at(0.95),
        }
    }
}

/// A request or token in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub request: i64,
    pub org: String,
    pub owner: String,
    pub token_name: String,
    pub state: String,
    /// The day the line is about (requested, expires, last used), or "never".
    pub date: String,
    /// Days since it (waiting) or until it (expiring); 0 where neither applies.
    pub days: i64,
}

/// The report as of `now`.
pub fn weekly(
    store: &Store,
    now: Timestamp,
    stale_after_days: u32,
) -> Result<WeeklyReport, StoreError> {
    let week_ago = now - SignedDuration::from_hours(7 * 24);
    let horizon = now + SignedDuration::from_hours(EXPIRING_WITHIN_DAYS * 24);
    let days_between = |from: Timestamp, to: Timestamp| to.duration_since(from).as_hours() / 24;
    let line = |row: ReportLine, days: &dyn Fn(Timestamp) -> i64| {
        let at = row.at;
        // GitHub's text, one line each: a line break in a token name must not forge a line
        // of the report.
        let one_line = |text: &str| crate::shown::line(text).into_owned();
        Line {
            request: row.request,
            org: one_line(&row.org),
            owner: one_line(&row.owner),
            token_name: one_line(row.token_name.as_deref().unwrap_or("(unnamed)")),
            state: row.state,
            date: at.map_or_else(
                || "never".to_string(),
                |at| at.strftime("%Y-%m-%d").to_string(),
            ),
            days: at.map_or(0, days),
        }
    };
    let lines = |rows: Vec<ReportLine>, days: &dyn Fn(Timestamp) -> i64| -> Vec<Line> {
        rows.into_iter().map(|row| line(row, days)).collect()
    };
    Ok(WeeklyReport {
        week_ending: now.strftime("%Y-%m-%d").to_string(),
        waiting: lines(store.report_waiting()?, &|at| days_between(at, now)),
        decisions: store.report_decisions(&format_time(week_ago))?,
        time_to_decision: store
            .decision_times(&format_time(week_ago))?
            .into_iter()
            .map(|(risk, hours)| DecisionTimes::of(risk, hours))
            .collect(),
        expiring_within_days: EXPIRING_WITHIN_DAYS,
        expiring: lines(
            store.report_expiring(&format_time(now), &format_time(horizon))?,
            &|at| days_between(now, at),
        ),
        stale_after_days,
        stale: lines(store.report_stale()?, &|_| 0),
        without_expiry: lines(store.report_without_expiry()?, &|_| 0),
        outside: store.outside_token_counts()?,
        audit_head: store
            .chain_head()?
            .map_or_else(|| "empty".to_string(), |head| head.to_string()),
    })
}

/// The report's text: its subject line, a blank line, its body.
pub fn render(templates: &Templates, report: &WeeklyReport) -> Result<String, ComposeError> {
    let context = serde_json::to_value(report).unwrap_or_default();
    let (subject, body) = templates.render(crate::mail::compose::REPORT, &context)?;
    Ok(format!("{subject}\n\n{}", body.trim_end()))
}

/// Whether the report is due at `now`: its day, from its hour (UTC), and none sent in six days.
pub fn is_due(time: ReportTime, last_sent: Option<Timestamp>, now: Timestamp) -> bool {
    let civil = now.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let its_time = civil.weekday() == time.day && civil.hour() >= time.hour;
    let recent =
        last_sent.is_some_and(|sent| now.duration_since(sent) < SignedDuration::from_hours(6 * 24));
    its_time && !recent
}

/// Raises the report as an alert when it is due; whether it did.
pub fn send_if_due(
    store: &mut Store,
    time: ReportTime,
    templates: &Templates,
    stale_after_days: u32,
    now: Timestamp,
) -> Result<bool, ReportError> {
    let last_sent = store.last_report_sent()?;
    if !is_due(time, last_sent, now) {
        return Ok(false);
    }
    let text = render(templates, &weekly(store, now, stale_after_days)?)?;
    store.write(|tx| {
        tx.raise_alert(AlertKind::WeeklyReport, None, &text)?;
        tx.record_report_sent(now)
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use jiff::civil::Weekday;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    const MONDAY_AT_EIGHT: ReportTime = ReportTime {
        day: Weekday::Monday,
        hour: 8,
    };

    #[test]
    fn the_report_is_due_once_on_its_day_from_its_hour() {
        // 2026-12-07 is a Monday.
        let monday_early = at("2026-12-07T07:59:59Z");
        let monday = at("2026-12-07T08:00:00Z");
        assert!(!is_due(MONDAY_AT_EIGHT, None, monday_early));
        assert!(is_due(MONDAY_AT_EIGHT, None, monday));
        let tuesday = ReportTime {
            day: Weekday::Tuesday,
            ..MONDAY_AT_EIGHT
        };
        assert!(!is_due(tuesday, None, monday));
        assert!(!is_due(
            MONDAY_AT_EIGHT,
            Some(monday),
            at("2026-12-07T17:00:00Z")
        ));
        assert!(is_due(
            MONDAY_AT_EIGHT,
            Some(monday),
            at("2026-12-14T08:00:00Z")
        ));
        // Missed on its day (the daemon was down): it waits for the next one.
        assert!(!is_due(
            MONDAY_AT_EIGHT,
            Some(monday),
            at("2026-12-15T09:00:00Z")
        ));
        // Another hour: from that hour, and not before.
        let at_fourteen = ReportTime {
            hour: 14,
            ..MONDAY_AT_EIGHT
        };
        assert!(!is_due(at_fourteen, None, at("2026-12-07T13:59:59Z")));
        assert!(is_due(at_fourteen, None, at("2026-12-07T14:00:00Z")));
    }

    #[test]
    fn the_report_keeps_its_day_across_month_year_leap_day_and_summer_time() {
        // Each: a Monday at the report hour, the last report a week before. The day and hour
        // are UTC's, so Europe's change to summer time (Sunday 2027-03-28) moves nothing.
        for (last, monday) in [
            ("2026-11-23T08:00:00Z", "2026-11-30T08:00:00Z"), // month end
            ("2027-12-27T08:00:00Z", "2028-01-03T08:00:00Z"), // across the new year
            ("2028-02-21T08:00:00Z", "2028-02-28T08:00:00Z"), // the week of 2028-02-29
            ("2027-03-22T08:00:00Z", "2027-03-29T08:00:00Z"), // the day after summer time
            ("2027-10-25T08:00:00Z", "2027-11-01T08:00:00Z"), // the day after winter time
        ] {
            let (last, monday) = (at(last), at(monday));
            assert!(is_due(MONDAY_AT_EIGHT, Some(last), monday), "{monday}");
            let a_minute_early = monday - SignedDuration::from_mins(1);
            assert!(
                !is_due(MONDAY_AT_EIGHT, Some(last), a_minute_early),
                "{monday}"
            );
            assert!(
                !is_due(
                    MONDAY_AT_EIGHT,
                    Some(monday),
                    monday + SignedDuration::from_hours(15)
                ),
                "once on {monday}"
            );
        }
        // The last seconds of 2027 (a Friday) and the leap day (a Tuesday) are no Monday.
        for instant in ["2027-12-31T23:59:30Z", "2028-02-29T12:00:00Z"] {
            assert!(!is_due(MONDAY_AT_EIGHT, None, at(instant)), "{instant}");
        }
        let friday_late = ReportTime {
            day: Weekday::Friday,
            hour: 23,
        };
        assert!(is_due(friday_late, None, at("2027-12-31T23:59:30Z")));
        assert!(!is_due(friday_late, None, at("2028-01-01T00:00:30Z")));
        let tuesday = ReportTime {
            day: Weekday::Tuesday,
            hour: 0,
        };
        assert!(is_due(tuesday, None, at("2028-02-29T00:00:00Z")));
    }
}
