//! HTML mail as plain text, with `<blockquote>` rendered as `> ` lines.
//!
//! Keeping quotes marked is the point: the reply extractor then treats an HTML reply exactly
//! like a plain-text one, inline answers between quoted blocks included. HTML-only mail would
//! otherwise turn into one undifferentiated run of text, or nothing at all.
//!
//! Losing the person's text is the failure that matters, so the converter reads markup as a
//! browser shows it rather than as it is written: an element closed by its parent's end tag
//! closes a quote left open inside it, `<pre>` keeps its lines, a `>` inside an attribute
//! value does not end the tag, an indented (borderless) blockquote is not a quote, and the
//! person's own text that begins with `>` is space-stuffed so it is not taken for one.

/// How far down the open elements a closing tag looks for its opening one: a hostile mail
/// of unclosed elements then costs a bounded amount per tag.
const MAX_CLOSE_SEARCH: usize = 64;

pub fn html_to_text(html: &str) -> String {
    let mut out = TextWriter {
        // The text is shorter than its markup: one allocation, never grown.
        out: String::with_capacity(html.len()),
        ..TextWriter::default()
    };
    let mut open = OpenElements::default();
    let mut hidden_depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(at) = memchr::memchr(b'<', rest.as_bytes()) else {
            if hidden_depth == 0 {
                out.text(rest);
            }
            break;
        };
        if hidden_depth == 0 {
            out.text(&rest[..at]);
        }
        rest = &rest[at..];
        let starts_markup = rest[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        if !starts_markup {
            // A `<` that opens no tag is text, as in "x < 5".
            if hidden_depth == 0 {
                out.text("<");
            }
            rest = &rest[1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(close) = tag_end(rest) else {
            break;
        };
        let tag = Tag::parse(&rest[1..close]);
        rest = &rest[close + 1..];
        let Some(tag) = tag else {
            continue;
        };
        match tag.role {
            Role::Hidden if tag.closing => hidden_depth = hidden_depth.saturating_sub(1),
            Role::Hidden if !tag.self_closing => hidden_depth += 1,
            Role::LineBreak => out.line_break(),
            Role::Quote | Role::Block => {
                out.block_break();
                if tag.closing {
                    open.close(&tag.name);
                } else if !tag.self_closing && !tag.is_void() {
                    open.push(tag.name, tag.role);
                }
                out.quote_depth = open.quotes;
                out.preformatted = open.preformatted > 0;
            }
            Role::Hidden | Role::Inline => {}
        }
    }
    out.finish()
}

/// The offset of the `>` that ends the tag `markup` begins with, passing over `>` inside a
/// quoted attribute value (`<a title="a > b">`).
fn tag_end(markup: &str) -> Option<usize> {
    let first = memchr::memchr(b'>', markup.as_bytes())?;
    // Most tags have no quoted value before their first `>`: that `>` ends them.
    if memchr::memchr2(b'"', b'\'', &markup.as_bytes()[..first]).is_none() {
        return Some(first);
    }
    let mut quote: Option<u8> = None;
    let mut after_equals = false;
    for (i, byte) in markup.bytes().enumerate() {
        match (quote, byte) {
            (Some(open), _) if byte == open => quote = None,
            (Some(_), _) => {}
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') if after_equals => quote = Some(byte),
            (None, b'=') => after_equals = true,
            (None, b' ' | b'\t' | b'\n' | b'\r') => {}
            (None, _) => after_equals = false,
        }
    }
    // An unterminated quote: read the tag as ending at its first `>`, as before.
    quote.map(|_| first)
}

/// The block elements open at this point, innermost last.
#[derive(Default)]
struct OpenElements {
    stack: Vec<(TagName, Role)>,
    /// How many of them are quotes: the text's quote depth.
    quotes: usize,
    /// How many of them are `<pre>`.
    preformatted: usize,
}

impl OpenElements {
    fn push(&mut self, name: TagName, role: Role) {
        self.count(&name, role, 1);
        self.stack.push((name, role));
    }

    /// A closing tag closes its element and every element opened inside it and left open,
    /// as a browser does: `<div><blockquote>…</div>` ends the quote with the `<div>`.
    fn close(&mut self, name: &TagName) {
        let searched = self.stack.len().saturating_sub(MAX_CLOSE_SEARCH);
        let Some(at) = self.stack[searched..]
            .iter()
            .rposition(|(open, _)| open == name)
            .map(|at| searched + at)
        else {
            // A closing tag with nothing to close is ignored, as browsers do.
            return;
        };
        for (closed, role) in self.stack.split_off(at) {
            self.count(&closed, role, -1);
        }
    }

    fn count(&mut self, name: &TagName, role: Role, change: isize) {
        if role == Role::Quote {
            self.quotes = self.quotes.saturating_add_signed(change);
        }
        if name.is("pre") {
            self.preformatted = self.preformatted.saturating_add_signed(change);
        }
    }
}

/// What an element does to the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Its content is never shown: `<head>`, `<style>`, `<script>`, `<title>`.
    Hidden,
    /// `<br>`.
    LineBreak,
    /// `<blockquote>`: its lines are quoted.
    Quote,
    /// Its start and end begin a new line.
    Block,
    /// Text flows through it.
    Inline,
}

/// An element's name in lower case; names longer than any block element's are kept short,
/// since only block elements are compared, and a stack copy keeps this free of allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TagName {
    bytes: [u8; 10],
    len: usize,
}

