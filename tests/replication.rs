//! Replication off the host with Litestream, as docs/operations.md installs it: the shipped
//! `systemd/litestream.yml` replicates the running daemon's database to an S3-compatible
//! server on loopback; the host's copy is lost; the restore carries the last decision and the
//! head the team was sent.

mod common;

use std::path::Path;

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::mailserver::TestFolder;
use common::replication::{S3Server, config, replicate, restore, wait_for_restore};
use common::standin::pending;

/// Whether the database at `path` has request `id`'s approval.
fn has_approval(path: &Path, id: i64) -> bool {
    rusqlite::Connection::open(path)
        .and_then(|conn| {
            conn.query_row(
                "SELECT COUNT(*) FROM events WHERE kind = 'approved' AND request_id = ?1",
                [id],
                |row| row.get::<_, i64>(0),
            )
        })
        .is_ok_and(|count| count == 1)
}

#[test]
fn a_database_lost_with_its_host_is_restored_from_litestream_with_the_last_decision() {
    let s3 = S3Server::start();
    let desk = Desk::new(
        TestFolder::new("replica"),
        DeskSetup {
            pending: vec![pending(
                9401,
                "carol",
                &format!("issue-reader-{}", std::process::id()),
                Some("Reads the issues of acme-corp/api for the weekly report"),
            )],
            ..DeskSetup::default()
        },
    );
    let database = desk.folder.db();
    let dir = database
        .parent()
        .expect("the desk's directory")
        .to_path_buf();
    let litestream_config = config(&database, &s3, &dir);
    let mut daemon = desk.start_daemon();
    let id = wait_for(30, || desk.request_id(9401))
        .unwrap_or_else(|| panic!("the request was not synced\n{}", desk.log()));
    let mut litestream = replicate(&litestream_config, &dir.join("litestream.log"));

    let approve = desk.patdesk_as(
        "alice",
        &["approve", &id.to_string(), "--reason", "one repository"],
    );
    assert!(
        approve.status.success(),
        "{}",
        String::from_utf8_lossy(&approve.stderr)
    );
    let head = desk.patdesk_as("alice", &["audit", "head"]);
    assert!(
        head.status.success(),
        "{}",
        String::from_utf8_lossy(&head.stderr)
    );
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();

    // Replicated within seconds: a restore elsewhere already has the approval.
    let scratch = dir.join("scratch.db");
    wait_for_restore(&litestream_config, &database, &scratch, |restored| {
        has_approval(restored, id).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the approval never reached the replica\n{}",
            std::fs::read_to_string(dir.join("litestream.log")).unwrap_or_default()
        )
    });

    // The host is lost: the processes killed, the database and everything beside it gone.
    daemon.kill().expect("SIGKILL patdesk");
    daemon.wait().expect("reaped");
    litestream.kill().expect("SIGKILL litestream");
    litestream.wait().expect("reaped");
    for entry in std::fs::read_dir(&dir).expect("list") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.contains("patdesk.db") {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove Litestream's directory");
            } else {
                std::fs::remove_file(&path).expect("remove the database");
            }
        }
    }
    assert!(!database.exists());

    // Restored where it was, as docs/operations.md says, and the service runs on it again.
    let restored = restore(&litestream_config, &database, &database);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(has_approval(&database, id), "the last decision is there");
    let mut daemon = desk.start_daemon();
    let verify = wait_for(30, || {
        let verify = desk.patdesk_as("alice", &["audit", "verify", "--head", &head]);
        verify.status.success().then_some(verify)
    })
    .unwrap_or_else(|| {
        let verify = desk.patdesk_as("alice", &["audit", "verify", "--head", &head]);
        panic!(
            "audit verify --head {head} on the restored database: {}{}\n{}",
            String::from_utf8_lossy(&verify.stdout),
            String::from_utf8_lossy(&verify.stderr),
            desk.log()
        )
    });
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(text.contains("audit log intact"), "{text}");
    let show = desk.patdesk_as("alice", &["show", &id.to_string(), "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).expect("show --json");
    assert_eq!(shown["request"]["state"], "approved", "{shown}");
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}
