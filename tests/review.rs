//! The least-privilege rules, one behaviour per test.

mod common;

use jiff::{SignedDuration, Timestamp};
use patdesk::request::{Access, RepositorySelection};
use patdesk::review::{Review, ReviewPolicy, Risk, Severity, review};

use common::builders::RequestBuilder;

fn now() -> Timestamp {
    common::builders::requested_at() + SignedDuration::from_hours(1)
}

fn reviewed(builder: RequestBuilder) -> Review {
    review(&builder.token_request(), &ReviewPolicy::default(), now())
}

fn codes(review: &Review) -> Vec<&str> {
    review
        .findings
        .iter()
        .map(|finding| finding.code.as_str())
        .collect()
}

fn has(review: &Review, code: &str) -> bool {
    codes(review).contains(&code)
}

#[test]
fn a_tidy_request_is_low_risk_with_nothing_to_say() {
    let review = reviewed(RequestBuilder::tidy());
    assert_eq!(review.findings, vec![], "{:?}", codes(&review));
    assert_eq!(review.risk, Risk::Low);
}

#[test]
fn every_finding_says_why_and_what_would_meet_the_policy() {
    let review = reviewed(
        RequestBuilder::tidy()
            .all_repositories()
            .permission("repository", "workflows", "write")
            .no_expiry()
            .purpose(None),
    );
    assert!(review.findings.len() >= 4);
    for finding in &review.findings {
        assert!(finding.why.ends_with('.'), "{finding:?}");
        assert!(!finding.remedy.is_empty(), "{finding:?}");
    }
}

#[test]
fn all_repositories_needs_a_large_scope_justification() {
    let review = reviewed(RequestBuilder::tidy().all_repositories());
    assert!(has(&review, "all_repositories"));
    assert_eq!(review.risk, Risk::Medium);
}

#[test]
fn write_to_a_critical_permission_is_critical_but_reading_it_is_not() {
    let writes = reviewed(RequestBuilder::tidy().permission("repository", "workflows", "write"));
    assert!(has(&writes, "critical_permission"));
    assert_eq!(writes.risk, Risk::Critical);
    let why = &writes.findings[0].why;
    assert!(
        why.contains("workflows") && why.contains("secrets"),
        "{why}"
    );

    let reads = reviewed(RequestBuilder::tidy().permission("repository", "administration", "read"));
    assert!(!has(&reads, "critical_permission"), "{:?}", codes(&reads));

    let org = reviewed(RequestBuilder::tidy().permission("organization", "members", "write"));
    assert!(has(&org, "critical_permission"));
}

#[test]
fn an_unknown_access_level_counts_as_writing() {
    assert!(Access::parse("maintain").writes());
    let review = reviewed(RequestBuilder::tidy().permission("repository", "secrets", "maintain"));
    assert!(has(&review, "critical_permission"));
}

#[test]
fn contents_write_is_high() {
    let contents = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "contents", "write")
            .purpose(Some(
                "Publishes release notes into docs/ of acme-corp/api every week",
            )),
    );
    assert!(has(&contents, "contents_write"));
    assert!(!has(&contents, "contents_and_pull_requests_write"));
    assert_eq!(contents.risk, Risk::High);
}

/// With both, a token can open a pull request and merge it: review is gone round.
#[test]
fn contents_and_pull_requests_write_is_a_path_around_review() {
    let both = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "contents", "write")
            .permission("repository", "pull_requests", "write"),
    );
    assert!(has(&both, "contents_and_pull_requests_write"));
}

#[test]
fn reading_all_code_or_security_alerts_is_high() {
    let code = reviewed(RequestBuilder::tidy().all_repositories().permission(
        "repository",
        "contents",
        "read",
    ));
    assert!(has(&code, "contents_read_all"));
    let alerts =
        reviewed(RequestBuilder::tidy().permission("repository", "security_events", "read"));
    assert!(has(&alerts, "sensitive_read"));
    assert_eq!(alerts.risk, Risk::High);
}

#[test]
fn writing_pages_or_deployments_is_high() {
    let review = reviewed(RequestBuilder::tidy().permission("repository", "deployments", "write"));
    assert!(has(&review, "publishing_write"));
}

#[test]
fn write_beyond_a_purpose_that_only_reads() {
    let reads_only = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "issues", "write")
            .purpose(Some("Reads issues of acme-corp/api for the weekly report")),
    );
    assert!(
        has(&reads_only, "write_beyond_purpose"),
        "{:?}",
        codes(&reads_only)
    );

    let says_it_changes = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "issues", "write")
            .purpose(Some(
                "Reads issues of acme-corp/api and sets labels on them",
            )),
    );
    assert!(!has(&says_it_changes, "write_beyond_purpose"));
}

