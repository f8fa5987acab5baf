//! The engineers' decisions and what each sets in motion: `approve`, `deny`, `revoke`, `note`,
//! `purpose`, `contact`, accepting an unverified answer from triage, and sending a mail again.
//!
//! Each reads the request inside its write transaction, asks the lifecycle rules whether the
//! action is allowed, and records the change, its audit events and the follow-ups for the
//! daemon (the GitHub call, the mail to the requester) in that one transaction. The caller is
//! always an authenticated [`Member`]: this module never learns who is calling any other way,
//! and every event it writes names the member's login, OS account and uid.

use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;

use crate::config::ReasonFrom;
use crate::conversation::{acknowledge, queue_question, take_purpose, waiting_for_purpose};
use crate::lifecycle::{Action, Member, PushAction, Refusal, RevokeReason, transition};
use crate::mail::{DecisionMail, Outgoing, is_address};
use crate::request::{PurposeSource, RequestState, idempotency_key};
use crate::review::{ReviewPolicy, Risk};
use crate::store::{
    AlertKind, Approvals, Decision, EventKind, NewRequest, PushTarget, RequestRecord, Resend,
    Store, StoreError, Tx, format_time,
};

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
    /// Where an approval of a request that needs more than one stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Approvals>,
    /// An approval for a time: when patdesk revokes it.
    #[serde(default, with = "crate::store::stored_time::option")]
    pub until: Option<Timestamp>,
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

