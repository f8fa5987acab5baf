//! One exchange with GitHub and the loop that retries it: ETags and the pages they answer
//! for, bounded answers, rate limits, backoff, and GitHub's error answers sorted into what is
//! worth trying again.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

use super::pages::CachedPage;
use super::{GithubClient, GithubError, MAX_RESPONSE_BYTES};

/// The REST API version patdesk is written against.
pub(super) const API_VERSION: &str = "2022-11-28";

pub(super) struct Reply {
    pub body: Vec<u8>,
    pub next: Option<String>,
}

impl GithubClient {
    /// One call with the installation's token, retried as the module's doc says.
    pub(super) async fn send(
        &self,
        org: &str,
        method: Method,
        url: &str,
        body: Option<serde_json::Value>,
        what: &str,
    ) -> Result<Reply, GithubError> {
        let (method, body) = (&method, &body);
        self.retrying(what, Some(org), || async move {
            let token = self.installation_token(org).await.map_err(Failure::Final)?;
            let cached_etag = (*method == Method::GET)
                .then(|| self.cached(url).map(|page| page.etag))
                .flatten();
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&token)
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", API_VERSION);
            if let Some(etag) = &cached_etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            match request.send().await {
                Ok(response) => self.read(response, url, what).await,
                Err(error) => Err(Failure::Retry(format!("{error}"), None)),
            }
        })
        .await
    }

    /// The one retry loop: runs `exchange` until it succeeds or fails for good. Network
    /// errors and 5xx are retried with backoff up to `max_attempts`; rate limits are waited
    /// out (up to `max_rate_limit_wait`) without counting as attempts; a stale installation
    /// token of `org` is dropped and fetched again, once.
    pub(super) async fn retrying<T, Exchange>(
        &self,
        what: &str,
        org: Option<&str>,
        mut exchange: impl FnMut() -> Exchange,
    ) -> Result<T, GithubError>
    where
        Exchange: Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0;
        let mut slowed_down = 0;
        let mut credentials_refreshed = false;
        loop {
            attempt += 1;
            match exchange().await {
                Ok(reply) => {
                    self.secondary_streak.store(0, Ordering::Relaxed);
                    return Ok(reply);
                }
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::SlowDown(message)) => {
                    // GitHub's secondary limit: at least a minute, longer each time in a row
                    // (across calls: the streak is the client's), and after a few waits the
                    // call gives up as transient, to be tried again on a later round.
                    if slowed_down >= self.options.secondary_limit_waits {
                        return Err(GithubError::SecondaryLimit {
                            what: what.to_string(),
                            message,
                        });
                    }
                    slowed_down += 1;
                    self.stats.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.secondary_wait()).await;
                    attempt -= 1;
                }
                Err(Failure::StaleToken(error)) => {
                    // A token revoked or expired early: fetch a fresh one, once.
                    let Some(org) = org.filter(|_| !credentials_refreshed) else {
                        return Err(error);
                    };
                    credentials_refreshed = true;
                    self.forget_token(org).await?;
                }
                Err(Failure::Wait(until)) => {
                    let wait = until.duration_since(self.clock.now());
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

    /// How long to wait after a secondary limit: `secondary_limit_wait` (a minute, as GitHub
    /// asks), doubled for each one in a row since the last answer that went through, up to
    /// `max_rate_limit_wait`.
    fn secondary_wait(&self) -> Duration {
        let streak = self.secondary_streak.fetch_add(1, Ordering::Relaxed);
        self.options
            .secondary_limit_wait
            .saturating_mul(1 << streak.min(16))
            .min(
                self.options
                    .max_rate_limit_wait
                    .max(self.options.secondary_limit_wait),
            )
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
        // GitHub's rate limits, as its REST documentation sorts them: `retry-after` says how
        // long; `x-ratelimit-remaining: 0` is the primary limit, over at `x-ratelimit-reset`;
        // a 403 or 429 with neither is a secondary limit (unless the 403 says the App lacks a
        // permission, GitHub's one definitive 403 here).
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            if let Some(seconds) =
                text_header("retry-after").and_then(|value| value.trim().parse::<i64>().ok())
            {
                return Err(Failure::Wait(
                    self.clock.now() + jiff::SignedDuration::from_secs(seconds.max(1)),
                ));
            }
            if text_header("x-ratelimit-remaining").as_deref() == Some("0") {
                let reset = text_header("x-ratelimit-reset")
                    .and_then(|value| value.trim().parse::<i64>().ok())
                    .and_then(|reset| Timestamp::from_second(reset + 1).ok());
                // No reset given: as a secondary limit, a minute and more.
                return Err(match reset {
                    Some(until) => Failure::Wait(until),
                    None => Failure::SlowDown(message()),
                });
            }
            if !(status == StatusCode::FORBIDDEN && is_permission_refusal(&message())) {
                return Err(Failure::SlowDown(message()));
            }
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

    pub(super) fn cached(&self, url: &str) -> Option<CachedPage> {
        self.pages.lock().ok()?.get(url)
    }
}

/// Why one exchange did not succeed, and what the retry loop does about it.
pub(super) enum Failure {
    Final(GithubError),
    /// 401 with an installation token: fetch a new token and try again, once.
    StaleToken(GithubError),
    /// Rate limited until then.
    Wait(Timestamp),
    /// A secondary limit without a time: wait, longer each time (GitHub's message).
    SlowDown(String),
    /// A network error or 5xx: back off and retry.
    Retry(String, Option<u16>),
}

pub(super) async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!("answer larger than {MAX_RESPONSE_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(super) fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, GithubError> {
    serde_json::from_slice(body).map_err(|e| GithubError::Decode {
        what: what.to_string(),
        error: e.to_string(),
    })
}

/// Whether a 403's message is GitHub's answer to an App without the permission a call needs
/// ("Resource not accessible by integration"), as opposed to a secondary rate limit.
fn is_permission_refusal(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("not accessible by integration")
}

/// GitHub's `{"message": …}`, or the start of whatever else came: one line of at most 200
/// characters, since it goes into errors, alerts and the log.
pub(super) fn github_message(body: &[u8]) -> String {
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(1000)]).into_owned());
    crate::shown::quoted(&said, 200)
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

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn next_links_are_found_among_the_others() {
        let link = r#"<https://api.github.com/orgs/a/x?page=2>; rel="next", <https://api.github.com/orgs/a/x?page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/orgs/a/x?page=2")
        );
        assert_eq!(next_link(r#"<https://x?page=1>; rel="prev""#), None);
    }
}
