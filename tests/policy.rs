//! Policy as code cannot lower the floor: every permission GitHub documents, at every access
//! level, over every repository selection and at every risk, goes through the example policy
//! (`policy.example.rego`, as shipped) and the floor, and no admin-level or
//! organisation-writing permission is ever approved without a person; then random
//! combinations of them, with patdesk's own review's findings. And `patdesk policy test` runs
//! a policy file as its author would.

mod common;

use jiff::Timestamp;
use patdesk::policy::{Answer, Policy, floor};
use patdesk::request::{Access, RepositorySelection};
use patdesk::review::{
    KNOWN_ACCOUNT, KNOWN_ORGANIZATION, KNOWN_REPOSITORY, ReviewPolicy, Risk, review,
};
use patdesk::store::RequestRecord;
use proptest::prelude::*;

/// A permission GitHub may add later, in each group: unknown slugs go through the floor too.
const UNKNOWN: &str = "a_permission_github_adds_later";
const LEVELS: &[&str] = &["read", "write", "admin"];
const SELECTIONS: [RepositorySelection; 3] = [
    RepositorySelection::None,
    RepositorySelection::All,
    RepositorySelection::Subset,
];

/// A policy that approves everything: what it gets away with is what the floor lets through.
const APPROVE_ALL: &str = "package patdesk\nimport rego.v1\ndecision := \"approve\"\nreasons contains \"all fine\" if true\n";

fn example_policy() -> Policy {
    Policy::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.example.rego"))
        .expect("the example policy reads")
}

/// Whether a permission is one no policy may grant alone: admin-level, administration, or
/// writing to the organisation (said here in the test's own words, not the floor's).
fn needs_a_person(group: &str, slug: &str, level: &str) -> bool {
    level == "admin" || (level != "read" && (slug == "administration" || group == "organization"))
}

/// The easy request (read one repository, purpose given, low risk) with `group.slug=level`
/// added, over `selection`, reviewed by patdesk's own rules, then rated `risk`.
fn request_with(
    permissions: &[(&str, &str, &str)],
    selection: RepositorySelection,
    risk: Risk,
) -> RequestRecord {
    let mut record = floor::sample_request();
    for (group, slug, level) in permissions {
        let map = match *group {
            "organization" => &mut record.request.permissions.organization,
            "account" => &mut record.request.permissions.other,
            _ => &mut record.request.permissions.repository,
        };
        map.insert(slug.to_string(), Access::parse(level));
    }
    record.request.repository_selection = selection;
    if selection != RepositorySelection::Subset {
        record.request.repositories.clear();
    }
    // The review a sync would make (its findings), at a time the token has not expired.
    let reviewed = review(
        &record.request,
        &ReviewPolicy::default(),
        Timestamp::UNIX_EPOCH,
    );
    record.findings = reviewed.findings;
    record.risk = risk;
    record
}

/// Every permission GitHub documents (the review's own list), by group, and an unknown one in
/// each.
fn groups() -> impl Iterator<Item = (&'static str, &'static str)> {
    let of = |group: &'static str, slugs: &'static [&'static str]| {
        slugs
            .iter()
            .copied()
            .chain([UNKNOWN])
            .map(move |slug| (group, slug))
    };
    of("repository", KNOWN_REPOSITORY)
        .chain(of("organization", KNOWN_ORGANIZATION))
        .chain(of("account", KNOWN_ACCOUNT))
}

#[test]
fn no_admin_or_organisation_write_is_approved_without_a_person_for_every_permission() {
    for (name, mut policy) in [
        ("the example policy", example_policy()),
        (
            "a policy approving everything",
            Policy::from_text("approve-all.rego", APPROVE_ALL).expect("valid"),
        ),
    ] {
        let mut cases = 0;
        let mut approved = 0;
        for (group, slug) in groups() {
            for level in LEVELS {
                for selection in SELECTIONS {
                    for risk in Risk::ALL {
                        let record = request_with(&[(group, slug, level)], selection, risk);
                        let verdict = policy.verdict(&record);
                        cases += 1;
                        if needs_a_person(group, slug, level) {
                            assert!(
                                matches!(verdict.answer, Answer::Person { .. }),
                                "{name}: {group}.{slug}={level} over {selection:?} at {risk:?}: {verdict:?}"
                            );
                        }
                        if matches!(verdict.answer, Answer::Approve { .. }) {
                            approved += 1;
                            assert!(
                                risk < Risk::High,
                                "{name}: approved at {risk:?}: {verdict:?}"
                            );
                        }
                    }
                }
            }
        }
        println!(
            "{name}: {cases} requests, {approved} approved, the rest denied or left to a person"
        );
        // Each decides some cases: a test in which nothing is approved would prove nothing.
        assert!(approved > 0, "{name}");
    }
}

fn permission() -> impl Strategy<Value = (&'static str, &'static str, &'static str)> {
    let all: Vec<(&'static str, &'static str)> = groups().collect();
    (
        prop::sample::select(all),
        prop::sample::select(LEVELS.to_vec()),
    )
        .prop_map(|((group, slug), level)| (group, slug, level))
}

