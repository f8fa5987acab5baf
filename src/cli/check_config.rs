//! `patdesk check-config`: validates the config and reads every secret, showing none.

use std::path::Path;

use super::Failure;
use crate::clock::Clock;
use crate::config::{
    Config, CredentialFiles, Endpoint, GithubConfig, Security, SentCopy, SignIn, SlackConfig, UNITS,
};
use crate::github::GithubClient;
use crate::imap::MailboxAccess;
use crate::mail::compose::Templates;
use crate::oauth::{Credential, TokenSource};
use crate::slack::WebApi;

/// How long each step of `--connect` may take.
const CONNECT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// Also sign in: get an OAuth 2 token, log in to the mailbox over IMAP, sign in to GitHub
    /// as the App and read each org's pending requests, log in to the SMTP server, and name
    /// the step that failed
    #[arg(long)]
    pub connect: bool,
}

pub fn run(path: &Path, args: &CheckConfigArgs, clock: &Clock, json: bool) -> Result<(), Failure> {
    // Run by hand on the installed host, nothing sets $CREDENTIALS_DIRECTORY: the secrets are
    // read where the unit loads them from, so the check reads what the service will. So too
    // as the unit's reload check, run as root outside the service's namespace: systemd sets
    // the variable, but the folder it names is the service's alone.
    let units = UNITS.map(Path::new);
    let credentials = CredentialFiles::from_environment()
        .filter(|files| match files {
            CredentialFiles::Directory(dir) => dir.is_dir(),
            CredentialFiles::Unit { .. } => true,
        })
        .or_else(|| CredentialFiles::from_units(&units));
    let config = Config::load_with(path, credentials.clone())?;
    config.check_secrets()?;
    Templates::load(config.templates_dir.as_deref())
        .and_then(|templates| templates.check())
        .map_err(|error| Failure {
            code: super::exit::CONFIG,
            error: anyhow::anyhow!("{}: mail templates: {error}", config.source.display()),
        })?;
    // What `run` reads and parses before it starts anything: a key that does not parse, a
    // broken people directory line. A config check-config passes, run takes.
    crate::daemon::ready(&config, clock).map_err(|error| Failure {
        code: super::exit::CONFIG,
        error: anyhow::anyhow!("{}: {error:#}", config.source.display()),
    })?;
    if let (Some(CredentialFiles::Unit { unit, .. }), false) = (&credentials, json) {
        out!(
            "credentials read where {} loads them (LoadCredential=), as $CREDENTIALS_DIRECTORY is not set",
            unit.display()
        );
    }
    let report = report(&config);
    if json {
        out!("{}", report.json(&config));
    } else {
        super::emit(&report.readable(&config));
    }
    if args.connect {
        connect(&config, clock, json)?;
    }
    Ok(())
}

