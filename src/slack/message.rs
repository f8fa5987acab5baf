//! A request as the team's Slack channel shows it (Block Kit), and the two modals: the reason
//! for a decision, and the request in full.
//!
//! Everything from outside (token names, logins, repositories, the purpose, findings that
//! quote them) goes into `plain_text` objects, which Slack shows as written: no mention, no
//! link, no formatting can come from a requester. Control characters are shown as escapes,
//! and each text is cut to Slack's limits.

use serde_json::{Value, json};

use super::interaction::{Click, REASON_BLOCK, REASON_CALLBACK, REASON_INPUT, ReasonFor};
use crate::request::RequestState;
use crate::review::Risk;
use crate::shown;
use crate::store::{Approvals, RequestRecord, format_time};

/// Slack's limits: a header's text, a section's text, a modal's title.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
/// Repositories and findings listed on the message itself; "Show in full" has the rest.
const LISTED: usize = 10;

/// The text of a `plain_text` object: outside text shown as it is, cut to `max` characters.
fn plain(text: &str, max: usize) -> Value {
    let shown = shown::block(text);
    let cut = match shown.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) => format!("{}…", &shown[..at]),
        None => shown.into_owned(),
    };
    json!({ "type": "plain_text", "text": cut, "emoji": false })
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": plain(text, SECTION_CHARS) })
}

/// The notification text (what a phone shows), and the blocks of request `record`'s message.
/// `decide_up_to`: the highest risk the buttons may decide; above it the message says to use
/// the CLI.
/// `approvals`: for a request in review that needs several, who has approved.
pub fn request_message(
    record: &RequestRecord,
    approvals: Option<&Approvals>,
    decide_up_to: Risk,
) -> (String, Value) {
    let request = &record.request;
    let token = request.token_name.as_deref().unwrap_or("(unnamed token)");
    // The notification text is read as mrkdwn by Slack, unlike the blocks' plain_text: `&`,
    // `<` and `>` as entities, so a token name cannot mention the channel or hide a link.
    let notification = shown::slack(&shown::quoted(
        &format!(
            "PAT-{}: {} by {} in {} ({} risk)",
            record.id,
            token,
            request.owner_login,
            request.org,
            record.risk.as_str()
        ),
        200,
    ));
    let mut blocks = vec![json!({
        "type": "header",
        "text": plain(&format!("PAT-{} · {} · {}", record.id, token, request.org), HEADER_CHARS),
    })];
    let repositories = match request.repositories.len() {
        count if count > LISTED => format!(
            "{}, and {} more",
            request.repositories[..LISTED].join(", "),
            count - LISTED
        ),
        _ => record.scope(),
    };
    blocks.push(section(&format!(
        "Owner: {} ({})\nRisk: {}\nRepositories: {}\nPermissions: {}\nExpires: {}",
        request.owner_login,
        request.standing(),
        record.risk.as_str(),
        repositories,
        request.permissions.summary(),
        request
            .token_expires_at
            .map_or_else(|| "never".to_string(), format_time),
    )));
    blocks.push(section(&match record.purpose_and_source() {
        (Some(purpose), Some(from)) => format!("Purpose ({from}): {purpose}"),
        (Some(purpose), None) => format!("Purpose: {purpose}"),
        (None, _) => "Purpose: none given".to_string(),
    }));
    if !record.findings.is_empty() {
        let mut lines: Vec<String> = record
            .findings
            .iter()
            .take(LISTED)
            .map(|finding| format!("• {}: {}", finding.severity.as_str(), finding.why))
            .collect();
        if record.findings.len() > LISTED {
            lines.push(format!("… and {} more", record.findings.len() - LISTED));
        }
        blocks.push(section(&format!("Findings:\n{}", lines.join("\n"))));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            // The org's login comes from the config, never from a requester.
            "text": format!(
                "<https://github.com/organizations/{}/settings/personal-access-token-requests|Pending requests on GitHub>",
                request.org
            ),
        }],
    }));
    if let Some(approvals) = approvals.filter(|a| !a.given.is_empty()) {
        blocks.push(section(&format!(
            "Approved by {}; {} more approval(s) needed, each from another member",
            approvals.given.join(", "),
            approvals.missing()
        )));
    }
    blocks.push(outcome_or_buttons(record, decide_up_to));
    (notification, Value::Array(blocks))
}

