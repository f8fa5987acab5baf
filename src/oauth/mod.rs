//! OAuth 2 access tokens for signing in to the mailbox and the SMTP server: obtained before
//! a login, kept in memory only, renewed before they expire and once more when a server
//! refuses one. A token endpoint that fails is asked again only after a growing, jittered
//! wait (5 s to 5 min), however often the callers ask: never a tight loop.
//!
//! Each grant is a form posted to the token endpoint (RFC 6749 §4.4 and §6, RFC 7523); one
//! small client serves all three, so they share the parsing of answers and errors.

mod grant;
pub mod sasl;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use serde::Deserialize;

use crate::backoff::jittered;
use crate::clock::Clock;
use crate::config::{OauthConfig, Secret, SignIn};
use grant::Proof;

/// A token is renewed once less than this is left of it (or half its life, if shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);
const FIRST_WAIT: Duration = Duration::from_secs(5);
const LONGEST_WAIT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, thiserror::Error)]
pub enum OauthError {
    /// The grant's own secrets cannot be used: nothing was sent.
    #[error("the OAuth 2 credentials cannot be used: {0}")]
    Credentials(String),
    #[error("the token endpoint {url} cannot be reached: {error}")]
    Unreachable { url: String, error: String },
    /// The endpoint answered with an OAuth error: a revoked secret, a wrong tenant, a
    /// consent not given.
    #[error("the token endpoint {url} refused: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        url: String,
        error: String,
        description: Option<String>,
    },
    #[error("the token endpoint {url} gave an answer patdesk cannot read: {error}")]
    Malformed { url: String, error: String },
    #[error("{error}; asking again in {} s", retry_in.as_secs())]
    Waiting {
        error: Box<OauthError>,
        retry_in: Duration,
    },
}

/// What a mail server is signed in with at run time.
#[derive(Clone)]
pub enum Credential {
    /// Read once at start.
    Password(Secret),
    /// A token, fetched (or kept) at each login.
    Oauth2(TokenSource),
}

impl Credential {
    /// The credential `sign_in` names: its password read now, or the daemon's token source.
    pub fn for_sign_in(
        sign_in: &SignIn,
        tokens: Option<&TokenSource>,
    ) -> Result<Credential, crate::config::Problem> {
        match sign_in {
            SignIn::Password(password) => password.read().map(Credential::Password),
            SignIn::Oauth2 => {
                tokens
                    .cloned()
                    .map(Credential::Oauth2)
                    .ok_or_else(|| crate::config::Problem {
                        key: "oauth2".to_string(),
                        message: "is missing, and a server signs in with oauth2".to_string(),
                        at: None,
                    })
            }
        }
    }
}

/// Where tokens come from; cheap to clone, one per daemon (IMAP and SMTP share it).
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

struct Inner {
    config: OauthConfig,
    /// When tokens are due for renewal, and failures for another try.
    clock: Clock,
    proof: Proof,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    /// A provider that rotates refresh tokens hands out a new one with each access token.
    refresh_token: Option<Secret>,
    failure: Option<Failure>,
}

struct Token {
    value: Secret,
    renew_at: Timestamp,
}

struct Failure {
    error: OauthError,
    retry_at: Timestamp,
    wait: Duration,
}

/// How long from `now` until `then`; zero once it has passed.
fn until(then: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(then.duration_since(now)).unwrap_or(Duration::ZERO)
}

/// `after` past `now`; far enough ahead that it never comes, should it not fit.
fn later(now: Timestamp, after: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(after)
        .ok()
        .and_then(|after| now.checked_add(after).ok())
        .unwrap_or(Timestamp::MAX)
}

