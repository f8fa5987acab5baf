//! GitHub's webhook, received by `patdesk run` when `[github.webhook]` is configured: plain
//! HTTP/1.1 on the configured address, behind the admin's reverse proxy or tunnel (which owns
//! TLS). A delivery is a trigger, as GitHub's mail is: a signed `personal_access_token_request`
//! event for a configured org makes the GitHub task sync that org at once, and the API stays
//! the source of truth. The poll keeps running, so a lost delivery costs a minute.
//!
//! In order, each step before the next costs anything: a POST with the event, delivery and
//! signature headers; a declared length within the bound; the body read within the bound and a
//! time limit; the signature checked in constant time, over the raw body; the payload read
//! (JSON, or a form's `payload` field); the delivery id taken (across restarts); the sync asked
//! for; 202. GitHub asks for 2xx to whatever it delivers, or its log turns red and redelivery
//! scripts retry: an event patdesk does not use (those every App receives unasked) is taken and
//! answered 200, and a redelivery (a delivery id taken before) 200 without acting again. Refusals are counted by why
//! and written every few seconds, so a flood of forged deliveries cannot keep the database
//! busy.

mod delivery;
mod signature;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Secret, WebhookConfig};
use crate::store::{Delivery, Store, Taken, WebhookRefusal};
use crate::wake::SyncTrigger;

pub use delivery::{Action, Event, TOKEN_REQUEST_EVENT};

/// Connections served at once. At the cap, a new connection takes the place of the oldest:
/// GitHub's delivery is answered in milliseconds, so the oldest is a slow client's, and a
/// flood of them cannot keep a delivery out.
const CONNECTIONS: usize = 64;
/// A client gets this long to send its headers, and again its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a connection is kept, whatever it does: one delivery, one connection (no
/// keep-alive), so a slow or idle client cannot hold a place for long.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// How often the refusals counted in memory are written.
const FLUSH_EVERY: Duration = Duration::from_secs(2);

/// The receiver of one config, bound but not yet serving.
pub struct Receiver {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// What every connection's handler reads.
struct Shared {
    secret: Secret,
    max_body_bytes: u64,
    orgs: Vec<String>,
    store: Mutex<Store>,
    trigger: SyncTrigger,
    refused: Mutex<BTreeMap<WebhookRefusal, u64>>,
}

/// What became of one HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// A token request event taken: its org is synced now.
    Taken {
        org: String,
        action: Action,
    },
    /// GitHub's ping when the webhook is set up.
    Pong,
    /// An event patdesk does not act on, taken (so a redelivery is known) and answered 2xx.
    NotUsed,
    /// A delivery taken before, delivered again (GitHub's redelivery keeps its id): answered
    /// 2xx, as it was the first time, and not acted on twice.
    Redelivered,
    Refused(WebhookRefusal),
    /// Not a delivery at all (another method, a client that went away mid-body).
    NotADelivery(&'static str),
}

impl Receiver {
    /// Binds the configured address (in `prepare`, so a taken port refuses the config).
    pub fn bind(
        config: &WebhookConfig,
        secret: Secret,
        orgs: Vec<String>,
        store: Store,
        trigger: SyncTrigger,
    ) -> anyhow::Result<Receiver> {
        let listener = std::net::TcpListener::bind(config.listen)
            .with_context(|| format!("cannot listen for GitHub's webhook on {}", config.listen))?;
        listener.set_nonblocking(true)?;
        if config.listen.ip().is_unspecified() {
            tracing::warn!(
                listen = %config.listen,
                "GitHub's webhook listens on every address of this host: put it on loopback behind the reverse proxy or tunnel that owns TLS (github.webhook.listen = \"127.0.0.1:PORT\")"
            );
        }
        Ok(Receiver {
            listener: TcpListener::from_std(listener)?,
            shared: Arc::new(Shared {
                secret,
                max_body_bytes: config.max_body_bytes,
                orgs,
                store: Mutex::new(store),
                trigger,
                refused: Mutex::new(BTreeMap::new()),
            }),
        })
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until shutdown; the refusals counted so far are written before it returns.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let serving = Arc::new(Mutex::new(Serving::default()));
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        tracing::info!(address = %self.local_addr().map(|a| a.to_string()).unwrap_or_default(), "listening for GitHub's webhook");
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = flush.tick() => flush_refusals(&self.shared),
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = self.shared.clone();
                    // Held while the task is spawned and listed, so it cannot take itself off
                    // the list before it is on it.
                    let mut live = lock(&serving);
                    if live.connections.len() >= CONNECTIONS
                        && let Some((_, oldest)) = live.connections.pop_front()
                    {
                        oldest.abort();
                    }
                    let id = live.next_id;
                    live.next_id += 1;
                    let serving = serving.clone();
                    let task = tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            answer(shared.clone(), request)
                        });
                        let connection = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(READ_TIMEOUT)
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service);
                        let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
                        lock(&serving).connections.retain(|(live, _)| *live != id);
                    });
                    live.connections.push_back((id, task.abort_handle()));
                }
            }
        }
        flush_refusals(&self.shared);
    }
}

