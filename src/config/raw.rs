//! The config file exactly as written: every key optional, nothing checked beyond TOML types.
//! `deny_unknown_fields` everywhere, so a misspelt key is an error that lists the accepted ones.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub mail: RawMail,
    pub mailbox: Option<RawMailbox>,
    pub smtp: Option<RawSmtp>,
    pub oauth2: Option<RawOauth2>,
    pub github: Option<RawGithub>,
    #[serde(default)]
    pub team: RawTeam,
    #[serde(default)]
    pub review: RawReview,
    #[serde(default)]
    pub people: RawPeople,
    pub signing: Option<RawSigning>,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub control: RawControl,
    #[serde(default)]
    pub intervals: RawIntervals,
    pub slack: Option<RawSlack>,
    pub policy: Option<RawPolicyFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyFile {
    pub file: Option<PathBuf>,
    pub mode: Option<RawPolicyMode>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawPolicyMode {
    Off,
    Shadow,
    Enforce,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlack {
    pub app_token: Option<RawSecret>,
    pub bot_token: Option<RawSecret>,
    pub app_id: Option<String>,
    pub team_id: Option<String>,
    pub channel: Option<String>,
    pub decide_up_to: Option<RawRisk>,
    pub api_url: Option<String>,
}

/// A number of hours for each risk.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RawPerRisk {
    pub low: Option<u32>,
    pub medium: Option<u32>,
    pub high: Option<u32>,
    pub critical: Option<u32>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawRisk {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntervals {
    pub outbox_seconds: Option<f64>,
    pub look_for_commits_seconds: Option<f64>,
    pub alerts_seconds: Option<f64>,
    pub status_seconds: Option<f64>,
    pub upkeep_seconds: Option<f64>,
    pub slack_ping_seconds: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub slack_webhook: Option<RawSecret>,
    pub email: Option<String>,
    pub stalled_after_minutes: Option<u64>,
    pub send_head: Option<RawSendHead>,
    pub weekly_report: Option<String>,
    pub weekly_report_hour: Option<i8>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawSendHead {
    Off,
    Daily,
    DailyAndDecisions,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub path: Option<PathBuf>,
    pub keep_raw_days: Option<u64>,
    pub backup_dir: Option<PathBuf>,
    pub backups_kept: Option<u64>,
    pub litestream: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMail {
    pub trusted_authserv_ids: Option<Vec<String>>,
    pub max_message_bytes: Option<u64>,
    pub templates_dir: Option<PathBuf>,
    pub reminders: Option<u64>,
    pub reminder_interval_hours: Option<u64>,
    pub breaker_mails: Option<u64>,
    pub per_recipient_per_hour: Option<u64>,
    pub per_recipient_per_day: Option<u64>,
    pub accept_replies: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawSecurity {
    Tls,
    Starttls,
    Plaintext,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawAcknowledge {
    Move,
    Flag,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RawSentCopy {
    Append,
    Server,
}

/// The keys `[mailbox]` and `[smtp]` share: where the server is and how patdesk signs in.
#[derive(Debug)]
pub struct RawServer {
    pub sign_in: Option<RawSignIn>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub security: Option<RawSecurity>,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<RawSecret>,
}

/// `[mailbox]`, its server keys gathered in `server`; read as `MailboxKeys`.
#[derive(Debug)]
pub struct RawMailbox {
    pub server: RawServer,
    pub provider: Option<RawProvider>,
    pub address: Option<String>,
    pub folder: Option<String>,
    pub processed_folder: Option<String>,
    pub quarantine_folder: Option<String>,
    pub sent_folder: Option<String>,
    pub sent_copy: Option<RawSentCopy>,
    pub plus_addressing: Option<bool>,
    pub acknowledge: Option<RawAcknowledge>,
    pub command_timeout_seconds: Option<u64>,
    pub poll_seconds: Option<u64>,
    pub idle_refresh_minutes: Option<u64>,
}

/// A section with the server keys and its own, as written: every key at its own level, so a
/// wrong value is named by its key and an unknown key is refused with the accepted ones (serde's
/// `flatten` would do neither).
macro_rules! keys_with_server {
    ($keys:ident { $($field:ident: $ty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $keys {
            sign_in: Option<RawSignIn>,
            host: Option<String>,
            port: Option<u16>,
            security: Option<RawSecurity>,
            ca_file: Option<PathBuf>,
            username: Option<String>,
            password: Option<RawSecret>,
            $($field: $ty,)*
        }

        impl $keys {
            /// The server keys, gathered.
            fn server(&mut self) -> RawServer {
                RawServer {
                    sign_in: self.sign_in.take(),
                    host: self.host.take(),
                    port: self.port.take(),
                    security: self.security.take(),
                    ca_file: self.ca_file.take(),
                    username: self.username.take(),
                    password: self.password.take(),
                }
            }
        }
    };
}

keys_with_server!(MailboxKeys {
    provider: Option<RawProvider>,
    address: Option<String>,
    folder: Option<String>,
    processed_folder: Option<String>,
    quarantine_folder: Option<String>,
    sent_folder: Option<String>,
    sent_copy: Option<RawSentCopy>,
    plus_addressing: Option<bool>,
    acknowledge: Option<RawAcknowledge>,
    command_timeout_seconds: Option<u64>,
    poll_seconds: Option<u64>,
    idle_refresh_minutes: Option<u64>,
});

impl<'de> Deserialize<'de> for RawMailbox {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut keys = MailboxKeys::deserialize(deserializer)?;
        Ok(RawMailbox {
            server: keys.server(),
            provider: keys.provider,
            address: keys.address,
            folder: keys.folder,
            processed_folder: keys.processed_folder,
            quarantine_folder: keys.quarantine_folder,
            sent_folder: keys.sent_folder,
            sent_copy: keys.sent_copy,
            plus_addressing: keys.plus_addressing,
            acknowledge: keys.acknowledge,
            command_timeout_seconds: keys.command_timeout_seconds,
            poll_seconds: keys.poll_seconds,
            idle_refresh_minutes: keys.idle_refresh_minutes,
        })
    }
}

/// `[smtp]`, its server keys gathered in `server`; read as `SmtpKeys`.
#[derive(Debug)]
pub struct RawSmtp {
    pub server: RawServer,
    pub from: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub sent_copy_grace_seconds: Option<u64>,
}

keys_with_server!(SmtpKeys {
    from: Option<String>,
    timeout_seconds: Option<u64>,
    sent_copy_grace_seconds: Option<u64>,
});

impl<'de> Deserialize<'de> for RawSmtp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut keys = SmtpKeys::deserialize(deserializer)?;
        Ok(RawSmtp {
            server: keys.server(),
            from: keys.from,
            timeout_seconds: keys.timeout_seconds,
            sent_copy_grace_seconds: keys.sent_copy_grace_seconds,
        })
    }
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawProvider {
    Microsoft365,
    Gmail,
    Generic,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawSignIn {
    Password,
    Oauth2,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawFlow {
    Microsoft,
    Google,
    RefreshToken,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOauth2 {
    pub flow: Option<RawFlow>,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<RawSecret>,
    pub certificate: Option<PathBuf>,
    pub certificate_key: Option<RawSecret>,
    pub service_account_key: Option<RawSecret>,
    pub refresh_token: Option<RawSecret>,
    pub token_url: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGithub {
    pub app_id: Option<u64>,
    pub private_key: Option<RawSecret>,
    pub api_url: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub expiry_warning_days: Option<u32>,
    pub sync_interval_seconds: Option<u64>,
    pub sync_debounce_seconds: Option<u64>,
    #[serde(default)]
    pub orgs: Vec<RawOrg>,
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub listen: Option<String>,
    pub secret: Option<RawSecret>,
    pub max_body_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOrg {
    pub login: Option<String>,
    pub installation_id: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    /// GitHub login → the member's OS account on the daemon's host.
    #[serde(default)]
    pub members: RawMembers,
}

/// The table of members; the list of logins older versions took is recognised, to say what
/// replaced it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawMembers {
    Mapped(std::collections::BTreeMap<String, RawMember>),
    Logins(Vec<String>),
}

impl Default for RawMembers {
    fn default() -> RawMembers {
        RawMembers::Mapped(Default::default())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    pub unix: Option<String>,
    pub slack: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    pub socket: Option<PathBuf>,
    pub group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeople {
    pub directory: Option<PathBuf>,
    pub allowed_domains: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReview {
    pub max_expiry_days: Option<u32>,
    pub stale_after_days: Option<u32>,
    pub decide_within_hours: Option<RawPerRisk>,
    pub approvals_needed: Option<RawPerRisk>,
    pub deny_after_hours: Option<RawPerRisk>,
    pub stale_notice_days: Option<u32>,
    pub min_purpose_chars: Option<u32>,
    pub min_token_name_chars: Option<u32>,
    pub generic_token_names: Option<Vec<String>>,
    pub critical_when_write: Option<Vec<String>>,
    pub high_when_read: Option<Vec<String>>,
    pub org_permission_teams: Option<Vec<String>>,
    pub approval_reason_from: Option<RawReasonFrom>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RawReasonFrom {
    Low,
    Medium,
    High,
    Critical,
    Never,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSigning {
    pub key: Option<RawSecret>,
}

/// Where a secret lives. Written inline it is kept only to be refused with a helpful message:
/// a secret in the config file ends up in backups, diffs and support tickets.
#[derive(Debug)]
pub enum RawSecret {
    Inline,
    Reference(RawSecretReference),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretReference {
    pub file: Option<PathBuf>,
    pub credential: Option<String>,
}

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl<'de> Visitor<'de> for SecretVisitor {
            type Value = RawSecret;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a table: { file = "/path" } or { credential = "name" }"#)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawSecret, E> {
                Ok(RawSecret::Inline)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSecret, A::Error> {
                RawSecretReference::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawSecret::Reference)
            }
        }

        deserializer.deserialize_any(SecretVisitor)
    }
}
