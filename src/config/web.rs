//! Where patdesk may speak HTTP: the GitHub API, an OAuth 2 token endpoint, the Slack webhook.
//! Each carries a secret (a bearer token, a client secret, the webhook URL itself), so each is
//! HTTPS; plain HTTP only to this machine (a test's stand-in, a local proxy), as for IMAP and
//! SMTP.

use std::net::IpAddr;

/// A loopback host: `localhost`, `127.0.0.0/8`, `::1` (bracketed or not).
pub(super) fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What is wrong with `url` as an HTTP endpoint, if anything (for "is …: <problem>").
/// The URL itself is left out: for the webhook it is the secret.
pub(super) fn url_problem(url: &str) -> Option<&'static str> {
    if let Some(rest) = url.strip_prefix("http://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
            _ => authority,
        };
        return (!is_loopback(host)).then_some(
            "plain http is only allowed to this machine (127.0.0.1, ::1, localhost); use https",
        );
    }
    match url.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() => None,
        _ => Some("expected an https URL"),
    }
}

#[cfg(test)]
mod tests {
    use super::url_problem;

    #[test]
    fn https_anywhere_and_http_only_here() {
        for good in [
            "https://api.github.com",
            "https://hooks.slack.com/services/T/B/x",
            "http://127.0.0.1:8080/api",
            "http://localhost/",
            "http://[::1]:9000",
        ] {
            assert_eq!(url_problem(good), None, "{good}");
        }
        for bad in [
            "http://evil.example/",
            "http://127.0.0.1.evil.example/",
            "http://hooks.slack.com/services/x",
            "ftp://x",
            "https://",
            "api.github.com",
        ] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }
}
