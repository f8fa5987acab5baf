//! GitHub's webhook, received by `patdesk run`: a signed `personal_access_token_request`
//! delivery syncs its org at once (the poll an hour away), and what is not GitHub's signed,
//! new delivery for a configured org is refused, changes nothing and is counted in `status`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::desk::{Desk, DeskSetup, signal, stop, wait_for};
use common::hookshot::{
    self, SECRET, deliver, deliver_form, free_port, post, signature, token_request_event,
};
use common::mailserver::{TestFolder, inbox};
use common::standin::pending;

/// A desk whose daemon receives the webhook on `port`, and syncs by itself only hourly.
fn desk_with_webhook(name: &str, port: u16, max_body_bytes: u64) -> Desk {
    let desk = Desk::new(
        TestFolder::new(name),
        DeskSetup {
            sync_seconds: 3600,
            github_extra: hookshot::config_table(port, max_body_bytes),
            ..DeskSetup::default()
        },
    );
    desk.write_secret("webhook-secret", SECRET);
    desk
}

/// A signed delivery sent with `Transfer-Encoding: chunked`, its length declared nowhere, in
/// chunks of 1 KB. Returns the status code.
fn chunked(port: u16, delivery: &str, event: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the receiver listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let head = format!(
        "POST /github HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\nX-GitHub-Event: {event}\r\n\
         X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {}\r\n\r\n",
        signature(SECRET, body)
    );
    let mut request = head.into_bytes();
    for chunk in body.chunks(1024) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The receiver may answer before the body is all sent: that is its answer.
    let _ = stream.write_all(&request);
    hookshot::status_code(&mut stream)
}

fn status(desk: &Desk) -> Value {
    let output = desk.patdesk_as("alice", &["status", "--json"]);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "status --json: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn refused(status: &Value, reason: &str) -> u64 {
    status["webhook"]["refused"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|refusal| refusal["reason"] == reason)
        .and_then(|refusal| refusal["count"].as_u64())
        .unwrap_or(0)
}

/// The API calls the stand-in has answered so far.
fn github_calls(desk: &Desk) -> u64 {
    desk.standin.stats()["requests"].as_u64().unwrap_or(0)
}

/// Waits until the daemon's start-up sync is done, so what follows is the webhook's doing.
fn started(desk: &Desk, port: u16) {
    wait_for(20, || (github_calls(desk) > 0).then_some(()))
        .unwrap_or_else(|| panic!("no start-up sync\n{}", desk.log()));
    wait_for(20, || TcpStream::connect(("127.0.0.1", port)).ok())
        .unwrap_or_else(|| panic!("the webhook receiver does not listen\n{}", desk.log()));
    // The start-up sync's round is over once the GitHub task finds nothing to do.
    desk.wait_for_idle_github_rounds(2);
}

