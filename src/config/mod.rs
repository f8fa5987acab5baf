//! patdesk's configuration: one TOML file, read into a raw form ([`raw`]) and validated into a
//! typed [`Config`]. Every problem names the file and the key, and says what is accepted; all
//! problems are reported at once, so an admin fixes the file in one pass.

mod raw;
mod secret;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::conversation::Reminders;
use crate::mail::{DEFAULT_MAX_MESSAGE_BYTES, MailPolicy, ReplyTrust, bare_address, is_address};
use crate::review::ReviewPolicy;
use raw::{RawConfig, RawGithub, RawMail, RawMailbox, RawReview, RawSecret, RawSecurity, RawSmtp};
pub use secret::{Secret, SecretKind, SecretOrigin, SecretRef};

/// Where the daemon and the CLI look when neither `--config` nor `PATDESK_CONFIG` says.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/patdesk/patdesk.toml";
pub const DEFAULT_STORE_PATH: &str = "/var/lib/patdesk/patdesk.db";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

const MIN_MESSAGE_BYTES: u64 = 64 * 1024;
const MAX_MESSAGE_BYTES: u64 = 1024 * 1024 * 1024;
const MAX_REMINDERS: usize = 2;
const MIN_REMINDER_HOURS: i64 = 48;
const MAX_REMINDER_HOURS: i64 = 720;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from.
    pub source: PathBuf,
    pub store: StoreConfig,
    pub mail: MailPolicy,
    pub mailbox: Option<MailboxConfig>,
    pub smtp: Option<SmtpConfig>,
    pub github: Option<GithubConfig>,
    pub team: TeamConfig,
    pub control: ControlConfig,
    pub review: ReviewPolicy,
    /// The admin's mail templates (`question.txt`, …); patdesk's own where none is given.
    pub templates_dir: Option<PathBuf>,
    /// A CSV of `login,email` the team keeps: the first place a requester's address is
    /// looked up.
    pub people_directory: Option<PathBuf>,
    /// Signs the Message-IDs of outgoing mail so replies can be threaded without trusting
    /// the subject line.
    pub signing_key: Option<SecretRef>,
    /// How requesters who do not answer are reminded.
    pub reminders: Reminders,
    pub alerts: AlertsConfig,
    /// How much mail may leave: per recipient, and in all (the breaker).
    pub send_limits: SendLimits,
}

/// The rate guards' numbers; `smtp::RateLimits` applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Mails to one address within an hour; more wait, queued.
    pub per_recipient_per_hour: usize,
    /// Mails to one address within 24 hours.
    pub per_recipient_per_day: usize,
    /// The send breaker: this many mails in 10 minutes pause sending.
    pub breaker_mails: usize,
}

impl Default for SendLimits {
    /// A requester hears from patdesk a few times a day at most; a loop or a runaway sync, not
    /// a busy day, sends 30 mails in 10 minutes.
    fn default() -> SendLimits {
        SendLimits {
            per_recipient_per_hour: 3,
            per_recipient_per_day: 10,
            breaker_mails: 30,
        }
    }
}

/// Where the team's alerts go, and when a failing part counts as stalled.
#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// A Slack incoming-webhook URL (a secret: whoever has it can post to the channel).
    pub slack_webhook: Option<SecretRef>,
    /// An address (a team list) that gets each alert by mail; needs `[smtp]`.
    pub email: Option<String>,
    /// Intake or a GitHub sync failing this long is an alert, and makes `patdesk status` fail.
    pub stalled_after: std::time::Duration,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
}

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

#[derive(Debug, Clone)]
pub struct MailboxConfig {
    pub endpoint: Endpoint,
    pub username: String,
    pub password: SecretRef,
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

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub endpoint: Endpoint,
    /// Username and password, when the server wants authentication.
    pub login: Option<(String, SecretRef)>,
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct GithubConfig {
    pub app_id: u64,
    pub private_key: SecretRef,
    pub api_url: String,
    /// For each call to GitHub.
    pub timeout: std::time::Duration,
    /// An approved token expiring within this many days is announced.
    pub expiry_warning_days: u32,
    /// The daemon syncs every org this often, mail or no mail.
    pub sync_interval: std::time::Duration,
    /// Triggers (GitHub's mails) arriving within this window cause one sync.
    pub sync_debounce: std::time::Duration,
    pub orgs: Vec<OrgConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgConfig {
    pub login: String,
    pub installation_id: u64,
}

#[derive(Debug, Clone, Default)]
pub struct TeamConfig {
    /// The engineers who may decide on requests.
    pub members: Vec<TeamMember>,
}

/// One engineer: their GitHub login and the OS account the daemon knows them by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// As the config spells it; GitHub compares logins case-insensitively.
    pub login: String,
    /// The OS user name whose uid, calling the control socket, is this member.
    pub unix: String,
}

impl TeamConfig {
    /// The member an OS user is, if any.
    pub fn by_unix_user(&self, user: &str) -> Option<&TeamMember> {
        self.members.iter().find(|member| member.unix == user)
    }

