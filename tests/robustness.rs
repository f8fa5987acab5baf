//! Hostile and huge mail: whatever the bytes, `analyze` returns an answer and never panics.
//! How fast it answers is the benchmark's business (`cargo bench --bench parse`), not a test's.

mod common;

use patdesk::mail::{Kind, MailPolicy, analyze, extract_reply, html_to_text};
use proptest::prelude::*;

use common::generators::{nested_multiparts, padded_digest};
use common::{corpus_policy, fixtures};

#[test]
fn a_mail_over_the_size_cap_is_classified_from_its_headers() {
    let policy = MailPolicy {
        max_message_bytes: 64 * 1024,
        ..MailPolicy::default()
    };
    let small = analyze(&padded_digest(1024), &policy);
    assert!(!small.body_skipped);
    assert_eq!(small.org_login.as_deref(), Some("acme-corp"));

    let big = analyze(&padded_digest(200 * 1024), &policy);
    assert!(big.body_skipped);
    assert_eq!(big.kind, Kind::GithubPatRequestsPending);
    assert_eq!(big.message_id.as_deref(), Some("big-1@github.example"));
    assert_eq!(big.org_name.as_deref(), Some("Acme Corp"));
    // The link is in the body, which was not read.
    assert_eq!(big.org_login, None);
}

#[test]
fn a_30_mb_mail_under_the_default_cap_is_read_whole() {
    let raw = padded_digest(30 * 1024 * 1024);
    let policy = MailPolicy {
        max_message_bytes: 64 * 1024 * 1024,
        ..MailPolicy::default()
    };
    let analysis = analyze(&raw, &policy);
    assert!(!analysis.body_skipped);
    assert_eq!(analysis.org_login.as_deref(), Some("acme-corp"));
}

#[test]
fn five_thousand_nested_multiparts_do_not_overflow_the_stack() {
    let analysis = analyze(&nested_multiparts(5000), &MailPolicy::default());
    assert_eq!(analysis.kind, Kind::Human);
    assert_eq!(analysis.from.as_deref(), Some("alice@example.org"));
}

#[test]
fn fixtures_cut_short_anywhere_still_analyse() {
    let policy = corpus_policy();
    for fixture in fixtures() {
        let raw = std::fs::read(&fixture.eml).expect("fixture");
        for end in (0..raw.len()).step_by(97) {
            let _ = analyze(&raw[..end], &policy);
        }
    }
}

/// 512 cases from a seed the test prints (shown with a failure, beside proptest's minimal
/// failing input); `PATDESK_PROPTEST_SEED=N` replays a run.
fn replayable(cases: u32) -> ProptestConfig {
    let seed = std::env::var("PATDESK_PROPTEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let mut random = [0u8; 8];
            getrandom::getrandom(&mut random).expect("randomness");
            u64::from_le_bytes(random)
        });
    println!("property tests: seed {seed} (replay with PATDESK_PROPTEST_SEED={seed})");
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(replayable(512))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = analyze(&raw, &corpus_policy());
    }

    #[test]
    fn mail_shaped_text_never_panics(
        headers in proptest::collection::vec("[A-Za-z-]{1,20}: [ -~]{0,80}", 0..12),
        body in "(\\PC|\\n|>|<[a-z/]{0,10}>|&[a-z#0-9]{0,6};?){0,400}",
    ) {
        let raw = format!("{}\r\n\r\n{body}", headers.join("\r\n"));
        let _ = analyze(raw.as_bytes(), &corpus_policy());
        let _ = extract_reply(&body, Some("Alice Smith"));
        let _ = html_to_text(&body);
    }

    #[test]
    fn flipped_bytes_in_real_mail_never_panic(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let all = fixtures();
        let fixture = &all[which.index(all.len())];
        let mut raw = std::fs::read(&fixture.eml).expect("fixture");
        for (position, byte) in flips {
            let at = position.index(raw.len());
            raw[at] = byte;
        }
        let _ = analyze(&raw, &corpus_policy());
    }
}
