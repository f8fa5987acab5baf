//! Where an earlier message begins: a separator line, an Outlook-style header block, or an
//! attribution line ("On … wrote:"). Each rule asks for enough evidence that a person's own
//! sentence is never taken for one: when in doubt, the text is kept.

use super::Line;
use super::phrases::{
    FORWARD_SUBJECTS, FORWARDS, Label, OPENINGS, ORIGINALS, VERBS, label_of, opens_attribution,
};

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
    /// The person's own text may stand before it on its first line ("Sounds good. On Tue, …
    /// wrote:"): where, [`sentence_before`] says, asked only of the lines that need it.
    pub after_text: bool,
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

/// What a header block introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Headed {
    /// The earlier message, or a forward, starts at the block (Outlook's).
    Starts(Start),
    /// A marked quote: the block, this many lines, is its attribution. Mew writes the quoted
    /// message's From, Subject and Date above the `>` lines, and the answer may follow them.
    Cites(usize),
}

/// A header block at `i`: labelled lines of at least three kinds, one of them the sender
/// (`From:`/`De :`/`Von:`/`От:`/`发件人：`), in one run. Outlook's starts the earlier message,
/// or a forward where the subject starts like one (`FW:`, `WG:`, `TR:`); one that names no
/// recipient and stands right above a marked quote is that quote's attribution.
pub(super) fn header_block(lines: &[Line], i: usize) -> Option<Headed> {
    // Most lines carry no label: asked before anything is allocated.
    let first = label_of(&lines.get(i)?.lower)?;
    let mut seen = Vec::with_capacity(4);
    let mut forward = false;
    // An HTML mail's block may come out of the converter as one line: "From: Bob Sent:
    // Tuesday … To: Alice Subject: Re: hi".
    if first == Label::From {
        for (label, labelled) in labels_within(&lines[i].lower) {
            forward |= label == Label::Subject && is_forward_subject(labelled);
            if !seen.contains(&label) {
                seen.push(label);
            }
        }
    }
    let mut unlabelled = 0;
    let mut len = 0;
    for line in lines.iter().skip(i).take(10) {
        if line.is_blank() {
            break;
        }
        len += 1;
        match label_of(&line.lower) {
            Some(label) => {
                forward |= label == Label::Subject && is_forward_subject(&line.lower);
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
    if seen.len() < 3 || !seen.contains(&Label::From) {
        return None;
    }
    Some(match forward {
        true => Headed::Starts(Start::Forward),
        false if !seen.contains(&Label::To) && quote_follows(lines, i + len) => Headed::Cites(len),
        false => Headed::Starts(Start::Original),
    })
}

/// The subject of a labelled line (`Subject: FW: Access`) starts like a forward's.
fn is_forward_subject(labelled: &str) -> bool {
    let value = labelled
        .split_once([':', '：'])
        .map(|(_, value)| value.trim_start_matches(['*', ' ']))
        .unwrap_or_default();
    FORWARD_SUBJECTS
        .iter()
        .any(|prefix| value.starts_with(prefix))
}

/// The labels that begin words after the first of a line (`… Sent: Tuesday … To: Alice`),
/// each with the text from it on.
fn labels_within(lower: &str) -> impl Iterator<Item = (Label, &str)> {
    lower
        .match_indices(' ')
        .filter_map(|(at, _)| lower.get(at + 1..))
        .filter_map(|rest| label_of(rest).map(|label| (label, rest)))
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
        attribution_in(&first.lower)
    } else {
        None
    };
    if single.as_ref().is_some_and(|found| !found.weak) {
        return single;
    }
    // Wrapped: it opens like one ("On Tue, 3 Mar…", or a date, or the start of an address:
    // "2014-10-17 11:28 GMT+03:00 Postmaster <") and a following line ends it.
    // ... and one of the next three lines ends with the colon (asked first: it rules out
    // most lines at once).
    let ends_within = lines
        .iter()
        .skip(i + 1)
        .take(3)
        .take_while(|line| !line.is_blank() && !line.is_quoted())
        .any(|line| line.lower.ends_with([':', '：']));
    let may_wrap = ends_within
        && (opens_attribution(&first.lower)
            || first.lower.ends_with('<')
            || first.lower.starts_with(|c: char| c.is_ascii_digit())
            || is_date_line(&first.lower));
    if !may_wrap {
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
        match attribution_in(&joined) {
            Some(found) if !found.weak => {
                return Some(Attribution {
                    lines: extra + 2,
                    after_text: false,
                    ..found
                });
            }
            // A verb may still follow on the next line.
            Some(found) => {
                wrapped = Some(Attribution {
                    lines: extra + 2,
                    after_text: false,
                    ..found
                })
            }
            None => {}
        }
    }
    wrapped.or(single)
}

/// A line that is a date and nothing else, as Claws Mail writes the first of its two
/// attribution lines ("torstai 3. joulukuuta 2026 10.00"): a few words, a year or a time among
/// them, and no sentence's end.
fn is_date_line(lower: &str) -> bool {
    if lower.ends_with(['.', '!', '?', ',', ':']) || !lower.contains(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let words: Vec<&str> = lower.split_whitespace().take(9).collect();
    let year = |word: &&str| {
        let digits = word.trim_matches(|c: char| !c.is_ascii_digit());
        digits.len() == 4 && (digits.starts_with("19") || digits.starts_with("20"))
    };
    let time = |word: &&str| {
        word.split_once([':', '.']).is_some_and(|(hours, minutes)| {
            (1..=2).contains(&hours.len())
                && minutes.len() == 2
                && hours
                    .chars()
                    .chain(minutes.chars())
                    .all(|c| c.is_ascii_digit())
        })
    };
    (2..=8).contains(&words.len()) && (words.iter().any(year) || words.iter().any(time))
}

/// The next line with text is a `>` quote.
pub(super) fn quote_follows(lines: &[Line], from: usize) -> bool {
    lines
        .iter()
        .skip(from)
        .find(|line| !line.is_blank())
        .is_some_and(Line::is_quoted)
}

/// The longest attribution believed, in characters, and in bytes as the line holds them.
const MAX_ATTRIBUTION_CHARS: usize = 400;
const MAX_ATTRIBUTION_BYTES: usize = 4 * MAX_ATTRIBUTION_CHARS;

/// `lower` (a trimmed, lower-case line, or wrapped lines joined) as an attribution.
fn attribution_in(lower: &str) -> Option<Attribution> {
    // A line is never longer in characters than in bytes: most need no count.
    if lower.len() > MAX_ATTRIBUTION_BYTES
        || (lower.len() > MAX_ATTRIBUTION_CHARS && lower.chars().count() > MAX_ATTRIBUTION_CHARS)
    {
        return None;
    }
    // Zoho, Android and others: "---- On … wrote ----", "---- Name wrote ----": the rule of
    // dashes around it stands where the colon would.
    let decorated = lower
        .trim_start_matches(['-', ' '])
        .trim_end_matches(['-', ' ']);
    let ruled = decorated.len() + 4 <= lower.len()
        && lower.starts_with("--")
        && lower.trim_end().ends_with("--");
    let (head, colon) = match decorated.strip_suffix([':', '：']) {
        Some(head) => (head.trim_end(), true),
        None => (decorated, ruled),
    };
    if head.is_empty() {
        return None;
    }
    let dated = head.bytes().any(|b| b.is_ascii_digit());
    let addressed = head.contains('@') || head.ends_with('>');
    let opens = opens_attribution(head);
    // A name and the verb, nothing else ("Bob Smith wrote:"), as Thunderbird writes it when
    // told to leave the date out: a few words and a colon.
    let short = colon && head.len() <= MAX_NAMED_ONLY_BYTES;
    // Every kind below needs one of these: most lines are gone before the verb search.
    if !(dated || addressed || opens || ruled || short) {
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
        // The person telling what they wrote ("On 3 Dec I wrote:") names no one else.
        let own_words = head.get(..start).map(str::trim_end).is_some_and(|before| {
            ["i", "we"].iter().any(|pronoun| {
                before
                    .strip_suffix(pronoun)
                    .is_some_and(|rest| rest.is_empty() || rest.ends_with(' '))
            })
        });
        if !whole_word || own_words {
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
            after_text: true,
            weak: !strong || !colon,
        });
    }
    if let Some(found) = clients_own(head, dated, addressed, ruled) {
        return Some(found);
    }
    if short && verb_last && named_only(head) {
        return Some(Attribution {
            lines: 1,
            after_text: false,
            weak: true,
        });
    }
    // Verb-less: a date and the author's address, then the colon (Gmail in some languages,
    // mail.ru) or not even that ("2011/4/7 Name <addr>").
    if dated && head.ends_with('>') && head.contains('@') {
        return Some(Attribution {
            lines: 1,
            after_text: true,
            weak: true,
        });
    }
    // A date or a bracketed address, the address and the colon, with a verb no table here
    // knows ("… <addr> লিখেছেন:", a language not listed): right above a quote, its
    // attribution.
    let bracketed = head.contains('<') && head.contains('>');
    if (dated || bracketed) && colon && head.contains('@') {
        return Some(Attribution {
            lines: 1,
            after_text: false,
            weak: true,
        });
    }
    None
}

/// The longest "Name wrote" believed, in bytes.
const MAX_NAMED_ONLY_BYTES: usize = 60;

/// `head` is a name of up to four words and the verb after it, no sentence in it ("bob smith
/// wrote", not "so i wrote" after "sounds good."): believed only before a quote.
fn named_only(head: &str) -> bool {
    let words = head.split_whitespace().count();
    (2..=5).contains(&words) && !head.contains(['.', '!', '?', ',', ';', ':'])
}

/// How Horde begins its attribution, in English and in German.
const HORDE_OPENINGS: &[&str] = &["quoting ", "zitat von "];

/// Attributions of particular clients that name no verb or no date: believed only before a
/// quote, except Android's ruled "---- Name wrote ----", which nothing else writes.
fn clients_own(head: &str, dated: bool, addressed: bool, ruled: bool) -> Option<Attribution> {
    let weak = |weak| {
        Some(Attribution {
            lines: 1,
            after_text: false,
            weak,
        })
    };
    // Android: "---- Name wrote ----".
    if ruled && head.ends_with(" wrote") && head.split_whitespace().count() <= 8 {
        return weak(false);
    }
    // Horde: "Quoting Bob <bob@example.org>:", "Zitat von Bob <…>:".
    if addressed
        && head.contains('@')
        && HORDE_OPENINGS
            .iter()
            .any(|opening| head.starts_with(opening))
    {
        return weak(true);
    }
    if !dated {
        return None;
    }
    // alot: "Quoting Name (2026-12-03 10:00:00)".
    if head.ends_with(')') && head.starts_with("quoting ") {
        return weak(true);
    }
    // French clients: "Message du : 03/12/2026 10:00".
    if head.starts_with("message du :") || head.starts_with("message du:") {
        return weak(true);
    }
    if !addressed {
        return None;
    }
    // A mutt user's own format: "* Name <addr> [2026-12-03 10:00]".
    if head.ends_with(']') && head.contains('@') {
        return weak(true);
    }
    // "Thursday, 03 December 2026, 10:00 AM +0300 from addr"; Tuta's "Dec 3, 2026, 10:00 by
    // addr" ("von addr" in German).
    let sent_by = [" from ", " by ", " von "].iter().any(|word| {
        head.rsplit_once(word).is_some_and(|(_, sender)| {
            sender.contains('@') && sender.split_whitespace().count() == 1
        })
    });
    if sent_by {
        return weak(true);
    }
    None
}

/// Text that ends like a sentence of the person's, not like a date an attribution starts with
/// ("ke 30. huhtik.", "ср, 30 апр. 2025 г."): at least `min_words` words, the last two without
/// digits.
fn reads_as_a_sentence(before: &str, min_words: usize) -> bool {
    before.split_whitespace().take(min_words).count() == min_words
        && before
            .split_whitespace()
            .rev()
            .take(2)
            .all(|word| !word.bytes().any(|byte| byte.is_ascii_digit()))
}

/// Where an attribution begins after the person's own text on the same line: the last
/// opening word ("On", "Am", "Le") right after a sentence's end, or written with a capital
/// right after words that hold no date or address when a whole attribution follows ("reply
/// On Wed, … bob@example.org wrote:", "reply--- On …"); else the last sentence's end after
/// which the rest is an attribution by itself ("Sounds good. Bob <bob@example.org> wrote:",
/// "… 2014-03-20 8:48 GMT+01:00 Bob <bob@example.org>:"), the shortest such rest. `text` is
/// the line as written, `lower` its lower-case form.
pub(super) fn sentence_before(lower: &str, text: &str) -> Option<usize> {
    let after_words = |start: usize, before: &str| {
        let capital = lower
            .get(..start)
            .map(|before| before.chars().count())
            .and_then(|at| text.chars().skip(at).find(|c| !matches!(c, '-' | ' ')))
            .is_some_and(char::is_uppercase);
        // A word of its own ("PAT desk" holds no "at"), or Zoho's dashes before it.
        let own_word = before.ends_with([' ', '-'])
            || lower.get(start..).is_some_and(|rest| rest.starts_with('-'));
        capital
            && own_word
            && !before.trim_end_matches(['-', ' ']).is_empty()
            && !before.contains(|c: char| c.is_ascii_digit() || matches!(c, '@' | '<' | '>'))
            && lower
                .get(start..)
                .and_then(attribution_in)
                .is_some_and(|found| !found.weak)
    };
    let after_opening = OPENINGS
        .ends_in(lower)
        .map(|(start, _)| start)
        .filter(|&start| {
            start > 0
                && lower.get(..start).is_some_and(|before| {
                    (before.trim_end().ends_with(['.', '!', '?']) && reads_as_a_sentence(before, 1))
                        || after_words(start, before)
                })
        })
        .last();
    after_opening.or_else(|| {
        // From the end, and no further back than an attribution can be long: a hostile line
        // of many sentences costs one look at each of its last few.
        lower
            .rmatch_indices(['.', '!', '?'])
            .take_while(|(at, _)| lower.len() - at <= MAX_ATTRIBUTION_BYTES)
            .find_map(|(at, end)| {
                let rest = lower.get(at + end.len()..)?;
                let start = lower.len() - rest.trim_start().len();
                (rest.starts_with(' ')
                    && reads_as_a_sentence(lower.get(..start)?, 2)
                    && attribution_in(rest.trim_start()).is_some())
                .then_some(start)
            })
    })
}
