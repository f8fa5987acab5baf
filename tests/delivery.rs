//! Sending through a misbehaving SMTP server while `patdesk run` does the work: the daemon
//! killed in the middle of a send, and a server that is down for many rounds. Whatever happens,
//! the requester gets the question exactly once.

mod common;

use std::time::Duration;

use patdesk::mail::OutgoingKind;
use patdesk::store::{AlertKind, OutboxState};

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::mailserver::{TestFolder, inbox};
use common::smtp_proxy::{Mode, SmtpProxy};
use common::standin::pending;

/// A desk whose sync finds one request without a purpose, so a question is due to dave.
fn desk_asking_dave(tag: &str, user: &'static str, proxy: &SmtpProxy) -> (Desk, String) {
    let token = format!("delivery-{tag}-{}", std::process::id());
    let desk = Desk::new(
        TestFolder::of(tag, user),
        DeskSetup {
            pending: vec![pending(8001, "dave", &token, None)],
            smtp_port: proxy.port,
            // A server's silence is given up on after 3 s, and its Sent copy awaited 3 s:
            // production's 30 and 60 s would be all this test waits for.
            smtp_extra: "timeout_seconds = 3\nsent_copy_grace_seconds = 3\n".to_string(),
            ..DeskSetup::default()
        },
    );
    (desk, token)
}

/// The questions about `token` in dave's INBOX, once delivery has had time to settle.
fn questions_in_daves_inbox(token: &str) -> usize {
    let runtime = common::runtime();
    let count = || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .len()
    };
    wait_for(20, || (count() > 0).then_some(()));
    // A second copy would follow the first within moments: Postfix's own delivery time is
    // what is waited for here, not patdesk's.
    std::thread::sleep(Duration::from_secs(2));
    count()
}

/// The question's state in the outbox once it is `sent`, or what it is after `seconds`.
fn question_sent_within(desk: &Desk, seconds: u64) -> Result<(), String> {
    let state = || {
        let request = desk.request_id(8001)?;
        let outbox = desk.store().outbox_for(request).ok()?;
        outbox
            .into_iter()
            .find(|mail| mail.kind == OutgoingKind::Question)
            .map(|mail| mail.state)
    };
    match wait_for(seconds, || {
        state().filter(|state| *state == OutboxState::Sent)
    }) {
        Some(_) => Ok(()),
        None => Err(format!("question is {:?}\n{}", state(), desk.log())),
    }
}

fn events(desk: &Desk) -> Vec<String> {
    let request = desk.request_id(8001).expect("request recorded");
    desk.store()
        .events_for(request)
        .expect("events")
        .into_iter()
        .map(|event| event.kind.to_string())
        .collect()
}

/// Starts the daemon behind a proxy in `mode`, kills it (SIGKILL) once the send has stalled
/// where the mode stops it, and restarts it with the server working again. Returns the
/// question's token and the restarted daemon.
fn killed_mid_send(mode: Mode, tag: &str) -> (Desk, String, common::KillOnDrop) {
    let proxy = SmtpProxy::start(mode);
    let (desk, token) = desk_asking_dave(tag, "desk", &proxy);
    let mut daemon = desk.start_daemon();
    assert!(
        wait_for(30, || proxy.stalled().then_some(())).is_some(),
        "the question never reached the server\n{}",
        desk.log()
    );
    daemon.kill().expect("SIGKILL");
    let _ = daemon.wait();
    proxy.set(Mode::Pass);
    // The proxy's thread goes on passing everything after this handle is gone.
    let daemon = desk.start_daemon();
    (desk, token, daemon)
}

/// Killed after the server took the mail but before its "250 OK" came back: the mail is in
/// the Sent folder the server keeps, so the restarted daemon records it sent and sends nothing.
#[test]
fn a_send_cut_off_after_the_server_took_the_mail_is_found_in_sent_and_not_repeated() {
    let (desk, token, mut daemon) = killed_mid_send(Mode::WithholdAcceptance, "accepted");
    question_sent_within(&desk, 60).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(questions_in_daves_inbox(&token), 1, "{}", desk.log());
    let events = events(&desk);
    assert!(
        events.contains(&"mail_uncertain".to_string())
            && events.contains(&"mail_found_in_sent".to_string()),
        "{events:?}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// Killed after DATA but before the text went: the server never had the mail, its Sent folder
/// shows that, and the restarted daemon sends it — once.
#[test]
fn a_send_cut_off_before_the_mail_went_is_sent_again_once() {
    let (desk, token, mut daemon) = killed_mid_send(Mode::SwallowText, "swallowed");
    // The server is given its grace (3 s here) to file its copy before a missing one means
    // "not sent".
    question_sent_within(&desk, 60).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(questions_in_daves_inbox(&token), 1, "{}", desk.log());
    let events = events(&desk);
    assert!(
        events.contains(&"mail_not_in_sent".to_string()),
        "{events:?}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// The SMTP server refuses every connection for round after round: the question waits in the
/// outbox, the log says so once, and it goes when the server is back.
#[test]
fn a_question_waits_out_an_smtp_server_that_is_down() {
    let proxy = SmtpProxy::start(Mode::Refuse);
    let (desk, token) = desk_asking_dave("smtp-down", "team", &proxy);
    let mut daemon = desk.start_daemon();
    let queued = wait_for(30, || {
        let request = desk.request_id(8001)?;
        let outbox = desk.store().outbox_for(request).ok()?;
        outbox
            .into_iter()
            .find(|mail| mail.kind == OutgoingKind::Question)
    })
    .expect("the question is queued");
    assert_eq!(queued.state, OutboxState::Queued);
    // Five refused rounds (the outbox looks again every second here), however long they take.
    wait_for(60, || (proxy.refused() >= 5).then_some(()))
        .unwrap_or_else(|| panic!("the outbox did not retry\n{}", desk.log()));
    assert_eq!(
        common::runtime()
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .len(),
        0,
        "nothing can have gone yet"
    );

    proxy.set(Mode::Pass);
    question_sent_within(&desk, 45).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(questions_in_daves_inbox(&token), 1, "{}", desk.log());
    let log = desk.log();
    assert_eq!(
        log.matches("mail server not accepting mail").count(),
        1,
        "one line for the outage, not one per retry:\n{log}"
    );
    assert!(stop(&mut daemon).success(), "{log}");
}

/// The server takes the mail but its answer never comes (a timeout after DATA): the daemon
/// records the mail uncertain, alerts the team, finds it in the Sent folder the server keeps,
/// and records it sent. The requester has one copy.
#[test]
fn a_send_that_times_out_after_data_is_found_in_sent_and_not_repeated() {
    let proxy = SmtpProxy::start(Mode::WithholdAcceptance);
    let (desk, token) = desk_asking_dave("timeout", "desk", &proxy);
    let mut daemon = desk.start_daemon();
    assert!(
        wait_for(30, || proxy.stalled().then_some(())).is_some(),
        "the question never reached the server\n{}",
        desk.log()
    );
    proxy.set(Mode::Pass);
    // The SMTP timeout (3 s here), then the next look in Sent (every outbox round).
    question_sent_within(&desk, 60).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(questions_in_daves_inbox(&token), 1, "{}", desk.log());
    let events = events(&desk);
    assert!(
        events.contains(&"mail_uncertain".to_string())
            && events.contains(&"mail_found_in_sent".to_string()),
        "{events:?}"
    );
    let alerts = desk.store().alerts().expect("alerts");
    assert!(
        alerts
            .iter()
            .any(|alert| alert.kind == AlertKind::MailUncertain),
        "{alerts:?}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}
