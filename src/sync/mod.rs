//! GitHub as the source of truth: each org's pending requests and approved tokens are read
//! and the records brought in line, a commit per page of pending requests and one to settle
//! what is gone; decisions made here are carried back ([`push`]).
//!
//! A sync is idempotent: syncing twice writes nothing new. A changed request writes one event
//! naming what changed. A request gone from the pending list (confirmed by a listing filtered
//! to its token, [`gone`]) was approved elsewhere (its token is among the approved ones) or
//! withdrawn; one found pending again after that is reopened. A mail never asserts any of
//! this by itself: it
//! only asks for a sync.

mod addresses;
mod gone;
mod outside;
mod push;
mod round;
mod standing;
mod triggers;
mod upgrade;
mod usage;

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};

pub use addresses::{Directory, load_directory};
pub use push::{Deciders, PushReport, push_decisions};
pub use round::{Round, round};
pub use triggers::orgs_to_sync;

use crate::config::{Config, GithubConfig};
use crate::conversation;
use crate::github::{GithubClient, GithubError, Grant, PendingRequest};
use crate::request::{RepositorySelection, RequestState, TokenRequest};
use crate::review::{ReviewPolicy, review};
use crate::store::{AlertKind, EventKind, NewRequest, RequestRecord, Store, StoreError, Tx};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("GitHub sent a request that cannot be recorded: {0}")]
    Invalid(String),
}

/// What a sync of one org did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SyncReport {
    pub org: String,
    pub pending: usize,
    pub new: usize,
    pub changed: usize,
    pub withdrawn: usize,
    /// Recorded as withdrawn before, listed as pending again.
    pub reopened: usize,
    pub approved_elsewhere: usize,
    pub questions_queued: usize,
    pub needs_contact: usize,
    pub expired: usize,
    pub expiring: usize,
    /// Approved tokens found stale this sync.
    pub stale: usize,
    /// Requesters told their token is about to count as stale.
    pub usage_notices: usize,
    /// Tokens approved elsewhere found to outlive the policy this sync.
    pub lifetime: usize,
}

impl SyncReport {
    /// Adds the counts of one commit of the sync.
    fn add(&mut self, commit: &SyncReport) {
        self.pending += commit.pending;
        self.new += commit.new;
        self.changed += commit.changed;
        self.withdrawn += commit.withdrawn;
        self.reopened += commit.reopened;
        self.approved_elsewhere += commit.approved_elsewhere;
        self.questions_queued += commit.questions_queued;
        self.needs_contact += commit.needs_contact;
        self.expired += commit.expired;
        self.expiring += commit.expiring;
        self.stale += commit.stale;
        self.usage_notices += commit.usage_notices;
        self.lifetime += commit.lifetime;
    }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} pending ({} new, {} changed); {} withdrawn, {} approved elsewhere; {} question(s) queued, {} without an address; {} expired, {} expiring soon, {} stale, {} outliving the policy",
            self.org,
            self.pending,
            self.new,
            self.changed,
            self.withdrawn,
            self.approved_elsewhere,
            self.questions_queued,
            self.needs_contact,
            self.expired,
            self.expiring,
            self.stale,
            self.lifetime
        )?;
        if self.reopened > 0 {
            write!(f, "; {} reopened (pending after all)", self.reopened)?;
        }
        Ok(())
    }
}

/// What a sync needs besides the client and the store.
pub struct SyncOptions {
    pub policy: ReviewPolicy,
    pub directory: Directory,
    /// Where a public profile's address may be to be used.
    pub allowed_domains: Vec<String>,
    pub expiry_warning_days: u32,
}

impl SyncOptions {
    /// The options `config` gives: the review policy, the team's directory of addresses, and
    /// when an expiring token is announced. The daemon and `patdesk sync --break-glass` alike.
    pub fn from_config(config: &Config, github: &GithubConfig) -> Result<SyncOptions, String> {
        let directory = match &config.people_directory {
            Some(path) => load_directory(path)?,
            None => Directory::default(),
        };
        Ok(SyncOptions {
            policy: config.review.clone(),
            directory,
            allowed_domains: config.people_allowed_domains.clone(),
            expiry_warning_days: github.expiry_warning_days,
        })
    }
}

