//! Outgoing mail: templates rendered, headers nothing from outside can break, and Message-IDs
//! that patdesk recognises in a reply and nobody else can forge.
//!
//! Token names, purposes and addresses come from GitHub and from mail: every value put into a
//! header is reduced to one line first, and the recipient must be exactly one address.

use std::path::Path;
use std::str::FromStr;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message, SinglePart};
use minijinja::{Environment, UndefinedBehavior};

/// The kinds of mail patdesk writes, one template each.
pub const KINDS: [&str; 9] = [
    "question",
    "reminder",
    "acknowledgement",
    "approval",
    "denial",
    "revocation",
    "usage_notice",
    "grant_ending",
    "alert",
];

/// The weekly report's template: not a mail of its own, the text of an alert.
pub const REPORT: &str = "report";

/// The templates shipped with patdesk, used where the admin's folder has none.
const BUILT_IN: [(&str, &str); 10] = [
    ("question", include_str!("../../templates/question.txt")),
    ("reminder", include_str!("../../templates/reminder.txt")),
    (
        "acknowledgement",
        include_str!("../../templates/acknowledgement.txt"),
    ),
    ("approval", include_str!("../../templates/approval.txt")),
    ("denial", include_str!("../../templates/denial.txt")),
    ("revocation", include_str!("../../templates/revocation.txt")),
    (
        "usage_notice",
        include_str!("../../templates/usage_notice.txt"),
    ),
    (
        "grant_ending",
        include_str!("../../templates/grant_ending.txt"),
    ),
    ("alert", include_str!("../../templates/alert.txt")),
    (REPORT, include_str!("../../templates/report.txt")),
];

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("template {kind}: {error}")]
    Template { kind: String, error: String },
    #[error("template {kind} must start with a `Subject:` line and a blank line")]
    NoSubject { kind: String },
    #[error("cannot read template {path}: {error}")]
    Read { path: String, error: String },
    #[error("{what} {value:?} is not one email address")]
    Address { what: &'static str, value: String },
    #[error("cannot build the mail: {0}")]
    Build(String),
}

#[derive(Clone)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in templates, each replaced by `KIND.txt` from `folder` where it has one.
    /// Only those names are read from the folder.
    pub fn load(folder: Option<&Path>) -> Result<Templates, ComposeError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (kind, built_in) in BUILT_IN {
            let source = match folder.map(|folder| folder.join(format!("{kind}.txt"))) {
                Some(path) if path.is_file() => {
                    std::fs::read_to_string(&path).map_err(|e| ComposeError::Read {
                        path: path.display().to_string(),
                        error: e.to_string(),
                    })?
                }
                _ => built_in.to_string(),
            };
            // The subject is a template of its own, so a value with a line break in it can
            // only ever end up in the subject, on one line.
            let (first, body) = source.split_once('\n').unwrap_or((source.as_str(), ""));
            let subject = first
                .trim_end_matches('\r')
                .strip_prefix("Subject:")
                .ok_or_else(|| ComposeError::NoSubject {
                    kind: kind.to_string(),
                })?
                .to_string();
            let body = body
                .strip_prefix("\r\n")
                .or_else(|| body.strip_prefix('\n'))
                .unwrap_or(body)
                .to_string();
            for (name, text) in [
                (format!("{kind}.subject"), subject),
                (format!("{kind}.body"), body),
            ] {
                env.add_template_owned(name, text)
                    .map_err(|e| ComposeError::Template {
                        kind: kind.to_string(),
                        error: e.to_string(),
                    })?;
            }
        }
        Ok(Templates { env })
    }

    /// The subject and body of a `kind` mail; a variable the template uses and `context`
    /// lacks is an error, not an empty string.
    pub fn render(
        &self,
        kind: &str,
        context: &serde_json::Value,
    ) -> Result<(String, String), ComposeError> {
        let failed = |error: minijinja::Error| ComposeError::Template {
            kind: kind.to_string(),
            error: error.to_string(),
        };
        let render = |part: &str| {
            self.env
                .get_template(&format!("{kind}.{part}"))
                .and_then(|template| template.render(context))
                .map_err(failed)
        };
        let subject = render("subject")?;
        let body = render("body")?;
        Ok((one_line(&subject), body))
    }

    /// Renders every template with sample data, for `check-config`.
    pub fn check(&self) -> Result<(), ComposeError> {
        for kind in KINDS {
            self.render(kind, &sample_context())?;
        }
        self.render(REPORT, &sample_report())?;
        Ok(())
    }
}

