//! Policy evaluation: `cargo bench --bench policy`.
//!
//! The example policy (`policy.example.rego`) and the floor beneath it, on 10,000 requests of
//! every kind the samples hold, each evaluated as the daemon would (input set, `decision` and
//! `reasons` read, the floor applied): the time per request, p50 / p99 / max. Target: p99 <
//! 5 ms (issue 37).

use std::hint::black_box;
use std::time::{Duration, Instant};

use patdesk::policy::{Policy, floor};

const EVALUATIONS: usize = 10_000;

fn main() {
    let mut policy =
        Policy::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policy.example.rego"))
            .expect("the example policy reads");
    let samples = floor::samples();
    let mut times = Vec::with_capacity(EVALUATIONS);
    for n in 0..EVALUATIONS {
        let (_, record) = &samples[n % samples.len()];
        let started = Instant::now();
        black_box(policy.verdict(record));
        times.push(started.elapsed());
    }
    times.sort();
    let at =
        |fraction: f64| times[((times.len() as f64 * fraction).ceil() as usize).saturating_sub(1)];
    let ms = |time: Duration| time.as_secs_f64() * 1000.0;
    println!("| measure | figure | target |");
    println!("| --- | --- | --- |");
    println!(
        "| the example policy and the floor, per request, p50 / p99 / max ({EVALUATIONS} evaluations, {} kinds) | {:.3} / {:.3} / {:.3} ms | p99 < 5 ms |",
        samples.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0))
    );
}
