//! patdesk's configuration: one TOML file, read into a raw form ([`raw`]) and validated into a
//! typed [`Config`]. Every problem names the file and the key, and says what is accepted; all
//! problems are reported at once, so an admin fixes the file in one pass.

mod alerts;
mod credentials;
mod decision_policy;
mod github;
mod intervals;
mod mail;
mod mailbox;
mod oauth2;
mod policy;
mod provider;
mod raw;
mod reading;
mod review;
mod secret;
mod slack;
mod smtp;
mod store;
mod team;
mod web;
mod webhook;

use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use crate::address::{bare_address, is_address};
pub use alerts::{AlertsConfig, ReportTime, SendHead};
pub use credentials::{CredentialFiles, UNITS};
pub use decision_policy::{PolicyConfig, PolicyMode};
pub use github::{GithubConfig, OrgConfig, check_org};
pub use intervals::Intervals;
pub use mail::SendLimits;
pub use mailbox::{Acknowledge, Endpoint, MailboxConfig, Security, SentCopy, SignIn};
pub use oauth2::{GOOGLE_SCOPE, GOOGLE_TOKEN_URL, Grant, MICROSOFT_SCOPE, OauthConfig};
pub use policy::{
    DEFAULT_MAX_MESSAGE_BYTES, MailPolicy, PerRisk, ReasonFrom, Reminders, ReplyTrust, ReviewPolicy,
};
pub use provider::{Filled, Provider};
use raw::{RawConfig, RawSecret};
pub use reading::Position;
pub use secret::{Secret, SecretKind, SecretOrigin, SecretRef};
pub use slack::{DEFAULT_SLACK_API_URL, SlackConfig, is_slack_id};
pub use smtp::{SmtpConfig, SmtpLogin};
pub use store::{ScheduledBackups, StoreConfig};
pub use team::{
    ControlConfig, DEFAULT_CONTROL_SOCKET, TeamConfig, TeamMember, control_socket_despite_errors,
    is_github_login, is_os_user_name,
};
pub use webhook::WebhookConfig;

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
    /// The SHA-256 of the text it was read from: how the daemon tells whether the file has
    /// changed since.
    pub source_digest: String,
    pub store: StoreConfig,
    pub mail: MailPolicy,
    pub mailbox: Option<MailboxConfig>,
    pub smtp: Option<SmtpConfig>,
    /// Where access tokens come from, for a mailbox or SMTP server signed in to with OAuth 2.
    pub oauth2: Option<OauthConfig>,
    /// What `mailbox.provider` filled in, for `check-config` to say.
    pub filled: Vec<Filled>,
    pub github: Option<GithubConfig>,
    pub team: TeamConfig,
    pub control: ControlConfig,
    pub review: ReviewPolicy,
    /// The admin's mail templates (`question.txt`, …); patdesk's own where none is given.
    pub templates_dir: Option<PathBuf>,
    /// A CSV of `login,email` the team keeps: the first place a requester's address is
    /// looked up.
    pub people_directory: Option<PathBuf>,
    /// The domains a requester's public GitHub profile address may be on to be written to
    /// (subdomains included); lower-case.
    pub people_allowed_domains: Vec<String>,
    /// Signs the Message-IDs of outgoing mail so replies can be threaded without trusting
    /// the subject line.
    pub signing_key: Option<SecretRef>,
    /// How requesters who do not answer are reminded.
    pub reminders: Reminders,
    pub alerts: AlertsConfig,
    /// How much mail may leave: per recipient, and in all (the breaker).
    pub send_limits: SendLimits,
    /// How often the daemon's tasks look again unasked.
    pub intervals: Intervals,
    /// Decisions from the team's Slack channel.
    pub slack: Option<SlackConfig>,
    /// The team's policy file and what the daemon does with it.
    pub policy: Option<PolicyConfig>,
}

/// One thing wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
    /// Where in the file, when the key (or its table) is written there.
    pub at: Option<Position>,
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
            write!(f, "  - `{}`", problem.key)?;
            if let Some(at) = problem.at {
                write!(f, " ({at})")?;
            }
            write!(f, ": {}", problem.message)?;
        }
        Ok(())
    }
}

