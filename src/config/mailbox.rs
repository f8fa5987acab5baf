//! `[mailbox]`: the team mailbox over IMAP, and the endpoint shape `[smtp]` shares.

use std::path::PathBuf;

use super::provider::Provider;
use super::raw::{self, RawMailbox, RawSecret, RawSecurity, RawSignIn};
use super::web::is_loopback;
use super::{SecretKind, SecretRef};

/// How intake marks a mail it has stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledge {
    /// Moved to the Processed folder: the watched folder holds only what is still to do.
    Move,
    /// Left in place with the keyword `$PatdeskProcessed`, for teams that want their folder kept.
    Flag,
}

/// Who puts a copy of each sent mail in the Sent folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentCopy {
    /// patdesk appends it after the server has accepted the mail.
    Append,
    /// The mail server files every accepted mail itself (Gmail, Microsoft 365, or Postfix with
    /// `sender_bcc_maps`): a mail missing from Sent was never accepted.
    Server,
}

/// How a connection is protected. Plaintext is accepted only to a loopback address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Tls,
    StartTls,
    Plaintext,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// An extra CA to trust besides the system's, for corporate CAs.
    pub ca_file: Option<PathBuf>,
}

/// How patdesk signs in to a mail server.
#[derive(Debug, Clone)]
pub enum SignIn {
    Password(SecretRef),
    /// SASL XOAUTH2 (or OAUTHBEARER) with a token from `[oauth2]`.
    Oauth2,
}

