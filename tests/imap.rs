//! Mail intake against the project's real Dovecot and Postfix (`scripts/mailserver`). Each test
//! watches a folder of its own in the team mailbox.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patdesk::config::{Endpoint, Security};
use patdesk::imap::{ConnectError, Login, connect};
use patdesk::mail::MailPolicy;
use patdesk::store::Store;

use common::mailserver::{
    self, IMAP_PORT, IMAPS_PORT, TestFolder, append, count, create, filled, mail, team_session,
};
use common::stored_mails;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_backlog_is_stored_exactly_once_and_moved() {
    mailserver::require();
    let folder = TestFolder::new("backlog");
    let runtime = runtime();
    runtime.block_on(async {
        let mut admin = filled(&folder, 1000).await;
        let mut intake = folder.intake(MailPolicy::default());
        let mut session = intake.imap.open_session().await.expect("session");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!(report.ingested, 1000);
        assert_eq!(
            count(&mut admin, &folder.name).await,
            0,
            "every mail moved out"
        );
        assert_eq!(count(&mut admin, &folder.processed()).await, 1000);

        let again = intake.catch_up(&mut session).await.expect("catch up again");
        assert_eq!(again.ingested + again.recognised, 0);
    });
    assert_eq!(stored_mails(&folder.db()), 1000);
    assert_eq!(common::distinct_message_ids(&folder.db()), 1000);
}

#[test]
fn mail_stored_but_not_moved_before_a_crash_is_recognised_not_stored_twice() {
    mailserver::require();
    let folder = TestFolder::new("unmoved");
    runtime().block_on(async {
        let mut admin = filled(&folder, 5).await;
        let mut intake = folder.intake(MailPolicy::default());
        let mut session = intake.imap.open_session().await.expect("session");
        assert_eq!(
            intake
                .catch_up(&mut session)
                .await
                .expect("catch up")
                .ingested,
            5
        );
        // As if patdesk died after committing, before the MOVE: the mails are back.
        admin.select(folder.processed()).await.expect("select");
        admin.uid_mv("1:*", &folder.name).await.expect("move back");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!((report.ingested, report.recognised), (0, 5));
        assert_eq!(count(&mut admin, &folder.name).await, 0);
    });
    assert_eq!(stored_mails(&folder.db()), 5);
}

#[test]
fn a_new_uidvalidity_with_the_same_mails_is_not_reprocessed() {
    mailserver::require();
    let folder = TestFolder::new("uidvalidity");
    // Recognised by its content alone.
    let without_id: &[u8] =
        b"From: Carol <carol@example.org>\r\nSubject: no id\r\n\r\nA mail without a Message-ID.\r\n";
    runtime().block_on(async {
        let mut admin = filled(&folder, 3).await;
        append(&mut admin, &folder.name, without_id).await;
        let mut intake = folder.intake(MailPolicy::default());
        let mut session = intake.imap.open_session().await.expect("session");
        let before = session
            .select(&folder.name)
            .await
            .expect("select")
            .uid_validity;
        assert_eq!(
            intake
                .catch_up(&mut session)
                .await
                .expect("catch up")
                .ingested,
            4
        );

        // The folder deleted and recreated with the same mails: a new UIDVALIDITY.
        session.select("INBOX").await.expect("leave the folder");
        admin.select("INBOX").await.expect("leave the folder");
        admin.delete(&folder.name).await.expect("delete");
        create(&mut admin, &folder.name).await;
        for n in 0..3 {
            append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
        }
        append(&mut admin, &folder.name, without_id).await;
        let after = admin
            .select(&folder.name)
            .await
            .expect("select")
            .uid_validity;
        assert_ne!(
            before, after,
            "Dovecot gave the new folder a new UIDVALIDITY"
        );
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!((report.ingested, report.recognised), (0, 4));
    });
    assert_eq!(stored_mails(&folder.db()), 4);
}

#[test]
fn oversize_and_broken_mail_are_recorded_and_the_queue_moves_on() {
    mailserver::require();
    let folder = TestFolder::new("odd");
    runtime().block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
        let mut big = mail(1, &folder.name);
        big.extend(std::iter::repeat_n(b'x', 200 * 1024));
        big.extend_from_slice(b"\r\n");
        append(&mut admin, &folder.name, &big).await;
        append(
            &mut admin,
            &folder.name,
            b"\x00\x01 not a mail at all \xff\xfe\r\n",
        )
        .await;
        append(&mut admin, &folder.name, &mail(3, &folder.name)).await;

        let policy = MailPolicy {
            max_message_bytes: 64 * 1024,
            ..MailPolicy::default()
        };
        let mut intake = folder.intake(policy);
        let mut session = intake.imap.open_session().await.expect("session");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!((report.ingested, report.oversize), (3, 1));
        assert_eq!(count(&mut admin, &folder.name).await, 0);
    });
    let store = Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
    let triage: Vec<_> = store
        .triage(patdesk::store::Page::ALL, false)
        .expect("triage")
        .into_iter()
        .map(|item| item.mail)
        .collect();
    assert!(
        triage.iter().any(|m| m
            .triage_note
            .as_deref()
            .is_some_and(|note| note.contains("size cap"))),
        "{triage:?}"
    );
    assert!(
        triage.iter().any(|m| m.kind == "other"),
        "the broken mail is kept for a person: {triage:?}"
    );
}

