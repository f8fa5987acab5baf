//! The install in docs/install.md, as written, and the service it gives. The package `cargo deb`
//! built (target/debian/) is installed by the page's own install block (read from the page, so
//! the two cannot drift) on a copy-on-write copy of this machine's root filesystem, where
//! Debian's systemd runs as PID 1 of a PID and mount namespace of its own (this machine's init
//! is not systemd). Only what a reader would replace is replaced: the engineer's account, the
//! passwords, and the editor (a script that writes this test's config). The daemon must come
//! up under the unit the package installed, with all of its hardening, and do its work: a
//! request at the GitHub stand-in becomes a question in the requester's mailbox, and a
//! member's purpose and approval over the socket reach the stand-in. Then reloads with a broken
//! config, and a backup restored by docs/operations.md's restore block, as written.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::desk::wait_for;
use common::mailserver::{self, IMAPS_PORT, PASSWORD, SMTP_PORT, ca_file, create, inbox, session};
use common::standin::{APP_ID, Standin, keys_dir, pending, repositories_for};
use serde_json::json;

const SYSTEMD: &str = "/lib/systemd/systemd";

/// Run as PID 1 of the new namespaces: the machine's root as the lower layer of an overlay
/// whose changes live in a tmpfs (gone with the namespace), the kernel's filesystems inside it,
/// and systemd started in it. Mounts are shared, as on a booted host: systemd hands a service
/// its credentials by a mount made in a namespace of the service's own.
const BOOT: &str = r#"set -e
scratch=$1 target=$2
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs "$scratch"
mkdir "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
root=$scratch/root
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
printf '[Unit]\nDescription=the machine the install test boots\n' > "$root/etc/systemd/system/$target"
mount --make-rshared "$root"
exec chroot "$root" /lib/systemd/systemd --system --unit="$target" --log-target=kmsg
"#;

/// The booted copy of the machine, and the files the test made for it.
struct Machine {
    scratch: PathBuf,
    /// `unshare --kill-child`: its end is PID 1's, and with PID 1 the namespace goes.
    _namespace: common::KillOnDrop,
    /// systemd, as the host numbers it.
    pid: u32,
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

impl Machine {
    fn boot(scratch: PathBuf) -> Machine {
        let target = format!("patdesk-install-{}.target", std::process::id());
        std::fs::create_dir_all(scratch.join("overlay")).expect("the overlay's folder");
        let namespace = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount",
                "--kill-child",
                "sh",
                "-c",
                BOOT,
                "boot",
            ])
            .arg(scratch.join("overlay"))
            .arg(&target)
            // The machine keeps the real clock, as a host does: a run a year ahead under
            // faketime must not hand systemd its preload.
            .env_remove("LD_PRELOAD")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare runs");
        let namespace = common::KillOnDrop(namespace);
        let pid = wait_for(30, || {
            let found = Command::new("pgrep")
                .args(["-f", &format!("systemd --system --unit={target}")])
                .output()
                .ok()?;
            String::from_utf8_lossy(&found.stdout)
                .lines()
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .expect("systemd starts in the namespace");
        let machine = Machine {
            scratch,
            _namespace: namespace,
            pid,
        };
        wait_for(30, || {
            machine
                .run("systemctl is-active --quiet \"$0\"", &[&target])
                .status
                .success()
                .then_some(())
        })
        .expect("systemd reaches its target");
        machine
    }

    /// A shell script run inside, as root, with a clean environment.
    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.command("/", &[])
            .args(["bash", "-c", script])
            .args(args)
            .output()
            .expect("nsenter runs")
    }

