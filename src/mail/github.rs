//! GitHub's own mails about fine-grained personal access tokens.
//!
//! A GitHub mail is only ever a *trigger*: the digest names no token, and any of these can be
//! spoofed. What is read here tells the daemon which organisation to sync and what to expect;
//! the API confirms it.

use std::sync::LazyLock;

use mail_parser::{HeaderName, Message};
use regex::Regex;

use super::envelope::{Headers, from_name, raw_header, split_address};
use super::{Analysis, Decision, Kind};

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the patterns in this module are valid")
}

/// Every mail recognised here says this; most mail does not, and is let go cheaply.
static ABOUT_TOKENS: LazyLock<Regex> = LazyLock::new(|| regex(r"(?i)personal access token"));
/// Forward markers of the common clients, in several languages.
const FORWARD_PREFIXES: &[&str] = &["fwd", "fw", "wg", "tr", "rv", "ymlaen"];

/// The subject's verdict on which GitHub mail this is, before the body is read.
struct SubjectMatch {
    kind: Kind,
    org_name: Option<String>,
    org_login: Option<String>,
    decision: Option<Decision>,
}

/// When this is one of GitHub's token mails, sets the kind and the GitHub fields of
/// `analysis` and returns true. `readable` is the body as a reader sees it (HTML converted);
/// `all_bodies` every text and HTML part, searched for the review link.
pub fn recognise(
    analysis: &mut Analysis,
    message: &Message<'_>,
    headers: &Headers<'_>,
    readable: Option<&str>,
    all_bodies: &[&str],
) -> bool {
    let (subject, forwarded) = match analysis.subject.as_deref() {
        Some(subject) => {
            let stripped = strip_forward_prefixes(subject);
            (Some(stripped), stripped.len() < subject.len())
        }
        None => (None, false),
    };
    let matched = subject.and_then(match_subject).or_else(|| {
        // A forward whose subject was rewritten still quotes the original header block.
        let text = readable.filter(|text| forwarded && ABOUT_TOKENS.is_match(text))?;
        quoted_subjects(text).find_map(|quoted| match_subject(strip_forward_prefixes(quoted)))
    });
    let Some(matched) = matched else {
        return false;
    };

    let review_login = all_bodies.iter().find_map(|text| review_link_login(text));
    let mentions_github = |text: &str| text.contains("@github.com");
    let evidence = sent_by_github(message, headers)
        || review_login.is_some()
        || readable.is_some_and(mentions_github);
    if !evidence {
        return false;
    }

    let text = readable.unwrap_or_default();
    let mail = analysis;
    mail.kind = matched.kind;
    mail.org_login = matched.org_login;
    mail.org_name = matched.org_name;
    mail.decision = matched.decision;
    match matched.kind {
        Kind::GithubPatRequestsPending => {
            if mail.org_name.is_none() {
                mail.org_name = from_name(headers)
                    .filter(|name| !name.eq_ignore_ascii_case("github"))
                    .map(str::to_string);
            }
            mail.review_url = review_login
                .as_deref()
                .map(|login| crate::request::review_url(login, None));
            mail.org_login = review_login;
        }
        Kind::GithubTokenExpiring => {
            let prose = Prose::new(text);
            mail.token_names = prose.token_names();
            mail.expires_in_days = prose.days_left();
        }
        Kind::GithubTokenExpired => mail.token_names = Prose::new(text).token_names(),
        Kind::GithubTokenDecision => {
            mail.token_names = token_names_in_list(text);
            if mail.token_names.is_empty() {
                mail.token_names = Prose::new(text).token_names();
            }
            mail.decision_reason = decision_reason(text);
        }
        _ => {}
    }
    true
}

/// `Fwd: FW: subject` → `subject`.
fn strip_forward_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim_start();
    while let Some((word, after)) = rest.split_once(':') {
        let is_forward = FORWARD_PREFIXES
            .iter()
            .any(|prefix| word.trim_end().eq_ignore_ascii_case(prefix));
        if !is_forward {
            break;
        }
        rest = after.trim_start();
    }
    rest
}

/// The org login in GitHub's review link,
/// `https://github.com/organizations/<login>/settings/personal-access-token-requests`.
fn review_link_login(text: &str) -> Option<String> {
    const BEFORE: &str = "github.com/organizations/";
    const AFTER: &str = "/settings/personal-access-token-requests";
    text.match_indices(BEFORE).find_map(|(at, _)| {
        let rest = text.get(at + BEFORE.len()..)?;
        let login_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        let (login, after) = rest.split_at(login_len);
        let valid = (1..=39).contains(&login.len()) && !login.starts_with('-');
        (valid && after.starts_with(AFTER)).then(|| login.to_string())
    })
}