#[test]
fn expiry_none_beyond_the_limit_or_within_it() {
    let never = reviewed(RequestBuilder::tidy().no_expiry());
    assert!(has(&never, "no_expiry"));
    assert_eq!(
        never
            .findings
            .iter()
            .find(|f| f.code == "no_expiry")
            .map(|f| f.severity),
        Some(Severity::High)
    );

    let long = reviewed(RequestBuilder::tidy().expires_in_days(400));
    assert!(has(&long, "expiry_beyond_limit"));
    assert!(
        long.findings
            .iter()
            .any(|f| f.why.contains("400 days") && f.why.contains("366"))
    );

    let fine = reviewed(RequestBuilder::tidy().expires_in_days(300));
    assert!(!has(&fine, "expiry_beyond_limit"));

    let strict = ReviewPolicy {
        max_expiry_days: 90,
        ..ReviewPolicy::default()
    };
    let strict_review = review(
        &RequestBuilder::tidy().expires_in_days(100).token_request(),
        &strict,
        now(),
    );
    assert!(has(&strict_review, "expiry_beyond_limit"));
}

#[test]
fn unclear_token_names() {
    let generic = reviewed(RequestBuilder::tidy().token_name(Some("My Token")));
    assert!(has(&generic, "generic_token_name"));
    let short = reviewed(RequestBuilder::tidy().token_name(Some("ab")));
    assert!(has(&short, "short_token_name"));
    let unrelated = reviewed(RequestBuilder::tidy().token_name(Some("zebra-crossing")));
    assert!(has(&unrelated, "token_name_unrelated"));
    // "reader" and "reads" share a stem: the tidy request's name relates to its purpose.
    let related = reviewed(RequestBuilder::tidy());
    assert!(!has(&related, "token_name_unrelated"));
}

#[test]
fn a_missing_or_too_short_purpose() {
    let missing = reviewed(RequestBuilder::tidy().purpose(None));
    assert!(has(&missing, "purpose_missing"));
    let short = reviewed(RequestBuilder::tidy().purpose(Some("CI")));
    assert!(has(&short, "purpose_too_short"));
    // GitHub's own reason counts when nothing else was obtained.
    let from_github = reviewed(
        RequestBuilder::tidy()
            .purpose(None)
            .github_reason(Some("Reads issues of acme-corp/api for the weekly report")),
    );
    assert!(!has(&from_github, "purpose_missing"));
}

#[test]
fn an_incomplete_request_says_what_is_missing() {
    let review = reviewed(
        RequestBuilder::tidy()
            .token_name(None)
            .selection(RepositorySelection::Subset, &[])
            .clear_permissions(),
    );
    let incomplete = review
        .findings
        .iter()
        .find(|finding| finding.code == "incomplete_request")
        .expect("reported");
    for missing in ["name", "permission", "repositories"] {
        assert!(incomplete.why.contains(missing), "{}", incomplete.why);
    }
}

#[test]
fn an_unknown_permission_slug_is_reported() {
    let request = RequestBuilder::tidy()
        .permission("repository", "quantum_teleport", "write")
        .token_request();
    let review = review(&request, &ReviewPolicy::default(), now());
    let unknown = review
        .findings
        .iter()
        .find(|finding| finding.code == "unknown_permission")
        .expect("reported");
    assert!(unknown.why.contains("quantum_teleport"));
}

#[test]
fn an_unknown_permission_slug_is_kept_in_the_record() {
    let request = RequestBuilder::tidy()
        .permission("repository", "quantum_teleport", "write")
        .token_request();
    assert!(
        request
            .permissions
            .summary()
            .contains("quantum_teleport=write")
    );
}

#[test]
fn amplifiers_raise_a_risky_permission_one_level() {
    // contents write is high; on every repository, for ever, it becomes critical.
    let amplified = reviewed(
        RequestBuilder::tidy()
            .all_repositories()
            .no_expiry()
            .permission("repository", "contents", "write")
            .purpose(Some(
                "Publishes release notes into docs/ of every repository",
            )),
    );
    assert_eq!(amplified.risk, Risk::Critical, "{:?}", codes(&amplified));

    let one_amplifier = reviewed(
        RequestBuilder::tidy()
            .no_expiry()
            .permission("repository", "contents", "write")
            .purpose(Some("Publishes release notes into docs/ of acme-corp/api")),
    );
    assert_eq!(one_amplifier.risk, Risk::High);
}