/// The connections being served, oldest first.
#[derive(Default)]
struct Serving {
    next_id: u64,
    connections: std::collections::VecDeque<(u64, tokio::task::AbortHandle)>,
}

fn lock(serving: &Mutex<Serving>) -> std::sync::MutexGuard<'_, Serving> {
    serving
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let outcome = receive(&shared, request).await;
    let (status, text) = match &outcome {
        Outcome::Taken { org, action } => {
            tracing::info!(
                org,
                action = action.as_str(),
                "GitHub's webhook: syncing the org now"
            );
            (StatusCode::ACCEPTED, format!("taken: {org} is synced now"))
        }
        Outcome::Pong => (StatusCode::OK, "pong".to_string()),
        Outcome::NotUsed => (
            StatusCode::OK,
            "not used: patdesk acts on personal_access_token_request".to_string(),
        ),
        Outcome::Redelivered => {
            count_refusal(&shared, WebhookRefusal::Replayed);
            (
                StatusCode::OK,
                "taken before: not acted on again".to_string(),
            )
        }
        Outcome::Refused(why) => {
            count_refusal(&shared, *why);
            let status = match why {
                WebhookRefusal::Unsigned | WebhookRefusal::BadSignature => StatusCode::UNAUTHORIZED,
                WebhookRefusal::Oversized => StatusCode::PAYLOAD_TOO_LARGE,
                // Answered as `Redelivered`; never refused.
                WebhookRefusal::Replayed => StatusCode::OK,
                WebhookRefusal::UnknownEvent => StatusCode::BAD_REQUEST,
                WebhookRefusal::UnknownOrg => StatusCode::UNPROCESSABLE_ENTITY,
            };
            (status, format!("refused: {}", why.as_str()))
        }
        Outcome::NotADelivery(why) => (StatusCode::BAD_REQUEST, format!("not a delivery: {why}")),
    };
    let mut response = Response::new(Full::new(Bytes::from(text + "\n")));
    *response.status_mut() = status;
    Ok(response)
}

