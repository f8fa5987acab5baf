//! The Socket Mode connection: Slack's events come over a WebSocket the daemon opens, so no
//! public URL is needed. Slack documents its failures, and each has its answer here:
//!
//! - every envelope is acknowledged the moment it is read, by the connection that read it,
//!   before anything is done with it (Slack redelivers what is not acknowledged within 3 s);
//! - delivery is at least once, and two connections may both deliver during a refresh: an
//!   envelope seen before is dropped ([`Seen`]);
//! - `disconnect` (`refresh_requested`, `warning`) is answered by opening the next connection
//!   and closing this one only once the next has said `hello`, so nothing falls in between;
//! - a socket can die without a word: each connection pings, and one that has heard nothing
//!   for `dead_after` is replaced.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::api::{SlackError, WebApi};
use super::interaction::{DisconnectReason, Frame};

/// How many envelope ids are remembered: far more than Slack redelivers in the minutes it
/// retries.
const REMEMBERED: usize = 10_000;
/// The largest frame read: Slack's payloads are a few kilobytes.
const MAX_FRAME: usize = 1024 * 1024;
/// The WebSocket's read and write buffers.
const BUFFER: usize = 16 * 1024;
/// Waits between failed attempts to open a connection grow to this.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(60);

/// How often a connection pings, and after how long without a word it counts as dead.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub ping_every: Duration,
    pub dead_after: Duration,
}

impl Liveness {
    pub fn every(ping_every: Duration) -> Liveness {
        Liveness {
            ping_every,
            dead_after: ping_every * 3,
        }
    }
}

/// An envelope to act on, already acknowledged.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub envelope_id: String,
    /// `interactive`, `events_api`, `slash_commands`.
    pub kind: String,
    pub payload: Value,
}

/// How the connection is doing, for `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Connected,
    Failing(String),
}

