//! What a person wrote now, without the earlier messages their client quoted.
//!
//! Three kinds of quoting are handled, in this order:
//! 1. An *unmarked original* below the reply (Outlook's `From: … Sent: … To: … Subject:` block
//!    in any of its languages, `-----Original Message-----`, an attribution line followed by
//!    unquoted text): everything from there on is cut. A *forwarded* message (its separator,
//!    or a header block with `FW:`) is content the person chose to send: it is kept, as it
//!    is, after their note.
//! 2. *Marked quotes*: `>` lines, and the attribution line that introduces them (`On … wrote:`,
//!    wrapped over several lines, in other languages, date-first or verb-less). Text between
//!    quoted blocks is an inline answer and is kept; a quoted line the client wrapped is not.
//! 3. *Signatures*: `-- `, a mail app's own ("Sent from my iPhone") when it stands alone at the
//!    end, corporate disclaimers, list footers, and a closing such as "Thanks," with only a short
//!    name block after it.
//!
//! The words of each client and language are data, in [`phrases`]; [`headers`] finds where an
//! earlier message begins. When in doubt, text is kept: losing the answer is the worst outcome.

mod headers;
mod phrases;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use headers::{
    Attribution, Headed, Start, attribution, header_block, quote_follows, sentence_before,
    separator,
};
use phrases::{CLOSINGS, NOTICES, OPENINGS, SIGNATURE_APOLOGIES, SIGNATURES};

/// A closing is a signature only when at most this many short lines follow it.
const MAX_NAME_BLOCK_LINES: usize = 5;
const MAX_NAME_BLOCK_LINE_LEN: usize = 60;
/// A mail app's signature line is short, and at most this many short lines follow it.
const MAX_DEVICE_SIGNATURE_LEN: usize = 80;
const MAX_LINES_AFTER_DEVICE_SIGNATURE: usize = 3;
/// The longest name Supercite puts before `>`.
const MAX_SUPERCITE_NAME: usize = 12;
/// A quoted line this long, then an unquoted line in lower case, then a quote again: the
/// client wrapped the quoted line.
const WRAPPED_QUOTE_LEN: usize = 60;

/// The text a person wrote now, or `None` when nothing of theirs is left. `author` is the
/// From display name: a closing block that starts with it ("Frank Ng | Engineer", or just
/// "Frank") is a signature.
pub fn extract_reply(text: &str, author: Option<&str>) -> Option<String> {
    // Lower-cased once for the whole mail, ASCII letters only, which keeps every byte offset:
    // each line borrows its lower-case form from there; only a line with a letter outside
    // ASCII that lower-casing changes ("Von:", "ОТ:") gets a full lower-case copy of its own.
    let ascii_lower = text.to_ascii_lowercase();
    let lines = lines_of(text, &ascii_lower);
    let mut lines = split_trailing_attributions(lines);
    mark_tab_quotes(&mut lines);
    mark_supercite_quotes(&mut lines);
    mark_stuffed_lines(&mut lines);
    let (earlier, attributions) = earlier_message(&lines);
    let (end, forwarded) = match earlier {
        Some((at, Start::Original)) => (at, None),
        Some((at, Start::Forward)) => (at, Some(at)),
        None => (lines.len(), None),
    };
    let own = without_marked_quotes(
        lines.get(..end).unwrap_or_default(),
        attributions.get(..end).unwrap_or_default(),
    );
    let author = author.map(AuthorName::new);
    let own = tidy(without_signature(&own, author.as_ref()));
    // A forward is kept as it came, after the person's note: they chose to send it.
    let forwarded = forwarded.and_then(|at| {
        let rest: Vec<&Line> = lines.get(at..).unwrap_or_default().iter().collect();
        tidy(&rest)
    });
    match (own, forwarded) {
        (Some(own), Some(forwarded)) => Some(format!("{own}\n\n{forwarded}")),
        (own, forwarded) => own.or(forwarded),
    }
}

