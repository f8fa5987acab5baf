//! Mail that no person wrote: out-of-office replies, lists, newsletters, no-reply senders.
//!
//! patdesk must never answer these (RFC 3834), or two robots mail each other forever — the
//! auto-reply storms that help desks are known for. The signals are RFC 3834's, plus the
//! non-standard headers and subjects the common mail systems use.

use mail_parser::Message;

use super::envelope::{raw_header, split_address};

/// Local parts that never read their mail.
const NO_REPLY_LOCAL_PARTS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "no-reply",
    "noreply",
    "no_reply",
    "do-not-reply",
    "donotreply",
    "do_not_reply",
];

/// Headers whose mere presence marks an automatic reply.
const AUTO_REPLY_HEADERS: &[&str] = &[
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Reply",
    "X-AutoReply-From",
    "X-Mail-Autoreply",
];

/// Headers of mailing lists and newsletters (RFC 2369, RFC 2919).
const LIST_HEADERS: &[&str] = &[
    "List-Id",
    "List-Unsubscribe",
    "List-Post",
    "List-Help",
    "List-Subscribe",
    "List-Owner",
    "List-Archive",
];

/// Subject openings of out-of-office replies from clients that set no header, lower-cased.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "automatic reply:",
    "auto reply:",
    "auto-reply:",
    "autoreply:",
    "auto:",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "automatisch antwoord",
    "ateb awtomatig",
    "respuesta automática",
    "risposta automatica",
];

/// Why this mail is automatic, or `None` when nothing says so.
pub fn reason(message: &Message<'_>, from: Option<&str>) -> Option<String> {
    if let Some(value) = raw_header(message, "Auto-Submitted") {
        let value = first_word(value);
        if !value.is_empty() && value != "no" {
            return Some(format!("auto-submitted: {value}"));
        }
    }
    if let Some(header) = AUTO_REPLY_HEADERS
        .iter()
        .find(|name| raw_header(message, name).is_some())
    {
        return Some(format!("header: {header}"));
    }
    for name in ["Precedence", "X-Precedence"] {
        if let Some(value) = raw_header(message, name) {
            let value = first_word(value);
            if matches!(value.as_str(), "bulk" | "list" | "junk" | "auto_reply") {
                return Some(format!("precedence: {value}"));
            }
        }
    }
    if let Some(header) = LIST_HEADERS
        .iter()
        .find(|name| raw_header(message, name).is_some())
    {
        return Some(format!("list header: {header}"));
    }
    if let Some(return_path) = raw_header(message, "Return-Path")
        && return_path
            .trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
            .is_empty()
    {
        return Some("empty return-path".to_string());
    }
    if let Some((local, _)) = from.and_then(split_address)
        && NO_REPLY_LOCAL_PARTS.contains(&local.as_str())
    {
        return Some(format!("no-reply sender: {local}"));
    }
    let subject = message
        .subject()
        .unwrap_or_default()
        .trim_start()
        .to_lowercase();
    if let Some(opening) = AUTO_REPLY_SUBJECTS
        .iter()
        .find(|opening| subject.starts_with(*opening))
    {
        return Some(format!("subject: {opening}"));
    }
    None
}

fn first_word(value: &str) -> String {
    value
        .split([';', '(', ' ', '\t', '\r', '\n'])
        .find(|word| !word.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase()
}