/// The envelope ids seen lately, oldest forgotten first.
#[derive(Default)]
pub struct Seen {
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl Seen {
    /// Whether `id` is new (and remembers it).
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= REMEMBERED
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

/// What a connection tells the one who keeps them.
#[derive(Debug)]
enum Event {
    Hello(u64),
    Disconnect(u64, DisconnectReason),
    Envelope(Delivered),
    /// It ended: closed by Slack, failed, or silent too long (the reason says).
    Ended(u64, String),
    /// It could not be opened.
    Failed(String),
}

struct Handle {
    id: u64,
    close: watch::Sender<bool>,
    greeted: bool,
    /// Slack asked for it to be replaced.
    retiring: bool,
}

/// Keeps one Socket Mode connection (two during a refresh) until `shutdown`, handing each new
/// envelope to `deliver` and each change of health to `health`.
pub async fn run(
    api: WebApi,
    liveness: Liveness,
    deliver: mpsc::Sender<Delivered>,
    health: impl Fn(Health) + Send,
    mut shutdown: watch::Receiver<bool>,
) {
    let (events_tx, mut events) = mpsc::channel::<Event>(256);
    let mut seen = Seen::default();
    let mut next_id = 0u64;
    let mut active: Option<Handle> = None;
    let mut incoming: Option<Handle> = None;
    let mut opening = false;
    let mut failures = 0u32;
    let mut retry_at: Option<tokio::time::Instant> = Some(tokio::time::Instant::now());
    loop {
        // One connection opening at a time, when none is coming and the active one is gone
        // or retiring.
        let wanted =
            incoming.is_none() && !opening && active.as_ref().is_none_or(|handle| handle.retiring);
        let open_now = wanted && retry_at.is_none_or(|at| at <= tokio::time::Instant::now());
        if open_now {
            next_id += 1;
            opening = true;
            retry_at = None;
            let (close, closed) = watch::channel(false);
            incoming = Some(Handle {
                id: next_id,
                close,
                greeted: false,
                retiring: false,
            });
            tokio::spawn(connection(
                api.clone(),
                next_id,
                liveness,
                events_tx.clone(),
                closed,
            ));
        }
        let retry_sleep = async {
            match retry_at {
                Some(at) if wanted => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            _ = shutdown.changed() => break,
            () = retry_sleep => continue,
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
        };
        match event {
            Event::Envelope(delivered) => {
                if seen.first_time(&delivered.envelope_id) {
                    // The handler's queue is long; a full one waits here, never the acks.
                    if deliver.send(delivered).await.is_err() {
                        break;
                    }
                }
            }
            Event::Hello(id) => {
                opening = false;
                failures = 0;
                if let Some(handle) = incoming.as_mut().filter(|handle| handle.id == id) {
                    handle.greeted = true;
                }
                if incoming.as_ref().is_some_and(|handle| handle.id == id) {
                    // The new one is ready: only now is the old one let go.
                    if let Some(old) = active.take() {
                        let _ = old.close.send(true);
                    }
                    active = incoming.take();
                    health(Health::Connected);
                }
            }
            Event::Disconnect(id, reason) => {
                if let Some(handle) = active.as_mut().filter(|handle| handle.id == id) {
                    handle.retiring = true;
                }
                if reason == DisconnectReason::LinkDisabled {
                    health(Health::Failing(
                        "Slack disabled the app's Socket Mode (link_disabled)".to_string(),
                    ));
                    failures += 1;
                    retry_at = Some(tokio::time::Instant::now() + retry_wait(failures));
                }
            }
            Event::Ended(id, why) => {
                if active.as_ref().is_some_and(|handle| handle.id == id) {
                    active = None;
                    tracing::info!(why, "Slack connection ended; opening another");
                }
                if incoming.as_ref().is_some_and(|handle| handle.id == id) {
                    incoming = None;
                    opening = false;
                    failures += 1;
                    health(Health::Failing(why));
                    retry_at = Some(tokio::time::Instant::now() + retry_wait(failures));
                }
                if active.is_none() && incoming.is_none() && retry_at.is_none() {
                    retry_at = Some(tokio::time::Instant::now());
                }
            }
            Event::Failed(why) => {
                incoming = None;
                opening = false;
                failures += 1;
                tracing::warn!(error = why, "cannot open a Slack connection");
                health(Health::Failing(why));
                retry_at = Some(tokio::time::Instant::now() + retry_wait(failures));
            }
        }
    }
    for handle in [active, incoming].into_iter().flatten() {
        let _ = handle.close.send(true);
    }
}

/// The wait after `failures` failed attempts in a row: 1 s doubling to a minute, jittered.
fn retry_wait(failures: u32) -> Duration {
    let base = Duration::from_secs(1 << failures.min(6).saturating_sub(1)).min(MAX_RETRY_WAIT);
    crate::backoff::jittered(base, base / 4)
}

/// One connection: asks Slack for a URL, opens it, and reads until told to close, until Slack
/// closes it, or until it has been silent for `dead_after`.
async fn connection(
    api: WebApi,
    id: u64,
    liveness: Liveness,
    events: mpsc::Sender<Event>,
    mut close: watch::Receiver<bool>,
) {
    let socket = match open(&api).await {
        Ok(socket) => socket,
        Err(error) => {
            let _ = events.send(Event::Failed(error)).await;
            return;
        }
    };
    let (mut sink, mut stream) = socket.split();
    let mut ping = tokio::time::interval(liveness.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    let why = loop {
        tokio::select! {
            _ = close.changed() => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
            _ = ping.tick() => {
                if heard.elapsed() >= liveness.dead_after {
                    break format!("silent for {:?}", heard.elapsed());
                }
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break "the ping could not be sent".to_string();
                }
            }
            message = stream.next() => {
                heard = tokio::time::Instant::now();
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => break "closed by Slack".to_string(),
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => break format!("read failed: {error}"),
                };
                let event = match Frame::parse(text.as_str()) {
                    Frame::Hello => Event::Hello(id),
                    Frame::Disconnect { reason } => Event::Disconnect(id, reason),
                    Frame::Envelope { envelope_id, kind, payload } => {
                        // Acknowledged before anything else: the 3 s are Slack's.
                        let ack = json!({ "envelope_id": envelope_id }).to_string();
                        if sink.send(Message::Text(ack.into())).await.is_err() {
                            break "the acknowledgement could not be sent".to_string();
                        }
                        Event::Envelope(Delivered { envelope_id, kind, payload })
                    }
                    Frame::Unknown => continue,
                };
                if events.send(event).await.is_err() {
                    return;
                }
            }
        }
    };
    let _ = events.send(Event::Ended(id, why)).await;
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Socket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// A new connection: a URL from `apps.connections.open`, then the WebSocket handshake over
/// TLS (plain only to this machine, for a stand-in).
async fn open(api: &WebApi) -> Result<Socket, String> {
    let url = api
        .open_connection()
        .await
        .map_err(|error: SlackError| error.to_string())?;
    let parsed = reqwest::Url::parse(&url).map_err(|error| format!("Slack's URL: {error}"))?;
    let host = parsed
        .host_str()
        .ok_or("Slack's URL names no host")?
        .to_string();
    let secure = match parsed.scheme() {
        "wss" => true,
        "ws" if is_loopback(&host) => false,
        other => return Err(format!("Slack's URL has scheme {other:?}: wss expected")),
    };
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if secure { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|error| format!("cannot connect to {host}:{port}: {error}"))?;
    let stream: Box<dyn Io> = if secure {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|error| format!("{host}: {error}"))?;
        // The system's roots are read once, not at every reconnection.
        static TLS: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
        let tls = TLS.get_or_init(|| Arc::new(crate::tls::client_config()));
        let connector = tokio_rustls::TlsConnector::from(tls.clone());
        Box::new(
            connector
                .connect(name, tcp)
                .await
                .map_err(|error| format!("TLS with {host}: {error}"))?,
        )
    } else {
        Box::new(tcp)
    };
    // Slack's frames are small: buffers of a few pages, not tungstenite's 128 KiB each, keep
    // the idle daemon small.
    let config = WebSocketConfig::default()
        .read_buffer_size(BUFFER)
        .write_buffer_size(BUFFER)
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(config))
            .await
            .map_err(|error| format!("WebSocket with {host}: {error}"))?;
    Ok(socket)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn an_envelope_is_delivered_once() {
        let mut seen = Seen::default();
        assert!(seen.first_time("a"));
        assert!(!seen.first_time("a"));
        assert!(seen.first_time("b"));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_first() {
        let mut seen = Seen::default();
        for n in 0..super::REMEMBERED + 1 {
            assert!(seen.first_time(&n.to_string()));
        }
        assert!(seen.first_time("0"), "the oldest is forgotten");
        assert!(!seen.first_time(&super::REMEMBERED.to_string()));
    }
}
