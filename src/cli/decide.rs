//! Deciding: `approve`, `deny`, `revoke`, `note` and `purpose`. Each reads the request inside
//! its write transaction, asks the lifecycle rules whether the action is allowed, and records
//! the change, its audit events and the follow-ups for the daemon (the GitHub call, the mail
//! to the requester) in that one transaction.

use anyhow::anyhow;
use clap::Args;
use jiff::Timestamp;
use serde_json::json;

use super::records::parse_request_id;
use super::{Context, Failure, exit};
use crate::lifecycle::{Action, Actor, RevokeReason, transition};
use crate::request::RequestState;
use crate::review::review;
use crate::store::{NewRequest, RequestRecord, StoreError, Tx};
use crate::sync::{is_address, queue_question};

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// Your GitHub login; you must be in the config's team.members
    #[arg(long, value_name = "LOGIN")]
    by: String,
    /// Why, for the record and the requester
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct DenyArgs {
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    #[arg(long, value_name = "LOGIN")]
    by: String,
    /// Why, sent to the requester and to GitHub with what would meet the policy
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    #[arg(long, value_name = "LOGIN")]
    by: String,
    #[arg(long, value_enum)]
    reason: RevokeReason,
    /// More detail, for the record
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    #[arg(long, value_name = "LOGIN")]
    by: String,
    #[arg(value_name = "TEXT")]
    text: String,
}

#[derive(Debug, Args)]
pub struct PurposeArgs {
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    #[arg(long, value_name = "LOGIN")]
    by: String,
    /// What the token is for, as the requester gave it
    #[arg(value_name = "TEXT")]
    text: String,
}

#[derive(Debug, Args)]
pub struct ContactArgs {
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// The requester's address
    #[arg(long, value_name = "ADDRESS")]
    email: String,
    #[arg(long, value_name = "LOGIN")]
    by: String,
}

/// What a decision left for the daemon.
#[derive(Default)]
struct Queued {
    github: Option<i64>,
    mail: Option<i64>,
}

/// Text the engineer must give; blank text is a usage mistake.
fn required_text<'a>(what: &str, text: &'a str) -> Result<&'a str, Failure> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Failure {
            code: exit::USAGE,
            error: anyhow!("{what} must not be empty"),
        });
    }
    Ok(text)
}

/// Opens the write, reads the request and checks the action against its state and the team.
fn begin<'c>(
    context: &'c mut Context,
    id: i64,
    by: &str,
    action: Action,
) -> Result<(Tx<'c>, RequestRecord, RequestState), Failure> {
    let team = context.config.team.members.clone();
    let tx = context.store.transaction()?;
    let record = tx.request(id)?;
    let actor = Actor {
        login: by,
        team: &team,
    };
    let next = transition(action, record.state, &actor, &record.request.owner_login)?;
    Ok((tx, record, next))
}

/// Queues the requester's mail about a decision, when their address is known.
fn tell_requester(
    tx: &Tx<'_>,
    record: &RequestRecord,
    kind: &str,
    payload: serde_json::Value,
) -> Result<Option<i64>, StoreError> {
    match &record.owner_email {
        Some(address) => tx.enqueue_mail(
            record.id,
            kind,
            address,
            &payload,
            &format!("pat-{}:{kind}", record.id),
        ),
        None => {
            tx.append_event(
                "system",
                Some(record.id),
                "requester_not_told",
                &json!({ "mail": kind, "why": "the requester's address is not known" }),
            )?;
            Ok(None)
        }
    }
}

fn payload(
    record: &RequestRecord,
    decision: &str,
    by: &str,
    reason: Option<&str>,
) -> serde_json::Value {
    json!({
        "request": record.id,
        "org": record.request.org,
        "token_name": record.request.token_name,
        "owner": record.request.owner_login,
        "decision": decision,
        "by": by,
        "reason": reason,
    })
}

fn report(
    context: &Context,
    id: i64,
    state: RequestState,
    by: &str,
    queued: &Queued,
) -> Result<(), Failure> {
    if context.json {
        println!(
            "{}",
            json!({ "id": id, "state": state, "by": by, "github_push": queued.github, "mail": queued.mail })
        );
        return Ok(());
    }
    println!("PAT-{id} is {state} (by {by}).");
    let mut follow_ups = Vec::new();
    if queued.github.is_some() {
        follow_ups.push("the decision to GitHub".to_string());
    }
    if queued.mail.is_some() {
        follow_ups.push("a mail to the requester".to_string());
    }
    if !follow_ups.is_empty() {
        println!("Queued for the daemon: {}.", follow_ups.join(" and "));
    }
    Ok(())
}

