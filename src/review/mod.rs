//! Least-privilege rules: a token request in, findings and an overall risk out.
//!
//! These are the runbook's "Validating the Request" checks — scope, permissions, expiry, token
//! name, completeness — with the usual grading of token risk. Each finding says why it matters and
//! what the requester could change to meet the policy, because a denial must tell them that.
//! Pure: no network, no database.

mod permissions;

use permissions::permissions;
pub use permissions::{KNOWN_ACCOUNT, KNOWN_ORGANIZATION, KNOWN_REPOSITORY};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::config::ReviewPolicy;
use crate::request::{Access, RepositorySelection, TokenRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The overall risk of granting a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub const ALL: [Risk; 4] = [Risk::Low, Risk::Medium, Risk::High, Risk::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }

    fn of(severity: Severity) -> Risk {
        match severity {
            Severity::Info | Severity::Low => Risk::Low,
            Severity::Medium => Risk::Medium,
            Severity::High => Risk::High,
            Severity::Critical => Risk::Critical,
        }
    }

    fn raised(self) -> Risk {
        match self {
            Risk::Low => Risk::Medium,
            Risk::Medium => Risk::High,
            Risk::High | Risk::Critical => Risk::Critical,
        }
    }
}

impl std::str::FromStr for Risk {
    type Err = crate::request::UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Risk::ALL
            .into_iter()
            .find(|risk| risk.as_str() == text)
            .ok_or_else(|| {
                crate::request::UnknownValue::new("risk", text, Risk::ALL.map(Risk::as_str))
            })
    }
}

/// One thing the review found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable, for scripts and the records sheet: `critical_permission`, `no_expiry`, …
    pub code: String,
    pub severity: Severity,
    /// Why it matters, in a sentence.
    pub why: String,
    /// What the requester could change to meet the policy.
    pub remedy: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub risk: Risk,
    pub findings: Vec<Finding>,
}

/// Reviews a request against the policy. `now` decides whether the token has already expired.
pub fn review(request: &TokenRequest, policy: &ReviewPolicy, now: Timestamp) -> Review {
    let mut findings = Vec::new();
    scope(request, &mut findings);
    let permission_findings_from = findings.len();
    permissions(request, policy, &mut findings);
    let permission_severity = findings[permission_findings_from..]
        .iter()
        .map(|finding| finding.severity)
        .max();
    let expiry_amplifies = expiry(request, policy, now, &mut findings);
    token_name(request, policy, &mut findings);
    let purpose_missing = purpose(request, policy, &mut findings);
    authority(request, policy, &mut findings);
    completeness(request, &mut findings);

    let mut risk = findings
        .iter()
        .map(|finding| Risk::of(finding.severity))
        .max()
        .unwrap_or(Risk::Low);
    // The amplifiers: a risky permission is worse on every repository, for ever,
    // for a reason nobody gave. Two of them together raise the risk one level.
    let amplifiers = [
        request.repository_selection == RepositorySelection::All,
        expiry_amplifies,
        purpose_missing,
    ]
    .into_iter()
    .filter(|&present| present)
    .count();
    if permission_severity.is_some_and(|severity| severity >= Severity::Medium) && amplifiers >= 2 {
        risk = risk.max(Risk::of(permission_severity.unwrap_or(Severity::Info)).raised());
    }
    Review { risk, findings }
}

pub(super) fn finding(
    code: &str,
    severity: Severity,
    why: String,
    remedy: impl Into<String>,
) -> Finding {
    Finding {
        code: code.to_string(),
        severity,
        why,
        remedy: remedy.into(),
    }
}

fn scope(request: &TokenRequest, findings: &mut Vec<Finding>) {
    if request.repository_selection == RepositorySelection::All {
        findings.push(finding(
            "all_repositories",
            Severity::Medium,
            format!(
                "The token reaches every repository of {}, including ones created later.",
                request.org
            ),
            "Select only the repositories the token needs; if it truly needs all of them, say why in the purpose.",
        ));
    }
}

/// Returns whether the expiry is an amplifier (none, or beyond the limit).
fn expiry(
    request: &TokenRequest,
    policy: &ReviewPolicy,
    now: Timestamp,
    findings: &mut Vec<Finding>,
) -> bool {
    let limit = policy.max_expiry_days;
    let Some(expires_at) = request.token_expires_at else {
        findings.push(finding(
            "no_expiry",
            Severity::High,
            "The token never expires: if it leaks, it works until someone notices.".to_string(),
            format!("Set an expiry of at most {limit} days; renew it when it is still needed."),
        ));
        return true;
    };
    let lifetime = expires_at.duration_since(request.requested_at);
    let limit_duration = SignedDuration::from_hours(i64::from(limit) * 24);
    if lifetime > limit_duration {
        findings.push(finding(
            "expiry_beyond_limit",
            Severity::Medium,
            format!(
                "The token lives {} days, beyond the organisation's limit of {limit}.",
                lifetime.as_hours() / 24
            ),
            format!("Set an expiry of at most {limit} days."),
        ));
        return true;
    }
    if expires_at <= now {
        findings.push(finding(
            "already_expired",
            Severity::Info,
            "The token has already expired.".to_string(),
            "Create a new token if access is still needed.",
        ));
    }
    false
}