/// Runs `act` in the member's write, with the request read inside it and `action` checked
/// against its state: `act` is given the record and the state the action leads to. Nothing is
/// kept unless all of it succeeds.
fn deciding<T>(
    store: &mut Store,
    member: &Member,
    id: i64,
    action: Action,
    act: impl FnOnce(&Tx<'_>, &RequestRecord, RequestState) -> Result<T, DecideError>,
) -> Result<T, DecideError> {
    store.write_for(member, |tx| {
        let record = tx.request(id)?;
        let next = transition(action, record.state, member, &record.request.owner_login)?;
        act(tx, &record, next)
    })
}

/// Queues the requester's mail about a decision, when their address is known.
fn tell_requester(
    tx: &Tx<'_>,
    record: &RequestRecord,
    mail: fn(DecisionMail) -> Outgoing,
    by: &str,
    reason: Option<&str>,
    steps: Vec<String>,
    until: Option<Timestamp>,
) -> Result<Option<i64>, StoreError> {
    let mail = mail(DecisionMail {
        request: record.id,
        org: record.request.org.clone(),
        token_name: record.request.token_name.clone(),
        owner: record.request.owner_login.clone(),
        by: by.to_string(),
        reason: reason.map(str::to_string),
        steps,
        until: until.map(format_time),
    });
    let key = idempotency_key(record.id, mail.kind().as_str());
    queue_for_requester(tx, record, &mail, &key)
}

/// Queues `mail` to the requester of `record` under idempotency `key`; without an address,
/// records that they could not be told.
pub(crate) fn queue_for_requester(
    tx: &Tx<'_>,
    record: &RequestRecord,
    mail: &Outgoing,
    key: &str,
) -> Result<Option<i64>, StoreError> {
    let Some(address) = &record.owner_email else {
        tx.append_event(
            "system",
            Some(record.id),
            EventKind::RequesterNotTold,
            &json!({ "mail": mail.kind().as_str(), "why": "the requester's address is not known" }),
        )?;
        return Ok(None);
    };
    tx.enqueue_mail(address, mail, key)
}

/// Queues the GitHub call that carries a decision.
fn push(
    tx: &Tx<'_>,
    record: &RequestRecord,
    action: PushAction,
    reason: Option<&str>,
) -> Result<Option<i64>, StoreError> {
    let key = idempotency_key(record.id, action.as_str());
    tx.enqueue_push(&PushTarget::Request(record.id), action, reason, &key)
}

fn decided(record: &RequestRecord, state: RequestState, member: &Member) -> Decided {
    Decided {
        id: record.id,
        state,
        by: member.login.clone(),
        github_push: None,
        mail: None,
        risk: None,
        approvals: None,
        until: None,
    }
}

/// Approves request `id`, for good or `until` a time (a time-bound grant, which patdesk
/// revokes then).
pub fn approve(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: Option<&str>,
    until: Option<Timestamp>,
    policy: &ReviewPolicy,
) -> Result<Decided, DecideError> {
    approve_up_to(store, member, id, reason, until, policy, Risk::Critical)
}

/// Refused when a grant's end is not ahead, or after the token's own expiry.
fn check_until(
    record: &RequestRecord,
    until: Timestamp,
    now: Timestamp,
) -> Result<(), DecideError> {
    if until <= now {
        return Err(DecideError::Invalid(format!(
            "--until {} is not in the future (it is {} now)",
            format_time(until),
            format_time(now)
        )));
    }
    match record.request.token_expires_at {
        Some(expires) if until > expires => Err(Refusal(format!(
            "PAT-{}'s token itself expires at {}: the approval cannot outlast it; give an \
             earlier --until, or none",
            record.id,
            format_time(expires)
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Refused when `record` is above `cap`: a channel that may decide only up to a risk (Slack's
/// `decide_up_to`) is held to it inside the decision's own transaction, so a request whose
/// risk rose since its message was drawn is not decided there.
fn within_cap(record: &RequestRecord, cap: Risk) -> Result<(), DecideError> {
    if record.risk <= cap {
        return Ok(());
    }
    Err(DecideError::Refused(Refusal(format!(
        "PAT-{} is {} risk, above what may be decided here (up to {}): decide it with the CLI",
        record.id,
        record.risk.as_str(),
        cap.as_str()
    ))))
}

/// [`approve`], refused above `cap`.
pub fn approve_up_to(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: Option<&str>,
    until: Option<Timestamp>,
    policy: &ReviewPolicy,
    cap: Risk,
) -> Result<Decided, DecideError> {
    let reason = optional(reason);
    let now = store.now();
    deciding(store, member, id, Action::Approve, |tx, record, next| {
        within_cap(record, cap)?;
        if let Some(until) = until {
            check_until(record, until, now)?;
        }
        if reason.is_none() && needs_reason(policy.approval_reason_from, record.risk) {
            return Err(DecideError::Invalid(format!(
                "PAT-{} is {} risk: approving it needs --reason, what the auditor reads beside \
                 the grant (review.approval_reason_from)",
                record.id,
                record.risk.as_str()
            )));
        }
        let needed = policy.approvals_needed.of(record.risk);
        let earlier = tx.approvals(record.id)?;
        if earlier
            .iter()
            .any(|given| given.by.eq_ignore_ascii_case(&member.login))
        {
            return Err(Refusal(format!(
                "{} has already approved PAT-{}: a {} risk request needs {needed} approvals, \
                 each by a different member",
                member.login,
                record.id,
                record.risk.as_str()
            ))
            .into());
        }
        let approvals = (needed > 1).then(|| Approvals {
            given: earlier
                .iter()
                .map(|given| given.by.clone())
                .chain([member.login.clone()])
                .collect(),
            needed,
        });
        if let Some(approvals) = approvals.as_ref().filter(|a| a.missing() > 0) {
            // Counted, not yet decided: GitHub and the requester hear of it once enough
            // members have approved.
            tx.append_event(
                &member.login,
                Some(record.id),
                EventKind::ApprovalGiven,
                &json!({ "reason": reason, "risk": record.risk, "given": approvals.given.len(),
                         "needed": needed, "until": until.map(format_time) }),
            )?;
            let mut done = decided(record, record.state, member);
            done.approvals = Some(approvals.clone());
            return Ok(done);
        }
        // The earliest end any approver set: each agreed to no more than theirs.
        let until = earlier
            .iter()
            .filter_map(|given| given.until)
            .chain(until)
            .min();
        tx.record_decision(
            record.id,
            &member.login,
            Decision::Approved,
            reason,
            &earlier,
            until,
        )?;
        let mut done = decided(record, next, member);
        done.approvals = approvals;
        done.until = until;
        done.github_push = push(tx, record, PushAction::Approve, reason)?;
        done.mail = tell_requester(
            tx,
            record,
            Outgoing::Approval,
            &member.login,
            reason,
            Vec::new(),
            until,
        )?;
        Ok(done)
    })
}

/// Whether an approval of a request of `risk` must give its reason.
pub fn approval_needs_reason(policy: &ReviewPolicy, risk: Risk) -> bool {
    needs_reason(policy.approval_reason_from, risk)
}

fn needs_reason(from: ReasonFrom, risk: Risk) -> bool {
    let threshold = match from {
        ReasonFrom::Low => Risk::Low,
        ReasonFrom::Medium => Risk::Medium,
        ReasonFrom::High => Risk::High,
        ReasonFrom::Critical => Risk::Critical,
        ReasonFrom::Never => return false,
    };
    risk >= threshold
}

pub fn deny(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: &str,
) -> Result<Decided, DecideError> {
    deny_up_to(store, member, id, reason, Risk::Critical)
}

/// [`deny`], refused above `cap`.
pub fn deny_up_to(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: &str,
    cap: Risk,
) -> Result<Decided, DecideError> {
    let reason = required("the reason", reason)?;
    deciding(store, member, id, Action::Deny, |tx, record, next| {
        within_cap(record, cap)?;
        tx.record_decision(
            record.id,
            &member.login,
            Decision::Denied,
            Some(reason),
            &[],
            None,
        )?;
        let mut done = decided(record, next, member);
        done.github_push = push(tx, record, PushAction::Deny, Some(reason))?;
        // The denial tells the requester what would meet the policy.
        let steps = record
            .findings
            .iter()
            .map(|finding| finding.remedy.clone())
            .collect();
        done.mail = tell_requester(
            tx,
            record,
            Outgoing::Denial,
            &member.login,
            Some(reason),
            steps,
            None,
        )?;
        Ok(done)
    })
}

pub fn revoke(
    store: &mut Store,
    member: &Member,
    id: i64,
    reason: RevokeReason,
    note: Option<&str>,
) -> Result<Decided, DecideError> {
    let note = optional(note);
    let reason = reason.as_str();
    deciding(store, member, id, Action::Revoke, |tx, record, next| {
        tx.record_revocation(record.id, &member.login, reason, note)?;
        let mut done = decided(record, next, member);
        done.github_push = push(tx, record, PushAction::Revoke, Some(reason))?;
        done.mail = tell_requester(
            tx,
            record,
            Outgoing::Revocation,
            &member.login,
            Some(reason),
            Vec::new(),
            None,
        )?;
        Ok(done)
    })
}

/// What revoking an outside token queued, for the engineer who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RevokedOutside {
    pub org: String,
    pub grant_id: i64,
    pub owner_login: String,
    pub token_name: Option<String>,
    pub by: String,
    /// The GitHub call queued.
    pub github_push: i64,
}

/// Revokes an approved token no request accounts for (`patdesk list --outside`), by its
/// grant. There is no record to move: the revocation is its own audit event, and the token
/// leaves the list once GitHub no longer lists it. No mail goes out: patdesk has no address
/// for the owner of a token it never saw requested.
pub fn revoke_outside(
    store: &mut Store,
    member: &Member,
    org: &str,
    grant_id: i64,
    reason: RevokeReason,
    note: Option<&str>,
) -> Result<RevokedOutside, DecideError> {
    let note = optional(note);
    let reason = reason.as_str();
    store.write_for(member, |tx| {
        let token = tx.outside_token(org, grant_id)?;
        let target = PushTarget::OutsideGrant {
            org: org.to_string(),
            grant_id,
        };
        if let Some(state) = tx.grant_revocation_standing(org, grant_id)? {
            return Err(Refusal(format!(
                "{target} is already being revoked (its revocation is {state}): \
                 `patdesk list --outside` shows how far it has come"
            ))
            .into());
        }
        let asked = tx.append_event(
            &member.login,
            None,
            EventKind::OutsideTokenRevoked,
            &json!({ "org": org, "grant_id": grant_id, "owner_login": token.owner_login,
                     "token_name": token.token_name, "access_granted_at": token.granted_at.map(format_time),
                     "token_expires_at": token.expires_at.map(format_time), "reason": reason, "note": note }),
        )?;
        // A failed revocation may be asked for again: each asking is its own push, keyed by
        // its event.
        let key = format!("grant-{org}-{grant_id}:revoke@{}", asked.seq);
        let github_push = tx
            .enqueue_push(&target, PushAction::Revoke, Some(reason), &key)?
            .ok_or_else(|| StoreError::Corrupt(format!("push {key} exists already")))?;
        Ok(RevokedOutside {
            org: org.to_string(),
            grant_id,
            owner_login: token.owner_login,
            token_name: token.token_name,
            by: member.login.clone(),
            github_push,
        })
    })
}

pub fn note(
    store: &mut Store,
    member: &Member,
    id: i64,
    text: &str,
) -> Result<Decided, DecideError> {
    let text = required("the note", text)?;
    deciding(store, member, id, Action::Note, |tx, record, next| {
        tx.add_note(record.id, &member.login, text)?;
        Ok(decided(record, next, member))
    })
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
    // The review's own minimum: a purpose it would call too short is not taken.
    let length = text.chars().count();
    let minimum = policy.min_purpose_chars as usize;
    if length < minimum {
        return Err(DecideError::Invalid(format!(
            "the purpose is {length} characters; the review needs at least {minimum} \
             (review.min_purpose_chars) to judge the permissions against: say what the token \
             does, on which repositories, and for how long"
        )));
    }
    deciding(
        store,
        member,
        id,
        Action::RecordPurpose,
        |tx, record, next| {
            let reviewed = take_purpose(
                tx,
                record,
                text,
                &member.login,
                PurposeSource::Engineer,
                policy,
                next,
            )?;
            let mut done = decided(record, next, member);
            done.risk = Some(reviewed.risk);
            Ok(done)
        },
    )
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
    deciding(store, member, id, Action::Note, |tx, record, _| {
        if !record.state.is_open() {
            return Err(Refusal(format!(
                "the request is already {}: there is nobody to ask any more",
                record.state
            ))
            .into());
        }
        let mut done = decided(record, record.state, member);
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
                AlertKind::AddressReplaced,
                Some(record.id),
                &format!(
                    "{} replaced the address of {} (PAT-{id}): {old} -> {email}; {redirected} queued mail(s) follow the new address",
                    member.login, record.request.owner_login
                ),
            )?;
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
                done.mail = queue_question(tx, record.id, &new, email)?;
                tx.record_state(
                    record.id,
                    &member.login,
                    RequestState::AwaitingPurpose,
                    "asked for the purpose",
                )?;
                done.state = RequestState::AwaitingPurpose;
            }
        }
        Ok(done)
    })
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
    store.write_for(member, |tx| {
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
            tx,
            &record,
            &answer.text,
            &member.login,
            PurposeSource::AcceptedReply,
            policy,
            next,
        )?;
        tx.accept_triaged_answer(mail, &member.login)?;
        acknowledge(tx, &record, &answer.text)?;
        let mut done = decided(&record, next, member);
        done.risk = Some(reviewed.risk);
        Ok(done)
    })
}

/// What `triage dismiss` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Dismissed {
    pub mail: i64,
    /// The request the mail was about, if any: it is unchanged.
    pub request: Option<i64>,
    pub by: String,
}

/// Takes mail `mail` out of triage for `reason`, changing nothing else: a stranger's mail, or
/// a late unverified answer about a request decided since, is kept but no longer waits.
pub fn dismiss_triaged(
    store: &mut Store,
    member: &Member,
    mail: i64,
    reason: &str,
) -> Result<Dismissed, DecideError> {
    let reason = required("the reason", reason)?;
    store.write_for(member, |tx| {
        let request = tx.dismiss_triaged(mail, &member.login, reason)?;
        Ok(Dismissed {
            mail,
            request,
            by: member.login.clone(),
        })
    })
}

/// What `resend` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Resent {
    pub mail: i64,
    pub was: crate::store::OutboxState,
    pub by: String,
}