    /// Whether `login` is a member, compared as GitHub compares logins.
    pub fn has_login(&self, login: &str) -> bool {
        self.members
            .iter()
            .any(|member| member.login.eq_ignore_ascii_case(login))
    }
}

/// The daemon's control socket: how engineers' commands reach the one writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    pub socket: PathBuf,
    /// The group that may connect (mode 0660); the daemon's own group when not set.
    pub group: Option<String>,
}

pub const DEFAULT_CONTROL_SOCKET: &str = "/run/patdesk/control.sock";

/// One thing wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {error}{}", path.display(), read_hint(error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {} is not valid TOML for patdesk:\n{message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("config file {} has {} problem(s):\n{}", path.display(), problems.len(), ProblemList(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn read_hint(error: &std::io::Error) -> &'static str {
    if error.kind() == std::io::ErrorKind::NotFound {
        " (give another with --config FILE or PATDESK_CONFIG; patdesk.example.toml documents every key)"
    } else {
        ""
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  - `{}` {}", problem.key, problem.message)?;
        }
        Ok(())
    }
}

impl Config {
    /// Every secret the config names, for `check-config` and for the parts that read them.
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        let mut refs = Vec::new();
        if let Some(mailbox) = &self.mailbox {
            refs.push(&mailbox.password);
        }
        if let Some((_, password)) = self.smtp.as_ref().and_then(|smtp| smtp.login.as_ref()) {
            refs.push(password);
        }
        if let Some(github) = &self.github {
            refs.push(&github.private_key);
        }
        refs.extend(self.signing_key.as_ref());
        refs.extend(self.alerts.slack_webhook.as_ref());
        refs
    }

    /// Reads every secret, reporting all problems at once.
    pub fn check_secrets(&self) -> Result<(), ConfigError> {
        let problems: Vec<Problem> = self
            .secret_refs()
            .into_iter()
            .filter_map(|secret| secret.read().err())
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid {
                path: self.source.clone(),
                problems,
            })
        }
    }

    /// Reads and validates `path`, taking systemd credentials from `$CREDENTIALS_DIRECTORY`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        Config::load_with_credentials(path, credentials.as_deref())
    }

    pub fn load_with_credentials(
        path: &Path,
        credentials: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Config::from_toml(&text, path, credentials)
    }

    /// Validates config text as if read from `path` (relative paths resolve beside it).
    pub fn from_toml(
        text: &str,
        path: &Path,
        credentials: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut validator = Validator {
            base,
            credentials: credentials.map(Path::to_path_buf),
            problems: Vec::new(),
        };
        let config = validator.config(raw, path);
        if validator.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems: validator.problems,
            })
        }
    }
}

/// Turns the raw form into the typed one, collecting every problem on the way. Where a value
/// is wrong a placeholder stands in, so validation can go on; the config is discarded then.
struct Validator {
    base: PathBuf,
    credentials: Option<PathBuf>,
    problems: Vec<Problem>,
}

impl Validator {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn config(&mut self, raw: RawConfig, path: &Path) -> Config {
        let store = StoreConfig {
            path: self.path(raw.store.path.unwrap_or_else(|| DEFAULT_STORE_PATH.into())),
        };
        let templates_dir = self.templates_dir(raw.mail.templates_dir.clone());
        let reminders = self.reminders(raw.mail.reminders, raw.mail.reminder_interval_hours);
        let send_limits = self.send_limits(&raw.mail);
        let mail = self.mail(raw.mail);
        let mailbox = raw.mailbox.map(|mailbox| self.mailbox(mailbox));
        let smtp = raw.smtp.map(|smtp| self.smtp(smtp));
        let github = raw.github.map(|github| self.github(github));
        let team = self.team(raw.team.members);
        let control = self.control(raw.control);
        let review = self.review(raw.review);
        let signing_key = raw.signing.and_then(|signing| {
            self.required_secret("signing.key", SecretKind::Password, signing.key)
        });
        let alerts = self.alerts(raw.alerts);
        Config {
            alerts,
            send_limits,
            source: path.to_path_buf(),
            store,
            mail,
            mailbox: mailbox.flatten(),
            smtp: smtp.flatten(),
            github: github.flatten(),
            team,
            control,
            review,
            people_directory: raw.people.directory.map(|path| self.people_directory(path)),
            templates_dir,
            signing_key,
            reminders,
        }
    }

