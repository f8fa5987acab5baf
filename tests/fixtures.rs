//! The mail corpus: every `tests/fixtures/<kind>/<name>.eml` is analysed and compared with the
//! `<name>.json` beside it — the exact `patdesk parse --json` object. The folder names the kind
//! the mail must be classified as, so a misfiled fixture fails too.
//!
//! Each mail is also run with its line endings flipped (CRLF ↔ LF): real mail arrives both ways
//! and the result must not depend on it.
//!
//! After a deliberate change, `PATDESK_BLESS=1 cargo test --test fixtures` rewrites the
//! expected files; review the diff before committing it.

mod common;

use std::path::Path;

use patdesk::mail::analyze;
use serde_json::Value;

use common::{corpus_policy, fixtures};

#[test]
fn every_fixture_matches_its_expected_analysis() {
    let bless = std::env::var_os("PATDESK_BLESS").is_some();
    let policy = corpus_policy();
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 30, "the corpus shrank to {} mails", all.len());

    for fixture in &all {
        let raw = std::fs::read(&fixture.eml).expect("fixture is readable");
        let actual = serde_json::to_value(analyze(&raw, &policy)).expect("serialises");
        let expected_path = fixture.eml.with_extension("json");
        if bless {
            let text = serde_json::to_string_pretty(&actual).expect("serialises") + "\n";
            std::fs::write(&expected_path, text).expect("expected file is writable");
            continue;
        }
        let expected = read_json(&expected_path);
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {}\n  actual   {}",
                fixture.eml.display(),
                expected,
                actual
            ));
        }
        if expected["kind"] != Value::String(fixture.kind.clone()) {
            failures.push(format!(
                "{} sits in {}/ but expects kind {}",
                fixture.eml.display(),
                fixture.kind,
                expected["kind"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn line_endings_do_not_change_the_analysis() {
    let policy = corpus_policy();
    let mut crlf_fixtures = 0;
    for fixture in fixtures() {
        let raw = std::fs::read(&fixture.eml).expect("fixture is readable");
        let is_crlf = raw.windows(2).any(|pair| pair == b"\r\n");
        crlf_fixtures += usize::from(is_crlf);
        let flipped = if is_crlf {
            replace(&raw, b"\r\n", b"\n")
        } else {
            replace(&raw, b"\n", b"\r\n")
        };
        assert_eq!(
            analyze(&raw, &policy),
            analyze(&flipped, &policy),
            "{} reads differently with its line endings flipped",
            fixture.eml.display()
        );
    }
    assert!(
        crlf_fixtures >= 5,
        "the corpus should keep CRLF mails of its own"
    );
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run PATDESK_BLESS=1 cargo test --test fixtures to create it, then review it)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len() + haystack.len() / 20);
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}
