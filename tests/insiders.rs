//! Hostile insiders: the attacks of people who may reach the daemon (a user in the control
//! group who is not a member, a member, a database writer), each made as it was, against a
//! `patdesk run` under the systemd unit's limits, with real OS accounts.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use patdesk::control::protocol::{Envelope, Request, VERSION};
use patdesk::store::AlertKind;
use serde_json::Value;

use common::control::os_user_of;
use common::desk::{Desk, DeskSetup, wait_for};
use common::limits::{MEMORY_MAX, UnitLimits};
use common::mailserver::TestFolder;
use common::rss::peak_rss;
use common::standin::pending;
use common::users::{command_as, os_user};

const FLOOD: &str = include_str!("attacks/control_flood.py");

/// A desk whose GitHub has one pending request of dave's, `github_id`, with its purpose given;
/// and the request's token name, unique to this run.
fn desk_with_request(name: &str, github_id: i64) -> (Desk, String) {
    let tag = format!("{name}-{}", std::process::id());
    let desk = Desk::new(
        TestFolder::new(name),
        DeskSetup {
            pending: vec![pending(
                github_id,
                "dave",
                &tag,
                Some("Reads the issues for the weekly report"),
            )],
            ..DeskSetup::default()
        },
    );
    (desk, tag)
}

/// An attack on the control socket, run as an OS account: COUNT connections held open.
struct Attack {
    process: Child,
}

impl Attack {
    /// Starts the attack and waits until its connections are first open.
    fn start(login: &str, socket: &std::path::Path, count: usize, payload: &str) -> Attack {
        let mut process = command_as(os_user(os_user_of(login)), std::path::Path::new("python3"))
            .arg("-c")
            .arg(FLOOD)
            .arg(socket)
            .arg(count.to_string())
            .arg(payload)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let opened = read_json_line(&mut process);
        assert!(
            opened["open"].as_u64().is_some(),
            "the attack did not start: {opened}"
        );
        Attack { process }
    }

    /// Ends the attack: what the daemon answered it.
    fn stop(mut self) -> Value {
        drop(self.process.stdin.take());
        let totals = read_json_line(&mut self.process);
        let _ = self.process.wait();
        totals
    }
}

fn read_json_line(process: &mut Child) -> Value {
    let stdout = process.stdout.as_mut().expect("piped");
    let mut line = String::new();
    // One byte at a time would do too; a BufReader dropped here loses nothing after the line,
    // for the attack prints nothing between its two lines.
    BufReader::new(stdout).read_line(&mut line).expect("read");
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"))
}

