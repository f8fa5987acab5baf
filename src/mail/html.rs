//! HTML mail as plain text, with `<blockquote>` rendered as `> ` lines.
//!
//! Keeping quotes marked is the point: the reply extractor then treats an HTML reply exactly
//! like a plain-text one, inline answers between quoted blocks included. HTML-only mail would
//! otherwise turn into one undifferentiated run of text, or nothing at all.

pub fn html_to_text(html: &str) -> String {
    let mut out = TextWriter::default();
    let mut hidden_depth = 0usize;
    let mut rest = html;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if hidden_depth == 0 {
                out.text(rest);
            }
            break;
        };
        if hidden_depth == 0 {
            out.text(&rest[..open]);
        }
        rest = &rest[open..];
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
        let Some(close) = rest.find('>') else {
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
            Role::Quote => {
                out.block_break();
                if tag.closing {
                    out.quote_depth = out.quote_depth.saturating_sub(1);
                } else {
                    out.quote_depth += 1;
                }
            }
            Role::Block => out.block_break(),
            Role::Hidden | Role::Inline => {}
        }
    }
    out.finish()
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

impl Role {
    fn of(name: &str) -> Role {
        // Element names longer than any listed here are inline; a stack copy keeps this free
        // of allocation, since it runs for every tag.
        let mut buffer = [0u8; 10];
        let Some(lower) = buffer.get_mut(..name.len()) else {
            return Role::Inline;
        };
        lower.copy_from_slice(name.as_bytes());
        lower.make_ascii_lowercase();
        match &*lower {
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
    role: Role,
    closing: bool,
    self_closing: bool,
}

impl Tag {
    fn parse(inside: &str) -> Option<Tag> {
        let closing = inside.starts_with('/');
        let inside = inside.trim_start_matches('/');
        let name_len = inside
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(inside.len());
        let name = &inside[..name_len];
        if name.is_empty() {
            // `<!DOCTYPE …>`, `<?xml …?>` and stray `<` signs.
            return None;
        }
        Some(Tag {
            role: Role::of(name),
            closing,
            self_closing: inside.trim_end().ends_with('/'),
        })
    }
}

/// Collects text, collapsing white space as a browser does and prefixing quoted lines.
#[derive(Default)]
struct TextWriter {
    out: String,
    quote_depth: usize,
    at_line_start: bool,
    pending_space: bool,
}

impl TextWriter {
    fn text(&mut self, raw: &str) {
        let decoded = decode_entities(raw);
        // A non-breaking space is text in HTML but only a space to a reader.
        let decoded = if decoded.contains('\u{a0}') {
            std::borrow::Cow::Owned(decoded.replace('\u{a0}', " "))
        } else {
            decoded
        };
        for (i, word) in decoded.split(is_html_space).enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.at_line_start || self.out.is_empty() {
                for _ in 0..self.quote_depth {
                    self.out.push_str("> ");
                }
                self.at_line_start = false;
            } else if self.pending_space {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push_str(word);
        }
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
        for line in self.out.lines() {
            let line = line.trim_end();
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
        text.trim_matches('\n').to_string()
    }
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

fn decode_entities(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('&') {
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
}