/// The lines of `text` as [`str::lines`] splits them (at `\n`, a `\r` before it dropped),
/// each with its trimmed lower-case form; `ascii_lower` is `text` with its ASCII letters
/// lower-cased. Every reply passes here, so it looks at each byte as few times as it can.
fn lines_of<'a>(text: &'a str, ascii_lower: &'a str) -> Vec<Line<'a>> {
    let bytes = text.as_bytes();
    // Asked once of a mail in ASCII (most are), and then of no line of it.
    let ascii = text.is_ascii();
    // About one line per 32 bytes: grown a few times at most, never counted in a pass of its own.
    let mut lines = Vec::with_capacity(bytes.len() / 32 + 4);
    let mut push = |start: usize, end: usize| {
        // `\n` and `\r` are ASCII: the offsets around them are character boundaries.
        let (Some(line), Some(lower)) = (text.get(start..end), ascii_lower.get(start..end)) else {
            return;
        };
        lines.push(match !ascii && case_changes_beyond_ascii(line) {
            false => Line {
                text: line,
                lower: Cow::Borrowed(lower.trim()),
                quoted: false,
                stuffed: false,
            },
            true => Line::new(line),
        });
    };
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', bytes) {
        let end = match bytes.get(newline.wrapping_sub(1)) {
            Some(b'\r') if newline > start => newline - 1,
            _ => newline,
        };
        push(start, end);
        start = newline + 1;
    }
    if start < bytes.len() {
        push(start, bytes.len());
    }
    lines
}

/// Whether lower-casing `line` changes a character outside ASCII: an upper- or title-case
/// letter. Most lines are ASCII, and the rest mostly lower-case letters or scripts without
/// case, which keep their bytes.
fn case_changes_beyond_ascii(line: &str) -> bool {
    !line.is_ascii()
        && line
            .chars()
            .any(|c| !c.is_ascii() && (c.is_uppercase() || is_titlecase(c)))
}

/// The title-case letters (Unicode category Lt): a digraph's capital form such as `ǅ`, and
/// Greek capitals with a subscript iota; lower-casing changes them, yet none is upper-case.
fn is_titlecase(c: char) -> bool {
    matches!(c, 'ǅ' | 'ǈ' | 'ǋ' | 'ǲ' | 'ᾈ'..='ᾏ' | 'ᾘ'..='ᾟ' | 'ᾨ'..='ᾯ' | 'ᾼ' | 'ῌ' | 'ῼ')
}

/// A line of the mail, with its trimmed lower-case form computed once: every rule below
/// compares against it, most of them for every line.
struct Line<'a> {
    text: &'a str,
    lower: Cow<'a, str>,
    /// A line of an earlier message quoted otherwise than with `>`: indented by a tab
    /// ([`mark_tab_quotes`]) or behind a Supercite prefix ([`mark_supercite_quotes`]).
    quoted: bool,
    /// A line of the person's that begins with `>`, space-stuffed by a `format=flowed` client
    /// ([`mark_stuffed_lines`]): not a quote.
    stuffed: bool,
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
            quoted: false,
            stuffed: false,
        }
    }

    fn is_blank(&self) -> bool {
        self.lower.is_empty()
    }

    fn is_quoted(&self) -> bool {
        !self.stuffed && (self.quoted || self.lower.starts_with('>'))
    }
}

/// The ways a person signs with their own name: the whole of it (three letters at least), or
/// the first name alone on a line (two at least).
struct AuthorName {
    full: Option<String>,
    first: Option<String>,
}

