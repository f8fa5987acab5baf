//! Telling the team: each alert the store holds goes to the Slack channel's incoming webhook
//! and/or by mail to the team's alert address, once. An alert that cannot be delivered now
//! waits in the store (and in `patdesk status`) for the next round.

use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;

use crate::config::{AlertsConfig, Secret};
use crate::mail::{AlertMail, Outgoing};
use crate::shown;
use crate::store::{Alert, AlertKind, Part, PartHealth, Store, StoreError, format_time};

/// What one round of delivery did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub delivered: usize,
    /// Left for the next round, and why.
    pub waiting: usize,
    pub error: Option<String>,
}

pub struct Notifier {
    slack: Option<(reqwest::Client, Secret)>,
    email: Option<String>,
}

impl Notifier {
    /// `None` when the config names nowhere to deliver to.
    pub fn new(config: &AlertsConfig, webhook: Option<Secret>) -> Option<Notifier> {
        if webhook.is_none() && config.email.is_none() {
            return None;
        }
        let slack = webhook.and_then(|url| {
            match reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
            {
                Ok(client) => Some((client, url)),
                Err(error) => {
                    tracing::error!(%error, "no HTTP client for the Slack webhook; alerts go by mail only");
                    None
                }
            }
        });
        Some(Notifier {
            slack,
            email: config.email.clone(),
        })
    }

    /// Tells the team what cannot be recorded as an alert, the database itself being lost:
    /// by Slack, the one channel that needs no database (alert mail goes through the outbox).
    pub async fn tell_without_the_store(&self, summary: &str, message: &str) -> Result<(), String> {
        match &self.slack {
            Some((client, url)) => post_text(client, url, summary, message).await,
            None => Err("no Slack webhook: only the log and `patdesk status` say so".to_string()),
        }
    }

    pub async fn deliver(&self, store: &mut Store) -> Result<Delivery, StoreError> {
        let waiting = store.undelivered_alerts()?;
        let mut delivery = Delivery::default();
        for (index, alert) in waiting.iter().enumerate() {
            if let Some((client, url)) = &self.slack
                && let Err(error) = post(client, url, alert).await
            {
                // The channel is down or refuses: the rest wait with this one, in order.
                delivery.waiting = waiting.len() - index;
                delivery.error = Some(error);
                break;
            }
            if let Some(address) = &self.email {
                // Plain text, read in a terminal mail reader as often as not.
                let mail = Outgoing::Alert(AlertMail {
                    request: alert.request_id,
                    summary: shown::line(&summary(alert)).into_owned(),
                    message: shown::block(&message_text(alert)).into_owned(),
                });
                store
                    .write(|tx| tx.enqueue_mail(address, &mail, &format!("alert-{}", alert.id)))?;
            }
            store.mark_alert_delivered(alert.id)?;
            delivery.delivered += 1;
        }
        Ok(delivery)
    }
}

/// The alert's text as it goes out: one line, whatever outside text it quotes (a token name
/// with a line break would print a fake line in Slack or the mail), but for the weekly report,
/// whose lines are its own and each made one line when it was written.
fn message_text(alert: &Alert) -> std::borrow::Cow<'_, str> {
    match alert.kind.known() {
        Some(AlertKind::WeeklyReport) => std::borrow::Cow::Borrowed(alert.message.as_str()),
        _ => shown::line(&alert.message),
    }
}

