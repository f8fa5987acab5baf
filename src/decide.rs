//! The engineers' decisions and what each sets in motion: `approve`, `deny`, `revoke`, `note`,
//! `purpose`, `contact`, accepting an unverified answer from triage, and sending a mail again.
//!
//! Each reads the request inside its write transaction, asks the lifecycle rules whether the
//! action is allowed, and records the change, its audit events and the follow-ups for the
//! daemon (the GitHub call, the mail to the requester) in that one transaction. The caller is
//! always an authenticated [`Member`]: this module never learns who is calling any other way,
//! and every event it writes names the member's login, OS account and uid.

use serde::Serialize;
use serde_json::json;

use crate::conversation::{acknowledge, take_purpose, waiting_for_purpose};
use crate::lifecycle::{Action, Member, Refusal, RevokeReason, transition};
use crate::request::RequestState;
use crate::review::{ReviewPolicy, Risk};
use crate::store::{NewRequest, RequestRecord, Resend, Store, StoreError, Tx};
use crate::sync::{is_address, queue_question};

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The store failed, or the request or mail does not exist (`StoreError::NoSuchRequest`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rules do not allow it.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// What was asked for is malformed (an empty reason, not an address).
    #[error("{0}")]
    Invalid(String),
}

/// What a decision did, for the engineer who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Decided {
    pub id: i64,
    pub state: RequestState,
    pub by: String,
    /// The GitHub call queued, if any.
    pub github_push: Option<i64>,
    /// The mail to the requester queued, if any.
    pub mail: Option<i64>,
    /// The risk after a new purpose was reviewed.
    pub risk: Option<Risk>,
}

/// Text the engineer must give.
fn required<'a>(what: &str, text: &'a str) -> Result<&'a str, DecideError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DecideError::Invalid(format!("{what} must not be empty")));
    }
    Ok(text)
}

fn optional(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

/// Opens the member's write, reads the request and checks the action against its state.
fn begin<'s>(
    store: &'s mut Store,
    member: &Member,
    id: i64,
    action: Action,
) -> Result<(Tx<'s>, RequestRecord, RequestState), DecideError> {
    let tx = store.transaction_for(member)?;
    let record = tx.request(id)?;
    let next = transition(action, record.state, member, &record.request.owner_login)?;
    Ok((tx, record, next))
}

/// Queues the requester's mail about a decision, when their address is known.
fn tell_requester(
    tx: &Tx<'_>,
    record: &RequestRecord,
    kind: &str,
    decision: &str,
    by: &str,
    reason: Option<&str>,
    steps: Option<Vec<&str>>,
) -> Result<Option<i64>, StoreError> {
    let Some(address) = &record.owner_email else {
        tx.append_event(
            "system",
            Some(record.id),
            "requester_not_told",
            &json!({ "mail": kind, "why": "the requester's address is not known" }),
        )?;
        return Ok(None);
    };
    let mut payload = json!({
        "request": record.id,
        "org": record.request.org,
        "token_name": record.request.token_name,
        "owner": record.request.owner_login,
        "decision": decision,
        "by": by,
        "reason": reason,
    });
    if let Some(steps) = steps {
        payload["steps"] = json!(steps);
    }
    tx.enqueue_mail(
        record.id,
        kind,
        address,
        &payload,
        &format!("pat-{}:{kind}", record.id),
    )
}

fn decided(record: &RequestRecord, state: RequestState, member: &Member) -> Decided {
    Decided {
        id: record.id,
        state,
        by: member.login.clone(),
        github_push: None,
        mail: None,
        risk: None,
    }
}

pub fn approve(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: Option<&str>,
) -> Result<Decided, DecideError> {
    let reason = optional(reason);
    let (tx, record, next) = begin(store, member, id, Action::Approve)?;
    tx.record_decision(record.id, &member.login, next, reason)?;
    let mut done = decided(&record, next, member);
    done.github_push = tx.enqueue_push(
        record.id,
        "approve",
        reason,
        &format!("pat-{}:approve", record.id),
    )?;
    done.mail = tell_requester(
        &tx,
        &record,
        "approval",
        "approved",
        &member.login,
        reason,
        None,
    )?;
    tx.commit()?;
    Ok(done)
}

pub fn deny(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: &str,
) -> Result<Decided, DecideError> {
    let reason = required("the reason", reason)?;
    let (tx, record, next) = begin(store, member, id, Action::Deny)?;
    tx.record_decision(record.id, &member.login, next, Some(reason))?;
    let mut done = decided(&record, next, member);
    done.github_push = tx.enqueue_push(
        record.id,
        "deny",
        Some(reason),
        &format!("pat-{}:deny", record.id),
    )?;
    // The denial tells the requester what would meet the policy.
    let steps = record
        .findings
        .iter()
        .map(|finding| finding.remedy.as_str())
        .collect();
    done.mail = tell_requester(
        &tx,
        &record,
        "denial",
        "denied",
        &member.login,
        Some(reason),
        Some(steps),
    )?;
    tx.commit()?;
    Ok(done)
}

pub fn revoke(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: RevokeReason,
    note: Option<&str>,
) -> Result<Decided, DecideError> {
    let note = optional(note);
    let (tx, record, next) = begin(store, member, id, Action::Revoke)?;
    let reason = reason.as_str();
    tx.record_revocation(record.id, &member.login, reason, note)?;
    let mut done = decided(&record, next, member);
    done.github_push = tx.enqueue_push(
        record.id,
        "revoke",
        Some(reason),
        &format!("pat-{}:revoke", record.id),
    )?;
    done.mail = tell_requester(
        &tx,
        &record,
        "revocation",
        "revoked",
        &member.login,
        Some(reason),
        None,
    )?;
    tx.commit()?;
    Ok(done)
}

