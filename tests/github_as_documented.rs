//! GitHub as its documentation says it behaves, not as the stand-in once made it easy: a
//! pending list that moves while it is read, secondary rate limits (a 403 or 429 with nothing
//! to say how long), a 403 that is a missing permission, lookups GitHub would not answer, and
//! API versions it does not take. The record never diverges from GitHub because of them.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use patdesk::github::{ClientOptions, GithubClient, GithubError};
use patdesk::request::RequestState;
use patdesk::store::{Delivery, EventKind, Store};
use patdesk::sync::{SyncError, SyncReport, push_decisions, sync_org};
use serde_json::{Value, json};

use common::github_desk::{Desk, many, org_with, runtime};
use common::standin::{Standin, grant_for, pending};

/// A client whose waits for secondary limits are short (GitHub's minute, in milliseconds).
fn patient_client(desk: &Desk) -> GithubClient {
    desk.client_with(ClientOptions {
        timeout: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
        secondary_limit_wait: Duration::from_millis(50),
        secondary_limit_waits: 2,
        ..ClientOptions::default()
    })
}

/// The stand-in serving `org` as acme-corp (installation 11), a desk against it, a client
/// with short waits, the desk's store and a runtime to sync with.
fn scene(org: Value) -> (Standin, Desk, GithubClient, Store, tokio::runtime::Runtime) {
    let standin = Standin::start(&[("acme-corp", 11, org)], json!({}));
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = patient_client(&desk);
    let store = desk.store();
    (standin, desk, client, store, runtime())
}

/// One sync of acme-corp.
fn sync(
    runtime: &tokio::runtime::Runtime,
    client: &GithubClient,
    store: &mut Store,
    desk: &Desk,
) -> Result<SyncReport, SyncError> {
    runtime.block_on(sync_org(client, store, "acme-corp", &desk.options()))
}

fn waits(client: &GithubClient) -> u64 {
    client
        .stats
        .rate_limit_waits
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// The events of kind `kind`, their details.
fn events_of(store: &Store, kind: &str) -> Vec<Value> {
    let mut statement = store
        .connection()
        .prepare("SELECT detail FROM events WHERE kind = ?1 ORDER BY seq")
        .expect("query");
    statement
        .query_map([kind], |row| row.get::<_, String>(0))
        .expect("rows")
        .map(|detail| serde_json::from_str(&detail.expect("row")).expect("JSON"))
        .collect()
}

/// 150 pending requests, two pages of 100 newest first. While the sync is between its pages,
/// the newest is cancelled on GitHub: request 50, once first on page two, moves up onto page
/// one, already read. It stays pending; the cancelled one is withdrawn once GitHub's listing
/// shows it gone.
#[test]
fn a_request_the_listing_missed_while_it_moved_stays_pending() {
    let requests = many(0, 150);
    let (standin, desk, client, mut store, runtime) = scene(org_with(&requests, "acme-corp"));
    let first = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(first.new, 150);

    standin.faults(json!({ "leave_after_pages": { "pages": 1, "ids": [150] } }));
    let second = sync(&runtime, &client, &mut store, &desk).expect("sync");
    // Page one held 150 to 51, read before 150 left; page two, read after, 49 to 1: request 50
    // was in neither, and is still pending.
    assert_eq!((second.pending, second.withdrawn), (149, 0), "{second}");
    assert!(
        desk.record_by_github_id(50).state.is_open(),
        "still pending on GitHub"
    );
    let calls = standin.stats();
    assert!(
        calls["endpoints"]["GET /orgs/{org}/personal-access-token-requests"]["calls"]
            .as_u64()
            .is_some_and(|calls| calls >= 5),
        "two pages, twice, and the filtered look: {calls}"
    );

    // The next sync sees the list whole: 150 is gone (and not approved), 50 is not.
    let third = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!((third.pending, third.withdrawn), (149, 1), "{third}");
    assert_eq!(desk.record_by_github_id(150).state, RequestState::Withdrawn);
    assert!(desk.record_by_github_id(50).state.is_open());
}

/// A request recorded withdrawn (by an older patdesk, or a webhook's word) that GitHub lists
/// as pending is open again, with an event saying why; a withdrawn one GitHub does not list
/// stays so.
#[test]
fn a_request_recorded_withdrawn_that_github_lists_is_reopened_with_an_event() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![
        pending(1, "carol", "reader carol", purpose),
        pending(2, "dana", "reader dana", purpose),
    ];
    let (_standin, desk, client, mut store, runtime) = scene(org_with(&requests, "acme-corp"));
    sync(&runtime, &client, &mut store, &desk).expect("sync");
    let carol = desk.record_by_github_id(1).id;
    store
        .write(|tx| {
            tx.record_github_state(
                carol,
                RequestState::Withdrawn,
                EventKind::Withdrawn,
                json!({ "why": "the test's stand-in for an earlier mistake" }),
            )
        })
        .expect("withdrawn");

    let report = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(report.reopened, 1, "{report}");
    assert!(report.to_string().contains("1 reopened"), "{report}");
    assert_eq!(desk.record_by_github_id(1).state, RequestState::InReview);
    let reopened = events_of(&store, "reopened");
    assert_eq!(reopened.len(), 1, "{reopened:?}");
    assert_eq!(reopened[0]["from"], "withdrawn");
    assert_eq!(reopened[0]["to"], "in_review");
    assert!(
        reopened[0]["why"]
            .as_str()
            .is_some_and(|why| why.contains("lists it as pending")),
        "{reopened:?}"
    );
    let again = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(again.reopened, 0, "once: {again}");
}

