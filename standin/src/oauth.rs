//! A local stand-in for an OAuth 2 token endpoint (Microsoft's and Google's shapes) and its
//! introspection endpoint, for patdesk's tests; never part of the daemon.
//!
//! One process serves the whole test run on a fixed loopback port, because the test mail
//! server (Dovecot's `oauth2` passdb) is configured with its introspection URL. Tests register
//! clients of their own (`POST /_standin/clients`), each with how it proves itself and what the
//! token is for, steer them (`…/{id}/refuse`, `…/{id}/revoke_tokens`) and read back what was
//! asked (`GET /_standin/clients/{id}`).
//!
//! Token endpoint (`POST /{tenant}/oauth2/v2.0/token`, `POST /token`), form-encoded:
//! - `client_credentials` with `client_secret`, or with a `client_assertion` JWT (PS256,
//!   `aud` = the URL posted to, `iss` = `sub` = the client id, header `x5t#S256` = the
//!   certificate's SHA-256 thumbprint);
//! - `urn:ietf:params:oauth:grant-type:jwt-bearer` with an `assertion` signed by a service
//!   account (`iss` = its email, `sub` = the mailbox, `scope`, `aud`);
//! - `refresh_token`, rotated on each use when the client asks for it.
//!
//! Answers `{access_token, token_type, expires_in}`, or RFC 6749's `{error, error_description}`.
//! `POST /introspect` (form `token=`) answers `{active, username}` for Dovecot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A test's client, as registered.
#[derive(Debug, Clone, Deserialize)]
struct Client {
    client_id: String,
    /// The account every token of this client is for (Dovecot's username).
    username: String,
    #[serde(default)]
    secret: Option<String>,
    /// RSA public key (PEM) that checks this client's assertions.
    #[serde(default)]
    public_key_pem: Option<String>,
    /// The certificate (PEM) whose thumbprint a client assertion must name.
    #[serde(default)]
    certificate_pem: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    rotate_refresh_token: bool,
    /// The scope a request must ask for, if any.
    #[serde(default)]
    scope: Option<String>,
    #[serde(default = "an_hour")]
    lifetime_seconds: u64,
    /// `expires_in` as a string, as some providers send it.
    #[serde(default)]
    expires_in_as_string: bool,
    /// Refuse every request with this OAuth error (a revoked secret, a wrong tenant).
    #[serde(default)]
    refuse: Option<Refusal>,
}

#[derive(Debug, Clone, Deserialize)]
struct Refusal {
    error: String,
    description: String,
}

fn an_hour() -> u64 {
    3600
}

#[derive(Default)]
struct Seen {
    /// Every request to the token endpoint for this client.
    requests: u64,
    /// Tokens issued.
    issued: u64,
    /// The grant types asked for, in order.
    grants: Vec<String>,
    /// Tokens Dovecot asked about.
    introspected: u64,
    last_error: Option<String>,
}

struct Issued {
    client_id: String,
    username: String,
    expires: Instant,
}

#[derive(Default)]
struct Endpoint {
    /// `http://ADDR`, where assertions must say they are for.
    base: String,
    clients: HashMap<String, Client>,
    seen: HashMap<String, Seen>,
    tokens: HashMap<String, Issued>,
    /// The current refresh token of each client that rotates them.
    refresh_tokens: HashMap<String, String>,
    next: u64,
}

type Shared = Arc<Mutex<Endpoint>>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("oauth-standin: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut listen: SocketAddr = "127.0.0.1:10080".parse().map_err(|e| format!("{e}"))?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("--listen needs a value")?;
                listen = value.parse().map_err(|e| format!("--listen: {e}"))?;
            }
            other => return Err(format!("unknown argument {other}; usage: [--listen ADDR]")),
        }
    }
    let shared: Shared = Arc::new(Mutex::new(Endpoint {
        base: format!("http://{listen}"),
        ..Endpoint::default()
    }));
    let app = Router::new()
        .route("/token", post(token))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route("/introspect", post(introspect))
        .route("/_standin/health", get(health))
        .route("/_standin/clients", post(register))
        .route("/_standin/clients/{id}", get(seen))
        .route("/_standin/clients/{id}/refuse", post(set_refusal))
        .route("/_standin/clients/{id}/revoke_tokens", post(revoke_tokens))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    println!("listening on http://{listen}");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

async fn health() -> Json<Value> {
    Json(json!({ "pid": std::process::id() }))
}

