//! What a Socket Mode envelope carries, read into types and checked against the config: the
//! app (`api_app_id`), the workspace (`team.id`) and, for a click, the channel. Anything else
//! in the envelope is Slack's and ignored; anything unexpected in a payload is refused here,
//! so the rest of patdesk sees only clicks it can act on.

use serde::Deserialize;
use serde_json::Value;

use crate::config::SlackConfig;

/// A Socket Mode frame from Slack.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The connection is ready.
    Hello,
    /// Slack will close this connection: open another first (`refresh_requested`, `warning`),
    /// or stop (`link_disabled`: the app's Socket Mode was switched off).
    Disconnect { reason: DisconnectReason },
    /// Something to acknowledge with its `envelope_id`, and perhaps act on: `kind` is
    /// `interactive`, `events_api`, `slash_commands`, ….
    Envelope {
        envelope_id: String,
        kind: String,
        payload: Value,
    },
    /// A frame patdesk does not know: ignored.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    Refresh,
    LinkDisabled,
}

impl Frame {
    pub fn parse(text: &str) -> Frame {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "type")]
            kind: Option<String>,
            envelope_id: Option<String>,
            payload: Option<Value>,
            reason: Option<String>,
        }
        let Ok(raw) = serde_json::from_str::<Raw>(text) else {
            return Frame::Unknown;
        };
        if let Some(envelope_id) = raw.envelope_id.filter(|id| !id.is_empty()) {
            return Frame::Envelope {
                envelope_id,
                kind: raw.kind.unwrap_or_default(),
                payload: raw.payload.unwrap_or(Value::Null),
            };
        }
        match raw.kind.as_deref() {
            Some("hello") => Frame::Hello,
            Some("disconnect") => Frame::Disconnect {
                reason: match raw.reason.as_deref() {
                    Some("link_disabled") => DisconnectReason::LinkDisabled,
                    // `refresh_requested`, `warning`, and any reason Slack adds later: a new
                    // connection is the safe answer.
                    _ => DisconnectReason::Refresh,
                },
            },
            _ => Frame::Unknown,
        }
    }
}

/// Who clicked, as the payload names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clicker {
    pub user_id: String,
    pub team_id: String,
}

/// What a button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Click {
    Approve,
    Deny,
    Show,
}

impl Click {
    pub const APPROVE: &str = "approve";
    pub const DENY: &str = "deny";
    pub const SHOW: &str = "show";

    pub fn action_id(self) -> &'static str {
        match self {
            Click::Approve => Click::APPROVE,
            Click::Deny => Click::DENY,
            Click::Show => Click::SHOW,
        }
    }

    fn from_action_id(id: &str) -> Option<Click> {
        [Click::Approve, Click::Deny, Click::Show]
            .into_iter()
            .find(|click| click.action_id() == id)
    }
}

/// A decision the reason modal was opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reasoned {
    Approve,
    Deny,
}

/// What the reason modal carries back in its `private_metadata`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ReasonFor {
    pub request: i64,
    pub decision: Reasoned,
}

/// The modal's callback and its one input's ids.
pub const REASON_CALLBACK: &str = "patdesk_reason";
pub const REASON_BLOCK: &str = "reason";
pub const REASON_INPUT: &str = "reason";

/// An interaction patdesk acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    /// A button on a request's message.
    Click {
        who: Clicker,
        click: Click,
        request: i64,
        /// For the modal a click opens; also what tells a click delivered twice from two.
        trigger_id: String,
    },
    /// The reason modal, submitted.
    Reason {
        who: Clicker,
        reason_for: ReasonFor,
        reason: String,
    },
}

/// Why a payload is not acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotActed {
    /// Not from the configured app or workspace, or not in the channel: logged, nobody told
    /// (the sender is not ours to talk to).
    #[error("a payload from {what} {found:?}, not the configured one")]
    Foreign { what: &'static str, found: String },
    /// An event or interaction patdesk does not use (messages, slash commands, …).
    #[error("an interaction patdesk does not use ({0})")]
    Unused(String),
    /// Not the shape Slack documents.
    #[error("a payload patdesk cannot read: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct RawPayload {
    #[serde(rename = "type")]
    kind: String,
    api_app_id: Option<String>,
    team: Option<RawId>,
    user: Option<RawId>,
    channel: Option<RawId>,
    trigger_id: Option<String>,
    #[serde(default)]
    actions: Vec<RawAction>,
    view: Option<RawView>,
}

#[derive(Deserialize)]
struct RawId {
    id: String,
}

#[derive(Deserialize)]
struct RawAction {
    action_id: String,
    value: Option<String>,
}

#[derive(Deserialize)]
struct RawView {
    callback_id: Option<String>,
    private_metadata: Option<String>,
    state: Option<Value>,
}