#[test]
fn a_mail_that_keeps_failing_goes_to_quarantine() {
    mailserver::require();
    let folder = TestFolder::new("poison");
    runtime().block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
        append(&mut admin, &folder.name, &mail(1, &folder.name)).await;
        append(&mut admin, &folder.name, &mail(2, &folder.name)).await;
        let uidvalidity = admin.select(&folder.name).await.expect("select").uid_validity.expect("uidvalidity");
        // Three earlier tries at UID 1 ended without a commit (patdesk died each time).
        Store::open(&folder.db(), &patdesk::clock::Clock::system())
            .expect("store")
            .connection()
            .execute(
                "INSERT INTO intake_attempts (mailbox, uidvalidity, uid, attempts) VALUES (?1, ?2, 1, 3)",
                rusqlite::params![folder.name, uidvalidity],
            )
            .expect("seed attempts");
        let mut intake = folder.intake(MailPolicy::default());
        let mut session = intake.imap.open_session().await.expect("session");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!((report.quarantined, report.ingested), (1, 1), "the other mail still flows");
        assert_eq!(count(&mut admin, &folder.quarantine()).await, 1);
        assert_eq!(count(&mut admin, &folder.processed()).await, 1);
    });
    let triage = Store::open(&folder.db(), &patdesk::clock::Clock::system())
        .expect("store")
        .triage(patdesk::store::Page::ALL, false)
        .expect("triage");
    assert!(
        triage
            .iter()
            .any(|m| m.mail.triage_note.as_deref() == Some("failed 3 times: quarantined")),
        "{triage:?}"
    );
    // Only its headers are kept: the body is what kept failing.
    let raw: Vec<u8> = Store::open(&folder.db(), &patdesk::clock::Clock::system())
        .expect("store")
        .connection()
        .query_row(
            "SELECT raw FROM messages WHERE triage_note = 'failed 3 times: quarantined'",
            [],
            |row| row.get(0),
        )
        .expect("quarantined mail");
    let whole = mail(1, &folder.name);
    assert!(
        raw.ends_with(b"\r\n\r\n") && raw.len() < whole.len(),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(whole.starts_with(&raw));
}

#[test]
fn an_unknown_certificate_authority_is_refused_clearly() {
    mailserver::require();
    let secret = patdesk::config::Secret::new(mailserver::PASSWORD);
    let error = runtime()
        .block_on(connect(
            &mailserver::endpoint(Security::Tls, IMAPS_PORT, None),
            Login::Password {
                username: "team",
                password: &secret,
            },
            Duration::from_secs(10),
        ))
        .expect_err("refused");
    assert!(matches!(error, ConnectError::Tls { .. }), "{error}");
    assert!(error.to_string().contains("ca_file"), "{error}");

    // Plaintext works where the config allows it (loopback), and a wrong password says so.
    let plain = mailserver::endpoint(Security::Plaintext, IMAP_PORT, None);
    runtime()
        .block_on(connect(
            &plain,
            Login::Password {
                username: "team",
                password: &secret,
            },
            Duration::from_secs(10),
        ))
        .expect("plaintext to loopback");
    let wrong = patdesk::config::Secret::new("wrong");
    let error = runtime()
        .block_on(connect(
            &plain,
            Login::Password {
                username: "team",
                password: &wrong,
            },
            Duration::from_secs(10),
        ))
        .expect_err("refused");
    assert!(matches!(error, ConnectError::Login { .. }), "{error}");
}

