//! Deciding: `approve`, `deny`, `revoke`, `note`, `purpose` and `contact`. Each is a request
//! to the daemon, which knows the caller by their OS account and applies the rules
//! (`crate::decide`); this module only says what was asked and what came of it.

use clap::Args;
use serde_json::json;

use super::output::{parse_request_id, print_json};
use super::{Context, Failure};
use crate::control::protocol::Request;
use crate::decide::{Decided, RevokedOutside};
use crate::lifecycle::RevokeReason;
use crate::shown;

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// Why, for the record and the requester
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
    /// Grant it only until this date (YYYY-MM-DD, the start of that day in UTC) or time
    /// (RFC 3339), no later than the token's own expiry: patdesk revokes it then, and tells
    /// its owner a day ahead
    #[arg(long, value_name = "DATE", value_parser = super::records::parse_date_or_time)]
    until: Option<jiff::Timestamp>,
}

#[derive(Debug, Args)]
pub struct DenyArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// Why, sent to the requester and to GitHub with what would meet the policy
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id, required_unless_present = "grant")]
    id: Option<i64>,
    /// Revoke a token no request accounts for instead, by its org and grant as
    /// `patdesk list --outside` shows them (acme:4711)
    #[arg(long, value_name = "ORG:GRANT", value_parser = parse_grant, conflicts_with = "id")]
    grant: Option<OutsideGrant>,
    /// Which of the runbook's cases this is
    #[arg(long, value_parser = revoke_reasons())]
    category: RevokeReason,
    /// Why, in words, for the record and the requester (as approve's and deny's --reason)
    #[arg(long, value_name = "TEXT", alias = "note")]
    reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// The note
    #[arg(value_name = "TEXT")]
    text: String,
}

#[derive(Debug, Args)]
pub struct PurposeArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// What the token is for, as the requester gave it
    #[arg(value_name = "TEXT")]
    text: String,
}

#[derive(Debug, Args)]
pub struct ContactArgs {
    /// The request's id (12 or PAT-12)
    #[arg(value_name = "ID", value_parser = parse_request_id)]
    id: i64,
    /// The requester's address
    #[arg(long, value_name = "ADDRESS")]
    email: String,
    /// Replace the address patdesk already has (recorded with both, and the team alerted)
    #[arg(long)]
    replace: bool,
}

/// What a command did to a request, for its confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    /// Approved, denied or revoked: the state is the news.
    Decision,
    Note,
    Purpose,
    Contact,
    /// An unverified answer taken from triage.
    Answer,
}

/// Prints what a command did.
pub(super) fn report(context: &Context, done: Done, decided: &Decided) -> Result<(), Failure> {
    if context.json {
        out!(
            "{}",
            json!({ "id": decided.id, "state": decided.state, "by": decided.by,
                    "github_push": decided.github_push, "mail": decided.mail, "risk": decided.risk,
                    "approvals": decided.approvals,
                    "until": decided.until.map(crate::store::format_time) })
        );
        return Ok(());
    }
    if let Some(risk) = decided.risk {
        out!("Reviewed again with the purpose: risk {}.", risk.as_str());
    }
    let (id, state, by) = (decided.id, decided.state, &decided.by);
    match (done, &decided.approvals) {
        (Done::Decision, Some(approvals)) if approvals.missing() > 0 => {
            out!(
                "Your approval of PAT-{id} is recorded ({} of {}: {}); it stays {state} until {} \
                 more member(s) approve. GitHub and the requester are told then.",
                approvals.given.len(),
                approvals.needed,
                approvals.given.join(", "),
                approvals.missing()
            );
        }
        (Done::Decision, Some(approvals)) => out!(
            "PAT-{id} is {state} (by {}).",
            approvals.given.join(" and ")
        ),
        (Done::Decision, None) => out!("PAT-{id} is {state} (by {by})."),
        (Done::Note, _) => out!("Note added to PAT-{id} (by {by}); it is {state}."),
        (Done::Purpose, _) => out!("Purpose recorded for PAT-{id} (by {by}); it is {state}."),
        (Done::Contact, _) => out!("Address recorded for PAT-{id} (by {by}); it is {state}."),
        (Done::Answer, _) => out!("Answer taken as PAT-{id}'s purpose (by {by}); it is {state}."),
    }
    if let Some(until) = decided.until {
        out!(
            "The approval is until {}: the daemon revokes it then, and tells its owner a day ahead.",
            crate::store::format_time(until)
        );
    }
    let mut follow_ups = Vec::new();
    if decided.github_push.is_some() {
        follow_ups.push("the decision to GitHub");
    }
    if decided.mail.is_some() {
        follow_ups.push("a mail to the requester");
    }
    if !follow_ups.is_empty() {
        out!("Queued for the daemon: {}.", follow_ups.join(" and "));
    }
    Ok(())
}

