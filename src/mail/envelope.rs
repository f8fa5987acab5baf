//! Small readers over a parsed message: addresses, Message-IDs, header text and body texts.

use std::borrow::Cow;

use mail_parser::{Address, HeaderName, HeaderValue, Message, PartType};

use super::html::html_to_text;

/// Message-IDs without angle brackets or surrounding white space.
pub fn bare_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// Every Message-ID in an `In-Reply-To` or `References` header, in order.
pub fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    let ids: Vec<&str> = match value {
        HeaderValue::Text(id) => vec![id.as_ref()],
        HeaderValue::TextList(ids) => ids.iter().map(|id| id.as_ref()).collect(),
        _ => Vec::new(),
    };
    ids.into_iter()
        .map(bare_message_id)
        .filter(|id| !id.is_empty())
        .collect()
}

/// The root headers the analysis reads, gathered in one pass. The parser's own accessors
/// (`from()`, `subject()`, …) each scan every header, and a mail is asked a dozen of them;
/// these mean what those do: the last header of a name counts.
pub struct Headers<'m> {
    from: Option<&'m HeaderValue<'m>>,
    /// How many From headers there are: RFC 5322 allows one.
    pub from_headers: usize,
    to: Option<&'m HeaderValue<'m>>,
    cc: Option<&'m HeaderValue<'m>>,
    subject: Option<&'m HeaderValue<'m>>,
    message_id: Option<&'m HeaderValue<'m>>,
    in_reply_to: Option<&'m HeaderValue<'m>>,
    references: Option<&'m HeaderValue<'m>>,
}

impl<'m> Headers<'m> {
    pub fn of(message: &'m Message<'m>) -> Self {
        let mut found = Headers {
            from: None,
            from_headers: 0,
            to: None,
            cc: None,
            subject: None,
            message_id: None,
            in_reply_to: None,
            references: None,
        };
        // The parser names the standard headers by variant, whatever their case.
        for header in &message.root_part().headers {
            let slot = match header.name {
                HeaderName::From => {
                    found.from_headers += 1;
                    &mut found.from
                }
                HeaderName::To => &mut found.to,
                HeaderName::Cc => &mut found.cc,
                HeaderName::Subject => &mut found.subject,
                HeaderName::MessageId => &mut found.message_id,
                HeaderName::InReplyTo => &mut found.in_reply_to,
                HeaderName::References => &mut found.references,
                _ => continue,
            };
            *slot = Some(&header.value);
        }
        found
    }

    pub fn from(&self) -> Option<&'m Address<'m>> {
        self.from.and_then(HeaderValue::as_address)
    }

    pub fn to(&self) -> Option<&'m Address<'m>> {
        self.to.and_then(HeaderValue::as_address)
    }

    pub fn cc(&self) -> Option<&'m Address<'m>> {
        self.cc.and_then(HeaderValue::as_address)
    }

    pub fn subject(&self) -> Option<&'m str> {
        self.subject.and_then(HeaderValue::as_text)
    }

    pub fn message_id(&self) -> Option<&'m str> {
        self.message_id.and_then(HeaderValue::as_text)
    }

    pub fn in_reply_to(&self) -> &'m HeaderValue<'m> {
        self.in_reply_to.unwrap_or(&HeaderValue::Empty)
    }

    pub fn references(&self) -> &'m HeaderValue<'m> {
        self.references.unwrap_or(&HeaderValue::Empty)
    }
}

/// The first From address, lower-cased.
pub fn from_address(headers: &Headers<'_>) -> Option<String> {
    headers
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.address())
        .map(|address| address.trim().to_lowercase())
        .filter(|address| !address.is_empty())
}

/// Every address in To and Cc, lower-cased, each once, in that order. (Delivered-To would
/// cost a scan of every header of every mail, for a Bcc'd reply that hardly ever comes.)
pub fn recipient_addresses(headers: &Headers<'_>) -> Vec<String> {
    let mut recipients: Vec<String> = Vec::new();
    for address in [headers.to(), headers.cc()]
        .into_iter()
        .flatten()
        .flat_map(|addresses| addresses.iter())
        .filter_map(|addr| addr.address())
    {
        let address = address.trim().to_lowercase();
        if address.contains('@') && !recipients.contains(&address) {
            recipients.push(address);
        }
    }
    recipients
}