#[test]
fn mail_delivered_while_idle_is_taken_in_without_waiting_for_the_poll() {
    mailserver::require();
    let folder = TestFolder::new("idle");
    runtime().block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
    });
    // The poll is five minutes away: only IDLE can bring the mail in within the wait below.
    let config = folder.config_file("poll_seconds = 300\n");
    let log = std::fs::File::create(config.with_file_name("daemon.log")).expect("log");
    let mut daemon = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["run", "--config"])
            .arg(&config)
            .stderr(log)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the daemon"),
    );
    let connected = Instant::now();
    while !std::fs::read_to_string(config.with_file_name("daemon.log"))
        .unwrap_or_default()
        .contains("mail intake connected")
    {
        assert!(
            connected.elapsed() < Duration::from_secs(15),
            "intake did not connect"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Dovecot's IDLE begins a moment after the connected line (a real server's delay); a mail
    // sent before that is found by the catch-up instead, and the latency is only longer.
    std::thread::sleep(Duration::from_millis(300));
    mailserver::send(
        &format!("team+{}@example.org", folder.name),
        &mail(1, &folder.name),
    );
    let sent = Instant::now();
    while stored_mails(&folder.db()) < 1 {
        assert!(
            sent.elapsed() < Duration::from_secs(20),
            "not taken in while idle"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().expect("wait");
    assert!(status.success(), "{status}");
}

#[test]
fn killed_mid_batch_and_restarted_nothing_is_lost_or_stored_twice() {
    mailserver::require();
    let folder = TestFolder::new("sigkill");
    let total = 400;
    runtime().block_on(async {
        filled(&folder, total).await;
    });
    let config = folder.config_file("");
    let start = || {
        common::KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_patdesk"))
                .args(["run", "--config"])
                .arg(&config)
                .stderr(Stdio::null())
                .spawn()
                .expect("start the daemon"),
        )
    };
    // Killed as soon as part of the backlog is in.
    let mut first = start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored_mails(&folder.db()) < 50 {
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let after_kill = stored_mails(&folder.db());
    assert!(
        after_kill < total as i64,
        "killed mid-batch ({after_kill} of {total} stored)"
    );

    let mut second = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    let remaining =
        || runtime().block_on(async { count(&mut team_session().await, &folder.name).await });
    while remaining() > 0 {
        assert!(
            Instant::now() < deadline,
            "the restart did not finish the backlog"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status();
    second.wait().expect("wait");

    assert_eq!(
        stored_mails(&folder.db()),
        total as i64,
        "every mail stored once"
    );
    let store = Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
    let distinct: i64 = store
        .connection()
        .query_row(
            "SELECT COUNT(DISTINCT message_id) FROM messages",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(distinct, total as i64);
    assert!(
        store
            .verify_chain(None)
            .expect("verify")
            .first_break
            .is_none()
    );
}

#[test]
fn without_move_mails_are_copied_flagged_and_expunged() {
    mailserver::require();
    let folder = TestFolder::new("nomove");
    runtime().block_on(async {
        let mut admin = filled(&folder, 3).await;
        let mut intake = folder.intake(MailPolicy::default());
        intake.imap.can_move = false;
        let mut session = intake.imap.open_session().await.expect("session");
        assert_eq!(
            intake
                .catch_up(&mut session)
                .await
                .expect("catch up")
                .ingested,
            3
        );
        assert_eq!(count(&mut admin, &folder.name).await, 0);
        assert_eq!(count(&mut admin, &folder.processed()).await, 3);
    });
}

#[test]
fn starttls_upgrades_the_plain_port() {
    mailserver::require();
    let secret = patdesk::config::Secret::new(mailserver::PASSWORD);
    runtime().block_on(async {
        let mut session = connect(
            &mailserver::endpoint(Security::StartTls, IMAP_PORT, Some(mailserver::ca_file())),
            Login::Password {
                username: "team",
                password: &secret,
            },
            Duration::from_secs(10),
        )
        .await
        .expect("STARTTLS");
        assert!(matches!(session.get_ref(), patdesk::imap::Stream::Tls(_)));
        session.logout().await.expect("logout");
    });
}

#[test]
fn in_flag_mode_mail_stays_and_is_marked() {
    mailserver::require();
    let folder = TestFolder::new("flag");
    runtime().block_on(async {
        let mut admin = filled(&folder, 3).await;
        let mut intake = folder.intake(MailPolicy::default());
        intake.imap.mailbox.acknowledge = patdesk::config::Acknowledge::Flag;
        let mut session = intake.imap.open_session().await.expect("session");
        assert_eq!(
            intake
                .catch_up(&mut session)
                .await
                .expect("catch up")
                .ingested,
            3
        );
        assert_eq!(
            count(&mut admin, &folder.name).await,
            3,
            "the mail stays where it is"
        );
        let flagged = admin
            .uid_search("KEYWORD $PatdeskProcessed")
            .await
            .expect("search");
        assert_eq!(flagged.len(), 3);
        assert_eq!(
            intake.catch_up(&mut session).await.expect("again"),
            patdesk::imap::CatchUp::default()
        );
        append(&mut admin, &folder.name, &mail(3, &folder.name)).await;
        assert_eq!(
            intake
                .catch_up(&mut session)
                .await
                .expect("new mail")
                .ingested,
            1
        );
    });
    assert_eq!(stored_mails(&folder.db()), 4);
}

/// More than one set of acknowledgements (1,000): the sets are marked on a second session while
/// the first reads; every mail ends marked, once.
#[test]
fn a_flag_mode_backlog_is_marked_whole() {
    mailserver::require();
    let folder = TestFolder::new("flag-backlog");
    runtime().block_on(async {
        let mut admin = filled(&folder, 1200).await;
        let mut intake = folder.intake(MailPolicy::default());
        intake.imap.mailbox.acknowledge = patdesk::config::Acknowledge::Flag;
        let mut session = intake.imap.open_session().await.expect("session");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        // Each mail read once: the flags the second session sets come back to the reading
        // session as FETCH responses, and must not pass for mails to read again.
        assert_eq!((report.ingested, report.recognised), (1200, 0));
        admin.select(&folder.name).await.expect("select");
        let flagged = admin
            .uid_search("KEYWORD $PatdeskProcessed")
            .await
            .expect("search");
        assert_eq!(flagged.len(), 1200);
        assert_eq!(
            intake.catch_up(&mut session).await.expect("again"),
            patdesk::imap::CatchUp::default()
        );
    });
    assert_eq!(stored_mails(&folder.db()), 1200);
}

/// A server that allows one session per user (the test Dovecot on 127.0.0.2): the sets that a
/// second session would acknowledge during reading are acknowledged on the only one after it.
#[test]
fn a_server_allowing_one_session_still_gets_a_backlog_acknowledged() {
    mailserver::require();
    let folder = TestFolder::of("one-session", "single");
    runtime().block_on(async {
        let mut admin = mailserver::session("single").await;
        create(&mut admin, &folder.name).await;
        for n in 0..1200 {
            append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
        }
        // Its sessions count against the limit wherever they connect.
        admin.logout().await.expect("logout");
        let mut intake = folder.intake(MailPolicy::default());
        intake.imap.mailbox.endpoint = Endpoint {
            host: "127.0.0.2".to_string(),
            ..mailserver::endpoint(Security::Plaintext, IMAP_PORT, None)
        };
        let mut session = intake.imap.open_session().await.expect("session");
        let refused = intake
            .imap
            .open_session()
            .await
            .expect_err("one session only");
        assert!(refused.to_string().contains("connections"), "{refused}");
        let report = intake.catch_up(&mut session).await.expect("catch up");
        assert_eq!(report.ingested, 1200);
        session.logout().await.expect("logout");

        let mut admin = mailserver::session("single").await;
        assert_eq!(
            count(&mut admin, &folder.name).await,
            0,
            "every mail moved out"
        );
        assert_eq!(count(&mut admin, &folder.processed()).await, 1200);
    });
    assert_eq!(stored_mails(&folder.db()), 1200);
}

/// A mail that claims to be GitHub's decision, whose sender failed DMARC at the receiving
/// server: it is kept, marked failed, and asks for nothing but a sync of the org it names —
/// the request it seems to decide is not touched.
#[test]
fn a_spoofed_github_decision_changes_no_record_and_only_asks_for_a_sync() {
    use common::builders::RequestBuilder;
    use patdesk::request::RequestState;
    use patdesk::wake::SyncTrigger;

    mailserver::require();
    let folder = TestFolder::new("spoofed");
    let raw =
        std::fs::read(common::fixtures_dir().join("github_token_decision/approved-one-token.eml"))
            .expect("fixture");
    let forged = [
        b"Authentication-Results: mx.example.org; dmarc=fail (p=reject) header.from=github.com; spf=fail\r\n"
            .as_slice(),
        raw.as_slice(),
    ]
    .concat();
    let runtime = common::runtime();
    runtime.block_on(async {
        let mut admin = filled(&folder, 0).await;
        mailserver::append(&mut admin, &folder.name, &forged).await;
    });
    let mut intake = folder.intake(common::corpus_policy());
    let (asked, mut syncs) = SyncTrigger::channel();
    intake.intake.trigger = Some(asked);
    let request = RequestBuilder::tidy()
        .token_name(Some("docs-sync"))
        .state(RequestState::InReview)
        .insert(&mut intake.store);
    let events_before = intake.store.events_for(request).expect("events").len();

    let report = runtime.block_on(async {
        let mut session = intake.imap.open_session().await.expect("session");
        intake.catch_up(&mut session).await.expect("catch up")
    });
    assert_eq!(report.ingested, 1);
    let record = intake.store.request(request).expect("request");
    assert_eq!(
        record.state,
        RequestState::InReview,
        "not approved by a mail"
    );
    assert_eq!(
        intake.store.events_for(request).expect("events").len(),
        events_before,
        "no event on the request"
    );
    let authenticity: String = intake
        .store
        .connection()
        .query_row("SELECT analysis FROM messages", [], |row| row.get(0))
        .expect("stored");
    assert!(
        authenticity.contains("\"authenticity\":\"failed\""),
        "{authenticity}"
    );
    assert_eq!(
        syncs.try_recv().ok().map(|ask| ask.org).as_deref(),
        Some("acme-corp"),
        "only a sync"
    );
}
