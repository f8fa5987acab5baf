//! The guards that keep patdesk from flooding anyone: per recipient at most 3 mails an hour and
//! 10 a day, and a breaker that pauses all sending once 30 have left in 10 minutes — a
//! sign of a loop or a runaway sync, which the team is alerted to (the numbers are the
//! config's `mail.per_recipient_per_hour`, `mail.per_recipient_per_day` and
//! `mail.breaker_mails`). Held mail stays queued.

use jiff::{SignedDuration, Timestamp};

use crate::config::SendLimits;
use crate::store::{AlertKind, Store, StoreError, format_time};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub per_recipient_hour: usize,
    pub per_recipient_day: usize,
    pub breaker_count: usize,
    pub breaker_window: SignedDuration,
}

impl From<SendLimits> for RateLimits {
    fn from(limits: SendLimits) -> RateLimits {
        RateLimits {
            per_recipient_hour: limits.per_recipient_per_hour,
            per_recipient_day: limits.per_recipient_per_day,
            breaker_count: limits.breaker_mails,
            breaker_window: SignedDuration::from_mins(10),
        }
    }
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        SendLimits::default().into()
    }
}

/// Whether a mail may go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// This recipient has had enough for now; others may still be sent to.
    HoldRecipient,
    /// Too much mail left recently: nothing more this round.
    Pause,
}

impl RateLimits {
    pub fn verdict(&self, store: &Store, recipient: &str) -> Result<Verdict, StoreError> {
        let now = store.now();
        if store.mail_sent_since(None, &since(now, self.breaker_window))? >= self.breaker_count {
            return Ok(Verdict::Pause);
        }
        let hour =
            store.mail_sent_since(Some(recipient), &since(now, SignedDuration::from_hours(1)))?;
        let day =
            store.mail_sent_since(Some(recipient), &since(now, SignedDuration::from_hours(24)))?;
        if hour >= self.per_recipient_hour || day >= self.per_recipient_day {
            return Ok(Verdict::HoldRecipient);
        }
        Ok(Verdict::Send)
    }

    /// How many mails left in the breaker's window, and whether that holds sending back.
    pub fn breaker(&self, store: &Store) -> Result<(usize, bool), StoreError> {
        let recent = store.mail_sent_since(None, &since(store.now(), self.breaker_window))?;
        Ok((recent, recent >= self.breaker_count))
    }

    /// Raises the team's alert for a pause, once per breaker window.
    pub fn alert_pause(&self, store: &mut Store, waiting: usize) -> Result<(), StoreError> {
        if store.alert_raised_since(
            AlertKind::SendingPaused,
            &since(store.now(), self.breaker_window),
        )? {
            return Ok(());
        }
        let message = format!(
            "sending paused: {} mails left in the last {} minutes, the most allowed; {waiting} \
             wait in the outbox and go out once the rate falls",
            self.breaker_count,
            self.breaker_window.as_mins()
        );
        store.write(|tx| {
            tx.raise_alert(AlertKind::SendingPaused, None, &message)
                .map(drop)
        })
    }
}

/// The start of the window that ends `now`. Counting from the beginning of time where that
/// cannot be computed errs on the side of sending less.
fn since(now: Timestamp, window: SignedDuration) -> String {
    format_time(now.checked_sub(window).unwrap_or(Timestamp::MIN))
}

/// The alert a paused outbox raises, by its stored name.
pub const PAUSE_ALERT: &str = AlertKind::SendingPaused.as_str();