/// The display name of the first From address.
pub fn from_name<'m>(headers: &Headers<'m>) -> Option<&'m str> {
    headers
        .from()
        .and_then(|from| from.first())
        .and_then(|addr| addr.name())
        .map(str::trim)
        .filter(|name| !name.is_empty())
}

/// Header text with folding and runs of white space collapsed to single spaces.
pub fn tidy_header_text(text: &str) -> String {
    let tidy = if text.is_ascii() {
        // Bytes, for the usual subject: no white space but single spaces between words. (The
        // vertical tab is white space to `str::split_whitespace`, not to `is_ascii_whitespace`.)
        let bytes = text.as_bytes();
        let space = |byte: u8| byte.is_ascii_whitespace() || byte == 0x0b;
        !bytes.iter().enumerate().any(|(at, &byte)| {
            space(byte)
                && (byte != b' '
                    || at == 0
                    || at + 1 == bytes.len()
                    || bytes.get(at + 1) == Some(&b' '))
        })
    } else {
        text.trim().len() == text.len()
            && !text.contains("  ")
            && !text.contains(|c: char| c.is_whitespace() && c != ' ')
    };
    if tidy {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A raw header's value, unfolded and trimmed: see [`raw_headers`].
pub fn raw_header<'m>(message: &'m Message<'_>, name: HeaderName<'static>) -> Option<&'m str> {
    raw_headers(message, name).next()
}

/// All raw values of a header. The parser gives each standard header its own variant,
/// whatever case the mail wrote its name in: such a header is named here by that variant
/// (`HeaderName::ReturnPath`), found by one comparison per header, and only the rest by
/// their text (`HeaderName::Other("X-Failed-Recipients")`), case-insensitively. This runs
/// over every header of every mail, several times.
pub fn raw_headers<'m>(
    message: &'m Message<'_>,
    name: HeaderName<'static>,
) -> impl Iterator<Item = &'m str> {
    debug_assert!(
        match &name {
            HeaderName::Other(text) =>
                matches!(HeaderName::parse(text.as_ref()), Some(HeaderName::Other(_))),
            _ => true,
        },
        "{name:?} is a standard header: name it by its variant"
    );
    let raw = message.raw_message();
    message
        .root_part()
        .headers
        .iter()
        .filter(move |header| is_named(&header.name, &name))
        .filter_map(move |header| {
            let bytes = raw.get(header.offset_start as usize..header.offset_end as usize)?;
            std::str::from_utf8(bytes).ok().map(str::trim)
        })
}

/// Whether a parsed header name is `name`.
fn is_named(header: &HeaderName<'_>, name: &HeaderName<'_>) -> bool {
    match (header, name) {
        (HeaderName::Other(header), HeaderName::Other(name)) => header.eq_ignore_ascii_case(name),
        // Every variant but `Other` is a unit: the same variant is the same header.
        _ => std::mem::discriminant(header) == std::mem::discriminant(name),
    }
}

/// The local part and domain of an address, as written.
pub fn split_address(address: &str) -> Option<(&str, &str)> {
    address.rsplit_once('@')
}

/// Whether `text` starts with `lower_prefix`, ignoring case. No allocation: it runs on every
/// mail's subject against a list of openings.
pub fn starts_with_caseless(text: &str, lower_prefix: &str) -> bool {
    // Where the text begins in ASCII (most subjects), its bytes are compared as they stand:
    // lower-casing an ASCII character gives one, and it cannot equal one of a prefix beyond
    // ASCII. Otherwise ("K" the Kelvin sign lower-cases to "k"), character by character.
    if let Some(head) = text.as_bytes().get(..lower_prefix.len())
        && head.is_ascii()
    {
        return head.eq_ignore_ascii_case(lower_prefix.as_bytes());
    }
    let mut lowered = text.chars().flat_map(char::to_lowercase);
    lower_prefix
        .chars()
        .all(|expected| lowered.next() == Some(expected))
}

