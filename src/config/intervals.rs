//! `[intervals]`: how often the daemon's own tasks look again when nothing wakes them. The
//! defaults suit every team; they are settings so that tests (and an admin chasing a problem)
//! can make the daemon look more often without a rebuild. The intervals that are policy
//! rather than pace stay with what they govern: the sync period (`github.sync_interval_seconds`),
//! reminders (`mail.reminder_interval_hours`), IDLE renewal (`mailbox.idle_refresh_minutes`),
//! the stall threshold (`alerts.stalled_after_minutes`) and the weekly report's day and hour
//! (`alerts.weekly_report`, `alerts.weekly_report_hour`).

use std::time::Duration;

use super::raw;

/// How often each daemon task looks again unasked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intervals {
    /// The outbox: queued mail a transient refusal held back is retried this late, and the
    /// Sent folder is looked in for uncertain mail at most this often.
    pub outbox: Duration,
    /// How soon a commit by another process (an engineer's decision, a mail queued by a
    /// command) is noticed by the outbox and the GitHub task.
    pub look_for_commits: Duration,
    /// How soon an alert reaches the team, and how often stalls, the audit head and the
    /// weekly report are judged due.
    pub alerts: Duration,
    /// How often the status line systemd shows is refreshed (the watchdog's period when shorter).
    pub status: Duration,
    /// How often upkeep (reducing old mail, the daily backup) looks; the work itself is daily.
    pub upkeep: Duration,
    /// How often the Slack connection is pinged; one silent for three pings is replaced.
    pub slack_ping: Duration,
}

impl Default for Intervals {
    fn default() -> Intervals {
        Intervals {
            outbox: Duration::from_secs(30),
            look_for_commits: Duration::from_secs(2),
            alerts: Duration::from_secs(5),
            status: Duration::from_secs(30),
            upkeep: Duration::from_secs(60 * 60),
            slack_ping: Duration::from_secs(10),
        }
    }
}

/// The shortest any interval may be set: shorter only spins.
const SHORTEST_SECONDS: f64 = 0.05;
/// The longest: a day; longer hides a failure for too long.
const LONGEST_SECONDS: f64 = 86_400.0;

impl super::Validator {
    pub(super) fn intervals(&mut self, raw: raw::RawIntervals) -> Intervals {
        let default = Intervals::default();
        let mut seconds = |key: &str, value: Option<f64>, default: Duration| {
            let chosen = self.within(
                &format!("intervals.{key}"),
                value,
                SHORTEST_SECONDS..=LONGEST_SECONDS,
                default.as_secs_f64(),
            );
            Duration::from_secs_f64(chosen)
        };
        Intervals {
            outbox: seconds("outbox_seconds", raw.outbox_seconds, default.outbox),
            look_for_commits: seconds(
                "look_for_commits_seconds",
                raw.look_for_commits_seconds,
                default.look_for_commits,
            ),
            alerts: seconds("alerts_seconds", raw.alerts_seconds, default.alerts),
            status: seconds("status_seconds", raw.status_seconds, default.status),
            upkeep: seconds("upkeep_seconds", raw.upkeep_seconds, default.upkeep),
            slack_ping: seconds(
                "slack_ping_seconds",
                raw.slack_ping_seconds,
                default.slack_ping,
            ),
        }
    }
}
