//! What GitHub knows of a requester's standing: org role, outside collaboration, and their own
//! permission on each repository the request names. The App needs "Members" (read) and
//! "Metadata" (read) for this; without them the review simply goes without it.

use std::collections::HashSet;

use crate::github::{GithubClient, GithubError};
use crate::request::{Requester, TokenRequest};

/// The org's outside collaborators, or `None` when GitHub will not say.
pub async fn outside_collaborators(
    client: &GithubClient,
    org: &str,
) -> Result<Option<HashSet<String>>, GithubError> {
    match client.outside_collaborators(org).await {
        Ok(logins) => Ok(Some(
            logins
                .into_iter()
                .map(|login| login.to_lowercase())
                .collect(),
        )),
        Err(error) if error.is_transient() => Err(error),
        Err(_) => Ok(None),
    }
}

/// The requester's standing, or `None` when GitHub refuses to tell (missing permission).
pub async fn requester(
    client: &GithubClient,
    org: &str,
    request: &TokenRequest,
    outside: Option<&HashSet<String>>,
    teams: &[String],
) -> Result<Option<Requester>, GithubError> {
    let login = &request.owner_login;
    let membership = match client.membership(org, login).await {
        Ok(membership) => membership,
        Err(error) if error.is_transient() => return Err(error),
        Err(_) => return Ok(None),
    };
    let mut requester = Requester {
        org_role: membership
            .filter(|membership| membership.state == "active")
            .map(|membership| membership.role),
        outside_collaborator: outside
            .is_some_and(|outside| outside.contains(&login.to_lowercase())),
        ..Requester::default()
    };
    for repository in &request.repositories {
        match client.repository_permission(org, repository, login).await {
            Ok(permission) => {
                requester.repository_permissions.insert(
                    repository.clone(),
                    permission.unwrap_or_else(|| "none".to_string()),
                );
            }
            Err(error) if error.is_transient() => return Err(error),
            Err(_) => {}
        }
    }
    // Teams matter only to a request for organization permissions.
    if !request.permissions.organization.is_empty() {
        for team in teams {
            match client.team_membership(org, team, login).await {
                Ok(Some(membership)) if membership.state == "active" => {
                    requester.teams.push(team.clone())
                }
                Ok(_) => {}
                Err(error) if error.is_transient() => return Err(error),
                Err(_) => {}
            }
        }
    }
    Ok(Some(requester))
}
