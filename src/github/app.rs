//! The App's own credentials: a JWT signed with its private key, exchanged for an
//! installation token per org, cached until shortly before it expires.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, Header};
use reqwest::header;
use serde::Serialize;

use super::exchange::{API_VERSION, Failure, decode, github_message, read_capped};
use super::{GithubClient, GithubError, InstallationToken};

/// An installation token lives an hour; renew it this long before it expires.
const TOKEN_RENEWAL_MARGIN: Duration = Duration::from_secs(5 * 60);

pub(super) struct CachedToken {
    token: String,
    expires_at: Timestamp,
}

impl GithubClient {
    pub(super) fn installation_of(&self, org: &str) -> Result<u64, GithubError> {
        self.installations
            .get(&org.to_lowercase())
            .copied()
            .ok_or_else(|| GithubError::UnknownOrg {
                org: org.to_string(),
            })
    }

    /// Signs in as the App for `org`: a JWT exchanged for the installation's token, as every
    /// call does first (for `check-config --connect`).
    pub async fn check_sign_in(&self, org: &str) -> Result<(), GithubError> {
        self.installation_token(org).await.map(drop)
    }

    /// The installation's token, fetched with a fresh App JWT when none is cached or the
    /// cached one is about to expire.
    pub(super) async fn installation_token(&self, org: &str) -> Result<String, GithubError> {
        let installation = self.installation_of(org)?;
        let mut tokens = self.tokens.lock().await;
        let renew_after = self.clock.now()
            + jiff::SignedDuration::try_from(TOKEN_RENEWAL_MARGIN).unwrap_or_default();
        if let Some(cached) = tokens.get(&installation)
            && cached.expires_at > renew_after
        {
            return Ok(cached.token.clone());
        }
        let token = self.fetch_installation_token(org, installation).await?;
        let value = token.token.clone();
        tokens.insert(
            installation,
            CachedToken {
                token: token.token,
                expires_at: token.expires_at,
            },
        );
        Ok(value)
    }

    async fn fetch_installation_token(
        &self,
        org: &str,
        installation: u64,
    ) -> Result<InstallationToken, GithubError> {
        let what = "an installation token";
        let url = format!(
            "{}/app/installations/{installation}/access_tokens",
            self.api_url
        );
        let url = &url;
        // No org: a stale token is not the question here, the App's own credentials are.
        self.retrying(what, None, || async move {
            let jwt = self.app_jwt().map_err(Failure::Final)?;
            let sent = self
                .http
                .post(url)
                .bearer_auth(jwt)
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION)
                .send()
                .await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let response = sent.map_err(|error| Failure::Retry(error.to_string(), None))?;
            let status = response.status();
            let body = read_capped(response).await.unwrap_or_default();
            let message = || github_message(&body);
            Err(Failure::Final(match status.as_u16() {
                200 | 201 => return decode(&body, what).map_err(Failure::Final),
                401 => GithubError::Credentials {
                    status: 401,
                    message: message(),
                },
                404 => GithubError::NoInstallation {
                    org: org.to_string(),
                    installation,
                    message: message(),
                },
                403 => GithubError::Forbidden {
                    what: what.to_string(),
                    message: message(),
                },
                // Anything else, a 5xx or a rate limit, is tried again like a network error.
                code => return Err(Failure::Retry(format!("{code}: {}", message()), None)),
            }))
        })
        .await
    }

    /// Drops `org`'s cached token, so the next call fetches a fresh one.
    pub(super) async fn forget_token(&self, org: &str) -> Result<(), GithubError> {
        let installation = self.installation_of(org)?;
        self.tokens.lock().await.remove(&installation);
        Ok(())
    }

    /// A JWT for the App: RS256, issued a minute in the past (clock drift), valid 9 minutes
    /// (GitHub allows at most 10).
    fn app_jwt(&self) -> Result<String, GithubError> {
        #[derive(Serialize)]
        struct Claims {
            iat: i64,
            exp: i64,
            iss: String,
        }
        let now = self.clock.now().as_second();
        let claims = Claims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| GithubError::Key(e.to_string()))
    }
}