/// The decoded text of a message's bodies, gathered once and shared by the recognisers.
pub struct BodyTexts<'m> {
    /// The body a reader sees: text/plain where there is one, else HTML.
    primary: Option<&'m PartType<'m>>,
    /// Every text and HTML part, nested messages included, for recognisers that search.
    all: Vec<&'m str>,
}

impl<'m> BodyTexts<'m> {
    pub fn of(message: &'m Message<'m>) -> Self {
        let primary = message
            .text_body
            .first()
            .or_else(|| message.html_body.first())
            .and_then(|&id| message.parts.get(id as usize))
            .map(|part| &part.body);
        let mut all = Vec::new();
        collect_texts(message, &mut all);
        BodyTexts { primary, all }
    }

    /// Every text and HTML part (HTML as its source, so links in `href`s are found too).
    pub fn all(&self) -> &[&'m str] {
        &self.all
    }

    /// The body a person wrote, as plain text: HTML-only mail is converted, keeping quoted
    /// blocks marked with `>` so the reply extractor can tell them apart.
    pub fn reply_source(&self) -> Option<Cow<'m, str>> {
        match self.primary? {
            PartType::Text(text) => Some(Cow::Borrowed(text.as_ref())),
            PartType::Html(html) => Some(Cow::Owned(html_to_text(html))),
            _ => None,
        }
    }
}

fn collect_texts<'m>(message: &'m Message<'m>, out: &mut Vec<&'m str>) {
    for part in &message.parts {
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => out.push(text.as_ref()),
            // mail-parser itself bounds how deeply messages nest.
            PartType::Message(nested) => collect_texts(nested, out),
            _ => {}
        }
    }
}

/// The header section of a raw mail, up to and including the blank line that ends it; the
/// whole mail when it has no body.
pub fn header_section(raw: &[u8]) -> &[u8] {
    let crlf = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    let end = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).unwrap_or(raw.len()),
    };
    &raw[..end]
}

#[cfg(test)]
mod tests {
    use super::header_section;