fn token_name(request: &TokenRequest, policy: &ReviewPolicy, findings: &mut Vec<Finding>) {
    let Some(name) = request
        .token_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
    else {
        return; // Reported as incomplete.
    };
    let lower = name.to_lowercase();
    let remedy =
        "Name the token after the service or job it is for, e.g. \"release-pipeline api\".";
    if policy.generic_token_names.contains(&lower) {
        findings.push(finding(
            "generic_token_name",
            Severity::Low,
            format!("The token name \"{name}\" says nothing about what it is for."),
            remedy,
        ));
    } else if name.chars().count() < policy.min_token_name_chars as usize {
        findings.push(finding(
            "short_token_name",
            Severity::Low,
            format!("The token name \"{name}\" is too short to tell what it is for."),
            remedy,
        ));
    } else if let Some(purpose) = request.stated_purpose() {
        // A clear name shares a word with what it is for or what it reaches; words are
        // compared by their first four letters, so "reader" matches "reads".
        let mut context: Vec<String> = stems_of(purpose);
        for repository in &request.repositories {
            context.extend(stems_of(repository));
        }
        let related = stems_of(name).iter().any(|stem| context.contains(stem));
        if !related {
            findings.push(finding(
                "token_name_unrelated",
                Severity::Info,
                format!("The token name \"{name}\" has no word in common with its purpose or repositories."),
                remedy,
            ));
        }
    }
}

/// Returns whether the purpose is missing.
fn purpose(request: &TokenRequest, policy: &ReviewPolicy, findings: &mut Vec<Finding>) -> bool {
    match request.stated_purpose() {
        None => {
            findings.push(finding(
                "purpose_missing",
                Severity::Medium,
                "Nobody has said what the token is for, so its permissions cannot be judged against a need.".to_string(),
                "Reply with what the token will do, on which repositories, and for how long.",
            ));
            true
        }
        Some(purpose) if purpose.chars().count() < policy.min_purpose_chars as usize => {
            findings.push(finding(
                "purpose_too_short",
                Severity::Low,
                format!("The purpose \"{purpose}\" is too short to judge the permissions against."),
                "Say what the token will do, on which repositories, and for how long.",
            ));
            false
        }
        Some(_) => false,
    }
}

/// The requester's standing against what they ask for.
fn authority(request: &TokenRequest, policy: &ReviewPolicy, findings: &mut Vec<Finding>) {
    let Some(requester) = &request.requester else {
        return;
    };
    let owner = &request.owner_login;
    if requester.outside_collaborator {
        findings.push(finding(
            "outside_collaborator",
            Severity::High,
            format!(
                "{owner} is an outside collaborator of {}, not a member.",
                request.org
            ),
            "An owner should confirm the collaboration this token serves and how long it lasts.",
        ));
    } else if requester.org_role.is_none() {
        findings.push(finding(
            "not_a_member",
            Severity::High,
            format!("{owner} is not a member of {}.", request.org),
            "Ask the requester who sponsors their access before anything else.",
        ));
    }
    let repository_writes = request.permissions.repository.values().any(Access::writes);
    if repository_writes {
        let beyond: Vec<&str> = requester
            .repository_permissions
            .iter()
            .filter(|(_, own)| !matches!(own.as_str(), "admin" | "maintain" | "write"))
            .map(|(repository, _)| repository.as_str())
            .collect();
        if !beyond.is_empty() {
            findings.push(finding(
                "write_beyond_own_access",
                Severity::Medium,
                format!(
                    "The token asks to write to {}, where {owner} cannot write: it cannot do more than its owner, so the request is at best a mistake.",
                    beyond.join(", ")
                ),
                "Ask for read access there, or have a maintainer of those repositories request the token.",
            ));
        }
    }
    let org_permissions: Vec<&str> = request
        .permissions
        .organization
        .keys()
        .map(String::as_str)
        .collect();
    let in_allowed_team = requester
        .teams
        .iter()
        .any(|team| policy.org_permission_teams.contains(team));
    if !policy.org_permission_teams.is_empty() && !org_permissions.is_empty() && !in_allowed_team {
        findings.push(finding(
            "org_permission_outside_teams",
            Severity::Medium,
            format!(
                "{owner} asks for organization permissions ({}) but is in none of the teams allowed to: {}.",
                org_permissions.join(", "),
                policy.org_permission_teams.join(", ")
            ),
            format!(
                "Drop the organization permissions, or have a member of {} request them.",
                policy.org_permission_teams.join(" or ")
            ),
        ));
    }
    let administers = requester.org_role.as_deref() == Some("admin")
        || requester
            .repository_permissions
            .values()
            .any(|own| own == "admin");
    if request.repository_selection == RepositorySelection::All && !administers {
        findings.push(finding(
            "org_wide_without_admin",
            Severity::Medium,
            format!("{owner} asks for every repository of {} but administers none of it.", request.org),
            "Select the repositories the token needs, or have an organisation owner request org-wide access.",
        ));
    }
}

fn completeness(request: &TokenRequest, findings: &mut Vec<Finding>) {
    let mut missing = Vec::new();
    if request
        .token_name
        .as_deref()
        .is_none_or(|name| name.trim().is_empty())
    {
        missing.push("the token's name");
    }
    if request.permissions.is_empty() {
        missing.push("any permission");
    }
    if request.repository_selection == RepositorySelection::Subset
        && request.repositories.is_empty()
    {
        missing.push("the selected repositories");
    }
    if !missing.is_empty() {
        findings.push(finding(
            "incomplete_request",
            Severity::Medium,
            format!("The request does not say {}.", missing.join(" or ")),
            "Complete the request on GitHub, or tell us what is missing.",
        ));
    }
}

pub(super) fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The first four letters of each word of three letters or more.
fn stems_of(text: &str) -> Vec<String> {
    words_of(text)
        .into_iter()
        .filter(|word| word.chars().count() >= 3)
        .map(|word| word.chars().take(4).collect())
        .collect()
}

pub(super) fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}
