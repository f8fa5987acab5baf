//! `[alerts]`: where the team's alerts go (Slack, mail), when a failing part is stalled, when
//! the audit head is sent, and on which day the weekly report.

use super::raw;
use super::{SecretKind, SecretRef};

/// Where the team's alerts go, and when a failing part counts as stalled.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// A Slack incoming-webhook URL (a secret: whoever has it can post to the channel).
    pub slack_webhook: Option<SecretRef>,
    /// An address (a team list) that gets each alert by mail; needs `[smtp]`.
    pub email: Option<String>,
    /// Intake or a GitHub sync failing this long is an alert, and makes `patdesk status` fail.
    pub stalled_after: std::time::Duration,
    /// When the audit chain's head is sent to the team, to be kept off this host.
    pub send_head: SendHead,
    /// When the weekly report goes to the team; `None`: no report.
    pub weekly_report: Option<ReportTime>,
}

/// The day of the week and the hour of that day (both UTC) from which the weekly report is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportTime {
    pub day: jiff::civil::Weekday,
    pub hour: i8,
}

/// When the daemon sends the audit chain's head to the alerts channel. A head kept elsewhere
/// is what `patdesk audit verify --head` checks the trail against: a chain rewritten on this
/// host, hashes recomputed and all, no longer contains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendHead {
    Off,
    /// Once a day.
    Daily,
    /// Once a day, and after each approval, denial and revocation.
    DailyAndDecisions,
}

/// The report's hour when none is set: the start of a European working day.
const DEFAULT_REPORT_HOUR: i8 = 8;

const WEEKDAYS: [(&str, jiff::civil::Weekday); 7] = [
    ("monday", jiff::civil::Weekday::Monday),
    ("tuesday", jiff::civil::Weekday::Tuesday),
    ("wednesday", jiff::civil::Weekday::Wednesday),
    ("thursday", jiff::civil::Weekday::Thursday),
    ("friday", jiff::civil::Weekday::Friday),
    ("saturday", jiff::civil::Weekday::Saturday),
    ("sunday", jiff::civil::Weekday::Sunday),
];

impl super::Validator {
    pub(super) fn alerts(&mut self, raw: raw::RawAlerts) -> AlertsConfig {
        let slack_webhook = raw.slack_webhook.and_then(|secret| {
            self.required_secret("alerts.slack_webhook", SecretKind::WebhookUrl, Some(secret))
        });
        if let Some(email) = &raw.email {
            self.address("alerts.email", email, "platform-alerts@example.org");
        }
        let minutes = self.within(
            "alerts.stalled_after_minutes",
            raw.stalled_after_minutes,
            1..=1440,
            15,
        );
        let weekly_report = match raw.weekly_report.as_deref() {
            None => Some(jiff::civil::Weekday::Monday),
            Some("off") => None,
            Some(day) => {
                match WEEKDAYS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(day))
                {
                    Some((_, weekday)) => Some(*weekday),
                    None => {
                        self.problem(
                        "alerts.weekly_report",
                        format!("is {day:?}: expected a day of the week, such as \"monday\", or \"off\""),
                    );
                        None
                    }
                }
            }
        };
        let hour = self.within(
            "alerts.weekly_report_hour",
            raw.weekly_report_hour,
            0..=23,
            DEFAULT_REPORT_HOUR,
        );
        let weekly_report = weekly_report.map(|day| ReportTime { day, hour });
        AlertsConfig {
            weekly_report,
            slack_webhook,
            email: raw.email,
            stalled_after: std::time::Duration::from_secs(minutes * 60),
            send_head: match raw.send_head {
                Some(raw::RawSendHead::Off) => SendHead::Off,
                Some(raw::RawSendHead::Daily) => SendHead::Daily,
                Some(raw::RawSendHead::DailyAndDecisions) | None => SendHead::DailyAndDecisions,
            },
        }
    }
}
