//! Any bytes through the `mail` entry point, as a mail and as reply text and HTML.
//! `scripts/fuzz` runs it for a time box.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patdesk::mail::{MailPolicy, analyze, extract_reply, html_to_text};

fuzz_target!(|data: &[u8]| {
    let policy = MailPolicy {
        trusted_authserv_ids: vec!["mx.example.org".to_string()],
        // Small, so the header-only path is exercised too.
        max_message_bytes: 16 * 1024,
        ..MailPolicy::default()
    };
    let _ = analyze(data, &policy);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = extract_reply(text, Some("Alice Smith"));
        let _ = html_to_text(text);
    }
});