/// Syncs one org a page of pending requests at a time: each page's facts are read from
/// GitHub, then its new and changed requests committed, so a sync cut short (a rate-limit
/// wait too long, GitHub failing) keeps what it did and the next one goes on from there (a
/// request already recorded with the same facts costs no further calls). Once every page is
/// in, the requests gone from GitHub and the approved tokens are settled in one last commit.
pub async fn sync_org(
    client: &GithubClient,
    store: &mut Store,
    org: &str,
    options: &SyncOptions,
) -> Result<SyncReport, SyncError> {
    let known: HashMap<i64, RequestRecord> = store
        .requests_of_org(org)?
        .into_iter()
        .map(|record| (record.github_request_id, record))
        .collect();
    let mut report = SyncReport {
        org: org.to_string(),
        ..SyncReport::default()
    };
    // The grants as the sync begins: a pending request for a token among them is an upgrade.
    let grants_by_token = client
        .grants(org)
        .await?
        .into_iter()
        .filter_map(|grant| Some((grant.token.id?, grant)))
        .collect();
    let mut reading = Reading {
        outside_collaborators: None,
        addresses: HashMap::new(),
        grants_by_token,
        standing_refused: false,
    };
    let mut still_pending = HashSet::new();
    let mut pages = client.pending_request_pages(org);
    while let Some(page) = pages.next().await? {
        let mut incoming = reading.facts(client, org, &known, &page, options).await?;
        // GitHub lists the newest first; recorded oldest first, a page's new requests are
        // numbered in the order they were made.
        incoming.sort_by_key(|(_, request)| request.requested_at);
        let now = store.now();
        let recorded = store.write(|tx| {
            let mut recorded = SyncReport::default();
            for (github, request) in incoming {
                record_pending(
                    tx,
                    &known,
                    github,
                    request,
                    &reading,
                    options,
                    now,
                    &mut recorded,
                )?;
            }
            Ok::<_, SyncError>(recorded)
        })?;
        report.add(&recorded);
        report.pending += page.len();
        still_pending.extend(page.iter().map(|github| github.id));
    }
    // Absence from the listing is no proof (see [`gone`]): each open request it lacked is
    // looked for in a listing filtered to its token, and counts as pending if found there.
    let missing: Vec<&RequestRecord> = known
        .values()
        .filter(|record| {
            record.state.is_open() && !still_pending.contains(&record.github_request_id)
        })
        .collect();
    let shifted = gone::still_pending(client, org, &missing).await?;
    if !shifted.is_empty() {
        tracing::info!(
            org,
            requests = ?shifted,
            "requests the pending listing missed (it moved while read) are still pending"
        );
    }
    still_pending.extend(shifted);
    let grants = client.grants(org).await?;
    let now = store.now();
    let settled =
        store.write(|tx| settle(tx, org, &known, &still_pending, &grants, options, now))?;
    report.add(&settled);
    Ok(report)
}

/// What a sync learns once and uses on every page.
struct Reading {
    /// The org's outside collaborators, read when the first new request needs them.
    outside_collaborators: Option<Option<HashSet<String>>>,
    /// Lower-cased login → address, for the requesters of new requests.
    addresses: HashMap<String, Option<String>>,
    /// The org's grants when the sync began, by token id.
    grants_by_token: HashMap<i64, Grant>,
    /// GitHub refused a requester's standing this sync.
    standing_refused: bool,
}

