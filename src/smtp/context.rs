//! What the templates see: every value a template may use, present for every kind of mail (a
//! team's own templates may use any of them), filled from the mail's typed payload.

use serde::Serialize;

use crate::mail::{Outgoing, TokenQuestion};

#[derive(Debug, Serialize)]
pub(super) struct TemplateContext {
    request: i64,
    org: String,
    token_name: String,
    owner: String,
    team_name: String,
    scope: String,
    permissions: String,
    expires: String,
    review_url: String,
    by: String,
    reason: String,
    purpose: String,
    steps: Vec<String>,
    summary: String,
    message: String,
    /// A usage notice: the token's last use (a date, or "never").
    last_used: String,
    /// A usage notice: days until the token counts as stale.
    stale_in_days: i64,
    /// An approval for a time, and its notice: when it ends ("2026-12-31 17:00 UTC"), or
    /// empty.
    until: String,
}

/// The values for `mail`; `request_id` is the outbox row's, for a payload that names none.
pub(super) fn context(
    mail: &Outgoing,
    request_id: Option<i64>,
    team_name: &str,
) -> TemplateContext {
    let mut context = TemplateContext {
        request: mail.request().or(request_id).unwrap_or(0),
        org: String::new(),
        token_name: "(unnamed)".to_string(),
        owner: "there".to_string(),
        team_name: team_name.to_string(),
        scope: "-".to_string(),
        permissions: "-".to_string(),
        expires: "never".to_string(),
        review_url: String::new(),
        by: String::new(),
        reason: String::new(),
        purpose: String::new(),
        steps: Vec::new(),
        summary: String::new(),
        message: String::new(),
        last_used: "never".to_string(),
        stale_in_days: 0,
        until: String::new(),
    };
    let mut about_token = |org: &str, token_name: &Option<String>, owner: &str| {
        context.org = org.to_string();
        if let Some(name) = token_name {
            context.token_name = name.clone();
        }
        if !owner.is_empty() {
            context.owner = owner.to_string();
        }
    };
    match mail {
        Outgoing::Question(question) | Outgoing::Reminder(question) => {
            about_token(&question.org, &question.token_name, &question.owner);
            asked_about(&mut context, question);
        }
        Outgoing::Acknowledgement(acknowledgement) => {
            about_token(
                &acknowledgement.org,
                &acknowledgement.token_name,
                &acknowledgement.owner,
            );
            context.purpose = acknowledgement.purpose.clone();
        }
        Outgoing::Approval(decision)
        | Outgoing::Denial(decision)
        | Outgoing::Revocation(decision) => {
            about_token(&decision.org, &decision.token_name, &decision.owner);
            context.by = decision.by.clone();
            context.reason = decision.reason.clone().unwrap_or_default();
            context.steps = decision.steps.clone();
            context.until = decision
                .until
                .as_deref()
                .map(shown_time)
                .unwrap_or_default();
        }
        Outgoing::GrantEnding(ending) => {
            about_token(&ending.org, &ending.token_name, &ending.owner);
            context.until = shown_time(&ending.until);
        }
        Outgoing::UsageNotice(notice) => {
            about_token(&notice.org, &notice.token_name, &notice.owner);
            if let Some(at) = &notice.last_used_at {
                context.last_used = at.get(..10).unwrap_or(at).to_string();
            }
            context.stale_in_days = notice.stale_in_days;
        }
        Outgoing::Alert(alert) => {
            context.summary = alert.summary.clone();
            context.message = alert.message.clone();
        }
    }
    if context.review_url.is_empty() {
        context.review_url = crate::request::review_url(&context.org, None);
    }
    context
}

/// An RFC 3339 time as a requester reads it: "2026-12-31 17:00 UTC" (as stored, if it is not one).
fn shown_time(at: &str) -> String {
    match at.parse::<jiff::Timestamp>() {
        Ok(time) => time.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => at.to_string(),
    }
}

/// What the question shows of the token asked for.
fn asked_about(context: &mut TemplateContext, question: &TokenQuestion) {
    context.scope = match question.repository_selection.as_str() {
        "all" => format!("all repositories of {}", question.org),
        "none" => "none (organisation or account permissions only)".to_string(),
        _ if question.repositories.is_empty() => "-".to_string(),
        _ => question.repositories.join(", "),
    };
    if !question.permissions.is_empty() {
        context.permissions = question.permissions.clone();
    }
    if let Some(at) = &question.expires_at {
        context.expires = at.get(..10).unwrap_or(at).to_string();
    }
    if let Some(url) = &question.review_url {
        context.review_url = url.clone();
    }
}