impl AuthorName {
    fn new(display_name: &str) -> Self {
        // "Smith, Alice" is how some directories write "Alice Smith".
        let quotes = |c: char| c == '"' || c == '\'';
        let lower = |name: &str| match name.is_ascii() {
            true => name.to_ascii_lowercase(),
            false => name.to_lowercase(),
        };
        let name = match display_name.split_once(',') {
            Some((last, first)) => {
                lower(format!("{} {}", first.trim(), last.trim()).trim_matches(quotes))
            }
            None => lower(display_name.trim().trim_matches(quotes)),
        };
        // Characters, not bytes; an ASCII name has as many of each.
        let at_least = |text: &str, chars: usize| {
            text.len() >= chars && (text.is_ascii() || text.chars().count() >= chars)
        };
        let first = name
            .split_whitespace()
            .next()
            .filter(|first| at_least(first, 2))
            .map(str::to_string);
        AuthorName {
            full: at_least(&name, 3).then_some(name),
            first,
        }
    }

    fn signs(&self, line: &Line) -> bool {
        let by_full_name = self
            .full
            .as_ref()
            .is_some_and(|full| line.lower.starts_with(full.as_str()));
        let by_first_name = self
            .first
            .as_ref()
            .is_some_and(|first| line.lower.trim_end_matches(['.', ',', '!']) == first.as_str());
        by_full_name || by_first_name
    }
}

/// Where the first earlier message begins, and whether it is one the person forwards; with
/// the attribution of each line above it (asked once, for this pass and the next; the lines
/// below are never asked).
fn earlier_message(lines: &[Line]) -> (Option<(usize, Start)>, Vec<Option<Attribution>>) {
    let mut attributions = Vec::with_capacity(lines.len());
    // The lines of a citation's header block, after its first, are asked nothing.
    let mut cited_until = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.is_blank() || line.is_quoted() || i < cited_until {
            attributions.push(None);
            continue;
        }
        if let Some(start) = separator(line) {
            return (Some((i, start)), attributions);
        }
        if is_rule(&line.lower)
            && let Some(Headed::Starts(start)) = header_block(lines, i + 1)
        {
            return (Some((i, start)), attributions);
        }
        match header_block(lines, i) {
            Some(Headed::Starts(start)) => {
                return (Some((above_rule(lines, i), start)), attributions);
            }
            Some(Headed::Cites(len)) => {
                cited_until = i + len;
                attributions.push(Some(Attribution {
                    lines: len,
                    after_text: false,
                    weak: false,
                }));
                continue;
            }
            None => {}
        }
        // An attribution introduces marked quotes (step 2 removes both) or, when no quote
        // follows it, the unmarked original. A weak one is believed only before a quote.
        let found = attribution(lines, i);
        if let Some(found) = &found
            && !found.weak
            && !quote_follows(lines, i + found.lines)
        {
            return (Some((i, Start::Original)), attributions);
        }
        attributions.push(found);
    }
    (None, attributions)
}

/// Where a header block at `i` really begins: on the rule (dashes, underscores, `=`…) a client
/// drew above it, blank lines between.
fn above_rule(lines: &[Line], i: usize) -> usize {
    let mut at = i;
    while at > 0 && lines[at - 1].is_blank() {
        at -= 1;
    }
    let drawn = at
        .checked_sub(1)
        .and_then(|above| lines.get(above))
        .is_some_and(|line| is_decoration(&line.lower) && line.lower.chars().count() >= 5);
    if drawn { at - 1 } else { i }
}

/// A line of underscores (two or more), as Outlook draws above its header block and mailing
/// lists above their footer.
fn is_rule(trimmed: &str) -> bool {
    trimmed.len() >= 2 && trimmed.chars().all(|c| c == '_')
}

