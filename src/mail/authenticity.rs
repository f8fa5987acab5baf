//! Whether the From domain can be believed, from `Authentication-Results` (RFC 8601) headers
//! added by the team's own receiving servers.
//!
//! Anyone can write `From: noreply@github.com`, and anyone can write an
//! `Authentication-Results` header too: only headers whose authserv-id is configured as trusted
//! count, and the receiving server is expected to strip look-alikes arriving from outside. One
//! that does not leaves two headers in its name; then neither counts.

use mail_parser::{HeaderName, Message};
use serde::Serialize;

use super::envelope::{Headers, raw_headers, split_address};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Authenticity {
    /// A trusted server saw DMARC or an aligned DKIM signature pass for the From domain.
    Verified,
    /// A trusted server saw DMARC or DKIM fail for the From domain, and nothing pass.
    Failed,
    /// No trusted verdict either way.
    Unverified,
    /// More than one From header, or more than one address in it: nobody can say which one
    /// sent the mail (clients show one, a verdict may be about another), so it vouches for none.
    Ambiguous,
}

impl Authenticity {
    pub fn as_str(self) -> &'static str {
        match self {
            Authenticity::Verified => "verified",
            Authenticity::Failed => "failed",
            Authenticity::Unverified => "unverified",
            Authenticity::Ambiguous => "ambiguous",
        }
    }
}

/// `from` is the From address, already lower-cased.
pub fn verdict(
    message: &Message<'_>,
    headers: &Headers<'_>,
    from: Option<&str>,
    trusted: &[String],
) -> Authenticity {
    if more_than_one_sender(headers) {
        return Authenticity::Ambiguous;
    }
    let Some((_, from_domain)) = from.and_then(split_address) else {
        return Authenticity::Unverified;
    };
    let from_trusted: Vec<AuthResults> = raw_headers(message, HeaderName::AuthenticationResults)
        .filter_map(AuthResults::parse)
        .filter(|results| {
            trusted
                .iter()
                .any(|id| id.eq_ignore_ascii_case(&results.authserv_id))
        })
        .collect();
    // A trusted server adds one header, on top. A second with its id came from elsewhere (the
    // sender, below the server's own): which one is the server's cannot be told from the
    // mail, so neither is believed.
    let mut ids: Vec<String> = from_trusted
        .iter()
        .map(|results| results.authserv_id.to_ascii_lowercase())
        .collect();
    ids.sort();
    if ids.windows(2).any(|pair| pair[0] == pair[1]) {
        return Authenticity::Unverified;
    }
    let mut failed = false;
    for results in &from_trusted {
        for result in &results.methods {
            match result.about(from_domain) {
                Some(Said::Pass) => return Authenticity::Verified,
                Some(Said::Fail) => failed = true,
                None => {}
            }
        }
    }
    if failed {
        Authenticity::Failed
    } else {
        Authenticity::Unverified
    }
}

/// Two From headers (RFC 5322 allows one), or one naming several mailboxes.
fn more_than_one_sender(headers: &Headers<'_>) -> bool {
    headers.from_headers > 1
        || headers
            .from()
            .is_some_and(|from| from.iter().nth(1).is_some())
}

/// What one method (dkim, dmarc) said of the From domain.
enum Said {
    Pass,
    Fail,
}

struct AuthResults {
    authserv_id: String,
    methods: Vec<MethodResult>,
}

struct MethodResult {
    method: String,
    result: String,
    /// `header.d` for DKIM, `header.from` for DMARC, lower-cased.
    domain: Option<String>,
}

impl MethodResult {
    /// What this result says about mail claiming to come from `from_domain`, if anything.
    fn about(&self, from_domain: &str) -> Option<Said> {
        let applies = match self.method.as_str() {
            // DMARC is evaluated for the From domain itself; the property only confirms it.
            "dmarc" => self
                .domain
                .as_deref()
                .is_none_or(|domain| domain == from_domain),
            // A DKIM signature vouches for the From domain when aligned: the same domain or
            // one of its parents (relaxed alignment). A signature without a domain says nothing.
            "dkim" => self
                .domain
                .as_deref()
                .is_some_and(|domain| aligned(from_domain, domain)),
            _ => false,
        };
        if !applies {
            return None;
        }
        match self.result.as_str() {
            "pass" => Some(Said::Pass),
            "fail" => Some(Said::Fail),
            _ => None,
        }
    }
}

fn aligned(from_domain: &str, signing_domain: &str) -> bool {
    from_domain == signing_domain
        || from_domain
            .strip_suffix(signing_domain)
            .is_some_and(|prefix| prefix.ends_with('.'))
}

impl AuthResults {
    /// `authserv-id [version] ; method=result [reason] [ptype.prop=value ...] ; ...`
    fn parse(header: &str) -> Option<Self> {
        let header = strip_comments(header);
        let mut sections = header.split(';');
        let authserv_id = sections.next()?.split_whitespace().next()?.to_string();
        let methods = sections.filter_map(MethodResult::parse).collect();
        Some(AuthResults {
            authserv_id,
            methods,
        })
    }
}

