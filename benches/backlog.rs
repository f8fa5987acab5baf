//! A backlog of large mails: `scripts/mailserver start && cargo bench --bench backlog`.
//!
//! Ten mails of 24 MB each (just under the 25 MB cap: a short text and a base64 attachment)
//! wait in the watched folder when `patdesk run` starts. The daemon takes them all in; the
//! peak resident memory of its process (the kernel's `VmHWM`) is printed beside the target:
//! under 200 MB, so the unit's `MemoryMax=256M` is never reached.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::mailserver::{TestFolder, append, count, large_mail, session};

const MAILS: usize = 10;
const MAIL_BYTES: usize = 24_000_000;

fn main() {
    let desk = Desk::new(
        TestFolder::new("bench-backlog"),
        DeskSetup {
            sync_seconds: 3600,
            ..DeskSetup::default()
        },
    );
    let runtime = common::runtime();
    let filled = Instant::now();
    runtime.block_on(async {
        let mut admin = session(desk.folder.user).await;
        for n in 0..MAILS {
            append(
                &mut admin,
                &desk.folder.name,
                &large_mail(n, &desk.folder.name, MAIL_BYTES),
            )
            .await;
        }
    });
    println!(
        "filled {} with {MAILS} mails of {} MB in {:.1} s",
        desk.folder.name,
        MAIL_BYTES / 1_000_000,
        filled.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut daemon = desk.start_daemon();
    let pid = daemon.id();
    wait_for(600, || {
        let left = runtime.block_on(async {
            count(&mut session(desk.folder.user).await, &desk.folder.name).await
        });
        (left == 0).then_some(())
    })
    .unwrap_or_else(|| panic!("the backlog is taken in\n{}", desk.log()));
    let taken_in = started.elapsed();
    let peak = status_kb(pid, "VmHWM:");
    let now = status_kb(pid, "VmRSS:");
    let stored: i64 = desk
        .store()
        .connection()
        .query_row(
            "SELECT count(*) FROM messages WHERE direction = 'in'",
            [],
            |row| row.get(0),
        )
        .expect("count");
    assert_eq!(stored, MAILS as i64, "{}", desk.log());
    println!("| measure | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| peak RSS taking in {MAILS} mails of {} MB ({:.1} s; {:.1} MB after) | {:.1} MB | < 200 MB |",
        MAIL_BYTES / 1_000_000,
        taken_in.as_secs_f64(),
        now as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    assert!(stop(&mut daemon).success());
}

/// A figure (kB) from the process's `/proc/PID/status`.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}
