//! Conversations with requesters: which request an incoming mail belongs to, and what it
//! changes. The runbook's "Communication with Requester", as rules.
//!
//! A mail is tied to a request by patdesk's own signed Message-ID in `In-Reply-To` or
//! `References`, else by the plus-address it was sent to (`team+pat-12@`), else by the
//! `[PAT-n]` tag in its subject; in every case only when it comes from the requester's own
//! address. A reply from anyone else, or one that matches nothing, goes to triage and changes
//! no record. A reply from the requester's address changes the record only when it is
//! authenticated (see [`ReplyTrust`]): anyone can write a From line, a plus-address or a
//! tag. An unauthenticated one waits in triage as an unverified answer, where a team member
//! can accept it. Automatic mail is never answered.

mod asking;

pub use crate::config::Reminders;
pub use asking::{acknowledge, queue_due_reminders, queue_question, queue_reminders};

use crate::mail::message_id::{SignedId, verify_message_id};
use crate::mail::{Analysis, Authenticity, Kind, ReplyTrust};
use crate::request::{PurposeSource, RequestState};
use crate::review::{Review, ReviewPolicy, review};
use crate::store::{AlertKind, RequestRecord, StoreError, Tx};

/// What a conversation needs to know besides the mail.
pub struct Threading<'a> {
    /// The key that signs patdesk's Message-IDs.
    pub key: &'a [u8],
    pub policy: &'a ReviewPolicy,
    /// What a reply must prove before it changes a record.
    pub trust: ReplyTrust,
}

/// What became of an incoming mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Tied to a request; `purpose` when it gave the purpose patdesk was waiting for.
    Request { id: i64, purpose: bool },
    /// From the requester's address about request `id`, but not authenticated: it changed
    /// nothing and waits in triage, where a team member can accept it.
    Unverified { id: i64, why: &'static str },
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
            Outcome::Request { id, .. }
            | Outcome::Unreachable { id }
            | Outcome::Unverified { id, .. } => Some(*id),
            Outcome::Triage(_) | Outcome::Nothing => None,
        }
    }

    pub fn triage(&self) -> Option<&'static str> {
        match self {
            Outcome::Triage(why) | Outcome::Unverified { why, .. } => Some(why),
            Outcome::Request { .. } | Outcome::Unreachable { .. } | Outcome::Nothing => None,
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
        // GitHub's mails are triggers for a sync (intake asks for it); automatic mail is
        // never answered and changes nothing.
        Kind::GithubPatRequestsPending
        | Kind::GithubTokenExpiring
        | Kind::GithubTokenExpired
        | Kind::GithubTokenDecision
        | Kind::Automatic => Ok(Outcome::Nothing),
    }
}

/// How a mail named the request it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    /// It answers one of patdesk's signed Message-IDs: only the requester received that mail.
    SignedMessageId,
    /// By the plus-address or the subject tag, which anyone can write.
    AddressOrTag,
}

/// Why a reply from the requester's address may not change the record, or `None` when it
/// proves enough for `trust`.
fn unauthenticated(
    authenticity: Authenticity,
    named: Named,
    trust: ReplyTrust,
) -> Option<&'static str> {
    let signed = named == Named::SignedMessageId;
    let verified = match authenticity {
        Authenticity::Verified => true,
        Authenticity::Unverified => false,
        // A verdict against the sender, or a mail whose sender nobody can tell, is refused
        // whatever else it carries.
        Authenticity::Failed => {
            return Some("an unverified answer: its sender's domain failed authentication");
        }
        Authenticity::Ambiguous => {
            return Some("an unverified answer: it has more than one From address");
        }
    };
    let proven = match trust {
        ReplyTrust::SignedOrVerified => signed || verified,
        ReplyTrust::Signed => signed,
        ReplyTrust::SignedAndVerified => signed && verified,
    };
    match (proven, signed) {
        (true, _) => None,
        (false, true) => Some("an unverified answer: its sender's domain is not verified"),
        (false, false) => Some(
            "an unverified answer: it does not answer patdesk's own mail and its sender's domain is not verified",
        ),
    }
}

/// A new purpose for `record`: reviewed again with it, recorded with the review and `state`,
/// under `by`. The one place a purpose changes a request, whoever gave it.
pub fn take_purpose(
    tx: &Tx<'_>,
    record: &RequestRecord,
    purpose: &str,
    by: &str,
    source: PurposeSource,
    policy: &ReviewPolicy,
    state: RequestState,
) -> Result<Review, StoreError> {
    let mut request = record.request.clone();
    request.purpose = Some(purpose.to_string());
    let reviewed = review(&request, policy, tx.time());
    tx.record_purpose(record.id, by, purpose, source, &reviewed, state)?;
    Ok(reviewed)
}

/// Whether the request's purpose was recorded by a team member: mail never overwrites it.
fn engineer_gave_purpose(record: &RequestRecord) -> bool {
    record.request.purpose.is_some()
        && record
            .purpose_source
            .as_ref()
            .and_then(|source| source.known())
            .is_some_and(PurposeSource::by_a_member)
}

/// Whether a request is still waiting for its purpose.
pub fn waiting_for_purpose(state: RequestState) -> bool {
    matches!(
        state,
        RequestState::New | RequestState::AwaitingPurpose | RequestState::NeedsContact
    )
}