    fn alerts(&mut self, raw: raw::RawAlerts) -> AlertsConfig {
        let slack_webhook = raw.slack_webhook.and_then(|secret| {
            self.required_secret("alerts.slack_webhook", SecretKind::Password, Some(secret))
        });
        if let Some(email) = &raw.email
            && !is_address(bare_address(email))
        {
            self.problem(
                "alerts.email",
                format!(
                    "is {email:?}: expected an email address such as platform-alerts@example.org"
                ),
            );
        }
        let minutes = match raw.stalled_after_minutes {
            Some(minutes) if (1..=1440).contains(&minutes) => minutes,
            Some(minutes) => {
                self.problem(
                    "alerts.stalled_after_minutes",
                    format!("is {minutes}: accepted is 1 to 1440 (default 15)"),
                );
                15
            }
            None => 15,
        };
        AlertsConfig {
            slack_webhook,
            email: raw.email,
            stalled_after: std::time::Duration::from_secs(minutes * 60),
        }
    }

    /// The guard against pestering holds whatever the config says: at most two reminders, at
    /// least 48 hours apart. An admin may ask for fewer, or further apart.
    fn reminders(&mut self, count: Option<u64>, hours: Option<u64>) -> Reminders {
        let mut reminders = Reminders::default();
        if let Some(count) = count {
            match usize::try_from(count) {
                Ok(count) if count <= MAX_REMINDERS => reminders.max = count,
                _ => self.problem(
                    "mail.reminders",
                    format!(
                        "is {count}: accepted is 0 to {MAX_REMINDERS} (default {MAX_REMINDERS})"
                    ),
                ),
            }
        }
        if let Some(hours) = hours {
            match i64::try_from(hours) {
                Ok(hours) if (MIN_REMINDER_HOURS..=MAX_REMINDER_HOURS).contains(&hours) => {
                    reminders.interval = jiff::SignedDuration::from_hours(hours);
                }
                _ => self.problem(
                    "mail.reminder_interval_hours",
                    format!("is {hours}: accepted is {MIN_REMINDER_HOURS} to {MAX_REMINDER_HOURS} (default {MIN_REMINDER_HOURS})"),
                ),
            }
        }
        reminders
    }

    fn send_limits(&mut self, mail: &RawMail) -> SendLimits {
        let default = SendLimits::default();
        let limits = SendLimits {
            per_recipient_per_hour: self.count(
                "mail.per_recipient_per_hour",
                mail.per_recipient_per_hour,
                100,
                default.per_recipient_per_hour,
            ),
            per_recipient_per_day: self.count(
                "mail.per_recipient_per_day",
                mail.per_recipient_per_day,
                1000,
                default.per_recipient_per_day,
            ),
            breaker_mails: self.count(
                "mail.breaker_mails",
                mail.breaker_mails,
                100_000,
                default.breaker_mails,
            ),
        };
        if limits.per_recipient_per_hour > limits.per_recipient_per_day {
            self.problem(
                "mail.per_recipient_per_hour",
                format!(
                    "is {}, more than mail.per_recipient_per_day ({}): a day holds the hour",
                    limits.per_recipient_per_hour, limits.per_recipient_per_day
                ),
            );
        }
        limits
    }

    /// A count from 1 to `max` at `key`; `default` when it is not given or wrong.
    fn count(&mut self, key: &str, value: Option<u64>, max: u64, default: usize) -> usize {
        match value {
            None => default,
            Some(count) if (1..=max).contains(&count) => usize::try_from(count).unwrap_or(default),
            Some(count) => {
                self.problem(
                    key,
                    format!("is {count}: accepted is 1 to {max} (default {default})"),
                );
                default
            }
        }
    }

    fn path(&self, path: PathBuf) -> PathBuf {
        self.base.join(path)
    }

    fn people_directory(&mut self, path: PathBuf) -> PathBuf {
        let path = self.path(path);
        if !path.is_file() {
            self.problem(
                "people.directory",
                format!(
                    "names {}, which is not a file (a CSV of login,email)",
                    path.display()
                ),
            );
        }
        path
    }

