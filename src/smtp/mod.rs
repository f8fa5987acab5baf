//! Sending the outbox over SMTP (lettre on rustls with ring, like the rest of patdesk).
//!
//! Each mail is composed once, with a signed Message-ID, and kept: a retry sends the same
//! bytes. It is marked `sending` in a committed transaction before the SMTP conversation, so a
//! crash can never make patdesk believe a mail was not sent. A permanent refusal is `failed`
//! with the server's answer; a transient one waits for the next round; a conversation that
//! breaks off leaves the mail `uncertain`, never blindly resent. The rate guards of `limits`
//! hold mail back, queued, before any of that.

mod connection;
mod context;
mod limits;
mod sent_folder;

pub use connection::{NotReady, check_sign_in};
pub use limits::{PAUSE_ALERT, RateLimits, Verdict};
pub use sent_folder::SentFolder;

use std::str::FromStr;
use std::time::Duration;

use lettre::AsyncTransport;
use lettre::address::{Address, Envelope as SmtpEnvelope};
use serde::Serialize;

use crate::config::{Secret, SendLimits, SentCopy, SmtpConfig};
use crate::mail::OutgoingKind;
use crate::mail::compose::{Envelope, Templates, compose};
use crate::mail::message_id::{plain_message_id, signed_message_id};
use crate::oauth::Credential;
use crate::store::{AlertKind, MailOutcome, OutboxMail, Part, Store, StoreError};
use connection::{Connection, Transport};

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("SMTP set-up for {host}: {error}")]
    Setup { host: String, error: String },
    #[error("the sender address {0:?} is not an email address")]
    From(String),
}

/// What one round of sending did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxReport {
    pub sent: usize,
    pub failed: usize,
    pub retrying: usize,
    pub uncertain: usize,
    /// Kept queued by the rate guards.
    pub held: usize,
}

/// What looking for uncertain mail in the Sent folder settled.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Settled {
    /// Found in Sent: it had gone.
    pub found: usize,
    /// Missing from a Sent folder the server fills: queued to go again.
    pub requeued: usize,
}

/// What filing copies in the Sent folder did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopiesFiled {
    pub filed: usize,
    /// Still to file, on a later round.
    pub waiting: usize,
    /// Why the rest could not be filed now.
    pub error: Option<String>,
}

pub struct Sender {
    connection: Connection,
    templates: Templates,
    from: String,
    from_address: Address,
    reply_to: String,
    /// The domain of Message-IDs: the sender's.
    domain: String,
    key: Secret,
    team_name: String,
    limits: RateLimits,
    /// The longest one mail's SMTP conversation may take (`smtp.timeout_seconds`).
    deadline: Duration,
    /// How long the server is given to file its Sent copy (`smtp.sent_copy_grace_seconds`).
    sent_copy_grace: jiff::SignedDuration,
    /// The team mailbox, where a copy of each sent mail is filed.
    copies: Option<Box<dyn SentFolder>>,
}

impl Sender {
    pub fn new(
        smtp: &SmtpConfig,
        credential: Option<Credential>,
        key: Secret,
        templates: Templates,
        reply_to: &str,
    ) -> Result<Sender, SenderError> {
        crate::tls::install_crypto_provider();
        let connection = Connection::new(smtp, credential)?;
        let from_address =
            address_of(&smtp.from).ok_or_else(|| SenderError::From(smtp.from.clone()))?;
        let team_name = smtp
            .from
            .split_once('<')
            .map(|(name, _)| name.trim().trim_matches('"').to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "the platform team".to_string());
        Ok(Sender {
            connection,
            templates,
            from: smtp.from.clone(),
            domain: from_address.domain().to_string(),
            from_address,
            reply_to: reply_to.to_string(),
            key,
            team_name,
            limits: RateLimits::default(),
            deadline: smtp.timeout,
            sent_copy_grace: smtp.sent_copy_grace,
            copies: None,
        })
    }