#[test]
fn a_signed_token_request_event_brings_the_question_at_once() {
    let port = free_port();
    let desk = desk_with_webhook("webhook-created", port, 1024 * 1024);
    let mut daemon = desk.start_daemon();
    started(&desk, port);
    let token = format!("webhook-created-{}", std::process::id());
    desk.set_pending(&[pending(7101, "dave", &token, None)]);

    let sent = Instant::now();
    let body = token_request_event("created", "acme-corp", 7101, &token);
    let code = deliver(
        port,
        "6f1c2a10-0000-4000-8000-000000000001",
        "personal_access_token_request",
        SECRET,
        &body,
    );
    assert_eq!(code, 202, "{}", desk.log());
    let runtime = common::runtime();
    // The poll is an hour away: only the webhook can have brought it.
    wait_for(15, || {
        runtime
            .block_on(inbox("dave", &format!("SUBJECT \"{token}\"")))
            .into_iter()
            .next()
    })
    .unwrap_or_else(|| panic!("no question reached dave\n{}", desk.log()));
    println!("webhook to question: {:?}", sent.elapsed());

    // GitHub's ping, when the webhook is set up, is answered and syncs nothing.
    let calls = github_calls(&desk);
    let ping = deliver(
        port,
        "6f1c2a10-0000-4000-8000-000000000002",
        "ping",
        SECRET,
        br#"{"zen":"Keep it logically awesome.","hook_id":1}"#,
    );
    assert_eq!(ping, 200);
    // Had the delivery asked for a sync, the GitHub task would have taken it before going
    // round idle twice.
    desk.wait_for_idle_github_rounds(2);
    assert_eq!(github_calls(&desk), calls, "a ping syncs nothing");

    let status = status(&desk);
    assert_eq!(status["webhook"]["taken"], 1, "{status}");

    // A reload (SIGHUP) listens again on the same address, with the config read anew.
    signal(&daemon, "HUP");
    wait_for(20, || {
        desk.log()
            .contains("config and templates reloaded")
            .then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "no reload
{}",
            desk.log()
        )
    });
    let token = format!("webhook-reloaded-{}", std::process::id());
    desk.set_pending(&[
        pending(
            7101,
            "dave",
            &format!("webhook-created-{}", std::process::id()),
            None,
        ),
        pending(7102, "dave", &token, None),
    ]);
    // This one as a webhook set to `form` (the API's default) delivers it: taken as well.
    let body = token_request_event("created", "acme-corp", 7102, &token);
    let code = wait_for(10, || {
        TcpStream::connect(("127.0.0.1", port)).ok().map(|_| {
            deliver_form(
                port,
                "6f1c2a10-0000-4000-8000-000000000003",
                "personal_access_token_request",
                SECRET,
                &body,
            )
        })
    })
    .unwrap_or_else(|| {
        panic!(
            "not listening after the reload
{}",
            desk.log()
        )
    });
    assert_eq!(code, 202, "{}", desk.log());
    wait_for(15, || desk.request_id(7102)).unwrap_or_else(|| {
        panic!(
            "the delivery after the reload did not sync
{}",
            desk.log()
        )
    });
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// A daemon taking GitHub's webhook (bodies up to 4 KiB), started and synced, with dave's
/// token request pending on GitHub and its `created` event ready to deliver.
struct Receiver {
    port: u16,
    desk: Desk,
    daemon: common::KillOnDrop,
    token: String,
    body: Vec<u8>,
}

const EVENT: &str = "personal_access_token_request";

impl Receiver {
    fn start(name: &str) -> Receiver {
        let port = free_port();
        let desk = desk_with_webhook(name, port, 4096);
        let daemon = desk.start_daemon();
        started(&desk, port);
        let token = format!("{name}-{}", std::process::id());
        desk.set_pending(&[pending(7201, "dave", &token, None)]);
        let body = token_request_event("created", "acme-corp", 7201, &token);
        Receiver {
            port,
            desk,
            daemon,
            token,
            body,
        }
    }

    /// `status --json` once `ready` holds for it.
    fn status_when(&self, ready: impl Fn(&Value) -> bool) -> Value {
        wait_for(10, || {
            Some(status(&self.desk)).filter(|status| ready(status))
        })
        .unwrap_or_else(|| panic!("not counted yet: {}", status(&self.desk)))
    }

    fn stop(mut self) {
        assert!(stop(&mut self.daemon).success(), "{}", self.desk.log());
    }
}

