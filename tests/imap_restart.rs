//! Dovecot goes away for ten seconds while the daemon runs: intake recovers by itself. A test
//! binary of its own, since it stops the mail server every other test uses (cargo runs test
//! binaries one after another).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patdesk::store::Store;

use common::mailserver::{self, TestFolder, append, create, mail, team_session};

fn mailserver_script(action: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mailserver");
    let status = Command::new(script)
        .arg(action)
        .stdout(Stdio::null())
        .status()
        .expect("scripts/mailserver");
    assert!(status.success(), "scripts/mailserver {action} failed");
}

#[test]
fn intake_resumes_by_itself_after_dovecot_restarts() {
    mailserver::require();
    let folder = TestFolder::new("restart");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async { create(&mut team_session().await, &folder.name).await });
    let config = folder.config_file("");
    let log_path = config.with_file_name("daemon.log");
    let mut daemon = common::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(["run", "--config"])
            .arg(&config)
            .stderr(std::fs::File::create(&log_path).expect("log"))
            .spawn()
            .expect("start the daemon"),
    );
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

    mailserver_script("stop");
    std::thread::sleep(Duration::from_secs(10));
    mailserver_script("start");
    runtime.block_on(async {
        append(
            &mut team_session().await,
            &folder.name,
            &mail(1, &folder.name),
        )
        .await
    });

    let stored = || {
        Store::open(&folder.db())
            .ok()
            .and_then(|store| {
                store
                    .connection()
                    .query_row("SELECT COUNT(*) FROM messages", [], |row| {
                        row.get::<_, i64>(0)
                    })
                    .ok()
            })
            .unwrap_or(0)
    };
    wait_for(&|| stored() == 1, 45, "intake did not resume");
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().expect("wait").success());

    let log = log();
    // Each change of health once, not a line per retry.
    assert_eq!(log.matches("mail intake failing").count(), 1, "{log}");
    assert_eq!(log.matches("mail intake connected").count(), 2, "{log}");
}