/// The person's own text before an attribution on the same line ("Sounds good. On Tue, …
/// wrote:") becomes a line of its own, so the rules below see the attribution alone.
fn split_trailing_attributions(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let splits: Vec<(usize, &str, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            // Bytes first: most lines end in neither colon (`：` is EF BC 9A in UTF-8).
            let colon = matches!(line.lower.as_bytes().last(), Some(b':' | 0x9A))
                && line.lower.ends_with([':', '：']);
            colon
                && !line.is_quoted()
                && (has_sentence_end(&line.lower) || has_opening_within(&line.lower))
        })
        .filter_map(|(i, line)| {
            let found = attribution(std::slice::from_ref(line), 0)?;
            let text = line.text.trim();
            let at = found
                .after_text
                .then(|| sentence_before(&line.lower, text))??;
            // `at` counts in the trimmed lower-case form; the same number of characters
            // into the trimmed text (lower-casing keeps the count).
            let chars = line.lower.get(..at)?.chars().count();
            let cut = text.char_indices().nth(chars).map(|(byte, _)| byte)?;
            // A rule glued to the opening ("reply--- On …") is no part of the text.
            let own = text.get(..cut)?.trim_end_matches(['-', ' ']);
            Some((i, own, text.get(cut..)?))
        })
        .collect();
    if splits.is_empty() {
        return lines;
    }
    let mut split = Vec::with_capacity(lines.len() + splits.len());
    for (i, line) in lines.into_iter().enumerate() {
        match splits.iter().find(|(at, _, _)| *at == i) {
            Some((_, own, attribution)) => {
                split.push(Line::new(own));
                split.push(Line::new(attribution));
            }
            None => split.push(line),
        }
    }
    split
}

/// BSD mailx and GNU Mailutils quote the earlier message indented by a tab, its header lines
/// first (`\tDate: …`, `\tFrom: …`, `\tSubject: …`); the answer may stand above, below or
/// between its lines. From such a header block on, every tab-indented line is quoted: the
/// block would otherwise be taken for an unmarked original, and the answer below it lost.
fn mark_tab_quotes(lines: &mut [Line]) {
    let indented = |line: &Line| line.text.starts_with('\t');
    let Some(start) =
        (0..lines.len()).find(|&i| indented(&lines[i]) && header_block(lines, i).is_some())
    else {
        return;
    };
    for line in &mut lines[start..] {
        line.quoted = indented(line) && !line.is_blank();
    }
}

/// A line of the person's that begins with `>` is no quote, and is kept: a `format=flowed`
/// client space-stuffs it (RFC 3676, 4.4: ` >Only read access.`), which no client does to a
/// quote, so a run of such lines right after the person's own text (or opening the mail) is
/// theirs; and the one `>` line of a mail, standing between lines of the person's text with
/// no attribution anywhere, is theirs too: when in doubt, keep. The HTML converter stuffs the
/// person's `>` lines the same way.
fn mark_stuffed_lines(lines: &mut [Line]) {
    let marked = |line: Option<&Line>| line.is_some_and(|line| line.lower.starts_with('>'));
    let own = |lines: &[Line], at: Option<usize>| {
        at.and_then(|at| lines.get(at).map(|line| (at, line)))
            .is_some_and(|(at, line)| {
                !line.is_blank() && !line.is_quoted() && attribution(lines, at).is_none()
            })
    };
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    // Whether the mail quotes anything else, and whether anything in it introduces a quote:
    // each asked once, and only when a `>` line might stand alone (the first is cheap).
    let mut quoted_more_than_once: Option<bool> = None;
    let mut introduces_a_quote: Option<bool> = None;
    let mut i = 0;
    while i < lines.len() {
        let stuffed = |line: &Line| line.text.starts_with(" >") && !line.text.starts_with(" >>");
        if !lines[i].lower.starts_with('>') {
            i += 1;
            continue;
        }
        let start = i;
        if stuffed(&lines[i]) {
            while i < lines.len() && stuffed(&lines[i]) {
                i += 1;
            }
            // At the top of the mail nothing comes before: no client stuffs a quote, so the
            // run is the person's there too.
            if (start == 0 || own(lines, start.checked_sub(1))) && !marked(lines.get(i)) {
                runs.push(start..i);
            }
            continue;
        }
        i += 1;
        // No quote anywhere else, and nothing that introduces one: the only `>` of the mail,
        // between lines of the person's.
        let alone = !*quoted_more_than_once
            .get_or_insert_with(|| lines.iter().filter(|line| line.is_quoted()).count() > 1)
            && own(lines, start.checked_sub(1))
            && own(lines, Some(i))
            && !*introduces_a_quote
                .get_or_insert_with(|| (0..lines.len()).any(|at| attribution(lines, at).is_some()));
        if alone {
            runs.push(start..i);
        }
    }
    for run in runs {
        for line in &mut lines[run] {
            line.stuffed = true;
        }
    }
}

