//! Faults from below: the disk fills up under a running daemon. The database lives on a small
//! tmpfs of its own (mounting it needs root, as CI has).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::mailserver::{TestFolder, inbox, mail, send};
use common::standin::pending;
use patdesk::store::Store;

/// A small tmpfs, unmounted when the test ends.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let path = PathBuf::from(format!("/mnt/patdesk-full-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        SmallDisk(path)
    }

    /// Writes a filler file until the disk is full; returns it.
    fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let mut file = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    Store::open(db, &patdesk::clock::Clock::system())
        .ok()
        .and_then(|store| store.connection().query_row(sql, [], |row| row.get(0)).ok())
        .unwrap_or(-1)
}

#[test]
fn a_full_disk_is_a_clear_error_and_the_daemon_recovers_when_space_returns() {
    let desk = Desk::new(TestFolder::new("diskfull"), DeskSetup::default());
    let disk = SmallDisk::mount(16);
    let db = disk.0.join("patdesk.db");
    let config = std::fs::read_to_string(&desk.config).expect("config");
    std::fs::write(
        &desk.config,
        config.replace(
            "path = \"patdesk.db\"",
            &format!("path = \"{}\"", db.display()),
        ),
    )
    .expect("config");
    let mut daemon = desk.start_daemon();
    wait_for(20, || {
        desk.log().contains("mail intake connected").then_some(())
    })
    .unwrap_or_else(|| panic!("not started\n{}", desk.log()));

    let filler = disk.fill();
    let token = format!("disk-full-{}", std::process::id());
    desk.set_pending(&[pending(9601, "dave", &token, None)]);
    send(
        &desk.address(),
        &mail(1, &format!("full-{}", std::process::id())),
    );
    wait_for(60, || {
        desk.log()
            .contains("database or disk is full")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the error does not say what is wrong:\n{}", desk.log()));
    assert!(
        daemon.try_wait().expect("wait").is_none(),
        "the daemon stays up\n{}",
        desk.log()
    );

    std::fs::remove_file(&filler).expect("space returns");
    let runtime = common::runtime();
    wait_for(90, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question once space returned\n{}", desk.log()));
    wait_for(90, || {
        (count(&db, "SELECT COUNT(*) FROM messages") == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the mail was not taken in once\n{}", desk.log()));
    assert!(stop(&mut daemon).success(), "{}", desk.log());

    let store = Store::open(&db, &patdesk::clock::Clock::system()).expect("store");
    let integrity: String = store
        .connection()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity check");
    assert_eq!(integrity, "ok");
    assert!(
        store
            .verify_chain(None)
            .expect("verify")
            .first_break
            .is_none()
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM requests"), 1);
}
