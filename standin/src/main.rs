//! A local stand-in for GitHub's REST API, for the tests and the demo. Never part of the
//! daemon: GitHub cannot be reached from where patdesk is developed, so this serves the
//! endpoints patdesk uses as GitHub documents them: whole objects ([`shapes`]), App JWTs
//! checked against the test App's public key, installation tokens that expire, pagination by
//! page number newest first (a list that can move while a client is between pages), the
//! pending list's `token_id[]` and `owner[]` filters, `ETag`/304, unsupported API versions
//! refused, primary and secondary rate limits and 5xx on demand ([`limits`]), and a record of
//! every decision call (and, on request, of every exchange, for the conformance test).
//!
//! `github-standin --scenario FILE --public-key FILE [--listen ADDR]` prints
//! `listening on http://ADDR` once it accepts connections. Tests steer it through `/_standin/…`.
#![expect(
    clippy::disallowed_methods,
    reason = "the stand-in is GitHub: its clock is the world's, as GitHub's is, not patdesk's"
)]

mod limits;
mod shapes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The scenario file: who the App is, where it is installed, and what each org holds.
#[derive(Debug, Clone, Default, Deserialize)]
struct Scenario {
    app_id: u64,
    /// installation id → org login
    #[serde(default)]
    installations: HashMap<String, String>,
    #[serde(default)]
    orgs: HashMap<String, Org>,
    /// login → the email on their public profile
    #[serde(default)]
    users: HashMap<String, Option<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct Org {
    /// Pending requests, exactly as GitHub returns them.
    #[serde(default)]
    pending: Vec<Value>,
    /// request id → its repositories' full names
    #[serde(default)]
    repositories: HashMap<String, Vec<String>>,
    /// Approved tokens, as GitHub returns them.
    #[serde(default)]
    grants: Vec<Value>,
    /// login → role ("admin" or "member")
    #[serde(default)]
    members: HashMap<String, String>,
    #[serde(default)]
    outside_collaborators: Vec<String>,
    /// "owner/repo" → login → permission
    #[serde(default)]
    repository_permissions: HashMap<String, HashMap<String, String>>,
    /// login → addresses on the org's verified domains
    #[serde(default)]
    verified_emails: HashMap<String, Vec<String>>,
    /// team slug → its members' logins
    #[serde(default)]
    teams: HashMap<String, Vec<String>>,
}

/// Faults the tests switch on.
#[derive(Debug, Clone, Default, Deserialize)]
struct Faults {
    /// The next N API calls answer 500.
    #[serde(default)]
    fail_next: u32,
    /// The next N API calls hit the primary rate limit (reset in one second).
    #[serde(default)]
    rate_limit_next: u32,
    /// After N more API calls, one hits the primary rate limit, which resets in
    /// `rate_limit_seconds` (a sync cut off midway).
    #[serde(default)]
    rate_limit_after: Option<u32>,
    #[serde(default)]
    rate_limit_seconds: Option<i64>,
    /// The next N API calls hit a secondary limit (`retry-after: 1`).
    #[serde(default)]
    secondary_limit_next: u32,
    /// The next N API calls answer 200 with a 17 MB body (more than a client should accept).
    #[serde(default)]
    huge_next: u32,
    /// Every API call waits this long before answering.
    #[serde(default)]
    delay_ms: u64,
    /// How long new installation tokens live (default one hour).
    #[serde(default)]
    token_ttl_seconds: Option<i64>,
    /// `Link: next` names this host instead of the one asked (a client must not follow it
    /// there with its token).
    #[serde(default)]
    link_host: Option<String>,
    /// Secondary limits and the like, per route.
    #[serde(default)]
    limits: Vec<limits::Limit>,
    /// Keep every API exchange for `/_standin/answers`.
    #[serde(default)]
    record_answers: bool,
    /// Once this many more pages of an org's whole pending list are served, these requests
    /// leave it, as if decided on GitHub while a client is between pages.
    #[serde(default)]
    leave_after_pages: Option<LeaveAfterPages>,
}

#[derive(Debug, Clone, Deserialize)]
struct LeaveAfterPages {
    pages: u32,
    ids: Vec<i64>,
}

struct Desk {
    scenario: Scenario,
    key: DecodingKey,
    tokens: HashMap<String, (String, Timestamp)>,
    faults: Faults,
    calls: Vec<Value>,
    /// The exchanges kept while `record_answers` is on.
    answers: Vec<Value>,
    requests: u64,
    not_modified: u64,
    /// "METHOD /route" → calls and 304s, for the benchmarks' counts by endpoint.
    endpoints: std::collections::BTreeMap<String, EndpointCount>,
    next_token: u64,
}

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct EndpointCount {
    calls: u64,
    not_modified: u64,
}

type Shared = Arc<Mutex<Desk>>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(error) = run().await {
        eprintln!("github-standin: {error}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut scenario_path = None;
    let mut key_path = None;
    let mut listen: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--scenario" => scenario_path = Some(PathBuf::from(value()?)),
            "--public-key" => key_path = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: --scenario FILE --public-key FILE [--listen ADDR]"
                ));
            }
        }
    }
    let scenario_path = scenario_path.ok_or("--scenario FILE is required")?;
    let key_path = key_path.ok_or("--public-key FILE is required")?;
    let scenario: Scenario = serde_json::from_slice(
        &std::fs::read(&scenario_path).map_err(|e| format!("{}: {e}", scenario_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", scenario_path.display()))?;
    let key = DecodingKey::from_rsa_pem(
        &std::fs::read(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", key_path.display()))?;

    let desk = Arc::new(Mutex::new(Desk {
        scenario,
        key,
        tokens: HashMap::new(),
        faults: Faults::default(),
        calls: Vec::new(),
        answers: Vec::new(),
        requests: 0,
        not_modified: 0,
        endpoints: std::collections::BTreeMap::new(),
        next_token: 1,
    }));
    let app = Router::new()
        .route("/app/installations/{id}/access_tokens", post(access_token))
        .route(
            "/orgs/{org}/personal-access-token-requests",
            get(list_pending),
        )
        .route(
            "/orgs/{org}/personal-access-token-requests/{id}",
            post(decide),
        )
        .route(
            "/orgs/{org}/personal-access-token-requests/{id}/repositories",
            get(request_repositories),
        )
        .route("/orgs/{org}/personal-access-tokens", get(list_grants))
        .route("/orgs/{org}/personal-access-tokens/{id}", post(revoke))
        .route("/orgs/{org}/memberships/{user}", get(membership))
        .route(
            "/orgs/{org}/outside_collaborators",
            get(outside_collaborators),
        )
        .route(
            "/orgs/{org}/teams/{team}/memberships/{user}",
            get(team_membership),
        )
        .route(
            "/repos/{owner}/{repo}/collaborators/{user}/permission",
            get(repository_permission),
        )
        .route("/users/{user}", get(user))
        .route("/graphql", post(graphql))
        .route_layer(axum::middleware::from_fn_with_state(
            desk.clone(),
            count_call,
        ))
        .route("/_standin/calls", get(calls))
        .route("/_standin/stats", get(stats))
        .route("/_standin/answers", get(answers))
        .route("/_standin/faults", post(set_faults))
        .route("/_standin/orgs/{org}", post(replace_org))
        .with_state(desk);

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{address}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({ "message": message, "documentation_url": "https://docs.github.com/rest" })),
    )
        .into_response()
}

/// The checks every API call passes: faults first, then the installation token, which must be
/// live and belong to the org the path names (`None`: any org).
async fn admit(desk: &Shared, headers: &HeaderMap, org: Option<&str>) -> Result<(), Response> {
    let delay = {
        let desk = desk
            .lock()
            .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"))?;
        desk.faults.delay_ms
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut desk = desk
        .lock()
        .map_err(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"))?;
    desk.requests += 1;
    if desk.faults.fail_next > 0 {
        desk.faults.fail_next -= 1;
        return Err(error(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"));
    }
    if desk.faults.huge_next > 0 {
        desk.faults.huge_next -= 1;
        let padding = " ".repeat(17 * 1024 * 1024);
        return Err((StatusCode::OK, format!("[{padding}]")).into_response());
    }
    match desk.faults.rate_limit_after {
        Some(0) => {
            desk.faults.rate_limit_after = None;
            desk.faults.rate_limit_next += 1;
        }
        Some(calls) => desk.faults.rate_limit_after = Some(calls - 1),
        None => {}
    }
    if desk.faults.rate_limit_next > 0 {
        desk.faults.rate_limit_next -= 1;
        let reset = Timestamp::now().as_second() + desk.faults.rate_limit_seconds.unwrap_or(1);
        let mut response = error(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded for installation.",
        );
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from(reset));
        return Err(response);
    }
    if desk.faults.secondary_limit_next > 0 {
        desk.faults.secondary_limit_next -= 1;
        let mut response = error(
            StatusCode::FORBIDDEN,
            "You have exceeded a secondary rate limit.",
        );
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return Err(response);
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Requires authentication"))?;
    let (token_org, expires) = desk
        .tokens
        .get(token)
        .cloned()
        .ok_or_else(|| error(StatusCode::UNAUTHORIZED, "Bad credentials"))?;
    if expires <= Timestamp::now() {
        return Err(error(StatusCode::UNAUTHORIZED, "Bad credentials"));
    }
    if org.is_some_and(|org| !org.eq_ignore_ascii_case(&token_org)) {
        return Err(error(StatusCode::NOT_FOUND, "Not Found"));
    }
    Ok(())
}

async fn access_token(
    State(desk): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    desk.requests += 1;
    let Some(jwt) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "A JSON web token could not be decoded",
        );
    };
    #[derive(Deserialize)]
    struct Claims {
        iat: i64,
        exp: i64,
        iss: String,
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let claims = match jsonwebtoken::decode::<Claims>(jwt, &desk.key, &validation) {
        Ok(data) => data.claims,
        Err(_) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "A JSON web token could not be decoded",
            );
        }
    };
    if claims.iss != desk.scenario.app_id.to_string() {
        return error(StatusCode::UNAUTHORIZED, "Integration not found");
    }
    if claims.exp - claims.iat > 660 {
        return error(
            StatusCode::UNAUTHORIZED,
            "'Expiration time' claim ('exp') is too far in the future",
        );
    }
    let Some(org) = desk.scenario.installations.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let ttl = desk.faults.token_ttl_seconds.unwrap_or(3600);
    let expires_at = Timestamp::now() + jiff::SignedDuration::from_secs(ttl);
    let token = format!("ghs_standin{:08}", desk.next_token);
    desk.next_token += 1;
    desk.tokens.insert(token.clone(), (org, expires_at));
    (
        StatusCode::CREATED,
        Json(json!({ "token": token, "expires_at": expires_at.to_string() })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct PageQuery {
    per_page: Option<usize>,
    page: Option<usize>,
}

/// The items of the page asked for, out of `total`: copied alone, so that a listing of
/// 100,000 requests costs a page's worth per call, not the whole list.
struct Window {
    items: Vec<Value>,
    total: usize,
}

fn per_page_and_page(query: &PageQuery) -> (usize, usize) {
    (
        query.per_page.unwrap_or(30).clamp(1, 100),
        query.page.unwrap_or(1).max(1),
    )
}

fn window<'a>(items: impl ExactSizeIterator<Item = &'a Value>, query: &PageQuery) -> Window {
    let (per_page, page) = per_page_and_page(query);
    let total = items.len();
    Window {
        items: items
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect(),
        total,
    }
}

/// A page of pending requests or grants, each owner a whole `simple-user`.
fn whole_listings(window: Window) -> Window {
    Window {
        items: window.items.iter().map(shapes::token_listing).collect(),
        total: window.total,
    }
}

/// One page of a listing, with `Link`, `ETag`, and 304 when the caller has it already.
fn page(
    desk: &mut Desk,
    window: Window,
    query: &PageQuery,
    headers: &HeaderMap,
    path: &str,
) -> Response {
    page_filtered(desk, window, query, headers, path, "")
}

/// A page of a filtered listing: its links carry `filter` (`&key=value…`).
fn page_filtered(
    desk: &mut Desk,
    window: Window,
    query: &PageQuery,
    headers: &HeaderMap,
    path: &str,
    filter: &str,
) -> Response {
    let (per_page, page) = per_page_and_page(query);
    let slice = window.items;
    let body = serde_json::to_vec(&slice).unwrap_or_default();
    let etag = format!("\"{:x}\"", Sha256::digest(&body));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|sent| sent == etag)
    {
        desk.not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let asked = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    let host = desk
        .faults
        .link_host
        .as_deref()
        .unwrap_or(asked)
        .to_string();
    let last = window.total.div_ceil(per_page).max(1);
    let mut links = Vec::new();
    if page < last {
        links.push(format!(
            "<http://{host}{path}?per_page={per_page}&page={}{filter}>; rel=\"next\"",
            page + 1
        ));
        links.push(format!(
            "<http://{host}{path}?per_page={per_page}&page={last}{filter}>; rel=\"last\""
        ));
    }
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    let response_headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response_headers.insert(header::ETAG, value);
    }
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        response_headers.insert(header::LINK, value);
    }
    response
}

/// The pending list's filters patdesk uses: `token_id[]` and `owner[]`, repeated keys.
#[derive(Default)]
struct PendingFilter {
    token_ids: Vec<i64>,
    owners: Vec<String>,
}

impl PendingFilter {
    fn from_query(raw: Option<&str>) -> PendingFilter {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(raw.unwrap_or_default()).unwrap_or_default();
        let mut filter = PendingFilter::default();
        for (key, value) in pairs {
            match key.as_str() {
                "token_id[]" | "token_id" => filter.token_ids.extend(value.parse::<i64>().ok()),
                "owner[]" | "owner" => filter.owners.push(value.to_lowercase()),
                _ => {}
            }
        }
        filter
    }

    fn is_empty(&self) -> bool {
        self.token_ids.is_empty() && self.owners.is_empty()
    }

    fn admits(&self, request: &Value) -> bool {
        let token_ok = self.token_ids.is_empty()
            || request["token_id"]
                .as_i64()
                .is_some_and(|id| self.token_ids.contains(&id));
        let owner_ok = self.owners.is_empty()
            || request["owner"]["login"]
                .as_str()
                .is_some_and(|login| self.owners.contains(&login.to_lowercase()));
        token_ok && owner_ok
    }

    /// The filter as the links of its pages repeat it.
    fn query(&self) -> String {
        let tokens = self.token_ids.iter().map(|id| format!("&token_id[]={id}"));
        let owners = self.owners.iter().map(|login| format!("&owner[]={login}"));
        tokens.chain(owners).collect()
    }
}

async fn list_pending(
    State(desk): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<PageQuery>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let filter = PendingFilter::from_query(raw.as_deref());
    // GitHub lists them newest first (`direction=desc`, its default); the scenario lists them
    // in the order they were made. Newest first, a new request changes the first page, and
    // with it every later one: a client holding the old pages learns of it at page 1.
    let items = desk
        .scenario
        .orgs
        .get(&org)
        .map(|org| {
            let listed: Vec<&Value> = org
                .pending
                .iter()
                .rev()
                .filter(|request| filter.admits(request))
                .collect();
            whole_listings(window(listed.into_iter(), &query))
        })
        .unwrap_or(Window {
            items: Vec::new(),
            total: 0,
        });
    let response = page_filtered(
        &mut desk,
        items,
        &query,
        &headers,
        &format!("/orgs/{org}/personal-access-token-requests"),
        &filter.query(),
    );
    if filter.is_empty() {
        leave_if_due(&mut desk, &org);
    }
    response
}

/// Counts a page of the whole pending list served; when the scripted count is reached, the
/// scripted requests leave the list (decided or cancelled on GitHub's pages).
fn leave_if_due(desk: &mut Desk, org: &str) {
    let Some(leave) = desk.faults.leave_after_pages.as_mut() else {
        return;
    };
    leave.pages = leave.pages.saturating_sub(1);
    if leave.pages > 0 {
        return;
    }
    let ids = leave.ids.clone();
    desk.faults.leave_after_pages = None;
    if let Some(org) = desk.scenario.orgs.get_mut(org) {
        org.pending
            .retain(|request| !request["id"].as_i64().is_some_and(|id| ids.contains(&id)));
    }
}

async fn list_grants(
    State(desk): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let items = desk
        .scenario
        .orgs
        .get(&org)
        .map(|org| whole_listings(window(org.grants.iter(), &query)))
        .unwrap_or(Window {
            items: Vec::new(),
            total: 0,
        });
    page(
        &mut desk,
        items,
        &query,
        &headers,
        &format!("/orgs/{org}/personal-access-tokens"),
    )
}

async fn request_repositories(
    State(desk): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let Some(names) = desk
        .scenario
        .orgs
        .get(&org)
        .and_then(|org| org.repositories.get(&id))
        .cloned()
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let items: Vec<Value> = names
        .iter()
        .map(|full_name| shapes::minimal_repository(full_name))
        .collect();
    page(
        &mut desk,
        window(items.iter(), &query),
        &query,
        &headers,
        &format!("/orgs/{org}/personal-access-token-requests/{id}/repositories"),
    )
}

async fn decide(
    State(desk): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let action = body["action"].as_str().unwrap_or_default().to_string();
    let reason = &body["reason"];
    if !matches!(action.as_str(), "approve" | "deny")
        || reason
            .as_str()
            .is_some_and(|reason| reason.chars().count() > 1024)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed, or the endpoint has been spammed.",
        );
    }
    let Ok(request_id) = id.parse::<i64>() else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(org_state) = desk.scenario.orgs.get_mut(&org) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(position) = org_state
        .pending
        .iter()
        .position(|request| request["id"] == request_id)
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let request = org_state.pending.remove(position);
    if action == "approve" {
        let mut grant = request.clone();
        if let Some(grant) = grant.as_object_mut() {
            grant.insert("id".to_string(), json!(request_id + 900_000));
            grant.remove("reason");
            grant.insert(
                "access_granted_at".to_string(),
                json!(Timestamp::now().to_string()),
            );
        }
        org_state.grants.push(grant);
    }
    desk.calls.push(json!({
        "org": org,
        "endpoint": "personal-access-token-requests",
        "id": request_id,
        "action": action,
        "reason": reason,
        "at": Timestamp::now().to_string(),
    }));
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke(
    State(desk): State<Shared>,
    Path((org, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let action = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|body| body["action"].as_str().map(str::to_string));
    if action.as_deref() != Some("revoke") {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed, or the endpoint has been spammed.",
        );
    }
    let Ok(grant_id) = id.parse::<i64>() else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(org_state) = desk.scenario.orgs.get_mut(&org) else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    let Some(position) = org_state
        .grants
        .iter()
        .position(|grant| grant["id"] == grant_id)
    else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    org_state.grants.remove(position);
    desk.calls.push(json!({
        "org": org,
        "endpoint": "personal-access-tokens",
        "id": grant_id,
        "action": "revoke",
        "at": Timestamp::now().to_string(),
    }));
    StatusCode::NO_CONTENT.into_response()
}

async fn membership(
    State(desk): State<Shared>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    match desk
        .scenario
        .orgs
        .get(&org)
        .and_then(|org| org.members.get(&user))
    {
        Some(role) => Json(shapes::org_membership(&org, &user, role)).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn team_membership(
    State(desk): State<Shared>,
    Path((org, team, user)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let member = desk
        .scenario
        .orgs
        .get(&org)
        .and_then(|org| org.teams.get(&team))
        .is_some_and(|members| members.iter().any(|member| member == &user));
    if member {
        Json(shapes::team_membership(&org, &team, &user)).into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Not Found")
    }
}

async fn outside_collaborators(
    State(desk): State<Shared>,
    Path(org): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&org)).await {
        return response;
    }
    let Ok(mut desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let items: Vec<Value> = desk
        .scenario
        .orgs
        .get(&org)
        .map(|org| {
            org.outside_collaborators
                .iter()
                .map(|login| shapes::simple_user(login, None))
                .collect()
        })
        .unwrap_or_default();
    page(
        &mut desk,
        window(items.iter(), &query),
        &query,
        &headers,
        &format!("/orgs/{org}/outside_collaborators"),
    )
}

async fn repository_permission(
    State(desk): State<Shared>,
    Path((owner, repo, user)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, Some(&owner)).await {
        return response;
    }
    let Ok(desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let full_name = format!("{owner}/{repo}");
    let permission = desk
        .scenario
        .orgs
        .get(&owner)
        .and_then(|org| org.repository_permissions.get(&full_name))
        .and_then(|people| people.get(&user))
        .cloned()
        .unwrap_or_else(|| "none".to_string());
    Json(shapes::collaborator_permission(&user, &permission)).into_response()
}

async fn user(
    State(desk): State<Shared>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(response) = admit(&desk, &headers, None).await {
        return response;
    }
    let Ok(desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    match desk.scenario.users.get(&user) {
        Some(email) => Json(shapes::public_user(&user, email.as_deref())).into_response(),
        None => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn graphql(State(desk): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = admit(&desk, &headers, None).await {
        return response;
    }
    let Ok(desk) = desk.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned");
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Problems parsing JSON");
    };
    let query = body["query"].as_str().unwrap_or_default();
    if !query.contains("organizationVerifiedDomainEmails") {
        return Json(json!({ "errors": [{ "message": "the stand-in answers only organizationVerifiedDomainEmails" }] }))
            .into_response();
    }
    let login = body["variables"]["login"].as_str().unwrap_or_default();
    let org = body["variables"]["org"].as_str().unwrap_or_default();
    let emails = desk
        .scenario
        .orgs
        .get(org)
        .and_then(|org| org.verified_emails.get(login))
        .cloned()
        .unwrap_or_default();
    Json(json!({ "data": { "user": { "organizationVerifiedDomainEmails": emails } } }))
        .into_response()
}

async fn calls(State(desk): State<Shared>) -> Response {
    match desk.lock() {
        Ok(desk) => Json(desk.calls.clone()).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"),
    }
}

/// Turns a call away as GitHub would (a scripted limit, an unsupported API version), and
/// counts each API call by its route, and whether it was answered 304.
async fn count_call(
    State(desk): State<Shared>,
    route: axum::extract::MatchedPath,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let endpoint = format!("{} {}", request.method(), route.as_str());
    let turned_away = desk.lock().ok().and_then(|mut desk| {
        limits::turned_away(
            &mut desk.faults.limits,
            request.uri().path(),
            request.headers(),
        )
    });
    let recording = desk.lock().is_ok_and(|desk| desk.faults.record_answers);
    let response = match (turned_away, recording) {
        (Some(response), _) => response,
        (None, false) => next.run(request).await,
        (None, true) => record_answer(&desk, route.as_str(), request, next).await,
    };
    if let Ok(mut desk) = desk.lock() {
        let count = desk.endpoints.entry(endpoint).or_default();
        count.calls += 1;
        if response.status() == StatusCode::NOT_MODIFIED {
            count.not_modified += 1;
        }
    }
    response
}

/// Serves the call and keeps the exchange (route, status, the JSON each way) for the
/// conformance test, which checks it against GitHub's published description.
async fn record_answer(
    desk: &Shared,
    route: &str,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    const LIMIT: usize = 16 * 1024 * 1024;
    let method = request.method().to_string();
    let (parts, body) = request.into_parts();
    let sent = axum::body::to_bytes(body, LIMIT).await.unwrap_or_default();
    let request = axum::extract::Request::from_parts(parts, axum::body::Body::from(sent.clone()));
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let answered = axum::body::to_bytes(body, LIMIT).await.unwrap_or_default();
    let json = |bytes: &Bytes| serde_json::from_slice::<Value>(bytes).ok();
    if let Ok(mut desk) = desk.lock() {
        desk.answers.push(json!({
            "method": method,
            "route": github_route(route),
            "status": parts.status.as_u16(),
            "request": json(&sent),
            "response": json(&answered),
        }));
    }
    Response::from_parts(parts, axum::body::Body::from(answered))
}

/// The route as GitHub's description names its parameters.
fn github_route(route: &str) -> String {
    route
        .replace(
            "/personal-access-token-requests/{id}",
            "/personal-access-token-requests/{pat_request_id}",
        )
        .replace(
            "/personal-access-tokens/{id}",
            "/personal-access-tokens/{pat_id}",
        )
        .replace("/installations/{id}/", "/installations/{installation_id}/")
        .replace("{user}", "{username}")
        .replace("{team}", "{team_slug}")
}

async fn answers(State(desk): State<Shared>) -> Response {
    match desk.lock() {
        Ok(desk) => Json(desk.answers.clone()).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"),
    }
}

async fn stats(State(desk): State<Shared>) -> Response {
    match desk.lock() {
        Ok(desk) => Json(json!({
            "requests": desk.requests,
            "not_modified": desk.not_modified,
            "endpoints": desk.endpoints,
        }))
        .into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"),
    }
}

async fn set_faults(State(desk): State<Shared>, Json(faults): Json<Faults>) -> Response {
    match desk.lock() {
        Ok(mut desk) => {
            desk.faults = faults;
            StatusCode::NO_CONTENT.into_response()
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"),
    }
}

async fn replace_org(
    State(desk): State<Shared>,
    Path(org): Path<String>,
    Json(state): Json<Org>,
) -> Response {
    match desk.lock() {
        Ok(mut desk) => {
            desk.scenario.orgs.insert(org, state);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "poisoned"),
    }
}
