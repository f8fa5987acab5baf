//! What a token request is: the facts GitHub gives about it, the purpose patdesk obtained, and
//! the states of its life. Plain data shared by the review rules, the store and the commands.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What makes a mail or a GitHub call about `request` one of its kind: the same key is queued
/// once (`pat-12:question`, `pat-12:approve`), however often the step that queues it runs.
pub fn idempotency_key(request: i64, what: impl fmt::Display) -> String {
    format!("pat-{request}:{what}")
}

/// Where an org's owners review its token requests on GitHub's pages: the list, or one request.
pub fn review_url(org: &str, request: Option<i64>) -> String {
    let list =
        format!("https://github.com/organizations/{org}/settings/personal-access-token-requests");
    match request {
        Some(request) => format!("{list}/{request}"),
        None => list,
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    New,
    AwaitingPurpose,
    InReview,
    Approved,
    Denied,
    Revoked,
    Expired,
    NeedsContact,
    Withdrawn,
}

impl RequestState {
    pub const ALL: [RequestState; 9] = [
        RequestState::New,
        RequestState::AwaitingPurpose,
        RequestState::InReview,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Revoked,
        RequestState::Expired,
        RequestState::NeedsContact,
        RequestState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::New => "new",
            RequestState::AwaitingPurpose => "awaiting_purpose",
            RequestState::InReview => "in_review",
            RequestState::Approved => "approved",
            RequestState::Denied => "denied",
            RequestState::Revoked => "revoked",
            RequestState::Expired => "expired",
            RequestState::NeedsContact => "needs_contact",
            RequestState::Withdrawn => "withdrawn",
        }
    }

    /// Still waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestState::New
                | RequestState::AwaitingPurpose
                | RequestState::InReview
                | RequestState::NeedsContact
        )
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RequestState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| {
                UnknownValue::new("state", text, RequestState::ALL.map(RequestState::as_str))
            })
    }
}

/// A value that is not one of those accepted, with the list, for a clear message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: accepted are {}", accepted.join(", "))]
pub struct UnknownValue {
    what: &'static str,
    value: String,
    accepted: Vec<&'static str>,
}

impl UnknownValue {
    pub fn new(
        what: &'static str,
        value: &str,
        accepted: impl IntoIterator<Item = &'static str>,
    ) -> Self {
        UnknownValue {
            what,
            value: value.to_string(),
            accepted: accepted.into_iter().collect(),
        }
    }
}

/// Where a request's purpose came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurposeSource {
    /// The reason the requester gave on GitHub, long enough to count.
    GithubReason,
    /// The requester's authenticated answer to patdesk's question.
    RequesterMail,
    /// An answer that could not be verified, which a team member accepted.
    AcceptedReply,
    /// A team member, who heard it another way (`patdesk purpose`).
    Engineer,
}

impl PurposeSource {
    pub const ALL: [PurposeSource; 4] = [
        PurposeSource::GithubReason,
        PurposeSource::RequesterMail,
        PurposeSource::AcceptedReply,
        PurposeSource::Engineer,
    ];

    /// As `requests.purpose_source` and `--json` name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PurposeSource::GithubReason => "github_reason",
            PurposeSource::RequesterMail => "reply",
            PurposeSource::AcceptedReply => "reply accepted by a team member",
            PurposeSource::Engineer => "engineer",
        }
    }

    /// In words, for `show` and the records sheet.
    pub fn described(self) -> &'static str {
        match self {
            PurposeSource::GithubReason => "GitHub's reason",
            PurposeSource::RequesterMail => "the requester's mail",
            PurposeSource::AcceptedReply => "a reply a team member accepted",
            PurposeSource::Engineer => "a team member",
        }
    }

    /// Given by a team member: mail never overwrites it.
    pub fn by_a_member(self) -> bool {
        match self {
            PurposeSource::AcceptedReply | PurposeSource::Engineer => true,
            PurposeSource::GithubReason | PurposeSource::RequesterMail => false,
        }
    }
}

/// Which repositories a token reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepositorySelection {
    None,
    All,
    Subset,
}

impl RepositorySelection {
    pub fn as_str(self) -> &'static str {
        match self {
            RepositorySelection::None => "none",
            RepositorySelection::All => "all",
            RepositorySelection::Subset => "subset",
        }
    }
}

impl FromStr for RepositorySelection {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(RepositorySelection::None),
            "all" => Ok(RepositorySelection::All),
            "subset" => Ok(RepositorySelection::Subset),
            _ => Err(UnknownValue::new(
                "repository selection",
                text,
                ["none", "all", "subset"],
            )),
        }
    }
}

/// How much a permission allows, ordered. GitHub may add levels; those are kept as written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    Admin,
    Other(String),
}

impl Access {
    pub fn parse(text: &str) -> Access {
        match text {
            "read" => Access::Read,
            "write" => Access::Write,
            "admin" => Access::Admin,
            other => Access::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Admin => "admin",
            Access::Other(other) => other,
        }
    }

    /// Write or more. An unknown level is treated as writing: the safe assumption.
    pub fn writes(&self) -> bool {
        !matches!(self, Access::Read)
    }
}

impl Serialize for Access {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|text| Access::parse(&text))
    }
}

/// The permission groups of GitHub's API: slug → access, every slug kept, known or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    #[serde(default)]
    pub organization: BTreeMap<String, Access>,
    #[serde(default)]
    pub repository: BTreeMap<String, Access>,
    /// Account permissions.
    #[serde(default)]
    pub other: BTreeMap<String, Access>,
}

