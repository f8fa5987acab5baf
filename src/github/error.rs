//! What can go wrong with GitHub, in words that say what to fix.

use jiff::Timestamp;

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
    #[error(
        "GitHub asked patdesk to slow down for {what} (a secondary rate limit: {message}); patdesk waited and tries again on a later round"
    )]
    SecondaryLimit { what: String, message: String },
    #[error(
        "GitHub's answer to {what} points its next page elsewhere ({url}); not followed: the App's token goes only to github.api_url"
    )]
    ForeignPage { what: String, url: String },
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
                | GithubError::SecondaryLimit { .. }
        )
    }
}
