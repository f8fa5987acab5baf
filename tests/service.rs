//! The service as an admin runs it: one daemon per database, `patdesk status` as a health
//! check, alerts reaching the team, and the systemd unit's hardening.

mod common;

use std::time::Duration;

use common::desk::{Desk, DeskSetup, signal, stop, wait_for};
use common::mailserver::{TestFolder, inbox};
use common::standin::pending;
use common::webhook::Webhook;
use serde_json::{Value, json};

fn status(desk: &Desk) -> (Option<i32>, Value) {
    let output = desk.patdesk(&["status", "--json"]);
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "status --json: {e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), json)
}

fn part_ok(status: &Value, part: &str) -> bool {
    status["parts"].as_array().is_some_and(|parts| {
        parts
            .iter()
            .any(|p| p["part"] == part && p["ok_at"].is_string() && p["failing_since"].is_null())
    })
}

#[test]
fn a_second_daemon_on_the_same_database_is_refused_and_names_the_first() {
    let desk = Desk::new(TestFolder::new("lock"), DeskSetup::default());
    let mut first = desk.start_daemon();
    wait_for(20, || desk.log().contains("patdesk running").then_some(()))
        .unwrap_or_else(|| panic!("the first daemon did not start\n{}", desk.log()));
    let mut second = desk.start_daemon();
    let refused = wait_for(20, || second.try_wait().ok().flatten())
        .unwrap_or_else(|| panic!("the second daemon kept running\n{}", desk.log()));
    assert!(!refused.success());
    let log = desk.log();
    assert!(
        log.contains(&format!(
            "another patdesk (pid {}) is already running",
            first.id()
        )),
        "{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file has no colour codes:\n{log:?}"
    );
    assert!(stop(&mut first).success(), "{log}");
}

