//! GitHub's own mails about fine-grained personal access tokens (FACTS.md §1).
//!
//! A GitHub mail is only ever a *trigger*: the digest names no token, and any of these can be
//! spoofed. What is read here tells the daemon which organisation to sync and what to expect;
//! the API confirms it.

use std::borrow::Cow;
use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

use super::envelope::{BodyTexts, from_name, raw_header, split_address, tidy_header_text};
use super::{Decision, Kind};

pub struct GithubMail {
    pub kind: Kind,
    pub org_login: Option<String>,
    pub org_name: Option<String>,
    pub review_url: Option<String>,
    pub token_names: Vec<String>,
    pub expires_in_days: Option<u32>,
    pub decision: Option<Decision>,
    pub decision_reason: Option<String>,
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the patterns in this module are valid")
}

static DIGEST_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:\[github\]\s*)?your organization (.+?) has received (?:new )?personal access token requests?\.?$",
    )
});
static DECISION_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:\[github\]\s*)?(\S+) access has been (approved|denied|revoked) (?:on|for) your fine-grained personal access tokens?\.?$",
    )
});
static EXPIRING_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:\[github\]\s*)?your (?:fine-grained )?personal access tokens?(?: \(classic\))? (?:is|are) about to expire\.?$",
    )
});
static EXPIRED_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)^(?:\[github\]\s*)?your (?:fine-grained )?personal access tokens?(?: \(classic\))? (?:has|have) expired\.?$",
    )
});
/// Forward markers of the common clients, in several languages.
static FORWARD_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)^\s*(?:fwd?|fw|wg|tr|rv|ymlaen)\s*:\s*"));
/// A forwarded header block's subject line, as clients quote it in the body.
static QUOTED_SUBJECT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?mi)^[>\s]*\*?(?:subject|betreff|objet|pwnc)\s*:\*?\s*(.+?)\s*$"));
static REVIEW_LINK: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"https?://github\.com/organizations/([A-Za-z0-9][A-Za-z0-9-]{0,38})/settings/personal-access-token-requests",
    )
});
/// `personal access token (NAME)`, allowing one level of parentheses inside the name.
static TOKEN_IN_PARENS: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)personal access tokens?(?: \(classic\))?\s+\(((?:[^()\n]|\([^()\n]*\))+)\)")
});
static TOKEN_QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    regex(r#"(?i)personal access tokens?(?: \(classic\))?\s+["“]([^"“”\n]{1,200})["”]"#)
});
static DAYS_LEFT: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)expire[sd]?\s+in\s+(\d{1,4})\s+days?\b"));
static BULLET: LazyLock<Regex> = LazyLock::new(|| regex(r"^\s*[-*•]\s+(\S.*?)\s*$"));
static INLINE_REASON: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?im)^\s*reason:[ \t]*(\S.*?)\s*$"));

/// The subject's verdict on which GitHub mail this is, before the body is read.
struct SubjectMatch {
    kind: Kind,
    org_name: Option<String>,
    org_login: Option<String>,
    decision: Option<Decision>,
}

pub fn recognise(
    message: &Message<'_>,
    subject: Option<&str>,
    bodies: &BodyTexts<'_>,
) -> Option<GithubMail> {
    let readable = bodies.reply_source();
    let matched = subject
        .and_then(|subject| match_subject(&strip_forward_prefixes(subject)))
        .or_else(|| {
            // A forward whose subject was rewritten still quotes the original header block.
            let text = readable.as_deref()?;
            QUOTED_SUBJECT
                .captures_iter(text)
                .filter_map(|captures| captures.get(1))
                .find_map(|quoted| match_subject(&strip_forward_prefixes(quoted.as_str())))
        })?;

    let review_login = bodies
        .all()
        .iter()
        .find_map(|text| REVIEW_LINK.captures(text))
        .and_then(|captures| captures.get(1))
        .map(|login| login.as_str().to_string());
    let mentions_github = |text: &str| text.contains("@github.com");
    let evidence = sent_by_github(message)
        || review_login.is_some()
        || readable.as_deref().is_some_and(mentions_github);
    if !evidence {
        return None;
    }

    let text = readable.unwrap_or(Cow::Borrowed(""));
    let mut mail = GithubMail {
        kind: matched.kind,
        org_login: matched.org_login,
        org_name: matched.org_name,
        review_url: None,
        token_names: Vec::new(),
        expires_in_days: None,
        decision: matched.decision,
        decision_reason: None,
    };
    match matched.kind {
        Kind::GithubPatRequestsPending => {
            if mail.org_name.is_none() {
                mail.org_name = from_name(message)
                    .filter(|name| !name.eq_ignore_ascii_case("github"))
                    .map(str::to_string);
            }
            mail.review_url = review_login.as_deref().map(|login| {
                format!("https://github.com/organizations/{login}/settings/personal-access-token-requests")
            });
            mail.org_login = review_login;
        }
        Kind::GithubTokenExpiring => {
            mail.token_names = token_names_in_sentences(&text);
            mail.expires_in_days = days_left(&text);
        }
        Kind::GithubTokenExpired => mail.token_names = token_names_in_sentences(&text),
        Kind::GithubTokenDecision => {
            mail.token_names = token_names_in_list(&text);
            if mail.token_names.is_empty() {
                mail.token_names = token_names_in_sentences(&text);
            }
            mail.decision_reason = decision_reason(&text);
        }
        _ => {}
    }
    Some(mail)
}

