//! A local stand-in for Slack, for patdesk's tests and demo; never part of the daemon. It
//! serves what patdesk uses, as Slack documents it:
//!
//! - `apps.connections.open` (app-level token only; `not_allowed_token_type` for another)
//!   answers a one-time `ws://` URL; the WebSocket there says `hello`, sends envelopes, takes
//!   acknowledgements (`{"envelope_id": …}`) and **redelivers** an envelope not acknowledged
//!   within 3 s (same `envelope_id`, `retry_attempt` + 1), up to three times; at most 10
//!   connections at once;
//! - `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `views.open` (bot token; a
//!   `trigger_id` is good once, for 3 s: `expired_trigger_id` after), `auth.test` and
//!   `conversations.info` (form fields; `is_member` says whether the bot is in the channel);
//!   errors as Slack's `{"ok": false, "error": …}`, and 429 with `Retry-After` on command.
//!
//! Tests steer it through `/_standin/…`: a click or a modal submission by any user, from any
//! workspace or app, delivered once or several times; `disconnect` frames
//! (`refresh_requested`, `warning`, `link_disabled`), after which Slack closes the old
//! connection; a half-open socket (silence: nothing read, nothing sent, pings unanswered); and
//! `GET /_standin/state`, everything received.
//!
//! `slack-standin --app-token T --bot-token T --app-id A --team-id T --channel C
//! [--listen ADDR] [--bot-not-in-channel]` prints `listening on http://ADDR`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

/// Slack redelivers what is not acknowledged within this long.
const ACK_WITHIN: Duration = Duration::from_secs(3);
/// And gives up after this many retries.
const RETRIES: u32 = 3;
/// A `trigger_id` opens a modal only this soon after the click.
const TRIGGER_LIFETIME: Duration = Duration::from_secs(3);
const MAX_CONNECTIONS: usize = 10;

#[derive(Debug, Clone)]
struct Identity {
    app_token: String,
    bot_token: String,
    app_id: String,
    team_id: String,
    channel: String,
    bot_in_channel: bool,
}

/// What a connection is told to do.
#[derive(Debug)]
enum Out {
    Frame(String),
    Close,
}

struct Connection {
    id: u64,
    out: mpsc::UnboundedSender<Out>,
    silent: watch::Sender<bool>,
    /// A `disconnect` was sent: Slack sends nothing new on it.
    retiring: bool,
}

struct Envelope {
    frame: Value,
    sent_at: Instant,
    acked_after: Option<Duration>,
    attempts: u32,
    /// The connections it went to, in order.
    delivered_on: Vec<u64>,
}

#[derive(Default)]
struct World {
    identity: Option<Identity>,
    base: String,
    tickets: Vec<String>,
    connections: Vec<Connection>,
    connections_total: u64,
    sequence: u64,
    envelopes: Vec<(String, Envelope)>,
    triggers: HashMap<String, (Instant, bool)>,
    messages: HashMap<String, Value>,
    calls: Vec<Value>,
    rate_limit_next: u32,
}

