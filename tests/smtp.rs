//! The outbox sent through the project's Postfix into Dovecot, read back from the requester's
//! mailbox as they would see it.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use patdesk::config::Config;
use patdesk::mail::compose::Templates;
use patdesk::mail::message_id::verify_message_id;
use patdesk::mail::{Kind, MailPolicy, Outgoing, TokenQuestion, analyze};
use patdesk::smtp::Sender;
use patdesk::store::Store;

use common::builders::RequestBuilder;
use common::mailserver::{self, SMTP_PORT};

const KEY: &str = "a signing key for the smtp tests";

fn config(dir: &Path, smtp_port: u16) -> Config {
    std::fs::write(dir.join("signing-key"), KEY).expect("key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("signing-key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let text = format!(
        "[store]\npath = \"patdesk.db\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"plaintext\"\nfrom = \"Platform team <team@example.org>\"\n\
         [signing]\nkey = {{ file = \"signing-key\" }}\n"
    );
    std::fs::write(dir.join("patdesk.toml"), text).expect("config");
    Config::load(&dir.join("patdesk.toml")).expect("valid config")
}

/// A temporary folder with the config for `smtp_port` and an empty database.
fn desk(smtp_port: u16) -> (tempfile::TempDir, Config, Store) {
    let dir = tempfile::TempDir::new().expect("dir");
    let config = config(dir.path(), smtp_port);
    let store = Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    (dir, config, store)
}

fn sender(config: &Config) -> Sender {
    let key = config
        .signing_key
        .as_ref()
        .expect("key")
        .read()
        .expect("read key");
    Sender::new(
        config.smtp.as_ref().expect("smtp"),
        None,
        key,
        Templates::load(None).expect("templates"),
        "team@example.org",
    )
    .expect("sender")
}

/// Queues the purpose question for a new request by `owner`, as the sync does.
fn queue_question(store: &mut Store, owner: &str, token: &str) -> i64 {
    static GITHUB_IDS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1);
    let id = RequestBuilder::tidy()
        .github_id(GITHUB_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        .owner(owner, Some(&format!("{owner}@example.org")))
        .token_name(Some(token))
        .insert(store);
    let tx = store.transaction().expect("tx");
    let question = Outgoing::Question(TokenQuestion {
        request: id,
        org: "acme-corp".to_string(),
        token_name: Some(token.to_string()),
        owner: owner.to_string(),
        repository_selection: "subset".to_string(),
        repositories: vec!["acme-corp/api".to_string()],
        permissions: "repository: issues=read".to_string(),
        expires_at: Some("2027-02-24T09:15:00Z".to_string()),
        review_url: Some(
            "https://github.com/organizations/acme-corp/settings/personal-access-token-requests/1"
                .to_string(),
        ),
    });
    tx.enqueue_mail(
        &format!("{owner}@example.org"),
        &question,
        &format!("pat-{id}:question"),
    )
    .expect("queue");
    tx.commit().expect("commit");
    id
}

/// The raw mails in `user`'s INBOX whose subject contains `marker`.
async fn inbox(user: &str, marker: &str) -> Vec<Vec<u8>> {
    mailserver::inbox(user, &format!("SUBJECT \"{marker}\"")).await
}

#[test]
fn the_question_arrives_in_the_requesters_mailbox_once_with_a_signed_message_id() {
    mailserver::require();
    let (_dir, config, mut store) = desk(SMTP_PORT);
    let token = format!("reader-{}", std::process::id());
    let request = queue_question(&mut store, "carol", &token);
    let runtime = common::runtime();

    let sender = sender(&config);
    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(report.sent, 1, "{report:?}");
    let again = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send again");
    assert_eq!(again.sent, 0, "sent once");

    let deadline = Instant::now() + Duration::from_secs(15);
    let mails = loop {
        let mails = runtime.block_on(inbox("carol", &token));
        if !mails.is_empty() || Instant::now() > deadline {
            break mails;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        mails.len(),
        1,
        "exactly one copy in the requester's mailbox"
    );
    let analysis = analyze(&mails[0], &MailPolicy::default());
    assert_eq!(
        analysis.kind,
        Kind::Automatic,
        "marked Auto-Submitted, so robots do not answer it"
    );
    assert_eq!(analysis.from.as_deref(), Some("team@example.org"));
    let subject = analysis.subject.clone().unwrap_or_default();
    assert!(
        subject.contains(&format!("[PAT-{request}]")) && subject.contains(&token),
        "{subject}"
    );
    let message_id = analysis.message_id.clone().expect("Message-ID");
    assert_eq!(
        verify_message_id(KEY.as_bytes(), &message_id, "carol@example.org"),
        Some((request, "question".to_string()))
    );
    // Signed for the requester's address alone.
    assert_eq!(
        verify_message_id(KEY.as_bytes(), &message_id, "team@example.org"),
        None
    );
    let text = String::from_utf8_lossy(&mails[0]);
    assert!(
        text.contains("acme-corp/api") && text.contains("reply to this mail"),
        "{text}"
    );

    let outbox = store.outbox_for(request).expect("outbox");
    assert_eq!((outbox[0].state.as_str(), outbox[0].attempts), ("sent", 1));
}

#[test]
fn an_unreachable_server_leaves_the_mail_queued_for_the_next_round() {
    mailserver::require();
    // Nothing listens on this port.
    let (_dir, config, mut store) = desk(1);
    let request = queue_question(&mut store, "dave", "reader-unreachable");
    let runtime = common::runtime();
    let report = runtime
        .block_on(sender(&config).send_queued(&mut store))
        .expect("send");
    assert_eq!((report.sent, report.retrying), (0, 1));
    let outbox = store.outbox_for(request).expect("outbox");
    assert_eq!(
        (outbox[0].state.as_str(), outbox[0].attempts),
        ("queued", 0),
        "nothing was attempted"
    );
}

#[test]
fn a_hundred_requests_from_one_requester_bring_her_three_mails_an_hour() {
    mailserver::require();
    let (_dir, config, mut store) = desk(SMTP_PORT);
    let marker = format!("flood-{}", std::process::id());
    for n in 0..100 {
        queue_question(&mut store, "erin", &format!("{marker}-{n}"));
    }
    queue_question(&mut store, "frank", &format!("{marker}-frank"));
    let runtime = common::runtime();
    let sender = sender(&config);

    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(
        (report.sent, report.held),
        (4, 97),
        "three to erin, and frank is not held up by her: {report:?}"
    );
    let again = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send again");
    assert_eq!((again.sent, again.held), (0, 97), "still within the hour");
    assert!(
        store.queued_mail().expect("queued").len() == 97,
        "held mail waits, queued"
    );

    let deadline = Instant::now() + Duration::from_secs(15);
    let mut arrived = Vec::new();
    while arrived.len() < 3 && Instant::now() < deadline {
        arrived = runtime.block_on(inbox("erin", &marker));
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(runtime.block_on(inbox("erin", &marker)).len(), 3);
    assert_eq!(runtime.block_on(inbox("frank", &marker)).len(), 1);
}

/// The admin's own per-recipient limits hold, not the defaults.
#[test]
fn per_recipient_limits_from_the_config_hold_mail_back() {
    mailserver::require();
    let dir = tempfile::TempDir::new().expect("dir");
    config(dir.path(), SMTP_PORT);
    let path = dir.path().join("patdesk.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    std::fs::write(
        &path,
        text.replace(
            "[smtp]",
            "[mail]\nper_recipient_per_hour = 1\nper_recipient_per_day = 2\n[smtp]",
        ),
    )
    .expect("config");
    let config = Config::load(&path).expect("valid config");
    let mut store = Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    let marker = format!("limited-{}", std::process::id());
    for n in 0..3 {
        queue_question(&mut store, "dave", &format!("{marker}-{n}"));
    }
    let sender = sender(&config).with_limits(config.send_limits);
    let report = common::runtime()
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(
        (report.sent, report.held),
        (1, 2),
        "one an hour to dave: {report:?}"
    );
}

#[test]
fn the_breaker_pauses_sending_after_thirty_mails_in_ten_minutes_and_alerts_once() {
    mailserver::require();
    let (_dir, config, mut store) = desk(SMTP_PORT);
    // Thirty-five different requesters, so only the breaker can hold any of them back. Their
    // plus-addresses all reach the team's mailbox.
    for n in 0..35 {
        queue_question(&mut store, &format!("team+breaker{n}"), "breaker-test");
    }
    let runtime = common::runtime();
    let sender = sender(&config);

    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!((report.sent, report.held), (30, 5), "{report:?}");
    let again = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send again");
    assert_eq!((again.sent, again.held), (0, 5));

    let alerts: Vec<_> = store
        .alerts()
        .expect("alerts")
        .into_iter()
        .filter(|alert| alert.kind == patdesk::smtp::PAUSE_ALERT)
        .collect();
    assert_eq!(alerts.len(), 1, "one alert per pause, not one per round");
    assert!(
        alerts[0].message.contains("5 wait"),
        "{}",
        alerts[0].message
    );
}

#[test]
fn a_mail_interrupted_mid_send_is_uncertain_and_never_resent_by_itself() {
    mailserver::require();
    let (_dir, config, mut store) = desk(SMTP_PORT);
    let request = queue_question(&mut store, "carol", "reader-interrupted");
    // What a kill between `sending` and the server's answer leaves behind.
    let queued = store.queued_mail().expect("queued");
    let tx = store.transaction().expect("tx");
    tx.mark_mail_sending(
        queued[0].id,
        "pat-interrupted@example.org",
        b"the composed mail",
    )
    .expect("mark");
    tx.commit().expect("commit");

    let sender = sender(&config);
    assert_eq!(sender.settle_interrupted(&mut store).expect("settle"), 1);
    assert_eq!(
        sender.settle_interrupted(&mut store).expect("settle again"),
        0
    );
    let runtime = common::runtime();
    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(report, Default::default(), "nothing resent");

    let outbox = store.outbox_for(request).expect("outbox");
    assert_eq!(outbox[0].state, "uncertain");
    assert!(
        outbox[0]
            .last_error
            .as_deref()
            .is_some_and(|error| error.contains("may have been sent"))
    );
    let alerts = store.alerts().expect("alerts");
    assert_eq!(
        alerts
            .iter()
            .filter(|alert| alert.kind == "mail_uncertain")
            .count(),
        1
    );
}

/// An engineer who checked that an uncertain mail did not arrive sends it again from the
/// command line: once, by a team member, with the bytes and Message-ID it had.
#[test]
fn an_uncertain_mail_goes_again_when_a_team_member_resends_it() {
    mailserver::require();
    let (dir, config, mut store) = desk(SMTP_PORT);
    // A daemon that serves the records only (no mailbox, no SMTP), so this test alone sends.
    let config_path = common::control::records_only_config(dir.path(), "records-only.toml");
    let token = format!("resend-{}", std::process::id());
    let request = queue_question(&mut store, "carol", &token);
    let message_id = format!("{token}@example.org");
    let raw = format!(
        "From: Platform team <team@example.org>\r\nTo: carol@example.org\r\n\
         Subject: {token}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nWhat is the token for?\r\n"
    );
    let queued = store.queued_mail().expect("queued");
    let tx = store.transaction().expect("tx");
    tx.mark_mail_sending(queued[0].id, &message_id, raw.as_bytes())
        .expect("mark");
    tx.commit().expect("commit");
    let sender = sender(&config);
    assert_eq!(sender.settle_interrupted(&mut store).expect("settle"), 1);
    let mail = queued[0].id.to_string();

    let daemon = common::control::Daemon::start(&config_path);
    let patdesk = |login: &str, args: &[&str]| {
        common::control::patdesk_as(common::control::os_user_of(login), &config_path, args)
    };
    let listed = patdesk("alice", &["outbox", "list"]);
    assert!(listed.status.success());
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&mail) && line.contains("uncertain")),
        "{listed}"
    );
    assert!(
        listed.contains(" ago") || listed.contains("just now"),
        "times as a person reads them: {listed}"
    );
    let exact = patdesk("alice", &["outbox", "list", "--utc"]);
    let exact = String::from_utf8_lossy(&exact.stdout).to_string();
    assert!(
        exact.contains("Z") && !exact.contains(" ago"),
        "--utc: {exact}"
    );

    let unknown = patdesk("alice", &["outbox", "resend", "999999"]);
    assert_eq!(
        unknown.status.code(),
        Some(4),
        "an unknown mail is not found"
    );
    let stranger = patdesk("mallory", &["outbox", "resend", &mail]);
    assert_eq!(stranger.status.code(), Some(5), "only the team resends");
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("not a member of the team"));
    let resent = patdesk("alice", &["outbox", "resend", &mail]);
    assert!(
        resent.status.success(),
        "{}",
        String::from_utf8_lossy(&resent.stderr)
    );
    let again = patdesk("alice", &["outbox", "resend", &mail]);
    assert_eq!(
        again.status.code(),
        Some(5),
        "queued mail is not queued twice"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("is queued"));
    drop(daemon);

    let runtime = common::runtime();
    let report = runtime
        .block_on(sender.send_queued(&mut store))
        .expect("send");
    assert_eq!(report.sent, 1);
    let arrived = runtime.block_on(inbox("carol", &token));
    assert_eq!(arrived.len(), 1);
    assert!(
        arrived[0]
            .windows(raw.len())
            .any(|bytes| bytes == raw.as_bytes()),
        "the same bytes, below the server's trace headers"
    );
    let analysis = analyze(&arrived[0], &MailPolicy::default());
    assert_eq!(analysis.message_id.as_deref(), Some(message_id.as_str()));
    assert_eq!(store.outbox_for(request).expect("outbox")[0].state, "sent");
    let resend_events: Vec<(String, String)> = store
        .connection()
        .prepare("SELECT actor, detail FROM events WHERE kind = 'mail_resend_requested'")
        .expect("prepare")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("events");
    assert_eq!(resend_events.len(), 1);
    assert_eq!(resend_events[0].0, "alice");
    assert!(resend_events[0].1.contains("\"was\":\"uncertain\""));
    // The event names the member as the daemon authenticated them.
    let detail: serde_json::Value = serde_json::from_str(&resend_events[0].1).expect("JSON");
    let alice = common::users::os_user(common::users::ALICE);
    assert_eq!(detail["member"]["uid"], alice.uid);
    assert_eq!(detail["member"]["os_user"], alice.name);
    assert_eq!(detail["member"]["authenticated_by"], "peer_credentials");
}