/// Emacs's Supercite quotes each line behind the author's initials or name: `PAT> What is it
/// for?`. A prefix counts when at least two lines of the mail carry it.
fn mark_supercite_quotes(lines: &mut [Line]) {
    if !lines
        .iter()
        .any(|line| supercite_prefix(&line.lower).is_some())
    {
        return;
    }
    let prefixes: Vec<Option<usize>> = lines
        .iter()
        .map(|line| supercite_prefix(&line.lower))
        .collect();
    let mut carried: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (line, len) in lines.iter().zip(&prefixes) {
        if let Some(name) = len.and_then(|len| line.lower.get(..len)) {
            *carried.entry(name.to_string()).or_default() += 1;
        }
    }
    for (line, len) in lines.iter_mut().zip(&prefixes) {
        let count = len
            .and_then(|len| line.lower.get(..len))
            .and_then(|name| carried.get(name))
            .copied()
            .unwrap_or(0);
        line.quoted |= count >= 2;
    }
}

/// The length of a Supercite prefix (`pat` of `pat> …`): a short name, then `>`.
fn supercite_prefix(lower: &str) -> Option<usize> {
    // A name starts with a letter: a quote (`>`), a list or a number is none.
    if lower.starts_with(|c: char| c.is_ascii() && !c.is_ascii_alphabetic()) {
        return None;
    }
    // Most lines start with a word and a space: the first byte that can be no part of a name
    // rules them out, a few bytes in. (A byte beyond ASCII may be part of a letter.)
    let name_byte =
        |byte: &u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | 0x80..);
    let head = lower
        .as_bytes()
        .get(..4 * (MAX_SUPERCITE_NAME + 1))
        .unwrap_or(lower.as_bytes());
    if head.iter().find(|byte| !name_byte(byte)) != Some(&b'>') {
        return None;
    }
    let (at, _) = lower
        .char_indices()
        .take(MAX_SUPERCITE_NAME + 1)
        .find(|(_, c)| *c == '>')?;
    let name = lower.get(..at)?;
    let plain = !name.is_empty()
        && name.starts_with(|c: char| c.is_alphabetic())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    plain.then_some(at)
}

/// An opening word stands somewhere after the line's start ("reply On Wed, …"): text of the
/// person's may come before an attribution without a sentence's end.
fn has_opening_within(lower: &str) -> bool {
    OPENINGS.ends_in(lower).any(|(start, _)| start > 0)
}

/// Somewhere in the line a sentence ends and more follows ("Sounds good. On …", "Sounds
/// good. Bob <…> wrote:"): without that, nothing of the person's stands before an
/// attribution on it. A cheap test that spares the full one for most lines.
fn has_sentence_end(lower: &str) -> bool {
    memchr::memchr3_iter(b'.', b'!', b'?', lower.as_bytes()).any(|at| {
        lower.get(at + 1..).is_some_and(|rest| {
            let rest = rest.trim_start();
            // An opening word, or what an attribution without one has: an address or a date.
            OPENINGS.starts(rest)
                || rest.contains(['@', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
        })
    })
}

fn without_marked_quotes<'l, 'a>(
    lines: &'l [Line<'a>],
    attributions: &[Option<Attribution>],
) -> Vec<&'l Line<'a>> {
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_quoted() || is_wrapped_quote(lines, i) {
            i += 1;
            continue;
        }
        if let Some(Some(found)) = attributions.get(i)
            && quote_follows(lines, i + found.lines)
        {
            i += found.lines;
            continue;
        }
        kept.push(line);
        i += 1;
    }
    kept
}

