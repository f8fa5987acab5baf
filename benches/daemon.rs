//! The running service: `scripts/mailserver start && cargo bench --bench daemon`.
//!
//! 1. Idle: `patdesk run` connected to Dovecot (IDLE) and the GitHub stand-in, nothing to do:
//!    its resident memory and CPU over 60 s. Targets (issue 8): RSS < 20 MB, CPU < 0.5 %.
//! 2. Digest to question: a new request appears at the stand-in and GitHub's digest is
//!    delivered over SMTP; the time until the question is in the requester's mailbox, over 20
//!    requests, p50 and p99 (here the maximum). Target: p99 < 2 s plus the sync debounce.
//! 3. Webhook to question: the same, with GitHub's signed `personal_access_token_request`
//!    delivery instead of the digest (no debounce), over 20 more requests. Target: p99 < 5 s
//!    (issue 21).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::hookshot;
use common::mailserver::{TestFolder, inbox, send};
use common::standin::pending;

const IDLE_SECONDS: u64 = 60;
const REQUESTS: usize = 20;
const DEBOUNCE_SECONDS: u64 = 1;

fn main() {
    let port = hookshot::free_port();
    let people = (0..2 * REQUESTS)
        .map(|n| {
            (
                format!("b{n}"),
                format!("dave+bench{}b{n}@example.org", std::process::id()),
            )
        })
        .collect();
    let desk = Desk::new(
        TestFolder::new("bench-daemon"),
        DeskSetup {
            people,
            sync_seconds: 3600,
            github_extra: format!(
                "sync_debounce_seconds = {DEBOUNCE_SECONDS}\n{}",
                hookshot::config_table(port, 1024 * 1024)
            ),
            extra: "[mail]\nbreaker_mails = 1000\n".to_string(),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("webhook-secret", hookshot::SECRET);
    let mut daemon = desk.start_daemon();
    wait_for(30, || {
        desk.log().contains("mail intake connected").then_some(())
    })
    .expect("the daemon connects");
    std::thread::sleep(Duration::from_secs(5));

    let pid = daemon.id();
    let (rss_before, ticks_before) = sample(pid);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(IDLE_SECONDS));
    let (rss_after, ticks_after) = sample(pid);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = (ticks_after - ticks_before) as f64 / clock_ticks() / elapsed * 100.0;
    println!("| measure | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| idle RSS (after {IDLE_SECONDS} s; {:.1} MB at its start) | {:.1} MB | < 20 MB |",
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!("| idle CPU over {IDLE_SECONDS} s | {cpu:.2} % | < 0.5 % |");

    let digest = std::fs::read(
        common::fixtures_dir().join("github_pat_requests_pending/digest-plain-verified.eml"),
    )
    .expect("digest fixture");
    let runtime = common::runtime();
    let mut pending_now = Vec::new();
    let mut delays = Vec::new();
    for n in 0..REQUESTS {
        let token = format!("bench{}t{n}", std::process::id());
        pending_now.push(pending(30_000 + n as i64, &format!("b{n}"), &token, None));
        desk.set_pending(&pending_now);
        let sent = Instant::now();
        send(&desk.address(), &digest);
        question_arrives(&runtime, &token);
        delays.push(sent.elapsed());
    }
    let (p50, p99) = percentiles(&mut delays);
    println!(
        "| digest over SMTP to the question in the requester's INBOX, p50 / p99 ({REQUESTS} requests; sync debounce {DEBOUNCE_SECONDS} s) | {} / {} ms | p99 < 2 s + debounce |",
        p50.as_millis(),
        p99.as_millis()
    );

    let mut delays = Vec::new();
    for n in REQUESTS..2 * REQUESTS {
        let token = format!("bench{}t{n}", std::process::id());
        let id = 30_000 + n as i64;
        pending_now.push(pending(id, &format!("b{n}"), &token, None));
        desk.set_pending(&pending_now);
        let body = hookshot::token_request_event("created", "acme-corp", id as u64, &token);
        let delivery = format!("be0c{:04x}-0000-4000-8000-{:012x}", n, std::process::id());
        let sent = Instant::now();
        let code = hookshot::deliver(
            port,
            &delivery,
            "personal_access_token_request",
            hookshot::SECRET,
            &body,
        );
        assert_eq!(code, 202, "the delivery is taken");
        question_arrives(&runtime, &token);
        delays.push(sent.elapsed());
    }
    let (p50, p99) = percentiles(&mut delays);
    println!(
        "| signed webhook delivery to the question in the requester's INBOX, p50 / p99 ({REQUESTS} requests) | {} / {} ms | p99 < 5 s |",
        p50.as_millis(),
        p99.as_millis()
    );
    assert!(stop(&mut daemon).success());
}

/// Waits for the question about `token` in the requester's mailbox.
fn question_arrives(runtime: &tokio::runtime::Runtime, token: &str) {
    wait_for(30, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .expect("the question arrives");
}

/// p50 and p99 (with 20 samples, the maximum).
fn percentiles(delays: &mut [Duration]) -> (Duration, Duration) {
    delays.sort();
    let p50 = delays[delays.len() / 2];
    let p99 = delays[(delays.len() * 99).div_ceil(100) - 1];
    (p50, p99)
}

/// Resident memory (kB) and CPU time (clock ticks) of `pid`.
fn sample(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .expect("stat fields");
    let ticks =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    (rss, ticks)
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
