//! Mail that no person wrote: out-of-office replies, lists, newsletters, no-reply senders.
//!
//! patdesk must never answer these (RFC 3834), or two robots mail each other forever — the
//! auto-reply storms that help desks are known for. The signals are RFC 3834's, plus the
//! non-standard headers and subjects the common mail systems use.

use mail_parser::{HeaderName, Message};

use super::envelope::{Headers, split_address, starts_with_caseless};

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
///
/// The headers are read in one pass; when several signals are present, the strongest is
/// reported: an explicit `Auto-Submitted` first, list headers and an empty return path last.
pub fn reason(message: &Message<'_>, headers: &Headers<'_>, from: Option<&str>) -> Option<String> {
    let raw = message.raw_message();
    let mut strongest: Option<(Signal, String)> = None;
    for header in &message.root_part().headers {
        let Some(signal) = Signal::of_header(&header.name) else {
            continue;
        };
        if strongest
            .as_ref()
            .is_some_and(|(found, _)| *found <= signal)
        {
            continue;
        }
        let value = raw
            .get(header.offset_start as usize..header.offset_end as usize)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default();
        if let Some(reason) = signal.reason(header.name.as_str(), value) {
            strongest = Some((signal, reason));
        }
    }
    if let Some((_, reason)) = strongest {
        return Some(reason);
    }
    if let Some((local, _)) = from.and_then(split_address)
        && let Some(no_reply) = NO_REPLY_LOCAL_PARTS
            .iter()
            .find(|no_reply| local.eq_ignore_ascii_case(no_reply))
    {
        return Some(format!("no-reply sender: {no_reply}"));
    }
    let subject = headers.subject().unwrap_or_default().trim_start();
    AUTO_REPLY_SUBJECTS
        .iter()
        .find(|opening| starts_with_caseless(subject, opening))
        .map(|opening| format!("subject: {opening}"))
}

/// Header signals, strongest first (the derived order is the ranking).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Signal {
    AutoSubmitted,
    AutoReplyHeader,
    Precedence,
    ListHeader,
    EmptyReturnPath,
}

impl Signal {
    /// The parser names the standard headers by variant, whatever their case: those are
    /// told apart at once, and only the others compared as text.
    fn of_header(name: &HeaderName<'_>) -> Option<Signal> {
        match name {
            HeaderName::AutoSubmitted => Some(Signal::AutoSubmitted),
            HeaderName::ListId
            | HeaderName::ListUnsubscribe
            | HeaderName::ListPost
            | HeaderName::ListHelp
            | HeaderName::ListSubscribe
            | HeaderName::ListOwner
            | HeaderName::ListArchive => Some(Signal::ListHeader),
            HeaderName::ReturnPath => Some(Signal::EmptyReturnPath),
            HeaderName::Other(name) => {
                let is = |candidate: &str| name.eq_ignore_ascii_case(candidate);
                if AUTO_REPLY_HEADERS.iter().any(|header| is(header)) {
                    Some(Signal::AutoReplyHeader)
                } else if is("Precedence") || is("X-Precedence") {
                    Some(Signal::Precedence)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// What this header says, given its raw value; `None` when it says "not automatic".
    fn reason(self, name: &str, value: &str) -> Option<String> {
        match self {
            Signal::AutoSubmitted => {
                let value = first_word(value);
                (!value.is_empty() && value != "no").then(|| format!("auto-submitted: {value}"))
            }
            Signal::AutoReplyHeader => {
                Some(format!("header: {}", canonical(name, AUTO_REPLY_HEADERS)))
            }
            Signal::Precedence => {
                let value = first_word(value);
                matches!(value.as_str(), "bulk" | "list" | "junk" | "auto_reply")
                    .then(|| format!("precedence: {value}"))
            }
            Signal::ListHeader => Some(format!("list header: {}", canonical(name, LIST_HEADERS))),
            Signal::EmptyReturnPath => value
                .trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
                .is_empty()
                .then(|| "empty return-path".to_string()),
        }
    }
}

/// The header's name as the table spells it, whatever case the mail used.
fn canonical<'a>(name: &'a str, table: &[&'a str]) -> &'a str {
    table
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name))
        .copied()
        .unwrap_or(name)
}

fn first_word(value: &str) -> String {
    value
        .split([';', '(', ' ', '\t', '\r', '\n'])
        .find(|word| !word.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use mail_parser::HeaderName;

    use super::{AUTO_REPLY_HEADERS, LIST_HEADERS, Signal};

    /// The signals are found by the parser's variants; the tables spell the names in reasons.
    /// The two must name the same headers, whatever case a mail writes them in.
    #[test]
    fn every_signal_header_is_recognised_by_its_parsed_name() {
        let signal_of = |name: &str| {
            let parsed = HeaderName::parse(name).expect("a header name");
            Signal::of_header(&parsed)
        };
        for name in LIST_HEADERS {
            for spelled in [name.to_string(), name.to_ascii_uppercase()] {
                assert_eq!(signal_of(&spelled), Some(Signal::ListHeader), "{spelled}");
            }
        }
        for name in AUTO_REPLY_HEADERS {
            let lower = name.to_ascii_lowercase();
            assert_eq!(signal_of(&lower), Some(Signal::AutoReplyHeader), "{lower}");
        }
        for (name, signal) in [
            ("auto-submitted", Signal::AutoSubmitted),
            ("PRECEDENCE", Signal::Precedence),
            ("X-Precedence", Signal::Precedence),
            ("return-path", Signal::EmptyReturnPath),
        ] {
            assert_eq!(signal_of(name), Some(signal), "{name}");
        }
        for name in [
            "Subject",
            "List-Unsubscribe-Post",
            "X-Mailer",
            "Autosubmitted",
        ] {
            assert_eq!(signal_of(name), None, "{name}");
        }
    }
}