    /// The one pass finds what the parser's accessors find, header by header: every fixture,
    /// and mails with a header twice, none, or written in another case.
    #[test]
    fn gathered_headers_are_the_ones_the_parsers_accessors_return() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut mails: Vec<Vec<u8>> = Vec::new();
        for kind in std::fs::read_dir(&root).expect("fixtures") {
            for file in std::fs::read_dir(kind.expect("entry").path()).expect("a kind's folder") {
                let path = file.expect("entry").path();
                if path.extension().is_some_and(|ext| ext == "eml") {
                    mails.push(std::fs::read(&path).expect("readable"));
                }
            }
        }
        assert!(mails.len() > 80, "the fixtures are there");
        for crafted in [
            "From: a@example.org\r\nFROM: b@example.org\r\nsubject: one\r\nSubject: two\r\n\r\nx",
            "To: t@example.org\r\nCC: c@example.org, d@example.org\r\nmessage-id: <m@x>\r\n\r\nx",
            "In-Reply-To: <a@x>\r\nReferences: <a@x> <b@x>\r\nReferences: <c@x>\r\n\r\nx",
            "From:\r\nSubject:\r\nTo: undisclosed-recipients:;\r\n\r\nx",
            "X-Other: 1\r\n\r\nno standard header",
        ] {
            mails.push(crafted.as_bytes().to_vec());
        }
        for raw in &mails {
            let message = mail_parser::MessageParser::new()
                .parse(raw.as_slice())
                .expect("parses");
            let headers = super::Headers::of(&message);
            let context = String::from_utf8_lossy(raw.get(..200).unwrap_or(raw));
            assert_eq!(headers.from(), message.from(), "{context}");
            assert_eq!(headers.to(), message.to(), "{context}");
            assert_eq!(headers.cc(), message.cc(), "{context}");
            assert_eq!(headers.subject(), message.subject(), "{context}");
            assert_eq!(headers.message_id(), message.message_id(), "{context}");
            assert_eq!(headers.in_reply_to(), message.in_reply_to(), "{context}");
            assert_eq!(headers.references(), message.references(), "{context}");
            let from_headers = message
                .root_part()
                .headers
                .iter()
                .filter(|header| header.name.as_str().eq_ignore_ascii_case("from"))
                .count();
            assert_eq!(headers.from_headers, from_headers, "{context}");
        }
    }

    #[test]
    fn header_text_keeps_single_spaces_between_words_only() {
        for text in [
            "Re: [PAT-47] fine",
            " lead",
            "trail ",
            "double  space",
            "tab\there",
            "vertical\u{b}tab",
            "folded\r\n continued",
            "",
            " ",
            "non\u{a0}breaking ümlaut",
            "ünïcode  twice",
        ] {
            let expected = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(super::tidy_header_text(text), expected, "{text:?}");
        }
    }

    #[test]
    fn raw_headers_are_found_whatever_the_case_of_their_name() {
        use mail_parser::HeaderName;
        let raw = "RETURN-PATH: <>\r\nx-failed-recipients: a@example.org\r\n\
                   X-Failed-Recipients: b@example.org\r\nSubject: hi\r\n\
                   Resent-To: c@example.org\r\n\r\nbody\r\n";
        let message = mail_parser::MessageParser::new()
            .parse(raw.as_bytes())
            .expect("parses");
        assert_eq!(
            super::raw_header(&message, HeaderName::ReturnPath),
            Some("<>")
        );
        let failed = HeaderName::Other("X-FAILED-RECIPIENTS".into());
        assert_eq!(
            super::raw_headers(&message, failed).collect::<Vec<_>>(),
            ["a@example.org", "b@example.org"]
        );
        assert_eq!(super::raw_header(&message, HeaderName::Subject), Some("hi"));
        // A neighbouring variant is another header.
        assert_eq!(super::raw_header(&message, HeaderName::ResentCc), None);
        assert_eq!(
            super::raw_header(&message, HeaderName::ResentTo),
            Some("c@example.org")
        );
        let absent = HeaderName::Other("X-Not-There".into());
        assert_eq!(super::raw_header(&message, absent), None);
    }

    #[test]
    #[should_panic(expected = "name it by its variant")]
    #[cfg(debug_assertions)]
    fn a_standard_header_named_by_its_text_is_a_bug() {
        let message = mail_parser::MessageParser::new()
            .parse(b"Return-Path: <>\r\n\r\nbody\r\n".as_slice())
            .expect("parses");
        super::raw_header(
            &message,
            mail_parser::HeaderName::Other("return-path".into()),
        );
    }

    #[test]
    fn caseless_openings_match_as_lower_casing_would() {
        use super::starts_with_caseless;
        assert!(starts_with_caseless(
            "Out of Office: back Monday",
            "out of office"
        ));
        assert!(starts_with_caseless(
            "RÉPONSE AUTOMATIQUE",
            "réponse automatique"
        ));
        assert!(!starts_with_caseless("Out of", "out of office"));
        assert!(!starts_with_caseless("Re: out of office", "out of office"));
        // The Kelvin sign lower-cases to an ASCII "k".
        assert!(starts_with_caseless("\u{212a}eep", "keep"));
    }

    #[test]
    fn the_header_section_ends_at_the_first_blank_line() {
        assert_eq!(
            header_section(b"Subject: a\r\nFrom: b\r\n\r\nbody\r\n\r\nmore"),
            b"Subject: a\r\nFrom: b\r\n\r\n"
        );
        assert_eq!(header_section(b"Subject: a\n\nbody"), b"Subject: a\n\n");
        assert_eq!(header_section(b"Subject: a\r\n"), b"Subject: a\r\n");
    }
}
