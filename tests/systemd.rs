//! `patdesk run` under the real systemd unit, with all of its hardening: Debian's systemd is
//! started as PID 1 of a PID and mount namespace of its own (this machine's init is not
//! systemd), loads a copy of systemd/patdesk.service that differs only in paths (the binary,
//! the config, the credentials, where stderr goes), and starts it. The daemon must come up
//! under a dynamic user with no capabilities, no new privileges and a seccomp filter, and do
//! its work: a request at the GitHub stand-in becomes a
//! question in the requester's mailbox.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::desk::wait_for;
use common::mailserver::{self, IMAPS_PORT, PASSWORD, SMTP_PORT, ca_file, create, inbox, session};
use common::standin::{APP_ID, Standin, keys_dir, pending, repositories_for};
use serde_json::json;

const SYSTEMD: &str = "/lib/systemd/systemd";

/// A systemd started in its own namespaces, and everything the test put on disk for it.
struct Sandbox {
    root: PathBuf,
    state: PathBuf,
    unit_name: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // PID 1 of the namespace gone, the kernel ends every process in it.
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-f", &format!("unit={}", self.unit_name)])
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = std::fs::remove_dir_all(&self.root);
        let _ = std::fs::remove_dir_all(&self.state);
    }
}

fn write(path: &Path, contents: &[u8], mode: u32) {
    std::fs::write(path, contents).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The daemon's process as the host sees it.
fn daemon_pid(config: &Path) -> Option<u32> {
    let output = std::process::Command::new("pgrep")
        .args(["-f", &format!("patdesk run --config {}", config.display())])
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
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

#[test]
fn the_daemon_runs_and_works_under_the_units_hardening() {
    assert!(
        Path::new(SYSTEMD).exists(),
        "{SYSTEMD} is missing: install Debian's systemd package"
    );
    assert_eq!(
        proc_status(std::process::id(), "Uid")
            .split_whitespace()
            .next(),
        Some("0"),
        "starting systemd in a namespace needs root (CI runs as root)"
    );
    mailserver::require();
    let id = std::process::id();
    let unit_name = format!("patdesk-test-{id}");
    // Not under /tmp (the unit has a private one) nor /home (protected).
    let sandbox = Sandbox {
        root: PathBuf::from(format!("/srv/{unit_name}")),
        state: PathBuf::from(format!("/var/lib/private/{unit_name}")),
        unit_name: unit_name.clone(),
    };
    let root = &sandbox.root;
    let units = root.join("units");
    let credentials = root.join("credentials");
    std::fs::create_dir_all(&units).expect("units dir");
    std::fs::create_dir_all(&credentials).expect("credentials dir");
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o700)).expect("chmod");

    let folder = format!("t-systemd-{id}");
    let runtime = common::runtime();
    runtime.block_on(async { create(&mut session("team").await, &folder).await });
    let token = format!("under-systemd-{id}");
    let request = pending(9401, "dave", &token, None);
    let standin = Standin::start(
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

    write(
        &credentials.join("imap-password"),
        PASSWORD.as_bytes(),
        0o600,
    );
    write(&credentials.join("smtp-password"), b"unused", 0o600);
    write(
        &credentials.join("github-app.pem"),
        &std::fs::read(keys_dir().join("app-test-key.pem")).expect("key"),
        0o600,
    );
    write(
        &credentials.join("signing-key"),
        b"a signing key for the systemd test",
        0o600,
    );
    write(
        &root.join("ca.crt"),
        &std::fs::read(ca_file()).expect("CA"),
        0o644,
    );
    write(
        &root.join("people.csv"),
        b"login,email\ndave,dave@example.org\n",
        0o644,
    );
    let config = root.join("patdesk.toml");
    write(
        &config,
        format!(
            "[store]\npath = \"/var/lib/{unit_name}/patdesk.db\"\n\
             [team.members]\nalice = {{ unix = \"{alice}\" }}\n\
             [control]\ngroup = \"{group}\"\n[people]\ndirectory = \"people.csv\"\n\
             [mailbox]\nhost = \"localhost\"\nport = {IMAPS_PORT}\nsecurity = \"tls\"\nca_file = \"ca.crt\"\n\
             username = \"team\"\npassword = {{ file = \"/var/lib/{unit_name}/secrets/imap-password\" }}\naddress = \"team@example.org\"\n\
             folder = \"{folder}\"\nprocessed_folder = \"{folder}-done\"\nquarantine_folder = \"{folder}-quarantine\"\n\
             [signing]\nkey = {{ file = \"/var/lib/{unit_name}/secrets/signing-key\" }}\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {SMTP_PORT}\nsecurity = \"plaintext\"\n\
             from = \"Platform team <team@example.org>\"\n\
             [github]\napp_id = {APP_ID}\nprivate_key = {{ file = \"/var/lib/{unit_name}/secrets/github-app.pem\" }}\napi_url = \"{}\"\n\
             [[github.orgs]]\nlogin = \"acme-corp\"\ninstallation_id = 11\n",
            standin.url,
            alice = common::users::ALICE,
            group = common::users::GROUP,
        )
        .as_bytes(),
        0o644,
    );
    let alice = common::users::os_user(common::users::ALICE);
    let mallory = common::users::os_user(common::users::MALLORY);

    // The project's unit, with this machine's paths: nothing else changes.
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/patdesk.service"),
    )
    .expect("the unit");
    let log = root.join("daemon.log");
    // The build may live under /tmp or /home, which the unit hides from the service.
    let binary = root.join("patdesk");
    std::fs::copy(env!("CARGO_BIN_EXE_patdesk"), &binary).expect("copy the binary");
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let unit = unit
        .replace(
            "ExecStart=/usr/local/bin/patdesk run --config /etc/patdesk/patdesk.toml",
            &format!(
                "ExecStart={} run --config {}\nStandardOutput=append:{}\nStandardError=append:{}",
                binary.display(),
                config.display(),
                log.display(),
                log.display()
            ),
        )
        .replace(
            "/etc/patdesk/credentials/",
            &format!("{}/", credentials.display()),
        )
        // The one deviation: systemd running in a namespace here leaves the credentials
        // directory readable by root only, so a root ExecStartPre hands the same files to the
        // service's dynamic user in its state directory (`file` secrets instead of
        // `credential` ones). On a host whose init is systemd, LoadCredential= does this.
        .replace(
            "Restart=on-failure",
            &format!(
                "Restart=on-failure\nExecStartPre=+/bin/sh -c 'd=/var/lib/{unit_name}/secrets; \
                 mkdir -p $d && cp {creds}/* $d && chown -R --reference=/var/lib/{unit_name} $d && \
                 chmod 0700 $d && chmod 0600 $d/*'",
                creds = credentials.display()
            ),
        )
        .replace(
            "StateDirectory=patdesk",
            &format!("StateDirectory={unit_name}"),
        )
        .replace(
            "WorkingDirectory=/var/lib/patdesk",
            &format!("WorkingDirectory=/var/lib/{unit_name}"),
        )
        // The install's group, as the test's engineers have it.
        .replace("Group=patdesk", &format!("Group={}", common::users::GROUP));
    assert!(
        unit.contains(&format!("ExecStart={}", binary.display())),
        "ExecStart was replaced"
    );
    write(
        &units.join(format!("{unit_name}.service")),
        unit.as_bytes(),
        0o644,
    );
    write(
        &units.join(format!("{unit_name}.target")),
        format!("[Unit]\nWants={unit_name}.service\n").as_bytes(),
        0o644,
    );

    let systemd = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount", "--mount-proc", "env"])
        .arg(format!("SYSTEMD_UNIT_PATH={}", units.display()))
        .args([
            SYSTEMD,
            "--system",
            &format!("--unit={unit_name}.target"),
            "--log-target=kmsg",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start systemd in its namespaces");
    let _systemd = common::KillOnDrop(systemd);
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    let pid = wait_for(60, || daemon_pid(&config))
        .unwrap_or_else(|| panic!("systemd did not start patdesk\n{}", log_text()));
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

    // And it works: the sync finds the request, the question reaches dave.
    let question = wait_for(60, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question reached dave\n{}", log_text()));
    assert!(String::from_utf8_lossy(&question).contains("Auto-Submitted: auto-generated"));

    // A member decides through the socket, as their own OS account, from the namespace the
    // service runs in (its /run is systemd's own there): the purpose, then the approval,
    // which the daemon carries to GitHub.
    let systemd_pid: u32 = proc_status(pid, "PPid")
        .parse()
        .expect("the daemon's parent");
    let as_user = |user: common::users::OsUser, args: &[&str]| {
        std::process::Command::new("nsenter")
            .args([
                "--target",
                &systemd_pid.to_string(),
                "--mount",
                "--",
                "setpriv",
            ])
            .arg(format!("--reuid={}", user.uid))
            .arg(format!("--regid={}", user.gid))
            .arg("--clear-groups")
            .arg(&binary)
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("nsenter runs")
    };
    let stranger = as_user(mallory, &["note", "1", "I was here"]);
    assert_eq!(
        stranger.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&stranger.stderr)
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
        String::from_utf8_lossy(&purpose.stderr),
        log_text()
    );
    let approve = as_user(
        alice,
        &["approve", "1", "--reason", "one repository, read only"],
    );
    assert!(
        approve.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&approve.stderr),
        log_text()
    );
    let decision = wait_for(30, || {
        standin
            .calls()
            .into_iter()
            .find(|call| call["action"] == "approve")
    })
    .unwrap_or_else(|| panic!("the approval did not reach GitHub\n{}", log_text()));
    assert_eq!(decision["id"], 9401);
    let approved: String = rusqlite::Connection::open_with_flags(
        sandbox.state.join("patdesk.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|db| {
        db.query_row(
            "SELECT detail FROM events WHERE kind = 'approved' AND actor = 'alice'",
            [],
            |row| row.get(0),
        )
    })
    .expect("the approval is recorded under alice");
    let approved: serde_json::Value = serde_json::from_str(&approved).expect("JSON");
    assert_eq!(approved["member"]["uid"], alice.uid, "{approved}");
    let text = log_text();
    assert!(text.contains("patdesk running"), "{text}");
    assert!(text.contains("control socket listening"), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
}