impl MethodResult {
    fn parse(section: &str) -> Option<Self> {
        let mut words = section.split_whitespace();
        let (method, result) = words.next()?.split_once('=')?;
        let method = method
            .split('/')
            .next()
            .unwrap_or(method)
            .to_ascii_lowercase();
        let property = match method.as_str() {
            "dkim" => "header.d",
            "dmarc" => "header.from",
            _ => "",
        };
        let domain = words
            .filter_map(|word| word.split_once('='))
            .find(|(key, _)| !property.is_empty() && key.eq_ignore_ascii_case(property))
            .map(|(_, value)| value.trim_matches('"').to_ascii_lowercase());
        Some(MethodResult {
            method,
            result: result.to_ascii_lowercase(),
            domain,
        })
    }
}

/// Removes RFC 5322 comments (nested parentheses), which may hold anything.
fn strip_comments(text: &str) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mail_parser::MessageParser;

    fn check(headers: &str, trusted: &[&str]) -> Authenticity {
        let raw =
            format!("{headers}From: GitHub <noreply@github.com>\r\nSubject: x\r\n\r\nbody\r\n");
        let message = MessageParser::new().parse(raw.as_bytes()).expect("parses");
        let trusted: Vec<String> = trusted.iter().map(|s| s.to_string()).collect();
        let headers = Headers::of(&message);
        verdict(&message, &headers, Some("noreply@github.com"), &trusted)
    }

    #[test]
    fn dmarc_pass_from_a_trusted_server_verifies() {
        let header = "Authentication-Results: mx.example.org;\r\n dkim=none;\r\n dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=github.com\r\n";
        assert_eq!(check(header, &["mx.example.org"]), Authenticity::Verified);
    }

    #[test]
    fn aligned_dkim_pass_verifies_and_a_parent_domain_aligns() {
        let header = "Authentication-Results: MX.Example.org 1; dkim=pass header.d=github.com header.s=pf2023\r\n";
        assert_eq!(check(header, &["mx.example.org"]), Authenticity::Verified);
        assert!(aligned("mail.github.com", "github.com"));
        assert!(!aligned("evilgithub.com", "github.com"));
    }

    #[test]
    fn an_untrusted_server_is_ignored() {
        let header =
            "Authentication-Results: attacker.example; dmarc=pass header.from=github.com\r\n";
        assert_eq!(check(header, &["mx.example.org"]), Authenticity::Unverified);
    }

    #[test]
    fn fail_without_pass_is_failed_but_pass_wins() {
        let fail = "Authentication-Results: mx.example.org; dkim=fail header.d=github.com; dmarc=fail header.from=github.com\r\n";
        assert_eq!(check(fail, &["mx.example.org"]), Authenticity::Failed);
        let mixed = "Authentication-Results: mx.example.org; dkim=fail header.d=github.com; dkim=pass header.d=github.com\r\n";
        assert_eq!(check(mixed, &["mx.example.org"]), Authenticity::Verified);
    }

    #[test]
    fn a_signature_for_another_domain_says_nothing() {
        let header = "Authentication-Results: mx.example.org; dkim=pass header.d=googlegroups.com; dkim=fail header.d=lists.example\r\n";
        assert_eq!(check(header, &["mx.example.org"]), Authenticity::Unverified);
    }

    #[test]
    fn two_from_headers_or_two_senders_vouch_for_nobody() {
        let pass = "Authentication-Results: mx.example.org; dmarc=pass header.from=github.com\r\n";
        let two = format!("{pass}From: Carol <carol@example.org>\r\n");
        assert_eq!(check(&two, &["mx.example.org"]), Authenticity::Ambiguous);
        let raw = format!(
            "{pass}From: GitHub <noreply@github.com>, Carol <carol@example.org>\r\nSubject: x\r\n\r\nbody\r\n"
        );
        let message = MessageParser::new().parse(raw.as_bytes()).expect("parses");
        let trusted = vec!["mx.example.org".to_string()];
        let headers = Headers::of(&message);
        assert_eq!(
            verdict(&message, &headers, Some("noreply@github.com"), &trusted),
            Authenticity::Ambiguous
        );
    }

    #[test]
    fn a_second_header_in_a_trusted_servers_name_makes_it_unverified() {
        // The server's own verdict on top, the sender's copy below it.
        let forged = "Authentication-Results: mx.example.org; dmarc=fail header.from=github.com\r\n\
             Authentication-Results: mx.example.org; dmarc=pass header.from=github.com\r\n";
        assert_eq!(check(forged, &["mx.example.org"]), Authenticity::Unverified);
        let case = "Authentication-Results: mx.example.org; dmarc=pass header.from=github.com\r\n\
             Authentication-Results: MX.example.org; dmarc=pass header.from=github.com\r\n";
        assert_eq!(check(case, &["mx.example.org"]), Authenticity::Unverified);
        // Two trusted servers, one header each: both count.
        let two = "Authentication-Results: mx1.example.org; dmarc=pass header.from=github.com\r\n\
             Authentication-Results: mx2.example.org; dkim=none\r\n";
        assert_eq!(
            check(two, &["mx1.example.org", "mx2.example.org"]),
            Authenticity::Verified
        );
    }

    #[test]
    fn comments_cannot_smuggle_a_verdict() {
        let header = "Authentication-Results: mx.example.org; spf=pass (dmarc=pass header.from=github.com) smtp.mailfrom=x.example\r\n";
        assert_eq!(check(header, &["mx.example.org"]), Authenticity::Unverified);
    }
}