    /// A transport that has just connected and signed in, or `None` (and a token's trouble
    /// in the health table) when the server cannot be used now.
    async fn ready_transport(&self, store: &mut Store) -> Option<Transport> {
        let outcome = self.connection.ready().await;
        if self.connection.uses_tokens() {
            match &outcome {
                Err(NotReady::Token(error)) => {
                    store.report_health(Part::Oauth2, Some(&error.to_string()))
                }
                _ => store.report_health(Part::Oauth2, None),
            }
        }
        outcome.ok()
    }

    /// The config's rate guards: per recipient, and the breaker that pauses all sending.
    pub fn with_limits(mut self, limits: SendLimits) -> Sender {
        self.limits = limits.into();
        self
    }

    /// The team mailbox: where a copy of every mail sent is filed (or found, when the server
    /// files it), and, with `plus_addressing`, where replies are asked for by request.
    pub fn with_mailbox(mut self, mailbox: impl SentFolder + 'static) -> Sender {
        self.copies = Some(Box::new(mailbox));
        self
    }

    /// Settles what a stop during a send left `sending` as `uncertain`, and tells the team
    /// which mails to look for in the Sent folder. Run once, before the first round.
    pub fn settle_interrupted(&self, store: &mut Store) -> Result<usize, StoreError> {
        store.write(|tx| {
            let interrupted = tx.settle_interrupted_sends()?;
            if interrupted > 0 {
                tx.raise_alert(
                    AlertKind::MailUncertain,
                    None,
                    &format!(
                        "{interrupted} mail(s) were being sent when patdesk stopped and may have gone; \
                         they are marked uncertain and are looked for in the Sent folder before \
                         anything is sent again; `patdesk outbox list` shows any that stay uncertain"
                    ),
                )?;
            }
            Ok(interrupted)
        })
    }