/// The buttons while the request waits for a decision; once decided (here, on GitHub, by
/// the CLI), who decided and when.
fn outcome_or_buttons(record: &RequestRecord, decide_up_to: Risk) -> Value {
    let id = record.id.to_string();
    let show = json!({
        "type": "button", "action_id": Click::SHOW, "value": id,
        "text": plain("Show in full", 75),
    });
    match record.state {
        RequestState::InReview if record.risk <= decide_up_to => json!({
            "type": "actions",
            "block_id": format!("decide-{id}"),
            "elements": [
                { "type": "button", "action_id": Click::APPROVE, "value": id, "style": "primary",
                  "text": plain("Approve", 75) },
                { "type": "button", "action_id": Click::DENY, "value": id, "style": "danger",
                  "text": plain("Deny", 75) },
                show,
            ],
        }),
        RequestState::InReview => json!({
            "type": "actions",
            "block_id": format!("decide-{id}"),
            "elements": [show],
        }),
        _ => section(&outcome(record)),
    }
}

/// What became of a request, in a line.
pub fn outcome(record: &RequestRecord) -> String {
    let when = |at: Option<jiff::Timestamp>| at.map(format_time).unwrap_or_default();
    let by = |who: &Option<String>| who.as_deref().unwrap_or("someone").to_string();
    match record.state {
        RequestState::Approved => format!(
            "Approved by {} {}",
            by(&record.decided_by),
            when(record.decided_at)
        ),
        RequestState::Denied => format!(
            "Denied by {} {}: {}",
            by(&record.decided_by),
            when(record.decided_at),
            record.decision_reason.as_deref().unwrap_or("")
        ),
        RequestState::Revoked => format!(
            "Revoked by {} {}",
            by(&record.revoked_by),
            when(record.revoked_at)
        ),
        RequestState::Expired => "The token has expired".to_string(),
        RequestState::Withdrawn => "Gone from GitHub's pending requests, not approved".to_string(),
        RequestState::InReview => "Waiting for a decision".to_string(),
        RequestState::New | RequestState::AwaitingPurpose | RequestState::NeedsContact => {
            "Back to waiting for the requester".to_string()
        }
    }
}

/// The modal that asks the reason for a decision.
pub fn reason_modal(reason_for: &ReasonFor, record: &RequestRecord) -> Value {
    let (title, submit, label) = match reason_for.decision {
        super::interaction::Reasoned::Deny => (
            "Deny the request",
            "Deny",
            "Why is it denied? The requester reads this.",
        ),
        super::interaction::Reasoned::Approve => (
            "Approve the request",
            "Approve",
            "Why is it approved? The auditor reads this.",
        ),
    };
    json!({
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "private_metadata": serde_json::to_string(reason_for).unwrap_or_default(),
        "title": plain(title, 24),
        "submit": plain(submit, 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(&format!(
                "PAT-{}: {} by {}",
                record.id,
                record.request.token_name.as_deref().unwrap_or("(unnamed token)"),
                record.request.owner_login
            )),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": plain(label, 2000),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": true,
                    "max_length": 2000,
                },
            },
        ],
    })
}

