//! Where an earlier message begins: a separator line, an Outlook-style header block, or an
//! attribution line ("On … wrote:"). Each rule asks for enough evidence that a person's own
//! sentence is never taken for one: when in doubt, the text is kept.

use super::Line;
use super::phrases::{FORWARD_SUBJECTS, FORWARDS, Label, OPENINGS, ORIGINALS, VERBS, label_of};

/// What begins at a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// The earlier message the person answers: cut from here.
    Original,
    /// A message the person forwards: kept, after their note.
    Forward,
}

/// An attribution line (or lines) and what it introduces.
pub(super) struct Attribution {
    /// How many lines it spans.
    pub lines: usize,
    /// The person's own text before it on its first line ("Sounds good. On Tue, … wrote:").
    pub before: Option<usize>,
    /// Verb-less ("2014-03-20 8:48 GMT+01:00 Name <a@b>:") or colon-less: believed only in
    /// front of a marked quote.
    pub weak: bool,
}

/// A separator line such as `-----Original Message-----` or `---------- Forwarded message ---------`.
pub(super) fn separator(line: &Line) -> Option<Start> {
    let lower = line.lower.as_ref();
    let ruled = lower.starts_with("--") || lower.starts_with("__") || lower.starts_with("==");
    // Apple Mail's "Begin forwarded message:" is the one separator without a rule.
    if !ruled && !lower.ends_with(':') {
        return None;
    }
    let phrase = lower
        .trim_matches(|c: char| matches!(c, '-' | '_' | '=' | '*' | ' ' | '\u{a0}'))
        .trim_end_matches([':', '：'])
        .trim_end();
    if phrase.is_empty() {
        return None;
    }
    if FORWARDS.is(phrase) && (ruled || lower.ends_with(':')) {
        return Some(Start::Forward);
    }
    if ruled && ORIGINALS.is(phrase) {
        return Some(Start::Original);
    }
    None
}

/// Outlook's header block at `i`: labelled lines of at least three kinds, one of them the
/// sender (`From:`/`De :`/`Von:`/`От:`/`发件人：`), in one run. A block whose subject starts
/// like a forward (`FW:`, `WG:`, `TR:`) is a forward.
pub(super) fn header_block(lines: &[Line], i: usize) -> Option<Start> {
    label_of(&lines.get(i)?.lower)?;
    let mut seen = Vec::with_capacity(4);
    let mut forward = false;
    let mut unlabelled = 0;
    for line in lines.iter().skip(i).take(10) {
        if line.is_blank() {
            break;
        }
        match label_of(&line.lower) {
            Some(label) => {
                if label == Label::Subject {
                    let value = line
                        .lower
                        .split_once([':', '：'])
                        .map(|(_, value)| value.trim_start_matches(['*', ' ']))
                        .unwrap_or_default();
                    forward = FORWARD_SUBJECTS
                        .iter()
                        .any(|prefix| value.starts_with(prefix));
                }
                if !seen.contains(&label) {
                    seen.push(label);
                }
            }
            // A long recipient list wraps; more than two loose lines is not a block.
            None => {
                unlabelled += 1;
                if unlabelled > 2 {
                    break;
                }
            }
        }
    }
    (seen.len() >= 3 && seen.contains(&Label::From)).then_some(if forward {
        Start::Forward
    } else {
        Start::Original
    })
}

/// An attribution starting at line `i`, over up to four wrapped lines.
pub(super) fn attribution(lines: &[Line], i: usize) -> Option<Attribution> {
    let first = lines.get(i)?;
    if first.is_blank() || first.is_quoted() {
        return None;
    }
    // Most lines end in neither a colon nor an address: they can only be a colon-less
    // attribution, and that only right before a quote.
    let ends_like_one = first.lower.ends_with([':', '：', '>', '-']);
    let single = if ends_like_one || quote_follows(lines, i + 1) {
        attribution_in(&first.lower, true)
    } else {
        None
    };
    if single.as_ref().is_some_and(|found| !found.weak) {
        return single;
    }
    // Wrapped: it opens like one ("On Tue, 3 Mar…", or a date, or the start of an address:
    // "2014-10-17 11:28 GMT+03:00 Postmaster <") and a following line ends it.
    let may_wrap = OPENINGS.starts(&first.lower)
        || first.lower.ends_with('<')
        || first.lower.starts_with(|c: char| c.is_ascii_digit());
    // ... and one of the next three lines ends with the colon.
    let ends_within = lines
        .iter()
        .skip(i + 1)
        .take(3)
        .take_while(|line| !line.is_blank() && !line.is_quoted())
        .any(|line| line.lower.ends_with([':', '：']));
    if !may_wrap || !ends_within {
        return single;
    }
    let mut joined = first.lower.to_string();
    let mut wrapped = None;
    for (extra, line) in lines.iter().skip(i + 1).take(3).enumerate() {
        if line.is_blank() || line.is_quoted() {
            break;
        }
        joined.push(' ');
        joined.push_str(&line.lower);
        match attribution_in(&joined, false) {
            Some(found) if !found.weak => {
                return Some(Attribution {
                    lines: extra + 2,
                    before: None,
                    ..found
                });
            }
            // A verb may still follow on the next line.
            Some(found) => {
                wrapped = Some(Attribution {
                    lines: extra + 2,
                    before: None,
                    ..found
                })
            }
            None => {}
        }
    }
    wrapped.or(single)
}