/// Unsigned, forged, changed on the way, too large (declared or chunked), for another org,
/// or not readable as a token request: each is answered with its status, syncs nothing and
/// records nothing, and is counted by why.
#[test]
fn refused_deliveries_change_nothing_and_are_counted_by_why() {
    let receiver = Receiver::start("webhook-refused");
    let (port, body) = (receiver.port, &receiver.body);
    let calls = github_calls(&receiver.desk);

    let unsigned = post(
        port,
        &[
            ("X-GitHub-Event", EVENT),
            ("X-GitHub-Delivery", "7a000000-0000-4000-8000-000000000001"),
        ],
        body,
    );
    assert_eq!(unsigned, 401);
    let forged = deliver(
        port,
        "7a000000-0000-4000-8000-000000000002",
        EVENT,
        "a guess at the secret",
        body,
    );
    assert_eq!(forged, 401);
    // Signed, then changed on the way.
    let mut tampered = body.clone();
    let signature = signature(SECRET, body);
    tampered.extend_from_slice(b" ");
    let tampered = post(
        port,
        &[
            ("X-GitHub-Event", EVENT),
            ("X-GitHub-Delivery", "7a000000-0000-4000-8000-000000000003"),
            ("X-Hub-Signature-256", &signature),
        ],
        &tampered,
    );
    assert_eq!(tampered, 401);
    let oversized = [body.as_slice(), &[b' '; 8192]].concat();
    assert_eq!(
        deliver(
            port,
            "7a000000-0000-4000-8000-000000000004",
            EVENT,
            SECRET,
            &oversized
        ),
        413
    );
    // The same body with no length declared (chunked): refused once it grows past the bound.
    assert_eq!(
        chunked(
            port,
            "7a000000-0000-4000-8000-000000000008",
            EVENT,
            &oversized
        ),
        413
    );
    let elsewhere = token_request_event("created", "someone-elses-org", 7201, &receiver.token);
    assert_eq!(
        deliver(
            port,
            "7a000000-0000-4000-8000-000000000005",
            EVENT,
            SECRET,
            &elsewhere
        ),
        422
    );
    assert_eq!(
        deliver(
            port,
            "7a000000-0000-4000-8000-000000000006",
            EVENT,
            SECRET,
            br#"{"action":"created"}"#
        ),
        400
    );
    // Had a delivery asked for a sync, the GitHub task would have taken it before going round
    // idle twice.
    receiver.desk.wait_for_idle_github_rounds(2);
    assert_eq!(
        github_calls(&receiver.desk),
        calls,
        "a refused delivery syncs nothing"
    );
    assert_eq!(receiver.desk.request_id(7201), None, "nothing recorded");

    let status = receiver.status_when(|status| refused(status, "unknown_event") == 1);
    for (reason, count) in [
        ("unsigned", 1),
        ("bad_signature", 2),
        ("oversized", 2),
        ("unknown_org", 1),
        ("unknown_event", 1),
    ] {
        assert_eq!(refused(&status, reason), count, "{reason}: {status}");
    }
    let readable = receiver.desk.patdesk_as("alice", &["status"]);
    let readable = String::from_utf8_lossy(&readable.stdout);
    assert!(readable.contains("refused: bad_signature 2"), "{readable}");
    receiver.stop();
}

/// The events every App receives unasked, and any other patdesk does not use, are answered
/// 200 (GitHub's log stays green, nothing is retried), form-encoded or not, and counted.
#[test]
fn events_patdesk_does_not_use_are_answered_200_and_counted() {
    let receiver = Receiver::start("webhook-unused");
    let port = receiver.port;
    let calls = github_calls(&receiver.desk);
    for (n, unused) in [
        "installation",
        "installation_repositories",
        "github_app_authorization",
    ]
    .into_iter()
    .enumerate()
    {
        let delivery = format!("7a000000-0000-4000-8000-00000000010{n}");
        let body = br#"{"action":"created","installation":{"id":11}}"#;
        assert_eq!(
            deliver(port, &delivery, unused, SECRET, body),
            200,
            "{unused}"
        );
    }
    assert_eq!(
        deliver_form(
            port,
            "7a000000-0000-4000-8000-000000000109",
            "installation",
            SECRET,
            br#"{"action":"deleted"}"#
        ),
        200
    );
    receiver.desk.wait_for_idle_github_rounds(2);
    assert_eq!(github_calls(&receiver.desk), calls, "nothing synced");
    let status = receiver.status_when(|status| status["webhook"]["not_used"] == 4);
    assert_eq!(status["webhook"]["taken"], 4, "{status}");
    let readable = receiver.desk.patdesk_as("alice", &["status"]);
    let readable = String::from_utf8_lossy(&readable.stdout);
    assert!(
        readable.contains("4 of events patdesk does not use"),
        "{readable}"
    );
    receiver.stop();
}

