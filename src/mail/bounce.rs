//! Delivery status notifications: which recipients failed, and which of our mails bounced.
//!
//! RFC 3464 reports (`multipart/report; report-type=delivery-status`) are read field by field.
//! Servers that send plain-text bounces from MAILER-DAEMON are recognised too, with the failed
//! addresses taken from `X-Failed-Recipients` or Postfix-style `<address>:` lines.

use std::sync::LazyLock;

use mail_parser::{HeaderName, Message, MessageParser, MimeHeaders, PartType};
use regex::Regex;

use super::envelope::{Headers, bare_message_id, raw_header, raw_headers, starts_with_caseless};

pub struct BounceReport {
    pub failed_recipients: Vec<String>,
    pub original_message_id: Option<String>,
}

/// Subject openings of bounces that do not come as RFC 3464 reports, lower-cased.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undelivered mail",
    "undeliverable",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "returned mail",
    "failure notice",
    "nicht zustellbar",
    "non remis",
];

/// Exim's and others' list of the addresses that failed; no standard header.
fn failed_recipients_header() -> HeaderName<'static> {
    HeaderName::Other("X-Failed-Recipients".into())
}

pub fn detect(message: &Message<'_>, headers: &Headers<'_>) -> Option<BounceReport> {
    let is_report = message.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"))
    });
    if !is_report && !looks_like_plain_bounce(message, headers) {
        return None;
    }

    let mut failed_recipients = Vec::new();
    let mut original_message_id = None;
    for part in &message.parts {
        let Some(ct) = part.content_type() else {
            continue;
        };
        let subtype = ct.subtype().unwrap_or_default().to_ascii_lowercase();
        match (ct.ctype().to_ascii_lowercase().as_str(), subtype.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                failed_recipients
                    .extend(failed_in_status(&String::from_utf8_lossy(part.contents())));
            }
            ("message", "rfc822" | "global") if original_message_id.is_none() => {
                if let PartType::Message(original) = &part.body {
                    original_message_id = original.message_id().map(bare_message_id);
                }
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers")
                if original_message_id.is_none() =>
            {
                original_message_id = MessageParser::new()
                    .parse_headers(part.contents())
                    .and_then(|headers| headers.message_id().map(bare_message_id));
            }
            _ => {}
        }
    }

    for header in raw_headers(message, failed_recipients_header()) {
        failed_recipients.extend(header.split(',').filter_map(normalise_address));
    }
    if failed_recipients.is_empty() || original_message_id.is_none() {
        let text = plain_text(message);
        if failed_recipients.is_empty() {
            failed_recipients.extend(postfix_style_recipients(&text));
        }
        if original_message_id.is_none() {
            original_message_id = quoted_message_id(&text);
        }
    }

    let mut seen = std::collections::HashSet::new();
    failed_recipients.retain(|address| seen.insert(address.clone()));
    Some(BounceReport {
        failed_recipients,
        original_message_id,
    })
}

/// Runs on every mail, so the cheap tests come first and nothing is allocated.
fn looks_like_plain_bounce(message: &Message<'_>, headers: &Headers<'_>) -> bool {
    if raw_header(message, failed_recipients_header()).is_some() {
        return true;
    }
    let subject = headers.subject().unwrap_or_default().trim_start();
    let bounce_subject = BOUNCE_SUBJECTS
        .iter()
        .any(|opening| starts_with_caseless(subject, opening));
    if !bounce_subject {
        return false;
    }
    let from_daemon = headers
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .and_then(|address| address.split_once('@'))
        .is_some_and(|(local, _)| {
            local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
        });
    let null_sender = raw_header(message, HeaderName::ReturnPath).is_some_and(|path| {
        path.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
            .is_empty()
    });
    from_daemon || null_sender
}

/// Recipients whose per-recipient block says `Action: failed` (or, lacking an action, a 5.x.x
/// status). RFC 3464 §2.3: blocks are separated by blank lines; the first block is per-message.
fn failed_in_status(status: &str) -> Vec<String> {
    let status = status.replace("\r\n", "\n");
    let mut failed = Vec::new();
    for block in status.split("\n\n") {
        let fields = unfolded_fields(block);
        let field = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let Some(recipient) = field("Final-Recipient").or_else(|| field("Original-Recipient"))
        else {
            continue;
        };
        let is_failure = match field("Action") {
            Some(action) => action.trim().eq_ignore_ascii_case("failed"),
            None => field("Status").is_some_and(|status| status.trim().starts_with('5')),
        };
        if is_failure {
            // `rfc822; user@example.org` — the address type comes first.
            let address = recipient
                .split_once(';')
                .map_or(recipient, |(_, address)| address);
            failed.extend(normalise_address(address));
        }
    }
    failed
}

fn unfolded_fields(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    fields
}

fn normalise_address(address: &str) -> Option<String> {
    let address = address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_lowercase();
    (address.contains('@') && !address.contains(char::is_whitespace)).then_some(address)
}

fn plain_text(message: &Message<'_>) -> String {
    message
        .parts
        .iter()
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.as_ref()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

static POSTFIX_RECIPIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^\s*<([^<>\s@]+@[^<>\s@]+)>(?: \(expanded from [^)]*\))?:")
        .expect("valid regex")
});

static QUOTED_MESSAGE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?mi)^\s*message-id:\s*<([^<>\s]+)>").expect("valid regex"));

fn postfix_style_recipients(text: &str) -> Vec<String> {
    POSTFIX_RECIPIENT
        .captures_iter(text)
        .filter_map(|captures| captures.get(1))
        .filter_map(|address| normalise_address(address.as_str()))
        .collect()
}

fn quoted_message_id(text: &str) -> Option<String> {
    QUOTED_MESSAGE_ID
        .captures(text)
        .and_then(|captures| captures.get(1))
        .map(|id| id.as_str().to_string())
}
