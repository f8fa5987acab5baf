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

/// The team's plus-address for request `request` (`team+pat-12@example.org`), where replies
/// to mail about it are asked for; `None` when `team` has no `@`.
pub fn plus_address(team: &str, request: i64) -> Option<String> {
    let (local, domain) = team.rsplit_once('@')?;
    Some(format!("{local}+pat-{request}@{domain}"))
}

/// The request a plus-address names: `12` from `team+pat-12@example.org`.
pub fn plus_tag(address: &str) -> Option<i64> {
    let (local, _domain) = address.rsplit_once('@')?;
    let (_mailbox, detail) = local.split_once('+')?;
    detail.strip_prefix("pat-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{bare_address, is_address, plus_address, plus_tag};

    #[test]
    fn a_plus_address_names_its_request_only_in_the_detail() {
        assert_eq!(
            plus_address("team@example.org", 12).as_deref(),
            Some("team+pat-12@example.org")
        );
        assert_eq!(plus_tag("team+pat-12@example.org"), Some(12));
        assert_eq!(plus_tag("team@example.org"), None);
        assert_eq!(plus_tag("pat-12@example.org"), None);
        assert_eq!(plus_tag("team+other@example.org"), None);
        assert_eq!(plus_tag("team+pat-x@example.org"), None);
    }

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
