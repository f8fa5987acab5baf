//! Decisions from Slack, end to end: the daemon on the project's mail server and the GitHub
//! stand-in, its `[slack]` pointed at the Slack stand-in. A request ready for a decision is
//! posted to the channel; a mapped member's click decides it exactly as the CLI would (GitHub
//! told, the requester told, the message updated); everyone and everything else is refused
//! with nothing recorded; and Slack's documented failures (refreshes, drops, half-open
//! sockets, redeliveries, duplicates, load) lose no click and decide nothing twice.

mod common;

use serde_json::{Value, json};

use common::desk::{Desk, DeskSetup, SHORT_INTERVALS, wait_for};
use common::mailserver::{self, TestFolder};
use common::slack::{self, SlackStandin};
use common::standin::pending;
use patdesk::request::RequestState;

const PURPOSE: &str = "Reads the issues of acme-corp/api for the weekly platform report.";

/// A desk whose daemon decides from the Slack stand-in.
struct SlackDesk {
    desk: Desk,
    slack: SlackStandin,
    _daemon: common::KillOnDrop,
}

impl SlackDesk {
    fn start(tag: &str, pending: Vec<Value>, decide_up_to: &str) -> SlackDesk {
        let slack = SlackStandin::start();
        let desk = Desk::new(
            TestFolder::new(tag),
            DeskSetup {
                pending: pending.clone(),
                team: Some(slack::team_section()),
                intervals: format!("{SHORT_INTERVALS}slack_ping_seconds = 0.5\n"),
                extra: slack.section(decide_up_to),
                ..DeskSetup::default()
            },
        );
        // The requesters are members who can write where their tokens would: the risk is the
        // permissions', not their standing.
        let org = json!({
            "pending": pending,
            "repositories": common::standin::repositories_for(&pending, "acme-corp"),
            "verified_emails": {},
            "members": { "dave": "member", "alice": "member", "bob": "member" },
            "repository_permissions": {
                "acme-corp/api": { "dave": "write", "alice": "write", "bob": "write" }
            },
        });
        desk.standin.replace_org("acme-corp", org);
        desk.write_secret("slack-app-token", slack::APP_TOKEN);
        desk.write_secret("slack-bot-token", slack::BOT_TOKEN);
        let daemon = desk.start_daemon();
        SlackDesk {
            desk,
            slack,
            _daemon: daemon,
        }
    }

    /// patdesk's id of GitHub's request `github_id`, once it is posted to the channel.
    fn posted(&self, github_id: i64) -> i64 {
        let id = wait_for(30, || self.desk.request_id(github_id))
            .unwrap_or_else(|| panic!("request {github_id} never synced\n{}", self.desk.log()));
        wait_for(30, || {
            self.slack
                .calls("chat.postMessage")
                .into_iter()
                .find(|call| {
                    call["arguments"]["text"]
                        .as_str()
                        .is_some_and(|text| text.starts_with(&format!("PAT-{id}:")))
                })
        })
        .unwrap_or_else(|| panic!("PAT-{id} never posted\n{}", self.desk.log()));
        id
    }

    fn state_of(&self, id: i64) -> RequestState {
        self.desk.store().request(id).expect("request").state
    }

    fn events(&self) -> i64 {
        common::count(&self.desk.folder.db(), "SELECT COUNT(*) FROM events")
    }

    /// The GitHub stand-in's decision calls for `github_id`.
    fn github_calls(&self, github_id: i64, action: &str) -> usize {
        self.desk
            .standin
            .calls()
            .into_iter()
            .filter(|call| call["action"] == action && call["id"] == github_id)
            .count()
    }

    fn wait_for_github(&self, github_id: i64, action: &str) {
        wait_for(20, || {
            (self.github_calls(github_id, action) > 0).then_some(())
        })
        .unwrap_or_else(|| {
            panic!(
                "the {action} of {github_id} never reached GitHub\n{}",
                self.desk.log()
            )
        });
    }

    /// The ephemeral messages `user` was sent.
    fn told(&self, user: &str) -> Vec<String> {
        self.slack
            .calls("chat.postEphemeral")
            .into_iter()
            .filter(|call| call["arguments"]["user"] == user)
            .filter_map(|call| call["arguments"]["text"].as_str().map(str::to_string))
            .collect()
    }

    fn wait_until_told(&self, user: &str, count: usize) -> Vec<String> {
        wait_for(20, || {
            let told = self.told(user);
            (told.len() >= count).then_some(told)
        })
        .unwrap_or_else(|| panic!("{user} was never told\n{}", self.desk.log()))
    }

