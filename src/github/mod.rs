//! GitHub's REST API as a GitHub App: the token-request and grant endpoints, and what GitHub
//! knows of a requester (membership, repository permissions, addresses).
//!
//! Every call has a timeout; network errors and 5xx answers are retried with backoff; the
//! primary rate limit (`x-ratelimit-remaining: 0`) and secondary limits (`retry-after`) are
//! waited out; GETs send `If-None-Match`, so a sync that finds nothing new costs no rate
//! limit. This module reads and acts on GitHub; it never writes the database.

mod types;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

pub use types::{Grant, InstallationToken, Membership, Owner, PendingRequest, Repository, User};

use crate::config::{GithubConfig, Secret};

/// GitHub's documented limit for a decision's reason.
pub const MAX_REASON_CHARS: usize = 1024;
/// Responses larger than this are refused: no legitimate page comes near it.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// An installation token lives an hour; renew it this long before it expires.
const TOKEN_RENEWAL_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How patient the client is.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// For each HTTP exchange.
    pub timeout: Duration,
    /// Attempts for network errors and 5xx answers.
    pub max_attempts: u32,
    /// The first retry's wait; each further retry doubles it.
    pub backoff: Duration,
    /// A rate limit that resets later than this is an error instead of a wait.
    pub max_rate_limit_wait: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            backoff: Duration::from_secs(1),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error(
        "GitHub refused the App's credentials ({status}): {message}. Check github.app_id and github.private_key"
    )]
    Credentials { status: u16, message: String },
    #[error(
        "GitHub has no installation {installation} of the App ({message}): check github.orgs[].installation_id for {org}"
    )]
    NoInstallation {
        org: String,
        installation: u64,
        message: String,
    },
    #[error(
        "GitHub refused {what} (403: {message}). The App needs the organization permissions \"Personal access token requests\" and \"Personal access tokens\" (read and write) and \"Members\" (read)"
    )]
    Forbidden { what: String, message: String },
    #[error("GitHub has no {what} (404: {message}); is the App installed on that organisation?")]
    NotFound { what: String, message: String },
    #[error("GitHub did not accept {what} (422: {message})")]
    Unprocessable { what: String, message: String },
    #[error("GitHub failed {what} {attempts} time(s); last answer {status}: {message}")]
    Server {
        what: String,
        attempts: u32,
        status: u16,
        message: String,
    },
    #[error("cannot reach GitHub for {what} after {attempts} attempt(s): {error}")]
    Network {
        what: String,
        attempts: u32,
        error: String,
    },
    #[error("GitHub's rate limit for {what} resets at {until}, later than patdesk waits")]
    RateLimited { what: String, until: Timestamp },
    #[error("GitHub's answer to {what} cannot be read: {error}")]
    Decode { what: String, error: String },
    #[error("{org} is not among the configured organisations (github.orgs)")]
    UnknownOrg { org: String },
    #[error("the App's private key cannot sign: {0}")]
    Key(String),
}

impl GithubError {
    /// Whether trying again later may succeed (as opposed to a configuration mistake).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GithubError::Server { .. }
                | GithubError::Network { .. }
                | GithubError::RateLimited { .. }
        )
    }
}

/// How the client has fared, for `status` and the tests.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub not_modified: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limit_waits: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Deny,
}

struct CachedToken {
    token: String,
    expires_at: Timestamp,
}

/// A page as GitHub last sent it, to answer a 304.
struct CachedPage {
    etag: String,
    body: Vec<u8>,
    next: Option<String>,
}

struct Reply {
    body: Vec<u8>,
    next: Option<String>,
}

pub struct GithubClient {
    http: reqwest::Client,
    api_url: String,
    app_id: u64,
    key: EncodingKey,
    installations: HashMap<String, u64>,
    tokens: tokio::sync::Mutex<HashMap<u64, CachedToken>>,
    pages: Mutex<HashMap<String, CachedPage>>,
    options: ClientOptions,
    pub stats: Stats,
}