async fn register(State(shared): State<Shared>, Json(client): Json<Client>) -> Response {
    let Ok(mut endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(token) = &client.refresh_token {
        endpoint
            .refresh_tokens
            .insert(client.client_id.clone(), token.clone());
    }
    endpoint.seen.remove(&client.client_id);
    endpoint.clients.insert(client.client_id.clone(), client);
    StatusCode::NO_CONTENT.into_response()
}

async fn set_refusal(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    Json(refusal): Json<Option<Refusal>>,
) -> Response {
    let Ok(mut endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match endpoint.clients.get_mut(&id) {
        Some(client) => {
            client.refuse = refusal;
            // A revoked grant takes its tokens with it.
            if client.refuse.is_some() {
                endpoint.tokens.retain(|_, issued| issued.client_id != id);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The client's tokens stop working before their time; new ones are still granted.
async fn revoke_tokens(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let Ok(mut endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    endpoint.tokens.retain(|_, issued| issued.client_id != id);
    StatusCode::NO_CONTENT.into_response()
}

async fn seen(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let Ok(endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let seen = endpoint.seen.get(&id);
    Json(json!({
        "requests": seen.map_or(0, |s| s.requests),
        "issued": seen.map_or(0, |s| s.issued),
        "grants": seen.map(|s| s.grants.clone()).unwrap_or_default(),
        "introspected": seen.map_or(0, |s| s.introspected),
        "last_error": seen.and_then(|s| s.last_error.clone()),
    }))
    .into_response()
}

fn refuse(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn token(
    State(shared): State<Shared>,
    uri: Uri,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Ok(mut endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // The audience an assertion must name: this endpoint's own URL.
    let audience = format!("{}{}", endpoint.base, uri.path());
    let field = |name: &str| form.get(name).map(String::as_str);
    let outcome = match field("grant_type") {
        Some("client_credentials") => client_credentials(&endpoint, &form, &audience),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            jwt_bearer(&endpoint, &form, &audience)
        }
        Some("refresh_token") => refresh(&endpoint, &form),
        other => Err((
            None,
            "unsupported_grant_type".to_string(),
            format!("grant_type {other:?} is not supported"),
        )),
    };
    let grant = field("grant_type").unwrap_or_default().to_string();
    match outcome {
        Ok(client_id) => {
            let Some(client) = endpoint.clients.get(&client_id).cloned() else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            let seen = endpoint.seen.entry(client_id.clone()).or_default();
            seen.requests += 1;
            seen.grants.push(grant);
            if let Some(refusal) = &client.refuse {
                seen.last_error = Some(refusal.error.clone());
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    &refusal.error,
                    &refusal.description,
                );
            }
            seen.issued += 1;
            endpoint.next += 1;
            let access_token = format!("standin-{}-{}", endpoint.next, std::process::id());
            endpoint.tokens.insert(
                access_token.clone(),
                Issued {
                    client_id: client_id.clone(),
                    username: client.username.clone(),
                    expires: Instant::now() + Duration::from_secs(client.lifetime_seconds),
                },
            );
            let mut answer = json!({
                "token_type": "Bearer",
                "access_token": access_token,
                "expires_in": if client.expires_in_as_string {
                    json!(client.lifetime_seconds.to_string())
                } else {
                    json!(client.lifetime_seconds)
                },
            });
            if client.rotate_refresh_token && field("grant_type") == Some("refresh_token") {
                let rotated = format!("refresh-{}-{client_id}", endpoint.next);
                endpoint.refresh_tokens.insert(client_id, rotated.clone());
                answer["refresh_token"] = json!(rotated);
            }
            Json(answer).into_response()
        }
        Err((client_id, error, description)) => {
            if let Some(client_id) = client_id {
                let seen = endpoint.seen.entry(client_id).or_default();
                seen.requests += 1;
                seen.grants.push(grant);
                seen.last_error = Some(format!("{error}: {description}"));
            }
            let status = if error == "invalid_client" {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            refuse(status, &error, &description)
        }
    }
}

/// The client a request names, and why it is refused when it is.
type Outcome = Result<String, (Option<String>, String, String)>;

fn invalid(client: Option<&str>, error: &str, description: impl Into<String>) -> Outcome {
    Err((
        client.map(str::to_string),
        error.to_string(),
        description.into(),
    ))
}

fn check_scope(client: &Client, scope: Option<&str>) -> Result<(), String> {
    match (&client.scope, scope) {
        (Some(wanted), Some(asked)) if wanted == asked => Ok(()),
        (Some(wanted), asked) => Err(format!("scope {asked:?} asked, {wanted:?} granted")),
        (None, _) => Ok(()),
    }
}

fn client_credentials(
    endpoint: &Endpoint,
    form: &HashMap<String, String>,
    audience: &str,
) -> Outcome {
    let Some(client_id) = form.get("client_id") else {
        return invalid(None, "invalid_request", "client_id is missing");
    };
    let Some(client) = endpoint.clients.get(client_id) else {
        return invalid(
            None,
            "invalid_client",
            format!("AADSTS700016: application {client_id} not found"),
        );
    };
    let id = Some(client_id.as_str());
    if let Err(why) = check_scope(client, form.get("scope").map(String::as_str)) {
        return invalid(id, "invalid_scope", why);
    }
    match (form.get("client_secret"), form.get("client_assertion")) {
        (Some(secret), None) => {
            if client.secret.as_ref() != Some(secret) {
                return invalid(
                    id,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.",
                );
            }
        }
        (None, Some(assertion)) => {
            if form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                return invalid(id, "invalid_request", "client_assertion_type is wrong");
            }
            let Some(certificate) = &client.certificate_pem else {
                return invalid(id, "invalid_client", "no certificate registered");
            };
            match header_thumbprint(assertion) {
                Some(thumbprint) if Some(thumbprint.clone()) == thumbprint_of(certificate) => {}
                _ => {
                    return invalid(
                        id,
                        "invalid_client",
                        "AADSTS700027: the certificate thumbprint does not match",
                    );
                }
            }
            if let Err(why) = verify(
                client,
                assertion,
                Algorithm::PS256,
                audience,
                client_id,
                Some(client_id),
            ) {
                return invalid(id, "invalid_client", why);
            }
        }
        _ => {
            return invalid(
                id,
                "invalid_client",
                "give client_secret or client_assertion",
            );
        }
    }
    Ok(client_id.clone())
}

fn jwt_bearer(endpoint: &Endpoint, form: &HashMap<String, String>, audience: &str) -> Outcome {
    let Some(assertion) = form.get("assertion") else {
        return invalid(None, "invalid_request", "assertion is missing");
    };
    // The issuer names the service account; read it before checking the signature.
    let Some(issuer) = unverified_claim(assertion, "iss") else {
        return invalid(None, "invalid_grant", "the assertion names no issuer");
    };
    let Some(client) = endpoint.clients.get(&issuer) else {
        return invalid(None, "invalid_client", "unknown service account");
    };
    let id = Some(issuer.as_str());
    let claims = match verify(client, assertion, Algorithm::RS256, audience, &issuer, None) {
        Ok(claims) => claims,
        Err(why) => return invalid(id, "invalid_grant", why),
    };
    if claims["sub"].as_str() != Some(client.username.as_str()) {
        return invalid(
            id,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens for this subject",
        );
    }
    if let Err(why) = check_scope(client, claims["scope"].as_str()) {
        return invalid(id, "invalid_scope", why);
    }
    Ok(issuer)
}

fn refresh(endpoint: &Endpoint, form: &HashMap<String, String>) -> Outcome {
    let Some(client_id) = form.get("client_id") else {
        return invalid(None, "invalid_request", "client_id is missing");
    };
    let Some(client) = endpoint.clients.get(client_id) else {
        return invalid(None, "invalid_client", "unknown client");
    };
    let id = Some(client_id.as_str());
    if client.secret.is_some() && client.secret.as_ref() != form.get("client_secret") {
        return invalid(id, "invalid_client", "Invalid client secret provided.");
    }
    if endpoint.refresh_tokens.get(client_id) != form.get("refresh_token") {
        return invalid(
            id,
            "invalid_grant",
            "AADSTS70008: The refresh token has expired or been revoked.",
        );
    }
    Ok(client_id.clone())
}

/// Checks an assertion's signature and claims; returns the claims.
fn verify(
    client: &Client,
    assertion: &str,
    algorithm: Algorithm,
    audience: &str,
    issuer: &str,
    subject: Option<&str>,
) -> Result<Value, String> {
    let Some(pem) = &client.public_key_pem else {
        return Err("no public key registered".to_string());
    };
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    if let Some(subject) = subject {
        validation.sub = Some(subject.to_string());
    }
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| format!("the assertion does not verify: {e}"))
}

fn unverified_claim(assertion: &str, name: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims[name].as_str().map(str::to_string)
}

fn header_thumbprint(assertion: &str) -> Option<String> {
    jsonwebtoken::decode_header(assertion).ok()?.x5t_s256
}

/// The base64url SHA-256 of the certificate's DER.
fn thumbprint_of(certificate_pem: &str) -> Option<String> {
    let body: String = certificate_pem
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der)))
}

async fn introspect(
    State(shared): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Ok(mut endpoint) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let token = form.get("token").cloned().unwrap_or_default();
    let (active, username, client_id) = match endpoint.tokens.get(&token) {
        Some(issued) if issued.expires > Instant::now() => (
            true,
            Some(issued.username.clone()),
            Some(issued.client_id.clone()),
        ),
        Some(issued) => (false, None, Some(issued.client_id.clone())),
        None => (false, None, None),
    };
    if let Some(client_id) = client_id {
        endpoint.seen.entry(client_id).or_default().introspected += 1;
    }
    match username {
        Some(username) if active => Json(json!({ "active": true, "username": username })),
        _ => Json(json!({ "active": false })),
    }
    .into_response()
}
