//! `[github.webhook]`: GitHub's `personal_access_token_request` webhook, received by
//! `patdesk run` (off unless this section is there). Each delivery is a trigger for a sync of
//! its org; the API stays the source of truth, and the poll keeps running.

use std::net::SocketAddr;

use super::raw::RawWebhook;
use super::{SecretKind, SecretRef};

/// GitHub's own cap on a webhook payload is 25 MB; a token request's is a few kilobytes.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where to listen for GitHub's deliveries (behind a reverse proxy or a tunnel).
    pub listen: SocketAddr,
    /// The App's webhook secret, with which GitHub signs every delivery.
    pub secret: SecretRef,
    /// A larger body is refused before it is read.
    pub max_body_bytes: u64,
}

impl super::Validator {
    pub(super) fn webhook(&mut self, raw: RawWebhook) -> Option<WebhookConfig> {
        let listen = match raw.listen {
            None => {
                self.problem(
                    "github.webhook.listen",
                    "is missing: the address to receive GitHub's webhook on, such as \"127.0.0.1:8787\" behind your reverse proxy",
                );
                None
            }
            Some(text) => match text.parse::<SocketAddr>() {
                Ok(address) => Some(address),
                Err(_) => {
                    self.problem(
                        "github.webhook.listen",
                        format!("is {text:?}: expected an IP address and port, such as \"127.0.0.1:8787\""),
                    );
                    None
                }
            },
        };
        let secret =
            self.required_secret("github.webhook.secret", SecretKind::Password, raw.secret);
        let max_body_bytes = self.within(
            "github.webhook.max_body_bytes",
            raw.max_body_bytes,
            1024..=25 * 1024 * 1024,
            DEFAULT_MAX_BODY_BYTES,
        );
        Some(WebhookConfig {
            listen: listen?,
            secret: secret?,
            max_body_bytes,
        })
    }
}
