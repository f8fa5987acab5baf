//! `[smtp]`: the server patdesk sends through.

use super::mailbox::{Endpoint, SignIn};
use super::provider::Provider;
use super::raw::{RawSignIn, RawSmtp};

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub endpoint: Endpoint,
    /// Who patdesk signs in as, and how, when the server wants authentication.
    pub login: Option<SmtpLogin>,
    pub from: String,
    /// The longest one mail's SMTP conversation may take, whatever the server does.
    pub timeout: std::time::Duration,
    /// How long the server is given to file its copy of a mail in the Sent folder before a
    /// missing copy is taken to mean the mail was never accepted.
    pub sent_copy_grace: jiff::SignedDuration,
}

#[derive(Debug, Clone)]
pub struct SmtpLogin {
    pub username: String,
    pub sign_in: SignIn,
}

impl super::Validator {
    pub(super) fn smtp(
        &mut self,
        raw: RawSmtp,
        provider: Provider,
        has_oauth2: bool,
    ) -> Option<SmtpConfig> {
        let preset = provider.preset();
        let server = raw.server;
        let (host, port, security) = self.preset_server(
            "smtp",
            (server.host, server.port, server.security),
            preset.as_ref().map(|p| &p.smtp),
            provider,
        );
        let endpoint = self.endpoint("smtp", host, port, security, server.ca_file, (465, 587));
        let oauth2 = server.sign_in == Some(RawSignIn::Oauth2);
        let login = match (server.username, server.password.is_some() || oauth2) {
            (None, false) => None,
            (Some(username), true) => self
                .sign_in("smtp", server.sign_in, server.password, has_oauth2)
                .map(|sign_in| SmtpLogin { username, sign_in }),
            (Some(_), false) => {
                self.problem(
                    "smtp.password",
                    "is missing: smtp.username and smtp.password go together (or set smtp.sign_in = \"oauth2\")",
                );
                None
            }
            (None, true) => {
                self.problem(
                    "smtp.username",
                    "is missing: smtp.username and smtp.password go together, and oauth2 signs in as smtp.username",
                );
                None
            }
        };
        let from = self.required_text("smtp.from", raw.from);
        if let Some(from) = &from {
            self.address("smtp.from", from, "\"PAT desk <pat-requests@example.org>\"");
        }
        let timeout = self.within("smtp.timeout_seconds", raw.timeout_seconds, 1..=600, 30);
        let sent_copy_grace = self.within(
            "smtp.sent_copy_grace_seconds",
            raw.sent_copy_grace_seconds,
            1..=3600,
            60,
        );
        Some(SmtpConfig {
            endpoint: endpoint?,
            login,
            from: from?,
            timeout: std::time::Duration::from_secs(timeout),
            // Within 1..=3600: the conversion cannot fail.
            sent_copy_grace: jiff::SignedDuration::from_secs(
                i64::try_from(sent_copy_grace).unwrap_or(60),
            ),
        })
    }
}
