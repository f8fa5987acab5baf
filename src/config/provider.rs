//! `mailbox.provider`: what Microsoft 365 and Gmail need, filled in where the config is
//! silent. A key the admin writes always wins; `check-config` lists what was filled.

use std::fmt::Display;

use super::raw::{RawProvider, RawSecurity, RawSentCopy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Microsoft365,
    Gmail,
    /// Any other server: nothing is filled in.
    Generic,
}

/// One server's address and protection.
pub(super) struct Server {
    pub host: &'static str,
    pub port: u16,
    pub security: RawSecurity,
}

/// A provider's defaults. Both providers file every mail they send in the Sent folder
/// themselves, so patdesk must not append a second copy.
pub(super) struct Preset {
    pub imap: Server,
    pub smtp: Server,
    pub sent_folder: &'static str,
    pub sent_copy: RawSentCopy,
}

impl Provider {
    pub(super) fn from_raw(raw: RawProvider) -> Provider {
        match raw {
            RawProvider::Microsoft365 => Provider::Microsoft365,
            RawProvider::Gmail => Provider::Gmail,
            RawProvider::Generic => Provider::Generic,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Microsoft365 => "microsoft365",
            Provider::Gmail => "gmail",
            Provider::Generic => "generic",
        }
    }

    pub(super) fn preset(self) -> Option<Preset> {
        match self {
            Provider::Microsoft365 => Some(Preset {
                imap: Server {
                    host: "outlook.office365.com",
                    port: 993,
                    security: RawSecurity::Tls,
                },
                smtp: Server {
                    host: "smtp.office365.com",
                    port: 587,
                    security: RawSecurity::Starttls,
                },
                sent_folder: "Sent Items",
                sent_copy: RawSentCopy::Server,
            }),
            Provider::Gmail => Some(Preset {
                imap: Server {
                    host: "imap.gmail.com",
                    port: 993,
                    security: RawSecurity::Tls,
                },
                smtp: Server {
                    host: "smtp.gmail.com",
                    port: 465,
                    security: RawSecurity::Tls,
                },
                sent_folder: "[Gmail]/Sent Mail",
                sent_copy: RawSentCopy::Server,
            }),
            Provider::Generic => None,
        }
    }
}

impl super::Validator {
    /// A server's host, port and security as given, each filled from `preset` where missing.
    pub(super) fn preset_server(
        &mut self,
        section: &str,
        (host, port, security): (Option<String>, Option<u16>, Option<RawSecurity>),
        preset: Option<&Server>,
        provider: Provider,
    ) -> (Option<String>, Option<u16>, Option<RawSecurity>) {
        let key = |name: &str| format!("{section}.{name}");
        (
            self.or_preset(
                &key("host"),
                host,
                preset.map(|p| p.host.to_string()),
                provider,
            ),
            self.or_preset(&key("port"), port, preset.map(|p| p.port), provider),
            self.or_preset(
                &key("security"),
                security,
                preset.map(|p| p.security),
                provider,
            ),
        )
    }

    /// `given`, or else the preset's value, noted as filled in by `provider`.
    pub(super) fn or_preset<T: Display>(
        &mut self,
        key: &str,
        given: Option<T>,
        preset: Option<T>,
        provider: Provider,
    ) -> Option<T> {
        match (given, preset) {
            (Some(given), _) => Some(given),
            (None, Some(preset)) => {
                self.filled.push(Filled {
                    key: key.to_string(),
                    value: preset.to_string(),
                    provider,
                });
                Some(preset)
            }
            (None, None) => None,
        }
    }
}

/// A key a provider preset filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub key: String,
    pub value: String,
    pub provider: Provider,
}

impl Display for RawSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RawSecurity::Tls => "tls",
            RawSecurity::Starttls => "starttls",
            RawSecurity::Plaintext => "plaintext",
        })
    }
}

impl Display for RawSentCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RawSentCopy::Append => "append",
            RawSentCopy::Server => "server",
        })
    }
}