/// The alert's subject line: what happened, in a few words.
pub fn summary(alert: &Alert) -> String {
    let what = match alert.kind.known() {
        Some(AlertKind::CriticalRequest) => "new critical-risk request",
        Some(AlertKind::NeedsContact) => "requester needs an address",
        Some(AlertKind::RequesterUnreachable) => "requester unreachable",
        Some(AlertKind::AddressReplaced) => "requester's address replaced",
        Some(AlertKind::TokenExpiring) => "token about to expire",
        Some(AlertKind::TokenExpired) => "token expired",
        Some(AlertKind::TokenStale) => "token unused: revoke it if no longer required",
        Some(AlertKind::TokenLifetime) => "token approved elsewhere outlives the policy",
        Some(AlertKind::GithubPushFailed) => "decision not carried to GitHub",
        Some(AlertKind::GithubPushRefused) => "decision refused before GitHub",
        Some(AlertKind::SendingPaused) => "sending paused by the breaker",
        Some(AlertKind::MailUncertain) => "mail may not have arrived",
        Some(AlertKind::IntakeStalled) => "mail intake stalled",
        Some(AlertKind::SignInStalled) => "mailbox sign-in failing (OAuth 2 token)",
        Some(AlertKind::SyncStalled) => "GitHub sync stalled",
        Some(AlertKind::AuditHead) => "audit head, to keep",
        Some(AlertKind::BackupFailing) => "scheduled backup failing",
        Some(AlertKind::WeeklyReport) => "weekly report",
        Some(AlertKind::DecisionDue) => "request waiting past its time to a decision",
        Some(AlertKind::DecisionOverdue) => {
            "ESCALATED: request waiting twice its time to a decision"
        }
        Some(AlertKind::PolicyHeldInShadow) => {
            "policy held in shadow: its backtest has cases no member accepted"
        }
        None => alert.kind.as_str(),
    };
    match alert.request_id {
        Some(id) => format!("{what} (PAT-{id})"),
        None => what.to_string(),
    }
}

async fn post(client: &reqwest::Client, url: &Secret, alert: &Alert) -> Result<(), String> {
    post_text(client, url, &summary(alert), &message_text(alert)).await
}

async fn post_text(
    client: &reqwest::Client,
    url: &Secret,
    summary: &str,
    message: &str,
) -> Result<(), String> {
    // Formatting off, and `&`, `<`, `>` as entities: a token name or an error from outside
    // can neither mention the channel, nor disguise a link, nor format the message.
    let text = format!(
        "patdesk: {}\n{}",
        shown::slack(summary),
        shown::slack(message)
    );
    let response = client
        .post(url.expose())
        .json(&json!({ "text": text, "mrkdwn": false }))
        .send()
        .await
        // Without the URL: it is the secret.
        .map_err(|error| format!("Slack webhook: {}", error.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("Slack webhook answered {}", response.status()))
    }
}

/// The alert a part's lasting failure raises, for the parts the service's health rests on:
/// intake, signing in (the token endpoint), each org's sync, and the scheduled backups.
pub fn stall_alert(part: &str) -> Option<AlertKind> {
    match Part::named(part)? {
        Part::Imap => Some(AlertKind::IntakeStalled),
        // The token endpoint refuses or cannot be reached: intake and sending wait on it.
        Part::Oauth2 => Some(AlertKind::SignInStalled),
        Part::Github(_) => Some(AlertKind::SyncStalled),
        Part::Backup => Some(AlertKind::BackupFailing),
        Part::ImapIdle | Part::Smtp | Part::GithubPush | Part::Slack => None,
    }
}

/// Raises the stall alert of each watched part failing longer than `after`, once per outage
/// (an alert newer than the failure's start means it was raised).
/// Whether `part`, one the service's health rests on, has been failing for `after` or longer
/// at `now`: the alert it raises, and since when it fails. The one rule for a stall, for the
/// alerts and for `status`.
pub fn stalled(
    part: &PartHealth,
    after: Duration,
    now: Timestamp,
) -> Option<(AlertKind, Timestamp)> {
    let kind = stall_alert(&part.part)?;
    let since = part.failing_since?;
    (now.duration_since(since).unsigned_abs() >= after).then_some((kind, since))
}

pub fn raise_stalls(
    store: &mut Store,
    after: Duration,
    now: Timestamp,
) -> Result<usize, StoreError> {
    let mut raised = 0;
    for part in store.health()? {
        let Some((kind, since)) = stalled(&part, after, now) else {
            continue;
        };
        if store.alert_about_since(kind, &part.part, since)? {
            continue;
        }
        let message = format!(
            "{} has been failing since {}: {}",
            part.part,
            format_time(since),
            part.last_error.as_deref().unwrap_or("no error recorded")
        );
        store.write(|tx| tx.raise_alert(kind, None, &message))?;
        raised += 1;
    }
    Ok(raised)
}
