//! Conversations with requesters: which request an incoming mail belongs to, and what it
//! changes. The runbook's "Communication with Requester", as rules.
//!
//! A mail is tied to a request by patdesk's own signed Message-ID in `In-Reply-To` or
//! `References`, else by the plus-address it was sent to (`team+pat-12@`), else by the
//! `[PAT-n]` tag in its subject; in every case only when it comes from the requester's own
//! address. A reply from anyone else, or one that matches nothing, goes to
//! triage and changes no record. Automatic mail is never answered.

use jiff::Timestamp;
use serde_json::json;

use crate::mail::compose::verify_message_id;
use crate::mail::{Analysis, Kind};
use crate::request::RequestState;
use crate::review::{ReviewPolicy, review};
use crate::store::{RequestRecord, StoreError, Tx};

/// What a conversation needs to know besides the mail.
pub struct Threading<'a> {
    /// The key that signs patdesk's Message-IDs.
    pub key: &'a [u8],
    pub policy: &'a ReviewPolicy,
}

/// What became of an incoming mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Tied to a request; `purpose` when it gave the purpose patdesk was waiting for.
    Request { id: i64, purpose: bool },
    /// A bounce of our mail: the requester cannot be reached at that address.
    Unreachable { id: i64 },
    /// For a person to look at, and why.
    Triage(&'static str),
    /// Nothing to do (automatic mail, GitHub's mail).
    Nothing,
}

impl Outcome {
    pub fn request_id(&self) -> Option<i64> {
        match self {
            Outcome::Request { id, .. } | Outcome::Unreachable { id } => Some(*id),
            _ => None,
        }
    }

    pub fn triage(&self) -> Option<&'static str> {
        match self {
            Outcome::Triage(why) => Some(why),
            _ => None,
        }
    }
}