impl TagName {
    fn new(name: &str) -> Option<TagName> {
        if name.len() > 10 {
            return None;
        }
        let mut bytes = [0u8; 10];
        for (lower, byte) in bytes.iter_mut().zip(name.bytes()) {
            *lower = byte.to_ascii_lowercase();
        }
        Some(TagName {
            bytes,
            len: name.len(),
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn is(&self, name: &str) -> bool {
        self.as_bytes() == name.as_bytes()
    }
}

impl Role {
    fn of(name: Option<&TagName>) -> Role {
        let Some(name) = name else {
            return Role::Inline;
        };
        match name.as_bytes() {
            b"head" | b"script" | b"style" | b"title" => Role::Hidden,
            b"br" => Role::LineBreak,
            b"blockquote" => Role::Quote,
            b"address" | b"article" | b"aside" | b"dd" | b"div" | b"dl" | b"dt" | b"footer"
            | b"form" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"header" | b"hr"
            | b"li" | b"ol" | b"p" | b"pre" | b"section" | b"table" | b"tr" | b"ul" => Role::Block,
            _ => Role::Inline,
        }
    }
}

struct Tag {
    name: TagName,
    role: Role,
    closing: bool,
    self_closing: bool,
}

impl Tag {
    fn parse(inside: &str) -> Option<Tag> {
        let closing = inside.starts_with('/');
        let inside = inside.trim_start_matches('/');
        let name_len = inside
            .bytes()
            .position(|byte| !byte.is_ascii_alphanumeric())
            .unwrap_or(inside.len());
        let name = &inside[..name_len];
        if name.is_empty() {
            // `<!DOCTYPE …>`, `<?xml …?>` and stray `<` signs.
            return None;
        }
        let tag_name = TagName::new(name);
        let mut role = Role::of(tag_name.as_ref());
        if role == Role::Quote && !closing && is_indent(&inside[name_len..]) {
            // Gmail's and Apple Mail's "indent" button: a blockquote without the quote's
            // border, around the person's own text.
            role = Role::Block;
        }
        Some(Tag {
            // Inline elements are never compared, so a long name may stand as empty.
            name: tag_name.unwrap_or(TagName {
                bytes: [0; 10],
                len: 0,
            }),
            role,
            closing,
            self_closing: inside.trim_end().ends_with('/'),
        })
    }

    /// Elements that have no content and no closing tag.
    fn is_void(&self) -> bool {
        self.name.is("hr")
    }
}

/// A blockquote's attributes say it indents rather than quotes: its style removes the border
/// every mail program draws beside a quotation.
fn is_indent(attributes: &str) -> bool {
    let lower = attributes.to_ascii_lowercase();
    let Some(style) = lower.find("style") else {
        return false;
    };
    let compact: String = lower[style..]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    compact.contains("border:none")
        || compact.contains("border:0;")
        || compact.contains("border:0\"")
}

/// Collects text, collapsing white space as a browser does and prefixing quoted lines.
#[derive(Default)]
struct TextWriter {
    out: String,
    quote_depth: usize,
    /// Inside `<pre>`: line ends and spaces are the writer's, kept as they are.
    preformatted: bool,
    at_line_start: bool,
    pending_space: bool,
}

impl TextWriter {
    fn text(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        // A non-breaking space is text in HTML but only a space to a reader.
        // U+00A0 ends in the byte A0 (only ever a continuation byte): rarely there at all.
        let has_nbsp = memchr::memchr(0xA0, decoded.as_bytes()).is_some() && decoded.contains(NBSP);
        let decoded = if has_nbsp {
            std::borrow::Cow::Owned(decoded.replace(NBSP, " "))
        } else {
            decoded
        };
        if self.preformatted {
            self.preformatted_text(&decoded);
            return;
        }
        // HTML's white space is ASCII: the words lie between its bytes.
        let mut start = 0;
        for (at, byte) in decoded.bytes().enumerate() {
            if is_html_space(byte) {
                self.word(decoded.get(start..at).unwrap_or_default());
                self.pending_space = true;
                start = at + 1;
            }
        }
        self.word(decoded.get(start..).unwrap_or_default());
    }

    fn word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        if self.at_line_start || self.out.is_empty() {
            self.begin_line();
            if self.quote_depth == 0 && word.starts_with('>') {
                // The person's own "> …" is text, not a quote: space-stuffed as a
                // `format=flowed` client would, which the reply extractor reads so.
                self.out.push(' ');
            }
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push_str(word);
    }

    /// The text of a `<pre>`: its lines as written, a `>` at their start a quote as in plain
    /// text (Thunderbird quotes a plain-text message so).
    fn preformatted_text(&mut self, text: &str) {
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                self.line_break();
            }
            let line = line.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            if self.at_line_start || self.out.is_empty() {
                self.begin_line();
            } else if self.pending_space {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push_str(line);
        }
    }

    fn begin_line(&mut self) {
        for _ in 0..self.quote_depth {
            self.out.push_str("> ");
        }
        self.at_line_start = false;
    }

    /// The edge of a block: a new line unless one has just begun.
    fn block_break(&mut self) {
        if !self.at_line_start {
            self.line_break();
        }
    }

    /// `<br>`: always a new line, so `<br><br>` leaves a blank one.
    fn line_break(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.at_line_start = true;
        self.pending_space = false;
    }

    fn finish(self) -> String {
        let mut text = String::with_capacity(self.out.len());
        let mut blank_run = 0;
        // Lines found with memchr; a `\r` the text kept is trimmed with the other white space.
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', self.out.as_bytes()).chain([self.out.len()]);
        for end in ends {
            let line = self.out.get(start..end).unwrap_or_default().trim_end();
            start = end + 1;
            if line.trim_start_matches(['>', ' ']).is_empty() {
                blank_run += 1;
                if blank_run > 1 {
                    continue;
                }
            } else {
                blank_run = 0;
            }
            text.push_str(line);
            text.push('\n');
        }
        // Blank lines at either end dropped, in place.
        text.truncate(text.trim_end_matches('\n').len());
        let leading = text.len() - text.trim_start_matches('\n').len();
        text.drain(..leading);
        text
    }
}

const NBSP: &str = "\u{a0}";

fn is_html_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b'&', text.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity_end = rest
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        match entity_end.and_then(|end| decode_entity(&rest[1..end]).map(|c| (c, end))) {
            Some((decoded, end)) => {
                out.push(decoded);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn decode_entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "pound" => '£',
        "euro" => '€',
        "copy" => '©',
        "reg" => '®',
        "hellip" => '…',
        "ndash" => '–',
        "mdash" => '—',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn blockquotes_become_quote_markers_and_nest() {
        let html = "<div>Answer</div><blockquote>Question<blockquote>Older</blockquote></blockquote><p>After</p>";
        assert_eq!(html_to_text(html), "Answer\n> Question\n> > Older\nAfter");
    }

    #[test]
    fn hidden_elements_comments_and_entities() {
        let html = "<html><head><style>p{color:red}</style><title>T</title></head><body><!-- x -->\
                    <p>Fish &amp; chips &pound;5&nbsp;each &#8217;ok&#x2019; &bogus; a&b</p></body></html>";
        assert_eq!(html_to_text(html), "Fish & chips £5 each ’ok’ &bogus; a&b");
    }

    #[test]
    fn whitespace_collapses_like_a_browser() {
        assert_eq!(
            html_to_text("a\n   b<br>  c <br/><br/><br/>d"),
            "a b\nc\n\nd"
        );
    }

    #[test]
    fn broken_markup_does_not_lose_text_or_panic() {
        assert_eq!(html_to_text("text < 5 and <b>bold"), "text < 5 and bold");
        assert_eq!(html_to_text("<p>ok</p><b"), "ok");
        assert_eq!(html_to_text("<p>ok</p><"), "ok\n<");
        assert_eq!(html_to_text("é<!-- unterminated"), "é");
    }

    #[test]
    fn a_parent_end_tag_closes_a_quote_left_open_inside_it() {
        let html = "<div>On Thu, PAT wrote:<blockquote>Question<br></div><div>Answer</div>";
        assert_eq!(html_to_text(html), "On Thu, PAT wrote:\n> Question\nAnswer");
        // An end tag with nothing open to close changes nothing.
        assert_eq!(html_to_text("<blockquote>Q</p></blockquote>A"), "> Q\nA");
    }

    #[test]
    fn preformatted_text_keeps_its_lines() {
        let html = "<pre>one\n  two\n&gt; quoted</pre><blockquote><pre>a\nb</pre></blockquote>";
        assert_eq!(html_to_text(html), "one\n  two\n> quoted\n> a\n> b");
        // Blank lines at either end are dropped.
        assert_eq!(html_to_text("<pre>  \n\nHi\n \n</pre>"), "Hi");
    }

    #[test]
    fn a_greater_than_sign_inside_an_attribute_does_not_end_the_tag() {
        assert_eq!(
            html_to_text("<a title=\"a > b\" href='x>y'>link</a> text"),
            "link text"
        );
        // An unterminated quote falls back to the first `>`.
        assert_eq!(html_to_text("<b title=\"a>text"), "text");
    }

    #[test]
    fn an_indenting_blockquote_is_not_a_quote() {
        let html = "<blockquote style=\"margin: 0 0 0 40px; border: none; padding: 0px;\">\
                    Mine</blockquote><blockquote type=\"cite\">Theirs</blockquote>";
        assert_eq!(html_to_text(html), "Mine\n> Theirs");
    }

    #[test]
    fn the_persons_own_greater_than_sign_is_space_stuffed() {
        assert_eq!(
            html_to_text("<div>&gt; 30 days</div><blockquote>&gt; older</blockquote>"),
            " > 30 days\n> > older"
        );
    }

    #[test]
    fn deep_unclosed_nesting_is_read_whole() {
        let mut html = "<div>".repeat(20_000);
        html.push_str("<blockquote>Q");
        html.push_str(&"</p>".repeat(20_000));
        html.push_str("</blockquote>A");
        assert_eq!(html_to_text(&html), "> Q\nA");
    }
}