/// Reads GitHub's subject lines, with or without the `[GitHub]` tag:
/// - `Your organization <NAME> has received personal access token requests`
/// - `<org-login> access has been approved|denied|revoked on your fine-grained personal access tokens`
/// - `Your [fine-grained ]personal access token[ (classic)] is about to expire` / `has expired`
///
/// Plain string matching, not regexes: it runs on every mail's subject.
fn match_subject(subject: &str) -> Option<SubjectMatch> {
    // Every GitHub subject names the token; most mails' subjects do not, and are let go
    // before anything is copied.
    const TOKEN: &[u8] = b"personal access token";
    let bytes = subject.as_bytes();
    let names_token = memchr::memchr2_iter(b'p', b'P', bytes).any(|at| {
        bytes
            .get(at..at + TOKEN.len())
            .is_some_and(|window| window.eq_ignore_ascii_case(TOKEN))
    });
    if !names_token {
        return None;
    }
    // ASCII lower-casing keeps every byte offset, so `lower` finds and `subject` gives the
    // text exactly as written (the org's display name may be anything).
    let lower = subject.to_ascii_lowercase();
    let start = if lower.starts_with("[github]") {
        "[github]".len()
    } else {
        0
    };
    let start = start + (lower[start..].len() - lower[start..].trim_start().len());
    let end = lower.trim_end().trim_end_matches('.').len().max(start);
    // The token's name was found above, and no trimming here can have cut into it.
    let (lower, subject) = (lower.get(start..end)?, subject.get(start..end)?);
    let matched = |kind| SubjectMatch {
        kind,
        org_name: None,
        org_login: None,
        decision: None,
    };

    const DIGEST_OPENING: &str = "your organization ";
    if lower.starts_with(DIGEST_OPENING) {
        let name_end = [
            " has received personal access token requests",
            " has received new personal access token requests",
            " has received a personal access token request",
        ]
        .iter()
        .find_map(|tail| lower.strip_suffix(tail))?
        .len();
        let name = subject.get(DIGEST_OPENING.len()..name_end)?.trim();
        return Some(SubjectMatch {
            org_name: (!name.is_empty()).then(|| name.to_string()),
            ..matched(Kind::GithubPatRequestsPending)
        });
    }
    if let Some(at) = lower.find(" access has been ") {
        let tail = &lower[at + " access has been ".len()..];
        let decision = if tail.starts_with("approved") {
            Decision::Approved
        } else if tail.starts_with("denied") {
            Decision::Denied
        } else if tail.starts_with("revoked") {
            Decision::Revoked
        } else {
            return None;
        };
        let login = subject.get(..at)?;
        if login.is_empty() || login.contains(char::is_whitespace) {
            return None;
        }
        return Some(SubjectMatch {
            org_login: Some(login.to_string()),
            decision: Some(decision),
            ..matched(Kind::GithubTokenDecision)
        });
    }
    if !lower.starts_with("your ") {
        return None;
    }
    if lower.ends_with(" about to expire") {
        Some(matched(Kind::GithubTokenExpiring))
    } else if lower.ends_with(" has expired") || lower.ends_with(" have expired") {
        Some(matched(Kind::GithubTokenExpired))
    } else {
        None
    }
}

/// From GitHub itself, or relayed by a list that kept GitHub as the original sender.
fn sent_by_github(message: &Message<'_>, headers: &Headers<'_>) -> bool {
    let is_github = |address: &str| {
        split_address(address.trim().trim_start_matches('<').trim_end_matches('>'))
            .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case("github.com"))
    };
    let from = headers
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address());
    from.is_some_and(is_github)
        || ["X-Original-Sender", "X-Original-From"]
            .into_iter()
            .filter_map(|name| raw_header(message, HeaderName::Other(name.into())))
            .any(|value| value.split_whitespace().any(is_github))
}

/// A body as one line, wrapped sentences joined, beside its ASCII lower-case twin: the two
/// share every byte offset, so a phrase found in one is cut from the other as written.
struct Prose {
    text: String,
    lower: String,
}

impl Prose {
    fn new(text: &str) -> Self {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = text.to_ascii_lowercase();
        Prose { text, lower }
    }

