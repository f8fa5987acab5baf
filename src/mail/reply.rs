//! What a person wrote now, without the earlier messages their client quoted.
//!
//! Three kinds of quoting are handled, in this order:
//! 1. An *unmarked original* below the reply (Outlook's `From: … Sent: … To: … Subject:` block,
//!    `-----Original Message-----`, forwarded-message markers, an attribution line followed by
//!    unquoted text): everything from there on is cut.
//! 2. *Marked quotes*: `>` lines, and the attribution line that introduces them (`On … wrote:`,
//!    also wrapped over two lines and in other languages). Text between quoted blocks is an
//!    inline answer and is kept.
//! 3. *Signatures*: `-- `, "Sent from my iPhone" and friends, corporate disclaimers, and a
//!    closing such as "Thanks," with only a short name block after it.

use std::borrow::Cow;

/// Verbs of attribution lines ("On Tue, Bob wrote:"), lower-case, in the languages seen in the
/// team's mail: English, German, French, Welsh, Dutch, Spanish, Italian, Portuguese, Nordic,
/// Finnish, Polish, Hungarian.
const ATTRIBUTION_VERBS: &[&str] = &[
    "wrote",
    "schrieb",
    "a écrit",
    "ysgrifennodd",
    "schreef",
    "escribió",
    "ha scritto",
    "escreveu",
    "skrev",
    "kirjoitti",
    "napisał",
    "írta",
];

/// First words of an attribution line that a client may wrap before the verb.
const ATTRIBUTION_OPENINGS: &[&str] = &[
    "on ", "am ", "le ", "ar ", "op ", "el ", "il ", "em ", "den ", "w dniu ",
];

/// Separators after which only the original message follows, lower-case.
const ORIGINAL_MESSAGE_MARKERS: &[&str] = &[
    "-----original message-----",
    "-----ursprüngliche nachricht-----",
    "-----message d'origine-----",
    "-----neges wreiddiol-----",
    "---------- forwarded message ---------",
    "---------- weitergeleitete nachricht ---------",
    "begin forwarded message:",
];

/// Outlook header-block labels: who it was from, when, and what about.
const FROM_LABELS: &[&str] = &["from", "von", "de", "van", "da", "oddi wrth", "fra", "från"];
const DATE_LABELS: &[&str] = &[
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoyé",
    "verzonden",
    "inviato",
    "enviado",
    "anfonwyd",
    "dyddiad",
    "sendt",
    "skickat",
];
const SUBJECT_LABELS: &[&str] = &[
    "subject",
    "betreff",
    "objet",
    "onderwerp",
    "oggetto",
    "asunto",
    "assunto",
    "pwnc",
    "emne",
    "ämne",
    "to",
    "an",
    "à",
    "aan",
];

/// Lines that begin a mobile or client signature, lower-case.
const SIGNATURE_OPENINGS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "sent from mail for windows",
    "sent from yahoo mail",
    "get outlook for ",
    "von meinem ",
    "envoyé de mon ",
    "anfonwyd o fy ",
    "enviado desde mi ",
    "inviato da ",
];

/// Openings of corporate confidentiality notices, lower-case.
const DISCLAIMER_OPENINGS: &[&str] = &[
    "confidentiality notice",
    "confidential:",
    "disclaimer:",
    "this email and any attachments",
    "this e-mail and any attachments",
    "this email is confidential",
    "this e-mail is confidential",
    "this message is confidential",
    "this email (including any attachments)",
    "this e-mail (including any attachments)",
    "the information contained in this",
    "the information in this email",
];

/// Closings that end a reply when only a short name block follows, lower-case, without
/// trailing punctuation.
const CLOSINGS: &[&str] = &[
    "thanks",
    "thank you",
    "many thanks",
    "thanks again",
    "regards",
    "kind regards",
    "best regards",
    "warm regards",
    "best wishes",
    "best",
    "cheers",
    "diolch",
    "cofion",
    "mit freundlichen grüßen",
    "viele grüße",
    "beste grüße",
    "cordialement",
    "bien à vous",
    "met vriendelijke groet",
    "saludos",
];

/// A closing is a signature only when at most this many short lines follow it.
const MAX_NAME_BLOCK_LINES: usize = 5;
const MAX_NAME_BLOCK_LINE_LEN: usize = 60;

