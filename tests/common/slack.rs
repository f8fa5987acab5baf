//! The Slack stand-in (the `slack-standin` binary of the stand-in crate) for one test: its
//! app, workspace and channel, the `[slack]` section that points a patdesk at it, and the
//! steering of clicks, submissions, disconnects and silence.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::standin::{control_http, listening_url, stand_in_binary};

pub const APP_TOKEN: &str = "xapp-1-A0PATDESK01-1-standin";
pub const BOT_TOKEN: &str = "xoxb-1-standin-bot";
pub const APP_ID: &str = "A0PATDESK01";
pub const TEAM_ID: &str = "T0ACMECORP1";
pub const CHANNEL: &str = "C0PATREQS01";
/// The Slack users the tests' members are (alice, bob), and one nobody mapped.
pub const ALICE: &str = "U0ALICE0001";
pub const BOB: &str = "U0BOB000001";
pub const STRANGER: &str = "U0MALLORY01";

pub struct SlackStandin {
    child: Child,
    pub url: String,
}

impl SlackStandin {
    pub fn start() -> SlackStandin {
        SlackStandin::start_with(&[])
    }

    /// With `extra` arguments, such as `--bot-not-in-channel`.
    pub fn start_with(extra: &[&str]) -> SlackStandin {
        let mut child = Command::new(stand_in_binary("slack-standin"))
            .args([
                "--app-token",
                APP_TOKEN,
                "--bot-token",
                BOT_TOKEN,
                "--app-id",
                APP_ID,
                "--team-id",
                TEAM_ID,
                "--channel",
                CHANNEL,
            ])
            .args(extra)
            // Slack's 3 s are real seconds, whatever clock the test keeps.
            .env_remove("LD_PRELOAD")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start slack-standin");
        let url = listening_url(&mut child);
        SlackStandin { child, url }
    }

    /// `[slack]` for a config whose folder holds the two token files ([`write_tokens`]).
    pub fn section(&self, decide_up_to: &str) -> String {
        format!(
            "[slack]\napp_token = {{ file = \"slack-app-token\" }}\nbot_token = {{ file = \"slack-bot-token\" }}\n\
             app_id = \"{APP_ID}\"\nteam_id = \"{TEAM_ID}\"\nchannel = \"{CHANNEL}\"\n\
             decide_up_to = \"{decide_up_to}\"\napi_url = \"{}/api\"\n",
            self.url
        )
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        control_http::blocking_client()(method, &format!("{}/_standin/{path}", self.url), body)
    }

    /// `user` clicks `action` on request `request`'s message; `extra` overrides the payload's
    /// team, app or channel, or asks for `copies`.
    pub fn click(&self, user: &str, action: &str, request: i64, extra: Value) -> Value {
        let mut body = json!({ "user": user, "action": action, "request": request });
        merge(&mut body, extra);
        self.control("POST", "click", Some(body))
    }

    /// `user` submits the reason modal.
    pub fn submit(
        &self,
        user: &str,
        request: i64,
        decision: &str,
        reason: &str,
        extra: Value,
    ) -> Value {
        let mut body =
            json!({ "user": user, "request": request, "decision": decision, "reason": reason });
        merge(&mut body, extra);
        self.control("POST", "submit", Some(body))
    }

    pub fn event(&self, body: Value) -> Value {
        self.control("POST", "event", Some(body))
    }

    pub fn disconnect(&self, reason: &str, close_after_ms: u64) -> Value {
        self.control(
            "POST",
            "disconnect",
            Some(json!({ "reason": reason, "close_after_ms": close_after_ms })),
        )
    }

    pub fn silence(&self) -> Value {
        self.control("POST", "silence", Some(json!({})))
    }

    pub fn faults(&self, faults: Value) -> Value {
        self.control("POST", "faults", Some(faults))
    }

    pub fn state(&self) -> Value {
        self.control("GET", "state", None)
    }

    /// The Web API calls received of `method`.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state()["calls"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|call| call["method"] == method)
            .collect()
    }
}

impl Drop for SlackStandin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

/// `[team.members]` with the members' Slack user IDs.
pub fn team_section() -> String {
    format!(
        "[team.members]\nalice = {{ unix = \"{}\", slack = \"{ALICE}\" }}\nbob = {{ unix = \"{}\", slack = \"{BOB}\" }}\n",
        super::users::ALICE,
        super::users::BOB
    )
}