    /// A command inside the machine's namespaces and root, from `dir`, with only `env` set.
    fn command(&self, dir: &str, env: &[(&str, &str)]) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args([
                "--target",
                &self.pid.to_string(),
                "--mount",
                "--pid",
                "--root",
            ])
            // env changes folder inside: nsenter's --wd= opens its folder outside the root.
            .args(["--", "env", "-i", "-C", dir])
            .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .arg("HOME=/root")
            .arg("LANG=C.UTF-8");
        for (name, value) in env {
            command.arg(format!("{name}={value}"));
        }
        command.stdin(Stdio::null());
        command
    }

    /// What the service wrote to the journal.
    fn journal(&self) -> String {
        let output = self.run(
            "systemctl status patdesk --no-pager -l; journalctl -u patdesk --no-pager -o short-precise",
            &[],
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn write(path: &Path, contents: &[u8], mode: u32) {
    std::fs::write(path, contents).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A line of /proc/PID/status, such as `NoNewPrivs`.
fn proc_status(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
        .unwrap_or_default()
}

/// The documentation's block `name`, as `scripts/doc-block` prints it (`scripts/test` runs the
/// build block the same way).
fn doc_block(name: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/doc-block");
    let output = Command::new(&script)
        .arg(name)
        .output()
        .expect("scripts/doc-block runs");
    assert!(output.status.success(), "{}", text(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// `text` with `placeholder` replaced, which must be there: a page that changed its
/// placeholders must change this test too.
fn replace(text: &str, placeholder: &str, value: &str) -> String {
    assert!(
        text.contains(placeholder),
        "the README's install block no longer says {placeholder:?}:\n{text}"
    );
    text.replace(placeholder, value)
}

/// The package `cargo deb` wrote last.
fn built_package() -> PathBuf {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian");
    std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("patdesk_") && name.ends_with(".deb"))
        })
        .max_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| {
            panic!(
                "no package in {}: build it as the README says, `cargo deb --locked` (scripts/test does)",
                folder.display()
            )
        })
}

/// The daemon's process as the host sees it.
fn daemon_pid() -> Option<u32> {
    let output = Command::new("pgrep")
        .args([
            "-f",
            "^/usr/bin/patdesk run --config /etc/patdesk/patdesk.toml",
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn the_readmes_install_gives_a_hardened_service_that_works() {
    assert!(
        Path::new(SYSTEMD).exists(),
        "{SYSTEMD} is missing: install Debian's systemd package"
    );
    assert_eq!(
        proc_status(std::process::id(), "Uid")
            .split_whitespace()
            .next(),
        Some("0"),
        "installing a package on a copy of the machine needs root (CI runs as root)"
    );
    assert_eq!(daemon_pid(), None, "a patdesk service runs already");
    mailserver::require();
    let package = built_package();
    let id = std::process::id();
    let alice = common::users::os_user(common::users::ALICE);
    let mallory = common::users::os_user(common::users::MALLORY);

    let folder = format!("t-install-{id}");
    let runtime = common::runtime();
    runtime.block_on(async { create(&mut session("team").await, &folder).await });
    let token = format!("installed-{id}");
    let request = pending(9401, "dave", &token, None);
    // The service runs on the host's clock, so GitHub's stand-in does too.
    let standin = Standin::start_on_the_hosts_clock(
        &[(
            "acme-corp",
            11,
            json!({
                "pending": [request.clone()],
                "repositories": repositories_for(std::slice::from_ref(&request), "acme-corp"),
                "verified_emails": {},
            }),
        )],
        json!({}),
    );

    // What the admin has at hand: the package and the App's key, in one folder; and, for the
    // editor to put in place, the config the admin would write, with its CA and directory.
    let scratch = PathBuf::from(format!("/srv/patdesk-install-{id}"));
    let admin = scratch.join("admin");
    let edits = scratch.join("edits");
    std::fs::create_dir_all(&admin).expect("the admin's folder");
    std::fs::create_dir_all(&edits).expect("the editor's folder");
    std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let package_name = package.file_name().expect("a file name");
    std::fs::copy(&package, admin.join(package_name)).expect("copy the package");
    write(
        &admin.join("app-private-key.pem"),
        &std::fs::read(keys_dir().join("app-test-key.pem")).expect("key"),
        0o600,
    );
    write(
        &edits.join("ca.crt"),
        &std::fs::read(ca_file()).expect("CA"),
        0o644,
    );
    write(
        &edits.join("people.csv"),
        b"login,email\ndave,dave@example.org\n",
        0o644,
    );
    write(
        &edits.join("patdesk.toml"),
        format!(
            "[store]\npath = \"/var/lib/patdesk/patdesk.db\"\n\
             [team.members]\nalice = {{ unix = \"{alice}\" }}\n\
             [people]\ndirectory = \"people.csv\"\n\
             [mailbox]\nhost = \"localhost\"\nport = {IMAPS_PORT}\nsecurity = \"tls\"\nca_file = \"ca.crt\"\n\
             username = \"team\"\npassword = {{ credential = \"imap-password\" }}\naddress = \"team@example.org\"\n\
             folder = \"{folder}\"\nprocessed_folder = \"{folder}-done\"\nquarantine_folder = \"{folder}-quarantine\"\n\
             [signing]\nkey = {{ credential = \"signing-key\" }}\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {SMTP_PORT}\nsecurity = \"plaintext\"\n\
             from = \"Platform team <team@example.org>\"\n\
             [github]\napp_id = {APP_ID}\nprivate_key = {{ credential = \"github-app.pem\" }}\napi_url = \"{}\"\n\
             [[github.orgs]]\nlogin = \"acme-corp\"\ninstallation_id = 11\n",
            standin.url,
            alice = alice.name,
        )
        .as_bytes(),
        0o644,
    );
    let editor = edits.join("editor");
    write(
        &editor,
        format!(
            "#!/bin/sh\n# The admin's edit: this test's config, with its CA and directory beside it.\n\
             set -e\ncd {}\ninstall -m 0644 patdesk.toml \"$1\"\n\
             install -m 0644 ca.crt people.csv \"$(dirname \"$1\")\"\n",
            edits.display()
        )
        .as_bytes(),
        0o755,
    );

    let machine = Machine::boot(scratch.clone());

    // The README's lines, with the reader's values in place of its placeholders.
    let block = doc_block("install");
    let block = replace(
        &block,
        "usermod -aG patdesk alice ",
        &format!("usermod -aG patdesk {} ", alice.name),
    );
    let block = replace(&block, "'the IMAP password'", &format!("'{PASSWORD}'"));
    let block = replace(&block, "'the SMTP password'", "'unused: no login here'");
    let install = machine
        .command(
            &admin.display().to_string(),
            &[("EDITOR", &editor.display().to_string())],
        )
        .args(["bash", "-euxo", "pipefail", "-c", &block])
        .output()
        .expect("the install runs");
    assert!(
        install.status.success(),
        "the README's install failed:\n{}\n{}",
        text(&install),
        machine.journal()
    );

    // The package's man page (the unit's Documentation=) and completions are where man and
    // bash look for them.
    let man = machine.run("man -w patdesk", &[]);
    assert!(
        String::from_utf8_lossy(&man.stdout).contains("/usr/share/man/man1/patdesk.1"),
        "{}",
        text(&man)
    );
    let docs = machine.run("systemctl show -P Documentation patdesk", &[]);
    assert!(
        String::from_utf8_lossy(&docs.stdout).contains("man:patdesk(1)"),
        "{}",
        text(&docs)
    );
    let completion = machine.run(
        "source /usr/share/bash-completion/completions/patdesk && complete -p patdesk",
        &[],
    );
    assert!(
        String::from_utf8_lossy(&completion.stdout).contains("_patdesk"),
        "{}",
        text(&completion)
    );

    let pid = wait_for(30, daemon_pid)
        .unwrap_or_else(|| panic!("the service is not running\n{}", machine.journal()));
    // Started means READY, which comes with a status line that tells the first contact.
    let status_text = machine.run("systemctl show -P StatusText patdesk", &[]);
    let status_text = String::from_utf8_lossy(&status_text.stdout);
    assert!(
        status_text.starts_with("intake ok · github "),
        "{status_text}\n{}",
        machine.journal()
    );
    // The sandbox, as the kernel reports it for the running daemon.
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    assert_eq!(proc_status(pid, "Seccomp"), "2", "a seccomp filter");
    assert_eq!(proc_status(pid, "CapEff"), "0000000000000000");
    assert_eq!(proc_status(pid, "CapBnd"), "0000000000000000");
    let uid = proc_status(pid, "Uid");
    assert!(
        !uid.starts_with("0\t") && !uid.starts_with("0 "),
        "a dynamic user, not root: {uid}"
    );
    let environment = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    assert!(
        environment
            .split(|byte| *byte == 0)
            .any(|entry| entry == b"CREDENTIALS_DIRECTORY=/run/credentials/patdesk.service"),
        "the secrets arrive as systemd credentials"
    );

    // And it works: the sync finds the request, the question reaches dave.
    let question = wait_for(60, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question reached dave\n{}", machine.journal()));
    assert!(String::from_utf8_lossy(&question).contains("Auto-Submitted: auto-generated"));

    // Engineers run the installed CLI as their own OS accounts, with the groups the machine
    // gives them: alice is in patdesk by the README's usermod; mallory is not.
    let as_user = |user: common::users::OsUser, args: &[&str]| {
        machine
            .command("/", &[])
            .args(["setpriv", "--reuid", user.name, "--regid"])
            .arg(user.gid.to_string())
            .args(["--init-groups", "/usr/bin/patdesk"])
            .args(args)
            .output()
            .expect("setpriv runs")
    };
    let outsider = as_user(mallory, &["note", "1", "I was here"]);
    assert_eq!(outsider.status.code(), Some(8), "{}", text(&outsider));
    let joined = machine.run("usermod -aG patdesk \"$0\"", &[mallory.name]);
    assert!(joined.status.success(), "{}", text(&joined));
    let stranger = as_user(mallory, &["note", "1", "I was here"]);
    assert_eq!(
        stranger.status.code(),
        Some(5),
        "in the group but not a member: {}",
        text(&stranger)
    );
    let purpose = as_user(
        alice,
        &[
            "purpose",
            "1",
            "Reads the api repository's issues for the weekly report",
        ],
    );
    assert!(
        purpose.status.success(),
        "{}\n{}",
        text(&purpose),
        machine.journal()
    );
    let approve = as_user(
        alice,
        &["approve", "1", "--reason", "one repository, read only"],
    );
    assert!(
        approve.status.success(),
        "{}\n{}",
        text(&approve),
        machine.journal()
    );
    let decision = wait_for(30, || {
        standin
            .calls()
            .into_iter()
            .find(|call| call["action"] == "approve")
    })
    .unwrap_or_else(|| panic!("the approval did not reach GitHub\n{}", machine.journal()));
    assert_eq!(decision["id"], 9401);
    // The trail, as a member reads it through the daemon: the approval under alice's login,
    // with the uid the kernel reported for her.
    let shown = as_user(alice, &["show", "1", "--json"]);
    assert!(shown.status.success(), "{}", text(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("JSON");
    let approved = shown["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|event| event["kind"] == "approved")
        .unwrap_or_else(|| panic!("no approval in the trail: {shown}"));
    assert_eq!(approved["actor"], "alice", "{approved}");
    let detail = match &approved["detail"] {
        serde_json::Value::String(detail) => serde_json::from_str(detail).expect("JSON detail"),
        detail => detail.clone(),
    };
    assert_eq!(detail["member"]["uid"], alice.uid, "{approved}");
    let journal = machine.journal();
    assert!(journal.contains("patdesk running"), "{journal}");
    assert!(journal.contains("control socket listening"), "{journal}");
    // Structured fields under the names the README gives them.
    let verbose = machine.run("journalctl -u patdesk --no-pager -o verbose", &[]);
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    assert!(verbose.contains("ORG=acme-corp"), "{verbose}");
    assert!(verbose.contains("COUNT="), "{verbose}");
    assert!(!verbose.contains("F_ORG="), "{verbose}");
    let errors = machine.run("journalctl -u patdesk --no-pager -o cat -p err", &[]);
    assert!(
        String::from_utf8_lossy(&errors.stdout).trim().is_empty()
            || String::from_utf8_lossy(&errors.stdout).contains("No entries"),
        "errors in the journal:\n{}",
        text(&errors)
    );

    reloads_cannot_lock_the_team_out(&machine, pid, &|args| as_user(alice, args));
    a_backup_is_restored_as_the_docs_say(&machine, &|args| as_user(alice, args));

    // Removing the package stops and disables the service.
    let remove = machine.run("apt-get remove -y -q patdesk", &[]);
    assert!(remove.status.success(), "{}", text(&remove));
    assert_eq!(
        wait_for(15, || daemon_pid().is_none().then_some(())),
        Some(()),
        "the service still runs after apt remove"
    );
}

/// A typo in the config: `systemctl reload` fails and names the key, the daemon runs on with
/// the config it had, and the team's commands still reach it (with a warning), `status`
/// saying the file has changed. A config the daemon itself refuses (a new database path)
/// fails no command either, and `status` says the reload was refused and why. The file put
/// back, a reload takes it and `status` says nothing more.
fn reloads_cannot_lock_the_team_out(
    machine: &Machine,
    pid: u32,
    as_alice: &dyn Fn(&[&str]) -> Output,
) {
    const CONFIG: &str = "/etc/patdesk/patdesk.toml";
    let kept = machine.run("cp -p \"$0\" /root/patdesk.toml.good", &[CONFIG]);
    assert!(kept.status.success(), "{}", text(&kept));
    let typo = machine.run(
        "sed -i 's/^security = \"tls\"/security = \"tsl\"/' \"$0\"",
        &[CONFIG],
    );
    assert!(typo.status.success(), "{}", text(&typo));
    let reload = machine.run("systemctl reload patdesk", &[]);
    assert!(
        !reload.status.success(),
        "a reload of a broken config must fail: {}",
        text(&reload)
    );
    let check = machine.run("patdesk check-config", &[]);
    assert_eq!(check.status.code(), Some(3), "{}", text(&check));
    assert!(
        text(&check).contains("`mailbox.security` (line"),
        "{}",
        text(&check)
    );
    assert_eq!(daemon_pid(), Some(pid), "the daemon runs on, not restarted");
    let status = as_alice(&["status"]);
    assert_eq!(
        status.status.code(),
        Some(0),
        "status still answers: {}",
        text(&status)
    );
    let said = text(&status);
    assert!(
        said.contains("`mailbox.security` (line"),
        "the warning says what is wrong: {said}"
    );
    assert!(said.contains("the file has CHANGED since"), "{said}");
    let list = as_alice(&["list"]);
    assert!(list.status.success(), "{}", text(&list));
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("PAT-1"),
        "{}",
        text(&list)
    );

    // Valid to check-config, refused by the daemon: the database cannot move under it.
    let moved = machine.run(
        "cp /root/patdesk.toml.good \"$0\" && sed -i 's|/var/lib/patdesk/patdesk.db|/var/lib/patdesk/moved.db|' \"$0\"",
        &[CONFIG],
    );
    assert!(moved.status.success(), "{}", text(&moved));
    let reload = machine.run("systemctl reload patdesk", &[]);
    assert!(
        reload.status.success(),
        "{}\n{}",
        text(&reload),
        machine.journal()
    );
    let refused = wait_for(30, || {
        let status = as_alice(&["status"]);
        text(&status).contains("REFUSED").then_some(status)
    })
    .unwrap_or_else(|| {
        panic!(
            "status never told the refused reload\n{}",
            machine.journal()
        )
    });
    assert_eq!(refused.status.code(), Some(0), "{}", text(&refused));
    assert!(
        text(&refused).contains("store.path changed"),
        "{}",
        text(&refused)
    );
    assert_eq!(daemon_pid(), Some(pid));

    let restored = machine.run("cp -p /root/patdesk.toml.good \"$0\"", &[CONFIG]);
    assert!(restored.status.success(), "{}", text(&restored));
    let reload = machine.run("systemctl reload patdesk", &[]);
    assert!(reload.status.success(), "{}", text(&reload));
    let healthy = wait_for(30, || {
        let status = as_alice(&["status"]);
        let said = text(&status);
        (status.status.success() && !said.contains("REFUSED") && !said.contains("CHANGED"))
            .then_some(said)
    })
    .unwrap_or_else(|| panic!("the good config was not taken back\n{}", machine.journal()));
    assert!(healthy.contains(CONFIG), "{healthy}");
    assert_eq!(daemon_pid(), Some(pid));
}

/// A backup taken while the service runs, a note made after it, then docs/operations.md's
/// restore block run as written: the service runs again on the copy (its own user can open
/// it: the `chown` the block gives), the audit log verifies, and the note made after the
/// backup is not there.
fn a_backup_is_restored_as_the_docs_say(machine: &Machine, as_alice: &dyn Fn(&[&str]) -> Output) {
    let backup = machine.run("patdesk backup --out /root/patdesk-backup.db", &[]);
    assert!(backup.status.success(), "{}", text(&backup));
    let later = "written after the backup";
    let noted = as_alice(&["note", "1", later]);
    assert!(noted.status.success(), "{}", text(&noted));
    let restore = machine
        .command("/root", &[])
        .args(["bash", "-euxo", "pipefail", "-c", &doc_block("restore")])
        .output()
        .expect("the restore runs");
    assert!(
        restore.status.success(),
        "the restore as written failed:\n{}\n{}",
        text(&restore),
        machine.journal()
    );
    assert!(text(&restore).contains("intact"), "{}", text(&restore));
    wait_for(30, daemon_pid).unwrap_or_else(|| {
        panic!(
            "the service is not running on the copy\n{}",
            machine.journal()
        )
    });
    let shown = as_alice(&["show", "1"]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("approved"),
        "{}",
        text(&shown)
    );
    assert!(!text(&shown).contains(later), "{}", text(&shown));
}