impl SignIn {
    /// The password's secret, when signing in with one.
    pub fn password(&self) -> Option<&SecretRef> {
        match self {
            SignIn::Password(password) => Some(password),
            SignIn::Oauth2 => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    pub provider: Provider,
    pub endpoint: Endpoint,
    pub username: String,
    pub sign_in: SignIn,
    /// The team mailbox's own address, for recognising our own mail.
    pub address: String,
    pub folder: String,
    pub processed_folder: String,
    /// Where a copy of every mail patdesk sends is filed, so people see the conversation.
    pub sent_folder: String,
    pub sent_copy: SentCopy,
    /// Replies are asked for at `local+pat-<id>@domain`, which names the request even when a
    /// mail client drops the threading headers and the subject tag.
    pub plus_addressing: bool,
    pub quarantine_folder: String,
    /// How handled mail is marked on the server.
    pub acknowledge: Acknowledge,
    /// Every IMAP command's deadline.
    pub command_timeout: std::time::Duration,
    /// A full catch-up at least this often, IDLE or not.
    pub poll_interval: std::time::Duration,
    /// IDLE is re-issued at least this often (servers may cut it at 30 minutes).
    pub idle_refresh: std::time::Duration,
}

impl super::Validator {
    pub(super) fn endpoint(
        &mut self,
        section: &str,
        host: Option<String>,
        port: Option<u16>,
        security: Option<RawSecurity>,
        ca_file: Option<PathBuf>,
        default_ports: (u16, u16),
    ) -> Option<Endpoint> {
        let host = self.required_text(&format!("{section}.host"), host)?;
        let security = match security.unwrap_or(RawSecurity::Tls) {
            RawSecurity::Tls => Security::Tls,
            RawSecurity::Starttls => Security::StartTls,
            RawSecurity::Plaintext => Security::Plaintext,
        };
        if security == Security::Plaintext && !is_loopback(&host) {
            self.problem(
                &format!("{section}.security"),
                format!("is \"plaintext\" for {host}: plaintext is only allowed to a loopback address (127.0.0.1, ::1, localhost); use \"tls\" or \"starttls\""),
            );
        }
        let (tls_port, starttls_port) = default_ports;
        let port = match port {
            Some(0) => {
                self.problem(&format!("{section}.port"), "is 0: accepted is 1 to 65535");
                0
            }
            Some(port) => port,
            None if security == Security::Tls => tls_port,
            None => starttls_port,
        };
        let ca_file = ca_file.map(|file| self.path(file));
        if let Some(file) = &ca_file
            && !file.is_file()
        {
            self.problem(
                &format!("{section}.ca_file"),
                format!("names {}, which is not a readable file", file.display()),
            );
        }
        Some(Endpoint {
            host,
            port,
            security,
            ca_file,
        })
    }

    pub(super) fn mailbox(
        &mut self,
        raw: RawMailbox,
        provider: Provider,
        has_oauth2: bool,
    ) -> Option<MailboxConfig> {
        let preset = provider.preset();
        let (host, port, security) = self.preset_server(
            "mailbox",
            (raw.server.host, raw.server.port, raw.server.security),
            preset.as_ref().map(|p| &p.imap),
            provider,
        );
        let endpoint = self.endpoint(
            "mailbox",
            host,
            port,
            security,
            raw.server.ca_file,
            (993, 143),
        );
        let username = self.required_text("mailbox.username", raw.server.username);
        let sign_in = self.sign_in(
            "mailbox",
            raw.server.sign_in,
            raw.server.password,
            has_oauth2,
        );
        let address = self.required_text("mailbox.address", raw.address);
        if let Some(address) = &address {
            self.address("mailbox.address", address, "pat-requests@example.org");
        }
        let folder = self.folder("mailbox.folder", raw.folder, "INBOX");
        let processed_folder = self.folder(
            "mailbox.processed_folder",
            raw.processed_folder,
            "Processed",
        );
        let quarantine_folder = self.folder(
            "mailbox.quarantine_folder",
            raw.quarantine_folder,
            "Quarantine",
        );
        let sent_folder = self.or_preset(
            "mailbox.sent_folder",
            raw.sent_folder,
            preset.as_ref().map(|p| p.sent_folder.to_string()),
            provider,
        );
        let sent_folder = self.folder("mailbox.sent_folder", sent_folder, "Sent");
        let sent_copy = self.or_preset(
            "mailbox.sent_copy",
            raw.sent_copy,
            preset.as_ref().map(|p| p.sent_copy),
            provider,
        );
        if sent_folder == folder {
            self.problem(
                "mailbox.sent_folder",
                "must differ from mailbox.folder, or patdesk would read its own mail",
            );
        }
        if processed_folder == folder || quarantine_folder == folder {
            self.problem(
                "mailbox.processed_folder",
                "and mailbox.quarantine_folder must differ from mailbox.folder, or mail would be read again",
            );
        }
        let command_timeout = self.within(
            "mailbox.command_timeout_seconds",
            raw.command_timeout_seconds,
            1..=600,
            60,
        );
        let poll = self.within("mailbox.poll_seconds", raw.poll_seconds, 1..=3600, 300);
        let idle_refresh = self.within(
            "mailbox.idle_refresh_minutes",
            raw.idle_refresh_minutes,
            1..=29,
            10,
        );
        Some(MailboxConfig {
            provider,
            endpoint: endpoint?,
            username: username?,
            sign_in: sign_in?,
            address: address?.to_lowercase(),
            folder,
            processed_folder,
            quarantine_folder,
            sent_folder,
            sent_copy: match sent_copy {
                Some(raw::RawSentCopy::Server) => SentCopy::Server,
                Some(raw::RawSentCopy::Append) | None => SentCopy::Append,
            },
            plus_addressing: raw.plus_addressing.unwrap_or(false),
            acknowledge: match raw.acknowledge {
                Some(raw::RawAcknowledge::Flag) => Acknowledge::Flag,
                Some(raw::RawAcknowledge::Move) | None => Acknowledge::Move,
            },
            command_timeout: std::time::Duration::from_secs(command_timeout),
            poll_interval: std::time::Duration::from_secs(poll),
            idle_refresh: std::time::Duration::from_secs(idle_refresh * 60),
        })
    }

    pub(super) fn folder(&mut self, key: &str, folder: Option<String>, default: &str) -> String {
        let folder = folder.unwrap_or_else(|| default.to_string());
        if folder.trim().is_empty() || folder.contains(['\r', '\n', '"']) {
            self.problem(
                key,
                format!("is {folder:?}: expected an IMAP folder name such as {default:?}"),
            );
        }
        folder
    }

    /// `password` (the default) or `oauth2`, for `section`; `password` is the secret's key.
    pub(super) fn sign_in(
        &mut self,
        section: &str,
        sign_in: Option<RawSignIn>,
        password: Option<RawSecret>,
        has_oauth2: bool,
    ) -> Option<SignIn> {
        match sign_in.unwrap_or(RawSignIn::Password) {
            RawSignIn::Password => self
                .required_secret(
                    &format!("{section}.password"),
                    SecretKind::Password,
                    password,
                )
                .map(SignIn::Password),
            RawSignIn::Oauth2 => {
                if password.is_some() {
                    self.problem(
                        &format!("{section}.password"),
                        format!("is set, and {section}.sign_in is \"oauth2\": remove one"),
                    );
                }
                if !has_oauth2 {
                    self.problem(
                        &format!("{section}.sign_in"),
                        "is \"oauth2\" but [oauth2] is missing: say there where tokens come from",
                    );
                }
                Some(SignIn::Oauth2)
            }
        }
    }
}