/// The token endpoint's answer (RFC 6749 §5.1); `expires_in` is a string at some providers.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// An error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl TokenSource {
    /// Reads the grant's secrets; nothing is asked of the endpoint yet.
    pub fn new(
        config: &OauthConfig,
        timeout: Duration,
        clock: Clock,
    ) -> Result<TokenSource, OauthError> {
        crate::tls::install_crypto_provider();
        let proof = Proof::read(config)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("patdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OauthError::Unreachable {
                url: config.token_url.clone(),
                error: e.to_string(),
            })?;
        Ok(TokenSource {
            inner: Arc::new(Inner {
                config: config.clone(),
                clock,
                proof,
                http,
                state: tokio::sync::Mutex::new(State::default()),
            }),
        })
    }

    /// A token good for a while yet: the kept one, or a new one.
    pub async fn token(&self) -> Result<Secret, OauthError> {
        let mut state = self.inner.state.lock().await;
        if let Some(token) = &state.token
            && self.inner.clock.now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        self.obtain(&mut state).await
    }

    /// A new token, after a server refused the kept one (revoked, or expired early).
    pub async fn renewed(&self) -> Result<Secret, OauthError> {
        let mut state = self.inner.state.lock().await;
        state.token = None;
        self.obtain(&mut state).await
    }

    /// How long the kept token is good for before it is due for renewal; zero when there is
    /// none. A session signed in with it is ended by then: some servers (Microsoft 365) drop
    /// it when the token expires, and a new login is the renewal.
    pub async fn good_for(&self) -> Duration {
        let state = self.inner.state.lock().await;
        state.token.as_ref().map_or(Duration::ZERO, |token| {
            until(token.renew_at, self.inner.clock.now())
        })
    }

    async fn obtain(&self, state: &mut State) -> Result<Secret, OauthError> {
        if let Some(failure) = &state.failure {
            let now = self.inner.clock.now();
            if now < failure.retry_at {
                return Err(OauthError::Waiting {
                    error: Box::new(failure.error.clone()),
                    retry_in: until(failure.retry_at, now),
                });
            }
        }
        match self.ask(state.refresh_token.as_ref()).await {
            Ok(answer) => {
                let lifetime = lifetime(answer.expires_in.as_ref());
                let margin = RENEW_MARGIN.min(lifetime / 2);
                let value = Secret::new(answer.access_token);
                state.token = Some(Token {
                    value: value.clone(),
                    renew_at: later(self.inner.clock.now(), lifetime - margin),
                });
                if let Some(rotated) = answer.refresh_token {
                    state.refresh_token = Some(Secret::new(rotated));
                }
                state.failure = None;
                tracing::debug!(
                    lifetime_seconds = lifetime.as_secs(),
                    "OAuth 2 access token obtained"
                );
                Ok(value)
            }
            Err(error) => {
                let wait = state
                    .failure
                    .as_ref()
                    .map_or(FIRST_WAIT, |failure| (failure.wait * 2).min(LONGEST_WAIT));
                state.failure = Some(Failure {
                    error: error.clone(),
                    retry_at: later(self.inner.clock.now(), jittered(wait, wait / 4)),
                    wait,
                });
                state.token = None;
                Err(error)
            }
        }
    }

    async fn ask(&self, refresh_token: Option<&Secret>) -> Result<TokenAnswer, OauthError> {
        let config = &self.inner.config;
        let url = &config.token_url;
        let form = self
            .inner
            .proof
            .form(config, refresh_token, self.inner.clock.now())?;
        let response = self
            .inner
            .http
            .post(url)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OauthError::Unreachable {
                url: url.clone(),
                error: without_url(&e),
            })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| OauthError::Unreachable {
                url: url.clone(),
                error: without_url(&e),
            })?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| OauthError::Malformed {
                url: url.clone(),
                error: e.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorAnswer>(&body) {
            Ok(answer) => Err(OauthError::Refused {
                url: url.clone(),
                error: crate::shown::quoted(&answer.error, OUTSIDE_TEXT_CHARS),
                description: answer
                    .error_description
                    .map(|d| crate::shown::quoted(&first_line(&d), OUTSIDE_TEXT_CHARS)),
            }),
            Err(_) => Err(OauthError::Refused {
                url: url.clone(),
                error: format!("HTTP {status}"),
                description: None,
            }),
        }
    }
}

/// `expires_in`, a number or a numeric string; an hour where it is missing (the usual life).
fn lifetime(expires_in: Option<&serde_json::Value>) -> Duration {
    let seconds = match expires_in {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };
    Duration::from_secs(seconds.unwrap_or(3600).clamp(10, 24 * 3600))
}

/// reqwest's message without the URL (already named) and without any query.
fn without_url(error: &reqwest::Error) -> String {
    let mut error = error.to_string();
    if let Some(at) = error.find(" for url (") {
        error.truncate(at);
    }
    error
}

/// The most of the token endpoint's own words an error repeats.
const OUTSIDE_TEXT_CHARS: usize = 200;

/// Microsoft's descriptions run on with trace ids over several lines: the first says it.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_is_read_from_a_number_or_a_string_and_kept_within_bounds() {
        assert_eq!(lifetime(Some(&serde_json::json!(3599))).as_secs(), 3599);
        assert_eq!(lifetime(Some(&serde_json::json!("120"))).as_secs(), 120);
        assert_eq!(lifetime(None).as_secs(), 3600);
        assert_eq!(lifetime(Some(&serde_json::json!(1))).as_secs(), 10);
    }
}