async fn receive(shared: &Shared, request: Request<Incoming>) -> Outcome {
    if request.method() != Method::POST {
        return Outcome::NotADelivery("GitHub's deliveries are POSTs");
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let Some(signature) = header("x-hub-signature-256") else {
        return Outcome::Refused(WebhookRefusal::Unsigned);
    };
    let (Some(event), Some(delivery_id)) = (header("x-github-event"), header("x-github-delivery"))
    else {
        return Outcome::Refused(WebhookRefusal::UnknownEvent);
    };
    let content_type = header("content-type");
    let declared = header("content-length").and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > shared.max_body_bytes) {
        return Outcome::Refused(WebhookRefusal::Oversized);
    }
    let limit = usize::try_from(shared.max_body_bytes).unwrap_or(usize::MAX);
    let body = match tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(request.into_body(), limit).collect(),
    )
    .await
    {
        Ok(Ok(body)) => body.to_bytes(),
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => {
            return Outcome::Refused(WebhookRefusal::Oversized);
        }
        Ok(Err(_)) => return Outcome::NotADelivery("the body could not be read"),
        Err(_) => return Outcome::NotADelivery("the body took too long"),
    };
    if !signature::is_signed_by(shared.secret.expose().as_bytes(), &signature, &body) {
        return Outcome::Refused(WebhookRefusal::BadSignature);
    }
    // Signed by GitHub from here on; what it says is still only a trigger.
    let body_sha256 = signature::delivery_digest(&event, &body);
    if !delivery::is_delivery_id(&delivery_id) {
        return Outcome::Refused(WebhookRefusal::UnknownEvent);
    }
    let Some(json) = delivery::json_body(content_type.as_deref(), &body) else {
        return Outcome::Refused(WebhookRefusal::UnknownEvent);
    };
    let (action, org, request_id, sender) = match delivery::read(&event, &json) {
        None => return Outcome::Refused(WebhookRefusal::UnknownEvent),
        Some(Event::Ping) => return Outcome::Pong,
        Some(Event::NotUsed) => {
            let delivery = Delivery {
                id: &delivery_id,
                event: &event,
                action: None,
                org: None,
                request_id: None,
                sender: None,
                body_sha256: &body_sha256,
            };
            return match take(shared, &delivery) {
                Ok(Taken::Replayed) => Outcome::Redelivered,
                Ok(Taken::Fresh) => Outcome::NotUsed,
                Err(error) => {
                    tracing::error!(error = %error, "GitHub's webhook: cannot record the delivery");
                    Outcome::NotUsed
                }
            };
        }
        Some(Event::TokenRequest {
            action,
            org,
            request_id,
            sender,
        }) => (action, org, request_id, sender),
    };
    let Some(org) = shared
        .orgs
        .iter()
        .find(|known| known.eq_ignore_ascii_case(&org))
        .cloned()
    else {
        return Outcome::Refused(WebhookRefusal::UnknownOrg);
    };
    let delivery = Delivery {
        id: &delivery_id,
        event: &event,
        action: Some(action.as_str()),
        org: Some(&org),
        request_id,
        sender: sender.as_deref(),
        body_sha256: &body_sha256,
    };
    match take(shared, &delivery) {
        Ok(Taken::Fresh) => {
            shared.trigger.org_now(&org);
            Outcome::Taken { org, action }
        }
        Ok(Taken::Replayed) => Outcome::Redelivered,
        Err(error) => {
            // The poll will find what the delivery was about; GitHub sees a failure to retry.
            tracing::error!(error = %error, "GitHub's webhook: cannot record the delivery; the sync is asked for anyway");
            shared.trigger.org_now(&org);
            Outcome::Taken { org, action }
        }
    }
}

/// Records the delivery (a short write; GitHub sends one delivery per change).
fn take(shared: &Shared, delivery: &Delivery<'_>) -> Result<Taken, crate::store::StoreError> {
    let mut store = shared
        .store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    tokio::task::block_in_place(|| store.write(|tx| tx.take_webhook_delivery(delivery)))
}

fn count_refusal(shared: &Shared, why: WebhookRefusal) {
    let mut refused = shared
        .refused
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *refused.entry(why).or_insert(0) += 1;
}

/// Writes the refusals counted since the last time, in one transaction, and logs them once.
fn flush_refusals(shared: &Shared) {
    let counted = std::mem::take(
        &mut *shared
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if counted.is_empty() {
        return;
    }
    let summary = counted
        .iter()
        .map(|(why, count)| format!("{} {count}", why.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::warn!(refused = summary, "GitHub's webhook: deliveries refused");
    let mut store = shared
        .store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let written = tokio::task::block_in_place(|| {
        store.write(|tx| {
            for (why, count) in &counted {
                tx.count_webhook_refusals(*why, *count)?;
            }
            Ok::<_, crate::store::StoreError>(())
        })
    });
    if let Err(error) = written {
        tracing::error!(error = %error, "GitHub's webhook: cannot record the refusals");
    }
}