proptest! {
    #![proptest_config(common::replayable(512))]

    /// Any combination of permissions: one that needs a person anywhere in it keeps the
    /// whole request with a person, whatever the rest and the risk.
    #[test]
    fn a_combination_with_one_admin_or_organisation_write_goes_to_a_person(
        permissions in proptest::collection::vec(permission(), 1..6),
        selection in prop::sample::select(SELECTIONS.to_vec()),
        risk in prop::sample::select(Risk::ALL.to_vec()),
    ) {
        let mut policy = Policy::from_text("approve-all.rego", APPROVE_ALL).expect("valid");
        let record = request_with(&permissions, selection, risk);
        let verdict = policy.verdict(&record);
        // A permission named twice holds its last level, as in the request.
        let effective: std::collections::BTreeMap<(&str, &str), &str> = permissions
            .iter()
            .map(|(group, slug, level)| ((*group, *slug), *level))
            .collect();
        if effective.iter().any(|((group, slug), level)| needs_a_person(group, slug, level)) {
            prop_assert!(matches!(verdict.answer, Answer::Person { .. }), "{permissions:?}: {verdict:?}");
        }
        if matches!(verdict.answer, Answer::Approve { .. }) {
            prop_assert!(record.risk < Risk::High && record.findings.iter().all(|f| f.severity < patdesk::review::Severity::High));
        }
    }
}