    /// The text of the channel's message for PAT-`id`, as last posted or updated.
    fn message_text(&self, id: i64) -> String {
        let state = self.slack.state();
        state["messages"]
            .as_object()
            .into_iter()
            .flat_map(|messages| messages.values())
            .find(|message| {
                message["text"]
                    .as_str()
                    .is_some_and(|text| text.starts_with(&format!("PAT-{id}:")))
            })
            .map(|message| message["blocks"].to_string())
            .unwrap_or_default()
    }
}

fn with_purpose(id: i64, owner: &str, name: &str) -> Value {
    pending(id, owner, name, Some(PURPOSE))
}

/// A request for administration write: critical risk, above any cap but `critical`.
fn critical(id: i64, owner: &str) -> Value {
    let mut request = with_purpose(id, owner, "repo-admin");
    request["permissions"] =
        json!({ "repository": { "administration": "write", "metadata": "read" } });
    request
}

#[test]
fn approve_and_deny_from_slack_reach_github_the_requester_and_the_channel() {
    mailserver::require();
    let runtime = common::runtime();
    let run = SlackDesk::start(
        "slack-decide",
        vec![
            with_purpose(9101, "dave", "weekly-report"),
            with_purpose(9102, "dave", "issue-export"),
            with_purpose(9103, "dave", "wiki-mirror"),
        ],
        "medium",
    );
    let approve_id = run.posted(9101);
    let deny_id = run.posted(9102);
    let cli_id = run.posted(9103);
    let message = run.message_text(approve_id);
    for expected in ["Approve", "Deny", "Show in full", PURPOSE, "dave"] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }

    // alice approves with one click: low risk needs no reason.
    run.slack
        .click(slack::ALICE, "approve", approve_id, json!({}));
    run.wait_for_github(9101, "approve");
    assert_eq!(run.state_of(approve_id), RequestState::Approved);
    let approval = common::desk::wait_for(20, || {
        runtime
            .block_on(mailserver::inbox(
                "dave",
                "SUBJECT \"weekly-report\" SUBJECT \"Approved\"",
            ))
            .into_iter()
            .next()
    });
    assert!(
        approval.is_some(),
        "dave was never told\n{}",
        run.desk.log()
    );
    // The audit event says who, and how the daemon knew.
    let detail: String = run
        .desk
        .store()
        .connection()
        .query_row(
            "SELECT detail FROM events WHERE request_id = ?1 AND kind = 'approved'",
            [approve_id],
            |row| row.get(0),
        )
        .expect("the approval event");
    let detail: Value = serde_json::from_str(&detail).expect("json");
    assert_eq!(detail["member"]["login"], "alice", "{detail}");
    assert_eq!(
        detail["member"]["authenticated_by"], "slack_user_id",
        "{detail}"
    );
    assert_eq!(
        detail["member"]["slack"]["user_id"],
        slack::ALICE,
        "{detail}"
    );
    assert_eq!(
        detail["member"]["slack"]["team_id"],
        slack::TEAM_ID,
        "{detail}"
    );
    // The message follows: the buttons give way to who decided.
    wait_for(20, || {
        run.message_text(approve_id)
            .contains("Approved by alice")
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the message was not updated: {}",
            run.message_text(approve_id)
        )
    });
    assert!(
        !run.message_text(approve_id)
            .contains("\"action_id\":\"approve\"")
    );

    // bob denies: the click opens the reason modal inside the acknowledgement, the
    // submission decides.
    run.slack.click(slack::BOB, "deny", deny_id, json!({}));
    wait_for(20, || {
        (!run.slack.calls("views.open").is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("no modal opened\n{}", run.desk.log()));
    let view = &run.slack.calls("views.open")[0]["arguments"]["view"];
    assert_eq!(view["callback_id"], "patdesk_reason", "{view}");
    assert_eq!(
        run.state_of(deny_id),
        RequestState::InReview,
        "a click alone denies nothing"
    );
    run.slack.submit(
        slack::BOB,
        deny_id,
        "deny",
        "Issues read is enough: drop the export scope.",
        json!({}),
    );
    run.wait_for_github(9102, "deny");
    let record = run.desk.store().request(deny_id).expect("request");
    assert_eq!(record.state, RequestState::Denied);
    assert_eq!(record.decided_by.as_deref(), Some("bob"));
    assert_eq!(
        record.decision_reason.as_deref(),
        Some("Issues read is enough: drop the export scope.")
    );
    let denial = common::desk::wait_for(20, || {
        runtime
            .block_on(mailserver::inbox(
                "dave",
                "SUBJECT \"issue-export\" SUBJECT \"Not approved\"",
            ))
            .into_iter()
            .next()
    });
    assert!(
        denial.is_some(),
        "dave was never told of the denial\n{}",
        run.desk.log()
    );

    // A decision taken elsewhere (here the CLI) shows in the channel too.
    let approved = run
        .desk
        .patdesk_as("alice", &["approve", &cli_id.to_string()]);
    assert!(approved.status.success(), "{approved:?}");
    wait_for(20, || {
        run.message_text(cli_id)
            .contains("Approved by alice")
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the CLI's decision never reached the channel: {}",
            run.message_text(cli_id)
        )
    });

    // A second click on a decided request is refused where the clicker sees it.
    let events = run.events();
    run.slack
        .click(slack::BOB, "approve", approve_id, json!({}));
    let told = run.wait_until_told(slack::BOB, 1);
    assert!(told[0].contains("already"), "{told:?}");
    assert_eq!(run.events(), events, "nothing recorded");
    assert_eq!(run.github_calls(9101, "approve"), 1);
}