impl Reading {
    /// Each request of `page` with its facts: the repositories and the requester's standing
    /// for new and changed requests (those of a request recorded with the same facts are
    /// taken from the record, not asked for again), and the requester's address for new ones.
    async fn facts<'p>(
        &mut self,
        client: &GithubClient,
        org: &str,
        known: &HashMap<i64, RequestRecord>,
        page: &'p [PendingRequest],
        options: &SyncOptions,
    ) -> Result<Vec<(&'p PendingRequest, TokenRequest)>, SyncError> {
        let mut incoming = Vec::with_capacity(page.len());
        for github in page {
            let mut request = token_request(org, github)?;
            match known.get(&github.id) {
                Some(record) if same_github_facts(&record.request, &request) => {
                    request.repositories = record.request.repositories.clone();
                    request.requester = match &record.request.requester {
                        Some(standing) => Some(standing.clone()),
                        // Unknown is not final: GitHub would not say before (a permission
                        // granted since), so it is asked again while the request is open.
                        // Once GitHub refuses in a sync (the App without "Members"), the
                        // others wait for the next: one call a sync, not one per request.
                        None if record.state.is_open() && !self.standing_refused => {
                            self.standing(client, org, &request, options).await?
                        }
                        None => None,
                    };
                }
                _ => {
                    if request.repository_selection == RepositorySelection::Subset {
                        request.repositories = client.request_repositories(org, github.id).await?;
                    }
                    request.requester = self.standing(client, org, &request, options).await?;
                }
            }
            let login = github.owner.login.to_lowercase();
            if !known.contains_key(&github.id) && !self.addresses.contains_key(&login) {
                let address = addresses::resolve(
                    client,
                    org,
                    &github.owner.login,
                    &options.directory,
                    &options.allowed_domains,
                )
                .await?;
                self.addresses.insert(login, address);
            }
            incoming.push((github, request));
        }
        Ok(incoming)
    }

    /// The requester's standing, `None` when GitHub refuses to tell.
    async fn standing(
        &mut self,
        client: &GithubClient,
        org: &str,
        request: &TokenRequest,
        options: &SyncOptions,
    ) -> Result<Option<crate::request::Requester>, SyncError> {
        if self.outside_collaborators.is_none() {
            self.outside_collaborators = Some(standing::outside_collaborators(client, org).await?);
        }
        let outside = self.outside_collaborators.as_ref().and_then(Option::as_ref);
        let standing = standing::requester(
            client,
            org,
            request,
            outside,
            &options.policy.org_permission_teams,
        )
        .await?;
        self.standing_refused |= standing.is_none();
        Ok(standing)
    }
}

/// Records one pending request: new, changed, or as it was.
#[allow(clippy::too_many_arguments)]
fn record_pending(
    tx: &Tx<'_>,
    known: &HashMap<i64, RequestRecord>,
    github: &PendingRequest,
    mut request: TokenRequest,
    reading: &Reading,
    options: &SyncOptions,
    now: Timestamp,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let upgraded = github
        .token
        .id
        .and_then(|token| reading.grants_by_token.get(&token));
    match known.get(&github.id) {
        None => {
            let address = reading
                .addresses
                .get(&github.owner.login.to_lowercase())
                .cloned()
                .flatten();
            let reviewed = reviewed(&request, upgraded, options, now);
            record_new(tx, github, request, reviewed, address, options, report)?;
        }
        Some(record) if record.state.is_open() => {
            let changes = differences(&record.request, &request);
            if changes
                .as_object()
                .is_some_and(|changes| !changes.is_empty())
            {
                request.purpose = record.request.purpose.clone();
                let reviewed = reviewed(&request, upgraded, options, now);
                tx.record_github_change(record.id, &request, &reviewed, &changes)?;
                report.changed += 1;
            }
        }
        // Marked gone, yet GitHub lists it: the evidence was wrong (a listing that moved while
        // read, before patdesk checked absences), and the request is open again.
        Some(record) if record.state == RequestState::Withdrawn => {
            let has_purpose = record.request.purpose.is_some()
                || usable_purpose(record.request.github_reason.as_deref(), options);
            let state = open_state(has_purpose, record.owner_email.is_some());
            tx.record_github_state(
                record.id,
                state,
                EventKind::Reopened,
                json!({ "why": "recorded as withdrawn, but GitHub lists it as pending" }),
            )?;
            report.reopened += 1;
        }
        // Decided here, not yet carried to GitHub: the push will do that.
        Some(_) => {}
    }
    Ok(())
}

