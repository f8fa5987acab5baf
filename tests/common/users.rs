//! Real OS accounts for the tests: engineers are known to the daemon by the uid the kernel
//! reports on its socket, so the tests run the CLI as other users. Needs root (as CI runs);
//! the accounts are made once per machine, in one group, with no home and no shell.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The group of the test engineers, which the test daemons give their sockets.
pub const GROUP: &str = "pd-test-team";

/// A test engineer's OS account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

/// The accounts the tests map to members (`alice`, `bob`) and one they never map.
pub const ALICE: &str = "pd-alice";
pub const BOB: &str = "pd-bob";
pub const MALLORY: &str = "pd-mallory";

/// `[team.members]` for a config: alice and bob.
pub fn team_section() -> String {
    format!("[team.members]\nalice = {{ unix = \"{ALICE}\" }}\nbob = {{ unix = \"{BOB}\" }}\n")
}

/// `[control]` for a config: the socket beside it, for the test engineers' group (made here,
/// so a daemon of this config can start).
pub fn control_section() -> String {
    for user in [ALICE, BOB, MALLORY] {
        os_user(user);
    }
    format!("[control]\nsocket = \"control.sock\"\ngroup = \"{GROUP}\"\n")
}

/// Both, for a config that has neither.
pub fn team_and_control() -> String {
    format!("{}{}", team_section(), control_section())
}

/// The account `name`, made if this machine has none yet.
pub fn os_user(name: &'static str) -> OsUser {
    let _lock = machine_lock();
    if id(name, "-u").is_none() {
        run(Command::new("groupadd").args(["-f", GROUP]));
        run(Command::new("useradd").args([
            "--no-create-home",
            "--no-user-group",
            "--gid",
            GROUP,
            "--shell",
            "/usr/sbin/nologin",
            name,
        ]));
    }
    OsUser {
        name,
        uid: id(name, "-u").expect("the account exists now"),
        gid: id(name, "-g").expect("the account has a group"),
    }
}

/// A command that runs as `user`: its uid and its group (the team's), nothing else.
pub fn command_as(user: OsUser, program: &Path) -> Command {
    let mut command = Command::new(program);
    command.uid(user.uid).gid(user.gid).env("HOME", "/");
    command
}

/// The patdesk binary where every user can run it: the build's own when every folder above
/// it lets others through, else a copy in /tmp.
pub fn patdesk_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let built = PathBuf::from(env!("CARGO_BIN_EXE_patdesk"));
        let open_to_all = built
            .ancestors()
            .skip(1)
            .all(|dir| dir.metadata().is_ok_and(|m| m.mode() & 0o001 != 0));
        if open_to_all {
            return built;
        }
        let _lock = machine_lock();
        let metadata = built.metadata().expect("the binary exists");
        let dir = PathBuf::from(format!(
            "/tmp/patdesk-test-bin-{}-{}",
            metadata.ino(),
            metadata.mtime()
        ));
        let copy = dir.join("patdesk");
        if !copy.exists() {
            std::fs::create_dir_all(&dir).expect("bin folder");
            std::fs::copy(&built, dir.join("patdesk.partial")).expect("copy the binary");
            std::fs::rename(dir.join("patdesk.partial"), &copy).expect("binary in place");
        }
        copy
    })
}

/// Lets the test engineers reach `dir` (a test's temporary folder, 0700 when made): through it, not into
/// its listing.
pub fn let_through(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).expect("chmod");
}

fn id(name: &str, flag: &str) -> Option<u32> {
    let output = Command::new("id").args([flag, name]).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn run(command: &mut Command) {
    let output = command.output().expect("the account tools run");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One test process at a time makes accounts (useradd locks /etc/passwd and fails, not waits).
fn machine_lock() -> std::fs::File {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/patdesk-test-users.lock")
        .expect("lock file");
    file.lock().expect("lock");
    file
}