/// The text a person wrote now, or `None` when nothing of theirs is left. `author` is the
/// From display name: a closing block that starts with it ("Frank Ng | Engineer", or just
/// "Frank") is a signature.
pub fn extract_reply(text: &str, author: Option<&str>) -> Option<String> {
    // Lower-cased once for the whole mail when it is ASCII, the usual case: the byte offsets
    // then match, and each line borrows its lower-case form instead of allocating one.
    let ascii_lower = text.is_ascii().then(|| text.to_ascii_lowercase());
    let lines: Vec<Line> = match &ascii_lower {
        Some(lower) => text
            .lines()
            .map(|line| {
                // `line` lies within `text`, so its offset there is its offset in `lower`.
                let start = line.as_ptr() as usize - text.as_ptr() as usize;
                let line_lower = lower.get(start..start + line.len()).unwrap_or_default();
                Line {
                    text: line,
                    lower: Cow::Borrowed(line_lower.trim()),
                }
            })
            .collect(),
        None => text.lines().map(Line::new).collect(),
    };
    let end = original_message_start(&lines).unwrap_or(lines.len());
    let own = without_marked_quotes(lines.get(..end).unwrap_or_default());
    let author = author.map(AuthorName::new);
    let own = without_signature(&own, author.as_ref());
    tidy(&own)
}

/// A line of the mail, with its trimmed lower-case form computed once: every rule below
/// compares against it, most of them for every line.
struct Line<'a> {
    text: &'a str,
    lower: Cow<'a, str>,
}

impl<'a> Line<'a> {
    fn new(text: &'a str) -> Self {
        let trimmed = text.trim();
        let lower = if trimmed.is_ascii() {
            trimmed.to_ascii_lowercase()
        } else {
            trimmed.to_lowercase()
        };
        Line {
            text,
            lower: Cow::Owned(lower),
        }
    }

    fn is_blank(&self) -> bool {
        self.lower.is_empty()
    }

    fn is_quoted(&self) -> bool {
        self.lower.starts_with('>')
    }
}

/// The ways a person signs with their own name.
struct AuthorName {
    full: String,
    first: String,
}

impl AuthorName {
    fn new(display_name: &str) -> Self {
        // "Smith, Alice" is how some directories write "Alice Smith".
        let name = match display_name.split_once(',') {
            Some((last, first)) => format!("{} {}", first.trim(), last.trim()),
            None => display_name.trim().to_string(),
        };
        let name = name
            .trim_matches(|c: char| c == '"' || c == '\'')
            .to_lowercase();
        let first = name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        AuthorName { full: name, first }
    }

    fn signs(&self, line: &Line) -> bool {
        let by_full_name = self.full.chars().count() >= 3 && line.lower.starts_with(&self.full);
        let by_first_name = self.first.chars().count() >= 2
            && line.lower.trim_end_matches(['.', ',', '!']) == self.first;
        by_full_name || by_first_name
    }
}

fn original_message_start(lines: &[Line]) -> Option<usize> {
    (0..lines.len()).find(|&i| {
        let line = &lines[i];
        if ORIGINAL_MESSAGE_MARKERS
            .iter()
            .any(|marker| line.lower.starts_with(marker))
        {
            return true;
        }
        if is_underscore_rule(&line.lower) && header_block_at(lines, i + 1) {
            return true;
        }
        if header_block_at(lines, i) {
            return true;
        }
        if let Some(len) = attribution_at(lines, i) {
            // An attribution introduces marked quotes (step 2 removes both) or, when no quote
            // follows it, the unmarked original.
            return !next_content_is_quoted(lines, i + len);
        }
        false
    })
}

/// A run of at least ten underscores, as Outlook draws above its header block.
fn is_underscore_rule(trimmed: &str) -> bool {
    trimmed.len() >= 10 && trimmed.chars().all(|c| c == '_')
}

/// Outlook's header block: a From line, then within a few lines a date and a subject or
/// recipient line. Gmail's plain-text rendering bolds labels as `*From:*`.
fn header_block_at(lines: &[Line], i: usize) -> bool {
    let Some(first) = lines.get(i) else {
        return false;
    };
    if !has_label(first, FROM_LABELS) {
        return false;
    }
    let following = lines.iter().skip(i + 1).take(6);
    let (mut date, mut about) = (false, false);
    for line in following {
        date |= has_label(line, DATE_LABELS);
        about |= has_label(line, SUBJECT_LABELS);
    }
    date && about
}

