//! Slack's Web API, the calls patdesk makes: `apps.connections.open` with the app-level token,
//! the rest with the bot token. Slack answers HTTP 200 with `"ok": false` and an error name
//! for most failures, and 429 with `Retry-After` when a method's rate limit is reached.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;

/// How long one call may take: a modal must open within the 3 s a `trigger_id` lives.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("Slack's {method} cannot be reached: {error}")]
    Network { method: &'static str, error: String },
    #[error("Slack's {method} answered HTTP {status}")]
    Status { method: &'static str, status: u16 },
    #[error("Slack's {method} is rate limited: retry in {retry_after:?}")]
    RateLimited {
        method: &'static str,
        retry_after: Duration,
    },
    /// `"ok": false`: Slack's error name, such as `invalid_auth` or `channel_not_found`.
    #[error("Slack's {method} refused: {error}")]
    Refused { method: &'static str, error: String },
    #[error("Slack's {method} answered what patdesk cannot read: {error}")]
    Malformed { method: &'static str, error: String },
}

/// The Web API with the app's two tokens.
#[derive(Clone)]
pub struct WebApi {
    http: reqwest::Client,
    base: String,
    app_token: std::sync::Arc<Secret>,
    bot_token: std::sync::Arc<Secret>,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// Which token a call is made with.
#[derive(Clone, Copy)]
enum Token {
    App,
    Bot,
}

/// How a call's arguments travel: Slack takes JSON for the methods that write, and only form
/// fields for those that read (`conversations.info`, `auth.test`, `apps.connections.open`).
enum Arguments<'a> {
    Json(Value),
    Form(&'a [(&'a str, &'a str)]),
}

impl WebApi {
    /// `base` as `slack.api_url` gives it: no trailing slash.
    pub fn new(base: &str, app_token: Secret, bot_token: Secret) -> Result<WebApi, SlackError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("patdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| SlackError::Network {
                method: "client",
                error: error.to_string(),
            })?;
        Ok(WebApi {
            http,
            base: base.to_string(),
            app_token: std::sync::Arc::new(app_token),
            bot_token: std::sync::Arc::new(bot_token),
        })
    }

    async fn call(
        &self,
        method: &'static str,
        token: Token,
        arguments: Arguments<'_>,
    ) -> Result<serde_json::Map<String, Value>, SlackError> {
        let token = match token {
            Token::App => &self.app_token,
            Token::Bot => &self.bot_token,
        };
        let request = self
            .http
            .post(format!("{}/{method}", self.base))
            .bearer_auth(token.expose());
        let request = match arguments {
            Arguments::Json(body) => request.json(&body),
            Arguments::Form(fields) => request.form(fields),
        };
        let response = request.send().await.map_err(|error| SlackError::Network {
            method,
            error: error.without_url().to_string(),
        })?;
        let status = response.status();
        if status.as_u16() == 429 {
            let seconds = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(SlackError::RateLimited {
                method,
                retry_after: Duration::from_secs(seconds.clamp(1, 600)),
            });
        }
        if !status.is_success() {
            return Err(SlackError::Status {
                method,
                status: status.as_u16(),
            });
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|error| SlackError::Malformed {
                method,
                error: error.without_url().to_string(),
            })?;
        if !answer.ok {
            return Err(SlackError::Refused {
                method,
                error: crate::shown::quoted(
                    answer.error.as_deref().unwrap_or("no error named"),
                    80,
                ),
            });
        }
        Ok(answer.rest)
    }

    /// A one-time WebSocket URL for a new Socket Mode connection.
    pub async fn open_connection(&self) -> Result<String, SlackError> {
        let method = "apps.connections.open";
        let answer = self.call(method, Token::App, Arguments::Form(&[])).await?;
        string_field(&answer, method, "url")
    }

    /// Posts a message; its `ts`, by which it is updated.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<String, SlackError> {
        let method = "chat.postMessage";
        let answer = self
            .call(
                method,
                Token::Bot,
                Arguments::Json(json!({ "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false })),
            )
            .await?;
        string_field(&answer, method, "ts")
    }

    pub async fn update_message(
        &self,
        channel: &str,
        ts: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<(), SlackError> {
        self.call(
            "chat.update",
            Token::Bot,
            Arguments::Json(
                json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks }),
            ),
        )
        .await
        .map(drop)
    }

    /// A message only `user` sees, in `channel`.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), SlackError> {
        self.call(
            "chat.postEphemeral",
            Token::Bot,
            Arguments::Json(json!({ "channel": channel, "user": user, "text": text })),
        )
        .await
        .map(drop)
    }

    /// Opens a modal for the click that gave `trigger_id` (valid for about 3 s).
    pub async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), SlackError> {
        self.call(
            "views.open",
            Token::Bot,
            Arguments::Json(json!({ "trigger_id": trigger_id, "view": view })),
        )
        .await
        .map(drop)
    }

    /// Who the bot token is: its workspace (`team_id`).
    pub async fn bot_identity(&self) -> Result<String, SlackError> {
        let method = "auth.test";
        let answer = self.call(method, Token::Bot, Arguments::Form(&[])).await?;
        string_field(&answer, method, "team_id")
    }

    /// Whether the bot is a member of `channel`.
    pub async fn bot_in_channel(&self, channel: &str) -> Result<bool, SlackError> {
        let method = "conversations.info";
        let answer = self
            .call(method, Token::Bot, Arguments::Form(&[("channel", channel)]))
            .await?;
        Ok(answer
            .get("channel")
            .and_then(|channel| channel.get("is_member"))
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }
}

fn string_field(
    answer: &serde_json::Map<String, Value>,
    method: &'static str,
    field: &str,
) -> Result<String, SlackError> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| SlackError::Malformed {
            method,
            error: format!("no {field:?} in the answer"),
        })
}