/// A 403 or 429 with neither `retry-after` nor `x-ratelimit-remaining: 0` is a secondary
/// limit: waited out, longer each time, and when it lasts the push stays queued for the next
/// round; it is never recorded as failed. Then it goes, once.
#[test]
fn a_secondary_limit_is_waited_out_and_never_fails_a_push() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![
        pending(1, "carol", "reader carol", purpose),
        pending(2, "dana", "reader dana", purpose),
    ];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    for github_id in [1, 2] {
        let id = desk.record_by_github_id(github_id).id.to_string();
        let approve = desk.patdesk(&["approve", &id, "--reason", "reads issues only"]);
        assert_eq!(
            approve.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&approve.stderr)
        );
    }
    let client = patient_client(&desk);
    let mut store = desk.store();
    let team = desk.config().team;
    let runtime = runtime();

    // One bare 403, then one bare 429: each waited out within the call.
    standin.faults(json!({ "limits": [
        { "path": "/personal-access-token-requests/1", "count": 1, "status": 403 },
        { "path": "/personal-access-token-requests/2", "count": 1, "status": 429 },
    ] }));
    let pushed = runtime
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!((pushed.done, pushed.failed), (2, 0), "{pushed}");
    assert_eq!(waits(&client), 2);
    assert_eq!(
        standin.calls().len(),
        2,
        "each decision reached GitHub once"
    );
}

/// A limit that lasts beyond the call's waits leaves the push queued (transient), and the
/// next round carries it; nothing is recorded as failed.
#[test]
fn a_lasting_secondary_limit_leaves_the_push_queued_for_the_next_round() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![pending(1, "carol", "reader carol", purpose)];
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&requests, "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let id = desk.record_by_github_id(1).id.to_string();
    assert_eq!(
        desk.patdesk(&["approve", &id, "--reason", "reads issues only"])
            .status
            .code(),
        Some(0)
    );
    let client = patient_client(&desk);
    let mut store = desk.store();
    let team = desk.config().team;
    let runtime = runtime();

    standin.faults(json!({ "limits": [
        { "path": "/personal-access-token-requests/1", "count": 3, "status": 403 },
    ] }));
    let limited = runtime
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!(
        (limited.done, limited.failed, limited.retrying),
        (0, 0, 1),
        "{limited}"
    );
    assert_eq!(waits(&client), 2, "two waits, then the call gives up");
    let queued = store.queued_pushes().expect("queued");
    assert_eq!(queued.len(), 1, "still queued");
    assert!(events_of(&store, "github_push_failed").is_empty());

    // The limit has passed: the next round carries it, after checking GitHub still lists it.
    let next = runtime
        .block_on(push_decisions(&client, &mut store, &team))
        .expect("push");
    assert_eq!((next.done, next.failed), (1, 0), "{next}");
    let decisions: Vec<Value> = standin.calls();
    assert_eq!(decisions.len(), 1, "sent once: {decisions:?}");
    assert!(store.queued_pushes().expect("queued").is_empty());
}