    fn templates_dir(&mut self, dir: Option<PathBuf>) -> Option<PathBuf> {
        let dir = self.path(dir?);
        if !dir.is_dir() {
            self.problem(
                "mail.templates_dir",
                format!("names {}, which is not a folder", dir.display()),
            );
        }
        Some(dir)
    }

    fn mail(&mut self, raw: RawMail) -> MailPolicy {
        let mut policy = MailPolicy::default();
        for id in raw.trusted_authserv_ids.unwrap_or_default() {
            if id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';') {
                self.problem(
                    "mail.trusted_authserv_ids",
                    format!("has {id:?}: an authserv-id is one word, as your receiving server writes it first in Authentication-Results"),
                );
            } else {
                policy.trusted_authserv_ids.push(id);
            }
        }
        if let Some(bytes) = raw.max_message_bytes {
            if (MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&bytes) {
                policy.max_message_bytes =
                    usize::try_from(bytes).unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
            } else {
                self.problem(
                    "mail.max_message_bytes",
                    format!("is {bytes}: accepted is {MIN_MESSAGE_BYTES} to {MAX_MESSAGE_BYTES} (default {DEFAULT_MAX_MESSAGE_BYTES})"),
                );
            }
        }
        if let Some(choice) = raw.accept_replies {
            match ReplyTrust::CHOICES.iter().find(|(name, _)| *name == choice) {
                Some((_, trust)) => policy.replies = *trust,
                None => self.problem(
                    "mail.accept_replies",
                    format!(
                        "is {choice:?}: accepted are {} (each stricter than the one before)",
                        ReplyTrust::CHOICES
                            .iter()
                            .map(|(name, _)| format!("{name:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
        policy
    }

    fn endpoint(
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

    fn mailbox(&mut self, raw: RawMailbox) -> Option<MailboxConfig> {
        let endpoint = self.endpoint(
            "mailbox",
            raw.host,
            raw.port,
            raw.security,
            raw.ca_file,
            (993, 143),
        );
        let username = self.required_text("mailbox.username", raw.username);
        let password = self.required_secret("mailbox.password", SecretKind::Password, raw.password);
        let address = self.required_text("mailbox.address", raw.address);
        if let Some(address) = &address
            && !is_address(bare_address(address))
        {
            self.problem(
                "mailbox.address",
                format!(
                    "is {address:?}: expected an email address such as pat-requests@example.org"
                ),
            );
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
        let sent_folder = self.folder("mailbox.sent_folder", raw.sent_folder, "Sent");
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
        let mut seconds = |key: &str,
                           value: Option<u64>,
                           range: std::ops::RangeInclusive<u64>,
                           default: u64| match value {
            Some(value) if range.contains(&value) => value,
            Some(value) => {
                self.problem(
                    key,
                    format!(
                        "is {value}: accepted is {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
            None => default,
        };
        let command_timeout = seconds(
            "mailbox.command_timeout_seconds",
            raw.command_timeout_seconds,
            1..=600,
            60,
        );
        let poll = seconds("mailbox.poll_seconds", raw.poll_seconds, 1..=3600, 300);
        let idle_refresh = seconds(
            "mailbox.idle_refresh_minutes",
            raw.idle_refresh_minutes,
            1..=29,
            10,
        );
        Some(MailboxConfig {
            endpoint: endpoint?,
            username: username?,
            password: password?,
            address: address?.to_lowercase(),
            folder,
            processed_folder,
            quarantine_folder,
            sent_folder,
            sent_copy: match raw.sent_copy {
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

    fn smtp(&mut self, raw: RawSmtp) -> Option<SmtpConfig> {
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
        if let Some(from) = &from
            && !is_address(bare_address(from))
        {
            self.problem("smtp.from", format!("is {from:?}: expected an address such as \"PAT desk <pat-requests@example.org>\""));
        }
        Some(SmtpConfig {
            endpoint: endpoint?,
            login,
            from: from?,
        })
    }

    fn github(&mut self, raw: RawGithub) -> Option<GithubConfig> {
        let app_id = match raw.app_id {
            Some(0) | None => {
                self.problem(
                    "github.app_id",
                    "is missing: the numeric id of the GitHub App (its settings page shows it)",
                );
                None
            }
            Some(id) => Some(id),
        };
        let private_key = self.required_secret(
            "github.private_key",
            SecretKind::PemPrivateKey,
            raw.private_key,
        );
        let api_url = raw
            .api_url
            .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_string());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            self.problem(
                "github.api_url",
                format!("is {api_url:?}: expected an http(s) URL such as {DEFAULT_GITHUB_API_URL}"),
            );
        }
        let mut orgs: Vec<OrgConfig> = Vec::new();
        for (i, org) in raw.orgs.into_iter().enumerate() {
            let key = format!("github.orgs[{i}]");
            let login = self.required_text(&format!("{key}.login"), org.login);
            if let Some(login) = &login
                && !is_github_login(login)
            {
                self.problem(
                    &format!("{key}.login"),
                    format!(
                        "is {login:?}: an organisation login is 1 to 39 letters, digits or hyphens"
                    ),
                );
            }
            let installation_id = match org.installation_id {
                Some(0) | None => {
                    self.problem(
                        &format!("{key}.installation_id"),
                        "is missing: the App installation's id for this organisation",
                    );
                    None
                }
                id => id,
            };
            if let (Some(login), Some(installation_id)) = (login, installation_id) {
                if orgs
                    .iter()
                    .any(|seen| seen.login.eq_ignore_ascii_case(&login))
                {
                    self.problem(
                        &format!("{key}.login"),
                        format!("{login:?} is listed twice"),
                    );
                }
                orgs.push(OrgConfig {
                    login,
                    installation_id,
                });
            }
        }
        if orgs.is_empty() {
            self.problem("github.orgs", "is empty: list each organisation as [[github.orgs]] with login and installation_id");
        }
        let timeout_seconds = match raw.timeout_seconds {
            Some(seconds @ 1..=600) => seconds,
            Some(seconds) => {
                self.problem(
                    "github.timeout_seconds",
                    format!("is {seconds}: accepted is 1 to 600 (default 30)"),
                );
                30
            }
            None => 30,
        };
        let expiry_warning_days = match raw.expiry_warning_days {
            Some(days @ 0..=90) => days,
            Some(days) => {
                self.problem(
                    "github.expiry_warning_days",
                    format!("is {days}: accepted is 0 to 90 (default 7)"),
                );
                7
            }
            None => 7,
        };
        let mut seconds = |key: &str,
                           value: Option<u64>,
                           range: std::ops::RangeInclusive<u64>,
                           default: u64| match value {
            Some(seconds) if range.contains(&seconds) => seconds,
            Some(seconds) => {
                self.problem(
                    key,
                    format!(
                        "is {seconds}: accepted is {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
            None => default,
        };
        let sync_interval = seconds(
            "github.sync_interval_seconds",
            raw.sync_interval_seconds,
            1..=86_400,
            60,
        );
        let sync_debounce = seconds(
            "github.sync_debounce_seconds",
            raw.sync_debounce_seconds,
            0..=300,
            5,
        );
        Some(GithubConfig {
            app_id: app_id?,
            private_key: private_key?,
            api_url: api_url.trim_end_matches('/').to_string(),
            timeout: std::time::Duration::from_secs(timeout_seconds),
            expiry_warning_days,
            sync_interval: std::time::Duration::from_secs(sync_interval),
            sync_debounce: std::time::Duration::from_secs(sync_debounce),
            orgs,
        })
    }

    fn team(&mut self, members: raw::RawMembers) -> TeamConfig {
        let members = match members {
            raw::RawMembers::Mapped(members) => members,
            raw::RawMembers::Logins(logins) => {
                self.problem(
                    "team.members",
                    format!(
                        "is a list of logins: each member now names their OS account, which the daemon knows them by: [team.members] {} = {{ unix = \"their-user-name\" }}",
                        logins.first().map_or("alice", String::as_str)
                    ),
                );
                Default::default()
            }
        };
        let mut valid: Vec<TeamMember> = Vec::new();
        for (login, member) in members {
            let key = format!("team.members.{login}");
            if !is_github_login(&login) {
                self.problem(
                    "team.members",
                    format!("has {login:?}: expected GitHub logins (letters, digits, hyphens)"),
                );
                continue;
            }
            let Some(unix) = member.unix.filter(|unix| is_os_user_name(unix)) else {
                self.problem(
                    &key,
                    format!(
                        "needs the member's OS account: {login} = {{ unix = \"their-user-name\" }}"
                    ),
                );
                continue;
            };
            if let Some(twin) = valid
                .iter()
                .find(|known| known.login.eq_ignore_ascii_case(&login))
            {
                self.problem(
                    &key,
                    format!(
                        "is {} again: GitHub logins ignore case, so each member once",
                        twin.login
                    ),
                );
                continue;
            }
            if let Some(twin) = valid.iter().find(|known| known.unix == unix) {
                self.problem(
                    &key,
                    format!("maps the OS user {unix:?}, which is {} already: one OS account is one member", twin.login),
                );
                continue;
            }
            valid.push(TeamMember { login, unix });
        }
        TeamConfig { members: valid }
    }

    fn control(&mut self, raw: raw::RawControl) -> ControlConfig {
        if let Some(group) = &raw.group
            && !is_os_user_name(group)
        {
            self.problem(
                "control.group",
                format!("is {group:?}: expected a group name such as \"patdesk\""),
            );
        }
        ControlConfig {
            socket: self.path(raw.socket.unwrap_or_else(|| DEFAULT_CONTROL_SOCKET.into())),
            group: raw.group,
        }
    }

    fn folder(&mut self, key: &str, folder: Option<String>, default: &str) -> String {
        let folder = folder.unwrap_or_else(|| default.to_string());
        if folder.trim().is_empty() || folder.contains(['\r', '\n', '"']) {
            self.problem(
                key,
                format!("is {folder:?}: expected an IMAP folder name such as {default:?}"),
            );
        }
        folder
    }

    fn required_text(&mut self, key: &str, value: Option<String>) -> Option<String> {
        match value.map(|value| value.trim().to_string()) {
            Some(value) if !value.is_empty() => Some(value),
            _ => {
                self.problem(key, "is missing");
                None
            }
        }
    }

    fn review(&mut self, raw: RawReview) -> ReviewPolicy {
        let mut policy = ReviewPolicy::default();
        for (key, value, range, field) in [
            (
                "review.max_expiry_days",
                raw.max_expiry_days,
                1..=3650,
                &mut policy.max_expiry_days,
            ),
            (
                "review.min_purpose_chars",
                raw.min_purpose_chars,
                1..=1000,
                &mut policy.min_purpose_chars,
            ),
            (
                "review.min_token_name_chars",
                raw.min_token_name_chars,
                1..=100,
                &mut policy.min_token_name_chars,
            ),
        ] {
            match value {
                Some(value) if range.contains(&value) => *field = value,
                Some(value) => self.problem(
                    key,
                    format!(
                        "is {value}: accepted is {} to {}",
                        range.start(),
                        range.end()
                    ),
                ),
                None => {}
            }
        }
        for (key, value, field) in [
            (
                "review.critical_when_write",
                raw.critical_when_write,
                &mut policy.critical_when_write,
            ),
            (
                "review.high_when_read",
                raw.high_when_read,
                &mut policy.high_when_read,
            ),
        ] {
            let Some(slugs) = value else { continue };
            match slugs.iter().find(|slug| !is_permission_slug(slug)) {
                Some(bad) => self.problem(
                    key,
                    format!("has {bad:?}: expected permission slugs such as \"contents\" or \"organization_secrets\""),
                ),
                None => *field = slugs,
            }
        }
        if let Some(teams) = raw.org_permission_teams {
            match teams
                .iter()
                .find(|team| !is_github_login(team) && !team.contains('_'))
            {
                Some(bad) => self.problem(
                    "review.org_permission_teams",
                    format!("has {bad:?}: expected team slugs such as \"platform-team\""),
                ),
                None => policy.org_permission_teams = teams,
            }
        }
        if let Some(names) = raw.generic_token_names {
            policy.generic_token_names =
                names.into_iter().map(|name| name.to_lowercase()).collect();
        }
        policy
    }

    fn required_secret(
        &mut self,
        key: &str,
        kind: SecretKind,
        raw: Option<RawSecret>,
    ) -> Option<SecretRef> {
        let Some(raw) = raw else {
            self.problem(
                key,
                r#"is missing: give { file = "/path" } or { credential = "name" }"#,
            );
            return None;
        };
        match SecretRef::new(key, kind, &raw, &self.base, self.credentials.as_deref()) {
            Ok(secret) => Some(secret),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// GitHub's permission slugs: lower-case words joined by underscores.
fn is_permission_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// GitHub logins: letters, digits and single hyphens, at most 39 characters.
/// A POSIX-portable user or group name, as `useradd` accepts it.
pub fn is_os_user_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('-')
}

pub fn is_github_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && login.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !login.starts_with('-')
}