/// Once every page is in: the open requests gone from GitHub's pending list (approved
/// elsewhere, or withdrawn), the approved tokens with their expiry and use, and the tokens no
/// request of patdesk's accounts for.
fn settle(
    tx: &Tx<'_>,
    org: &str,
    known: &HashMap<i64, RequestRecord>,
    still_pending: &HashSet<i64>,
    grants: &[Grant],
    options: &SyncOptions,
    now: Timestamp,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let grant_of = |record: &RequestRecord| find_grant(grants, record);
    // The grants a record of patdesk's accounts for; the others are outside tokens.
    let matched: HashSet<i64> = known
        .values()
        .filter_map(|record| grant_of(record).map(|grant| grant.id))
        .collect();
    for record in known.values() {
        if record.state.is_open() && !still_pending.contains(&record.github_request_id) {
            // A grant for the token is evidence of approval only if it holds what the request
            // asked: a request to widen a token already approved (an upgrade) shares the
            // token's grant, which stays as it was when the upgrade is denied or cancelled.
            match grant_of(record)
                .filter(|grant| grant.permissions.covers(&record.request.permissions))
            {
                Some(grant) => {
                    // Who approved it, as GitHub's webhook claimed (if it was delivered); the
                    // API's grant is the evidence of the approval itself.
                    let claim = tx.github_claim(org, record.github_request_id)?;
                    let approver = match &claim {
                        Some(claim) if claim.action == "approved" => {
                            format!("{} (GitHub's webhook says so)", claim.sender)
                        }
                        _ => "unknown: approved on GitHub, not through patdesk".to_string(),
                    };
                    tx.record_github_state(
                        record.id,
                        RequestState::Approved,
                        EventKind::ApprovedElsewhere,
                        json!({ "grant_id": grant.id, "approver": approver, "github_says": claim }),
                    )?;
                    tx.record_grant(record.id, grant.id)?;
                    usage::track_lifetime(tx, record, grant, options, &mut report)?;
                    report.approved_elsewhere += 1;
                }
                None => {
                    let why = match grant_of(record) {
                        Some(_) => {
                            "gone from GitHub's pending requests, and the token's grant does not hold what it asked (an upgrade denied or cancelled)"
                        }
                        None => {
                            "gone from GitHub's pending requests and not among the approved tokens"
                        }
                    };
                    // Denied on GitHub's pages, or cancelled by its requester: the webhook's
                    // claim, if one came, says which and who.
                    let claim = tx.github_claim(org, record.github_request_id)?;
                    tx.record_github_state(
                        record.id,
                        RequestState::Withdrawn,
                        EventKind::Withdrawn,
                        json!({ "why": why, "github_says": claim }),
                    )?;
                    report.withdrawn += 1;
                }
            }
        } else if record.state == RequestState::Approved
            && let Some(grant) = grant_of(record)
        {
            tx.record_grant(record.id, grant.id)?;
            if !track_expiry(tx, record, grant, options, now, &mut report)? {
                usage::track_use(tx, record, grant, options, now, &mut report)?;
                usage::track_lifetime(tx, record, grant, options, &mut report)?;
            }
        }
    }
    outside::track_outside(tx, org, grants, &matched, options, now, &mut report)?;
    Ok(report)
}

/// The review of `request`, and for an upgrade what it adds and raises beyond its token's
/// grant.
fn reviewed(
    request: &TokenRequest,
    upgraded: Option<&Grant>,
    options: &SyncOptions,
    now: Timestamp,
) -> crate::review::Review {
    let mut reviewed = review(request, &options.policy, now);
    if let Some(grant) = upgraded {
        reviewed
            .findings
            .push(upgrade::finding(grant, &request.permissions));
    }
    reviewed
}