fn has_label(line: &Line, labels: &[&str]) -> bool {
    let text = line.lower.trim_start_matches('*');
    labels.iter().any(|label| {
        text.strip_prefix(label).is_some_and(|rest| {
            let rest = rest.trim_start_matches('*').trim_start();
            rest.starts_with(':')
        })
    })
}

/// The number of lines (1 or 2) of an attribution line starting at `i`, if there is one.
fn attribution_at(lines: &[Line], i: usize) -> Option<usize> {
    let line = lines.get(i)?;
    if line.is_blank() || line.is_quoted() {
        return None;
    }
    if is_attribution(&line.lower) {
        return Some(1);
    }
    let next = lines.get(i + 1)?;
    if next.lower.ends_with(':')
        && ATTRIBUTION_OPENINGS
            .iter()
            .any(|opening| line.lower.starts_with(opening))
        && is_attribution(&format!("{} {}", line.lower, next.lower))
    {
        return Some(2);
    }
    None
}

/// `lower` is a trimmed, lower-case line.
fn is_attribution(lower: &str) -> bool {
    let Some(head) = lower.strip_suffix(':') else {
        return false;
    };
    if head.chars().count() > 400 {
        return false;
    }
    let head = head.trim_end();
    ATTRIBUTION_VERBS.iter().any(|verb| {
        head.ends_with(verb) || contains_word(head, verb) && ends_with_name_or_address(head)
    })
}

/// `word` stands in `text` with a space on either side.
fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word)
        .any(|(at, _)| text[..at].ends_with(' ') && text[at + word.len()..].starts_with(' '))
}

/// German and Dutch put the author after the verb: "… schrieb Max Muster <max@example.de>:".
fn ends_with_name_or_address(head: &str) -> bool {
    head.ends_with('>') || head.split_whitespace().count() >= 4
}

fn next_content_is_quoted(lines: &[Line], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|line| !line.is_blank())
        .is_some_and(Line::is_quoted)
}

fn without_marked_quotes<'l, 'a>(lines: &'l [Line<'a>]) -> Vec<&'l Line<'a>> {
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_quoted() {
            i += 1;
            continue;
        }
        if let Some(len) = attribution_at(lines, i)
            && next_content_is_quoted(lines, i + len)
        {
            i += len;
            continue;
        }
        kept.push(line);
        i += 1;
    }
    kept
}

/// Cuts hard signature markers first (`-- `, "Sent from my iPhone", disclaimers), then a
/// closing or the author's name followed by a short name block within what is left.
fn without_signature<'l, 'a>(
    lines: &[&'l Line<'a>],
    author: Option<&AuthorName>,
) -> Vec<&'l Line<'a>> {
    let hard_end = lines
        .iter()
        .position(|line| is_signature_marker(line))
        .unwrap_or(lines.len());
    let lines = lines.get(..hard_end).unwrap_or_default();
    let soft_end = (0..lines.len())
        .find(|&i| signs_off(lines[i], author) && ends_in_name_block(lines, i))
        .unwrap_or(lines.len());
    lines.get(..soft_end).unwrap_or_default().to_vec()
}

fn is_signature_marker(line: &Line) -> bool {
    // "-- " is the standard delimiter; trimming has made it "--".
    line.lower == "--"
        || SIGNATURE_OPENINGS
            .iter()
            .any(|opening| line.lower.starts_with(opening))
        || DISCLAIMER_OPENINGS
            .iter()
            .any(|opening| line.lower.starts_with(opening))
        || is_underscore_rule(&line.lower)
}

fn signs_off(line: &Line, author: Option<&AuthorName>) -> bool {
    let closing = line.lower.trim_end_matches([',', '!', '.', ' ']);
    CLOSINGS.contains(&closing) || author.is_some_and(|author| author.signs(line))
}

/// Line `i` has text of the person's before it and at most a short name block after it.
fn ends_in_name_block(lines: &[&Line], i: usize) -> bool {
    let has_text_before = lines[..i].iter().any(|line| !line.is_blank());
    let after: Vec<&&Line> = lines[i + 1..]
        .iter()
        .filter(|line| !line.is_blank())
        .collect();
    has_text_before
        && after.len() <= MAX_NAME_BLOCK_LINES
        && after
            .iter()
            .all(|line| line.lower.chars().count() <= MAX_NAME_BLOCK_LINE_LEN)
}

