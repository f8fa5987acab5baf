//! The permissions a token asks for: each checked against what GitHub documents, what the
//! policy counts as high or critical, and what the purpose says the token will do.

use super::{Finding, ReviewPolicy, Severity, capitalised, finding, words_of};
use crate::request::{Access, RepositorySelection, Scope, TokenRequest};

/// Permission slugs GitHub documents. Others are reported, never dropped.
pub const KNOWN_REPOSITORY: &[&str] = &[
    "actions",
    "administration",
    "artifact_metadata",
    "attestations",
    "checks",
    "codespaces",
    "contents",
    "dependabot_secrets",
    "deployments",
    "discussions",
    "environments",
    "issues",
    "merge_queues",
    "metadata",
    "packages",
    "pages",
    "pull_requests",
    "repository_custom_properties",
    "repository_hooks",
    "repository_projects",
    "secret_scanning_alerts",
    "secrets",
    "security_events",
    "statuses",
    "vulnerability_alerts",
    "workflows",
];
pub const KNOWN_ORGANIZATION: &[&str] = &[
    "custom_properties_for_organizations",
    "members",
    "organization_administration",
    "organization_custom_roles",
    "organization_custom_org_roles",
    "organization_custom_properties",
    "organization_copilot_seat_management",
    "organization_announcement_banners",
    "organization_events",
    "organization_hooks",
    "organization_personal_access_tokens",
    "organization_personal_access_token_requests",
    "organization_plan",
    "organization_projects",
    "organization_packages",
    "organization_secrets",
    "organization_self_hosted_runners",
    "organization_user_blocking",
    "team_discussions",
];
pub const KNOWN_ACCOUNT: &[&str] = &[
    "email_addresses",
    "followers",
    "git_ssh_keys",
    "gpg_keys",
    "interaction_limits",
    "profile",
    "starring",
];

/// Words that say a purpose only reads, and words that say it changes something.
const READ_WORDS: &[&str] = &[
    "read",
    "reads",
    "reading",
    "list",
    "lists",
    "view",
    "views",
    "report",
    "reports",
    "reporting",
    "monitor",
    "monitors",
    "fetch",
    "fetches",
    "download",
    "downloads",
    "audit",
    "scan",
    "scans",
    "query",
    "queries",
    "dashboard",
    "metrics",
    "inventory",
    "backup",
    "backups",
    "mirror",
    "clone",
];
const WRITE_WORDS: &[&str] = &[
    "write",
    "writes",
    "push",
    "pushes",
    "create",
    "creates",
    "update",
    "updates",
    "delete",
    "deletes",
    "publish",
    "publishes",
    "release",
    "releases",
    "deploy",
    "deploys",
    "comment",
    "comments",
    "label",
    "labels",
    "merge",
    "merges",
    "open",
    "opens",
    "post",
    "posts",
    "upload",
    "uploads",
    "modify",
    "change",
    "changes",
    "manage",
    "sync",
    "syncs",
    "commit",
    "commits",
    "tag",
    "tags",
    "approve",
    "close",
    "closes",
    "edit",
    "edits",
    "set",
    "sets",
];

