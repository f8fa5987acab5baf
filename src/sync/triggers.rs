//! Which syncs a mail asks for. A mail never asserts a fact by itself — anyone can write
//! `From: noreply@github.com` — it only makes patdesk ask GitHub sooner.

use crate::mail::{Analysis, Kind};

/// The configured orgs `analysis` asks to sync: the digest's org; for a decision notice, its
/// org; for a token expiring or expired, every org (the mail names no org); nothing for other
/// mail, or for an org patdesk does not serve.
pub fn orgs_to_sync(analysis: &Analysis, configured: &[String]) -> Vec<String> {
    let named = |login: &Option<String>| -> Vec<String> {
        login
            .as_deref()
            .and_then(|login| {
                configured
                    .iter()
                    .find(|org| org.eq_ignore_ascii_case(login))
            })
            .cloned()
            .into_iter()
            .collect()
    };
    match analysis.kind {
        Kind::GithubPatRequestsPending | Kind::GithubTokenDecision => named(&analysis.org_login),
        Kind::GithubTokenExpiring | Kind::GithubTokenExpired => configured.to_vec(),
        // Not GitHub's: nothing to sync.
        Kind::Human | Kind::Automatic | Kind::Bounce | Kind::Other => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{MailPolicy, analyze};

    fn fixture(path: &str) -> Analysis {
        let raw = std::fs::read(format!(
            "{}/tests/fixtures/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture");
        analyze(&raw, &MailPolicy::default())
    }

    #[test]
    fn each_github_mail_asks_for_the_right_syncs() {
        let orgs = vec!["acme-corp".to_string(), "cafe-cymru".to_string()];
        assert_eq!(
            orgs_to_sync(
                &fixture("github_pat_requests_pending/digest-plain-verified.eml"),
                &orgs
            ),
            vec!["acme-corp"]
        );
        // A spoofed digest only ever asks GitHub: that is all it can do.
        assert_eq!(
            orgs_to_sync(
                &fixture("github_pat_requests_pending/digest-spoofed-dmarc-fail.eml"),
                &orgs
            ),
            vec!["acme-corp"]
        );
        assert_eq!(
            orgs_to_sync(
                &fixture("github_token_decision/revoked-inline-reason.eml"),
                &orgs
            ),
            vec!["cafe-cymru"]
        );
        assert_eq!(
            orgs_to_sync(
                &fixture("github_token_expiring/fine-grained-7-days.eml"),
                &orgs
            ),
            orgs
        );
        assert!(orgs_to_sync(&fixture("human/welsh-reply.eml"), &orgs).is_empty());
        // An org patdesk does not serve asks for nothing.
        assert!(
            orgs_to_sync(
                &fixture("github_pat_requests_pending/digest-plain-verified.eml"),
                &orgs[1..]
            )
            .is_empty()
        );
    }
}
