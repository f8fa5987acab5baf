//! Dovecot goes away for ten seconds while the daemon runs: intake recovers by itself. A test
//! binary of its own, since it stops the mail server every other test uses (cargo runs test
//! binaries one after another).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::mailserver::{self, TestFolder, append, create, mail, team_session};
use common::{distinct_message_ids, stored_mails};

/// Starts the mail server again when dropped, so a test that fails while it is stopped does
/// not take the next test down with it.
struct RestartOnDrop;

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailserver"))
                .arg("start")
                .stdout(Stdio::null())
                .status();
        }
    }
}

/// When intake last reported its health: each failed retry moves it.
fn intake_reported(db: &Path) -> Option<String> {
    rusqlite::Connection::open(db)
        .and_then(|conn| {
            conn.query_row(
                "SELECT updated_at FROM health WHERE part = 'imap'",
                [],
                |row| row.get(0),
            )
        })
        .ok()
}

fn mailserver_script(action: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailserver");
    let status = Command::new(script)
        .arg(action)
        .stdout(Stdio::null())
        .status()
        .expect("scripts/mailserver");
    assert!(status.success(), "scripts/mailserver {action} failed");
}

/// `patdesk run` watching `folder`, and the file it logs to.
fn start_daemon(folder: &TestFolder) -> (common::KillOnDrop, std::path::PathBuf) {
    let config = folder.config_file("");
    let log_path = config.with_file_name("daemon.log");
    let daemon = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["run", "--config"])
            .arg(&config)
            .stderr(std::fs::File::create(&log_path).expect("log"))
            .spawn()
            .expect("start the daemon"),
    );
    (daemon, log_path)
}

/// The tests here stop the one Dovecot: one at a time.
static DOVECOT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn intake_resumes_by_itself_after_dovecot_restarts() {
    let _only_us = DOVECOT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    mailserver::require();
    let folder = TestFolder::new("restart");
    let runtime = common::runtime();
    runtime.block_on(async { create(&mut team_session().await, &folder.name).await });
    let (mut daemon, log_path) = start_daemon(&folder);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let wait_for = |what: &dyn Fn() -> bool, seconds: u64, failure: &str| {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        while !what() {
            assert!(Instant::now() < deadline, "{failure}: {}", log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for(
        &|| log().contains("mail intake connected"),
        15,
        "intake did not connect",
    );

    let _restart = RestartOnDrop;
    mailserver_script("stop");
    // Down until intake has noticed, and then through a retry or two of its backoff.
    wait_for(
        &|| log().contains("mail intake failing"),
        30,
        "intake did not notice Dovecot stopped",
    );
    let failures = || intake_reported(&folder.db());
    let first = failures();
    wait_for(&|| failures() != first, 30, "intake did not retry");
    mailserver_script("start");
    runtime.block_on(async {
        append(
            &mut team_session().await,
            &folder.name,
            &mail(1, &folder.name),
        )
        .await
    });

    wait_for(
        &|| stored_mails(&folder.db()) == 1,
        45,
        "intake did not resume",
    );
    assert!(common::desk::stop(&mut daemon).success());

    let log = log();
    // Each change of health once, not a line per retry.
    assert_eq!(log.matches("mail intake failing").count(), 1, "{log}");
    assert_eq!(log.matches("mail intake connected").count(), 2, "{log}");
}

/// Dovecot goes away in the middle of a 5,000-mail catch-up: when it is back, intake finishes
/// the backlog, every mail stored once and acknowledged.
#[test]
fn a_catch_up_cut_off_by_a_dovecot_restart_finishes_with_every_mail_once() {
    const BACKLOG: usize = 5_000;
    let _only_us = DOVECOT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    mailserver::require();
    let folder = TestFolder::new("midfetch");
    let runtime = common::runtime();
    runtime.block_on(async {
        let mut admin = team_session().await;
        create(&mut admin, &folder.name).await;
        for n in 0..BACKLOG {
            append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
        }
    });
    let (mut daemon, log_path) = start_daemon(&folder);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let stored = || stored_mails(&folder.db());
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut first = 0;
    while first == 0 {
        assert!(Instant::now() < deadline, "nothing stored: {}", log());
        std::thread::sleep(Duration::from_millis(20));
        first = stored();
    }
    let _restart = RestartOnDrop;
    let stopping = Instant::now();
    mailserver_script("stop");
    let at_stop = stored();
    assert!(
        at_stop < BACKLOG as i64,
        "the catch-up finished before Dovecot stopped: not a mid-fetch test \
         ({first} stored when seen, stop took {:?})",
        stopping.elapsed()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log().contains("mail intake failing") {
        assert!(
            Instant::now() < deadline,
            "intake did not notice: {}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    mailserver_script("start");

    let deadline = Instant::now() + Duration::from_secs(120);
    while stored() < BACKLOG as i64 {
        assert!(
            Instant::now() < deadline,
            "{} of {BACKLOG} stored: {}",
            stored(),
            log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(common::desk::stop(&mut daemon).success());
    assert_eq!(stored(), BACKLOG as i64, "each mail once");
    assert_eq!(distinct_message_ids(&folder.db()), BACKLOG as i64);
    let left = runtime.block_on(async {
        let mut admin = team_session().await;
        let left = common::mailserver::count(&mut admin, &folder.name).await;
        let done = common::mailserver::count(&mut admin, &folder.processed()).await;
        (left, done)
    });
    assert_eq!(left, (0, BACKLOG as u32), "every mail acknowledged, once");
    println!("stopped after {at_stop} of {BACKLOG} mails");
}
