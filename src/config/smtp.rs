//! `[smtp]`: the server patdesk sends through.

use super::mailbox::Endpoint;
use super::raw::RawSmtp;
use super::{SecretKind, SecretRef};

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub endpoint: Endpoint,
    /// Username and password, when the server wants authentication.
    pub login: Option<(String, SecretRef)>,
    pub from: String,
}

impl super::Validator {
    pub(super) fn smtp(&mut self, raw: RawSmtp) -> Option<SmtpConfig> {
        let endpoint = self.endpoint(
            "smtp",
            raw.host,
            raw.port,
            raw.security,
            raw.ca_file,
            (465, 587),
        );
        let login = match (raw.username, raw.password) {
            (None, None) => None,
            (Some(username), Some(password)) => {
                let password =
                    self.required_secret("smtp.password", SecretKind::Password, Some(password));
                password.map(|password| (username, password))
            }
            (Some(_), None) => {
                self.problem(
                    "smtp.password",
                    "is missing: smtp.username and smtp.password go together",
                );
                None
            }
            (None, Some(_)) => {
                self.problem(
                    "smtp.username",
                    "is missing: smtp.username and smtp.password go together",
                );
                None
            }
        };
        let from = self.required_text("smtp.from", raw.from);
        if let Some(from) = &from {
            self.address("smtp.from", from, "\"PAT desk <pat-requests@example.org>\"");
        }
        Some(SmtpConfig {
            endpoint: endpoint?,
            login,
            from: from?,
        })
    }
}