impl Config {
    /// Every secret the config names, for `check-config` and for the parts that read them.
    pub fn secret_refs(&self) -> Vec<&SecretRef> {
        let mut refs = Vec::new();
        if let Some(SignIn::Password(password)) = self.mailbox.as_ref().map(|m| &m.sign_in) {
            refs.push(password);
        }
        if let Some(SignIn::Password(password)) = self
            .smtp
            .as_ref()
            .and_then(|smtp| smtp.login.as_ref())
            .map(|login| &login.sign_in)
        {
            refs.push(password);
        }
        if let Some(oauth2) = &self.oauth2 {
            refs.extend(oauth2.secret_refs());
        }
        if let Some(github) = &self.github {
            refs.push(&github.private_key);
            refs.extend(github.webhook.as_ref().map(|webhook| &webhook.secret));
        }
        refs.extend(self.signing_key.as_ref());
        refs.extend(self.alerts.slack_webhook.as_ref());
        if let Some(slack) = &self.slack {
            refs.push(&slack.app_token);
            refs.push(&slack.bot_token);
        }
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
        Config::load_with(path, CredentialFiles::from_environment())
    }

    pub fn load_with_credentials(
        path: &Path,
        credentials: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let credentials = credentials.map(|dir| CredentialFiles::Directory(dir.to_path_buf()));
        Config::load_with(path, credentials)
    }

    /// Reads and validates `path`, taking systemd credentials from `credentials`.
    pub fn load_with(
        path: &Path,
        credentials: Option<CredentialFiles>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Config::validate(&text, path, credentials)
    }

    /// Validates config text as if read from `path` (relative paths resolve beside it).
    pub fn from_toml(
        text: &str,
        path: &Path,
        credentials: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let credentials = credentials.map(|dir| CredentialFiles::Directory(dir.to_path_buf()));
        Config::validate(text, path, credentials)
    }

    fn validate(
        text: &str,
        path: &Path,
        credentials: Option<CredentialFiles>,
    ) -> Result<Config, ConfigError> {
        let (raw, mut problems, document) =
            reading::read(text).map_err(|message| ConfigError::Syntax {
                path: path.to_path_buf(),
                message,
            })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut validator = Validator {
            base,
            credentials: credentials.clone(),
            problems: Vec::new(),
            filled: Vec::new(),
        };
        let config = validator.config(raw, path);
        // A key whose value could not be read at all is left out of what the validator sees:
        // it would only say the key is missing.
        let unreadable: Vec<String> = problems.iter().map(|problem| problem.key.clone()).collect();
        problems.extend(
            validator
                .problems
                .into_iter()
                .filter(|problem| !unreadable.contains(&problem.key)),
        );
        for problem in &mut problems {
            problem.at = problem.at.or_else(|| document.locate(&problem.key));
        }
        // In the file's order; those not written in it (a missing section's keys) last.
        problems.sort_by_key(|problem| problem.at.map_or((1, 0, 0), |at| (0, at.line, at.column)));
        if problems.is_empty() {
            Ok(Config {
                source_digest: digest_of(text),
                ..config
            })
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}

/// The SHA-256 of a config's text, in lowercase hex.
pub fn digest_of(text: &str) -> String {
    use sha2::Digest as _;
    crate::hex::encode(&sha2::Sha256::digest(text.as_bytes()))
}

/// Turns the raw form into the typed one, collecting every problem on the way. Where a value
/// is wrong a placeholder stands in, so validation can go on; the config is discarded then.
struct Validator {
    base: PathBuf,
    credentials: Option<CredentialFiles>,
    problems: Vec<Problem>,
    /// What a provider preset filled in.
    filled: Vec<Filled>,
}

impl Validator {
    fn problem(&mut self, key: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: key.to_string(),
            message: message.into(),
            at: None,
        });
    }

