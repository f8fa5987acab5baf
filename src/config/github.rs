//! `[github]`: the App, the orgs it is installed on, and how often they are synced.

use super::raw::RawGithub;
use super::team::is_github_login;
use super::web::url_problem;
use super::webhook::WebhookConfig;
use super::{DEFAULT_GITHUB_API_URL, SecretKind, SecretRef};

/// Whether `org` is one of `configured` (compared ignoring case, as GitHub does), or what to
/// say when it is not.
pub fn check_org(configured: &[String], org: &str) -> Result<(), String> {
    if configured
        .iter()
        .any(|known| known.eq_ignore_ascii_case(org))
    {
        Ok(())
    } else {
        Err(format!(
            "{org} is not among github.orgs: {}",
            configured.join(", ")
        ))
    }
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
    /// GitHub's webhook, received when configured.
    pub webhook: Option<WebhookConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgConfig {
    pub login: String,
    pub installation_id: u64,
}

impl super::Validator {
    pub(super) fn github(&mut self, raw: RawGithub) -> Option<GithubConfig> {
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
        // The installation token travels with every call.
        if let Some(problem) = url_problem(&api_url) {
            self.problem(
                "github.api_url",
                format!("is {api_url:?}: {problem} (GitHub's is {DEFAULT_GITHUB_API_URL})"),
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
        let timeout_seconds =
            self.within("github.timeout_seconds", raw.timeout_seconds, 1..=600, 30);
        let expiry_warning_days = self.within(
            "github.expiry_warning_days",
            raw.expiry_warning_days,
            0..=90,
            7,
        );
        let sync_interval = self.within(
            "github.sync_interval_seconds",
            raw.sync_interval_seconds,
            1..=86_400,
            60,
        );
        let sync_debounce = self.within(
            "github.sync_debounce_seconds",
            raw.sync_debounce_seconds,
            0..=300,
            5,
        );
        let webhook = raw.webhook.and_then(|webhook| self.webhook(webhook));
        Some(GithubConfig {
            app_id: app_id?,
            private_key: private_key?,
            api_url: api_url.trim_end_matches('/').to_string(),
            timeout: std::time::Duration::from_secs(timeout_seconds),
            expiry_warning_days,
            sync_interval: std::time::Duration::from_secs(sync_interval),
            sync_debounce: std::time::Duration::from_secs(sync_debounce),
            orgs,
            webhook,
        })
    }
}
