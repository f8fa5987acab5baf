//! Text from outside (a mail, GitHub, a token endpoint's error) made harmless where people
//! read it. A terminal obeys escape sequences, so a Subject can retitle the window, clear the
//! screen or hide what follows; a CR or LF in a token name prints a fake field; a bidi
//! override reorders what is read. Slack turns `<!channel>` into a mention and `<url|text>`
//! into a disguised link. Each function here shows such text as text: the characters that
//! would act are written out as visible escapes (`\x1b`, `\r`, `\u{202e}`).

use std::borrow::Cow;
use std::fmt::Write as _;

/// One line for a terminal: every control character (line breaks included), DEL, the C1
/// controls and the bidi controls written out visibly.
pub fn line(text: &str) -> Cow<'_, str> {
    escaped(text, |_| false)
}

/// A server's words inside patdesk's own message (an error, a log line): one line as [`line`]
/// makes it, and at most `max` characters of it, so an answer cannot flood the journal.
pub fn quoted(text: &str, max: usize) -> String {
    let shown = line(text.trim());
    match shown.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &shown[..cut]),
        None => shown.into_owned(),
    }
}

/// A block for a terminal, its line breaks kept (they are patdesk's own layout, or the
/// lines of a reply shown under each other); everything else as [`line`] does.
pub fn block(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c == '\n')
}

/// Text for a Slack message sent with formatting off: `&`, `<` and `>` as Slack's entities,
/// so nothing can mention, link or format; controls as [`block`] shows them.
pub fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in block(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with every character that would act written out visibly, but those `kept` says
/// are the caller's own (a log's colours, say).
pub fn escaped(text: &str, kept: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| acts(c) && !kept(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !acts(c) || kept(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
        }
    }
    Cow::Owned(out)
}

/// A character a terminal acts on instead of showing, or one that changes how the text
/// around it reads: C0 controls, DEL, C1 controls (0x9B is CSI on some terminals), the
/// Unicode line and paragraph separators, and the bidi embeddings, overrides, isolates and
/// marks.
fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_are_one_line_and_cut() {
        assert_eq!(quoted("invalid_grant", 200), "invalid_grant");
        assert_eq!(
            quoted("bad\r\nX-Fake: line\x1b[2J", 200),
            "bad\\r\\nX-Fake: line\\x1b[2J"
        );
        let long = "a".repeat(500);
        let cut = quoted(&long, 200);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn escapes_and_controls_are_written_out() {
        let hostile = "Re: token\u{1b}]0;owned\u{7}\u{1b}[2J";
        assert_eq!(line(hostile), "Re: token\\x1b]0;owned\\x07\\x1b[2J");
        assert_eq!(line("a\r\nrisk low"), "a\\r\\nrisk low");
        assert_eq!(line("C1 \u{9b}31m"), "C1 \\u{9b}31m");
        assert_eq!(line("del\u{7f}"), "del\\x7f");
    }

    #[test]
    fn bidi_controls_are_written_out() {
        assert_eq!(line("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(line("x\u{2066}y\u{2069}"), "x\\u{2066}y\\u{2069}");
        assert_eq!(line("\u{200f}"), "\\u{200f}");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["plain", "Grüße, Zoë — 写道：", "emoji 👩‍💻 joined", ""] {
            assert!(matches!(line(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn a_block_keeps_its_lines_only() {
        assert_eq!(block("one\ntwo\r\n\u{1b}[8m"), "one\ntwo\\r\n\\x1b[8m");
    }

    #[test]
    fn slack_text_cannot_mention_link_or_escape() {
        assert_eq!(
            slack("<!channel> <https://evil.example/login|Re-authenticate> & co"),
            "&lt;!channel&gt; &lt;https://evil.example/login|Re-authenticate&gt; &amp; co"
        );
        assert_eq!(slack("x\u{1b}[2J\ny"), "x\\x1b[2J\ny");
    }
}