/// The scope a permission belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Organization,
    Repository,
    Account,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Organization => "organization",
            Scope::Repository => "repository",
            Scope::Account => "account",
        }
    }
}

impl Permissions {
    /// Every permission with its scope.
    pub fn iter(&self) -> impl Iterator<Item = (Scope, &str, &Access)> {
        [
            (Scope::Organization, &self.organization),
            (Scope::Repository, &self.repository),
            (Scope::Account, &self.other),
        ]
        .into_iter()
        .flat_map(|(scope, map)| {
            map.iter()
                .map(move |(slug, access)| (scope, slug.as_str(), access))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.organization.is_empty() && self.repository.is_empty() && self.other.is_empty()
    }

    /// The access to `slug` in `scope`, if any.
    pub fn get(&self, scope: Scope, slug: &str) -> Option<&Access> {
        self.in_scope(scope).get(slug)
    }

    fn in_scope(&self, scope: Scope) -> &BTreeMap<String, Access> {
        match scope {
            Scope::Organization => &self.organization,
            Scope::Repository => &self.repository,
            Scope::Account => &self.other,
        }
    }

    /// Whether these (a grant's) allow everything `asked` asks for: each permission at its
    /// level or above (a level GitHub adds later only as written).
    pub fn covers(&self, asked: &Permissions) -> bool {
        asked.iter().all(|(scope, slug, wanted)| {
            self.in_scope(scope)
                .get(slug)
                .is_some_and(|held| match (held, wanted) {
                    (Access::Other(_), _) | (_, Access::Other(_)) => held == wanted,
                    _ => held >= wanted,
                })
        })
    }

    /// `repository: contents=write, metadata=read; organization: members=read`
    pub fn summary(&self) -> String {
        let mut groups = Vec::new();
        for (label, map) in [
            ("repository", &self.repository),
            ("organization", &self.organization),
            ("account", &self.other),
        ] {
            if !map.is_empty() {
                let items: Vec<String> = map
                    .iter()
                    .map(|(slug, access)| format!("{slug}={}", access.as_str()))
                    .collect();
                groups.push(format!("{label}: {}", items.join(", ")));
            }
        }
        groups.join("; ")
    }
}

/// What GitHub knows of the requester's place in the organisation (the runbook's
/// "Requester's Role and Authority"). A fine-grained token can never exceed its owner's own
/// access, so asking for more than they have is at best a mistake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// `admin` or `member`; `None` when they are not a member.
    pub org_role: Option<String>,
    pub outside_collaborator: bool,
    /// `owner/repo` → their own permission there (`admin`, `maintain`, `write`, `triage`,
    /// `read` or `none`), for the repositories the request names.
    #[serde(default)]
    pub repository_permissions: BTreeMap<String, String>,
    /// Of the teams the review cares about (`review.org_permission_teams`), those they are in.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// A request as GitHub describes it, with the purpose patdesk obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub org: String,
    pub token_name: Option<String>,
    pub owner_login: String,
    pub repository_selection: RepositorySelection,
    /// `owner/name`; filled only for `subset`.
    pub repositories: Vec<String>,
    pub permissions: Permissions,
    /// `None`: the token never expires.
    pub token_expires_at: Option<Timestamp>,
    pub requested_at: Timestamp,
    /// What the requester typed into GitHub, often nothing.
    pub github_reason: Option<String>,
    /// What patdesk learnt from the requester or an engineer.
    pub purpose: Option<String>,
    /// `None` until GitHub has been asked.
    pub requester: Option<Requester>,
}

impl TokenRequest {
    /// The requester's place in the organisation, as GitHub told it.
    pub fn standing(&self) -> String {
        let Some(requester) = &self.requester else {
            return "not known (GitHub not asked yet, or the App may not read members)".to_string();
        };
        let mut standing = match (&requester.org_role, requester.outside_collaborator) {
            (_, true) => "outside collaborator".to_string(),
            (Some(role), false) if role == "admin" => "organisation owner".to_string(),
            (Some(_), false) => "member".to_string(),
            (None, false) => "not a member".to_string(),
        };
        if !requester.repository_permissions.is_empty() {
            let access: Vec<String> = requester
                .repository_permissions
                .iter()
                .map(|(repository, own)| format!("{own} on {repository}"))
                .collect();
            standing.push_str(&format!("; {}", access.join(", ")));
        }
        standing
    }

    /// The purpose the review should judge: the one obtained, else GitHub's reason.
    pub fn stated_purpose(&self) -> Option<&str> {
        self.purpose
            .as_deref()
            .or(self.github_reason.as_deref())
            .map(str::trim)
            .filter(|purpose| !purpose.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permissions(repository: &[(&str, &str)]) -> Permissions {
        Permissions {
            repository: repository
                .iter()
                .map(|(slug, access)| (slug.to_string(), Access::parse(access)))
                .collect(),
            ..Permissions::default()
        }
    }

    #[test]
    fn a_grant_covers_what_it_holds_at_that_level_or_above() {
        let grant = permissions(&[("issues", "write"), ("metadata", "read")]);
        assert!(grant.covers(&permissions(&[("issues", "read")])));
        assert!(grant.covers(&permissions(&[("issues", "write"), ("metadata", "read")])));
        assert!(!grant.covers(&permissions(&[("issues", "admin")])));
        assert!(!grant.covers(&permissions(&[("contents", "read")])));
        // A level GitHub adds later, only as written.
        let odd = permissions(&[("issues", "triage")]);
        assert!(odd.covers(&permissions(&[("issues", "triage")])));
        assert!(!grant.covers(&odd) && !odd.covers(&permissions(&[("issues", "read")])));
    }
}