#[test]
fn configured_lists_change_the_grading() {
    let policy = ReviewPolicy {
        critical_when_write: vec!["issues".to_string()],
        ..ReviewPolicy::default()
    };
    let request = RequestBuilder::tidy()
        .permission("repository", "issues", "write")
        .purpose(Some("Sets labels on issues of acme-corp/api"))
        .token_request();
    assert_eq!(review(&request, &policy, now()).risk, Risk::Critical);
    assert_eq!(
        review(&request, &ReviewPolicy::default(), now()).risk,
        Risk::Low
    );
}

fn requester(
    role: Option<&str>,
    outside: bool,
    permissions: &[(&str, &str)],
) -> patdesk::request::Requester {
    patdesk::request::Requester {
        org_role: role.map(str::to_string),
        outside_collaborator: outside,
        repository_permissions: permissions
            .iter()
            .map(|(repo, own)| (repo.to_string(), own.to_string()))
            .collect(),
        teams: Vec::new(),
    }
}

#[test]
fn a_member_asking_within_their_own_access_is_fine() {
    let review = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "issues", "write")
            .purpose(Some("Sets labels on issues of acme-corp/api"))
            .requester(requester(
                Some("member"),
                false,
                &[("acme-corp/api", "write")],
            )),
    );
    assert_eq!(review.findings, vec![], "{:?}", codes(&review));
}

#[test]
fn an_outside_collaborator_is_flagged_high() {
    let outside = reviewed(RequestBuilder::tidy().requester(requester(None, true, &[])));
    assert!(has(&outside, "outside_collaborator") && !has(&outside, "not_a_member"));
    assert_eq!(outside.risk, Risk::High);
}

#[test]
fn a_requester_who_is_not_a_member_is_flagged() {
    let stranger = reviewed(RequestBuilder::tidy().requester(requester(None, false, &[])));
    assert!(has(&stranger, "not_a_member"));
}

#[test]
fn writing_where_the_owner_cannot_is_flagged() {
    let review = reviewed(
        RequestBuilder::tidy()
            .permission("repository", "issues", "write")
            .purpose(Some("Sets labels on issues of acme-corp/api"))
            .requester(requester(
                Some("member"),
                false,
                &[("acme-corp/api", "read")],
            )),
    );
    let finding = review
        .findings
        .iter()
        .find(|f| f.code == "write_beyond_own_access")
        .expect("flagged");
    assert!(finding.why.contains("acme-corp/api"), "{}", finding.why);
}

#[test]
fn an_org_wide_scope_needs_someone_who_administers_some_of_it() {
    let member = reviewed(
        RequestBuilder::tidy()
            .all_repositories()
            .requester(requester(Some("member"), false, &[])),
    );
    assert!(has(&member, "org_wide_without_admin"));
    let owner = reviewed(
        RequestBuilder::tidy()
            .all_repositories()
            .requester(requester(Some("admin"), false, &[])),
    );
    assert!(!has(&owner, "org_wide_without_admin"));
    // Unknown standing (GitHub would not say) raises nothing.
    assert!(!has(
        &reviewed(RequestBuilder::tidy().all_repositories()),
        "org_wide_without_admin"
    ));
}

#[test]
fn organization_permissions_can_be_kept_to_configured_teams() {
    let policy = ReviewPolicy {
        org_permission_teams: vec!["platform".to_string()],
        ..ReviewPolicy::default()
    };
    let asks = |teams: &[&str]| {
        let mut standing = requester(Some("member"), false, &[]);
        standing.teams = teams.iter().map(|team| team.to_string()).collect();
        RequestBuilder::tidy()
            .permission("organization", "members", "read")
            .requester(standing)
            .token_request()
    };
    let outsider = review(&asks(&[]), &policy, now());
    let finding = outsider
        .findings
        .iter()
        .find(|finding| finding.code == "org_permission_outside_teams")
        .expect("flagged");
    assert!(
        finding.why.contains("members") && finding.why.contains("platform"),
        "{}",
        finding.why
    );
    assert!(!has(
        &review(&asks(&["platform"]), &policy, now()),
        "org_permission_outside_teams"
    ));
    // Without configured teams anyone may ask.
    assert!(!has(
        &review(&asks(&[]), &ReviewPolicy::default(), now()),
        "org_permission_outside_teams"
    ));
}
