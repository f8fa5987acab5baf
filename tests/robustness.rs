//! Hostile and huge mail: whatever the bytes, `analyze` returns an answer and never panics.
//! How fast it answers is the benchmark's business (`cargo bench --bench parse`), not a test's.

mod common;

use patdesk::mail::{Kind, MailPolicy, analyze, extract_reply, html_to_text};
use proptest::prelude::*;

use common::generators::{nested_multiparts, padded_digest};
use common::{corpus_policy, fixtures, replayable};

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

/// How a generated reply quotes the earlier message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// `On … wrote:` above `>` lines.
    Marked,
    /// BSD mailx and GNU Mailutils: indented by a tab, the header lines first.
    Tab,
    /// Supercite: `PAT> ` before each line.
    Supercite,
    /// An HTML-only mail: the person's lines in `<div>`s, the earlier message in a
    /// `<blockquote>` below its attribution.
    Html,
}

/// One of the person's lines as `quoting` writes it; in HTML a leading `>` needs no stuffing.
fn person_line(quoting: Quoting, line: &str) -> String {
    match quoting {
        Quoting::Html => format!("<div>{}</div>", escape_html(line.trim_start())),
        Quoting::Marked | Quoting::Tab | Quoting::Supercite => format!("{line}\n"),
    }
}

/// The blank line between blocks.
fn blank_line(quoting: Quoting) -> &'static str {
    match quoting {
        Quoting::Html => "<div><br></div>",
        Quoting::Marked | Quoting::Tab | Quoting::Supercite => "\n",
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A line the person writes: words, perhaps a list item, a date, or a "wrote" in the middle.
fn new_line() -> impl Strategy<Value = String> {
    let words = proptest::collection::vec(
        prop::sample::select(vec![
            "token",
            "reads",
            "issues",
            "weekly",
            "report",
            "acme-corp/api",
            "only",
            "read",
            "access",
            "nightly",
            "build",
            "needs",
            "it",
            "the",
            "for",
            "and",
            "labels",
            "docs",
        ]),
        3..10,
    );
    let start = prop::sample::select(vec!["", "- ", "2026-12-03: ", "As Bob wrote, "]);
    (start, words).prop_map(|(start, words)| format!("{start}{}.", words.join(" ")))
}

/// A run of the person's lines; after the first, a line may begin with `>` as a
/// `format=flowed` client sends it, space-stuffed (` >only read access.`). Each with the line
/// the reply must keep.
fn new_block() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        proptest::collection::vec(new_line(), 1..4),
        proptest::collection::vec(any::<bool>(), 4),
    )
        .prop_map(|(lines, stuff)| {
            lines
                .into_iter()
                .zip(stuff)
                .enumerate()
                .map(|(j, (line, stuffed))| match j > 0 && stuffed {
                    true => (format!(" >{line}"), format!(">{line}")),
                    false => (line.clone(), line),
                })
                .collect()
        })
}

/// A block of the earlier message, quoted the way `quoting` does; `first` carries what opens
/// the quote (the attribution, the header lines).
fn quoted_block(quoting: Quoting, first: bool, lines: &[&str]) -> String {
    let mut out = String::new();
    match (quoting, first) {
        (Quoting::Marked, true) => {
            out.push_str("On Thu, 3 Dec 2026 at 10:00, PAT desk <pat-requests@example.org> wrote:\n");
        }
        (Quoting::Html, true) => out.push_str(
            "<div>On Thu, 3 Dec 2026 at 10:00, PAT desk &lt;pat-requests@example.org&gt; wrote:</div>",
        ),
        (Quoting::Tab, true) => out.push_str(
            "\tDate: Thu, 03 Dec 2026 10:00:00 +0000\n\tFrom: PAT desk <pat-requests@example.org>\n\tTo: Carol <carol@example.org>\n\tSubject: [PAT-3] What will the token be used for?\n\n",
        ),
        _ => {}
    }
    if quoting == Quoting::Html {
        out.push_str("<blockquote type=\"cite\">");
    }
    for line in lines {
        match quoting {
            Quoting::Marked => out.push_str(&format!("> {line}\n")),
            Quoting::Tab => out.push_str(&format!("\t{line}\n")),
            Quoting::Supercite => out.push_str(&format!("PAT> {line}\n")),
            Quoting::Html => out.push_str(&format!("{}<br>", escape_html(line))),
        }
    }
    if quoting == Quoting::Html {
        out.push_str("</blockquote>");
    }
    out
}

proptest! {
    #![proptest_config(replayable(256))]

    /// Never lose the person's text: whatever they write (list items, dates, a "wrote" in a
    /// sentence, a line beginning with `>` as a flowed client stuffs it), above, below or
    /// between the quoted blocks of each client's quoting, every line of it is in the reply.
    #[test]
    fn every_line_of_new_text_survives(
        quoting in prop::sample::select(vec![
            Quoting::Marked,
            Quoting::Tab,
            Quoting::Supercite,
            Quoting::Html,
        ]),
        above in proptest::option::of(new_block()),
        between in proptest::collection::vec(new_block(), 0..3),
        below in proptest::option::of(new_block()),
    ) {
        let above = above.unwrap_or_default();
        let below = below.unwrap_or_default();
        prop_assume!(!above.is_empty() || !below.is_empty() || !between.is_empty());
        let questions = ["Hello Carol,", "What will the token be used for?", "Does it need write access?"];
        let mut text = String::new();
        for (line, _) in &above {
            text.push_str(&person_line(quoting, line));
        }
        text.push_str(blank_line(quoting));
        text.push_str(&quoted_block(quoting, true, &questions[..2]));
        for block in &between {
            text.push_str(blank_line(quoting));
            for (line, _) in block {
                text.push_str(&person_line(quoting, line));
            }
            text.push_str(blank_line(quoting));
            text.push_str(&quoted_block(quoting, false, &questions[2..]));
        }
        text.push_str(blank_line(quoting));
        for (line, _) in &below {
            text.push_str(&person_line(quoting, line));
        }
        if quoting == Quoting::Html {
            text = html_to_text(&text);
        }
        let reply = extract_reply(&text, Some("Carol Jones")).unwrap_or_default();
        let kept: Vec<&str> = reply.lines().map(str::trim).collect();
        for (_, line) in above.iter().chain(between.iter().flatten()).chain(&below) {
            prop_assert!(kept.contains(&line.as_str()), "{line:?} lost from {text:?}: {reply:?}");
        }
        for question in questions {
            prop_assert!(!reply.contains(question), "{question:?} kept from {text:?}: {reply:?}");
        }
    }
}
