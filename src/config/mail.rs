//! `[mail]` and `[people]`: what intake trusts and parses, the templates, reminders, and how
//! much mail may leave.

use std::path::PathBuf;

use super::raw::RawMail;
use super::{DEFAULT_MAX_MESSAGE_BYTES, MailPolicy, Reminders, ReplyTrust};
use super::{
    MAX_MESSAGE_BYTES, MAX_REMINDER_HOURS, MAX_REMINDERS, MIN_MESSAGE_BYTES, MIN_REMINDER_HOURS,
};

/// The rate guards' numbers; `smtp::RateLimits` applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Mails to one address within an hour; more wait, queued.
    pub per_recipient_per_hour: usize,
    /// Mails to one address within 24 hours.
    pub per_recipient_per_day: usize,
    /// The send breaker: this many mails in 10 minutes pause sending.
    pub breaker_mails: usize,
}

impl Default for SendLimits {
    /// A requester hears from patdesk a few times a day at most; a loop or a runaway sync, not
    /// a busy day, sends 30 mails in 10 minutes.
    fn default() -> SendLimits {
        SendLimits {
            per_recipient_per_hour: 3,
            per_recipient_per_day: 10,
            breaker_mails: 30,
        }
    }
}

impl super::Validator {
    /// The guard against pestering holds whatever the config says: at most two reminders, at
    /// least 48 hours apart. An admin may ask for fewer, or further apart.
    pub(super) fn reminders(&mut self, count: Option<u64>, hours: Option<u64>) -> Reminders {
        let mut reminders = Reminders::default();
        // Out-of-type values (beyond usize or i64) are out of range all the same.
        reminders.max = self.within(
            "mail.reminders",
            count.map(|count| usize::try_from(count).unwrap_or(usize::MAX)),
            0..=MAX_REMINDERS,
            reminders.max,
        );
        let hours = self.within(
            "mail.reminder_interval_hours",
            hours.map(|hours| i64::try_from(hours).unwrap_or(i64::MAX)),
            MIN_REMINDER_HOURS..=MAX_REMINDER_HOURS,
            reminders.interval.as_hours(),
        );
        reminders.interval = jiff::SignedDuration::from_hours(hours);
        reminders
    }

    pub(super) fn send_limits(&mut self, mail: &RawMail) -> SendLimits {
        let default = SendLimits::default();
        let limits = SendLimits {
            per_recipient_per_hour: self.count(
                "mail.per_recipient_per_hour",
                mail.per_recipient_per_hour,
                100,
                default.per_recipient_per_hour,
            ),
            per_recipient_per_day: self.count(
                "mail.per_recipient_per_day",
                mail.per_recipient_per_day,
                1000,
                default.per_recipient_per_day,
            ),
            breaker_mails: self.count(
                "mail.breaker_mails",
                mail.breaker_mails,
                100_000,
                default.breaker_mails,
            ),
        };
        if limits.per_recipient_per_hour > limits.per_recipient_per_day {
            self.problem(
                "mail.per_recipient_per_hour",
                format!(
                    "is {}, more than mail.per_recipient_per_day ({}): a day holds the hour",
                    limits.per_recipient_per_hour, limits.per_recipient_per_day
                ),
            );
        }
        limits
    }

    pub(super) fn people_directory(&mut self, path: PathBuf) -> PathBuf {
        let path = self.path(path);
        if !path.is_file() {
            self.problem(
                "people.directory",
                format!(
                    "names {}, which is not a file (a CSV of login,email)",
                    path.display()
                ),
            );
        }
        path
    }

    /// `people.allowed_domains`, or by default the team mailbox's own domain: a requester's
    /// public profile can name anyone's address, and patdesk must not be made to mail a third
    /// party.
    pub(super) fn people_allowed_domains(
        &mut self,
        domains: Option<Vec<String>>,
        team_address: Option<&str>,
    ) -> Vec<String> {
        let Some(domains) = domains else {
            return team_address
                .and_then(|address| address.rsplit_once('@'))
                .map(|(_, domain)| vec![domain.to_ascii_lowercase()])
                .unwrap_or_default();
        };
        domains
            .into_iter()
            .filter_map(|domain| {
                let domain = domain.trim().trim_start_matches('.').to_ascii_lowercase();
                let plausible = domain.contains('.')
                    && !domain.contains('@')
                    && domain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
                if !plausible {
                    self.problem(
                        "people.allowed_domains",
                        format!("has {domain:?}, which is not a domain (write example.org)"),
                    );
                }
                plausible.then_some(domain)
            })
            .collect()
    }

    pub(super) fn templates_dir(&mut self, dir: Option<PathBuf>) -> Option<PathBuf> {
        let dir = self.path(dir?);
        if !dir.is_dir() {
            self.problem(
                "mail.templates_dir",
                format!("names {}, which is not a folder", dir.display()),
            );
        }
        Some(dir)
    }

    pub(super) fn mail(&mut self, raw: RawMail) -> MailPolicy {
        let mut policy = MailPolicy::default();
        for id in raw.trusted_authserv_ids.unwrap_or_default() {
            if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
                self.problem(
                    "mail.trusted_authserv_ids",
                    format!("has {id:?}: an authserv-id is one word, as your receiving server writes it first in Authentication-Results"),
                );
            } else {
                policy.trusted_authserv_ids.push(id);
            }
        }
        let bytes = self.within(
            "mail.max_message_bytes",
            raw.max_message_bytes,
            MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES,
            DEFAULT_MAX_MESSAGE_BYTES as u64,
        );
        policy.max_message_bytes = usize::try_from(bytes).unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if let Some(choice) = raw.accept_replies {
            match ReplyTrust::CHOICES.iter().find(|(name, _)| *name == choice) {
                Some((_, trust)) => policy.replies = *trust,
                None => self.problem(
                    "mail.accept_replies",
                    format!(
                        "is {choice:?}: accepted are {} (each stricter than the one before)",
                        ReplyTrust::CHOICES
                            .iter()
                            .map(|(name, _)| format!("{name:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
        policy
    }
}