/// Whether GitHub's `reason` is long enough to stand as the purpose.
fn usable_purpose(reason: Option<&str>, options: &SyncOptions) -> bool {
    reason.is_some_and(|reason| {
        reason.trim().chars().count() >= options.policy.min_purpose_chars as usize
    })
}

/// Where an open request stands: in review once its purpose is known, else waiting for it
/// from the requester, or for a person to find their address.
fn open_state(has_purpose: bool, has_address: bool) -> RequestState {
    if has_purpose {
        RequestState::InReview
    } else if has_address {
        RequestState::AwaitingPurpose
    } else {
        RequestState::NeedsContact
    }
}

/// A new request: recorded, reviewed, and either in review (GitHub's reason is a usable
/// purpose), waiting for its purpose (question queued), or needing a person to find the
/// requester's address.
fn record_new(
    tx: &Tx<'_>,
    github: &PendingRequest,
    request: TokenRequest,
    reviewed: crate::review::Review,
    address: Option<String>,
    options: &SyncOptions,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let state = open_state(
        usable_purpose(request.github_reason.as_deref(), options),
        address.is_some(),
    );
    let new = NewRequest {
        github_request_id: github.id,
        token_id: github.token.id,
        owner_email: address.clone(),
        request,
        state,
        review: reviewed,
    };
    let id = tx.insert_request("github", &new)?;
    report.new += 1;
    if new.review.risk == crate::review::Risk::Critical {
        let findings: Vec<&str> = new
            .review
            .findings
            .iter()
            .filter(|finding| finding.severity == crate::review::Severity::Critical)
            .map(|finding| finding.why.as_str())
            .collect();
        tx.raise_alert(
            AlertKind::CriticalRequest,
            Some(id),
            &format!(
                "New critical-risk request PAT-{id} from {} in {} (token {}): {}",
                new.request.owner_login,
                new.request.org,
                new.request.token_name.as_deref().unwrap_or("unnamed"),
                findings.join(" ")
            ),
        )?;
    }
    match (state, address) {
        (RequestState::AwaitingPurpose, Some(address)) => {
            let queued = conversation::queue_question(tx, id, &new, &address)?;
            report.questions_queued += usize::from(queued.is_some());
        }
        (RequestState::NeedsContact, _) => {
            tx.raise_alert(
                AlertKind::NeedsContact,
                Some(id),
                &format!(
                    "No address for {} (request PAT-{id} in {}): give one with `patdesk contact {id} --email ADDRESS`",
                    new.request.owner_login, new.request.org
                ),
            )?;
            report.needs_contact += 1;
        }
        _ => {}
    }
    Ok(())
}

/// `The token "NAME" of OWNER (PAT-ID)`, as the alerts about a token begin.
fn the_token(record: &RequestRecord) -> String {
    format!(
        "The token \"{}\" of {} (PAT-{})",
        record.request.token_name.as_deref().unwrap_or("(unnamed)"),
        record.request.owner_login,
        record.id
    )
}

/// Follows the token to its expiry: whether it has expired (the request is then closed).
fn track_expiry(
    tx: &Tx<'_>,
    record: &RequestRecord,
    grant: &Grant,
    options: &SyncOptions,
    now: Timestamp,
    report: &mut SyncReport,
) -> Result<bool, StoreError> {
    let expires_at = grant.token.expires_at.or(record.request.token_expires_at);
    let expired = grant.token.expired == Some(true) || expires_at.is_some_and(|at| at <= now);
    if expired {
        tx.record_github_state(
            record.id,
            RequestState::Expired,
            EventKind::TokenExpired,
            json!({ "grant_id": grant.id, "expires_at": expires_at.map(|at| at.to_string()) }),
        )?;
        tx.raise_alert(
            AlertKind::TokenExpired,
            Some(record.id),
            &format!("{} has expired", the_token(record)),
        )?;
        report.expired += 1;
        return Ok(true);
    }
    let Some(expires_at) = expires_at else {
        return Ok(false);
    };
    let left = expires_at.duration_since(now);
    if left <= SignedDuration::from_hours(i64::from(options.expiry_warning_days) * 24) {
        let days_left = left.as_hours() / 24;
        if tx.record_expiry_warning(record.id, &expires_at.to_string(), days_left)? {
            tx.raise_alert(
                AlertKind::TokenExpiring,
                Some(record.id),
                &format!("{} expires in {days_left} day(s)", the_token(record)),
            )?;
            report.expiring += 1;
        }
    }
    Ok(false)
}