/// The copy of a sent mail waits while the team mailbox cannot be reached, is filed on a later
/// round, and is filed once.
#[test]
fn a_copy_that_cannot_be_filed_now_is_filed_later_and_once() {
    use common::mailserver::{TestFolder, team_session};
    use patdesk::imap::MailboxAccess;
    use patdesk::oauth::Credential;

    mailserver::require();
    let runtime = common::runtime();
    let (_dir, config, mut store) = desk(SMTP_PORT);
    let token = format!("filing-{}", std::process::id());
    queue_question(&mut store, "carol", &token);
    let sent_folder = TestFolder::new("sent").name;
    let team = TestFolder::new("filing");
    let mailbox_config = team.config_file(&format!("sent_folder = \"{sent_folder}\"\n"));
    let mailbox = Config::load(&mailbox_config)
        .expect("config")
        .mailbox
        .expect("mailbox");
    let access = |port: u16| {
        let mut mailbox = mailbox.clone();
        mailbox.endpoint.port = port;
        let password = mailbox
            .sign_in
            .password()
            .expect("password")
            .read()
            .expect("password");
        MailboxAccess::new(mailbox, Credential::Password(password))
    };

    // The mailbox is unreachable: the mail goes, its copy waits.
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let closed_port = unreachable.local_addr().expect("addr").port();
    drop(unreachable);
    let cut_off = sender(&config).with_mailbox(access(closed_port));
    let report = runtime
        .block_on(cut_off.send_queued(&mut store))
        .expect("send");
    assert_eq!(report.sent, 1);
    let filing = runtime
        .block_on(cut_off.file_copies(&mut store))
        .expect("file");
    assert_eq!((filing.filed, filing.waiting), (0, 1));
    assert!(filing.error.is_some());

    let reachable = sender(&config).with_mailbox(access(mailserver::IMAPS_PORT));
    for expected in [1, 0] {
        let filing = runtime
            .block_on(reachable.file_copies(&mut store))
            .expect("file");
        assert_eq!((filing.filed, filing.waiting), (expected, 0), "{filing:?}");
    }
    let copies = runtime.block_on(async {
        let mut session = team_session().await;
        session.select(&sent_folder).await.expect("Sent exists");
        session
            .uid_search(format!("SUBJECT \"{token}\""))
            .await
            .expect("search")
            .len()
    });
    assert_eq!(copies, 1);
}