/// The modal with the request in full: every repository, permission and finding with its
/// remedy.
pub fn full_modal(record: &RequestRecord) -> Value {
    let request = &record.request;
    let mut blocks = vec![section(&format!(
        "PAT-{} · {} · {}\nOwner: {} ({})\nState: {}, risk {}\nRepositories: {}\nPermissions: {}\nGitHub reason: {}",
        record.id,
        request.token_name.as_deref().unwrap_or("(unnamed token)"),
        request.org,
        request.owner_login,
        request.standing(),
        record.state,
        record.risk.as_str(),
        record.scope(),
        request.permissions.summary(),
        request.github_reason.as_deref().unwrap_or("-"),
    ))];
    if let (Some(purpose), from) = record.purpose_and_source() {
        blocks.push(section(&format!(
            "Purpose ({}): {purpose}",
            from.unwrap_or("recorded")
        )));
    }
    // A modal takes 100 blocks; findings beyond that are in `patdesk show`.
    for finding in record.findings.iter().take(90) {
        blocks.push(section(&format!(
            "{}: {}\nWhat would meet the policy: {}",
            finding.severity.as_str(),
            finding.why,
            finding.remedy
        )));
    }
    json!({
        "type": "modal",
        "title": plain(&format!("PAT-{}", record.id), 24),
        "close": plain("Close", 24),
        "blocks": blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<!channel> <https://evil.example|Re-authenticate> *now*\u{1b}[2J";

    /// Every text object of `value` with its type, wherever it sits.
    fn texts(value: &Value, found: &mut Vec<(String, String)>) {
        match value {
            Value::Object(fields) => {
                if let (Some(Value::String(kind)), Some(Value::String(text))) =
                    (fields.get("type"), fields.get("text"))
                {
                    found.push((kind.clone(), text.clone()));
                }
                fields.values().for_each(|inner| texts(inner, found));
            }
            Value::Array(items) => items.iter().for_each(|inner| texts(inner, found)),
            _ => {}
        }
    }

    #[test]
    fn text_from_outside_can_neither_mention_link_format_nor_move_the_terminal() {
        let mut record = crate::policy::floor::sample_request();
        record.request.token_name = Some(HOSTILE.to_string());
        record.request.purpose = Some(HOSTILE.to_string());
        record.state = RequestState::Denied;
        record.decided_by = Some("bob".to_string());
        record.decision_reason = Some(HOSTILE.to_string());
        let (notification, blocks) = request_message(&record, None, Risk::Medium);
        assert!(
            !notification.contains('<') && !notification.contains('>'),
            "{notification}"
        );
        assert!(notification.contains("&lt;!channel&gt;"), "{notification}");
        let mut found = Vec::new();
        for value in [&blocks, &full_modal(&record)] {
            texts(value, &mut found);
        }
        let outside: Vec<_> = found
            .iter()
            .filter(|(_, text)| text.contains("!channel"))
            .collect();
        assert!(
            outside.len() >= 4,
            "the name, purpose and reason are shown: {found:?}"
        );
        for (kind, text) in outside {
            assert_eq!(kind, "plain_text", "{text}");
            assert!(!text.contains('\u{1b}') && text.contains("\\x1b"), "{text}");
        }
        // The one mrkdwn text is patdesk's own link.
        for (kind, text) in &found {
            if kind == "mrkdwn" {
                assert!(
                    text.starts_with("<https://github.com/organizations/example-org/"),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn a_request_approved_once_of_two_says_who_approved_and_keeps_its_buttons() {
        let record = crate::policy::floor::sample_request();
        let approvals = Approvals {
            given: vec!["alice".to_string()],
            needed: 2,
        };
        let (_, blocks) = request_message(&record, Some(&approvals), Risk::Critical);
        let mut found = Vec::new();
        texts(&blocks, &mut found);
        assert!(
            found.iter().any(|(_, text)| text
                == "Approved by alice; 1 more approval(s) needed, each from another member"),
            "{found:?}"
        );
        assert!(found.iter().any(|(_, text)| text == "Approve"), "{found:?}");
        let (_, none) = request_message(&record, None, Risk::Critical);
        let mut found = Vec::new();
        texts(&none, &mut found);
        assert!(
            !found
                .iter()
                .any(|(_, text)| text.starts_with("Approved by"))
        );
    }
}
