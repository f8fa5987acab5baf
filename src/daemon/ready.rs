//! One step from a config to what running it needs: every secret read, every key and file it
//! names parsed, every rule checked. `patdesk run` wires its tasks from what this returns, and
//! `patdesk check-config` takes the same step, so a config one refuses the other refuses too.
//! Nothing here starts, binds or opens anything: the database and the sockets are `run`'s.

use anyhow::anyhow;

use super::OAUTH_TIMEOUT;
use crate::clock::Clock;
use crate::config::{Config, ConfigError, Secret, SecretRef, SignIn};
use crate::github::GithubClient;
use crate::imap::MailboxAccess;
use crate::mail::compose::Templates;
use crate::oauth::{Credential, TokenSource};
use crate::smtp::Sender;
use crate::store::ChainKey;
use crate::sync::SyncOptions;

/// A config, read to the last file and ready to run.
pub struct Ready {
    /// What the audit chain's MACs are made with (from the signing key).
    pub chain_key: Option<ChainKey>,
    /// The mail templates, read once: the outbox writes its mail with them, the alerts task
    /// the weekly report.
    pub templates: Templates,
    pub github: Option<GithubReady>,
    /// GitHub's webhook secret, with [github.webhook].
    pub webhook_secret: Option<Secret>,
    /// What intake signs in to the mailbox with, with [mailbox].
    pub mailbox_credential: Option<Credential>,
    /// The key that signs and checks patdesk's Message-IDs, with [signing].
    pub signing_key: Option<Secret>,
    /// The outbox's sender, with [smtp].
    pub sender: Option<Sender>,
    pub slack_webhook: Option<Secret>,
    /// Slack's Web API with the app's two tokens, with [slack].
    pub slack: Option<crate::slack::WebApi>,
    /// The team's policy, read and checked, with [policy].
    pub policy: Option<crate::policy::Policy>,
}

/// The GitHub App's client and how the sync reads people and rules.
pub struct GithubReady {
    pub client: GithubClient,
    pub options: SyncOptions,
}

/// Reads and checks everything `config` names.
pub fn ready(config: &Config, clock: &Clock) -> anyhow::Result<Ready> {
    let read = |secret: &SecretRef| {
        secret.read().map_err(|problem| ConfigError::Invalid {
            path: config.source.clone(),
            problems: vec![problem],
        })
    };
    // One token source for the mailbox and SMTP: the provider grants one token for both.
    let tokens = config
        .oauth2
        .as_ref()
        .map(|oauth2| TokenSource::new(oauth2, OAUTH_TIMEOUT, clock.clone()))
        .transpose()?;
    let credential = |sign_in: &SignIn| {
        Credential::for_sign_in(sign_in, tokens.as_ref()).map_err(|problem| ConfigError::Invalid {
            path: config.source.clone(),
            problems: vec![problem],
        })
    };
    let templates = Templates::load(config.templates_dir.as_deref())?;
    let github = config
        .github
        .as_ref()
        .map(|github| -> anyhow::Result<GithubReady> {
            let key = read(&github.private_key)?;
            Ok(GithubReady {
                client: GithubClient::for_config(github, &key, clock.clone())?,
                options: SyncOptions::from_config(config, github)
                    .map_err(|error| anyhow!(error))?,
            })
        })
        .transpose()?;
    let webhook_secret = config
        .github
        .as_ref()
        .and_then(|github| github.webhook.as_ref())
        .map(|webhook| read(&webhook.secret))
        .transpose()?;
    let mailbox_credential = config
        .mailbox
        .as_ref()
        .map(|mailbox| credential(&mailbox.sign_in))
        .transpose()?;
    let signing_key = config.signing_key.as_ref().map(read).transpose()?;
    let sender = match (&config.smtp, &signing_key) {
        (None, _) => None,
        // Config::load refuses this already; a config built another way must not get past it.
        (Some(_), None) => return Err(anyhow!("[smtp] is set but [signing] key is not")),
        (Some(smtp), Some(signing_key)) => {
            let login = smtp
                .login
                .as_ref()
                .map(|login| credential(&login.sign_in))
                .transpose()?;
            let reply_to = match &config.mailbox {
                Some(mailbox) => mailbox.address.clone(),
                None => smtp.from.clone(),
            };
            let mut sender = Sender::new(
                smtp,
                login,
                signing_key.clone(),
                templates.clone(),
                &reply_to,
            )?
            .with_limits(config.send_limits);
            if let Some(mailbox) = &config.mailbox {
                sender = sender.with_mailbox(MailboxAccess::new(
                    mailbox.clone(),
                    credential(&mailbox.sign_in)?,
                ));
            }
            Some(sender)
        }
    };
    Ok(Ready {
        chain_key: signing_key
            .as_ref()
            .map(|key| ChainKey::from_signing_key(key.expose().as_bytes())),
        templates,
        github,
        webhook_secret,
        mailbox_credential,
        signing_key,
        sender,
        slack_webhook: config.alerts.slack_webhook.as_ref().map(read).transpose()?,
        slack: config
            .slack
            .as_ref()
            .map(|slack| -> anyhow::Result<crate::slack::WebApi> {
                Ok(crate::slack::WebApi::new(
                    &slack.api_url,
                    read(&slack.app_token)?,
                    read(&slack.bot_token)?,
                )?)
            })
            .transpose()?,
        policy: config
            .policy
            .as_ref()
            .map(|policy| crate::policy::Policy::load(&policy.file))
            .transpose()?,
    })
}