fn strip_forward_prefixes(subject: &str) -> String {
    let mut subject = tidy_header_text(subject);
    while let Some(prefix) = FORWARD_PREFIX.find(&subject) {
        subject = subject[prefix.end()..].to_string();
    }
    subject
}

fn match_subject(subject: &str) -> Option<SubjectMatch> {
    let matched = |kind| SubjectMatch {
        kind,
        org_name: None,
        org_login: None,
        decision: None,
    };
    if let Some(captures) = DIGEST_SUBJECT.captures(subject) {
        return Some(SubjectMatch {
            org_name: captures.get(1).map(|name| name.as_str().to_string()),
            ..matched(Kind::GithubPatRequestsPending)
        });
    }
    if let Some(captures) = DECISION_SUBJECT.captures(subject) {
        let decision = match captures.get(2)?.as_str().to_ascii_lowercase().as_str() {
            "approved" => Decision::Approved,
            "denied" => Decision::Denied,
            _ => Decision::Revoked,
        };
        return Some(SubjectMatch {
            org_login: captures.get(1).map(|login| login.as_str().to_string()),
            decision: Some(decision),
            ..matched(Kind::GithubTokenDecision)
        });
    }
    if EXPIRING_SUBJECT.is_match(subject) {
        return Some(matched(Kind::GithubTokenExpiring));
    }
    if EXPIRED_SUBJECT.is_match(subject) {
        return Some(matched(Kind::GithubTokenExpired));
    }
    None
}

/// From GitHub itself, or relayed by a list that kept GitHub as the original sender.
fn sent_by_github(message: &Message<'_>) -> bool {
    let is_github = |address: &str| {
        split_address(address.trim().trim_start_matches('<').trim_end_matches('>'))
            .is_some_and(|(_, domain)| domain == "github.com")
    };
    let from = message
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address());
    from.is_some_and(is_github)
        || ["X-Original-Sender", "X-Original-From"]
            .iter()
            .filter_map(|name| raw_header(message, name))
            .any(|value| value.split_whitespace().any(is_github))
}

/// Token names written as `… token (NAME) …` or `… token "NAME" …`, in order, once each.
fn token_names_in_sentences(text: &str) -> Vec<String> {
    let text = tidy_lines(text);
    let in_parens = TOKEN_IN_PARENS
        .captures_iter(&text)
        .filter_map(|captures| captures.get(1))
        .map(|name| name.as_str().trim())
        .filter(|name| !name.eq_ignore_ascii_case("classic"));
    let quoted = TOKEN_QUOTED
        .captures_iter(&text)
        .filter_map(|captures| captures.get(1))
        .map(|name| name.as_str().trim());
    unique(in_parens.chain(quoted))
}

/// Token names listed as bullets under a line that introduces the tokens.
fn token_names_in_list(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if !in_list {
            let lower = trimmed.to_lowercase();
            in_list = lower.contains("token") && lower.ends_with(':');
            continue;
        }
        if let Some(name) = BULLET.captures(line).and_then(|captures| captures.get(1)) {
            names.push(name.as_str());
        } else if !trimmed.is_empty() && !names.is_empty() {
            break;
        }
    }
    unique(names.into_iter())
}

fn days_left(text: &str) -> Option<u32> {
    let text = tidy_lines(text);
    if let Some(days) = DAYS_LEFT
        .captures(&text)
        .and_then(|captures| captures.get(1))
        .and_then(|days| days.as_str().parse().ok())
    {
        return Some(days);
    }
    let lower = text.to_lowercase();
    if lower.contains("expire tomorrow") || lower.contains("expires tomorrow") {
        Some(1)
    } else if lower.contains("expire today") || lower.contains("expires today") {
        Some(0)
    } else {
        None
    }
}

/// `Reason: …` on one line, or the paragraph after a line ending in `reason:`.
fn decision_reason(text: &str) -> Option<String> {
    if let Some(reason) = INLINE_REASON
        .captures(text)
        .and_then(|captures| captures.get(1))
    {
        return Some(unquote(reason.as_str()));
    }
    let mut lines = text.lines();
    lines.find(|line| {
        let lower = line.trim().to_lowercase();
        lower.contains("reason") && lower.ends_with(':')
    })?;
    let paragraph: Vec<&str> = lines
        .map(|line| line.trim().trim_start_matches('>').trim())
        .skip_while(|line| line.is_empty())
        .take_while(|line| !line.is_empty())
        .collect();
    let reason = unquote(&paragraph.join(" "));
    (!reason.is_empty()).then_some(reason)
}

fn unquote(text: &str) -> String {
    text.trim()
        .trim_matches(|c| matches!(c, '"' | '“' | '”'))
        .trim()
        .to_string()
}

/// Joins wrapped lines so that a sentence broken by the mail's line length still matches.
fn tidy_lines(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !name.is_empty() && !out.iter().any(|seen| seen == name) {
            out.push(name.to_string());
        }
    }
    out
}