#[test]
fn strangers_foreign_payloads_owners_and_risky_requests_are_refused_with_nothing_recorded() {
    mailserver::require();
    let run = SlackDesk::start(
        "slack-refuse",
        vec![
            with_purpose(9201, "dave", "docs-sync"),
            with_purpose(9202, "alice", "alices-own"),
            critical(9203, "dave"),
        ],
        "medium",
    );
    let ordinary = run.posted(9201);
    let own = run.posted(9202);
    let risky = run.posted(9203);
    assert!(
        !run.message_text(risky)
            .contains("\"action_id\":\"approve\""),
        "no Approve button above the cap: {}",
        run.message_text(risky)
    );
    let events = run.events();

    // A Slack user nobody mapped: told so, and told no member's name.
    run.slack
        .click(slack::STRANGER, "approve", ordinary, json!({}));
    let told = run.wait_until_told(slack::STRANGER, 1);
    assert!(told[0].contains("not a patdesk member"), "{told:?}");
    for name in ["alice", "bob", slack::ALICE, slack::BOB] {
        assert!(
            !told[0].contains(name),
            "{name} named to a stranger: {told:?}"
        );
    }
    // The same click from another workspace, another app or another channel: ignored, and
    // nobody is told anything (they are not ours to talk to).
    for extra in [
        json!({ "team": "T0OTHERORG1" }),
        json!({ "app": "A0OTHERAPP1" }),
    ] {
        run.slack
            .click(slack::ALICE, "approve", ordinary, extra.clone());
        run.slack
            .submit(slack::ALICE, ordinary, "deny", "from elsewhere", extra);
    }
    // (A modal's submission names no channel: only a modal the app opened can be submitted.)
    run.slack.click(
        slack::ALICE,
        "approve",
        ordinary,
        json!({ "channel": "C0ELSEWHERE" }),
    );
    // The owner may not approve their own token, from Slack as anywhere.
    run.slack.click(slack::ALICE, "approve", own, json!({}));
    let told = run.wait_until_told(slack::ALICE, 1);
    assert!(told[0].contains("owns this token"), "{told:?}");
    // Above slack.decide_up_to: the CLI, not Slack, and not by a forged submission either.
    run.slack.click(slack::BOB, "approve", risky, json!({}));
    run.slack
        .submit(slack::BOB, risky, "approve", "looks fine", json!({}));
    let told = run.wait_until_told(slack::BOB, 2);
    assert!(
        told.iter().all(|text| text.contains("critical risk")),
        "{told:?}"
    );
    assert!(told[0].contains("patdesk approve"), "{told:?}");

    // Every envelope was acknowledged (Slack would redeliver otherwise) ...
    wait_for(10, || {
        let state = run.slack.state();
        state["envelopes"]
            .as_array()
            .is_some_and(|all| all.iter().all(|e| e["acked_ms"].is_u64()))
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "unacknowledged envelopes: {}",
            run.slack.state()["envelopes"]
        )
    });
    // ... and nothing was decided or recorded.
    for id in [ordinary, own, risky] {
        assert_eq!(run.state_of(id), RequestState::InReview);
    }
    assert_eq!(run.events(), events, "\n{}", run.desk.log());
    for github_id in [9201, 9202, 9203] {
        assert_eq!(run.github_calls(github_id, "approve"), 0);
        assert_eq!(run.github_calls(github_id, "deny"), 0);
    }
    assert!(
        run.told(slack::ALICE).len() == 1,
        "foreign payloads were answered: {:?}",
        run.told(slack::ALICE)
    );
    assert!(
        run.desk.log().contains("Slack payload refused"),
        "{}",
        run.desk.log()
    );
}

