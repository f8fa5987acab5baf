//! Email as data: what a mail is, who sent it, whether that can be trusted, and what a person wrote.
//!
//! Everything here is a pure function of the raw bytes and a [`MailPolicy`]: no network, no
//! database. [`analyze`] never panics, whatever the bytes; a mail it cannot understand comes back
//! as [`Kind::Other`] so the caller can keep it for triage.

mod authenticity;
mod automatic;
mod bounce;
pub mod compose;
mod envelope;
mod github;
mod html;
pub mod message_id;
mod outgoing;
mod reply;

use std::sync::LazyLock;

use mail_parser::{Message, MessageParser};
use serde::Serialize;

use envelope::Headers;

pub use crate::address::{bare_address, is_address};
pub use authenticity::Authenticity;
pub use envelope::header_section;
pub use html::html_to_text;
pub use outgoing::{
    Acknowledgement, AlertMail, DecisionMail, GrantEnding, Outgoing, OutgoingKind, TokenQuestion,
    UsageNotice,
};
pub use reply::extract_reply;

pub use crate::config::{DEFAULT_MAX_MESSAGE_BYTES, MailPolicy, ReplyTrust};

/// What kind of mail this is, which decides what the daemon does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// GitHub's daily digest: an organisation has pending token requests.
    GithubPatRequestsPending,
    /// A token owned by a team account is about to expire.
    GithubTokenExpiring,
    /// A token owned by a team account has expired.
    GithubTokenExpired,
    /// An organisation approved, denied or revoked a team account's tokens.
    GithubTokenDecision,
    /// Written by a person.
    Human,
    /// Out-of-office replies, lists, newsletters, no-reply senders: never answered.
    Automatic,
    /// A delivery status notification about mail that could not be delivered.
    Bounce,
    /// Anything else: kept for a person to look at.
    Other,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::GithubPatRequestsPending,
        Kind::GithubTokenExpiring,
        Kind::GithubTokenExpired,
        Kind::GithubTokenDecision,
        Kind::Human,
        Kind::Automatic,
        Kind::Bounce,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::GithubPatRequestsPending => "github_pat_requests_pending",
            Kind::GithubTokenExpiring => "github_token_expiring",
            Kind::GithubTokenExpired => "github_token_expired",
            Kind::GithubTokenDecision => "github_token_decision",
            Kind::Human => "human",
            Kind::Automatic => "automatic",
            Kind::Bounce => "bounce",
            Kind::Other => "other",
        }
    }
}

/// What an organisation decided about a token, as a GitHub decision mail tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    Denied,
    Revoked,
}

/// Everything patdesk learns from one mail. The field set is the `patdesk parse --json`
/// contract: every field is always present, `null` or `[]` when it does not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub kind: Kind,
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// The From address, lower-cased.
    pub from: Option<String>,
    /// For human mail: To and Cc, lower-cased. A reply to a plus-address such as team+pat-12@
    /// names its request here.
    pub recipients: Vec<String>,
    /// RFC 2047-decoded.
    pub subject: Option<String>,
    pub authenticity: Authenticity,
    pub org_login: Option<String>,
    pub org_name: Option<String>,
    pub review_url: Option<String>,
    pub token_names: Vec<String>,
    pub expires_in_days: Option<u32>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
    /// For human mail: only what the person wrote now.
    pub reply_text: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub automatic_reason: Option<String>,
    pub failed_recipients: Vec<String>,
    /// For a bounce: the Message-ID of the mail that could not be delivered.
    pub original_message_id: Option<String>,
    /// True when the mail was over the size cap and only its headers were read.
    #[serde(skip)]
    pub body_skipped: bool,
}

impl Analysis {
    fn empty(kind: Kind) -> Self {
        Analysis {
            kind,
            message_id: None,
            from: None,
            recipients: Vec::new(),
            subject: None,
            authenticity: Authenticity::Unverified,
            org_login: None,
            org_name: None,
            review_url: None,
            token_names: Vec::new(),
            expires_in_days: None,
            decision: None,
            decision_reason: None,
            reply_text: None,
            in_reply_to: None,
            references: Vec::new(),
            automatic_reason: None,
            failed_recipients: Vec::new(),
            original_message_id: None,
            body_skipped: false,
        }
    }
}

/// One parser for the process: it holds no state between mails.
static PARSER: LazyLock<MessageParser> = LazyLock::new(MessageParser::new);

/// Classifies one raw mail and extracts what patdesk needs from it.
pub fn analyze(raw: &[u8], policy: &MailPolicy) -> Analysis {
    let body_skipped = raw.len() > policy.max_message_bytes;
    // A bug in the parser must cost one mail (kept as `other` for a person), not the daemon.
    let parsed = std::panic::catch_unwind(|| {
        if body_skipped {
            PARSER.parse_headers(raw)
        } else {
            PARSER.parse(raw)
        }
    });
    let Ok(Some(message)) = parsed else {
        let mut analysis = Analysis::empty(Kind::Other);
        analysis.body_skipped = body_skipped;
        return analysis;
    };

    let mut analysis = Analysis::empty(Kind::Other);
    analysis.body_skipped = body_skipped;
    let headers = Headers::of(&message);
    fill_envelope(&mut analysis, &message, &headers, policy);
    classify(&mut analysis, &message, &headers);
    analysis
}

fn fill_envelope(
    analysis: &mut Analysis,
    message: &Message<'_>,
    headers: &Headers<'_>,
    policy: &MailPolicy,
) {
    analysis.message_id = headers.message_id().map(envelope::bare_message_id);
    analysis.from = envelope::from_address(headers);
    analysis.subject = headers.subject().map(envelope::tidy_header_text);
    analysis.in_reply_to = envelope::message_ids(headers.in_reply_to())
        .into_iter()
        .next();
    analysis.references = envelope::message_ids(headers.references());
    analysis.authenticity = authenticity::verdict(
        message,
        headers,
        analysis.from.as_deref(),
        &policy.trusted_authserv_ids,
    );
}

/// Decides the kind. Order matters: a bounce is recognised first (it quotes whatever it
/// returns), then GitHub's mail (a Google Group relaying a digest adds list headers that must
/// not hide it), then automatic mail, and only then a person.
fn classify(analysis: &mut Analysis, message: &Message<'_>, headers: &Headers<'_>) {
    if let Some(report) = bounce::detect(message, headers) {
        analysis.kind = Kind::Bounce;
        analysis.failed_recipients = report.failed_recipients;
        analysis.original_message_id = report.original_message_id;
        return;
    }

    let bodies = envelope::BodyTexts::of(message);
    // HTML-only mail is converted here once, for both the GitHub recogniser and the reply.
    let readable = bodies.reply_source();
    if github::recognise(
        analysis,
        message,
        headers,
        readable.as_deref(),
        bodies.all(),
    ) {
        return;
    }

    if let Some(reason) = automatic::reason(message, headers, analysis.from.as_deref()) {
        analysis.kind = Kind::Automatic;
        analysis.automatic_reason = Some(reason);
        return;
    }

    if analysis.from.is_some() {
        analysis.kind = Kind::Human;
        analysis.recipients = envelope::recipient_addresses(headers);
        let author = envelope::from_name(headers);
        analysis.reply_text = readable.and_then(|text| extract_reply(&text, author));
    }
}