/// Reads an `interactive` envelope's payload, checked against `config`.
pub fn read(payload: &Value, config: &SlackConfig) -> Result<Interaction, NotActed> {
    let raw =
        RawPayload::deserialize(payload).map_err(|error| NotActed::Malformed(error.to_string()))?;
    let app = raw.api_app_id.unwrap_or_default();
    if app != config.app_id {
        return Err(NotActed::Foreign {
            what: "the app",
            found: crate::shown::quoted(&app, 40),
        });
    }
    let team = raw.team.map(|team| team.id).unwrap_or_default();
    if team != config.team_id {
        return Err(NotActed::Foreign {
            what: "the workspace",
            found: crate::shown::quoted(&team, 40),
        });
    }
    let user = raw
        .user
        .map(|user| user.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| NotActed::Malformed("no user".to_string()))?;
    let who = Clicker {
        user_id: user,
        team_id: team,
    };
    match raw.kind.as_str() {
        "block_actions" => {
            let channel = raw.channel.map(|channel| channel.id).unwrap_or_default();
            if channel != config.channel {
                return Err(NotActed::Foreign {
                    what: "the channel",
                    found: crate::shown::quoted(&channel, 40),
                });
            }
            let [action] = raw.actions.as_slice() else {
                return Err(NotActed::Malformed(format!(
                    "{} actions in one click",
                    raw.actions.len()
                )));
            };
            let click = Click::from_action_id(&action.action_id)
                .ok_or_else(|| NotActed::Unused(crate::shown::quoted(&action.action_id, 40)))?;
            let request = action
                .value
                .as_deref()
                .and_then(|value| value.parse::<i64>().ok())
                .ok_or_else(|| NotActed::Malformed("a button without a request id".to_string()))?;
            let trigger_id = raw
                .trigger_id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| NotActed::Malformed("a click without a trigger_id".to_string()))?;
            Ok(Interaction::Click {
                who,
                click,
                request,
                trigger_id,
            })
        }
        "view_submission" => {
            let view = raw
                .view
                .ok_or_else(|| NotActed::Malformed("a submission without its view".to_string()))?;
            if view.callback_id.as_deref() != Some(REASON_CALLBACK) {
                return Err(NotActed::Unused("another modal".to_string()));
            }
            let reason_for: ReasonFor = view
                .private_metadata
                .as_deref()
                .and_then(|metadata| serde_json::from_str(metadata).ok())
                .ok_or_else(|| NotActed::Malformed("the modal lost its request".to_string()))?;
            let reason = view
                .state
                .as_ref()
                .and_then(|state| {
                    state
                        .pointer(&format!("/values/{REASON_BLOCK}/{REASON_INPUT}/value"))?
                        .as_str()
                })
                .unwrap_or_default()
                .to_string();
            Ok(Interaction::Reason {
                who,
                reason_for,
                reason,
            })
        }
        other => Err(NotActed::Unused(crate::shown::quoted(other, 40))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> SlackConfig {
        SlackConfig {
            app_token: crate::config::SecretRef::for_tests("slack.app_token"),
            bot_token: crate::config::SecretRef::for_tests("slack.bot_token"),
            app_id: "A0APP00001".to_string(),
            team_id: "T0TEAM0001".to_string(),
            channel: "C0CHAN0001".to_string(),
            decide_up_to: crate::review::Risk::Medium,
            api_url: crate::config::DEFAULT_SLACK_API_URL.to_string(),
        }
    }

    fn click(app: &str, team: &str, channel: &str) -> Value {
        json!({
            "type": "block_actions",
            "api_app_id": app,
            "team": { "id": team, "domain": "acme" },
            "user": { "id": "U0ALICE001", "team_id": team, "name": "alice" },
            "channel": { "id": channel },
            "trigger_id": "123.456.abc",
            "container": { "type": "message", "message_ts": "1.2", "channel_id": channel },
            "actions": [{ "action_id": "approve", "value": "12", "type": "button" }]
        })
    }

    #[test]
    fn a_click_from_the_app_workspace_and_channel_is_read() {
        let read = read(&click("A0APP00001", "T0TEAM0001", "C0CHAN0001"), &config());
        assert_eq!(
            read,
            Ok(Interaction::Click {
                who: Clicker {
                    user_id: "U0ALICE001".to_string(),
                    team_id: "T0TEAM0001".to_string()
                },
                click: Click::Approve,
                request: 12,
                trigger_id: "123.456.abc".to_string(),
            })
        );
    }

    #[test]
    fn another_app_workspace_or_channel_is_foreign() {
        for (payload, what) in [
            (click("A0OTHER001", "T0TEAM0001", "C0CHAN0001"), "the app"),
            (
                click("A0APP00001", "T0OTHER001", "C0CHAN0001"),
                "the workspace",
            ),
            (
                click("A0APP00001", "T0TEAM0001", "C0OTHER001"),
                "the channel",
            ),
        ] {
            match read(&payload, &config()) {
                Err(NotActed::Foreign { what: found, .. }) => assert_eq!(found, what),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_reason_modal_comes_back_with_its_request() {
        let payload = json!({
            "type": "view_submission",
            "api_app_id": "A0APP00001",
            "team": { "id": "T0TEAM0001" },
            "user": { "id": "U0ALICE001" },
            "view": {
                "callback_id": REASON_CALLBACK,
                "private_metadata": "{\"request\":7,\"decision\":\"deny\"}",
                "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": "too broad" } } } }
            }
        });
        assert_eq!(
            read(&payload, &config()),
            Ok(Interaction::Reason {
                who: Clicker {
                    user_id: "U0ALICE001".to_string(),
                    team_id: "T0TEAM0001".to_string()
                },
                reason_for: ReasonFor {
                    request: 7,
                    decision: Reasoned::Deny
                },
                reason: "too broad".to_string(),
            })
        );
    }

    #[test]
    fn frames_are_told_apart() {
        assert_eq!(
            Frame::parse(r#"{"type":"hello","num_connections":1}"#),
            Frame::Hello
        );
        assert_eq!(
            Frame::parse(r#"{"type":"disconnect","reason":"refresh_requested"}"#),
            Frame::Disconnect {
                reason: DisconnectReason::Refresh
            }
        );
        assert_eq!(
            Frame::parse(r#"{"type":"disconnect","reason":"link_disabled"}"#),
            Frame::Disconnect {
                reason: DisconnectReason::LinkDisabled
            }
        );
        assert!(matches!(
            Frame::parse(r#"{"envelope_id":"e1","type":"interactive","payload":{}}"#),
            Frame::Envelope { envelope_id, kind, .. } if envelope_id == "e1" && kind == "interactive"
        ));
        assert_eq!(Frame::parse("not json"), Frame::Unknown);
    }
}