    /// Looks for each `uncertain` mail in the Sent folder: found, it is `sent`. Missing from
    /// a folder the mail server fills itself, and older than the sent-copy grace, it was never
    /// accepted and goes back to the queue. Missing from a folder patdesk fills, it stays
    /// uncertain: the server may have accepted it just before patdesk stopped.
    pub async fn settle_uncertain(&self, store: &mut Store) -> Result<Settled, StoreError> {
        let mut settled = Settled::default();
        let Some(mailbox) = &self.copies else {
            return Ok(settled);
        };
        let uncertain: Vec<OutboxMail> = store
            .uncertain_mail()?
            .into_iter()
            .filter(|mail| mail.message_id.is_some())
            .collect();
        if uncertain.is_empty() {
            return Ok(settled);
        }
        let ids: Vec<String> = uncertain
            .iter()
            .filter_map(|mail| mail.message_id.clone())
            .collect();
        let found = match mailbox.find(&ids).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "cannot look for uncertain mail in the Sent folder");
                return Ok(settled);
            }
        };
        let server_files_copies = mailbox.mailbox().sent_copy == SentCopy::Server;
        let now = store.now();
        store.write(|tx| {
            for mail in &uncertain {
                let in_sent = mail
                    .message_id
                    .as_ref()
                    .is_some_and(|id| found.contains(id));
                let waited = now.duration_since(mail.updated_at) >= self.sent_copy_grace;
                if in_sent {
                    tx.settle_uncertain(mail, true)?;
                    settled.found += 1;
                } else if server_files_copies && waited {
                    tx.settle_uncertain(mail, false)?;
                    settled.requeued += 1;
                }
            }
            Ok::<_, StoreError>(())
        })?;
        Ok(settled)
    }

    /// Sends every queued mail once.
    pub async fn send_queued(&self, store: &mut Store) -> Result<OutboxReport, StoreError> {
        self.send_queued_until(store, || false).await
    }

    /// Sends queued mail until `stop` says so, checked before each mail: a stop never cuts a
    /// mail's conversation short, and never waits for a whole queue.
    pub async fn send_queued_until(
        &self,
        store: &mut Store,
        stop: impl Fn() -> bool,
    ) -> Result<OutboxReport, StoreError> {
        let mut report = OutboxReport::default();
        let queued = store.queued_mail()?;
        if queued.is_empty() {
            return Ok(report);
        }
        // A server that cannot be reached (or signed in to) is asked again next round, before
        // anything is sent: an error after this point happened in a conversation that had begun.
        let Some(transport) = self.ready_transport(store).await else {
            report.retrying = queued.len();
            return Ok(report);
        };
        let waiting = queued.len();
        for (index, mail) in queued.into_iter().enumerate() {
            if stop() {
                break;
            }
            match self.limits.verdict(store, &mail.recipient)? {
                Verdict::Send => {}
                // The team's own alert list is not a requester to be spared; the breaker
                // still holds it back.
                Verdict::HoldRecipient if mail.kind == OutgoingKind::Alert => {}
                Verdict::HoldRecipient => {
                    report.held += 1;
                    continue;
                }
                Verdict::Pause => {
                    report.held += waiting - index;
                    self.limits.alert_pause(store, waiting - index)?;
                    break;
                }
            }
            let composed = match (&mail.message_id, &mail.raw) {
                (Some(id), Some(raw)) => Ok((id.clone(), raw.clone())),
                _ => match mail.request_id {
                    Some(request) => self.compose(&mail, &store.conversation_ids(request)?),
                    None => self.compose(&mail, &[]),
                },
            };
            let (message_id, raw) = match composed {
                Ok(composed) => composed,
                Err(error) => {
                    fail(store, &mail, &error)?;
                    report.failed += 1;
                    continue;
                }
            };
            let Some(to) = address_of(&mail.recipient) else {
                fail(store, &mail, "the recipient is not an email address")?;
                report.failed += 1;
                continue;
            };
            store.write(|tx| tx.mark_mail_sending(mail.id, &message_id, &raw))?;
            let outcome = match SmtpEnvelope::new(Some(self.from_address.clone()), vec![to]) {
                // lettre's own timeout does not cover every wait of the conversation: a server
                // that takes the mail and never answers would hold the outbox forever.
                Ok(envelope) => {
                    tokio::time::timeout(self.deadline, transport.send_raw(&envelope, &raw)).await
                }
                Err(error) => {
                    fail(store, &mail, &error.to_string())?;
                    report.failed += 1;
                    continue;
                }
            };
            store.write(|tx| {
                let broken_off = match outcome {
                    Ok(Ok(_)) => {
                        tx.record_mail_outcome(&mail, MailOutcome::Sent, None)?;
                        report.sent += 1;
                        None
                    }
                    Ok(Err(error)) if error.is_permanent() => {
                        tx.record_mail_outcome(&mail, MailOutcome::Failed, Some(&error.to_string()))?;
                        report.failed += 1;
                        None
                    }
                    Ok(Err(error)) if error.is_transient() => {
                        tx.record_mail_outcome(&mail, MailOutcome::Retry, Some(&error.to_string()))?;
                        report.retrying += 1;
                        None
                    }
                    Ok(Err(error)) => Some(error.to_string()),
                    Err(_) => Some(format!("no answer within {} s", self.deadline.as_secs())),
                };
                if let Some(error) = broken_off {
                    // The conversation broke off: the mail may have gone. Not resent blindly.
                    tx.record_mail_outcome(&mail, MailOutcome::Uncertain, Some(&error))?;
                    tx.raise_alert(
                        AlertKind::MailUncertain,
                        mail.request_id,
                        &format!(
                            "the {} to {} (outbox mail {}) may not have arrived: the SMTP conversation \
                             broke off ({error}); it is looked for in the Sent folder before it is sent \
                             again; should it stay uncertain, `patdesk outbox resend {}` sends it",
                            mail.kind, mail.recipient, mail.id, mail.id
                        ),
                    )?;
                    report.uncertain += 1;
                }
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(report)
    }

    /// Files the copies of sent mail that are not yet in the team's Sent folder, when patdesk
    /// files them (`sent_copy = "append"`). A copy that cannot be filed now is filed on a later
    /// round: each is marked as soon as it is in, so none is filed twice.
    pub async fn file_copies(&self, store: &mut Store) -> Result<CopiesFiled, StoreError> {
        let Some(mailbox) = self
            .copies
            .as_ref()
            .filter(|mailbox| mailbox.mailbox().sent_copy == SentCopy::Append)
        else {
            return Ok(CopiesFiled::default());
        };
        let unfiled = store.unfiled_sent_mail(100)?;
        let mut filed = Vec::new();
        let error = mailbox.file(&unfiled, &mut |id| filed.push(id)).await.err();
        for id in &filed {
            store.mark_mail_filed(*id)?;
        }
        Ok(CopiesFiled {
            filed: filed.len(),
            waiting: unfiled.len() - filed.len(),
            error,
        })
    }

    /// The mail as it will be sent, and its signed Message-ID; `thread` is the request's
    /// conversation so far, which it answers.
    fn compose(&self, mail: &OutboxMail, thread: &[String]) -> Result<(String, Vec<u8>), String> {
        let letter = mail.letter()?;
        let context =
            serde_json::to_value(context::context(&letter, mail.request_id, &self.team_name))
                .map_err(|e| e.to_string())?;
        let (subject, body) = self
            .templates
            .render(letter.kind().as_str(), &context)
            .map_err(|e| e.to_string())?;
        let nonce = nonce(mail.id);
        // Only a requester's mail carries an ID an answer can thread by, signed for their
        // address; the team's alerts name nothing.
        let message_id = match (letter.kind(), mail.request_id) {
            (OutgoingKind::Alert, _) | (_, None) => {
                plain_message_id(mail.kind.as_str(), &nonce, &self.domain)
            }
            (_, Some(request)) => signed_message_id(
                self.key.expose().as_bytes(),
                request,
                mail.kind.as_str(),
                &nonce,
                &mail.recipient,
                &self.domain,
            ),
        };
        let auto_submitted = letter.auto_submitted();
        let raw = compose(
            &subject,
            &body,
            &Envelope {
                from: &self.from,
                to: &mail.recipient,
                reply_to: &self.reply_to_for(mail.request_id),
                message_id: &message_id,
                in_reply_to: thread.last().map(String::as_str),
                references: thread,
                auto_submitted,
            },
        )
        .map_err(|e| e.to_string())?;
        Ok((message_id, raw))
    }

    /// The team mailbox, or its plus-address for the request when replies are asked for there.
    fn reply_to_for(&self, request: Option<i64>) -> String {
        let plus = self
            .copies
            .as_ref()
            .is_some_and(|mailbox| mailbox.mailbox().plus_addressing);
        request
            .filter(|_| plus)
            .and_then(|request| crate::address::plus_address(&self.reply_to, request))
            .unwrap_or_else(|| self.reply_to.clone())
    }
}

/// Records that `mail` cannot be sent, and why.
fn fail(store: &mut Store, mail: &OutboxMail, why: &str) -> Result<(), StoreError> {
    store.write(|tx| tx.record_mail_outcome(mail, MailOutcome::Failed, Some(why)))
}

/// The outbox row, and randomness: a database made afresh with the same signing key must never
/// repeat a Message-ID that a Sent folder or a requester's client already holds.
fn nonce(outbox_id: i64) -> String {
    let mut random = [0u8; 6];
    // Without randomness the row alone still names the mail within this database.
    let _ = getrandom::getrandom(&mut random);
    let random = crate::hex::encode(&random);
    format!("o{outbox_id}-{random}")
}

/// The address of `Name <address>` or a bare address.
fn address_of(text: &str) -> Option<Address> {
    Address::from_str(crate::address::bare_address(text)).ok()
}
