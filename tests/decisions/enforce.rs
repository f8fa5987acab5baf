//! `[policy] mode = "enforce"`: the policy decides only once it has proved itself on the
//! team's own history. While its backtest finds a request it would have approved that people
//! denied, it is held in shadow and the team alerted; once a member accepts that case it
//! decides, its decisions carried to GitHub as a member's; the floor still sends the hard
//! requests to a person; and a policy the config does not enforce has nothing carried.

use super::common;

use patdesk::lifecycle::{Authentication, Member};
use patdesk::request::RequestState;
use patdesk::review::ReviewPolicy;
use patdesk::sync::{Deciders, push_decisions};
use serde_json::json;

use common::desk::wait_for;
use common::github_desk::{Desk, alerts_of, org_with, reads, runtime};
use common::standin::{Standin, pending};

/// Approves requests that only read repositories, leaves the rest to a person.
const READ_ONLY: &str = "package patdesk\nimport rego.v1\ndefault decision := \"person\"\n\
    decision := \"approve\" if every _, a in input.permissions.repository { a == \"read\" }\n\
    reasons contains \"reads only\" if decision == \"approve\"\n";

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn an_enforced_policy_waits_for_its_backtest_then_decides_above_the_floor() {
    let mut settings = pending(
        3,
        "erin",
        "repo-settings erin",
        Some("Sets the branch protection of acme-corp/api from the release job"),
    );
    settings["permissions"] =
        json!({ "repository": { "administration": "write", "metadata": "read" } });
    let requests = vec![reads(1, "carol"), reads(2, "dave"), settings];
    let mut org = org_with(&requests, "acme-corp");
    // Members who read the repository already: their read-only requests are easy.
    org["members"] = json!({ "carol": "member", "dave": "member", "erin": "member" });
    org["repository_permissions"] = json!({
        "acme-corp/api": { "carol": "read", "dave": "read", "erin": "admin" }
    });
    let standin = Standin::start(&[("acme-corp", 11, org)], json!({}));
    let desk = Desk::new(
        &standin,
        &[("acme-corp", 11)],
        "app-test-key.pem",
        "[policy]\nfile = \"read-only.rego\"\nmode = \"enforce\"\n\
         [intervals]\nlook_for_commits_seconds = 0.1\n",
    );
    let policy_file = desk.dir.path().join("read-only.rego");
    std::fs::write(&policy_file, READ_ONLY).expect("policy");
    common::users::let_through(desk.dir.path());
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["check-config", "--config"])
        .arg(desk.dir.path().join("patdesk.toml"))
        .output()
        .expect("runs");
    assert!(check.status.success(), "{}", text(&check));
    assert!(text(&check).contains("enforce"), "{}", text(&check));
    assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
    let carol = desk.record_by_github_id(1).id;
    let dave = desk.record_by_github_id(2).id;
    let erin = desk.record_by_github_id(3).id;
    // The people denied dave's, which the policy would approve: it is held back.
    let denied = desk.patdesk(&[
        "deny",
        &dave.to_string(),
        "--reason",
        "the project is closing",
    ]);
    assert_eq!(denied.status.code(), Some(0), "{}", text(&denied));

    let db = desk.dir.path().join("patdesk.db");
    let answers = |id: i64, mode: &str| {
        common::count(
            &db,
            &format!(
                "SELECT COUNT(*) FROM events WHERE request_id = {id} AND kind = 'policy_answered'
                   AND json_extract(detail, '$.mode') = '{mode}'"
            ),
        )
    };
    // Starting the daemon (as alice's first command).
    let status = desk.patdesk_as("alice", &["status"]);
    assert!(status.status.success(), "{}", text(&status));
    let log = || -> String {
        std::fs::read_dir(desk.dir.path())
            .expect("dir")
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("daemon-"))
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
            .collect()
    };
    wait_for(30, || (answers(carol, "shadow") == 1).then_some(())).unwrap_or_else(|| {
        panic!(
            "the policy never answered carol's request in shadow\n{}",
            log()
        )
    });
    let held = alerts_of(&desk.store(), "policy_held_in_shadow");
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0].contains(&format!("(PAT-{dave})")), "{held:?}");
    assert!(held[0].contains("patdesk policy accept"), "{held:?}");
    assert_eq!(desk.record_by_github_id(1).state, RequestState::InReview);

    // Only a request people denied can be accepted.
    let file = policy_file.display().to_string();
    let wrong = desk.patdesk_as(
        "bob",
        &[
            "policy",
            "accept",
            &file,
            &carol.to_string(),
            "--reason",
            "fine",
        ],
    );
    assert_ne!(wrong.status.code(), Some(0));
    assert!(
        text(&wrong).contains("not denied by a person"),
        "{}",
        text(&wrong)
    );
    // bob accepts dave's case: the policy enforces, and decides carol's.
    let accept = desk.patdesk_as(
        "bob",
        &[
            "policy",
            "accept",
            &file,
            &dave.to_string(),
            "--reason",
            "closing projects are handled by hand",
        ],
    );
    assert!(accept.status.success(), "{}", text(&accept));
    assert!(
        text(&accept).contains(&format!("PAT-{dave}")),
        "{}",
        text(&accept)
    );
    wait_for(30, || {
        (desk.record_by_github_id(1).state == RequestState::Approved).then_some(())
    })
    .expect("the policy approves carol's request");
    let approved = desk.record_by_github_id(1);
    let actor = approved.decided_by.clone().expect("decided by");
    assert!(
        actor.starts_with("policy@") && actor.len() == 7 + 64,
        "{actor}"
    );
    assert_eq!(approved.decision_reason.as_deref(), Some("reads only"));
    wait_for(30, || {
        standin
            .calls()
            .iter()
            .any(|call| call["action"] == "approve" && call["id"] == 1)
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the policy's approval never reached GitHub: {:?}",
            standin.calls()
        )
    });
    let events = desk.store().events_for(carol).expect("events");
    let decision = events
        .iter()
        .find(|e| e.kind == "approved")
        .expect("approved");
    assert_eq!(decision.actor, actor);
    assert_eq!(decision.detail["member"]["authenticated_by"], "policy");
    // The floor: erin's administration write is a person's, answered and left in review.
    assert!(answers(erin, "enforce") >= 1);
    assert_eq!(desk.record_by_github_id(3).state, RequestState::InReview);
    let shown = text(&desk.patdesk_as("alice", &["show", &carol.to_string()]));
    assert!(shown.contains("enforced: the policy decided"), "{shown}");
    let shown = text(&desk.patdesk_as("alice", &["show", &erin.to_string()]));
    assert!(shown.contains("policy says     person"), "{shown}");
    assert!(
        shown.contains("enforced: it leaves this to a person"),
        "{shown}"
    );
    // The policy's own decision does not count as the people's in a later backtest.
    let backtest = text(&desk.patdesk_as("alice", &["policy", "backtest", &file]));
    assert!(
        backtest.contains("over the 1 request(s) people decided"),
        "{backtest}"
    );
}