/// GitHub's delivery, taken once; the same delivery again (GitHub's redelivery of one already
/// taken, or a replay) is answered 200 as before and not acted on again, and so it stays
/// after a restart. The delivery id is not signed: the captured body under a new id is the
/// same delivery.
#[test]
fn a_redelivered_or_replayed_delivery_is_not_acted_on_again() {
    let receiver = Receiver::start("webhook-replayed");
    let (port, body) = (receiver.port, receiver.body.clone());
    let delivery = "7a000000-0000-4000-8000-000000000007";
    assert_eq!(deliver(port, delivery, EVENT, SECRET, &body), 202);
    wait_for(15, || receiver.desk.request_id(7201))
        .unwrap_or_else(|| panic!("the delivery did not sync\n{}", receiver.desk.log()));
    receiver.desk.wait_for_idle_github_rounds(2);
    let events_of = |desk: &Desk| {
        desk.store()
            .events_for(desk.request_id(7201).expect("recorded"))
            .expect("events")
            .len()
    };
    let events = events_of(&receiver.desk);
    let calls = github_calls(&receiver.desk);
    assert_eq!(deliver(port, delivery, EVENT, SECRET, &body), 200);

    let Receiver {
        desk, mut daemon, ..
    } = receiver;
    assert!(stop(&mut daemon).success(), "{}", desk.log());
    let mut daemon = desk.start_daemon();
    started(&desk, port);
    let calls_after_restart = github_calls(&desk);
    assert!(calls_after_restart > calls, "the restart's own sync");
    assert_eq!(deliver(port, delivery, EVENT, SECRET, &body), 200);
    assert_eq!(
        deliver(
            port,
            "7a000000-0000-4000-8000-000000000077",
            EVENT,
            SECRET,
            &body
        ),
        200
    );
    desk.wait_for_idle_github_rounds(2);
    assert_eq!(
        github_calls(&desk),
        calls_after_restart,
        "a replay syncs nothing"
    );
    assert_eq!(events_of(&desk), events, "a replay changes nothing");

    let status = wait_for(10, || {
        let status = status(&desk);
        (refused(&status, "replayed") == 3).then_some(status)
    })
    .unwrap_or_else(|| panic!("the replays are not all counted: {}", status(&desk)));
    assert_eq!(status["webhook"]["taken"], 1, "{status}");
    let readable = desk.patdesk_as("alice", &["status"]);
    let readable = String::from_utf8_lossy(&readable.stdout);
    assert!(
        readable.contains("3 redelivered (answered, not acted on again)"),
        "{readable}"
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}

/// 128 clients that open a connection and send half a header, and stay: GitHub's delivery
/// still gets through at once (the oldest slow connection gives up its place), and syncs.
/// Before, 64 of them closed the door to every delivery for as long as they stayed.
#[test]
fn slow_connections_cannot_keep_a_delivery_out() {
    let port = free_port();
    let desk = desk_with_webhook("slow", port, 1_000_000);
    let mut daemon = desk.start_daemon();
    started(&desk, port);
    let token = format!("through-the-crowd-{}", std::process::id());
    desk.set_pending(&[pending(7301, "dave", &token, None)]);
    let slow: Vec<TcpStream> = (0..128)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let _ = stream.write_all(b"POST /github HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            stream
        })
        .collect();
    let body = token_request_event("created", "acme-corp", 7301, &token);
    assert_eq!(
        deliver(
            port,
            "7a000000-0000-4000-8000-000000000301",
            "personal_access_token_request",
            SECRET,
            &body
        ),
        202
    );
    wait_for(15, || desk.request_id(7301))
        .unwrap_or_else(|| panic!("the delivery did not sync\n{}", desk.log()));
    drop(slow);
    assert!(stop(&mut daemon).success(), "{}", desk.log());
}
