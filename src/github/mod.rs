//! GitHub's REST API as a GitHub App: the token-request and grant endpoints, and what GitHub
//! knows of a requester (membership, repository permissions, addresses).
//!
//! Every call has a timeout; network errors and 5xx answers are retried with backoff; the
//! primary rate limit (`x-ratelimit-remaining: 0`) and `retry-after` are waited out, and a 403
//! or 429 with neither is a secondary limit (a minute, doubling while it lasts); GETs send `If-None-Match`, so a sync that finds nothing new costs no rate
//! limit. This module reads and acts on GitHub; it never writes the database.

mod app;
mod error;
mod exchange;
mod pages;
mod types;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Duration;

use jsonwebtoken::EncodingKey;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;

use app::CachedToken;
pub use error::GithubError;
use exchange::decode;
use pages::PageCache;
pub use types::{
    Grant, InstallationToken, Membership, Owner, PendingRequest, Repository, TokenFacts, User,
};

use crate::clock::Clock;
use crate::config::{GithubConfig, Secret};

/// GitHub's documented limit for a decision's reason.
pub const MAX_REASON_CHARS: usize = 1024;
/// GitHub's limits on the pending list's filters (`token_id[]`, `owner[]`).
const MAX_TOKEN_FILTER: usize = 50;
const MAX_OWNER_FILTER: usize = 10;
/// Responses larger than this are refused: no legitimate page comes near it.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How patient the client is.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// For each HTTP exchange.
    pub timeout: Duration,
    /// Attempts for network errors and 5xx answers.
    pub max_attempts: u32,
    /// The first retry's wait; each further retry doubles it.
    pub backoff: Duration,
    /// A rate limit that resets later than this is an error instead of a wait; the longest
    /// wait after a secondary limit.
    pub max_rate_limit_wait: Duration,
    /// The first wait after a secondary limit (GitHub: "at least one minute").
    pub secondary_limit_wait: Duration,
    /// Waits for secondary limits within one call before it gives up (a transient error: the
    /// next round tries again).
    pub secondary_limit_waits: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            max_attempts: 4,
            backoff: Duration::from_secs(1),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
            secondary_limit_wait: Duration::from_secs(60),
            secondary_limit_waits: 2,
        }
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

/// What GitHub is told about a pending request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ruling {
    Approve,
    Deny,
}

pub struct GithubClient {
    http: reqwest::Client,
    api_url: String,
    app_id: u64,
    key: EncodingKey,
    installations: HashMap<String, u64>,
    tokens: tokio::sync::Mutex<HashMap<u64, CachedToken>>,
    pages: Mutex<PageCache>,
    options: ClientOptions,
    /// Secondary limits in a row, across calls, since an answer last went through.
    secondary_streak: AtomicU32,
    /// When cached tokens expire, JWTs are issued and rate limits end.
    clock: Clock,
    pub stats: Stats,
}