/// Line `i` continues the long quoted line above it: the client wrapped a `>` line without
/// marking the rest.
fn is_wrapped_quote(lines: &[Line], i: usize) -> bool {
    let (Some(before), Some(line)) = (i.checked_sub(1).and_then(|b| lines.get(b)), lines.get(i))
    else {
        return false;
    };
    if !before.is_quoted() {
        return false;
    }
    // A quoted link the client broke: `> … <https://example.org/long/` above, the rest of
    // the address and its `>` here.
    let link_open = before
        .lower
        .rfind('<')
        .is_some_and(|at| !before.lower[at..].contains('>'));
    let link_closes = line
        .lower
        .split_whitespace()
        .next()
        .is_some_and(|word| word.contains('>') && !word.starts_with('>'));
    if link_open && link_closes {
        return true;
    }
    // A quoted link whose line the client wrapped with the next line's marker at its end:
    // `> Post a response` above, ` (http://example.org/c/Yz) >` here, a quote below. A link
    // the person writes in brackets (`<https://…>`) has its `<`.
    let marker_moved = line.lower.ends_with('>')
        && !line.lower.contains('<')
        && line.lower.contains("http")
        && lines.get(i + 1).is_some_and(Line::is_quoted);
    if marker_moved {
        return true;
    }
    let quoted_len = before.lower.trim_start_matches(['>', ' ']).chars().count();
    // A line the client wrapped breaks off mid-sentence; one that ends like a sentence was
    // whole, and the lower-case line under it is an answer ("no, read only.").
    let broken_off = !before.lower.ends_with(['.', '?', '!', ':']);
    lines.get(i + 1).is_some_and(Line::is_quoted)
        && broken_off
        && quoted_len >= WRAPPED_QUOTE_LEN
        && line
            .text
            .trim_start()
            .starts_with(|c: char| c.is_lowercase())
}

/// Cuts hard signature markers first (`-- `, disclaimers, a list's `__` footer), then a mail
/// app's signature standing alone at the end, then a closing or the author's name followed by
/// a short name block.
fn without_signature<'s, 'l, 'a>(
    lines: &'s [&'l Line<'a>],
    author: Option<&AuthorName>,
) -> &'s [&'l Line<'a>] {
    // A notice follows the person's text; one that opens it ("Confidential: the token reads
    // the HR repository.") is their text.
    let first_text = lines.iter().position(|line| !line.is_blank());
    let hard_end = lines
        .iter()
        .enumerate()
        .position(|(i, line)| {
            is_delimiter(line)
                || (NOTICES.starts(&line.lower) && first_text.is_some_and(|at| at < i))
        })
        .unwrap_or(lines.len());
    let lines = lines.get(..hard_end).unwrap_or_default();
    // An app's signature and a closing have at most a few short lines after them: only the
    // last few lines with text (and the blank ones among them) can be one, and only those
    // are asked.
    let device_end = (last_with_text(lines, MAX_LINES_AFTER_DEVICE_SIGNATURE + 1)..lines.len())
        .find(|&i| is_device_signature(lines, i))
        .unwrap_or(lines.len());
    let lines = lines.get(..device_end).unwrap_or_default();
    let soft_end = (last_with_text(lines, MAX_NAME_BLOCK_LINES + 1)..lines.len())
        .find(|&i| signs_off(lines[i], author) && ends_in_name_block(lines, i))
        .unwrap_or(lines.len());
    // A rule the person drew above what was cut ("---" over their name) is left with nothing
    // under it.
    let mut end = soft_end;
    while end > 0 && (lines[end - 1].is_blank() || is_decoration(&lines[end - 1].lower)) {
        end -= 1;
    }
    lines.get(..end).unwrap_or_default()
}