/// A desk whose alerts go to a Slack stand-in, a part counting as stalled after 5 minutes,
/// and dave's request pending on GitHub.
fn status_desk(name: &str) -> (Webhook, Desk) {
    let webhook = Webhook::start();
    let desk = Desk::new(
        TestFolder::new(name),
        DeskSetup {
            pending: vec![pending(9101, "dave", &format!("{name}-{}", std::process::id()), None)],
            extra: "[alerts]\nslack_webhook = { file = \"slack-webhook\" }\nweekly_report = \"off\"\nstalled_after_minutes = 5\n"
                .to_string(),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("slack-webhook", &webhook.url);
    (webhook, desk)
}

/// `status --json` once the daemon reports intake and the sync working.
fn healthy_status(desk: &Desk) -> Value {
    wait_for(30, || {
        let (code, status) = status(desk);
        (code == Some(0) && part_ok(&status, "imap") && part_ok(&status, "github:acme-corp"))
            .then_some(status)
    })
    .unwrap_or_else(|| panic!("never healthy: {:?}\n{}", status(desk), desk.log()))
}

/// GitHub starts failing; the failure is backdated past the threshold, as if it had gone on
/// for 20 minutes.
fn stall_the_sync(desk: &Desk) {
    healthy_status(desk);
    desk.standin.faults(json!({ "fail_next": 1_000_000 }));
    wait_for(30, || {
        let (_, status) = status(desk);
        status["parts"]
            .as_array()?
            .iter()
            .any(|p| p["part"] == "github:acme-corp" && p["failing_since"].is_string())
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the failure was not recorded\n{}", desk.log()));
    let twenty_minutes_ago =
        (patdesk::clock::Clock::system().now() - jiff::SignedDuration::from_mins(20)).to_string();
    desk.store()
        .connection()
        .execute(
            "UPDATE health SET failing_since = ?1 WHERE part = 'github:acme-corp'",
            [&twenty_minutes_ago],
        )
        .expect("backdate");
}

#[test]
fn status_fails_when_the_daemon_is_not_running() {
    let (_webhook, desk) = status_desk("status-down");
    let (code, before) = status(&desk);
    assert_eq!(code, Some(7), "{before}");
    assert!(
        before["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("not running")),
        "{before}"
    );
}

#[test]
fn status_reports_each_part_the_counts_and_the_database() {
    let (_webhook, desk) = status_desk("status");
    let mut daemon = desk.start_daemon();
    let healthy = healthy_status(&desk);
    assert_eq!(healthy["daemon"], json!(daemon.id().to_string()));
    assert_eq!(
        healthy["counts"]["requests"],
        json!([["awaiting_purpose", 1]])
    );
    assert_eq!(healthy["breaker"]["paused"], json!(false));
    assert!(
        healthy["audit_head"]["seq"]
            .as_i64()
            .is_some_and(|seq| seq > 0)
    );
    let readable = desk.patdesk(&["status"]);
    let text = String::from_utf8_lossy(&readable.stdout);
    assert!(
        text.contains("running (pid") && text.contains("github:acme-corp"),
        "{text}"
    );
    let size = std::fs::metadata(desk.folder.db()).expect("database").len();
    assert!(
        healthy["database"]["bytes"]
            .as_u64()
            .is_some_and(|bytes| bytes > 0 && bytes <= size),
        "the database's size: {healthy}"
    );
    assert!(
        text.lines().any(|line| line.starts_with("database")
            && line.contains(" MB (")
            && line.contains("mail(s) whole")),
        "{text}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// A stalled part is a problem `status` names, and is told to the team once per outage;
/// neither says a secret, nor does the log.
#[test]
fn a_stalled_sync_fails_status_and_is_alerted_for_once() {
    let (webhook, desk) = status_desk("status-stalled");
    let mut daemon = desk.start_daemon();
    stall_the_sync(&desk);
    let (code, stalled) = status(&desk);
    assert_eq!(code, Some(7), "{stalled}");
    assert!(
        stalled["problems"]
            .as_array()
            .is_some_and(|problems| problems.iter().any(|p| p
                .as_str()
                .is_some_and(|p| p.starts_with("github:acme-corp failing since")))),
        "{stalled}"
    );
    let alert = wait_for(20, || {
        webhook
            .received()
            .into_iter()
            .find(|body| body.contains("GitHub sync stalled"))
    })
    .unwrap_or_else(|| panic!("no stall alert: {:?}\n{}", webhook.received(), desk.log()));
    assert!(alert.contains("github:acme-corp"), "{alert}");
    desk.wait_for_alert_rounds(4);
    let stall_alerts = webhook
        .received()
        .iter()
        .filter(|body| body.contains("GitHub sync stalled"))
        .count();
    assert_eq!(stall_alerts, 1, "one alert per outage");
    for output in [
        desk.patdesk(&["status"]),
        desk.patdesk(&["status", "--json"]),
    ] {
        let shown = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        for secret in [
            "secret-part",
            common::mailserver::PASSWORD,
            common::desk::SIGNING_KEY,
        ] {
            assert!(!shown.contains(secret), "status shows {secret:?}: {shown}");
        }
    }
    assert!(stop(&mut daemon).success(), "{}", desk.log());
    assert!(
        !desk.log().contains("secret-part"),
        "the webhook URL is a secret"
    );
}

#[test]
fn a_critical_request_reaches_slack_and_the_alert_list_once_and_waits_while_slack_is_down() {
    let webhook = Webhook::start();
    webhook.answer(500);
    let token = format!("admin-writer-{}", std::process::id());
    // A token's name is the requester's to choose: it must not ping the channel, disguise a
    // link in Slack, or print a line of its own.
    let hostile_name = format!(
        "{token} <!channel> <https://evil.example/login|Re-authenticate>\nAPPROVED by the security team"
    );
    let mut critical = pending(
        9201,
        "dave",
        &hostile_name,
        Some("It rewrites branch protection on every repository of acme-corp."),
    );
    critical["permissions"] =
        json!({ "repository": { "administration": "write", "metadata": "read" } });
    let desk = Desk::new(
        TestFolder::new("alerts"),
        DeskSetup {
            pending: vec![critical],
            extra: "[alerts]\nslack_webhook = { file = \"slack-webhook\" }\nweekly_report = \"off\"\nemail = \"erin@example.org\"\n"
                .to_string(),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("slack-webhook", &webhook.url);
    let mut daemon = desk.start_daemon();

    let raised = wait_for(30, || {
        let alerts = desk.store().alerts().ok()?;
        alerts
            .into_iter()
            .find(|alert| alert.kind == "critical_request")
    })
    .unwrap_or_else(|| panic!("no critical alert raised\n{}", desk.log()));
    assert!(raised.message.contains(&token), "{}", raised.message);
    wait_for(30, || (webhook.refused() >= 3).then_some(()))
        .unwrap_or_else(|| panic!("the alert was not retried\n{}", desk.log()));
    assert!(
        webhook.received().is_empty(),
        "Slack answered 500: nothing delivered"
    );
    let (_, waiting) = status(&desk);
    assert!(
        waiting["counts"]["undelivered_alerts"]
            .as_i64()
            .is_some_and(|n| n >= 1),
        "{waiting}"
    );

    webhook.answer(200);
    let posted = wait_for(20, || {
        webhook
            .received()
            .into_iter()
            .find(|body| body.contains("new critical-risk request"))
    })
    .unwrap_or_else(|| panic!("nothing posted\n{}", desk.log()));
    let posted: Value = serde_json::from_str(&posted).expect("Slack's JSON");
    assert!(
        posted["text"]
            .as_str()
            .is_some_and(|text| text.contains(&token)),
        "{posted}"
    );
    let text = posted["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("&lt;!channel&gt; &lt;https://evil.example/login|Re-authenticate&gt;")
            && !text.contains('<')
            && !text.contains('>'),
        "outside text escaped for Slack: {posted}"
    );
    assert_eq!(posted["mrkdwn"], false, "formatting off: {posted}");
    assert_eq!(
        text.lines().count(),
        2,
        "the summary and the message, one line each: {posted}"
    );
    assert!(
        text.contains("\\nAPPROVED by the security team"),
        "{posted}"
    );

    let runtime = common::runtime();
    let mail = wait_for(20, || {
        runtime
            .block_on(inbox(
                "erin",
                &format!("SUBJECT \"critical-risk\" BODY \"{token}\""),
            ))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no alert mail for erin\n{}", desk.log()));
    let mail = String::from_utf8_lossy(&mail);
    assert!(mail.contains("Auto-Submitted: auto-generated"), "{mail}");
    assert!(
        !mail
            .lines()
            .any(|line| line.starts_with("APPROVED by the security team")),
        "a token name printed a line of its own in the alert mail: {mail}"
    );

    desk.wait_for_alert_rounds(4);
    let critical_posts = webhook
        .received()
        .iter()
        .filter(|body| body.contains("new critical-risk request"))
        .count();
    assert_eq!(critical_posts, 1, "each alert once");
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

#[test]
fn the_audit_head_reaches_slack_at_start_and_after_a_decision_and_verifies() {
    let webhook = Webhook::start();
    let desk = Desk::new(
        TestFolder::new("head"),
        DeskSetup {
            pending: vec![pending(
                9301,
                "carol",
                &format!("issue-reader-{}", std::process::id()),
                Some("Reads the issues of acme-corp/api for the weekly report"),
            )],
            extra:
                "[alerts]\nslack_webhook = { file = \"slack-webhook\" }\nweekly_report = \"off\"\n"
                    .to_string(),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("slack-webhook", &webhook.url);
    let mut daemon = desk.start_daemon();
    // Each head posted, as `SEQ:HASH` with why it was sent.
    let heads = || -> Vec<(String, String)> {
        webhook
            .received()
            .iter()
            .filter_map(|body| {
                let text = serde_json::from_str::<Value>(body).ok()?["text"]
                    .as_str()?
                    .to_string();
                let rest = text.split_once("audit head ")?.1;
                let (head, why) = rest.split_once(" (")?;
                Some((head.to_string(), why.split_once(')')?.0.to_string()))
            })
            .collect()
    };
    let first = wait_for(30, || heads().first().cloned())
        .unwrap_or_else(|| panic!("no head posted at start\n{}", desk.log()));
    assert_eq!(first.1, "the first one sent");
    // The head goes off the host with its MAC, made with a key patdesk's database does not hold.
    assert!(
        webhook
            .received()
            .iter()
            .any(|body| body.contains("Its MAC, for whoever holds the signing key: ")),
        "{:?}",
        webhook.received()
    );

    let id = wait_for(30, || desk.request_id(9301))
        .unwrap_or_else(|| panic!("the request was not synced\n{}", desk.log()));
    let approve = desk.patdesk_as(
        "alice",
        &["approve", &id.to_string(), "--reason", "one repository"],
    );
    assert!(
        approve.status.success(),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    let why = format!("after PAT-{id} approved by alice");
    let (after, _) = wait_for(20, || {
        heads().into_iter().find(|(_, reason)| *reason == why)
    })
    .unwrap_or_else(|| panic!("no head after the approval: {:?}\n{}", heads(), desk.log()));
    let approved_seq: i64 = desk
        .store()
        .connection()
        .query_row(
            "SELECT seq FROM events WHERE kind = 'approved' AND request_id = ?1",
            [id],
            |row| row.get(0),
        )
        .expect("the approval's event");
    let seq: i64 = after
        .split(':')
        .next()
        .and_then(|seq| seq.parse().ok())
        .expect("SEQ:HASH");
    assert!(
        seq >= approved_seq,
        "the head sent covers the approval ({after})"
    );

    let verify = desk.patdesk_as("alice", &["audit", "verify", "--head", &after]);
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    desk.wait_for_alert_rounds(4);
    assert_eq!(
        heads().len(),
        2,
        "one at start, one after the decision: {:?}",
        heads()
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// `systemd-analyze security` rates the unit's sandbox: 1.2 or lower, with the control socket
/// (and without PrivateUsers=, which would hide the callers' uids).
#[test]
fn the_systemd_unit_is_hardened_to_an_exposure_of_at_most_1_2() {
    let unit = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/patdesk.service");
    let output = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian's systemd package) must be installed");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    let exposure: f64 = text
        .lines()
        .find_map(|line| line.split("exposure level for patdesk.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(exposure <= 1.2, "exposure {exposure}:\n{text}");
}

/// Under systemd (`Type=notify`, `WatchdogSec=`): READY once intake has made contact, a status
/// line, the watchdog's "alive", and STOPPING on SIGTERM — all on `$NOTIFY_SOCKET`.
#[test]
fn systemd_hears_ready_status_watchdog_and_stopping() {
    let desk = Desk::new(TestFolder::new("notify"), DeskSetup::default());
    let socket_dir = tempfile::TempDir::new().expect("dir");
    let path = socket_dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("timeout");
    let mut daemon = desk.start_daemon_with(&[
        ("NOTIFY_SOCKET", path.to_str().expect("UTF-8 path")),
        ("WATCHDOG_USEC", "1000000"),
    ]);
    let mut heard: Vec<String> = Vec::new();
    let has =
        |prefix: &'static str| move |heard: &[String]| heard.iter().any(|m| m.starts_with(prefix));
    assert!(
        listen(&socket, &mut heard, &has("READY=1"), 40),
        "{heard:?}\n{}",
        desk.log()
    );
    assert!(
        listen(
            &socket,
            &mut heard,
            &|heard| heard.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2,
            5
        ),
        "alive at least every half second of the 1 s watchdog: {heard:?}"
    );
    assert!(
        heard.iter().any(|m| m.starts_with("STATUS=intake ")),
        "{heard:?}"
    );
    // READY comes with a status line that says how the first contact went, not "connecting"
    // for the rest of an interval.
    let ready = heard
        .iter()
        .position(|m| m == "READY=1")
        .expect("READY heard");
    let status_at_ready = heard[..ready]
        .iter()
        .rev()
        .find(|m| m.starts_with("STATUS="))
        .expect("a status line before READY");
    assert!(
        status_at_ready.starts_with("STATUS=intake ok · github "),
        "{status_at_ready}: {heard:?}"
    );
    // A reload that drops [github]: the line sent with the new READY names only intake.
    let config = std::fs::read_to_string(&desk.config).expect("config");
    let (before, rest) = config.split_once("[github]").expect("a [github] section");
    let after = rest.split_once("[[github.orgs]]").map_or("", |(_, orgs)| {
        orgs.split_once("\n[").map_or("", |(_, next)| next)
    });
    let without_github = if after.is_empty() {
        before.to_string()
    } else {
        format!("{before}[{after}")
    };
    std::fs::write(&desk.config, &without_github).expect("config without [github]");
    heard.clear();
    signal(&daemon, "HUP");
    assert!(
        listen(&socket, &mut heard, &has("READY=1"), 40),
        "{heard:?}\n{}",
        desk.log()
    );
    let ready = heard.iter().position(|m| m == "READY=1").expect("READY");
    let status_after_reload = heard[..ready]
        .iter()
        .rev()
        .find(|m| m.starts_with("STATUS="))
        .expect("a status line before READY");
    assert!(
        status_after_reload.starts_with("STATUS=intake ok · outbox "),
        "{status_after_reload}: {heard:?}\n{}",
        desk.log()
    );
    let asked = std::time::Instant::now();
    signal(&daemon, "TERM");
    assert!(
        listen(&socket, &mut heard, &has("STOPPING=1"), 10),
        "{heard:?}"
    );
    assert!(daemon.wait().expect("stops").success(), "{}", desk.log());
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "SIGTERM to exit took {:?}",
        asked.elapsed()
    );
}

/// Collects what systemd would hear until `wanted` holds or `seconds` pass.
fn listen(
    socket: &std::os::unix::net::UnixDatagram,
    heard: &mut Vec<String>,
    wanted: &dyn Fn(&[String]) -> bool,
    seconds: u64,
) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    let mut buffer = [0u8; 4096];
    while !wanted(heard) && std::time::Instant::now() < deadline {
        if let Ok(read) = socket.recv(&mut buffer) {
            heard.push(String::from_utf8_lossy(&buffer[..read]).to_string());
        }
    }
    wanted(heard)
}

/// SIGHUP reads the config and templates again: a broken config is refused and the running
/// one kept; a good one (here, with the admin's own question) is taken.
#[test]
fn sighup_refuses_a_broken_config_and_takes_a_good_one_with_its_templates() {
    let desk = Desk::new(TestFolder::new("reload"), DeskSetup::default());
    let mut daemon = desk.start_daemon();
    wait_for(20, || desk.log().contains("patdesk running").then_some(()))
        .unwrap_or_else(|| panic!("not started\n{}", desk.log()));
    let good = std::fs::read_to_string(&desk.config).expect("config");

    std::fs::write(&desk.config, format!("surprise = true\n{good}")).expect("break the config");
    signal(&daemon, "HUP");
    wait_for(20, || {
        desk.log().contains("new config refused").then_some(())
    })
    .unwrap_or_else(|| panic!("no refusal\n{}", desk.log()));
    assert!(
        desk.log().contains("surprise"),
        "the refusal names the key:\n{}",
        desk.log()
    );
    assert!(daemon.try_wait().expect("wait").is_none(), "still running");

    let templates = desk.config.parent().expect("dir").join("our-templates");
    std::fs::create_dir_all(&templates).expect("templates dir");
    std::fs::write(
        templates.join("question.txt"),
        "Subject: [PAT-{{ request }}] Acme platform team: why do you need {{ token_name }}?\n\n\
         Hello {{ owner }}, please tell us what {{ token_name }} is for in {{ org }}.\n",
    )
    .expect("template");
    std::fs::write(
        &desk.config,
        format!("{good}[mail]\ntemplates_dir = \"our-templates\"\n"),
    )
    .expect("config");
    signal(&daemon, "HUP");
    wait_for(20, || {
        desk.log()
            .contains("config and templates reloaded")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("not reloaded\n{}", desk.log()));

    let token = format!("reloaded-{}", std::process::id());
    desk.set_pending(&[pending(9301, "dave", &token, None)]);
    let runtime = common::runtime();
    let question = wait_for(30, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question\n{}", desk.log()));
    let question = String::from_utf8_lossy(&question);
    assert!(
        question.contains("Acme platform team: why do you need"),
        "{question}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// An engineer's long transaction holds the database's write lock past SQLite's busy timeout: intake and the sync
/// wait or fail and retry, the daemon stays up, and once the lock is gone the new request, its
/// question and the mail that arrived meanwhile are each recorded and sent once.
#[test]
fn a_database_locked_by_a_long_transaction_delays_the_daemon_and_loses_nothing() {
    let desk = Desk::new(TestFolder::new("locked"), DeskSetup::default());
    let mut daemon = desk.start_daemon();
    wait_for(20, || {
        desk.log().contains("mail intake connected").then_some(())
    })
    .unwrap_or_else(|| panic!("not started\n{}", desk.log()));

    let engineer = rusqlite::Connection::open(desk.folder.db()).expect("open");
    engineer
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let token = format!("while-locked-{}", std::process::id());
    desk.set_pending(&[pending(9501, "dave", &token, None)]);
    common::mailserver::send(
        &desk.address(),
        &common::mailserver::mail(1, &format!("locked-{}", std::process::id())),
    );
    // Held past SQLite's busy timeout (10 s, a real wait): a write gave up, and was logged.
    wait_for(60, || {
        desk.log().contains("database is locked").then_some(())
    })
    .unwrap_or_else(|| panic!("no write waited on the lock\n{}", desk.log()));
    assert!(
        daemon.try_wait().expect("wait").is_none(),
        "still running\n{}",
        desk.log()
    );
    let store = desk.store();
    let messages = |store: &patdesk::store::Store| -> i64 {
        store
            .connection()
            .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
            .unwrap_or(-1)
    };
    assert_eq!(
        messages(&store),
        0,
        "nothing written while the lock was held"
    );
    engineer.execute_batch("ROLLBACK").expect("release");

    let runtime = common::runtime();
    wait_for(60, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question after the lock\n{}", desk.log()));
    wait_for(30, || (messages(&store) == 1).then_some(()))
        .unwrap_or_else(|| panic!("the mail was not taken in once\n{}", desk.log()));
    // A second question would follow the first within moments: Postfix's delivery time.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .len(),
        1,
        "one question"
    );
    assert_eq!(messages(&store), 1);
    assert!(stop(&mut daemon).success(), "{}", desk.log());
    let verify = desk.patdesk(&["audit", "verify", "--break-glass"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

/// SIGTERM stops every task within 2 s (systemd gives the unit 15): with only the records to
/// serve (which once waited 30 s for a first contact with a mailbox it did not have), and with
/// the mailbox, GitHub and SMTP all running.
#[test]
fn sigterm_stops_every_task_within_two_seconds() {
    let stopped_in = |daemon: &mut common::KillOnDrop| {
        let asked = std::time::Instant::now();
        assert!(stop(daemon).success());
        asked.elapsed()
    };
    let dir = tempfile::TempDir::new().expect("temp dir");
    let config = common::control::records_only_config(dir.path(), "patdesk.toml");
    let mut records_only = common::control::Daemon::start(&config).process;
    let records_only = stopped_in(&mut records_only);

    let desk = Desk::new(TestFolder::new("sigterm"), DeskSetup::default());
    let mut daemon = desk.start_daemon();
    wait_for(30, || {
        desk.log().contains("mail intake connected").then_some(())
    })
    .unwrap_or_else(|| panic!("not started\n{}", desk.log()));
    let whole = stopped_in(&mut daemon);
    println!("SIGTERM to exit: records only {records_only:?}, mailbox, GitHub and SMTP {whole:?}");
    for (what, took) in [("records only", records_only), ("the whole service", whole)] {
        assert!(
            took < Duration::from_secs(2),
            "{what} took {took:?} to stop\n{}",
            desk.log()
        );
    }
}

/// The database replaced under the running daemon (a restore done wrong, a stray `cp`): the
/// daemon writes nothing more, tells the team once on Slack (an alert cannot be recorded in a
/// database it no longer has), and `status` fails.
#[test]
fn a_database_replaced_under_the_daemon_is_told_and_fails_status() {
    let webhook = Webhook::start();
    let desk = Desk::new(
        TestFolder::new("replaced"),
        DeskSetup {
            extra: "[alerts]\nslack_webhook = { file = \"slack-webhook\" }\nweekly_report = \"off\"\nsend_head = \"off\"\n"
                .to_string(),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("slack-webhook", &webhook.url);
    let mut daemon = desk.start_daemon();
    wait_for(30, || {
        desk.log().contains("mail intake connected").then_some(())
    })
    .unwrap_or_else(|| panic!("not started\n{}", desk.log()));
    let db = desk.folder.db();
    let copy = db.with_extension("copy");
    std::fs::copy(&db, &copy).expect("copy");
    std::fs::rename(&copy, &db).expect("replace");
    let told = wait_for(30, || {
        webhook
            .received()
            .into_iter()
            .find(|body| body.contains("database removed or replaced"))
    })
    .unwrap_or_else(|| panic!("the team was not told\n{}", desk.log()));
    assert!(told.contains("restart the service"), "{told}");
    let status = desk.patdesk_as("alice", &["status"]);
    assert_eq!(status.status.code(), Some(7), "{status:?}");
    desk.wait_for_alert_rounds(2);
    assert_eq!(
        webhook
            .received()
            .iter()
            .filter(|body| body.contains("database removed or replaced"))
            .count(),
        1,
        "told once"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// A member's decision wakes the tasks that carry it: with the GitHub task's and the outbox's
/// own looks an hour apart, the approval still reaches GitHub and the requester's mail goes
/// to SMTP, because the control socket rings both once the decision commits.
#[test]
fn a_decision_wakes_the_tasks_that_carry_it() {
    let token = format!("woken-{}", std::process::id());
    let desk = Desk::new(
        TestFolder::new("woken"),
        DeskSetup {
            pending: vec![pending(
                9401,
                "dave",
                &token,
                Some("Reads the issues of acme-corp/api for the weekly report."),
            )],
            sync_seconds: 3600,
            intervals: "[intervals]\noutbox_seconds = 3600\nlook_for_commits_seconds = 3600\n\
                        alerts_seconds = 0.25\nstatus_seconds = 1\n"
                .to_string(),
            ..DeskSetup::default()
        },
    );
    let mut daemon = desk.start_daemon();
    let id = wait_for(30, || desk.request_id(9401))
        .unwrap_or_else(|| panic!("the start-up sync did not record it\n{}", desk.log()));
    let approve = desk.patdesk_as(
        "alice",
        &["approve", &id.to_string(), "--reason", "the weekly report"],
    );
    assert!(
        approve.status.success(),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    wait_for(30, || {
        desk.standin
            .calls()
            .iter()
            .any(|call| call["id"] == 9401 && call["action"] == "approve")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the approval did not reach GitHub\n{}", desk.log()));
    wait_for(30, || {
        desk.store()
            .outbox_for(id)
            .ok()?
            .iter()
            .any(|mail| mail.kind == "approval" && mail.state == "sent")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the approval mail was not sent\n{}", desk.log()));
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}