    fn config(&mut self, raw: RawConfig, path: &Path) -> Config {
        let store = self.store(raw.store);
        let templates_dir = self.templates_dir(raw.mail.templates_dir.clone());
        let reminders = self.reminders(raw.mail.reminders, raw.mail.reminder_interval_hours);
        let send_limits = self.send_limits(&raw.mail);
        let mail = self.mail(raw.mail);
        // Rules across sections look at which sections are there: a section with a mistake
        // has its own problem already.
        let has_smtp = raw.smtp.is_some();
        let has_signing = raw.signing.is_some();
        let has_oauth2 = raw.oauth2.is_some();
        let provider = raw
            .mailbox
            .as_ref()
            .and_then(|mailbox| mailbox.provider)
            .map_or(Provider::Generic, Provider::from_raw);
        let mailbox_username = raw
            .mailbox
            .as_ref()
            .and_then(|mailbox| mailbox.server.username.clone());
        let mailbox = raw
            .mailbox
            .map(|mailbox| self.mailbox(mailbox, provider, has_oauth2));
        let smtp = raw
            .smtp
            .and_then(|smtp| self.smtp(smtp, provider, has_oauth2));
        let oauth2 = raw
            .oauth2
            .and_then(|oauth2| self.oauth2(oauth2, mailbox_username.as_deref()));
        let github = raw.github.map(|github| self.github(github));
        let team = self.team(raw.team.members);
        let control = self.control(raw.control);
        let approvals_set = raw.review.approvals_needed.is_some();
        let review = self.review(raw.review);
        let signing_key = raw.signing.and_then(|signing| {
            self.required_secret("signing.key", SecretKind::Password, signing.key)
        });
        let alerts = self.alerts(raw.alerts);
        let intervals = self.intervals(raw.intervals);
        let slack = raw.slack.and_then(|slack| self.slack(slack));
        let policy = raw.policy.and_then(|policy| self.decision_policy(policy));
        let team_address = mailbox
            .as_ref()
            .and_then(|mailbox| mailbox.as_ref())
            .map(|mailbox| mailbox.address.as_str());
        let people_allowed_domains =
            self.people_allowed_domains(raw.people.allowed_domains, team_address);
        // What `run` would otherwise refuse only once it starts.
        if has_smtp && !has_signing {
            self.problem(
                "signing.key",
                "is missing, and [smtp] is set: patdesk signs the Message-IDs of its mail so replies can be threaded",
            );
        }
        // An approval by the owner does not count: a threshold the team cannot reach leaves
        // those requests for ever undecided.
        let needed = review.approvals_needed;
        let most = needed
            .low
            .max(needed.medium)
            .max(needed.high)
            .max(needed.critical);
        if approvals_set && most as usize > team.members.len() {
            self.problem(
                "review.approvals_needed",
                format!(
                    "asks for {most} approvals but [team] has {} member(s): each approval is a distinct member's",
                    team.members.len()
                ),
            );
        }
        if alerts.email.is_some() && !has_smtp {
            self.problem(
                "alerts.email",
                "is set but [smtp] is not: alert mail cannot be sent; add [smtp] or remove alerts.email",
            );
        }
        Config {
            alerts,
            intervals,
            slack,
            policy,
            send_limits,
            source: path.to_path_buf(),
            source_digest: String::new(),
            store,
            mail,
            mailbox: mailbox.flatten(),
            smtp,
            oauth2,
            filled: std::mem::take(&mut self.filled),
            github: github.flatten(),
            team,
            control,
            review,
            people_directory: raw.people.directory.map(|path| self.people_directory(path)),
            people_allowed_domains,
            templates_dir,
            signing_key,
            reminders,
        }
    }

    /// `value` at `key` when it lies in `range`, else `default` and a problem that names the
    /// range; `default` when the key is not given. The one range check every section uses.
    fn within<T>(&mut self, key: &str, value: Option<T>, range: RangeInclusive<T>, default: T) -> T
    where
        T: PartialOrd + Copy + std::fmt::Display,
    {
        match value {
            None => default,
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
        }
    }

    /// A count from 1 to `max` at `key`; `default` when it is not given or wrong.
    fn count(&mut self, key: &str, value: Option<u64>, max: u64, default: usize) -> usize {
        let default_count = u64::try_from(default).unwrap_or(max);
        let count = self.within(key, value, 1..=max, default_count);
        usize::try_from(count).unwrap_or(default)
    }

    /// Records a problem unless `value` is an email address (bare, or as `Name <address>`).
    fn address(&mut self, key: &str, value: &str, example: &str) {
        if !is_address(bare_address(value)) {
            self.problem(
                key,
                format!("is {value:?}: expected an email address such as {example}"),
            );
        }
    }

    fn path(&self, path: PathBuf) -> PathBuf {
        self.base.join(path)
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
        match SecretRef::new(key, kind, &raw, &self.base, self.credentials.as_ref()) {
            Ok(secret) => Some(secret),
            Err(message) => {
                self.problem(key, message);
                None
            }
        }
    }
}