/// Everything a template may use, with plausible values.
pub fn sample_context() -> serde_json::Value {
    serde_json::json!({
        "request": 42,
        "org": "acme-corp",
        "token_name": "ci-reader",
        "owner": "carol",
        "team_name": "platform team",
        "scope": "acme-corp/api",
        "permissions": "repository: issues=read, metadata=read",
        "expires": "2027-02-24",
        "review_url": "https://github.com/organizations/acme-corp/settings/personal-access-token-requests/25381",
        "by": "alice",
        "purpose": "Reads the api repository's issues for the weekly report.",
        "reason": "Too broad for a report",
        "steps": ["Select only the repositories the token needs."],
        "summary": "a requester cannot be reached",
        "message": "No address for carol.",
        "last_used": "2026-09-01",
        "stale_in_days": 14,
        "until": "2026-12-31 17:00 UTC",
    })
}

/// A weekly report with a line of each kind, for `check-config`.
pub fn sample_report() -> serde_json::Value {
    let line = serde_json::json!({
        "request": 42, "org": "acme-corp", "owner": "carol", "token_name": "ci-reader",
        "state": "in_review", "date": "2026-12-01", "days": 3,
    });
    serde_json::json!({
        "week_ending": "2026-12-07",
        "waiting": [line],
        "decisions": [{ "member": "alice", "approved": 3, "denied": 1, "revoked": 0 }],
        "time_to_decision": [
            { "risk": "critical", "decided": 1, "p50_hours": 2.5, "p95_hours": 2.5 },
            { "risk": "low", "decided": 4, "p50_hours": 6.0, "p95_hours": 30.1 },
        ],
        "expiring_within_days": 14,
        "expiring": [line],
        "stale_after_days": 90,
        "stale": [line],
        "without_expiry": [line],
        "outside": { "total": 12, "stale": 3, "without_expiry": 1 },
        "audit_head": "118:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    })
}

/// Header text on one line: control characters (a CR or LF above all) become spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who a mail is from and to, and where it stands in a conversation.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub reply_to: &'a str,
    /// Without angle brackets.
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub references: &'a [String],
    /// `auto-generated` for mail patdesk starts, `auto-replied` for an answer to a person.
    pub auto_submitted: &'a str,
}

/// At most this many Message-IDs in `References`, or the header grows with every reply of a
/// long thread.
pub const MAX_REFERENCES: usize = 10;

/// The thread's first message and its latest ones, as mail clients trim `References`
/// (RFC 5322 §3.6.4): what threading needs, within [`MAX_REFERENCES`].
fn capped_references(ids: &[String]) -> impl Iterator<Item = &String> {
    let latest = ids.len().saturating_sub(MAX_REFERENCES - 1).max(1);
    ids.first().into_iter().chain(ids.iter().skip(latest))
}

/// The whole mail, ready for SMTP and for the Sent folder.
pub fn compose(
    subject: &str,
    body: &str,
    envelope: &Envelope<'_>,
) -> Result<Vec<u8>, ComposeError> {
    let mailbox = |what: &'static str, value: &str| {
        Mailbox::from_str(value.trim()).map_err(|_| ComposeError::Address {
            what,
            value: value.to_string(),
        })
    };
    let mut builder = Message::builder()
        .from(mailbox("the sender", envelope.from)?)
        .to(mailbox("the recipient", envelope.to)?)
        .reply_to(mailbox("Reply-To", envelope.reply_to)?)
        .subject(one_line(subject))
        .message_id(Some(format!("<{}>", one_line(envelope.message_id))))
        .header(AutoSubmitted(one_line(envelope.auto_submitted)))
        .header(SuppressAutoResponse);
    if let Some(parent) = envelope.in_reply_to {
        builder = builder.in_reply_to(format!("<{}>", one_line(parent)));
    }
    if !envelope.references.is_empty() {
        let references: Vec<String> = capped_references(envelope.references)
            .map(|id| format!("<{}>", one_line(id)))
            .collect();
        builder = builder.references(references.join(" "));
    }
    let message = builder
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(body.to_string()),
        )
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(message.formatted())
}

/// RFC 3834: automatic mail says so, so other robots do not answer it.
#[derive(Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(text.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Asks Exchange not to send out-of-office replies to this mail.
#[derive(Clone)]
struct SuppressAutoResponse;

impl Header for SuppressAutoResponse {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(SuppressAutoResponse)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_string())
    }
}