/// The approved token a record became: by token id, or (older responses lack it) by owner and
/// token name.
fn find_grant<'g>(grants: &'g [Grant], record: &RequestRecord) -> Option<&'g Grant> {
    if let Some(grant_id) = record.grant_id
        && let Some(grant) = grants.iter().find(|grant| grant.id == grant_id)
    {
        return Some(grant);
    }
    match record.token_id {
        Some(token_id) => grants.iter().find(|grant| grant.token.id == Some(token_id)),
        None => grants.iter().find(|grant| {
            grant
                .owner
                .login
                .eq_ignore_ascii_case(&record.request.owner_login)
                && grant.token.name.is_some()
                && grant.token.name == record.request.token_name
        }),
    }
}

/// GitHub's pending request as patdesk records it (public for the fuzzer).
pub fn token_request(org: &str, github: &PendingRequest) -> Result<TokenRequest, SyncError> {
    let repository_selection = github
        .repository_selection
        .parse::<RepositorySelection>()
        .map_err(|e| SyncError::Invalid(format!("request {}: {e}", github.id)))?;
    Ok(TokenRequest {
        org: org.to_string(),
        token_name: github.token.name.clone(),
        owner_login: github.owner.login.clone(),
        repository_selection,
        repositories: Vec::new(),
        permissions: github.permissions.clone(),
        token_expires_at: github.token.expires_at,
        requested_at: github.created_at,
        github_reason: github
            .reason
            .clone()
            .filter(|reason| !reason.trim().is_empty()),
        purpose: None,
        requester: None,
    })
}

/// The facts GitHub's listing of pending requests gives, by the name a change records them
/// under. The repositories are fetched separately. The owner's login is kept as GitHub spells
/// it now (a renamed account, or a new case: logins ignore case, but people read them).
fn listed_facts(request: &TokenRequest) -> [(&'static str, Value); 6] {
    [
        ("owner_login", json!(request.owner_login)),
        ("token_name", json!(request.token_name)),
        ("repository_selection", json!(request.repository_selection)),
        ("permissions", json!(request.permissions)),
        (
            "token_expires_at",
            json!(request.token_expires_at.map(|at| at.to_string())),
        ),
        ("reason", json!(request.github_reason)),
    ]
}

/// The facts GitHub owns, without the repositories (fetched separately).
fn same_github_facts(stored: &TokenRequest, fresh: &TokenRequest) -> bool {
    listed_facts(stored) == listed_facts(fresh)
}

/// `{field: {from, to}}` for every GitHub-owned fact that changed, repositories and the
/// requester's standing included.
fn differences(stored: &TokenRequest, fresh: &TokenRequest) -> Value {
    let with_repositories = |request: &TokenRequest| {
        let repositories = ("repositories", json!(request.repositories));
        let requester = ("requester", json!(request.requester));
        listed_facts(request)
            .into_iter()
            .chain([repositories, requester])
    };
    let changes = with_repositories(stored)
        .zip(with_repositories(fresh))
        .filter(|((_, from), (_, to))| from != to)
        .map(|((field, from), (_, to))| (field.to_string(), json!({ "from": from, "to": to })))
        .collect();
    Value::Object(changes)
}