/// Each sign-in the daemon makes, in its order; stops at the first that fails, naming it.
fn connect(config: &Config, clock: &Clock, json: bool) -> Result<(), Failure> {
    let ok = |step: &str| {
        if json {
            out!("{}", serde_json::json!({ "ok": step }));
        } else {
            out!("ok: {step}");
        }
    };
    let failed = |step: String, error: String| Failure {
        code: super::exit::FAILURE,
        error: anyhow::anyhow!("{step} failed: {error}"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow::anyhow!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async {
        let tokens = match &config.oauth2 {
            Some(oauth2) => {
                let step = format!("getting an OAuth 2 token from {}", oauth2.token_url);
                let tokens = TokenSource::new(oauth2, CONNECT_DEADLINE, clock.clone())
                    .map_err(|e| failed(step.clone(), e.to_string()))?;
                tokens
                    .token()
                    .await
                    .map_err(|e| failed(step.clone(), e.to_string()))?;
                ok(&step);
                Some(tokens)
            }
            None => None,
        };
        let credential = |sign_in: &SignIn| {
            Credential::for_sign_in(sign_in, tokens.as_ref()).map_err(|problem| {
                failed(
                    "reading the sign-in secret".to_string(),
                    format!("`{}` {}", problem.key, problem.message),
                )
            })
        };
        if let Some(mailbox) = &config.mailbox {
            let step = format!(
                "signing in to IMAP {} as {}",
                endpoint(&mailbox.endpoint),
                mailbox.username
            );
            let access = MailboxAccess::new(mailbox.clone(), credential(&mailbox.sign_in)?);
            access
                .check_sign_in()
                .await
                .map_err(|e| failed(step.clone(), e.to_string()))?;
            ok(&step);
        }
        if let Some(github) = &config.github {
            check_github(github, clock, &ok, &failed).await?;
        }
        if let Some(slack) = &config.slack {
            check_slack(slack, &ok, &failed).await?;
        }
        if let Some(smtp) = &config.smtp {
            let step = match &smtp.login {
                Some(login) => format!(
                    "signing in to SMTP {} as {}",
                    endpoint(&smtp.endpoint),
                    login.username
                ),
                None => format!("connecting to SMTP {}", endpoint(&smtp.endpoint)),
            };
            let login = smtp
                .login
                .as_ref()
                .map(|login| credential(&login.sign_in))
                .transpose()?;
            crate::smtp::check_sign_in(smtp, login)
                .await
                .map_err(|e| failed(step.clone(), e.to_string()))?;
            ok(&step);
        }
        Ok(())
    })
}

/// GitHub as the daemon meets it: for each org, the App's sign-in (its JWT exchanged for the
/// installation's token: a wrong App id, key or installation fails here) and one page of the
/// pending requests (a missing permission, or an org the installation is not on, fails here).
async fn check_github(
    github: &GithubConfig,
    clock: &Clock,
    ok: &impl Fn(&str),
    failed: &impl Fn(String, String) -> Failure,
) -> Result<(), Failure> {
    let step = format!(
        "reading the GitHub App's key ({})",
        github.private_key.origin()
    );
    let key = github.private_key.read().map_err(|problem| {
        failed(
            step.clone(),
            format!("`{}` {}", problem.key, problem.message),
        )
    })?;
    let client = GithubClient::for_config(github, &key, clock.clone())
        .map_err(|e| failed(step.clone(), e.to_string()))?;
    for org in &github.orgs {
        let step = format!(
            "signing in to GitHub ({}) as App {} on installation {} ({})",
            github.api_url, github.app_id, org.installation_id, org.login
        );
        client
            .check_sign_in(&org.login)
            .await
            .map_err(|e| failed(step.clone(), e.to_string()))?;
        ok(&step);
        let step = format!("reading {}'s pending token requests", org.login);
        client
            .pending_request_pages(&org.login)
            .next()
            .await
            .map_err(|e| failed(step.clone(), e.to_string()))?;
        ok(&step);
    }
    Ok(())
}

/// Slack as the daemon meets it: the app-level token opens a Socket Mode connection URL, the
/// bot token signs in to the configured workspace, and the bot is in the channel (it can post
/// nothing otherwise).
async fn check_slack(
    slack: &SlackConfig,
    ok: &impl Fn(&str),
    failed: &impl Fn(String, String) -> Failure,
) -> Result<(), Failure> {
    let read = |secret: &crate::config::SecretRef| {
        secret.read().map_err(|problem| {
            failed(
                format!("reading {}", secret.key()),
                format!("`{}` {}", problem.key, problem.message),
            )
        })
    };
    let api = WebApi::new(
        &slack.api_url,
        read(&slack.app_token)?,
        read(&slack.bot_token)?,
    )
    .map_err(|e| failed("setting up Slack's Web API".to_string(), e.to_string()))?;
    let step = format!(
        "opening a Socket Mode connection URL at {} with the app-level token",
        slack.api_url
    );
    api.open_connection()
        .await
        .map_err(|e| failed(step.clone(), e.to_string()))?;
    ok(&step);
    let step = format!(
        "signing in to Slack workspace {} with the bot token",
        slack.team_id
    );
    let team = api
        .bot_identity()
        .await
        .map_err(|e| failed(step.clone(), e.to_string()))?;
    if team != slack.team_id {
        return Err(failed(
            step,
            format!(
                "the bot token is for workspace {}, not slack.team_id",
                crate::shown::quoted(&team, 40)
            ),
        ));
    }
    ok(&step);
    let step = format!("finding the bot in channel {}", slack.channel);
    match api.bot_in_channel(&slack.channel).await {
        Ok(true) => ok(&step),
        Ok(false) => {
            return Err(failed(
                step,
                "the bot is not a member: invite the app to the channel (/invite @yourapp)"
                    .to_string(),
            ));
        }
        Err(e) => return Err(failed(step, e.to_string())),
    }
    Ok(())
}

/// What `check-config` found: each section in a line, what is not configured, and what this
/// host lacks.
struct Report {
    lines: Vec<(&'static str, String)>,
    missing: Vec<&'static str>,
    warnings: Vec<String>,
}

impl Report {
    fn readable(&self, config: &Config) -> String {
        let width = self
            .lines
            .iter()
            .map(|(label, _)| label.len())
            .max()
            .unwrap_or(0);
        let mut out = format!(
            "{} is valid; every secret it names was read.\n",
            config.source.display()
        );
        for (label, value) in &self.lines {
            out.push_str(&format!("  {label:width$}  {value}\n"));
        }
        for filled in &config.filled {
            out.push_str(&format!(
                "filled by mailbox.provider = {:?}: {} = {:?}\n",
                filled.provider.name(),
                filled.key,
                filled.value
            ));
        }
        if !self.missing.is_empty() {
            out.push_str(&format!("not configured: {}\n", self.missing.join(", ")));
        }
        for warning in &self.warnings {
            out.push_str(&format!("warning: {warning}\n"));
        }
        out
    }

    fn json(&self, config: &Config) -> serde_json::Value {
        let sections: serde_json::Map<String, serde_json::Value> = self
            .lines
            .iter()
            .map(|(label, value)| (label.to_string(), serde_json::Value::from(value.as_str())))
            .collect();
        let filled: Vec<serde_json::Value> = config
            .filled
            .iter()
            .map(|filled| {
                serde_json::json!({
                    "provider": filled.provider.name(),
                    "key": filled.key,
                    "value": filled.value,
                })
            })
            .collect();
        serde_json::json!({
            "config": config.source.display().to_string(),
            "valid": true,
            "sections": sections,
            "filled": filled,
            "not_configured": self.missing,
            "warnings": self.warnings,
        })
    }
}

fn report(config: &Config) -> Report {
    let mut lines: Vec<(&str, String)> = Vec::new();
    lines.push(("store", config.store.path.display().to_string()));
    let ids = &config.mail.trusted_authserv_ids;
    lines.push((
        "mail",
        format!(
            "trusted authserv-ids: {}; bodies parsed up to {} bytes",
            if ids.is_empty() {
                "none (every mail is unverified)".to_string()
            } else {
                ids.join(", ")
            },
            config.mail.max_message_bytes
        ),
    ));
    let mut missing = Vec::new();
    match &config.mailbox {
        Some(mailbox) => lines.push((
            "mailbox",
            format!(
                "{} as {} ({}), {} → {}, quarantine {}, sent copies in {} ({}); {}",
                endpoint(&mailbox.endpoint),
                mailbox.username,
                mailbox.address,
                mailbox.folder,
                mailbox.processed_folder,
                mailbox.quarantine_folder,
                mailbox.sent_folder,
                match mailbox.sent_copy {
                    SentCopy::Append => "appended by patdesk",
                    SentCopy::Server => "filed by the server",
                },
                sign_in(&mailbox.sign_in)
            ),
        )),
        None => missing.push("mailbox"),
    }
    match &config.smtp {
        Some(smtp) => lines.push((
            "smtp",
            format!(
                "{} from {}; {}",
                endpoint(&smtp.endpoint),
                smtp.from,
                match &smtp.login {
                    Some(login) => format!("login {}, {}", login.username, sign_in(&login.sign_in)),
                    None => "no login".to_string(),
                }
            ),
        )),
        None => missing.push("smtp"),
    }
    if let Some(oauth2) = &config.oauth2 {
        lines.push(("oauth2", oauth2.describe()));
    }
    match &config.github {
        Some(github) => lines.push((
            "github",
            format!(
                "App {} at {}, key from {}; orgs: {}",
                github.app_id,
                github.api_url,
                github.private_key.origin(),
                github
                    .orgs
                    .iter()
                    .map(|org| format!("{} (installation {})", org.login, org.installation_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
        None => missing.push("github"),
    }
    if let Some(webhook) = config
        .github
        .as_ref()
        .and_then(|github| github.webhook.as_ref())
    {
        lines.push((
            "webhook",
            format!(
                "GitHub's deliveries on {} (bodies up to {} bytes), secret from {}",
                webhook.listen,
                webhook.max_body_bytes,
                webhook.secret.origin()
            ),
        ));
    }
    if config.team.members.is_empty() {
        missing.push("team.members");
    } else {
        let members: Vec<String> = config
            .team
            .members
            .iter()
            .map(|member| match &member.slack {
                Some(slack) => format!(
                    "{} (OS user {}, Slack user {slack})",
                    member.login, member.unix
                ),
                None => format!("{} (OS user {})", member.login, member.unix),
            })
            .collect();
        lines.push(("team", members.join(", ")));
    }
    if let Some(policy) = &config.policy {
        lines.push((
            "policy",
            format!(
                "{} ({}: {}); it parses and answers",
                policy.file.display(),
                policy.mode.as_str(),
                match policy.mode {
                    crate::config::PolicyMode::Off => "not asked",
                    crate::config::PolicyMode::Shadow =>
                        "its answers recorded and shown, a person decides",
                    crate::config::PolicyMode::Enforce =>
                        "its approvals and denials decide, above the floor, once no backtest case is left unaccepted",
                }
            ),
        ));
    }
    if let Some(slack) = &config.slack {
        let deciders = config
            .team
            .members
            .iter()
            .filter(|member| member.slack.is_some())
            .count();
        lines.push((
            "slack",
            format!(
                "Socket Mode to channel {} of workspace {} (app {}), decides up to {} risk, {deciders} member(s) mapped by Slack user ID; tokens from {} and {}",
                slack.channel,
                slack.team_id,
                slack.app_id,
                slack.decide_up_to.as_str(),
                slack.app_token.origin(),
                slack.bot_token.origin()
            ),
        ));
    }
    lines.push((
        "control",
        format!(
            "socket {}, mode 0660, group {}",
            config.control.socket.display(),
            config
                .control
                .group
                .as_deref()
                .unwrap_or("(the daemon's own)")
        ),
    ));
    lines.push((
        "templates",
        match &config.templates_dir {
            Some(dir) => format!(
                "{} (patdesk's own where it has none); each renders",
                dir.display()
            ),
            None => "patdesk's own; each renders".to_string(),
        },
    ));
    match &config.signing_key {
        Some(key) => lines.push(("signing", format!("key from {}", key.origin()))),
        None => missing.push("signing"),
    }

    Report {
        lines,
        missing,
        warnings: host_warnings(config),
    }
}

/// What the config names that this host does not have: members whose OS account does not
/// exist cannot use the control socket, and a missing group stops the daemon.
fn host_warnings(config: &Config) -> Vec<String> {
    let mut warnings: Vec<String> = config
        .team
        .members
        .iter()
        .filter(|member| crate::control::peer::user_id(&member.unix).is_none())
        .map(|member| {
            format!(
                "team.members.{}: the OS user {:?} does not exist on this host, so {} cannot decide (useradd {}, or fix the name)",
                member.login, member.unix, member.login, member.unix
            )
        })
        .collect();
    if let Some(webhook) = config
        .github
        .as_ref()
        .and_then(|github| github.webhook.as_ref())
        && webhook.listen.ip().is_unspecified()
    {
        warnings.push(format!(
            "github.webhook.listen is {}: every address of this host; put it on loopback behind the reverse proxy or tunnel that owns TLS (\"127.0.0.1:{}\")",
            webhook.listen,
            webhook.listen.port()
        ));
    }
    if let Some(group) = &config.control.group
        && crate::control::peer::group_id(group).is_none()
    {
        warnings.push(format!(
            "control.group: the group {group:?} does not exist on this host; the daemon will refuse to start (groupadd {group})"
        ));
    }
    warnings
}

fn sign_in(sign_in: &SignIn) -> String {
    match sign_in {
        SignIn::Password(password) => format!("password from {}", password.origin()),
        SignIn::Oauth2 => "OAuth 2 token from [oauth2]".to_string(),
    }
}

fn endpoint(endpoint: &Endpoint) -> String {
    let security = match endpoint.security {
        Security::Tls => "TLS",
        Security::StartTls => "STARTTLS",
        Security::Plaintext => "plaintext",
    };
    let ca = endpoint
        .ca_file
        .as_ref()
        .map(|ca| format!(", extra CA {}", ca.display()))
        .unwrap_or_default();
    format!("{}:{} ({security}{ca})", endpoint.host, endpoint.port)
}
