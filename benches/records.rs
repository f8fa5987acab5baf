//! The records at scale: `cargo bench --bench records`.
//!
//! Builds a database of 100,000 requests with 1,000,000 audit events in a temporary folder,
//! then times the engineers' commands as they run them (the `patdesk` binary, process start
//! and the round trip through the daemon's control socket included) and the store calls
//! underneath. Targets (issue 3): list with a filter < 100 ms,
//! show < 20 ms, export < 3 s, audit verify of 1M events < 5 s; and a policy backtest over
//! every stored request (issue 37: < 30 s).

#[path = "../tests/common/builders.rs"]
#[allow(dead_code)]
mod builders;
#[path = "../tests/common/rss.rs"]
mod rss;

use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use builders::RequestBuilder;
use patdesk::request::RequestState;
use patdesk::store::{EventKind, ListFilter, Store};
use serde_json::json;

const REQUESTS: i64 = 100_000;
const EVENTS_PER_REQUEST: i64 = 10;
const RUNS: usize = 7;

fn main() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let db = dir.path().join("patdesk.db");
    let config = dir.path().join("patdesk.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"patdesk.db\"\n[control]\nsocket = \"control.sock\"\n",
    )
    .expect("config");

    let started = Instant::now();
    fill(&db);
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {REQUESTS} requests and {} events in {:.1} s ({:.0} MB)",
        REQUESTS * EVENTS_PER_REQUEST,
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );

    let store = Store::open(&db, &patdesk::clock::Clock::system()).expect("open");
    let middle = REQUESTS / 2;
    println!();
    println!("{:<60} {:>10}  target", "store call", "median");
    report("list --owner (≈40 rows)", "< 100 ms", || {
        black_box(store.list(&owner_filter()).expect("list"));
    });
    report(
        "list --state in_review --org acme-corp --limit 100",
        "< 100 ms",
        || {
            black_box(store.list(&state_filter()).expect("list"));
        },
    );
    report(
        "list --state approved (20,000 rows for the table)",
        "< 100 ms",
        || {
            black_box(
                store
                    .list_summaries(
                        &approved_filter(),
                        &patdesk::config::PerRisk::APPROVALS_NEEDED,
                    )
                    .expect("list"),
            );
        },
    );
    report(
        "list --state approved (20,000 full records for --json)",
        "",
        || {
            black_box(store.list(&approved_filter()).expect("list"));
        },
    );
    report("show (record, events, messages, queues)", "< 20 ms", || {
        black_box(store.request(middle).expect("request"));
        black_box(store.events_for(middle).expect("events"));
        black_box(store.messages_for(middle).expect("messages"));
        black_box(store.outbox_for(middle).expect("outbox"));
        black_box(store.pushes_for(middle).expect("pushes"));
    });
    report("export rows (all requests)", "< 3 s", || {
        black_box(store.export(patdesk::store::Page::ALL).expect("export"));
    });
    report("audit verify (1M events)", "< 5 s", || {
        black_box(store.verify_chain(None).expect("verify"));
    });

    // Every command goes through the daemon, which serves the records (root may read).
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_patdesk"))
        .args(["run", "--log-format", "text", "--config"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    let socket = dir.path().join("control.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    println!();
    println!(
        "{:<60} {:>10}  target",
        "command (process start and socket included)", "median"
    );
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("patdesk runs");
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let owner = owner_filter().owner.unwrap_or_default();
    report("patdesk list --owner", "< 100 ms", || {
        run(&["list", "--owner", &owner])
    });
    report(
        "patdesk list --state in_review --org acme-corp --limit 100",
        "< 100 ms",
        || {
            run(&[
                "list",
                "--state",
                "in_review",
                "--org",
                "acme-corp",
                "--limit",
                "100",
            ])
        },
    );
    report(
        "patdesk list --state approved (20,000 rows)",
        "< 100 ms",
        || run(&["list", "--state", "approved"]),
    );
    let id = middle.to_string();
    report("patdesk show", "< 20 ms", || run(&["show", &id]));
    let out = dir.path().join("sheet.csv");
    let out = out.to_str().expect("path");
    report("patdesk export --format csv --out FILE", "< 3 s", || {
        run(&["export", "--out", out, "--force"])
    });
    // The daemon answers a page of rows at a time: its memory stays flat however many there
    // are (issue 32: under 100 MB at 100,000 requests).
    let rows = std::fs::read_to_string(out)
        .map(|sheet| sheet.lines().count().saturating_sub(1))
        .unwrap_or(0);
    println!(
        "{:<60} {:>10}  < 100 MB",
        format!("daemon's peak RSS after the exports ({rows} rows)"),
        format!("{:.1} MB", rss::peak_rss(daemon.id()) as f64 / 1e6),
    );
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.example.rego");
    let policy = policy.to_str().expect("path");
    report(
        "patdesk policy backtest (100,000 requests, 60,000 decided)",
        "< 30 s",
        || run(&["policy", "backtest", policy]),
    );
    report(
        "patdesk audit verify (chain, states and pushes)",
        "< 5 s",
        || run(&["audit", "verify"]),
    );
    let _ = daemon.kill();
    let _ = daemon.wait();
}

fn owner_filter() -> ListFilter {
    ListFilter {
        owner: Some("user-1234".to_string()),
        ..ListFilter::default()
    }
}

fn approved_filter() -> ListFilter {
    ListFilter {
        state: Some(RequestState::Approved),
        ..ListFilter::default()
    }
}

fn state_filter() -> ListFilter {
    ListFilter {
        state: Some(RequestState::InReview),
        org: Some("acme-corp".to_string()),
        limit: Some(100),
        ..ListFilter::default()
    }
}

/// 100,000 requests across three orgs, 2,500 owners and every state, each with ten events.
fn fill(db: &Path) {
    let mut store = Store::open(db, &patdesk::clock::Clock::system()).expect("open");
    let states = [
        RequestState::InReview,
        RequestState::AwaitingPurpose,
        RequestState::Approved,
        RequestState::Denied,
        RequestState::Revoked,
    ];
    let batch = 5_000;
    for start in (0..REQUESTS).step_by(batch) {
        let tx = store.transaction().expect("transaction");
        for n in start..(start + batch as i64).min(REQUESTS) {
            let mut builder = RequestBuilder::tidy()
                .github_id(n + 1)
                .org(["acme-corp", "cafe-cymru", "other-org"][(n % 3) as usize])
                .owner(&format!("user-{}", n % 2_500), Some("someone@example.org"))
                .state(states[(n % 5) as usize]);
            if n % 7 == 0 {
                builder = builder
                    .all_repositories()
                    .permission("repository", "contents", "write");
            }
            let id = tx
                .insert_request("system", &builder.build())
                .expect("insert");
            for k in 1..EVENTS_PER_REQUEST {
                tx.append_event(
                    "alice",
                    Some(id),
                    EventKind::Note,
                    &json!({ "text": format!("follow-up {k} on request {id}: asked the owner about the scope") }),
                )
                .expect("event");
            }
        }
        tx.commit().expect("commit");
    }
    // The decided ones were decided by people, as a backtest replays them.
    store
        .connection()
        .execute(
            "UPDATE requests SET decided_by = 'alice', decided_at = requested_at,
                 decision_reason = 'as the team decided'
             WHERE state IN ('approved', 'denied', 'revoked')",
            [],
        )
        .expect("decided");
}

fn report(name: &str, target: &str, mut work: impl FnMut()) {
    work();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    let shown = if median < Duration::from_millis(1) {
        format!("{} µs", median.as_micros())
    } else if median < Duration::from_secs(1) {
        format!("{:.1} ms", median.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", median.as_secs_f64())
    };
    println!("{name:<60} {shown:>10}  {target}");
}
