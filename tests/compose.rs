//! Outgoing mail as data: templates, signed Message-IDs, and headers nothing can inject into.

use patdesk::mail::compose::{Envelope, KINDS, Templates, compose, sample_context};
use patdesk::mail::message_id::{signed_message_id, verify_message_id};
use patdesk::mail::{Kind, MailPolicy, analyze};
use serde_json::json;

const KEY: &[u8] = b"a signing key for the tests only";

#[test]
fn every_built_in_template_renders() {
    let templates = Templates::load(None).expect("built-in templates");
    templates
        .check()
        .expect("every template renders with the sample data");
    for kind in KINDS {
        let (subject, body) = templates.render(kind, &sample_context()).expect("renders");
        assert!(!subject.is_empty() && !body.trim().is_empty(), "{kind}");
        assert!(!subject.contains('\n'), "{kind}");
    }
}

#[test]
fn a_value_a_template_lacks_is_an_error_naming_the_template() {
    let templates = Templates::load(None).expect("built-in templates");
    let mut lacking = sample_context();
    lacking
        .as_object_mut()
        .expect("object")
        .remove("review_url");
    let error = templates
        .render("question", &lacking)
        .expect_err("strict")
        .to_string();
    assert!(
        error.contains("question") && error.contains("undefined"),
        "{error}"
    );
}

#[test]
fn the_question_says_what_was_asked_and_how_to_answer() {
    let templates = Templates::load(None).expect("templates");
    let (subject, body) = templates
        .render("question", &sample_context())
        .expect("renders");
    assert_eq!(
        subject,
        "What will the token \"ci-reader\" be used for? [PAT-42]"
    );
    for expected in [
        "ci-reader",
        "acme-corp/api",
        "issues=read",
        "2027-02-24",
        "/personal-access-token-requests/25381",
        "reply to this mail",
    ] {
        assert!(
            body.contains(expected),
            "the question lacks {expected:?}:\n{body}"
        );
    }
}

#[test]
fn a_denial_lists_what_would_meet_the_policy() {
    let templates = Templates::load(None).expect("templates");
    let mut context = sample_context();
    context["steps"] = json!([
        "Select only the repositories the token needs.",
        "Set an expiry of at most 366 days."
    ]);
    let (_, body) = templates.render("denial", &context).expect("renders");
    assert!(body.contains("Why: Too broad for a report"), "{body}");
    assert!(
        body.contains("  - Set an expiry of at most 366 days."),
        "{body}"
    );
}

#[test]
fn an_admins_folder_replaces_only_the_templates_it_has() {
    let dir = tempfile::TempDir::new().expect("dir");
    std::fs::write(
        dir.path().join("question.txt"),
        "Subject: Purpose of {{ token_name }}?\n\nBitte antworten.\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("unrelated.txt"), "{{ not even read }").expect("write");
    let templates = Templates::load(Some(dir.path())).expect("templates");
    let (subject, body) = templates
        .render("question", &sample_context())
        .expect("renders");
    assert_eq!(
        (subject.as_str(), body.trim()),
        ("Purpose of ci-reader?", "Bitte antworten.")
    );
    assert!(
        templates
            .render("approval", &sample_context())
            .expect("built in")
            .0
            .starts_with("Approved")
    );

    std::fs::write(dir.path().join("reminder.txt"), "Subject: {% if %}\n").expect("write");
    let error = Templates::load(Some(dir.path()))
        .err()
        .expect("broken template")
        .to_string();
    assert!(error.contains("reminder"), "{error}");
}

#[test]
fn a_signed_message_id_names_the_request_and_the_kind() {
    let carol = "carol@example.org";
    let id = signed_message_id(KEY, 42, "question", "o7", carol, "patdesk.example.org");
    assert!(
        id.starts_with("pat-42.question.o7.") && id.ends_with("@patdesk.example.org"),
        "{id}"
    );
    assert_eq!(
        verify_message_id(KEY, &format!("<{id}>"), carol),
        Some((42, "question".to_string()))
    );
}

/// Another request's number with the same MAC, another key, another address: not ours.
#[test]
fn a_signed_message_id_cannot_be_forged_or_moved() {
    let carol = "carol@example.org";
    let id = signed_message_id(KEY, 42, "question", "o7", carol, "patdesk.example.org");
    assert_eq!(
        verify_message_id(KEY, &id.replacen("pat-42", "pat-43", 1), carol),
        None
    );
    assert_eq!(verify_message_id(b"another key", &id, carol), None);
    assert_eq!(verify_message_id(KEY, &id, "dave@example.org"), None);
    assert_eq!(
        verify_message_id(KEY, "CAJx7Lx1kQ2w3e4r5t6y7u8i9o0p@mail.gmail.com", carol),
        None
    );
}

#[test]
fn separators_inside_a_message_ids_parts_cannot_confuse_the_parser() {
    let carol = "carol@example.org";
    let odd = signed_message_id(KEY, 1, "ques.tion@", "a.b", carol, "x.example");
    assert_eq!(
        verify_message_id(KEY, &odd, carol),
        Some((1, "question".to_string()))
    );
}

fn envelope<'a>(to: &'a str, id: &'a str, references: &'a [String]) -> Envelope<'a> {
    Envelope {
        from: "PAT desk <pat-requests@example.org>",
        to,
        reply_to: "pat-requests@example.org",
        message_id: id,
        in_reply_to: references.last().map(String::as_str),
        references,
        auto_submitted: "auto-generated",
    }
}