impl GithubClient {
    pub fn new(
        config: &GithubConfig,
        private_key: &Secret,
        options: ClientOptions,
        clock: Clock,
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
            pages: Mutex::new(PageCache::new(pages::MAX_CACHED_BYTES)),
            options,
            secondary_streak: AtomicU32::new(0),
            clock,
            stats: Stats::default(),
        })
    }

    /// The client as the config sets it up (its timeout); the daemon and the CLI alike.
    pub fn for_config(
        config: &GithubConfig,
        private_key: &Secret,
        clock: Clock,
    ) -> Result<Self, GithubError> {
        let options = ClientOptions {
            timeout: config.timeout,
            ..ClientOptions::default()
        };
        GithubClient::new(config, private_key, options, clock)
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

    /// The pending requests for these tokens: GitHub's listing filtered by `token_id[]` (at
    /// most 50 a call), so short that no other request coming or going can shift one out of
    /// it. Whether a request is still pending is read here, never from its absence in the
    /// whole listing.
    pub async fn pending_requests_for_tokens(
        &self,
        org: &str,
        token_ids: &[i64],
    ) -> Result<Vec<PendingRequest>, GithubError> {
        let filters: Vec<String> = token_ids
            .chunks(MAX_TOKEN_FILTER)
            .map(|chunk| chunk.iter().map(|id| format!("&token_id[]={id}")).collect())
            .collect();
        self.pending_filtered(org, &filters, "pending token requests of some tokens")
            .await
    }

    /// The pending requests of these requesters (`owner[]`, at most 10 a call), for requests
    /// GitHub described without their token's id.
    pub async fn pending_requests_of_owners(
        &self,
        org: &str,
        owners: &[String],
    ) -> Result<Vec<PendingRequest>, GithubError> {
        let filters: Vec<String> = owners
            .chunks(MAX_OWNER_FILTER)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|login| format!("&owner[]={}", query_value(login)))
                    .collect()
            })
            .collect();
        self.pending_filtered(org, &filters, "pending token requests of some requesters")
            .await
    }

    /// The pending list once per filter (`&key=value…`), every page of each.
    async fn pending_filtered(
        &self,
        org: &str,
        filters: &[String],
        what: &'static str,
    ) -> Result<Vec<PendingRequest>, GithubError> {
        let path = format!("/orgs/{org}/personal-access-token-requests");
        let mut found = Vec::new();
        for filter in filters {
            let mut pages = self.pages_filtered(org, &path, filter, what);
            while let Some(mut page) = pages.next().await? {
                found.append(&mut page);
            }
        }
        Ok(found)
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
        ruling: Ruling,
        reason: Option<&str>,
    ) -> Result<bool, GithubError> {
        let (reason, trimmed) = match reason {
            Some(reason) => {
                let (reason, trimmed) = fit_reason(reason);
                (Some(reason), trimmed)
            }
            None => (None, false),
        };
        let action = match ruling {
            Ruling::Approve => "approve",
            Ruling::Deny => "deny",
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
                &graphql_url(&self.api_url),
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

    /// Follows `Link: <…>; rel="next"` through every page, on the configured API host only:
    /// each page is fetched with the installation token.
    async fn get_all<T: DeserializeOwned>(
        &self,
        org: &str,
        path: &str,
        what: &'static str,
    ) -> Result<Vec<T>, GithubError> {
        let mut pages = self.pages(org, path, what);
        let mut items = Vec::new();
        while let Some(mut page) = pages.next().await? {
            items.append(&mut page);
        }
        Ok(items)
    }

    /// The pending token requests a page at a time, so each page can be recorded before the
    /// next is asked for.
    pub fn pending_request_pages<'a>(&'a self, org: &'a str) -> Pages<'a, PendingRequest> {
        self.pages(
            org,
            &format!("/orgs/{org}/personal-access-token-requests"),
            "pending token requests",
        )
    }

    fn pages<'a, T>(&'a self, org: &'a str, path: &str, what: &'static str) -> Pages<'a, T> {
        self.pages_filtered(org, path, "", what)
    }

    /// `filter`: more of the query, each parameter starting with `&`.
    fn pages_filtered<'a, T>(
        &'a self,
        org: &'a str,
        path: &str,
        filter: &str,
        what: &'static str,
    ) -> Pages<'a, T> {
        Pages {
            client: self,
            org,
            what,
            url: Some(format!("{}{path}?per_page=100{filter}", self.api_url)),
            items: std::marker::PhantomData,
        }
    }
}

/// A listing read a page at a time, following `Link: next` on the API's own host only.
pub struct Pages<'a, T> {
    client: &'a GithubClient,
    org: &'a str,
    what: &'static str,
    /// The next page's URL; `None` after the last.
    url: Option<String>,
    items: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Pages<'_, T> {
    /// The next page, or `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<T>>, GithubError> {
        let Some(url) = self.url.take() else {
            return Ok(None);
        };
        let client = self.client;
        let reply = client
            .send(self.org, Method::GET, &url, None, self.what)
            .await?;
        let page: Vec<T> = decode(&reply.body, self.what)?;
        self.url = match reply.next {
            Some(next) if !next.starts_with(&format!("{}/", client.api_url)) => {
                return Err(GithubError::ForeignPage {
                    what: self.what.to_string(),
                    url: next,
                });
            }
            next => next,
        };
        Ok(Some(page))
    }
}

/// Where GraphQL is: `{api_url}/graphql` on github.com (`https://api.github.com/graphql`), but
/// `https://HOST/api/graphql` on GitHub Enterprise Server, whose REST API is at `/api/v3`.
fn graphql_url(api_url: &str) -> String {
    let api_url = api_url.trim_end_matches('/');
    match api_url.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{api_url}/graphql"),
    }
}

/// `text` as a query value: logins are letters, digits and hyphens, but GitHub's word is
/// not trusted to stay so.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
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
    fn graphql_is_beside_rest_on_github_com_and_under_api_on_enterprise_server() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.org/api/v3/"),
            "https://ghe.example.org/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/graphql"
        );
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
