//! The floor beneath any policy: what always goes to a person, whatever the team's policy
//! says. It is patdesk's, not the policy's, so no policy file can lower it.

use jiff::Timestamp;

use crate::request::{
    Access, Permissions, PurposeSource, RepositorySelection, RequestState, Requester, TokenRequest,
};
use crate::review::{Risk, Severity};
use crate::store::{RequestRecord, Stored};

/// Why `record` must go to a person, or `None` when the policy may decide it:
/// - patdesk's own review found something high or critical (or rates it so);
/// - it asks for an admin-level permission, administration of repositories, or any write to
///   the organisation.
pub fn holds(record: &RequestRecord) -> Option<Vec<String>> {
    let mut reasons: Vec<String> = record
        .findings
        .iter()
        .filter(|finding| finding.severity >= Severity::High)
        .map(|finding| {
            format!(
                "patdesk's review found it {}: {}",
                finding.severity.as_str(),
                finding.why
            )
        })
        .collect();
    if reasons.is_empty() && record.risk >= Risk::High {
        reasons.push(format!("patdesk rates it {} risk", record.risk.as_str()));
    }
    let permissions = &record.request.permissions;
    for (group, map) in [
        ("repository", &permissions.repository),
        ("organization", &permissions.organization),
        ("account", &permissions.other),
    ] {
        for (slug, access) in map {
            let admin_level = *access == Access::Admin
                || (slug == "administration" && access.writes())
                || (group == "organization" && access.writes());
            if admin_level {
                reasons.push(format!(
                    "it asks for {group} permission {slug}={}: admin-level or writing to the organisation",
                    access.as_str()
                ));
            }
        }
    }
    (!reasons.is_empty()).then_some(reasons)
}

/// An ordinary request (read access to one repository, a month to run, its purpose given),
/// for checking that a policy can answer at all.
pub fn sample_request() -> RequestRecord {
    let at = Timestamp::UNIX_EPOCH;
    RequestRecord {
        id: 1,
        github_request_id: 1,
        token_id: Some(1),
        owner_email: Some("dev@example.org".to_string()),
        request: TokenRequest {
            org: "example-org".to_string(),
            token_name: Some("docs-reader".to_string()),
            owner_login: "dev".to_string(),
            repository_selection: RepositorySelection::Subset,
            repositories: vec!["example-org/docs".to_string()],
            permissions: Permissions {
                repository: [
                    ("contents".to_string(), Access::Read),
                    ("metadata".to_string(), Access::Read),
                ]
                .into_iter()
                .collect(),
                ..Permissions::default()
            },
            token_expires_at: Some(at),
            requested_at: at,
            github_reason: None,
            purpose: Some("Builds the documentation site from example-org/docs.".to_string()),
            requester: Some(Requester {
                org_role: Some("member".to_string()),
                ..Requester::default()
            }),
        },
        purpose_source: Some(Stored::Known(PurposeSource::RequesterMail)),
        state: RequestState::InReview,
        risk: Risk::Low,
        findings: Vec::new(),
        recorded_at: at,
        updated_at: at,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        revoked_by: None,
        revoked_at: None,
        revoke_reason: None,
        revoke_note: None,
        grant_id: None,
        token_last_used_at: None,
        stale_since: None,
        grant_until: None,
    }
}

/// Requests of the kinds a policy meets, named, for `patdesk policy test`: the easy case, and
/// one each of what a policy should refuse or leave to a person.
pub fn samples() -> Vec<(&'static str, RequestRecord)> {
    let ordinary = sample_request();
    let mut no_expiry = sample_request();
    no_expiry.request.token_expires_at = None;
    let mut all_repositories = sample_request();
    all_repositories.request.repository_selection = RepositorySelection::All;
    all_repositories.request.repositories.clear();
    let mut writes_code = sample_request();
    writes_code
        .request
        .permissions
        .repository
        .insert("contents".to_string(), Access::Write);
    writes_code.risk = Risk::Medium;
    let mut organisation_admin = sample_request();
    organisation_admin
        .request
        .permissions
        .organization
        .insert("members".to_string(), Access::Write);
    let mut no_purpose = sample_request();
    no_purpose.request.purpose = None;
    no_purpose.purpose_source = None;
    let mut outsider = sample_request();
    outsider.risk = Risk::High;
    outsider.findings.push(crate::review::Finding {
        code: "not_a_member".to_string(),
        severity: Severity::High,
        why: "dev is not a member of example-org".to_string(),
        remedy: "ask an owner to invite them first".to_string(),
    });
    vec![
        ("read one repository, purpose given", ordinary),
        ("never expires", no_expiry),
        ("every repository of the org", all_repositories),
        ("writes code", writes_code),
        ("writes the organisation's members", organisation_admin),
        ("no purpose known", no_purpose),
        ("requester outside the org", outsider),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::Finding;

    #[test]
    fn an_ordinary_request_may_be_decided_by_a_policy() {
        assert_eq!(holds(&sample_request()), None);
    }

    #[test]
    fn high_findings_admin_and_organisation_writes_go_to_a_person() {
        let mut high = sample_request();
        high.findings.push(Finding {
            code: "not_a_member".to_string(),
            severity: Severity::High,
            why: "dev is not a member".to_string(),
            remedy: "join".to_string(),
        });
        assert!(holds(&high).is_some_and(|reasons| reasons[0].contains("not a member")));
        for (group, slug, access) in [
            ("repository", "administration", Access::Write),
            ("repository", "contents", Access::Admin),
            ("organization", "members", Access::Write),
            (
                "organization",
                "custom_properties",
                Access::Other("admin".to_string()),
            ),
        ] {
            let mut record = sample_request();
            let map = match group {
                "organization" => &mut record.request.permissions.organization,
                _ => &mut record.request.permissions.repository,
            };
            map.insert(slug.to_string(), access);
            assert!(holds(&record).is_some(), "{group} {slug}");
        }
        let mut reads_org = sample_request();
        reads_org
            .request
            .permissions
            .organization
            .insert("members".to_string(), Access::Read);
        assert_eq!(
            holds(&reads_org),
            None,
            "reading the organisation is not writing it"
        );
    }
}
