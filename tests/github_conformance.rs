//! The GitHub stand-in held to GitHub's own published description of its API: every answer
//! on every route patdesk uses (and what patdesk sends on them) checked against npm
//! `@octokit/openapi`, and the webhook payloads the tests deliver against
//! `@octokit/openapi-webhooks` (both pinned, installed by `scripts/github-openapi`). A
//! stand-in that drifted from GitHub would let patdesk pass against something GitHub is not.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use patdesk::github::Ruling;
use serde_json::{Value, json};

use common::dates::days_from_start;
use common::github_desk::{Desk, org_with, runtime};
use common::hookshot::token_request_event;
use common::standin::{Standin, grant_for, pending};

/// Runs the check on `items` (exchanges and payloads): whether all conform, and what it said.
fn conformance(items: &[Value]) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/openapi-conformance");
    let mut child = Command::new(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    for item in items {
        writeln!(stdin, "{item}").expect("write");
    }
    drop(stdin);
    let output = child.wait_with_output().expect("runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[test]
fn every_answer_on_every_route_patdesk_uses_is_as_github_describes_it() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![
        pending(1, "carol", "reader carol", None),
        pending(2, "dana", "reader dana", purpose),
    ];
    let approved = pending(3, "erin", "reader erin", purpose);
    let mut org = org_with(&requests, "acme-corp");
    org["grants"] = json!([grant_for(&approved, 900, &days_from_start(30))]);
    org["members"] = json!({ "carol": "member" });
    org["outside_collaborators"] = json!(["olga"]);
    org["repository_permissions"] = json!({ "acme-corp/api": { "carol": "write" } });
    org["teams"] = json!({ "platform": ["carol"] });
    let standin = Standin::start(
        &[("acme-corp", 11, org)],
        json!({ "carol": "carol@example.org" }),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = desk.client();
    standin.faults(json!({ "record_answers": true }));

    let org = "acme-corp";
    runtime().block_on(async {
        client.check_sign_in(org).await.expect("sign in");
        assert_eq!(
            client.pending_requests(org).await.expect("pending").len(),
            2
        );
        assert_eq!(
            client.request_repositories(org, 1).await.expect("repos"),
            ["acme-corp/api"]
        );
        assert_eq!(client.grants(org).await.expect("grants").len(), 1);
        assert!(
            client
                .membership(org, "carol")
                .await
                .expect("member")
                .is_some()
        );
        assert!(
            client
                .membership(org, "nobody")
                .await
                .expect("not")
                .is_none()
        );
        assert!(
            client
                .team_membership(org, "platform", "carol")
                .await
                .expect("team")
                .is_some()
        );
        assert_eq!(
            client.outside_collaborators(org).await.expect("outside"),
            ["olga"]
        );
        assert_eq!(
            client
                .repository_permission(org, "acme-corp/api", "carol")
                .await
                .expect("permission")
                .as_deref(),
            Some("write")
        );
        assert_eq!(
            client
                .public_email(org, "carol")
                .await
                .expect("user")
                .as_deref(),
            Some("carol@example.org")
        );
        client
            .decide(org, 1, Ruling::Approve, Some("reads issues only"))
            .await
            .expect("approve");
        client
            .decide(org, 2, Ruling::Deny, None)
            .await
            .expect("deny");
        client.revoke(org, 900).await.expect("revoke");
        // What GitHub answers to a request no longer pending, and a token no longer granted.
        assert!(client.decide(org, 1, Ruling::Deny, None).await.is_err());
        assert!(client.revoke(org, 900).await.is_err());
    });

    let answers = standin.answers();
    let seen: BTreeSet<String> = answers
        .iter()
        .map(|answer| format!("{} {}", answer["method"], answer["route"]).replace('"', ""))
        .collect();
    for route in [
        "POST /app/installations/{installation_id}/access_tokens",
        "GET /orgs/{org}/personal-access-token-requests",
        "GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories",
        "POST /orgs/{org}/personal-access-token-requests/{pat_request_id}",
        "GET /orgs/{org}/personal-access-tokens",
        "POST /orgs/{org}/personal-access-tokens/{pat_id}",
        "GET /orgs/{org}/memberships/{username}",
        "GET /orgs/{org}/teams/{team_slug}/memberships/{username}",
        "GET /orgs/{org}/outside_collaborators",
        "GET /repos/{owner}/{repo}/collaborators/{username}/permission",
        "GET /users/{username}",
    ] {
        assert!(seen.contains(route), "{route} not exercised: {seen:?}");
    }

    let mut items = answers;
    for action in ["created", "approved", "denied", "cancelled"] {
        let payload: Value =
            serde_json::from_slice(&token_request_event(action, org, 7, "reader dave"))
                .expect("JSON");
        items.push(json!({
            "webhook": format!("personal-access-token-request-{action}"),
            "payload": payload,
        }));
    }
    let (conforms, said) = conformance(&items);
    assert!(
        conforms,
        "the stand-in or a payload differs from GitHub's description:\n{said}"
    );
    assert!(
        said.contains(&format!("checked {}, 0 mismatch", items.len())),
        "each one checked: {said}"
    );
}

/// The check itself can fail: a membership without its organisation, a pending request whose
/// owner lacks GitHub's required fields, a status GitHub does not document, each named by
/// route and field.
#[test]
fn a_mismatch_is_named_by_route_status_and_field() {
    let items = [
        json!({
            "method": "GET", "route": "/orgs/{org}/memberships/{username}", "status": 200,
            "request": null,
            "response": { "role": "member", "state": "active" },
        }),
        json!({
            "method": "GET", "route": "/orgs/{org}/personal-access-token-requests", "status": 200,
            "request": null,
            "response": [pending(1, "carol", "reader carol", None)],
        }),
        json!({
            "method": "POST",
            "route": "/orgs/{org}/personal-access-token-requests/{pat_request_id}",
            "status": 418, "request": { "action": "approve" }, "response": null,
        }),
    ];
    let (conforms, said) = conformance(&items);
    assert!(!conforms, "{said}");
    assert!(
        said.contains("GET /orgs/{org}/memberships/{username} 200: at (the whole body): 'organization' is a required property"),
        "{said}"
    );
    assert!(
        said.contains("GET /orgs/{org}/personal-access-token-requests 200: at 0.owner: 'node_id' is a required property"),
        "{said}"
    );
    assert!(
        said.contains("418: GitHub does not document this status"),
        "{said}"
    );
}