/// The next line with text is a `>` quote.
pub(super) fn quote_follows(lines: &[Line], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|line| !line.is_blank())
        .is_some_and(Line::is_quoted)
}

/// `lower` (a trimmed, lower-case line, or wrapped lines joined) as an attribution.
/// `own_line`: it is one line, which may begin with the person's own sentence.
fn attribution_in(lower: &str, own_line: bool) -> Option<Attribution> {
    if lower.chars().count() > 400 {
        return None;
    }
    // Zoho: "---- On … wrote ----".
    let decorated = lower
        .trim_start_matches(['-', ' '])
        .trim_end_matches(['-', ' ']);
    let (head, colon) = match decorated.strip_suffix([':', '：']) {
        Some(head) => (head.trim_end(), true),
        None => (decorated, false),
    };
    if head.is_empty() {
        return None;
    }
    let dated = head.bytes().any(|b| b.is_ascii_digit());
    let addressed = head.contains('@') || head.ends_with('>');
    let opens = OPENINGS.starts(head);
    // Every kind below needs one of the three: most lines are gone before the verb search.
    if !(dated || addressed || opens) {
        return None;
    }
    // The verb last ("… wrote"), or the author after it ("… schrieb Max <max@example.de>").
    let mut verb_last = false;
    let mut author_after = false;
    let mut date_after = false;
    for (start, end) in VERBS.ends_in(head) {
        let whole_word = !head.is_ascii()
            || head
                .get(..start)
                .is_some_and(|before| !before.ends_with(char::is_alphanumeric));
        if !whole_word {
            continue;
        }
        let rest = head.get(end..).unwrap_or_default().trim();
        verb_last |= rest.is_empty() || rest == "(a)";
        // A name, perhaps with its address, follows the verb ("… schrieb Max Muster:").
        author_after |= !rest.is_empty() && rest.split_whitespace().count() <= 14;
        // Finnish and the like put the date after the verb ("Matti kirjoitti 30.4.2025
        // klo 15.19:"); English never does ("I wrote 2 scripts for it:" is a sentence).
        date_after |=
            head.get(start..end) != Some("wrote") && rest.chars().any(|c| c.is_ascii_digit());
    }
    // A date or an address is what an attribution has and a sentence rarely does; an opening
    // word alone ("On Tue, Bob wrote:") is believed only before a quote.
    let strong = (verb_last && (dated || addressed))
        || (author_after && (addressed || (opens && dated) || date_after));
    if strong || (verb_last && opens) {
        return Some(Attribution {
            lines: 1,
            before: own_line.then(|| sentence_before(lower)).flatten(),
            weak: !strong || !colon,
        });
    }
    // Verb-less: a date and the author's address, then the colon (Gmail in some languages,
    // mail.ru) or not even that ("2011/4/7 Name <addr>").
    if dated && head.ends_with('>') && head.contains('@') {
        return Some(Attribution {
            lines: 1,
            before: None,
            weak: true,
        });
    }
    None
}

/// Where an attribution begins after the person's own sentence on the same line: the last
/// opening word ("On", "Am", "Le") right after a sentence's end.
fn sentence_before(lower: &str) -> Option<usize> {
    OPENINGS
        .ends_in(lower)
        .map(|(start, _)| start)
        .filter(|&start| {
            start > 0
                && lower
                    .get(..start)
                    .is_some_and(|before| before.trim_end().ends_with(['.', '!', '?']))
        })
        .last()
}