pub fn note(
    store: &mut Store,
    member: &Member,
    id: i64,
    text: &str,
) -> Result<Decided, DecideError> {
    let text = required("the note", text)?;
    let (tx, record, next) = begin(store, member, id, Action::Note)?;
    tx.add_note(record.id, &member.login, text)?;
    tx.commit()?;
    Ok(decided(&record, next, member))
}

/// A purpose the requester gave another way (Slack, a call), reviewed again with it.
pub fn purpose(
    store: &mut Store,
    member: &Member,
    id: i64,
    text: &str,
    policy: &ReviewPolicy,
) -> Result<Decided, DecideError> {
    let text = required("the purpose", text)?;
    let (tx, record, next) = begin(store, member, id, Action::RecordPurpose)?;
    let reviewed = take_purpose(&tx, &record, text, &member.login, "engineer", policy, next)?;
    tx.commit()?;
    let mut done = decided(&record, next, member);
    done.risk = Some(reviewed.risk);
    Ok(done)
}

/// The requester's address, given by a member. Replacing an address patdesk already has
/// redirects the conversation, so it needs `replace`, is recorded with both addresses and
/// raises an alert; mail queued to the old address follows the new one.
pub fn contact(
    store: &mut Store,
    member: &Member,
    id: i64,
    email: &str,
    replace: bool,
) -> Result<Decided, DecideError> {
    let email = email.trim();
    if !is_address(email) {
        return Err(DecideError::Invalid(format!(
            "{email:?} is not an email address such as carol@example.org"
        )));
    }
    let (tx, record, _) = begin(store, member, id, Action::Note)?;
    if !record.state.is_open() {
        return Err(Refusal(format!(
            "the request is already {}: there is nobody to ask any more",
            record.state
        ))
        .into());
    }
    let mut done = decided(&record, record.state, member);
    if let Some(old) = &record.owner_email {
        if old.eq_ignore_ascii_case(email) {
            return Ok(done);
        }
        if !replace {
            return Err(Refusal(format!(
                "PAT-{id} already has the address {old}; replacing it redirects the conversation: \
                 add --replace if that is what you mean (it is recorded and the team is alerted)"
            ))
            .into());
        }
        tx.record_owner_email(record.id, &member.login, email, "engineer")?;
        let redirected = tx.redirect_queued_mail(record.id, email)?;
        tx.raise_alert(
            "address_replaced",
            Some(record.id),
            &format!(
                "{} replaced the address of {} (PAT-{id}): {old} -> {email}; {redirected} queued mail(s) follow the new address",
                member.login, record.request.owner_login
            ),
        )?;
        tx.commit()?;
        return Ok(done);
    }
    tx.record_owner_email(record.id, &member.login, email, "engineer")?;
    if record.state == RequestState::NeedsContact {
        if record.request.stated_purpose().is_some() {
            tx.record_state(
                record.id,
                &member.login,
                RequestState::InReview,
                "the purpose is known",
            )?;
            done.state = RequestState::InReview;
        } else {
            let new = NewRequest {
                github_request_id: record.github_request_id,
                token_id: record.token_id,
                owner_email: Some(email.to_string()),
                request: record.request.clone(),
                state: RequestState::AwaitingPurpose,
                review: crate::review::Review {
                    risk: record.risk,
                    findings: record.findings.clone(),
                },
            };
            done.mail = queue_question(&tx, record.id, &new, email)?;
            tx.record_state(
                record.id,
                &member.login,
                RequestState::AwaitingPurpose,
                "asked for the purpose",
            )?;
            done.state = RequestState::AwaitingPurpose;
        }
    }
    tx.commit()?;
    Ok(done)
}

/// Takes an answer that waited in triage as unverified (it came from the requester's address
/// but was not authenticated) as the request's purpose, because a member checked it with the
/// requester. The acknowledgement quotes it to the address patdesk has.
pub fn accept_answer(
    store: &mut Store,
    member: &Member,
    mail: i64,
    policy: &ReviewPolicy,
) -> Result<Decided, DecideError> {
    let tx = store.transaction_for(member)?;
    let answer = tx.unverified_answer(mail)?;
    let record = tx.request(answer.request_id)?;
    if !waiting_for_purpose(record.state) {
        return Err(Refusal(format!(
            "PAT-{} is {}: it is not waiting for a purpose any more",
            record.id, record.state
        ))
        .into());
    }
    let next = transition(
        Action::RecordPurpose,
        record.state,
        member,
        &record.request.owner_login,
    )?;
    let reviewed = take_purpose(
        &tx,
        &record,
        &answer.text,
        &member.login,
        "reply accepted by a team member",
        policy,
        next,
    )?;
    tx.accept_triaged_answer(mail, &member.login)?;
    acknowledge(&tx, &record, &answer.text)?;
    tx.commit()?;
    let mut done = decided(&record, next, member);
    done.risk = Some(reviewed.risk);
    Ok(done)
}

/// What `resend` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Resent {
    pub mail: i64,
    pub was: String,
    pub by: String,
}

/// Queues an uncertain or failed mail again, after a member checked it did not arrive.
pub fn resend(store: &mut Store, member: &Member, mail: i64) -> Result<Resent, DecideError> {
    let tx = store.transaction_for(member)?;
    let outcome = tx.resend_mail(mail, &member.login)?;
    match outcome {
        Resend::Queued { was } => {
            tx.commit()?;
            Ok(Resent {
                mail,
                was,
                by: member.login.clone(),
            })
        }
        Resend::Refused { state } => Err(Refusal(format!(
            "mail {mail} is {state}; only uncertain or failed mail is sent again"
        ))
        .into()),
    }
}