/// A 403 that says the App lacks a permission is GitHub's definitive answer: no wait, and the
/// error names the permission to grant.
#[test]
fn a_403_for_a_missing_permission_is_final_and_says_what_to_grant() {
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&many(0, 1), "acme-corp"))],
        json!({}),
    );
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let client = patient_client(&desk);
    standin.faults(json!({ "limits": [{
        "path": "/personal-access-token-requests",
        "count": 1,
        "status": 403,
        "message": "Resource not accessible by integration",
    }] }));
    let error = runtime()
        .block_on(client.pending_requests("acme-corp"))
        .expect_err("refused");
    assert!(matches!(error, GithubError::Forbidden { .. }), "{error}");
    assert!(
        error.to_string().contains("Personal access token requests"),
        "{error}"
    );
    assert_eq!(waits(&client), 0);
}

/// A secondary limit while a new request's requester is looked up is no answer: the sync
/// stops as transient and records nothing for it, and the next sync records the standing.
/// A standing GitHub refused (the App without "Members") is asked again on later syncs, and
/// the answer, once given, is recorded as a change.
#[test]
fn a_standing_github_did_not_give_is_asked_again_until_it_is_known() {
    let requests = vec![pending(1, "carol", "reader carol", None)];
    let mut org = org_with(&requests, "acme-corp");
    org["members"] = json!({ "carol": "member" });
    let (standin, desk, client, mut store, runtime) = scene(org);

    standin.faults(json!({ "limits": [
        { "path": "/memberships/", "count": 3, "status": 403 },
    ] }));
    let error = sync(&runtime, &client, &mut store, &desk).expect_err("a limit is no answer");
    assert!(
        error.to_string().contains("secondary rate limit"),
        "{error}"
    );
    assert!(
        store
            .requests_of_org("acme-corp")
            .expect("requests")
            .is_empty()
    );

    standin.faults(json!({ "limits": [{
        "path": "/memberships/",
        "count": 1,
        "status": 403,
        "message": "Resource not accessible by integration",
    }] }));
    sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert!(desk.record_by_github_id(1).request.requester.is_none());

    let report = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(report.changed, 1, "{report}");
    let requester = desk.record_by_github_id(1).request.requester;
    assert_eq!(
        requester
            .and_then(|requester| requester.org_role)
            .as_deref(),
        Some("member")
    );
    let again = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(again.changed, 0, "known now, not asked again: {again}");
}

fn one_pending_request() -> Standin {
    Standin::start(
        &[("acme-corp", 11, org_with(&many(0, 1), "acme-corp"))],
        json!({}),
    )
}

/// GitHub answers 400 to an API version it does not support; the stand-in does the same.
#[test]
fn an_unsupported_api_version_is_refused() {
    let standin = one_pending_request();
    let address = standin.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    write!(
        stream,
        "GET /orgs/acme-corp/personal-access-token-requests HTTP/1.1\r\nHost: {address}\r\n\
         X-GitHub-Api-Version: 2021-01-01\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("Unsupported"), "{answer}");
}

#[test]
fn the_api_version_patdesk_sends_is_taken() {
    let standin = one_pending_request();
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let listed = runtime()
        .block_on(patient_client(&desk).pending_requests("acme-corp"))
        .expect("patdesk's version is taken");
    assert_eq!(listed.len(), 1);
}

/// `check-config --connect` signs in as the App for each org and reads its pending list once,
/// naming the step that failed and what to fix: the App id, the installation, a permission,
/// an org the installation is not on.
#[test]
fn check_config_connect_signs_in_as_the_app_and_names_what_to_fix() {
    let standin = Standin::start(
        &[("acme-corp", 11, org_with(&many(0, 1), "acme-corp"))],
        json!({}),
    );
    let check = |desk: &Desk| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["check-config", "--connect", "--config"])
            .arg(desk.dir.path().join("patdesk.toml"))
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    let (code, out, err) = check(&desk);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ok: signing in to GitHub")
            && out.contains("ok: reading acme-corp's pending token requests"),
        "{out}"
    );

    // A wrong App id.
    let config = desk.dir.path().join("patdesk.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    let app_id = format!("app_id = {}", common::standin::APP_ID);
    std::fs::write(&config, text.replace(&app_id, "app_id = 999999")).expect("write");
    let (code, _, err) = check(&desk);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("signing in to GitHub") && err.contains("github.app_id"),
        "{err}"
    );

    // An installation GitHub does not have.
    let desk = Desk::new(&standin, &[("acme-corp", 12)], "app-test-key.pem", "");
    let (code, _, err) = check(&desk);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("installation 12") && err.contains("installation_id"),
        "{err}"
    );

    // The installation is another org's.
    let desk = Desk::new(&standin, &[("other-org", 11)], "app-test-key.pem", "");
    let (code, out, err) = check(&desk);
    assert_ne!(code, Some(0));
    assert!(out.contains("ok: signing in to GitHub"), "{out}");
    assert!(
        err.contains("reading other-org's pending token requests failed")
            && err.contains("installed on that organisation"),
        "{err}"
    );

    // The App without "Personal access token requests".
    let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", "");
    standin.faults(json!({ "limits": [{
        "path": "/personal-access-token-requests",
        "count": 1,
        "status": 403,
        "message": "Resource not accessible by integration",
    }] }));
    let (code, _, err) = check(&desk);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("reading acme-corp's pending token requests failed")
            && err.contains("\"Personal access token requests\""),
        "{err}"
    );
}