impl GithubClient {
    pub fn new(
        config: &GithubConfig,
        private_key: &Secret,
        options: ClientOptions,
    ) -> Result<Self, GithubError> {
        crate::tls::install_crypto_provider();
        let key = EncodingKey::from_rsa_pem(private_key.expose().as_bytes())
            .map_err(|e| GithubError::Key(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(concat!("patdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GithubError::Network {
                what: "setting up the HTTP client".to_string(),
                attempts: 0,
                error: e.to_string(),
            })?;
        Ok(GithubClient {
            http,
            api_url: config.api_url.clone(),
            app_id: config.app_id,
            key,
            installations: config
                .orgs
                .iter()
                .map(|org| (org.login.to_lowercase(), org.installation_id))
                .collect(),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
            pages: Mutex::new(HashMap::new()),
            options,
            stats: Stats::default(),
        })
    }

    /// Every pending request of `org`, all pages.
    pub async fn pending_requests(&self, org: &str) -> Result<Vec<PendingRequest>, GithubError> {
        self.get_all(
            org,
            &format!("/orgs/{org}/personal-access-token-requests"),
            "pending token requests",
        )
        .await
    }

    /// The repositories a `subset` request asks for, as `owner/name`.
    pub async fn request_repositories(
        &self,
        org: &str,
        request_id: i64,
    ) -> Result<Vec<String>, GithubError> {
        let repositories: Vec<Repository> = self
            .get_all(
                org,
                &format!("/orgs/{org}/personal-access-token-requests/{request_id}/repositories"),
                "a request's repositories",
            )
            .await?;
        Ok(repositories
            .into_iter()
            .map(|repository| repository.full_name)
            .collect())
    }

    /// Approves or denies a pending request. A reason over GitHub's limit is cut, and the
    /// returned flag says so.
    pub async fn decide(
        &self,
        org: &str,
        request_id: i64,
        verdict: Verdict,
        reason: Option<&str>,
    ) -> Result<bool, GithubError> {
        let (reason, trimmed) = match reason {
            Some(reason) => {
                let (reason, trimmed) = fit_reason(reason);
                (Some(reason), trimmed)
            }
            None => (None, false),
        };
        let action = match verdict {
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
        };
        self.send(
            org,
            Method::POST,
            &format!(
                "{}/orgs/{org}/personal-access-token-requests/{request_id}",
                self.api_url
            ),
            Some(json!({ "action": action, "reason": reason })),
            &format!("{action} of request {request_id}"),
        )
        .await?;
        Ok(trimmed)
    }

    /// Every approved token of `org`, all pages.
    pub async fn grants(&self, org: &str) -> Result<Vec<Grant>, GithubError> {
        self.get_all(
            org,
            &format!("/orgs/{org}/personal-access-tokens"),
            "approved tokens",
        )
        .await
    }

    pub async fn revoke(&self, org: &str, grant_id: i64) -> Result<(), GithubError> {
        self.send(
            org,
            Method::POST,
            &format!(
                "{}/orgs/{org}/personal-access-tokens/{grant_id}",
                self.api_url
            ),
            Some(json!({ "action": "revoke" })),
            &format!("revocation of token grant {grant_id}"),
        )
        .await?;
        Ok(())
    }

    /// The requester's membership, or `None` when they are not a member.
    pub async fn membership(
        &self,
        org: &str,
        login: &str,
    ) -> Result<Option<Membership>, GithubError> {
        self.get_optional(
            org,
            &format!("/orgs/{org}/memberships/{login}"),
            "a membership",
        )
        .await
    }

    /// The requester's membership of a team, or `None` when they are not in it.
    pub async fn team_membership(
        &self,
        org: &str,
        team: &str,
        login: &str,
    ) -> Result<Option<Membership>, GithubError> {
        self.get_optional(
            org,
            &format!("/orgs/{org}/teams/{team}/memberships/{login}"),
            "a team membership",
        )
        .await
    }

    pub async fn outside_collaborators(&self, org: &str) -> Result<Vec<String>, GithubError> {
        let users: Vec<User> = self
            .get_all(
                org,
                &format!("/orgs/{org}/outside_collaborators"),
                "outside collaborators",
            )
            .await?;
        Ok(users.into_iter().map(|user| user.login).collect())
    }

    /// `admin`, `write`, `read` or `none` on `owner/repo`.
    pub async fn repository_permission(
        &self,
        org: &str,
        repository: &str,
        login: &str,
    ) -> Result<Option<String>, GithubError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            permission: String,
        }
        let answer: Option<Answer> = self
            .get_optional(
                org,
                &format!("/repos/{repository}/collaborators/{login}/permission"),
                "a repository permission",
            )
            .await?;
        Ok(answer.map(|answer| answer.permission))
    }