/// Queues an uncertain or failed mail again, after a member checked it did not arrive.
pub fn resend(store: &mut Store, member: &Member, mail: i64) -> Result<Resent, DecideError> {
    // A refusal returns an error, so the write is rolled back.
    store.write_for(member, |tx| match tx.resend_mail(mail, &member.login)? {
        Resend::Queued { was } => Ok(Resent {
            mail,
            was,
            by: member.login.clone(),
        }),
        Resend::Refused { state } => Err(Refusal(format!(
            "mail {mail} is {state}; only uncertain or failed mail is sent again"
        ))
        .into()),
    })
}

/// What `policy accept` recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AcceptedCases {
    pub policy: String,
    pub ids: Vec<i64>,
    pub by: String,
}

/// Accepts, for `policy` (`policy@<sha256>`), requests people denied that the policy would
/// have approved: the member has looked at each and agrees the policy may be that permissive.
/// Each acceptance is an audit event; all or none are recorded.
pub fn accept_policy_cases(
    store: &mut Store,
    member: &Member,
    policy: &str,
    ids: &[i64],
    reason: &str,
) -> Result<AcceptedCases, DecideError> {
    let reason = required("the reason", reason)?;
    let digest = policy.strip_prefix(crate::policy::POLICY_ACTOR_PREFIX);
    if !digest
        .is_some_and(|digest| digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(DecideError::Invalid(format!(
            "{policy:?} is not a policy's name: expected policy@ and the file's SHA-256 (`patdesk policy show FILE`)"
        )));
    }
    if ids.is_empty() {
        return Err(DecideError::Invalid(
            "name at least one request".to_string(),
        ));
    }
    store.write_for(member, |tx| {
        for &id in ids {
            let record = tx.request(id)?;
            let denied_by_people = record.state == RequestState::Denied
                && record
                    .decided_by
                    .as_deref()
                    .is_some_and(|by| !by.starts_with(crate::policy::POLICY_ACTOR_PREFIX));
            if !denied_by_people {
                return Err(Refusal(format!(
                    "PAT-{id} is {} and was not denied by a person: only a request people denied \
                     can hold a policy back, and so be accepted",
                    record.state
                ))
                .into());
            }
            tx.append_event(
                &member.login,
                Some(id),
                EventKind::PolicyCaseAccepted,
                &json!({ "policy": policy, "reason": reason, "denied_by": record.decided_by,
                         "denial_reason": record.decision_reason }),
            )?;
        }
        Ok(AcceptedCases {
            policy: policy.to_string(),
            ids: ids.to_vec(),
            by: member.login.clone(),
        })
    })
}