/// A request to widen a token already approved (an upgrade) shares the token's id with the
/// grant it would extend, as GitHub's own examples show. Denied or cancelled on GitHub, it is
/// withdrawn, never taken as approved by the grant that was there before; approved, the grant
/// holds what it asked, and it is approved elsewhere.
#[test]
fn an_upgrade_is_not_approved_by_the_grant_it_would_extend() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let carols = pending(1, "carol", "reader carol", purpose);
    let danas = pending(3, "dana", "reader dana", purpose);
    let upgrade_of = |request: &Value, id: i64| {
        let mut upgrade = pending(
            id,
            request["owner"]["login"].as_str().expect("owner"),
            request["token_name"].as_str().expect("name"),
            purpose,
        );
        upgrade["token_id"] = request["token_id"].clone();
        upgrade["permissions"]["repository"]["issues"] = json!("write");
        upgrade
    };
    let upgrades = vec![upgrade_of(&carols, 2), upgrade_of(&danas, 4)];
    let carols_grant = grant_for(&carols, 900, &common::dates::days_from_start(30));
    let danas_grant = grant_for(&danas, 901, &common::dates::days_from_start(30));
    let mut org = org_with(&upgrades, "acme-corp");
    org["grants"] = json!([carols_grant.clone(), danas_grant]);
    let (standin, desk, client, mut store, runtime) = scene(org);
    let first = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!((first.new, first.approved_elsewhere), (2, 0), "{first}");
    // Each is reviewed on what it adds or raises beyond the grant; `show` says so.
    let carols_upgrade = desk.record_by_github_id(2);
    let upgrade = carols_upgrade
        .findings
        .iter()
        .find(|finding| finding.code == "upgrade")
        .expect("an upgrade finding");
    assert!(
        upgrade.why.contains("grant 900")
            && upgrade.why.contains("adds nothing")
            && upgrade
                .why
                .contains("raises repository issues read to write"),
        "{}",
        upgrade.why
    );
    let shown = desk.patdesk(&["show", &carols_upgrade.id.to_string()]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("upgrade: Widens a token approved before (grant 900)"),
        "{shown}"
    );

    // carol's upgrade denied on GitHub (her grant as it was); dana's approved (her grant now
    // holds issues: write).
    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([carols_grant, danas_grant_with_write(&danas)]);
    standin.replace_org("acme-corp", org);
    let second = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(
        (second.approved_elsewhere, second.withdrawn),
        (1, 1),
        "{second}"
    );
    assert_eq!(desk.record_by_github_id(2).state, RequestState::Withdrawn);
    assert_eq!(desk.record_by_github_id(4).state, RequestState::Approved);
    let withdrawn = events_of(&store, "withdrawn");
    assert!(
        withdrawn.iter().any(|event| event["why"]
            .as_str()
            .is_some_and(|why| why.contains("upgrade denied or cancelled"))),
        "{withdrawn:?}"
    );
}