type Shared = Arc<Mutex<World>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, World> {
    // A panicked handler leaves the world as it was: keep serving.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl World {
    fn identity(&self) -> &Identity {
        self.identity.as_ref().expect("set at start")
    }

    fn next(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Sends `frame` on the newest connection that is neither retiring nor silent, else on
    /// the newest of any; `None` when none is open.
    fn send(&mut self, frame: &Value, avoid: Option<u64>) -> Option<u64> {
        let pick = self
            .connections
            .iter()
            .rev()
            .find(|c| !c.retiring && !*c.silent.borrow() && Some(c.id) != avoid)
            .or_else(|| self.connections.iter().rev().find(|c| Some(c.id) != avoid))
            .or_else(|| self.connections.last())?;
        pick.out.send(Out::Frame(frame.to_string())).ok()?;
        Some(pick.id)
    }

    /// Wraps `payload` in an envelope, sends it `copies` times, and remembers it for redelivery.
    fn deliver(&mut self, kind: &str, payload: Value, copies: u32) -> String {
        let envelope_id = format!("env-{}", self.next());
        let frame = json!({
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind == "interactive",
            "retry_attempt": 0,
            "retry_reason": "",
        });
        let mut delivered_on = Vec::new();
        for _ in 0..copies.max(1) {
            delivered_on.extend(self.send(&frame, None));
        }
        self.envelopes.push((
            envelope_id.clone(),
            Envelope {
                frame,
                sent_at: Instant::now(),
                acked_after: None,
                attempts: 1,
                delivered_on,
            },
        ));
        envelope_id
    }

    /// Slack's redelivery: an envelope not acknowledged in time goes again, with its retry
    /// count, on another connection where there is one.
    fn redeliver_late(&mut self) {
        let now = Instant::now();
        let mut again = Vec::new();
        for (index, (_, envelope)) in self.envelopes.iter().enumerate() {
            if envelope.acked_after.is_none()
                && envelope.attempts <= RETRIES
                && now.duration_since(envelope.sent_at) >= ACK_WITHIN * envelope.attempts
            {
                again.push(index);
            }
        }
        for index in again {
            let (mut frame, last) = {
                let envelope = &self.envelopes[index].1;
                (
                    envelope.frame.clone(),
                    envelope.delivered_on.last().copied(),
                )
            };
            let attempt = self.envelopes[index].1.attempts;
            frame["retry_attempt"] = json!(attempt);
            frame["retry_reason"] = json!("timeout");
            let on = self.send(&frame, last);
            let envelope = &mut self.envelopes[index].1;
            envelope.attempts += 1;
            envelope.delivered_on.extend(on);
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("slack-standin: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut values: HashMap<String, String> = HashMap::new();
    let mut bot_in_channel = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bot-not-in-channel" => bot_in_channel = false,
            "--listen" => {
                let value = args.next().ok_or("--listen needs a value")?;
                listen = value.parse().map_err(|e| format!("--listen: {e}"))?;
            }
            flag @ ("--app-token" | "--bot-token" | "--app-id" | "--team-id" | "--channel") => {
                let value = args.next().ok_or(format!("{flag} needs a value"))?;
                values.insert(flag.trim_start_matches("--").to_string(), value);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let value = |name: &str| {
        values
            .get(name)
            .cloned()
            .ok_or(format!("--{name} is required"))
    };
    let identity = Identity {
        app_token: value("app-token")?,
        bot_token: value("bot-token")?,
        app_id: value("app-id")?,
        team_id: value("team-id")?,
        channel: value("channel")?,
        bot_in_channel,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let shared: Shared = Arc::new(Mutex::new(World {
        identity: Some(identity),
        base: format!("http://{address}"),
        ..World::default()
    }));
    let redelivery = shared.clone();
    tokio::spawn(async move {
        loop {
            // Slack's own timer: each 100 ms the envelopes past their 3 s go again. The
            // stand-in is the world, on the world's clock; the tick is its resolution.
            tokio::time::sleep(Duration::from_millis(100)).await;
            lock(&redelivery).redeliver_late();
        }
    });
    let app = Router::new()
        .route("/api/{method}", post(web_api))
        .route("/link", get(link))
        .route(
            "/_standin/health",
            get(|| async { Json(json!({ "ok": true })) }),
        )
        .route("/_standin/click", post(click))
        .route("/_standin/submit", post(submit))
        .route("/_standin/event", post(event))
        .route("/_standin/disconnect", post(disconnect))
        .route("/_standin/silence", post(silence))
        .route("/_standin/faults", post(faults))
        .route("/_standin/state", get(state))
        .with_state(shared);
    println!("listening on http://{address}");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

fn slack_error(error: &str) -> Response {
    Json(json!({ "ok": false, "error": error })).into_response()
}

/// The Web API: `POST /api/{method}`, the token as a bearer, arguments as JSON or form fields.
async fn web_api(
    State(shared): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let arguments: Value = if is_json {
        match serde_json::from_slice(&body) {
            Ok(arguments) => arguments,
            Err(_) => return slack_error("invalid_json"),
        }
    } else {
        let fields: HashMap<String, String> =
            serde_urlencoded::from_bytes(&body).unwrap_or_default();
        json!(fields)
    };
    let mut world = lock(&shared);
    world
        .calls
        .push(json!({ "method": method, "arguments": arguments, "json": is_json }));
    if world.rate_limit_next > 0 {
        world.rate_limit_next -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(json!({ "ok": false, "error": "ratelimited" })),
        )
            .into_response();
    }
    let identity = world.identity().clone();
    let app_method = method == "apps.connections.open";
    match (app_method, token.as_str()) {
        (true, token) if token == identity.app_token => {}
        (false, token) if token == identity.bot_token => {}
        (_, token) if token == identity.app_token || token == identity.bot_token => {
            return slack_error("not_allowed_token_type");
        }
        (_, "") => return slack_error("not_authed"),
        _ => return slack_error("invalid_auth"),
    }
    // The methods that write take JSON; the ones that read take form fields (Slack's own
    // distinction): JSON sent to a reading method is not read.
    let writes = matches!(
        method.as_str(),
        "chat.postMessage" | "chat.update" | "chat.postEphemeral" | "views.open"
    );
    if writes && !is_json {
        return slack_error("invalid_arguments");
    }
    let text = |name: &str| {
        arguments
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match method.as_str() {
        "apps.connections.open" => {
            if world.connections.len() >= MAX_CONNECTIONS {
                return slack_error("too_many_websockets");
            }
            let ticket = format!("ticket-{}", world.next());
            world.tickets.push(ticket.clone());
            let url = format!(
                "{}/link?ticket={ticket}",
                world.base.replacen("http", "ws", 1)
            );
            Json(json!({ "ok": true, "url": url })).into_response()
        }
        "auth.test" => Json(json!({
            "ok": true, "team_id": identity.team_id, "user_id": "U0BOT00001", "bot_id": "B0BOT00001"
        }))
        .into_response(),
        "conversations.info" => match text("channel") {
            Some(channel) if !is_json && channel == identity.channel => Json(json!({
                "ok": true,
                "channel": { "id": channel, "is_member": identity.bot_in_channel }
            }))
            .into_response(),
            _ => slack_error("channel_not_found"),
        },
        "chat.postMessage" => {
            if text("channel").as_deref() != Some(&identity.channel) {
                return slack_error("channel_not_found");
            }
            if !identity.bot_in_channel {
                return slack_error("not_in_channel");
            }
            if let Some(problem) = blocks_problem(&arguments) {
                return slack_error(problem);
            }
            let ts = format!("1767225600.{:06}", world.next());
            world.messages.insert(ts.clone(), arguments.clone());
            Json(json!({ "ok": true, "channel": identity.channel, "ts": ts })).into_response()
        }
        "chat.update" => {
            let Some(ts) = text("ts") else {
                return slack_error("message_not_found");
            };
            if !world.messages.contains_key(&ts) {
                return slack_error("message_not_found");
            }
            if let Some(problem) = blocks_problem(&arguments) {
                return slack_error(problem);
            }
            world.messages.insert(ts.clone(), arguments.clone());
            Json(json!({ "ok": true, "channel": identity.channel, "ts": ts })).into_response()
        }
        "chat.postEphemeral" => {
            if text("user").is_none() || text("channel").as_deref() != Some(&identity.channel) {
                return slack_error("user_not_in_channel");
            }
            let ts = format!("1767225600.{:06}", world.next());
            Json(json!({ "ok": true, "message_ts": ts })).into_response()
        }
        "views.open" => {
            let Some(trigger) = text("trigger_id") else {
                return slack_error("invalid_trigger_id");
            };
            match world.triggers.get_mut(&trigger) {
                Some((issued, used)) if !*used && issued.elapsed() < TRIGGER_LIFETIME => {
                    *used = true;
                }
                Some(_) => return slack_error("expired_trigger_id"),
                None => return slack_error("invalid_trigger_id"),
            }
            if arguments.pointer("/view/type").and_then(Value::as_str) != Some("modal") {
                return slack_error("invalid_arguments");
            }
            let id = format!("V{:09}", world.next());
            Json(json!({ "ok": true, "view": { "id": id } })).into_response()
        }
        _ => slack_error("unknown_method"),
    }
}

/// What Slack refuses in a message's blocks: more than 50, a header over 150 characters, a
/// section over 3,000.
fn blocks_problem(arguments: &Value) -> Option<&'static str> {
    let blocks = arguments.get("blocks")?.as_array()?;
    if blocks.len() > 50 {
        return Some("invalid_blocks");
    }
    for block in blocks {
        let length = block
            .pointer("/text/text")
            .and_then(Value::as_str)
            .map_or(0, |text| text.chars().count());
        let limit = match block.get("type").and_then(Value::as_str) {
            Some("header") => 150,
            _ => 3000,
        };
        if length > limit {
            return Some("invalid_blocks");
        }
    }
    None
}

#[derive(Deserialize)]
struct Ticket {
    ticket: String,
}

/// The WebSocket a connection URL leads to; each URL once.
async fn link(
    State(shared): State<Shared>,
    Query(Ticket { ticket }): Query<Ticket>,
    upgrade: WebSocketUpgrade,
) -> Response {
    {
        let mut world = lock(&shared);
        let Some(at) = world.tickets.iter().position(|known| *known == ticket) else {
            return (StatusCode::UNAUTHORIZED, "unknown or used ticket").into_response();
        };
        world.tickets.remove(at);
    }
    upgrade.on_upgrade(move |socket| connection(shared, socket))
}

async fn connection(shared: Shared, socket: WebSocket) {
    let (out_tx, mut out) = mpsc::unbounded_channel::<Out>();
    let (silent_tx, mut silent) = watch::channel(false);
    let id = {
        let mut world = lock(&shared);
        world.connections_total += 1;
        let id = world.next();
        let app_id = world.identity().app_id.clone();
        let count = world.connections.len() + 1;
        world.connections.push(Connection {
            id,
            out: out_tx.clone(),
            silent: silent_tx,
            retiring: false,
        });
        let _ = out_tx.send(Out::Frame(
            json!({
                "type": "hello",
                "num_connections": count,
                "connection_info": { "app_id": app_id },
                "debug_info": { "host": "slack-standin", "approximate_connection_time": 18060 },
            })
            .to_string(),
        ));
        id
    };
    let (mut sink, mut stream) = socket.split();
    loop {
        if *silent.borrow() {
            // Half-open: nothing read (so no pong), nothing sent, until told to close.
            match out.recv().await {
                Some(Out::Close) | None => break,
                Some(Out::Frame(_)) => continue,
            }
        }
        tokio::select! {
            _ = silent.changed() => {}
            next = out.recv() => match next {
                Some(Out::Frame(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => {
                    let _ = sink.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => acknowledge(&shared, text.as_str()),
                Some(Ok(Message::Ping(data))) => {
                    let _ = sink.send(Message::Pong(data)).await;
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    lock(&shared).connections.retain(|c| c.id != id);
}

fn acknowledge(shared: &Shared, text: &str) {
    let Ok(ack) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let Some(id) = ack.get("envelope_id").and_then(Value::as_str) else {
        return;
    };
    let mut world = lock(shared);
    if let Some((_, envelope)) = world.envelopes.iter_mut().find(|(known, _)| known == id)
        && envelope.acked_after.is_none()
    {
        envelope.acked_after = Some(envelope.sent_at.elapsed());
    }
}

/// Who acts, and from where: the configured workspace and app unless a test says otherwise.
#[derive(Deserialize)]
struct Actor {
    user: String,
    team: Option<String>,
    app: Option<String>,
    channel: Option<String>,
    #[serde(default = "one")]
    copies: u32,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct ClickAsked {
    #[serde(flatten)]
    actor: Actor,
    action: String,
    request: i64,
}

/// A button click, as `block_actions` carries it.
async fn click(State(shared): State<Shared>, Json(asked): Json<ClickAsked>) -> Json<Value> {
    let mut world = lock(&shared);
    let identity = world.identity().clone();
    let team = asked.actor.team.unwrap_or(identity.team_id.clone());
    let channel = asked.actor.channel.unwrap_or(identity.channel.clone());
    let trigger = format!("{}.{}.standin", world.next(), world.next());
    world
        .triggers
        .insert(trigger.clone(), (Instant::now(), false));
    let payload = json!({
        "type": "block_actions",
        "api_app_id": asked.actor.app.unwrap_or(identity.app_id.clone()),
        "team": { "id": team, "domain": "acme" },
        "user": { "id": asked.actor.user, "username": "someone", "name": "someone", "team_id": team },
        "channel": { "id": channel, "name": "pat-requests" },
        "container": { "type": "message", "message_ts": "1767225600.000001", "channel_id": channel, "is_ephemeral": false },
        "trigger_id": trigger,
        "response_url": format!("{}/actions/response", world.base),
        "actions": [{
            "action_id": asked.action,
            "block_id": format!("decide-{}", asked.request),
            "value": asked.request.to_string(),
            "type": "button",
            "action_ts": "1767225601.000100",
        }],
    });
    let envelope_id = world.deliver("interactive", payload, asked.actor.copies);
    Json(json!({ "envelope_id": envelope_id, "trigger_id": trigger }))
}

#[derive(Deserialize)]
struct SubmitAsked {
    #[serde(flatten)]
    actor: Actor,
    request: i64,
    decision: String,
    reason: String,
}

/// The reason modal, submitted (`view_submission`).
async fn submit(State(shared): State<Shared>, Json(asked): Json<SubmitAsked>) -> Json<Value> {
    let mut world = lock(&shared);
    let identity = world.identity().clone();
    let team = asked.actor.team.unwrap_or(identity.team_id.clone());
    let payload = json!({
        "type": "view_submission",
        "api_app_id": asked.actor.app.unwrap_or(identity.app_id.clone()),
        "team": { "id": team, "domain": "acme" },
        "user": { "id": asked.actor.user, "team_id": team },
        "view": {
            "id": "V0000000001",
            "type": "modal",
            "callback_id": "patdesk_reason",
            "private_metadata": json!({ "request": asked.request, "decision": asked.decision }).to_string(),
            "state": { "values": { "reason": { "reason": { "type": "plain_text_input", "value": asked.reason } } } },
        },
    });
    let envelope_id = world.deliver("interactive", payload, asked.actor.copies);
    Json(json!({ "envelope_id": envelope_id }))
}

/// Any other envelope (`events_api`, `slash_commands`), which patdesk acknowledges and leaves.
async fn event(State(shared): State<Shared>, Json(asked): Json<Value>) -> Json<Value> {
    let kind = asked
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("events_api")
        .to_string();
    let payload = asked.get("payload").cloned().unwrap_or(Value::Null);
    let envelope_id = lock(&shared).deliver(&kind, payload, 1);
    Json(json!({ "envelope_id": envelope_id }))
}

#[derive(Deserialize)]
struct DisconnectAsked {
    reason: String,
    /// How long Slack keeps the old connections open after saying so.
    #[serde(default)]
    close_after_ms: u64,
}

/// `disconnect` on every open connection; they close after `close_after_ms`.
async fn disconnect(
    State(shared): State<Shared>,
    Json(asked): Json<DisconnectAsked>,
) -> Json<Value> {
    let frame = json!({
        "type": "disconnect",
        "reason": asked.reason,
        "debug_info": { "host": "slack-standin" },
    })
    .to_string();
    let mut closing = Vec::new();
    {
        let mut world = lock(&shared);
        for connection in &mut world.connections {
            connection.retiring = true;
            let _ = connection.out.send(Out::Frame(frame.clone()));
            closing.push(connection.out.clone());
        }
    }
    let told = closing.len();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(asked.close_after_ms)).await;
        for out in closing {
            let _ = out.send(Out::Close);
        }
    });
    Json(json!({ "told": told }))
}

/// Every open connection goes silent: half-open, as a dead network leaves it.
async fn silence(State(shared): State<Shared>) -> Json<Value> {
    let world = lock(&shared);
    for connection in &world.connections {
        let _ = connection.silent.send(true);
    }
    Json(json!({ "silenced": world.connections.len() }))
}

async fn faults(State(shared): State<Shared>, Json(asked): Json<Value>) -> Json<Value> {
    let mut world = lock(&shared);
    if let Some(count) = asked.get("rate_limit_next").and_then(Value::as_u64) {
        world.rate_limit_next = u32::try_from(count).unwrap_or(u32::MAX);
    }
    Json(json!({ "ok": true }))
}

/// Everything the stand-in received and sent.
async fn state(State(shared): State<Shared>) -> Json<Value> {
    let world = lock(&shared);
    let envelopes: Vec<Value> = world
        .envelopes
        .iter()
        .map(|(id, envelope)| {
            json!({
                "envelope_id": id,
                "type": envelope.frame.get("type"),
                "acked_ms": envelope.acked_after.map(|after| after.as_millis() as u64),
                "attempts": envelope.attempts,
                "delivered_on": envelope.delivered_on,
            })
        })
        .collect();
    let messages: HashMap<&String, &Value> = world.messages.iter().collect();
    Json(json!({
        "connections_open": world.connections.len(),
        "connections_silent": world.connections.iter().filter(|c| *c.silent.borrow()).count(),
        "connections_total": world.connections_total,
        "calls": world.calls,
        "envelopes": envelopes,
        "messages": messages,
    }))
}
