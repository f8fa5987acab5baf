//! What durable commits cost: `cargo bench --bench durability`.
//!
//! The store commits with `synchronous=FULL`, so each commit's WAL frames are on the disk
//! before intake acknowledges a mail or the outbox sends one. This times the same small
//! commits (a request with its events, as the sync records one; the audit event of a decision)
//! with FULL and with NORMAL on this machine's disk, in a temporary folder beside the build,
//! and prints the medians and the cost of FULL per commit.

#[path = "../tests/common/builders.rs"]
#[allow(dead_code)]
mod builders;

use std::time::{Duration, Instant};

use builders::RequestBuilder;
use patdesk::store::Store;

const COMMITS: usize = 300;
const ROUNDS: usize = 5;

fn main() {
    // Beside the build, not in /tmp: /tmp may be memory, where fsync costs nothing.
    let dir = tempfile::TempDir::new_in(env!("CARGO_MANIFEST_DIR")).expect("temp dir");
    println!(
        "{COMMITS} commits per round, median of {ROUNDS} rounds, in {}",
        dir.path().display()
    );
    println!();
    println!(
        "{:<12} {:>14} {:>14}",
        "synchronous", "per commit", "commits/s"
    );
    let mut medians = Vec::new();
    for mode in ["NORMAL", "FULL"] {
        let mut rounds: Vec<Duration> = (0..ROUNDS)
            .map(|round| {
                let db = dir.path().join(format!("{mode}-{round}.db"));
                let mut store = Store::open(&db, &patdesk::clock::Clock::system()).expect("open");
                store
                    .connection()
                    .pragma_update(None, "synchronous", mode)
                    .expect("pragma");
                let started = Instant::now();
                for n in 0..COMMITS {
                    RequestBuilder::tidy()
                        .github_id(i64::try_from(n).unwrap_or(0) + 1)
                        .insert(&mut store);
                }
                started.elapsed() / u32::try_from(COMMITS).unwrap_or(1)
            })
            .collect();
        rounds.sort();
        let median = rounds[ROUNDS / 2];
        println!(
            "{mode:<12} {:>11.3} ms {:>14.0}",
            median.as_secs_f64() * 1e3,
            1.0 / median.as_secs_f64()
        );
        medians.push(median);
    }
    println!();
    println!(
        "FULL costs {:.3} ms more per commit ({:.2}x NORMAL)",
        (medians[1].as_secs_f64() - medians[0].as_secs_f64()) * 1e3,
        medians[1].as_secs_f64() / medians[0].as_secs_f64()
    );
}