/// dana's grant once her upgrade to issues: write is approved.
fn danas_grant_with_write(danas: &Value) -> Value {
    let mut grant = grant_for(danas, 901, &common::dates::days_from_start(30));
    grant["permissions"]["repository"]["issues"] = json!("write");
    grant
}

/// A decision taken on GitHub's own pages is recorded with who took it when GitHub's webhook
/// said so (its `sender`), as GitHub's claim beside the API's evidence: the grant for an
/// approval, the request gone for a denial.
#[test]
fn a_decision_on_githubs_pages_is_recorded_with_who_the_webhook_says_took_it() {
    let purpose = Some("Reads issues of acme-corp/api for the weekly report");
    let requests = vec![
        pending(1, "carol", "reader carol", purpose),
        pending(2, "dana", "reader dana", purpose),
        pending(3, "erin", "reader erin", purpose),
    ];
    let (standin, desk, client, mut store, runtime) = scene(org_with(&requests, "acme-corp"));
    sync(&runtime, &client, &mut store, &desk).expect("sync");

    // olivia approves carol's on GitHub's pages and denies dana's; erin's goes without a word
    // from the webhook.
    for (delivery, action, request_id) in [("d-1", "approved", 1), ("d-2", "denied", 2)] {
        store
            .write(|tx| {
                tx.take_webhook_delivery(&Delivery {
                    id: delivery,
                    event: "personal_access_token_request",
                    action: Some(action),
                    org: Some("acme-corp"),
                    request_id: Some(request_id),
                    sender: Some("olivia"),
                    body_sha256: delivery,
                })
            })
            .expect("taken");
    }
    let mut org = org_with(&[], "acme-corp");
    org["grants"] = json!([
        grant_for(&requests[0], 900, &common::dates::days_from_start(30)),
        grant_for(&requests[2], 901, &common::dates::days_from_start(30)),
    ]);
    standin.replace_org("acme-corp", org);
    sync(&runtime, &client, &mut store, &desk).expect("sync");

    let approvals = events_of(&store, "approved_elsewhere");
    let approver_of = |name: &str| -> Option<String> {
        let id = desk.record_by_github_id(match name {
            "carol" => 1,
            _ => 3,
        });
        let events = store.events_for(id.id).expect("events");
        events
            .iter()
            .find(|event| event.kind == EventKind::ApprovedElsewhere)
            .map(|event| {
                event.detail["approver"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
    };
    assert_eq!(approvals.len(), 2, "{approvals:?}");
    assert_eq!(
        approver_of("carol").as_deref(),
        Some("olivia (GitHub's webhook says so)")
    );
    assert_eq!(
        approver_of("erin").as_deref(),
        Some("unknown: approved on GitHub, not through patdesk")
    );
    let withdrawn = events_of(&store, "withdrawn");
    assert_eq!(withdrawn.len(), 1, "{withdrawn:?}");
    assert_eq!(withdrawn[0]["github_says"]["action"], "denied");
    assert_eq!(withdrawn[0]["github_says"]["sender"], "olivia");
}

/// Standings GitHub keeps refusing (the App without "Members") are asked again once a sync,
/// not once per open request: the first refusal stops the rest until the next sync.
#[test]
fn a_refused_standing_costs_one_call_a_sync_not_one_per_request() {
    let requests: Vec<Value> = (1..=5)
        .map(|id| pending(id, &format!("dev-{id}"), &format!("reader {id}"), None))
        .collect();
    let refusal = json!({ "limits": [{
        "path": "/memberships/",
        "count": 1000,
        "status": 403,
        "message": "Resource not accessible by integration",
    }] });
    let (standin, desk, client, mut store, runtime) = scene(org_with(&requests, "acme-corp"));
    standin.faults(refusal.clone());
    let first = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(first.new, 5, "{first}");
    let memberships = |standin: &Standin| {
        standin.stats()["endpoints"]["GET /orgs/{org}/memberships/{user}"]["calls"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = memberships(&standin);
    let again = sync(&runtime, &client, &mut store, &desk).expect("sync");
    assert_eq!(again.changed, 0, "{again}");
    assert_eq!(
        memberships(&standin) - before,
        1,
        "one call for five unknown standings"
    );
}