fn decide(context: &Context, done: Done, request: Request) -> Result<(), Failure> {
    let decided: Decided = context.ask_for(request)?;
    report(context, done, &decided)
}

pub fn approve(context: &Context, args: ApproveArgs) -> Result<(), Failure> {
    decide(
        context,
        Done::Decision,
        Request::Approve {
            id: args.id,
            reason: args.reason,
            until: args.until,
        },
    )
}

pub fn deny(context: &Context, args: DenyArgs) -> Result<(), Failure> {
    decide(
        context,
        Done::Decision,
        Request::Deny {
            id: args.id,
            reason: args.reason,
        },
    )
}

pub fn revoke(context: &Context, args: RevokeArgs) -> Result<(), Failure> {
    // The protocol keeps the category as the revocation's reason and the words as its note.
    let RevokeArgs {
        id,
        grant,
        category: reason,
        reason: note,
    } = args;
    match (id, grant) {
        (Some(id), _) => decide(
            context,
            Done::Decision,
            Request::Revoke { id, reason, note },
        ),
        (None, Some(grant)) => revoke_outside(context, grant, reason, note),
        // clap requires one of the two.
        (None, None) => Err(anyhow::anyhow!("give a request's ID, or --grant ORG:GRANT").into()),
    }
}

/// `revoke --grant ORG:GRANT`: there is no request whose state is the news.
fn revoke_outside(
    context: &Context,
    OutsideGrant { org, grant_id }: OutsideGrant,
    reason: RevokeReason,
    note: Option<String>,
) -> Result<(), Failure> {
    let revoked: RevokedOutside = context.ask_for(Request::RevokeOutside {
        org,
        grant_id,
        reason,
        note,
    })?;
    if context.json {
        return print_json(&revoked);
    }
    let RevokedOutside {
        org,
        grant_id,
        owner_login,
        token_name,
        by,
        ..
    } = &revoked;
    // Names from GitHub, on one line: a line break in one must not print a line of its own.
    out!(
        "The token \"{}\" of {} ({org}:{grant_id}) is to be revoked (by {by}).",
        shown::line(token_name.as_deref().unwrap_or("-")),
        shown::line(owner_login),
    );
    out!("Queued for the daemon: the revocation to GitHub. No mail goes to the owner.");
    Ok(())
}

/// An outside token as `--grant` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideGrant {
    org: String,
    grant_id: i64,
}

fn parse_grant(text: &str) -> Result<OutsideGrant, String> {
    let wrong = || format!("{text:?} is not ORG:GRANT (an org and a grant id, as acme:4711)");
    let (org, grant_id) = text.split_once(':').ok_or_else(wrong)?;
    let grant_id = grant_id.parse::<i64>().map_err(|_| wrong())?;
    if org.is_empty() || grant_id <= 0 {
        return Err(wrong());
    }
    Ok(OutsideGrant {
        org: org.to_string(),
        grant_id,
    })
}

pub fn note(context: &Context, args: NoteArgs) -> Result<(), Failure> {
    decide(
        context,
        Done::Note,
        Request::Note {
            id: args.id,
            text: args.text,
        },
    )
}

pub fn purpose(context: &Context, args: PurposeArgs) -> Result<(), Failure> {
    decide(
        context,
        Done::Purpose,
        Request::Purpose {
            id: args.id,
            text: args.text,
        },
    )
}

pub fn contact(context: &Context, args: ContactArgs) -> Result<(), Failure> {
    decide(
        context,
        Done::Contact,
        Request::Contact {
            id: args.id,
            email: args.email,
            replace: args.replace,
        },
    )
}

/// The revocation reasons, by their names (the domain type carries no CLI derives).
fn revoke_reasons() -> impl clap::builder::TypedValueParser<Value = RevokeReason> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(RevokeReason::ALL.map(RevokeReason::as_str))
        .try_map(|name| RevokeReason::named(&name).ok_or("not a revocation reason"))
}