#[test]
fn refreshes_drops_silence_duplicates_and_load_lose_no_click_and_decide_nothing_twice() {
    mailserver::require();
    let pending: Vec<Value> = (1..=6)
        .map(|n| with_purpose(9300 + n, "dave", &format!("chaos-{n}")))
        .collect();
    let run = SlackDesk::start("slack-chaos", pending, "medium");
    let ids: Vec<i64> = (1..=6).map(|n| run.posted(9300 + n)).collect();
    let approved = |n: usize| run.state_of(ids[n]) == RequestState::Approved;
    let wait_approved = |n: usize, what: &str| {
        wait_for(30, || approved(n).then_some(())).unwrap_or_else(|| {
            panic!(
                "{what}: the click on PAT-{} was lost\n{}\n{}",
                ids[n],
                run.slack.state(),
                run.desk.log()
            )
        })
    };

    // The same click delivered three times: one decision.
    run.slack
        .click(slack::ALICE, "approve", ids[0], json!({ "copies": 3 }));
    wait_approved(0, "duplicates");

    // Slack asks for a refresh and the click comes while the old connection still stands.
    let before = run.slack.state()["connections_total"].as_u64().unwrap_or(0);
    run.slack.disconnect("refresh_requested", 1500);
    run.slack.click(slack::ALICE, "approve", ids[1], json!({}));
    wait_approved(1, "refresh");
    wait_for(20, || {
        (run.slack.state()["connections_total"].as_u64().unwrap_or(0) > before).then_some(())
    })
    .expect("a new connection was opened on refresh_requested");

    // The connection is dropped at once (a warning followed by a close).
    run.slack.disconnect("warning", 0);
    run.slack.click(slack::ALICE, "approve", ids[2], json!({}));
    wait_approved(2, "drop");

    // A half-open socket: nothing comes back, not even pongs. The daemon replaces it, and
    // Slack's redelivery of the unacknowledged click reaches the new one.
    wait_for(20, || {
        (run.slack.state()["connections_open"].as_u64() == Some(1)).then_some(())
    })
    .expect("one connection again");
    run.slack.silence();
    run.slack.click(slack::ALICE, "approve", ids[3], json!({}));
    wait_approved(3, "half-open");

    // Load: a burst of envelopes patdesk does not act on, with clicks among them.
    for n in 0..100 {
        run.slack.event(json!({
            "type": "events_api",
            "payload": { "event": { "type": "message", "text": format!("noise {n}") } }
        }));
        if n == 50 {
            run.slack.click(slack::ALICE, "approve", ids[4], json!({}));
            run.slack
                .click(slack::BOB, "approve", ids[5], json!({ "copies": 2 }));
        }
    }
    wait_approved(4, "load");
    wait_approved(5, "load, duplicated");

    // Every envelope acknowledged within Slack's 3 s, but the click sent into the silence.
    // The clicks were decided halfway through the burst: the acknowledgements of its last
    // envelopes may still be on their way, so they are awaited (each carries the time it
    // took, which is what is judged) before the times are looked at.
    let unanswered = |state: &Value| {
        state["envelopes"].as_array().map_or(0, |envelopes| {
            envelopes
                .iter()
                .filter(|e| e["attempts"] == 1 && e["acked_ms"].is_null())
                .count()
        })
    };
    let state = wait_for(10, || {
        let state = run.slack.state();
        (unanswered(&state) <= 1).then_some(state)
    })
    .unwrap_or_else(|| run.slack.state());
    let envelopes = state["envelopes"].as_array().cloned().unwrap_or_default();
    let late: Vec<&Value> = envelopes
        .iter()
        .filter(|e| e["attempts"] == 1 && e["acked_ms"].as_u64().is_none_or(|ms| ms >= 3000))
        .collect();
    assert!(
        late.len() <= 1,
        "late or missing acknowledgements: {late:?}"
    );

    // Nothing decided twice: one approval event and one GitHub call per request.
    for (n, id) in ids.iter().enumerate() {
        let approvals = common::count(
            &run.desk.folder.db(),
            &format!("SELECT COUNT(*) FROM events WHERE request_id = {id} AND kind = 'approved'"),
        );
        assert_eq!(approvals, 1, "PAT-{id}");
        run.wait_for_github(9301 + n as i64, "approve");
        assert_eq!(run.github_calls(9301 + n as i64, "approve"), 1, "PAT-{id}");
    }
    // The second copy of a decided click is not refused to its clicker either: it is the same
    // click, taken once.
    assert!(
        run.told(slack::ALICE).is_empty() && run.told(slack::BOB).is_empty(),
        "{:?} {:?}",
        run.told(slack::ALICE),
        run.told(slack::BOB)
    );
}

