//! `[slack]`: decisions from the team's Slack channel, over Socket Mode (no public URL). Off
//! unless this section is there; members decide from Slack only when `team.members` names
//! their Slack user ID.

use super::raw::{RawRisk, RawSlack};
use super::web::url_problem;
use super::{SecretKind, SecretRef};
use crate::review::Risk;

pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlackConfig {
    /// The app-level token (`xapp-…`, `connections:write`): opens Socket Mode connections.
    pub app_token: SecretRef,
    /// The bot token (`xoxb-…`): posts and updates the channel's messages, opens modals.
    pub bot_token: SecretRef,
    /// The app every payload must come from (`api_app_id`).
    pub app_id: String,
    /// The workspace every payload must come from (`team.id`).
    pub team_id: String,
    /// The channel requests are posted to, and the only one clicks are taken from.
    pub channel: String,
    /// The highest risk a decision may be taken in Slack at; above it, the CLI.
    pub decide_up_to: Risk,
    /// Slack's Web API, without a trailing slash.
    pub api_url: String,
}

impl super::Validator {
    pub(super) fn slack(&mut self, raw: RawSlack) -> Option<SlackConfig> {
        let app_token =
            self.required_secret("slack.app_token", SecretKind::Password, raw.app_token);
        let bot_token =
            self.required_secret("slack.bot_token", SecretKind::Password, raw.bot_token);
        let app_id = self.slack_id("slack.app_id", raw.app_id, &['A'], "A0123ABCDEF");
        let team_id = self.slack_id("slack.team_id", raw.team_id, &['T'], "T0123ABCDEF");
        let channel = self.slack_id("slack.channel", raw.channel, &['C', 'G'], "C0123ABCDEF");
        let api_url = raw
            .api_url
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_string());
        if let Some(problem) = url_problem(&api_url) {
            self.problem("slack.api_url", format!("is {api_url:?}: {problem}"));
        }
        let decide_up_to = match raw.decide_up_to {
            Some(RawRisk::Low) => Risk::Low,
            Some(RawRisk::Medium) | None => Risk::Medium,
            Some(RawRisk::High) => Risk::High,
            Some(RawRisk::Critical) => Risk::Critical,
        };
        Some(SlackConfig {
            app_token: app_token?,
            bot_token: bot_token?,
            app_id: app_id?,
            team_id: team_id?,
            channel: channel?,
            decide_up_to,
            api_url,
        })
    }

    /// A Slack ID at `key`: one of `prefixes`, then upper-case letters and digits. Slack IDs
    /// are what a payload is checked against; names can be changed by whoever holds them.
    fn slack_id(
        &mut self,
        key: &str,
        value: Option<String>,
        prefixes: &[char],
        example: &str,
    ) -> Option<String> {
        let Some(value) = value else {
            self.problem(
                key,
                format!("is missing: the Slack ID, such as \"{example}\""),
            );
            return None;
        };
        if !is_slack_id(&value, prefixes) {
            self.problem(
                key,
                format!("is {value:?}: expected a Slack ID such as \"{example}\" (not a name)"),
            );
            return None;
        }
        Some(value)
    }
}

/// Slack's IDs: a type letter, then 8 to 20 upper-case letters and digits.
pub fn is_slack_id(value: &str, prefixes: &[char]) -> bool {
    value.starts_with(prefixes)
        && (9..=21).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::is_slack_id;

    #[test]
    fn slack_ids_are_told_from_names() {
        assert!(is_slack_id("U012AB3CD", &['U', 'W']));
        assert!(is_slack_id("W0123456789", &['U', 'W']));
        assert!(!is_slack_id("alice", &['U', 'W']));
        assert!(!is_slack_id("@alice", &['U', 'W']));
        assert!(!is_slack_id("U01", &['U', 'W']));
        assert!(!is_slack_id("C012AB3CD", &['U', 'W']));
    }
}