/// Trailing white space off every line, blank lines at either end dropped, and runs of blank
/// lines folded into one.
fn tidy(lines: &[&Line]) -> Option<String> {
    let mut out = String::new();
    let mut blank_pending = false;
    for line in lines {
        if line.is_blank() {
            blank_pending = !out.is_empty();
            continue;
        }
        if blank_pending {
            out.push_str("\n\n");
        } else if !out.is_empty() {
            out.push('\n');
        }
        blank_pending = false;
        let text = line.text.trim_end();
        if text.contains('\u{a0}') {
            out.push_str(&text.replace('\u{a0}', " "));
        } else {
            out.push_str(text);
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::extract_reply;

    fn reply(text: &str) -> String {
        extract_reply(text, None).unwrap_or_default()
    }

    #[test]
    fn top_posted_reply_above_a_marked_quote() {
        let text = "It syncs labels.\n\nOn Tue, 3 Mar 2026 at 10:00, PAT desk <ops@example.org> wrote:\n> What is it for?\n> Thanks\n";
        assert_eq!(reply(text), "It syncs labels.");
    }

    #[test]
    fn attribution_wrapped_over_two_lines() {
        let text = "Reads issues.\n\nOn Tue, 3 Mar 2026 at 10:00, PAT desk <ops@example.org>\nwrote:\n\n> question\n";
        assert_eq!(reply(text), "Reads issues.");
    }

    #[test]
    fn inline_answers_between_quotes_are_kept() {
        let text =
            "On Tue, Bob wrote:\n> What is it for?\nPublishing releases.\n> How long?\nA month.\n";
        assert_eq!(reply(text), "Publishing releases.\nA month.");
    }

    #[test]
    fn attribution_followed_by_unquoted_original_cuts() {
        let text =
            "Yes.\n\nAm 03.03.2026 um 10:00 schrieb PAT desk <ops@example.org>:\nWhat is it for?\n";
        assert_eq!(reply(text), "Yes.");
    }

    #[test]
    fn outlook_header_block_cuts_everything_below() {
        let text = "For the deploy job.\n\n________________________________\nFrom: PAT desk <ops@example.org>\nSent: 03 March 2026 10:00\nTo: Alice <a@example.org>\nSubject: [PAT-1] purpose\n\nWhat is it for?\n";
        assert_eq!(reply(text), "For the deploy job.");
    }

    #[test]
    fn signatures_and_closings() {
        assert_eq!(reply("Backups.\n-- \nAlice\nPlatform"), "Backups.");
        assert_eq!(reply("Backups.\n\nSent from my iPhone"), "Backups.");
        assert_eq!(
            reply("Backups.\n\nKind regards,\nAlice Smith\nPlatform team"),
            "Backups."
        );
        // A closing with more than a name block after it is part of the text.
        let long =
            "Thanks,\nthe token reads issues for the weekly report that we send to the board";
        assert_eq!(reply(long), long);
    }

    #[test]
    fn nothing_of_their_own_is_none() {
        assert_eq!(extract_reply("> only a quote\n", None), None);
        assert_eq!(extract_reply("\n \n", None), None);
    }

    #[test]
    fn a_closing_block_that_starts_with_the_authors_name() {
        let signed = |text, author| extract_reply(text, Some(author)).unwrap_or_default();
        assert_eq!(
            signed("Reads metrics.\n\nGita", "Gita Rao"),
            "Reads metrics."
        );
        assert_eq!(
            signed("Plans.\n\nFrank Ng | Senior Engineer\nAcme", "Frank Ng"),
            "Plans."
        );
        assert_eq!(
            signed("Backups.\nLee Kim\nPlatform", "Kim, Lee"),
            "Backups."
        );
        // The name alone is the whole reply: nothing to cut it from.
        assert_eq!(signed("Gita", "Gita Rao"), "Gita");
        // A sentence that merely starts with the first name is text.
        assert_eq!(
            signed("Reads.\nGita will own it.", "Gita Rao"),
            "Reads.\nGita will own it."
        );
    }
}
