//! Parse and classify throughput: `cargo bench --bench parse`.
//!
//! Runs the fixture corpus (each mail in both line-ending forms) through bare `mail-parser`
//! and through patdesk's full analysis, and prints messages/s, MB/s and the ratio between the
//! two; then times a 30 MB mail and 5,000 nested multiparts. Targets: the full analysis
//! costs at most 2.2× a bare parse (2× before reply extraction learnt every client's and
//! language's quoting); each of the two large mails classifies in under 1 s.

#[path = "../tests/common/generators.rs"]
mod generators;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use patdesk::mail::{MailPolicy, analyze};

/// Bare and full parsing take turns over the corpus until each has run this long; the
/// medians of the rounds are reported.
const ROUNDS: usize = 9;
const ROUND: Duration = Duration::from_millis(400);
const TURN: Duration = Duration::from_millis(20);
/// Runs of each large mail; the median is reported.
const LARGE_RUNS: usize = 5;

fn main() {
    let corpus = load_corpus();
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let policy = MailPolicy {
        trusted_authserv_ids: vec!["mx.example.org".to_string()],
        ..MailPolicy::default()
    };
    println!(
        "corpus: {} mails ({} fixtures × CRLF and LF), {:.1} KiB; {} build",
        corpus.len(),
        corpus.len() / 2,
        bytes as f64 / 1024.0,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );

    let parser = MessageParser::new();
    let mut bare_runs = Vec::new();
    let mut full_runs = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let (bare, full) = paired_throughput(
            &corpus,
            |raw| {
                black_box(parser.parse(raw));
            },
            |raw| {
                black_box(analyze(raw, &policy));
            },
        );
        bare_runs.push(bare);
        full_runs.push(full);
        ratios.push(bare / full);
    }
    let (bare, full, ratio) = (median(bare_runs), median(full_runs), median(ratios.clone()));
    println!();
    println!("{:<34} {:>12} {:>10}", "", "messages/s", "MB/s");
    for (name, per_second) in [
        ("bare mail-parser parse", bare),
        ("patdesk parse + classify", full),
    ] {
        println!(
            "{name:<34} {:>12.0} {:>10.1}",
            per_second,
            per_second * bytes as f64 / corpus.len() as f64 / 1e6
        );
    }
    println!(
        "{:<34} {:>12.2}   (target ≤ 2.20; median of {ROUNDS} rounds, range {:.2}–{:.2})",
        "ratio (classify / bare)",
        ratio,
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max)
    );

    println!();
    let big = generators::padded_digest(30 * 1024 * 1024);
    let big_policy = MailPolicy {
        max_message_bytes: 64 * 1024 * 1024,
        ..policy.clone()
    };
    report_large("30 MB mail, read whole", &big, &big_policy);
    report_large("30 MB mail, over a 25 MB cap", &big, &policy);
    report_large(
        "5,000 nested multiparts",
        &generators::nested_multiparts(5000),
        &policy,
    );
}

fn load_corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut corpus = Vec::new();
    let mut kinds: Vec<_> = std::fs::read_dir(&root)
        .expect("tests/fixtures exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    kinds.sort();
    for kind in kinds {
        let mut files: Vec<_> = std::fs::read_dir(&kind)
            .expect("readable folder")
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        for file in files {
            let raw = std::fs::read(&file).expect("readable fixture");
            let lf: Vec<u8> = String::from_utf8_lossy(&raw)
                .replace("\r\n", "\n")
                .into_bytes();
            let crlf = String::from_utf8_lossy(&lf)
                .replace('\n', "\r\n")
                .into_bytes();
            // Keep the original bytes (charsets!) for the form the file is in.
            if raw.windows(2).any(|pair| pair == b"\r\n") {
                corpus.push(raw);
                corpus.push(lf);
            } else {
                corpus.push(raw);
                corpus.push(crlf);
            }
        }
    }
    corpus
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Messages per second of `bare` and of `full` over the whole corpus, the two taking turns of
/// `TURN` until each has run for a `ROUND`: whatever slows the machine for a moment slows
/// both alike, so their ratio holds still where their speeds do not. A turn is long enough
/// for the caches to warm to it, so neither side pays for the other's code.
fn paired_throughput(
    corpus: &[Vec<u8>],
    mut bare: impl FnMut(&[u8]),
    mut full: impl FnMut(&[u8]),
) -> (f64, f64) {
    // A turn of whole passes lasting at least `TURN`; returns passes and time.
    let turn = |work: &mut dyn FnMut(&[u8])| {
        let start = Instant::now();
        let mut passes = 0usize;
        while start.elapsed() < TURN {
            for raw in corpus {
                work(raw);
            }
            passes += 1;
        }
        (passes, start.elapsed())
    };
    let (mut bare_passes, mut bare_time) = (0, Duration::ZERO);
    let (mut full_passes, mut full_time) = (0, Duration::ZERO);
    while bare_time < ROUND || full_time < ROUND {
        let (passes, time) = turn(&mut bare);
        bare_passes += passes;
        bare_time += time;
        let (passes, time) = turn(&mut full);
        full_passes += passes;
        full_time += time;
    }
    let per_second =
        |passes: usize, time: Duration| (passes * corpus.len()) as f64 / time.as_secs_f64();
    (
        per_second(bare_passes, bare_time),
        per_second(full_passes, full_time),
    )
}

fn report_large(name: &str, raw: &[u8], policy: &MailPolicy) {
    let mut times: Vec<Duration> = (0..LARGE_RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(analyze(raw, policy));
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{name:<34} {:>9.1} ms median of {LARGE_RUNS} (target < 1000 ms)",
        times[LARGE_RUNS / 2].as_secs_f64() * 1000.0
    );
}