pub(super) fn permissions(
    request: &TokenRequest,
    policy: &ReviewPolicy,
    findings: &mut Vec<Finding>,
) {
    let all_repositories = request.repository_selection == RepositorySelection::All;
    let repository = &request.permissions.repository;
    let access_of = |slug: &str| repository.get(slug);

    for (scope, slug, access) in request.permissions.iter() {
        let known = match scope {
            Scope::Organization => KNOWN_ORGANIZATION,
            Scope::Repository => KNOWN_REPOSITORY,
            Scope::Account => KNOWN_ACCOUNT,
        };
        if !known.contains(&slug) {
            findings.push(finding(
                "unknown_permission",
                Severity::Medium,
                format!(
                    "The {} permission {slug} ({}) is not one patdesk knows, so it cannot grade it.",
                    scope.as_str(),
                    access.as_str()
                ),
                "An engineer should check what this permission allows before deciding.",
            ));
            continue;
        }
        if access.writes()
            && policy
                .critical_when_write
                .iter()
                .any(|critical| critical == slug)
        {
            findings.push(finding(
                "critical_permission",
                Severity::Critical,
                format!(
                    "{} {slug}: {} lets the token {}.",
                    capitalised(scope.as_str()),
                    access.as_str(),
                    effect_of(slug)
                ),
                format!("Drop {slug}, or ask for read access if reading is enough; for lasting automation, a GitHub App is the safer tool."),
            ));
        } else if policy
            .high_when_read
            .iter()
            .any(|sensitive| sensitive == slug)
        {
            findings.push(finding(
                "sensitive_read",
                Severity::High,
                format!(
                    "{} {slug}: even reading it shows unfixed security problems an attacker could use.",
                    capitalised(scope.as_str())
                ),
                format!("Drop {slug} unless the purpose needs it, and limit the token to the repositories concerned."),
            ));
        }
    }

    if let Some(contents) = access_of("contents") {
        if contents.writes() {
            findings.push(finding(
                "contents_write",
                Severity::High,
                format!(
                    "Contents {}: the token can push code{}.",
                    contents.as_str(),
                    if all_repositories { " to every repository" } else { "" }
                ),
                "Limit the token to the repositories it must change, or ask for read access if it only reads.",
            ));
            if access_of("pull_requests").is_some_and(Access::writes) {
                findings.push(finding(
                    "contents_and_pull_requests_write",
                    Severity::High,
                    "Contents and pull requests write together let the token push code and open or merge its own pull requests: a path around review.".to_string(),
                    "Ask for only one of the two, or keep branch protection with required reviews on the repositories concerned.",
                ));
            }
        } else if all_repositories {
            findings.push(finding(
                "contents_read_all",
                Severity::High,
                format!(
                    "The token can read the code of every repository of {}.",
                    request.org
                ),
                "Select only the repositories whose code the token must read.",
            ));
        }
    }
    for slug in ["pages", "deployments"] {
        if let Some(access) = access_of(slug).filter(|access| access.writes()) {
            findings.push(finding(
                "publishing_write",
                Severity::High,
                format!("Repository {slug}: {} lets the token change what is published or deployed.", access.as_str()),
                format!("Drop {slug} write unless publishing is the purpose, and limit the repositories."),
            ));
        }
    }

    if let Some(purpose) = request.stated_purpose() {
        let words = words_of(purpose);
        let reads = words.iter().any(|word| READ_WORDS.contains(&word.as_str()));
        let changes = words
            .iter()
            .any(|word| WRITE_WORDS.contains(&word.as_str()));
        let writing: Vec<&str> = request
            .permissions
            .iter()
            .filter(|(_, slug, access)| access.writes() && *slug != "metadata")
            .map(|(_, slug, _)| slug)
            .collect();
        if reads && !changes && !writing.is_empty() {
            findings.push(finding(
                "write_beyond_purpose",
                Severity::Medium,
                format!(
                    "The purpose only reads, but the token asks to write: {}.",
                    writing.join(", ")
                ),
                "Ask for read access only, or explain in the purpose what the token changes.",
            ));
        }
    }
}

/// What a critical permission lets a token do, for the finding's sentence.
fn effect_of(slug: &str) -> &'static str {
    match slug {
        "administration" => "change repository settings, branch protection and collaborators",
        "workflows" => "change GitHub Actions workflows, which run with the repository's secrets",
        "secrets" | "organization_secrets" | "dependabot_secrets" => {
            "create and overwrite secrets used by automation"
        }
        "environments" => "change deployment environments and their protection rules",
        "actions" => "start, cancel and change Actions runs and their artifacts",
        "repository_hooks" | "organization_hooks" => "send the repository's events to any address",
        "organization_administration" => "change the organisation's settings",
        "members" => "add and remove members and teams",
        "organization_self_hosted_runners" => "register machines that run the organisation's jobs",
        "organization_personal_access_tokens" | "organization_personal_access_token_requests" => {
            "approve or revoke other tokens"
        }
        "git_ssh_keys" | "gpg_keys" => "add keys that sign in or sign commits as the owner",
        "email_addresses" => "change the owner's email addresses",
        _ => "change security-sensitive settings",
    }
}