fn reply(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Outcome, StoreError> {
    let Some((record, named)) = matching_request(tx, analysis, threading)? else {
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
    if let Some(why) = unauthenticated(analysis.authenticity, named, threading.trust) {
        return Ok(Outcome::Unverified { id: record.id, why });
    }
    let Some(purpose) = analysis
        .reply_text
        .as_deref()
        .filter(|_| waiting_for_purpose(record.state) && !engineer_gave_purpose(&record))
    else {
        // Part of the conversation, nothing to change: an engineer reads it in `show`.
        return Ok(Outcome::Request {
            id: record.id,
            purpose: false,
        });
    };
    let by = analysis.from.clone().unwrap_or_default();
    take_purpose(
        tx,
        &record,
        purpose,
        &by,
        PurposeSource::RequesterMail,
        threading.policy,
        RequestState::InReview,
    )?;
    acknowledge(tx, &record, purpose)?;
    Ok(Outcome::Request {
        id: record.id,
        purpose: true,
    })
}

/// The request a mail answers, and how it named it: by a signed Message-ID of ours, else by
/// the plus-address it was sent to, else by its subject tag.
fn matching_request(
    tx: &Tx<'_>,
    analysis: &Analysis,
    threading: &Threading<'_>,
) -> Result<Option<(RequestRecord, Named)>, StoreError> {
    // Our ID counts only from the address it was sent to: a copy's reader, or the holder of
    // an address since replaced, cannot answer with it.
    let signed = analysis.from.as_deref().and_then(|from| {
        analysis
            .in_reply_to
            .iter()
            .chain(analysis.references.iter().rev())
            .find_map(|id| verify_message_id(threading.key, id, from))
    });
    let named = match signed {
        Some((id, _)) => Some((id, Named::SignedMessageId)),
        None => analysis
            .recipients
            .iter()
            .find_map(|address| crate::address::plus_tag(address))
            .or_else(|| analysis.subject.as_deref().and_then(subject_tag))
            .map(|id| (id, Named::AddressOrTag)),
    };
    match named {
        Some((id, named)) => match tx.request(id) {
            Ok(record) => Ok(Some((record, named))),
            Err(StoreError::NoSuchRequest(_)) => Ok(None),
            Err(error) => Err(error),
        },
        None => Ok(None),
    }
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
    // Bounces are not authenticated: one counts only when it returns our own mail to the
    // requester's address as it is now, by the ID we signed for that address.
    let Some(original) = analysis
        .original_message_id
        .as_deref()
        .and_then(SignedId::parse)
    else {
        return Ok(Outcome::Triage("a bounce of mail that is not patdesk's"));
    };
    let id = original.request;
    let record = match tx.request(id) {
        Ok(record) => record,
        Err(StoreError::NoSuchRequest(_)) => {
            return Ok(Outcome::Triage("a bounce about an unknown request"));
        }
        Err(error) => return Err(error),
    };
    let to_the_requester = record
        .owner_email
        .as_deref()
        .is_some_and(|address| original.sent_to(threading.key, address));
    if !to_the_requester {
        return Ok(Outcome::Triage(
            "a bounce of mail that patdesk did not send to the requester's address",
        ));
    }
    // Unreachable matters only while the request waits for its requester; a request an
    // engineer has moved on (a purpose recorded, a decision) is never moved back by mail.
    if matches!(
        record.state,
        RequestState::New | RequestState::AwaitingPurpose
    ) {
        tx.record_state(
            id,
            "system",
            RequestState::NeedsContact,
            "our mail to the requester bounced",
        )?;
    }
    tx.raise_alert(
        AlertKind::RequesterUnreachable,
        Some(id),
        &format!(
            "Mail to {} ({}, PAT-{id}) bounced: {}. Give another address with `patdesk contact {id} --email ADDRESS --replace`",
            record.request.owner_login,
            record.owner_email.as_deref().unwrap_or("no address"),
            if analysis.failed_recipients.is_empty() { "no reason given".to_string() } else { analysis.failed_recipients.join(", ") }
        ),
    )?;
    Ok(Outcome::Unreachable { id })
}

#[cfg(test)]
mod tests {
    use super::{Authenticity, Named, ReplyTrust, subject_tag, unauthenticated};

    #[test]
    fn a_reply_changes_a_record_only_when_it_proves_enough() {
        use Authenticity::*;
        use Named::*;
        let accepted =
            |authenticity, named, trust| unauthenticated(authenticity, named, trust).is_none();
        // The default: signed, or verified and named by address or tag.
        assert!(accepted(
            Unverified,
            SignedMessageId,
            ReplyTrust::SignedOrVerified
        ));
        assert!(accepted(
            Verified,
            AddressOrTag,
            ReplyTrust::SignedOrVerified
        ));
        assert!(!accepted(
            Unverified,
            AddressOrTag,
            ReplyTrust::SignedOrVerified
        ));
        // Stricter choices refuse more, never less.
        assert!(!accepted(Verified, AddressOrTag, ReplyTrust::Signed));
        assert!(accepted(Unverified, SignedMessageId, ReplyTrust::Signed));
        assert!(!accepted(
            Unverified,
            SignedMessageId,
            ReplyTrust::SignedAndVerified
        ));
        assert!(accepted(
            Verified,
            SignedMessageId,
            ReplyTrust::SignedAndVerified
        ));
        // A failed verdict or two senders are refused even with the signed Message-ID.
        for trust in [
            ReplyTrust::SignedOrVerified,
            ReplyTrust::Signed,
            ReplyTrust::SignedAndVerified,
        ] {
            assert!(!accepted(Failed, SignedMessageId, trust));
            assert!(!accepted(Ambiguous, SignedMessageId, trust));
        }
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
