//! Builders for request records, so tests fill a database the way the GitHub sync will.

use jiff::{SignedDuration, Timestamp};
use patdesk::request::{
    Access, Permissions, RepositorySelection, RequestState, Requester, TokenRequest,
};
use patdesk::review::{ReviewPolicy, review};
use patdesk::store::{NewRequest, Store};

/// When every built request was made (fixed, so tests do not depend on the clock).
pub fn requested_at() -> Timestamp {
    "2026-11-02T09:30:00Z".parse().expect("valid time")
}

#[derive(Clone)]
pub struct RequestBuilder {
    request: TokenRequest,
    github_request_id: i64,
    owner_email: Option<String>,
    state: RequestState,
}

impl RequestBuilder {
    /// A request that meets the policy: one repository, read access, a 90-day expiry, a
    /// clear name and purpose.
    pub fn tidy() -> RequestBuilder {
        let mut permissions = Permissions::default();
        permissions
            .repository
            .insert("issues".to_string(), Access::Read);
        permissions
            .repository
            .insert("metadata".to_string(), Access::Read);
        RequestBuilder {
            request: TokenRequest {
                org: "acme-corp".to_string(),
                token_name: Some("issue-reader weekly report".to_string()),
                owner_login: "carol".to_string(),
                repository_selection: RepositorySelection::Subset,
                repositories: vec!["acme-corp/api".to_string()],
                permissions,
                token_expires_at: Some(requested_at() + SignedDuration::from_hours(90 * 24)),
                requested_at: requested_at(),
                github_reason: None,
                purpose: Some("Reads issues of acme-corp/api for the weekly report".to_string()),
                requester: None,
            },
            github_request_id: 25_381,
            owner_email: Some("carol@example.org".to_string()),
            state: RequestState::InReview,
        }
    }

    pub fn org(mut self, org: &str) -> Self {
        self.request.org = org.to_string();
        self
    }

    pub fn owner(mut self, login: &str, email: Option<&str>) -> Self {
        self.request.owner_login = login.to_string();
        self.owner_email = email.map(str::to_string);
        self
    }

    pub fn github_id(mut self, id: i64) -> Self {
        self.github_request_id = id;
        self
    }

    pub fn state(mut self, state: RequestState) -> Self {
        self.state = state;
        self
    }

    pub fn token_name(mut self, name: Option<&str>) -> Self {
        self.request.token_name = name.map(str::to_string);
        self
    }

    pub fn purpose(mut self, purpose: Option<&str>) -> Self {
        self.request.purpose = purpose.map(str::to_string);
        self
    }

    pub fn github_reason(mut self, reason: Option<&str>) -> Self {
        self.request.github_reason = reason.map(str::to_string);
        self
    }

    pub fn all_repositories(self) -> Self {
        self.selection(RepositorySelection::All, &[])
    }

    pub fn selection(mut self, selection: RepositorySelection, repositories: &[&str]) -> Self {
        self.request.repository_selection = selection;
        self.request.repositories = repositories.iter().map(|name| name.to_string()).collect();
        self
    }

    /// `scope` is `repository`, `organization` or `other`.
    pub fn permission(mut self, scope: &str, slug: &str, access: &str) -> Self {
        let group = match scope {
            "repository" => &mut self.request.permissions.repository,
            "organization" => &mut self.request.permissions.organization,
            _ => &mut self.request.permissions.other,
        };
        group.insert(slug.to_string(), Access::parse(access));
        self
    }

    pub fn clear_permissions(mut self) -> Self {
        self.request.permissions = Permissions::default();
        self
    }

    pub fn no_expiry(mut self) -> Self {
        self.request.token_expires_at = None;
        self
    }

    pub fn expires_in_days(mut self, days: i64) -> Self {
        self.request.token_expires_at =
            Some(requested_at() + SignedDuration::from_hours(days * 24));
        self
    }

    pub fn requested(mut self, at: &str) -> Self {
        self.request.requested_at = at.parse().expect("valid time");
        self
    }

    pub fn requester(mut self, requester: Requester) -> Self {
        self.request.requester = Some(requester);
        self
    }

    pub fn token_request(&self) -> TokenRequest {
        self.request.clone()
    }

    pub fn build(&self) -> NewRequest {
        NewRequest {
            github_request_id: self.github_request_id,
            token_id: Some(self.github_request_id + 1_000_000),
            owner_email: self.owner_email.clone(),
            request: self.request.clone(),
            state: self.state,
            review: review(&self.request, &ReviewPolicy::default(), requested_at()),
        }
    }

    /// Records the request as the sync would, returning its id.
    pub fn insert(&self, store: &mut Store) -> i64 {
        let tx = store.transaction().expect("transaction");
        let id = tx.insert_request("system", &self.build()).expect("insert");
        tx.commit().expect("commit");
        id
    }
}

/// Stores `raw` as intake would have found it at UID `uid` of INBOX, returning its id.
pub fn receive(
    store: &mut Store,
    raw: &[u8],
    uid: u32,
    request: Option<i64>,
    triage: Option<&str>,
) -> i64 {
    use patdesk::mail::{MailPolicy, analyze};
    use patdesk::store::{Direction, NewMessage, content_hash};
    let analysis = analyze(raw, &MailPolicy::default());
    store
        .write(|tx| {
            tx.insert_message(&NewMessage {
                raw,
                sha256: &content_hash(raw),
                analysis: &analysis,
                direction: Direction::In,
                mailbox: Some("INBOX"),
                uidvalidity: Some(1),
                uid: Some(uid),
                request_id: request,
                triage,
            })
        })
        .expect("store the mail")
}