/// 1,000 connections from a user in the group who is not a member, each sending 1 MB with
/// no line end, and 400 parallel reads from a member, both made again as soon as the daemon
/// closes them: meanwhile a mail is taken in and another member's approval is answered within
/// a second, and the daemon stays inside the unit's memory and tasks. Before the socket was
/// bounded, this got the daemon killed for memory in under a second.
#[test]
fn the_control_socket_cannot_be_starved_by_a_stranger_or_a_member() {
    let (desk, tag) = desk_with_request("starve", 9701);
    let limits = UnitLimits::new();
    let mut daemon = desk.start_daemon_limited(&limits);
    let id = wait_for(30, || desk.request_id(9701))
        .unwrap_or_else(|| panic!("the request was not synced\n{}", desk.log()));
    let socket = desk.config.parent().expect("folder").join("control.sock");

    let stranger = Attack::start("mallory", &socket, 1000, "flood");
    let reads = Attack::start(
        "bob",
        &socket,
        400,
        &serde_json::to_string(&Envelope {
            version: VERSION,
            body: Request::Export { after: 0 },
        })
        .expect("a request"),
    );
    let member_flood = Attack::start("bob", &socket, 50, "flood");

    common::mailserver::send(&desk.address(), &common::mailserver::mail(1, &tag));
    let messages = || -> i64 {
        desk.store()
            .connection()
            .query_row("SELECT COUNT(*) FROM messages", [], |row| row.get(0))
            .unwrap_or(-1)
    };
    wait_for(60, || (messages() == 1).then_some(()))
        .unwrap_or_else(|| panic!("the mail was not taken in under attack\n{}", desk.log()));

    let asked = Instant::now();
    let approve = desk.patdesk_as(
        "alice",
        &["approve", &id.to_string(), "--reason", "the weekly report"],
    );
    let answered_in = asked.elapsed();
    println!("under attack: approve answered in {answered_in:?}");
    assert!(
        approve.status.success(),
        "approve failed under attack: {}",
        String::from_utf8_lossy(&approve.stderr)
    );
    assert!(
        answered_in < Duration::from_secs(1),
        "approve took {answered_in:?} under attack"
    );

    let status = desk.patdesk(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    let stranger = stranger.stop();
    let reads = reads.stop();
    let member_flood = member_flood.stop();
    println!("stranger: {stranger}\nmember's reads: {reads}\nmember's flood: {member_flood}");
    println!("control socket: {}", status["control"]);
    let rss = peak_rss(daemon.id());
    println!(
        "daemon peak RSS {:.1} MB, cgroup peak {:.1} MB (limit {} MB), tasks refused {}",
        rss as f64 / 1e6,
        limits.peak_memory() as f64 / 1e6,
        MEMORY_MAX / 1024 / 1024,
        limits.tasks_refused()
    );
    assert!(
        daemon.try_wait().expect("wait").is_none(),
        "the daemon died under attack\n{}",
        desk.log()
    );
    assert_eq!(limits.tasks_refused(), 0, "the daemon ran out of tasks");
    assert!(
        limits.peak_memory() < MEMORY_MAX,
        "the daemon reached its memory limit"
    );
    // The stranger is never read: every answer it got is a refusal.
    assert_eq!(stranger["answers"], 0, "{stranger}");
    assert!(stranger["refused"].as_u64() > Some(0), "{stranger}");
    // The member's reads were answered, a few at a time, the rest told the socket is busy.
    assert!(reads["answers"].as_u64() > Some(0), "{reads}");
    assert!(
        reads["busy"].as_u64().unwrap_or(0) + member_flood["busy"].as_u64().unwrap_or(0) > 0,
        "{reads} {member_flood}"
    );
    for counter in ["busy", "not_member"] {
        assert!(
            status["control"][counter].as_u64() > Some(0),
            "status does not count {counter}: {}",
            status["control"]
        );
    }
    assert_eq!(
        desk.store().request(id).expect("request").state,
        patdesk::request::RequestState::Approved
    );
    assert!(common::desk::stop(&mut daemon).success(), "{}", desk.log());
}

/// A member's line without an end is cut at 64 KiB, and a connection that sends nothing is
/// dropped after the read timeout: both are told why, and counted.
#[test]
fn a_long_or_silent_request_is_refused_and_counted() {
    let desk = Desk::new(TestFolder::new("bounded"), DeskSetup::default());
    let _daemon = desk.start_daemon();
    let socket = desk.config.parent().expect("folder").join("control.sock");
    wait_for(30, || socket.exists().then_some(()))
        .unwrap_or_else(|| panic!("no socket\n{}", desk.log()));
    // Root may read: its connections are read like a member's.
    let ask = |bytes: &[u8]| -> Value {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).expect("connect");
        let _ = stream.write_all(bytes);
        let mut answer = String::new();
        BufReader::new(stream)
            .read_line(&mut answer)
            .expect("answer");
        serde_json::from_str(&answer).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
    };
    let long = ask(&vec![b'x'; 200 * 1024]);
    assert_eq!(long["error"], "invalid", "{long}");
    assert!(
        long["message"].as_str().unwrap_or("").contains("64 KiB"),
        "{long}"
    );
    let silent_at = Instant::now();
    let silent = ask(b"");
    assert_eq!(silent["error"], "invalid", "{silent}");
    assert!(
        silent_at.elapsed() < Duration::from_secs(30),
        "a silent caller held its connection {:?}",
        silent_at.elapsed()
    );
    let status = desk.patdesk(&["status", "--json"]);
    let status: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(status["control"]["too_large"], 1, "{}", status["control"]);
    assert_eq!(status["control"]["slow"], 1, "{}", status["control"]);
    let readable = desk.patdesk(&["status"]);
    let readable = String::from_utf8_lossy(&readable.stdout);
    assert!(
        readable.contains("refused: too slow 1, too large 1"),
        "{readable}"
    );
    // Nothing was read of a stranger: it is told at once.
    let stranger = common::control::patdesk_as(os_user_of("mallory"), &desk.config, &["list"]);
    assert_eq!(stranger.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&stranger.stderr).contains("not a member of the team"));
}

