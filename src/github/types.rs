//! GitHub's JSON, as documented for API version 2022-11-28. Deserialised
//! tolerantly: older responses lack `token_id` and `token_name`, permission groups may be
//! missing or null, and unknown permission slugs are kept.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serialize};

use crate::request::{Access, Permissions};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Owner {
    pub login: String,
    #[serde(default)]
    pub id: Option<i64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// One pending request: `GET /orgs/{org}/personal-access-token-requests`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct PendingRequest {
    /// The request's id (`pat_request_id`), not the token's.
    pub id: i64,
    #[serde(default)]
    pub reason: Option<String>,
    pub owner: Owner,
    pub repository_selection: String,
    #[serde(default, deserialize_with = "permissions_or_empty")]
    pub permissions: Permissions,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub token: TokenFacts,
}

/// One approved token: `GET /orgs/{org}/personal-access-tokens`. `id` is the grant's
/// (`pat_id`), used to revoke it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Grant {
    pub id: i64,
    pub owner: Owner,
    pub repository_selection: String,
    #[serde(default, deserialize_with = "permissions_or_empty")]
    pub permissions: Permissions,
    #[serde(default)]
    pub access_granted_at: Option<Timestamp>,
    #[serde(flatten)]
    pub token: TokenFacts,
}

/// What a pending request and an approved token say alike of the token itself: its
/// `token_*` fields, each missing from some (older) responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct TokenFacts {
    #[serde(default, rename = "token_id")]
    pub id: Option<i64>,
    #[serde(default, rename = "token_name")]
    pub name: Option<String>,
    #[serde(default, rename = "token_expired")]
    pub expired: Option<bool>,
    #[serde(default, rename = "token_expires_at")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, rename = "token_last_used_at")]
    pub last_used_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Repository {
    pub full_name: String,
}

/// `POST /app/installations/{id}/access_tokens`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InstallationToken {
    pub token: String,
    pub expires_at: Timestamp,
}

/// `GET /orgs/{org}/memberships/{username}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Membership {
    pub role: String,
    pub state: String,
}

/// `GET /users/{username}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    pub login: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// `permissions` with every group present; `null` reads as empty.
fn permissions_or_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Permissions, D::Error> {
    #[derive(Deserialize)]
    struct Groups {
        #[serde(default)]
        organization: Option<BTreeMap<String, Access>>,
        #[serde(default)]
        repository: Option<BTreeMap<String, Access>>,
        #[serde(default)]
        other: Option<BTreeMap<String, Access>>,
    }
    let groups = Option::<Groups>::deserialize(deserializer)?;
    Ok(
        groups.map_or_else(Permissions::default, |groups| Permissions {
            organization: groups.organization.unwrap_or_default(),
            repository: groups.repository.unwrap_or_default(),
            other: groups.other.unwrap_or_default(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_reads_and_an_old_response_too() {
        let documented = r#"{"id": 25381, "reason": "I need to access the GitHub API",
            "owner": {"login": "octocat", "id": 1, "type": "User", "site_admin": false},
            "repository_selection": "all",
            "repositories_url": "https://api.github.com/organizations/652551/personal-access-token-requests/25381/repositories",
            "permissions": {"organization": {"members": "read"}, "repository": {"metadata": "read"}},
            "created_at": "2023-05-16T08:47:09.000-07:00",
            "token_id": 98716, "token_name": "Some Token", "token_expired": false,
            "token_expires_at": "2023-11-16T08:47:09.000-07:00", "token_last_used_at": null}"#;
        let request: PendingRequest = serde_json::from_str(documented).expect("documented shape");
        assert_eq!(request.token.name.as_deref(), Some("Some Token"));
        assert_eq!(request.permissions.organization["members"], Access::Read);
        assert_eq!(request.created_at.to_string(), "2023-05-16T15:47:09Z");

        let old = r#"{"id": 1, "owner": {"login": "octocat"}, "repository_selection": "subset",
            "permissions": {"repository": {"quantum": "write"}, "other": null},
            "created_at": "2023-05-16T08:47:09Z", "token_expires_at": null}"#;
        let request: PendingRequest = serde_json::from_str(old).expect("old shape");
        assert_eq!(request.token.name, None);
        assert_eq!(request.permissions.repository["quantum"], Access::Write);
        assert!(request.token.expires_at.is_none());
    }
}