#[test]
fn a_decision_by_a_policy_the_config_does_not_enforce_is_not_carried() {
    let (standin, desk) = Desk::synced(org_with(&[reads(1, "carol")], "acme-corp"), json!({}), "");
    let carol = desk.record_by_github_id(1).id;
    let forged = format!("policy@{}", "ab".repeat(32));
    let policy = Member {
        login: forged.clone(),
        os_user: "patdesk".to_string(),
        uid: 0,
        authenticated_by: Authentication::Policy,
        slack: None,
    };
    let mut store = desk.store();
    patdesk::decide::approve(
        &mut store,
        &policy,
        carol,
        Some("reads only"),
        None,
        &ReviewPolicy::default(),
    )
    .expect("recorded");
    let team = desk.config().team;
    // Another policy enforced: refused, never sent.
    let other = Deciders {
        team: team.clone(),
        policy: Some(format!("policy@{}", "cd".repeat(32))),
    };
    let report = runtime()
        .block_on(push_decisions(&desk.client(), &mut store, &other))
        .expect("push");
    assert_eq!((report.done, report.refused), (0, 1), "{report}");
    assert!(standin.calls().is_empty());
    let refused = alerts_of(&store, "github_push_refused");
    assert!(
        refused
            .iter()
            .any(|a| a.contains(&format!("{forged} is not the policy the config enforces"))),
        "{refused:?}"
    );
}