#[test]
fn patdesk_policy_test_runs_a_policy_file_on_samples_and_requests_of_ones_own() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let request = dir.path().join("request.json");
    let mut own = floor::sample_request();
    own.request.token_name = Some("mine\u{1b}[2J".to_string());
    std::fs::write(&request, serde_json::json!({ "request": own }).to_string()).expect("write");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let request_arg = request.display().to_string();
    let (code, text) = run(&[
        "policy",
        "test",
        "policy.example.rego",
        "--request",
        &request_arg,
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("sample: never expires\n    policy: deny (the token never expires"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{request_arg}\n    policy: approve")),
        "{text}"
    );
    let (code, text) = run(&["policy", "test", "policy.example.rego", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let verdicts: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        verdicts.as_array().map(Vec::len),
        Some(floor::samples().len())
    );

    // A policy that approves everything: the floor shows where it stands instead.
    let lax = dir.path().join("lax.rego");
    std::fs::write(&lax, APPROVE_ALL).expect("write");
    let (code, text) = run(&["policy", "test", &lax.display().to_string()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("writes the organisation's members\n    policy: approve (all fine)\n    stands: person (the floor:"), "{text}");

    // One that does not parse: exit 3, naming the file.
    let broken = dir.path().join("broken.rego");
    std::fs::write(&broken, "package patdesk\ndecision := ").expect("write");
    let (code, text) = run(&["policy", "show", &broken.display().to_string()]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("broken.rego is not valid Rego"), "{text}");
    let (code, text) = run(&["policy", "show", "policy.example.rego"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("actor   policy@"), "{text}");
}

/// `patdesk policy backtest` reads the decided requests through the daemon and names each one
/// where the policy would have approved what people denied.
#[test]
fn a_backtest_tables_agreement_with_the_team_and_names_each_more_permissive_case() {
    use common::builders::RequestBuilder;
    use common::control::{Daemon, os_user_of, patdesk_as, records_only_config};
    let dir = tempfile::TempDir::new().expect("temp dir");
    let config = records_only_config(dir.path(), "patdesk.toml");
    let store = || {
        patdesk::store::Store::open(
            &dir.path().join("patdesk.db"),
            &patdesk::clock::Clock::system(),
        )
        .expect("store")
    };
    let easy = |n: i64| {
        RequestBuilder::tidy()
            .github_id(n)
            .owner("carol", Some("carol@example.org"))
    };
    let approved = easy(1).insert(&mut store());
    let denied_easy = easy(2)
        .token_name(Some("denied though easy"))
        .insert(&mut store());
    let writes = easy(3)
        .permission("repository", "contents", "write")
        .insert(&mut store());
    let waiting = easy(4).insert(&mut store());
    let _daemon = Daemon::start(&config);
    let run = |login: &str, args: &[&str]| {
        let output = patdesk_as(os_user_of(login), &config, args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    run("alice", &["approve", &approved.to_string()]);
    run(
        "bob",
        &[
            "deny",
            &denied_easy.to_string(),
            "--reason",
            "the project is closing",
        ],
    );
    run(
        "bob",
        &[
            "deny",
            &writes.to_string(),
            "--reason",
            "write access is not needed",
        ],
    );

    // Approves read-only requests, leaves the rest to a person.
    let policy = dir.path().join("read-only.rego");
    std::fs::write(
        &policy,
        "package patdesk\nimport rego.v1\ndefault decision := \"person\"\n\
         decision := \"approve\" if every _, a in input.permissions.repository { a == \"read\" }\n\
         reasons contains \"read only\" if decision == \"approve\"\n",
    )
    .expect("write");
    common::users::let_through(dir.path());
    let example = policy.display().to_string();
    let text = run("alice", &["policy", "backtest", &example]);
    assert!(
        text.contains("over the 3 request(s) people decided"),
        "{text}"
    );
    assert!(text.contains("agrees with the people on 1 of 3"), "{text}");
    assert!(
        text.contains("MORE PERMISSIVE than the people on 1 request(s)")
            && text.contains(&format!("PAT-{denied_easy} denied though easy by carol in acme-corp: denied by bob: the project is closing")),
        "{text}"
    );
    assert!(
        !text.contains(&format!("PAT-{waiting} ")),
        "an open request is not replayed: {text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&run("alice", &["policy", "backtest", &example, "--json"]))
            .expect("json");
    assert_eq!(
        json["backtest"]["table"],
        serde_json::json!([[1, 1], [0, 0], [0, 1]]),
        "{json}"
    );
    // Nothing decided since tomorrow: nothing replayed.
    let text = run(
        "alice",
        &["policy", "backtest", &example, "--since", "2099-01-01"],
    );
    assert!(
        text.contains("over the 0 request(s) people decided since 2099-01-01"),
        "{text}"
    );
}

/// `[policy] mode = "shadow"`: the daemon puts each request in review to the policy, records
/// the answer under `policy@<sha256>` and shows it, and a person still decides; a changed
/// request is answered again.
#[test]
fn in_shadow_the_daemon_records_and_shows_the_policys_answer_and_decides_nothing() {
    use common::builders::RequestBuilder;
    use common::control::{Daemon, os_user_of, patdesk_as};
    let dir = tempfile::TempDir::new().expect("temp dir");
    std::fs::write(
        dir.path().join("read-only.rego"),
        "package patdesk\nimport rego.v1\ndefault decision := \"person\"\n\
         decision := \"approve\" if every _, a in input.permissions.repository { a == \"read\" }\n\
         reasons contains \"read only\" if decision == \"approve\"\n",
    )
    .expect("write");
    let config = dir.path().join("patdesk.toml");
    let write_config = |mode: &str| {
        std::fs::write(
            &config,
            format!(
                "[store]\npath = \"patdesk.db\"\n{}[policy]\nfile = \"read-only.rego\"\nmode = \"{mode}\"\n\
                 [intervals]\nlook_for_commits_seconds = 0.1\n",
                common::users::team_and_control()
            ),
        )
        .expect("config");
    };
    write_config("shadow");

    let store = || {
        patdesk::store::Store::open(
            &dir.path().join("patdesk.db"),
            &patdesk::clock::Clock::system(),
        )
        .expect("store")
    };
    let easy = RequestBuilder::tidy().github_id(1).insert(&mut store());
    let writes = RequestBuilder::tidy()
        .github_id(2)
        .permission("repository", "contents", "write")
        .insert(&mut store());
    let waiting = RequestBuilder::tidy()
        .github_id(3)
        .state(patdesk::request::RequestState::AwaitingPurpose)
        .purpose(None)
        .insert(&mut store());
    common::users::let_through(dir.path());
    let daemon = Daemon::start(&config);
    let answers = |id: i64| {
        common::count(
            &dir.path().join("patdesk.db"),
            &format!(
                "SELECT COUNT(*) FROM events WHERE request_id = {id} AND kind = 'policy_answered'"
            ),
        )
    };
    common::desk::wait_for(20, || {
        (answers(easy) == 1 && answers(writes) == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the policy never answered\n{}", daemon.log()));
    assert_eq!(
        answers(waiting),
        0,
        "a request not in review is not put to the policy"
    );
    let show = |id: i64| {
        let output = patdesk_as(os_user_of("alice"), &config, &["show", &id.to_string()]);
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let text = show(easy);
    assert!(
        text.contains("policy says     approve (read only; policy@"),
        "{text}"
    );
    assert!(text.contains("shadow: a person decides"), "{text}");
    assert!(
        show(writes).contains("policy says     person"),
        "{}",
        show(writes)
    );
    let record = store().request(easy).expect("request");
    assert_eq!(
        record.state,
        patdesk::request::RequestState::InReview,
        "shadow decides nothing"
    );

    // The request changes (a purpose recorded): answered again.
    let output = patdesk_as(
        os_user_of("alice"),
        &config,
        &[
            "purpose",
            &easy.to_string(),
            "It reads the issues for the weekly report, nothing else.",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    common::desk::wait_for(20, || (answers(easy) == 2).then_some(()))
        .unwrap_or_else(|| panic!("a changed request was not answered again\n{}", daemon.log()));
    let event: String = store()
        .connection()
        .query_row(
            "SELECT actor FROM events WHERE kind = 'policy_answered' ORDER BY seq DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .expect("event");
    assert!(
        event.starts_with("policy@") && event.len() == "policy@".len() + 64,
        "{event}"
    );
}
