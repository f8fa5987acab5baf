//! What counts as an email address, wherever one comes in: the config, GitHub, a directory,
//! an engineer's `contact`.

/// The address of `Name <address>`, or the text itself.
pub fn bare_address(text: &str) -> &str {
    text.rsplit_once('<')
        .map_or(text, |(_, rest)| rest.trim_end_matches('>'))
        .trim()
}

/// A plain `local@domain.tld`: something before the `@`, a dot after it, and nothing that
/// would let it carry a second address or a header (whitespace, controls, `,`, `<`, `>`).
pub fn is_address(text: &str) -> bool {
    matches!(text.split_once('@'), Some((local, domain))
        if !local.is_empty()
            && domain.contains('.')
            && !text.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '>')))
}

#[cfg(test)]
mod tests {
    use super::{bare_address, is_address};

    #[test]
    fn an_address_is_one_plain_address() {
        assert!(is_address("carol@example.org"));
        for bad in [
            "carol",
            "@example.org",
            "carol@localhost",
            "a b@example.org",
            "a@b.org, c@d.org",
            "a@b.org\r\nBcc: x@y.org",
        ] {
            assert!(!is_address(bad), "{bad:?}");
        }
        assert_eq!(
            bare_address("Platform team <team@example.org>"),
            "team@example.org"
        );
        assert_eq!(bare_address(" team@example.org "), "team@example.org");
    }
}