#[test]
fn composed_mail_carries_the_headers_that_keep_robots_quiet() {
    let id = signed_message_id(
        KEY,
        42,
        "question",
        "o1",
        "carol@example.org",
        "patdesk.example.org",
    );
    let references = vec!["CAJx7Lx1@mail.gmail.com".to_string()];
    let templates = Templates::load(None).expect("templates");
    let (subject, body) = templates
        .render("question", &sample_context())
        .expect("renders");
    let raw = compose(
        &subject,
        &body,
        &envelope("Carol <carol@example.org>", &id, &references),
    )
    .expect("composes");
    let text = String::from_utf8(raw.clone()).expect("UTF-8");
    for header in [
        format!("Message-ID: <{id}>"),
        "Auto-Submitted: auto-generated".to_string(),
        "X-Auto-Response-Suppress: All".to_string(),
        "In-Reply-To: <CAJx7Lx1@mail.gmail.com>".to_string(),
        "Reply-To: pat-requests@example.org".to_string(),
    ] {
        assert!(text.contains(&header), "no {header:?} in\n{text}");
    }
    // Read back as patdesk reads mail: automatic, so it is never answered, with its thread.
    let analysis = analyze(&raw, &MailPolicy::default());
    assert_eq!(analysis.kind, Kind::Automatic);
    assert_eq!(analysis.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(
        analysis.in_reply_to.as_deref(),
        Some("CAJx7Lx1@mail.gmail.com")
    );
    assert_eq!(analysis.subject.as_deref(), Some(subject.as_str()));
}

/// A long thread's `References` keeps its first message and its latest ones, never more than
/// the cap: the header does not grow with every reply.
#[test]
fn references_are_capped_to_the_first_and_the_latest() {
    let thread: Vec<String> = (1..=40).map(|n| format!("m{n}@mail.example")).collect();
    let raw = compose(
        "Re: x",
        "body",
        &envelope(
            "carol@example.org",
            "pat-1.question.o1.00@x.example",
            &thread,
        ),
    )
    .expect("composes");
    let analysis = analyze(&raw, &MailPolicy::default());
    let mut expected = vec!["m1@mail.example".to_string()];
    expected.extend((32..=40).map(|n| format!("m{n}@mail.example")));
    assert_eq!(analysis.references, expected);
    assert_eq!(expected.len(), patdesk::mail::compose::MAX_REFERENCES);
    assert_eq!(analysis.in_reply_to.as_deref(), Some("m40@mail.example"));
}

#[test]
fn values_from_outside_cannot_inject_headers_or_recipients() {
    let templates = Templates::load(None).expect("templates");
    let mut context = sample_context();
    context["token_name"] = json!("x\r\nBcc: everyone@attacker.example\r\nX-Evil: 1");
    let (subject, body) = templates.render("question", &context).expect("renders");
    let raw = compose(
        &subject,
        &body,
        &envelope("carol@example.org", "pat-1.question.o1.00@x.example", &[]),
    )
    .expect("composes");
    let text = String::from_utf8_lossy(&raw);
    let (headers, _) = text.split_once("\r\n\r\n").expect("header block");
    assert!(
        !headers
            .lines()
            .any(|line| line.starts_with("Bcc:") || line.starts_with("X-Evil:")),
        "{headers}"
    );
    let analysis = analyze(&raw, &MailPolicy::default());
    assert!(
        analysis
            .subject
            .as_deref()
            .is_some_and(|subject| subject.contains("Bcc: everyone")),
        "kept as text, on one line"
    );

    for to in [
        "carol@example.org, everyone@attacker.example",
        "carol@example.org\r\nBcc: x@y.example",
        "not an address",
    ] {
        let error = compose(
            "s",
            "b",
            &envelope(to, "pat-1.question.o1.00@x.example", &[]),
        )
        .expect_err("refused");
        assert!(error.to_string().contains("recipient"), "{to:?}: {error}");
    }
}