/// Decides what `analysis` means for the records, and makes the changes in `tx`. The message
/// itself is recorded by the caller, with `Outcome::request_id` and `Outcome::triage`.
pub fn handle(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Outcome, StoreError> {
    match analysis.kind {
        Kind::Bounce => bounce(tx, analysis, threading),
        Kind::Human => reply(tx, analysis, threading),
        Kind::Other => Ok(Outcome::Triage("not understood")),
        _ => Ok(Outcome::Nothing),
    }
}

fn reply(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Outcome, StoreError> {
    let Some(record) = matching_request(tx, analysis, threading)? else {
        return Ok(Outcome::Triage("no request matches it"));
    };
    let from_requester = match (&analysis.from, &record.owner_email) {
        (Some(from), Some(owner)) => from.eq_ignore_ascii_case(owner),
        _ => false,
    };
    if !from_requester {
        return Ok(Outcome::Triage(
            "a reply about a request, but not from its requester",
        ));
    }
    let waiting = matches!(
        record.state,
        RequestState::New | RequestState::AwaitingPurpose | RequestState::NeedsContact
    );
    let Some(purpose) = analysis.reply_text.as_deref().filter(|_| waiting) else {
        // Part of the conversation, nothing to change: an engineer reads it in `show`.
        return Ok(Outcome::Request {
            id: record.id,
            purpose: false,
        });
    };
    let mut request = record.request.clone();
    request.purpose = Some(purpose.to_string());
    let reviewed = review(&request, threading.policy, Timestamp::now());
    let by = analysis.from.clone().unwrap_or_default();
    tx.record_purpose(
        record.id,
        &by,
        purpose,
        "reply",
        &reviewed,
        RequestState::InReview,
    )?;
    if let Some(address) = &record.owner_email {
        let payload = json!({
            "request": record.id,
            "org": record.request.org,
            "token_name": record.request.token_name,
            "owner": record.request.owner_login,
        });
        tx.enqueue_mail(
            record.id,
            "acknowledgement",
            address,
            &payload,
            &format!("pat-{}:acknowledgement", record.id),
        )?;
    }
    Ok(Outcome::Request {
        id: record.id,
        purpose: true,
    })
}

/// The request a mail answers: by a signed Message-ID of ours, else by the plus-address it was
/// sent to, else by its subject tag.
fn matching_request(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Option<RequestRecord>, StoreError> {
    let signed = analysis
        .in_reply_to
        .iter()
        .chain(analysis.references.iter().rev())
        .find_map(|id| verify_message_id(threading.key, id));
    let id = match signed {
        Some((id, _)) => Some(id),
        None => analysis
            .recipients
            .iter()
            .find_map(|address| plus_tag(address))
            .or_else(|| analysis.subject.as_deref().and_then(subject_tag)),
    };
    match id {
        Some(id) => match tx.request(id) {
            Ok(record) => Ok(Some(record)),
            Err(StoreError::NoSuchRequest(_)) => Ok(None),
            Err(error) => Err(error),
        },
        None => Ok(None),
    }
}

/// `12` from `team+pat-12@example.org`.
fn plus_tag(address: &str) -> Option<i64> {
    let (local, _domain) = address.rsplit_once('@')?;
    let (_mailbox, detail) = local.split_once('+')?;
    detail.strip_prefix("pat-")?.parse().ok()
}

/// `[PAT-12]` anywhere in a subject.
fn subject_tag(subject: &str) -> Option<i64> {
    let start = subject.find("[PAT-")? + "[PAT-".len();
    let rest = subject.get(start..)?;
    let end = rest.find(']')?;
    rest.get(..end)?.parse().ok()
}

fn bounce(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Outcome, StoreError> {
    let Some((id, _kind)) = analysis
        .original_message_id
        .as_deref()
        .and_then(|original| verify_message_id(threading.key, original))
    else {
        return Ok(Outcome::Triage("a bounce of mail that is not patdesk's"));
    };
    let record = match tx.request(id) {
        Ok(record) => record,
        Err(StoreError::NoSuchRequest(_)) => {
            return Ok(Outcome::Triage("a bounce about an unknown request"));
        }
        Err(error) => return Err(error),
    };
    if record.state.is_open() {
        tx.record_state(
            id,
            "system",
            RequestState::NeedsContact,
            "our mail to the requester bounced",
        )?;
    }
    tx.raise_alert(
        "requester_unreachable",
        Some(id),
        &format!(
            "Mail to {} ({}, PAT-{id}) bounced: {}. Give another address with `patdesk contact {id} --email ADDRESS --by LOGIN`",
            record.request.owner_login,
            record.owner_email.as_deref().unwrap_or("no address"),
            if analysis.failed_recipients.is_empty() { "no reason given".to_string() } else { analysis.failed_recipients.join(", ") }
        ),
    )?;
    Ok(Outcome::Unreachable { id })
}

#[cfg(test)]
mod tests {
    use super::{plus_tag, subject_tag};

    #[test]
    fn plus_tags_name_a_request_only_in_the_detail() {
        assert_eq!(plus_tag("team+pat-12@example.org"), Some(12));
        assert_eq!(plus_tag("team@example.org"), None);
        assert_eq!(plus_tag("pat-12@example.org"), None);
        assert_eq!(plus_tag("team+other@example.org"), None);
        assert_eq!(plus_tag("team+pat-x@example.org"), None);
    }

    #[test]
    fn subject_tags_are_found_anywhere() {
        assert_eq!(
            subject_tag("Re: What will it be used for? [PAT-42]"),
            Some(42)
        );
        assert_eq!(subject_tag("AW: [PAT-7] x"), Some(7));
        assert_eq!(subject_tag("[PAT-x] nope"), None);
        assert_eq!(subject_tag("no tag"), None);
    }
}

/// How patdesk reminds a requester who has not answered its question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminders {
    pub max: usize,
    pub interval: jiff::SignedDuration,
}

impl Default for Reminders {
    fn default() -> Reminders {
        Reminders {
            max: 2,
            interval: jiff::SignedDuration::from_hours(48),
        }
    }
}

/// Queues a reminder for each request whose question (or last reminder) went unanswered for
/// `interval`, at most `max` per request. Each has its own idempotency key, so a second call
/// at the same moment queues nothing. Returns how many were queued.
pub fn queue_reminders(
    tx: &Tx<'_>,
    now: Timestamp,
    reminders: &Reminders,
) -> Result<usize, StoreError> {
    let mut queued = 0;
    for unanswered in tx.unanswered_questions()? {
        if unanswered.reminders >= reminders.max {
            continue;
        }
        let Ok(last_asked) = unanswered.last_asked.parse::<Timestamp>() else {
            continue;
        };
        if now.duration_since(last_asked) < reminders.interval {
            continue;
        }
        let number = unanswered.reminders + 1;
        let key = format!("pat-{}:reminder-{number}", unanswered.request_id);
        if tx
            .enqueue_mail(
                unanswered.request_id,
                "reminder",
                &unanswered.recipient,
                &unanswered.payload,
                &key,
            )?
            .is_some()
        {
            queued += 1;
        }
    }
    Ok(queued)
}