pub fn approve(context: &mut Context, args: &ApproveArgs) -> Result<(), Failure> {
    let reason = args
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|reason| !reason.is_empty());
    let (tx, record, next) = begin(context, args.id, &args.by, Action::Approve)?;
    tx.record_decision(record.id, &args.by, next, reason)?;
    let queued = Queued {
        github: tx.enqueue_push(
            record.id,
            "approve",
            reason,
            &format!("pat-{}:approve", record.id),
        )?,
        mail: tell_requester(
            &tx,
            &record,
            "approval",
            payload(&record, "approved", &args.by, reason),
        )?,
    };
    tx.commit()?;
    report(context, args.id, next, &args.by, &queued)
}

pub fn deny(context: &mut Context, args: &DenyArgs) -> Result<(), Failure> {
    let reason = required_text("--reason", &args.reason)?;
    let (tx, record, next) = begin(context, args.id, &args.by, Action::Deny)?;
    tx.record_decision(record.id, &args.by, next, Some(reason))?;
    let mut mail = payload(&record, "denied", &args.by, Some(reason));
    // The denial tells the requester what would meet the policy.
    mail["steps"] = json!(
        record
            .findings
            .iter()
            .map(|finding| &finding.remedy)
            .collect::<Vec<_>>()
    );
    let queued = Queued {
        github: tx.enqueue_push(
            record.id,
            "deny",
            Some(reason),
            &format!("pat-{}:deny", record.id),
        )?,
        mail: tell_requester(&tx, &record, "denial", mail)?,
    };
    tx.commit()?;
    report(context, args.id, next, &args.by, &queued)
}

pub fn revoke(context: &mut Context, args: &RevokeArgs) -> Result<(), Failure> {
    let note = args
        .note
        .as_deref()
        .map(str::trim)
        .filter(|note| !note.is_empty());
    let (tx, record, next) = begin(context, args.id, &args.by, Action::Revoke)?;
    let reason = args.reason.as_str();
    tx.record_revocation(record.id, &args.by, reason, note)?;
    let queued = Queued {
        github: tx.enqueue_push(
            record.id,
            "revoke",
            Some(reason),
            &format!("pat-{}:revoke", record.id),
        )?,
        mail: tell_requester(
            &tx,
            &record,
            "revocation",
            payload(&record, "revoked", &args.by, Some(reason)),
        )?,
    };
    tx.commit()?;
    report(context, args.id, next, &args.by, &queued)
}

pub fn note(context: &mut Context, args: &NoteArgs) -> Result<(), Failure> {
    let text = required_text("the note", &args.text)?;
    let (tx, record, next) = begin(context, args.id, &args.by, Action::Note)?;
    tx.add_note(record.id, &args.by, text)?;
    tx.commit()?;
    report(context, args.id, next, &args.by, &Queued::default())
}

pub fn purpose(context: &mut Context, args: &PurposeArgs) -> Result<(), Failure> {
    let text = required_text("the purpose", &args.text)?;
    let policy = context.config.review.clone();
    let (tx, record, next) = begin(context, args.id, &args.by, Action::RecordPurpose)?;
    let mut request = record.request.clone();
    request.purpose = Some(text.to_string());
    let reviewed = review(&request, &policy, Timestamp::now());
    tx.record_purpose(record.id, &args.by, text, "engineer", &reviewed, next)?;
    tx.commit()?;
    if !context.json {
        println!(
            "Reviewed again with the purpose: risk {}.",
            reviewed.risk.as_str()
        );
    }
    report(context, args.id, next, &args.by, &Queued::default())
}

pub fn contact(context: &mut Context, args: &ContactArgs) -> Result<(), Failure> {
    let email = args.email.trim();
    if !is_address(email) {
        return Err(Failure {
            code: exit::USAGE,
            error: anyhow!("{email:?} is not an email address such as carol@example.org"),
        });
    }
    let (tx, record, _) = begin(context, args.id, &args.by, Action::Note)?;
    if !record.state.is_open() {
        return Err(crate::lifecycle::Refusal(format!(
            "the request is already {}: there is nobody to ask any more",
            record.state
        ))
        .into());
    }
    tx.record_owner_email(record.id, &args.by, email, "engineer")?;
    let mut queued = Queued::default();
    if record.state == RequestState::NeedsContact {
        if record.request.stated_purpose().is_some() {
            tx.record_state(
                record.id,
                &args.by,
                RequestState::InReview,
                "the purpose is known",
            )?;
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
            queued.mail = queue_question(&tx, record.id, &new, email)?;
            tx.record_state(
                record.id,
                &args.by,
                RequestState::AwaitingPurpose,
                "asked for the purpose",
            )?;
        }
    }
    tx.commit()?;
    let state = context.store.request(args.id)?.state;
    report(context, args.id, state, &args.by, &queued)
}
