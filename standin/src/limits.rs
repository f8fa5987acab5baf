//! GitHub's answers that turn a call away before it is served, as GitHub documents them and
//! scripted per route by the tests: secondary rate limits (a 403 or 429, with `retry-after`
//! or with nothing to say how long) and an API version it does not support (400).

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::error;

/// The versions GitHub's REST API answers to (`X-GitHub-Api-Version`); without the header it
/// takes the oldest.
const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];

/// GitHub's words when a secondary limit is hit.
const SECONDARY_LIMIT: &str =
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";

/// One scripted limit: the next `count` API calls whose path contains `path` (every call when
/// it is empty) are answered `status` (403 or 429) with `retry-after` if given, and the primary
/// limit's headers showing calls left, as GitHub sends them.
#[derive(Debug, Clone, Deserialize)]
pub struct Limit {
    #[serde(default)]
    pub path: String,
    pub count: u32,
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// The message instead of GitHub's for a secondary limit.
    #[serde(default)]
    pub message: Option<String>,
}

/// The answer to a call GitHub would not serve: an unsupported API version, or the first
/// scripted limit for its path (which counts it).
pub fn turned_away(limits: &mut [Limit], path: &str, headers: &HeaderMap) -> Option<Response> {
    if let Some(version) = headers.get("x-github-api-version") {
        let version = version.to_str().unwrap_or_default();
        if !API_VERSIONS.contains(&version) {
            return Some(error(
                StatusCode::BAD_REQUEST,
                &format!("Unsupported 'X-GitHub-Api-Version' header value: {version}"),
            ));
        }
    }
    let limit = limits
        .iter_mut()
        .find(|limit| limit.count > 0 && path.contains(&limit.path))?;
    limit.count -= 1;
    let status = StatusCode::from_u16(limit.status).unwrap_or(StatusCode::FORBIDDEN);
    let mut response = error(status, limit.message.as_deref().unwrap_or(SECONDARY_LIMIT));
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("4321"));
    if let Some(seconds) = limit.retry_after {
        headers.insert("retry-after", HeaderValue::from(seconds));
    }
    Some(response)
}