/// A database writer without the key (the file's owner, a replica's reader turned writer)
/// appends bob's approval with hashes that chain: the push task refuses to carry it, `audit
/// verify` names the event, and no audit head is posted that names bob's decision. Before the
/// chain carried MACs, the approval reached GitHub and the daemon posted "after PAT-n approved
/// by bob".
#[test]
fn a_decision_written_without_the_key_is_not_carried_and_breaks_the_audit() {
    let (desk, _) = desk_with_request("forged", 9801);
    let mut daemon = desk.start_daemon();
    let id = wait_for(30, || desk.request_id(9801))
        .unwrap_or_else(|| panic!("the request was not synced\n{}", desk.log()));
    // The daemon writes its events with a MAC.
    let keyed = desk
        .store()
        .chain_head()
        .expect("head")
        .and_then(|head| head.mac);
    assert!(keyed.is_some(), "the daemon's events carry no MAC");

    let bob = patdesk::lifecycle::Member {
        login: "bob".to_string(),
        os_user: common::users::BOB.to_string(),
        uid: os_user(common::users::BOB).uid,
        authenticated_by: patdesk::lifecycle::Authentication::PeerCredentials,
        slack: None,
    };
    patdesk::decide::approve(
        &mut desk.store(),
        &bob,
        id,
        Some("the weekly report"),
        None,
        &patdesk::review::ReviewPolicy::default(),
    )
    .expect("the forger's approval is written");

    let refused = wait_for(60, || {
        desk.store()
            .alerts()
            .expect("alerts")
            .into_iter()
            .find(|alert| alert.kind == AlertKind::GithubPushRefused)
    })
    .unwrap_or_else(|| panic!("the forged approval was not refused\n{}", desk.log()));
    assert!(
        refused.message.contains("written without patdesk's key"),
        "{}",
        refused.message
    );
    assert!(
        desk.standin.calls().is_empty(),
        "the forged approval reached GitHub: {:?}",
        desk.standin.calls()
    );
    let verify = desk.patdesk_as("alice", &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(6), "{verify:?}");
    let said = String::from_utf8_lossy(&verify.stderr);
    assert!(said.contains("written without patdesk's key"), "{said}");
    desk.wait_for_alert_rounds(2);
    assert!(
        !desk
            .store()
            .alerts()
            .expect("alerts")
            .iter()
            .any(|alert| alert.kind == AlertKind::AuditHead && alert.message.contains("by bob")),
        "a head was posted naming the forged decision"
    );
    assert!(common::desk::stop(&mut daemon).success(), "{}", desk.log());
}

/// A member of the group puts a socket of their own where the daemon's would be (a directory
/// the group may write): a member's `approve` is refused before anything is sent, and the
/// impostor reads nothing. A directory every user may write is refused by the daemon itself.
#[test]
fn the_cli_tells_nothing_to_a_socket_that_is_not_the_daemons() {
    use std::os::unix::fs::PermissionsExt;
    let top = tempfile::TempDir::new().expect("temp dir");
    common::users::let_through(top.path());
    let shared = top.path().join("shared");
    std::fs::create_dir(&shared).expect("dir");
    let group = common::users::os_user(common::users::MALLORY).gid;
    std::os::unix::fs::chown(&shared, None, Some(group)).expect("chgrp");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let config = common::control::records_only_config(&shared, "patdesk.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let socket = shared.join("control.sock");
    let impostor = "import os, socket, sys\n\
        s = socket.socket(socket.AF_UNIX)\n\
        s.bind(sys.argv[1])\n\
        os.chmod(sys.argv[1], 0o777)\n\
        s.listen()\n\
        print('ready', flush=True)\n\
        c, _ = s.accept()\n\
        c.settimeout(5)\n\
        try:\n    data = c.recv(65536)\nexcept OSError:\n    data = b''\n\
        print(len(data), flush=True)\n";
    let mut listener = command_as(
        os_user(common::users::MALLORY),
        std::path::Path::new("python3"),
    )
    .arg("-c")
    .arg(impostor)
    .arg(&socket)
    .stdout(Stdio::piped())
    .spawn()
    .expect("python3 runs");
    let mut out = BufReader::new(listener.stdout.take().expect("piped"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    assert_eq!(line.trim(), "ready");

    let approve = common::control::patdesk_as(
        common::users::ALICE,
        &config,
        &["approve", "1", "--reason", "it only reads"],
    );
    let said = String::from_utf8_lossy(&approve.stderr);
    assert_eq!(approve.status.code(), Some(5), "{said}");
    assert!(said.contains("not by the owner"), "{said}");
    line.clear();
    out.read_line(&mut line).expect("bytes read");
    assert_eq!(line.trim(), "0", "the impostor read the request");
    let _ = listener.wait();

    // The daemon does not listen where every user may write.
    let open = top.path().join("open");
    std::fs::create_dir(&open).expect("dir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let config = common::control::records_only_config(&open, "patdesk.toml");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("PATDESK_CONFIG")
        .output()
        .expect("patdesk runs");
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{said}");
    assert!(said.contains("every user may write"), "{said}");
}

/// A daemon run as an account the config maps to a member refuses to start: whatever it then
/// decided could not be told from the service's own work.
#[test]
fn the_daemon_refuses_its_own_account_as_a_member() {
    let alice = os_user(common::users::ALICE);
    let top = tempfile::TempDir::new().expect("temp dir");
    common::users::let_through(top.path());
    let dir = top.path().join("alice");
    std::fs::create_dir(&dir).expect("dir");
    std::os::unix::fs::chown(&dir, Some(alice.uid), Some(alice.gid)).expect("chown");
    let config = common::control::records_only_config(&dir, "patdesk.toml");
    let mut run = command_as(alice, common::users::patdesk_binary())
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("PATDESK_CONFIG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("patdesk runs");
    let exited = wait_for(20, || run.try_wait().expect("wait"));
    if exited.is_none() {
        let _ = run.kill();
    }
    let mut said = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().expect("piped"), &mut said)
        .expect("stderr");
    assert!(
        exited.is_some_and(|status| !status.success()),
        "the daemon started as a member's account: {said}"
    );
    assert!(said.contains("the daemon's own user"), "{said}");
}