/// `check-config --connect` proves both tokens and the channel before the daemon needs them.
#[test]
fn check_config_connects_with_both_tokens_and_finds_the_bot_in_the_channel() {
    let check = |slack: &SlackStandin, bot_token: &str| {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let write = |name: &str, contents: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, contents).expect("write");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
        };
        write("slack-app-token", slack::APP_TOKEN);
        write("slack-bot-token", bot_token);
        write(
            "patdesk.toml",
            &format!(
                "[store]\npath = \"patdesk.db\"\n{}{}",
                slack::team_section(),
                slack.section("medium")
            ),
        );
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["check-config", "--connect", "--config"])
            .arg(dir.path().join("patdesk.toml"))
            .output()
            .expect("runs");
        (
            output.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    };
    let slack = SlackStandin::start();
    let (code, text) = check(&slack, slack::BOT_TOKEN);
    assert_eq!(code, Some(0), "{text}");
    for expected in [
        "Socket Mode connection URL",
        &format!("signing in to Slack workspace {}", slack::TEAM_ID),
        &format!("finding the bot in channel {}", slack::CHANNEL),
        &format!(
            "alice (OS user {}, Slack user {})",
            common::users::ALICE,
            slack::ALICE
        ),
        "decides up to medium risk, 2 member(s) mapped",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    let (code, text) = check(&slack, "xoxb-not-the-bot");
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("invalid_auth"), "{text}");
    // The app-level token where the bot token belongs: Slack says which is wrong.
    let (code, text) = check(&slack, slack::APP_TOKEN);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("not_allowed_token_type"), "{text}");

    let outside = SlackStandin::start_with(&["--bot-not-in-channel"]);
    let (code, text) = check(&outside, slack::BOT_TOKEN);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("the bot is not a member"), "{text}");
}

/// The channel's bookkeeping: a request in review is due for a post until posted; once posted
/// it is due again only when its state moves on, or when the config names another channel.
#[test]
fn a_message_is_due_once_per_state_and_again_in_a_new_channel() {
    use common::builders::RequestBuilder;
    use patdesk::store::SlackDue;
    let dir = tempfile::TempDir::new().expect("temp dir");
    let mut store = patdesk::store::Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    let id = RequestBuilder::tidy().github_id(1).insert(&mut store);
    let waiting = RequestBuilder::tidy()
        .github_id(2)
        .state(RequestState::AwaitingPurpose)
        .insert(&mut store);
    assert_eq!(
        store.slack_due(slack::CHANNEL).expect("due"),
        [SlackDue::Post { request_id: id }],
        "only the request in review (not PAT-{waiting})"
    );
    store
        .slack_shown(
            id,
            slack::CHANNEL,
            "1.000001",
            &patdesk::store::slack_view(RequestState::InReview, 0),
        )
        .expect("shown");
    assert_eq!(store.slack_due(slack::CHANNEL).expect("due"), []);
    assert_eq!(
        store.slack_due("C0NEWCHAN01").expect("due"),
        [SlackDue::Post { request_id: id }],
        "another channel gets its own message"
    );
    // A first approval of two: still in review, but the message is due to say who approved.
    let mut needs_two = patdesk::review::ReviewPolicy::default();
    needs_two.approvals_needed.low = 2;
    needs_two.approvals_needed.medium = 2;
    needs_two.approvals_needed.high = 2;
    let alice = patdesk::lifecycle::Member {
        login: "alice".to_string(),
        os_user: "pd-alice".to_string(),
        uid: 4241,
        authenticated_by: patdesk::lifecycle::Authentication::PeerCredentials,
        slack: None,
    };
    let given = patdesk::decide::approve(&mut store, &alice, id, Some("fine"), None, &needs_two)
        .expect("approve");
    assert_eq!(given.state, RequestState::InReview);
    let update = SlackDue::Update {
        request_id: id,
        channel: slack::CHANNEL.to_string(),
        ts: "1.000001".to_string(),
    };
    assert_eq!(
        store.slack_due(slack::CHANNEL).expect("due"),
        std::slice::from_ref(&update)
    );
    store
        .slack_shown(
            id,
            slack::CHANNEL,
            "1.000001",
            &patdesk::store::slack_view(RequestState::InReview, 1),
        )
        .expect("shown");
    assert_eq!(store.slack_due(slack::CHANNEL).expect("due"), []);
    store
        .connection()
        .execute("UPDATE requests SET state = 'approved' WHERE id = ?1", [id])
        .expect("decided");
    assert_eq!(store.slack_due(slack::CHANNEL).expect("due"), [update]);
}
