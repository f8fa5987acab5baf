//! The weekly report to the team (`alerts.weekly_report`): the requests waiting, oldest first
//! and with how long; the week's decisions by member; the approved tokens expiring within 14
//! days, stale, or never expiring; and the audit head. Its text is the `report` template, which
//! the admin can replace like the mail templates; it reaches the team as an alert (Slack and
//! the alert address), so it is delivered, retried and escaped as every alert is.

use jiff::civil::Weekday;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::mail::compose::{ComposeError, Templates};
use crate::store::{
    AlertKind, MemberDecisions, OutsideCounts, ReportLine, Store, StoreError, format_time,
};

/// Tokens expiring this soon are listed.
pub const EXPIRING_WITHIN_DAYS: i64 = 14;
/// The report goes out from this hour (UTC) of its day.
const FROM_HOUR: i8 = 8;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] ComposeError),
}

/// What the template sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeeklyReport {
    /// The day the report covers up to (YYYY-MM-DD, UTC).
    pub week_ending: String,
    pub waiting: Vec<Line>,
    pub decisions: Vec<MemberDecisions>,
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
        let at = row
            .at
            .as_deref()
            .and_then(|at| at.parse::<Timestamp>().ok());
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

/// Whether the report is due at `now`: its day, from 08:00 UTC, and none sent in six days.
pub fn is_due(day: Weekday, last_sent: Option<Timestamp>, now: Timestamp) -> bool {
    let civil = now.to_zoned(jiff::tz::TimeZone::UTC).datetime();
    let its_time = civil.weekday() == day && civil.hour() >= FROM_HOUR;
    let recent =
        last_sent.is_some_and(|sent| now.duration_since(sent) < SignedDuration::from_hours(6 * 24));
    its_time && !recent
}

/// Raises the report as an alert when it is due; whether it did.
pub fn send_if_due(
    store: &mut Store,
    day: Weekday,
    templates: &Templates,
    stale_after_days: u32,
    now: Timestamp,
) -> Result<bool, ReportError> {
    let last_sent = store
        .last_report_sent()?
        .and_then(|at| at.parse::<Timestamp>().ok());
    if !is_due(day, last_sent, now) {
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
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    #[test]
    fn the_report_is_due_once_on_its_day_from_eight() {
        // 2026-12-07 is a Monday.
        let monday_early = at("2026-12-07T07:59:00Z");
        let monday = at("2026-12-07T08:00:00Z");
        assert!(!is_due(Weekday::Monday, None, monday_early));
        assert!(is_due(Weekday::Monday, None, monday));
        assert!(!is_due(Weekday::Tuesday, None, monday));
        assert!(!is_due(
            Weekday::Monday,
            Some(monday),
            at("2026-12-07T17:00:00Z")
        ));
        assert!(is_due(
            Weekday::Monday,
            Some(monday),
            at("2026-12-14T08:00:00Z")
        ));
        // Missed on its day (the daemon was down): it waits for the next one.
        assert!(!is_due(
            Weekday::Monday,
            Some(monday),
            at("2026-12-15T09:00:00Z")
        ));
    }
}