    /// Addresses on the organisation's verified domains (GraphQL).
    pub async fn verified_domain_emails(
        &self,
        org: &str,
        login: &str,
    ) -> Result<Vec<String>, GithubError> {
        let query = json!({
            "query": "query($login: String!, $org: String!) { user(login: $login) { organizationVerifiedDomainEmails(login: $org) } }",
            "variables": { "login": login, "org": org },
        });
        let reply = self
            .send(
                org,
                Method::POST,
                &format!("{}/graphql", self.api_url),
                Some(query),
                "verified domain emails",
            )
            .await?;
        let value: serde_json::Value = decode(&reply.body, "verified domain emails")?;
        Ok(value["data"]["user"]["organizationVerifiedDomainEmails"]
            .as_array()
            .map(|emails| {
                emails
                    .iter()
                    .filter_map(|email| email.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The address on the requester's public profile, if they show one.
    pub async fn public_email(
        &self,
        org: &str,
        login: &str,
    ) -> Result<Option<String>, GithubError> {
        let user: Option<User> = self
            .get_optional(org, &format!("/users/{login}"), "a user")
            .await?;
        Ok(user
            .and_then(|user| user.email)
            .filter(|email| !email.trim().is_empty()))
    }

    async fn get_optional<T: DeserializeOwned>(
        &self,
        org: &str,
        path: &str,
        what: &str,
    ) -> Result<Option<T>, GithubError> {
        match self
            .send(
                org,
                Method::GET,
                &format!("{}{path}", self.api_url),
                None,
                what,
            )
            .await
        {
            Ok(reply) => decode(&reply.body, what).map(Some),
            Err(GithubError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Follows `Link: <…>; rel="next"` through every page.
    async fn get_all<T: DeserializeOwned>(
        &self,
        org: &str,
        path: &str,
        what: &str,
    ) -> Result<Vec<T>, GithubError> {
        let mut url = Some(format!("{}{path}?per_page=100", self.api_url));
        let mut items = Vec::new();
        while let Some(page) = url.take() {
            let reply = self.send(org, Method::GET, &page, None, what).await?;
            let mut batch: Vec<T> = decode(&reply.body, what)?;
            items.append(&mut batch);
            url = reply.next;
        }
        Ok(items)
    }

    /// One call, with the installation's token, retried as the module's doc says.
    async fn send(
        &self,
        org: &str,
        method: Method,
        url: &str,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<Reply, GithubError> {
        let mut attempt = 0;
        let mut credentials_refreshed = false;
        loop {
            attempt += 1;
            let token = self.installation_token(org).await?;
            let cached_etag = (method == Method::GET)
                .then(|| self.cached(url).map(|page| page.etag))
                .flatten();
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            if let Some(etag) = &cached_etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match request.send().await {
                Ok(response) => self.read(response, url, what).await,
                Err(error) => Err(Failure::Retry(format!("{error}"), None)),
            };
            match outcome {
                Ok(reply) => return Ok(reply),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::StaleToken(error)) => {
                    // A token revoked or expired early: fetch a fresh one, once.
                    if credentials_refreshed {
                        return Err(error);
                    }
                    credentials_refreshed = true;
                    self.tokens.lock().await.remove(&self.installation_of(org)?);
                }
                Err(Failure::Wait(until)) => {
                    let wait = until.duration_since(Timestamp::now());
                    let wait = Duration::try_from(wait).unwrap_or_default();
                    if wait > self.options.max_rate_limit_wait {
                        return Err(GithubError::RateLimited {
                            what: what.to_string(),
                            until,
                        });
                    }
                    self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    attempt -= 1; // A rate limit is not a failure of this attempt.
                }
                Err(Failure::Retry(message, status)) => {
                    if attempt >= self.options.max_attempts {
                        return Err(match status {
                            Some(status) => GithubError::Server {
                                what: what.to_string(),
                                attempts: attempt,
                                status,
                                message,
                            },
                            None => GithubError::Network {
                                what: what.to_string(),
                                attempts: attempt,
                                error: message,
                            },
                        });
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
            }
        }
    }

    /// Exponential backoff with jitter, so many clients do not retry in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .options
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        crate::backoff::jittered(base, base / 4)
    }

    async fn read(
        &self,
        response: reqwest::Response,
        url: &str,
        what: &str,
    ) -> Result<Reply, Failure> {
        let status = response.status();
        let headers = response.headers().clone();
        let text_header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let body = read_capped(response)
            .await
            .map_err(|error| Failure::Retry(error, Some(status.as_u16())))?;
        let message = || github_message(&body);

        if status == StatusCode::NOT_MODIFIED {
            self.stats.not_modified.fetch_add(1, Ordering::Relaxed);
            return match self.cached(url) {
                Some(page) => Ok(Reply {
                    body: page.body,
                    next: page.next,
                }),
                None => Err(Failure::Retry(
                    "304 without a cached page".to_string(),
                    Some(304),
                )),
            };
        }
        if status.is_success() {
            let next = text_header("link").as_deref().and_then(next_link);
            if let Some(etag) = text_header("etag")
                && let Ok(mut pages) = self.pages.lock()
            {
                pages.insert(
                    url.to_string(),
                    CachedPage {
                        etag,
                        body: body.clone(),
                        next: next.clone(),
                    },
                );
            }
            return Ok(Reply { body, next });
        }
        let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
            || (status == StatusCode::FORBIDDEN
                && (text_header("x-ratelimit-remaining").as_deref() == Some("0")
                    || text_header("retry-after").is_some()));
        if rate_limited {
            if let Some(seconds) =
                text_header("retry-after").and_then(|value| value.trim().parse::<i64>().ok())
            {
                return Err(Failure::Wait(
                    Timestamp::now() + jiff::SignedDuration::from_secs(seconds.max(1)),
                ));
            }
            if let Some(reset) =
                text_header("x-ratelimit-reset").and_then(|value| value.trim().parse::<i64>().ok())
            {
                let until = Timestamp::from_second(reset + 1).unwrap_or_else(|_| Timestamp::now());
                return Err(Failure::Wait(until));
            }
            return Err(Failure::Wait(
                Timestamp::now() + jiff::SignedDuration::from_secs(60),
            ));
        }
        let what = what.to_string();
        Err(match status.as_u16() {
            401 => Failure::StaleToken(GithubError::Credentials {
                status: 401,
                message: message(),
            }),
            403 => Failure::Final(GithubError::Forbidden {
                what,
                message: message(),
            }),
            404 => Failure::Final(GithubError::NotFound {
                what,
                message: message(),
            }),
            422 => Failure::Final(GithubError::Unprocessable {
                what,
                message: message(),
            }),
            code if status.is_server_error() => Failure::Retry(message(), Some(code)),
            code => Failure::Final(GithubError::Server {
                what,
                attempts: 1,
                status: code,
                message: message(),
            }),
        })
    }

    fn cached(&self, url: &str) -> Option<CachedPage> {
        let pages = self.pages.lock().ok()?;
        pages.get(url).map(|page| CachedPage {
            etag: page.etag.clone(),
            body: page.body.clone(),
            next: page.next.clone(),
        })
    }

    fn installation_of(&self, org: &str) -> Result<u64, GithubError> {
        self.installations
            .get(&org.to_lowercase())
            .copied()
            .ok_or_else(|| GithubError::UnknownOrg {
                org: org.to_string(),
            })
    }

    /// The installation's token, fetched with a fresh App JWT when none is cached or the
    /// cached one is about to expire.
    async fn installation_token(&self, org: &str) -> Result<String, GithubError> {
        let installation = self.installation_of(org)?;
        let mut tokens = self.tokens.lock().await;
        let renew_after = Timestamp::now()
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
        let mut attempt = 0;
        loop {
            attempt += 1;
            let jwt = self.app_jwt()?;
            let sent = self
                .http
                .post(&url)
                .bearer_auth(jwt)
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28")
                .send()
                .await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let error = match sent {
                Ok(response) => {
                    let status = response.status();
                    let body = read_capped(response).await.unwrap_or_default();
                    match status.as_u16() {
                        200 | 201 => return decode(&body, what),
                        401 => {
                            return Err(GithubError::Credentials {
                                status: 401,
                                message: github_message(&body),
                            });
                        }
                        404 => {
                            return Err(GithubError::NoInstallation {
                                org: org.to_string(),
                                installation,
                                message: github_message(&body),
                            });
                        }
                        403 => {
                            return Err(GithubError::Forbidden {
                                what: what.to_string(),
                                message: github_message(&body),
                            });
                        }
                        code => format!("{code}: {}", github_message(&body)),
                    }
                }
                Err(error) => error.to_string(),
            };
            if attempt >= self.options.max_attempts {
                return Err(GithubError::Network {
                    what: what.to_string(),
                    attempts: attempt,
                    error,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempt)).await;
        }
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
        let now = Timestamp::now().as_second();
        let claims = Claims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| GithubError::Key(e.to_string()))
    }
}

enum Failure {
    Final(GithubError),
    /// 401 with an installation token: fetch a new token and try again, once.
    StaleToken(GithubError),
    /// Rate limited until then.
    Wait(Timestamp),
    /// A network error or 5xx: back off and retry.
    Retry(String, Option<u16>),
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!("answer larger than {MAX_RESPONSE_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, GithubError> {
    serde_json::from_slice(body).map_err(|e| GithubError::Decode {
        what: what.to_string(),
        error: e.to_string(),
    })
}

/// GitHub's `{"message": …}`, or the start of whatever else came.
fn github_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(200).collect())
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|param| param.trim() == "rel=\"next\"");
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

/// A reason within GitHub's limit, and whether it had to be cut.
pub fn fit_reason(reason: &str) -> (String, bool) {
    let reason = reason.trim();
    if reason.chars().count() <= MAX_REASON_CHARS {
        return (reason.to_string(), false);
    }
    const NOTE: &str = " […] (cut to GitHub's limit; the whole reason is in the mail)";
    let keep = MAX_REASON_CHARS - NOTE.chars().count();
    (
        format!("{}{NOTE}", reason.chars().take(keep).collect::<String>()),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_among_the_others() {
        let link = r#"<https://api.github.com/orgs/a/x?page=2>; rel="next", <https://api.github.com/orgs/a/x?page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/orgs/a/x?page=2")
        );
        assert_eq!(next_link(r#"<https://x?page=1>; rel="prev""#), None);
    }

    #[test]
    fn a_long_reason_is_cut_to_the_limit_with_a_note() {
        let (short, cut) = fit_reason("  fine  ");
        assert_eq!((short.as_str(), cut), ("fine", false));
        let (long, cut) = fit_reason(&"é".repeat(2000));
        assert!(cut);
        assert_eq!(long.chars().count(), MAX_REASON_CHARS);
        assert!(long.ends_with("in the mail)"));
    }
}