    /// Token names written `personal access token (NAME)` or `… token "NAME"`, in order,
    /// once each. `(classic)` is a kind of token, not a name.
    fn token_names(&self) -> Vec<String> {
        const PHRASE: &str = "personal access token";
        const CLASSIC: &str = " (classic)";
        let names = self.lower.match_indices(PHRASE).filter_map(|(at, _)| {
            let rest = self.text.get(at + PHRASE.len()..)?;
            let rest = rest.strip_prefix('s').unwrap_or(rest);
            let rest = match rest.get(..CLASSIC.len()) {
                Some(head) if head.eq_ignore_ascii_case(CLASSIC) => &rest[CLASSIC.len()..],
                _ => rest,
            };
            let rest = rest.trim_start();
            parenthesised(rest).or_else(|| quoted(rest)).map(str::trim)
        });
        unique(names)
    }

    /// `will expire in N days`, `expires tomorrow` (1) or `today` (0).
    fn days_left(&self) -> Option<u32> {
        self.lower.match_indices("expire").find_map(|(at, word)| {
            let rest = &self.lower[at + word.len()..];
            let rest = rest.strip_prefix(['s', 'd']).unwrap_or(rest);
            if rest.starts_with(" tomorrow") {
                return Some(1);
            }
            if rest.starts_with(" today") {
                return Some(0);
            }
            let rest = rest.strip_prefix(" in ")?;
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let is_days = rest[digits..].starts_with(" day");
            (is_days && (1..=4).contains(&digits))
                .then(|| rest[..digits].parse().ok())
                .flatten()
        })
    }
}

/// `(name)`, allowing one level of parentheses inside the name: `(nightly backup (prod))`.
fn parenthesised(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('(')?;
    let mut nested = false;
    for (i, c) in inner.char_indices() {
        match c {
            '(' if nested => return None,
            '(' => nested = true,
            ')' if nested => nested = false,
            ')' => return Some(&inner[..i]).filter(|name| is_plausible_name(name)),
            _ => {}
        }
    }
    None
}

/// `"name"` or `“name”`.
fn quoted(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"').or_else(|| text.strip_prefix('“'))?;
    let end = inner.find(['"', '”'])?;
    Some(&inner[..end]).filter(|name| is_plausible_name(name))
}

fn is_plausible_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty() && name.len() <= 200 && !name.eq_ignore_ascii_case("classic")
}

/// The subject lines of header blocks quoted in a forward's body (`Subject: …`, `*Subject:*`,
/// `Betreff: …`), for a forward whose own subject was rewritten.
fn quoted_subjects(text: &str) -> impl Iterator<Item = &str> {
    const LABELS: &[&str] = &["subject", "betreff", "objet", "pwnc"];
    text.lines().filter_map(|line| {
        let line = line
            .trim_start_matches(|c: char| c == '>' || c.is_whitespace())
            .trim_start_matches('*');
        let (label, value) = line.split_once(':')?;
        let label = label.trim_end_matches('*').trim();
        LABELS
            .iter()
            .any(|known| label.eq_ignore_ascii_case(known))
            .then(|| value.trim_start_matches('*').trim())
    })
}

/// Token names listed as bullets under a line that introduces the tokens.
fn token_names_in_list(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if !in_list {
            in_list = trimmed.ends_with(':') && trimmed.to_ascii_lowercase().contains("token");
            continue;
        }
        if let Some(name) = bullet_item(trimmed) {
            names.push(name);
        } else if !trimmed.is_empty() && !names.is_empty() {
            break;
        }
    }
    unique(names.into_iter())
}

/// `- name`, `* name` or `• name`, trimmed.
fn bullet_item(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix(['-', '*', '•'])?;
    let item = rest.trim();
    (rest.starts_with(char::is_whitespace) && !item.is_empty()).then_some(item)
}

/// `Reason: …` on one line, or the paragraph after a line ending in `reason:`.
fn decision_reason(text: &str) -> Option<String> {
    const INLINE: &str = "reason:";
    let inline = text.lines().find_map(|line| {
        let line = line.trim();
        let head = line.get(..INLINE.len())?;
        head.eq_ignore_ascii_case(INLINE)
            .then(|| line[INLINE.len()..].trim())
    });
    if let Some(reason) = inline.filter(|reason| !reason.is_empty()) {
        return Some(unquote(reason));
    }
    let mut lines = text.lines();
    lines.find(|line| {
        let line = line.trim();
        line.ends_with(':') && line.to_ascii_lowercase().contains("reason")
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

fn unique<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !name.is_empty() && !out.iter().any(|seen| seen == name) {
            out.push(name.to_string());
        }
    }
    out
}