/// Where the last `count` lines with text begin (0 when there are fewer).
fn last_with_text(lines: &[&Line], count: usize) -> usize {
    lines
        .iter()
        .rposition(|line| !line.is_blank())
        .map_or(0, |last| {
            let with_text = (0..=last).rev().filter(|&i| !lines[i].is_blank());
            with_text.take(count).last().unwrap_or(0)
        })
}

/// A line of nothing but a rule's characters: `---`, `===`, `***`, `~~~`.
fn is_decoration(trimmed: &str) -> bool {
    !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| matches!(c, '-' | '_' | '=' | '*' | '~' | '—' | '–'))
}

/// The signature delimiter, or a list's `__` footer rule.
fn is_delimiter(line: &Line) -> bool {
    // "-- " is the standard delimiter; trimming has made it "--".
    // Some apps draw the delimiter as a dash of its own ("—", "–").
    matches!(line.lower.as_ref(), "--" | "—" | "–") || is_rule(&line.lower)
}

/// "Sent from my iPhone" and the like: a short line of its own, not a sentence that happens
/// to begin the same way ("Sent from my desk, is much easier than my phone."), with at most a
/// few short lines after it.
fn is_device_signature(lines: &[&Line], i: usize) -> bool {
    let line = lines[i];
    if !SIGNATURES.starts(&line.lower) {
        return false;
    }
    // Outlook's "Get Outlook for Android<https://aka.ms/…>": the link is not a sentence.
    let words = line
        .lower
        .split(['<', '('])
        .next()
        .unwrap_or_default()
        .split("http")
        .next()
        .unwrap_or_default();
    // "Sent from my iPhone!" ends like a sentence but is none; K-9 Mail apologises after it.
    let words = words.trim_end().trim_end_matches(['.', '!']);
    let words = match words.split_once(". ") {
        Some((signature, apology)) if SIGNATURE_APOLOGIES.contains(&apology) => signature,
        _ => words,
    };
    let sentence_like = words.contains([',', '.', ';', '!', '?']);
    if sentence_like || line.lower.chars().count() > MAX_DEVICE_SIGNATURE_LEN {
        return false;
    }
    let after: Vec<&&Line> = lines[i + 1..]
        .iter()
        .filter(|line| !line.is_blank())
        .collect();
    after.len() <= MAX_LINES_AFTER_DEVICE_SIGNATURE
        && after.iter().all(|line| is_name_block_line(&line.lower))
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
        && after.iter().all(|line| is_name_block_line(&line.lower))
}

/// A line a name block holds (a name, a title, a phone number, "Acme Corp."): short, and
/// neither a postscript nor a sentence, which are the person's text after their name.
fn is_name_block_line(lower: &str) -> bool {
    let postscript = ["p.s", "ps:", "ps ", "p.p.s", "pps"]
        .iter()
        .any(|opening| lower.starts_with(opening));
    let sentence = lower.contains('?')
        || (lower.ends_with(['.', '!']) && lower.split_whitespace().nth(3).is_some());
    lower.chars().count() <= MAX_NAME_BLOCK_LINE_LEN && !postscript && !sentence
}

/// Trailing white space off every line, blank lines at either end dropped, and runs of blank
/// lines folded into one.
fn tidy(lines: &[&Line]) -> Option<String> {
    let mut out = String::with_capacity(lines.iter().map(|line| line.text.len() + 2).sum());
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
        // A space-stuffed line, as its writer wrote it.
        let text = match line.stuffed {
            true => text.strip_prefix(' ').unwrap_or(text),
            false => text,
        };
        if text.contains('\u{a0}') {
            out.push_str(&text.replace('\u{a0}', " "));
        } else {
            out.push_str(text);
        }
    }
    (!out.is_empty()).then_some(out)
}
