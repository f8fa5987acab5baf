//! The crash test: requests and their requesters' replies flow through the real servers while
//! `patdesk run` is killed with SIGKILL at random moments and restarted. Afterwards every
//! request is recorded once, every requester has exactly one question and one
//! acknowledgement, every purpose is recorded, no mail is left unacknowledged in the team
//! mailbox, and the audit log verifies.
//!
//! CI runs a reduced size; the full one is
//! `PATDESK_CRASH_REQUESTS=300 PATDESK_CRASH_KILLS=20 cargo test --release --test crash`
//! (with the mail servers started: `scripts/mailserver start`). The kill moments come from a
//! seed the test prints (shown with a failure); `PATDESK_CRASH_SEED=N` replays those moments.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use common::desk::{Desk, DeskSetup, stop, wait_for};
use common::mailserver::{TestFolder, send, session};
use common::standin::pending;
use futures::TryStreamExt;
use patdesk::mail::{MailPolicy, analyze};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A small generator for the kill moments: random enough, and the seed is printed.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// Dave's INBOX, read as the requesters' mail clients would: every mail since the last look.
struct Requesters {
    runtime: tokio::runtime::Runtime,
    session: patdesk::imap::ImapSession,
    last_uid: u32,
}

impl Requesters {
    fn new() -> Requesters {
        let runtime = common::runtime();
        let session = runtime.block_on(session("dave"));
        Requesters {
            runtime,
            session,
            last_uid: 0,
        }
    }

    /// The mails that arrived since the last call whose subject holds `marker`.
    fn new_mail(&mut self, marker: &str) -> Vec<Vec<u8>> {
        let from = self.last_uid + 1;
        let session = &mut self.session;
        let (mails, last) = self.runtime.block_on(async {
            session.select("INBOX").await.expect("select");
            let mut uids: Vec<u32> = session
                .uid_search(format!("UID {from}:* SUBJECT \"{marker}\""))
                .await
                .expect("search")
                .into_iter()
                .filter(|uid| *uid >= from)
                .collect();
            uids.sort_unstable();
            let mut mails = Vec::new();
            for uid in &uids {
                let fetched: Vec<_> = session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await
                    .expect("fetch")
                    .try_collect()
                    .await
                    .expect("fetch");
                mails.extend(fetched.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)));
            }
            (mails, uids.last().copied())
        });
        if let Some(last) = last {
            self.last_uid = last;
        }
        mails
    }
}

/// `4` from a subject naming the token `crash123x4`.
fn token_number(subject: &str, marker: &str) -> Option<usize> {
    subject
        .split(marker)
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn killed_at_random_moments_patdesk_loses_nothing_and_does_nothing_twice() {
    let requests = setting("PATDESK_CRASH_REQUESTS", 60);
    let kills = setting("PATDESK_CRASH_KILLS", 8);
    let id = std::process::id();
    let marker = format!("crash{id}x");
    let pending_requests: Vec<_> = (0..requests)
        .map(|n| {
            pending(
                20_000 + n as i64,
                &format!("r{n}"),
                &format!("{marker}{n}"),
                None,
            )
        })
        .collect();
    let people = (0..requests)
        .map(|n| (format!("r{n}"), format!("dave+{marker}r{n}@example.org")))
        .collect();
    // desk's server files what it sends in Sent: a send cut off by a kill is settled by it.
    let desk = Desk::new(
        TestFolder::of("crash", "desk"),
        DeskSetup {
            pending: pending_requests,
            people,
            extra: format!("[mail]\nbreaker_mails = {}\n", requests * 4 + 10),
            // The loopback server files its copy in a second or two: a send a kill cut off
            // before the server took it is known unsent after 15 s, not the default minute.
            smtp_extra: "sent_copy_grace_seconds = 15\n".to_string(),
            ..DeskSetup::default()
        },
    );
    // A run that failed is replayed with its seed: PATDESK_CRASH_SEED=<the seed printed>.
    let seed = std::env::var("PATDESK_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(u64::from(id) ^ 0x5eed);
    println!(
        "crash test: {requests} requests, {kills} kills, seed {seed} \
         (replay with PATDESK_CRASH_SEED={seed})"
    );
    let mut moments = Moments(seed);
    let mut requesters = Requesters::new();
    let mut answered: HashSet<usize> = HashSet::new();
    let mut daemon = desk.start_daemon();
    let mut killed = 0;
    let mut next_kill = Instant::now() + Duration::from_millis(moments.next_millis(300, 2500));
    let deadline = Instant::now() + Duration::from_secs(300);

    while (killed < kills || answered.len() < requests) && Instant::now() < deadline {
        for raw in requesters.new_mail(&marker) {
            let question = analyze(&raw, &MailPolicy::default());
            let subject = question.subject.clone().unwrap_or_default();
            if !subject.contains("used for") {
                continue;
            }
            let Some(n) = token_number(&subject, &marker) else {
                continue;
            };
            if !answered.insert(n) {
                continue;
            }
            let message_id = question.message_id.unwrap_or_default();
            let reply = format!(
                "From: R{n} <dave+{marker}r{n}@example.org>\r\nTo: desk@example.org\r\n\
                 Subject: Re: {subject}\r\nMessage-ID: <reply-{marker}-{n}@example.org>\r\n\
                 In-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n\r\n\
                 Token {n} reads the issues of acme-corp/api for the weekly report.\r\n"
            );
            send(&desk.address(), reply.as_bytes());
        }
        if killed < kills && Instant::now() >= next_kill {
            daemon.kill().expect("SIGKILL");
            let _ = daemon.wait();
            killed += 1;
            daemon = desk.start_daemon();
            next_kill = Instant::now() + Duration::from_millis(moments.next_millis(300, 2500));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(killed, kills);
    assert_eq!(
        answered.len(),
        requests,
        "questions never arrived: {:?}\n{}",
        (0..requests)
            .filter(|n| !answered.contains(n))
            .collect::<Vec<_>>(),
        desk.log()
    );

    // The last daemon finishes the work: every purpose in, the outbox empty, the folder empty.
    let settled = wait_for(180, || {
        let store = desk.store();
        let count = |sql: &str| -> i64 {
            store
                .connection()
                .query_row(sql, [], |row| row.get(0))
                .unwrap_or(-1)
        };
        let done = count("SELECT COUNT(*) FROM requests WHERE purpose IS NOT NULL")
            == requests as i64
            && count("SELECT COUNT(*) FROM outbox WHERE state <> 'sent'") == 0
            && count("SELECT COUNT(*) FROM outbox WHERE kind = 'acknowledgement'")
                == requests as i64;
        done.then_some(())
    });
    let store = desk.store();
    assert!(
        settled.is_some(),
        "not settled: {:?}\n{}",
        store.counts(),
        desk.log()
    );
    assert!(stop(&mut daemon).success(), "{}", desk.log());

    let count = |sql: &str| -> i64 {
        store
            .connection()
            .query_row(sql, [], |row| row.get(0))
            .expect("count")
    };
    println!(
        "crash test: sends cut off {}, found in Sent {}, sent again {}",
        count("SELECT COUNT(*) FROM events WHERE kind = 'mail_uncertain'"),
        count("SELECT COUNT(*) FROM events WHERE kind = 'mail_found_in_sent'"),
        count("SELECT COUNT(*) FROM events WHERE kind = 'mail_not_in_sent'"),
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM requests"),
        requests as i64,
        "each request once"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM messages WHERE direction = 'in' AND triage = 0"),
        requests as i64,
        "each reply stored once"
    );
    let left = common::runtime().block_on(async {
        let mut team = session("desk").await;
        team.select(&desk.folder.name).await.expect("select").exists
    });
    assert_eq!(left, 0, "no mail left unacknowledged in the watched folder");
    let verify = desk.patdesk(&["audit", "verify", "--break-glass"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    // What each requester received, read from the mailbox: one question, one acknowledgement.
    // Postfix's own delivery of the last mail sent is what this waits for (a real server's
    // delay): the outbox above is empty, so nothing more is coming from patdesk.
    std::thread::sleep(Duration::from_secs(2));
    let mut received: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    let mut everything = Requesters::new();
    for raw in everything.new_mail(&marker) {
        let mail = analyze(&raw, &MailPolicy::default());
        let subject = mail.subject.unwrap_or_default();
        // Every mail about a request names its token, and the token its requester.
        let Some(n) = token_number(&subject, &marker) else {
            continue;
        };
        let kind = if subject.contains("used for") {
            "question"
        } else if subject.starts_with("Thank you") {
            "acknowledgement"
        } else {
            "other"
        };
        *received.entry((n, kind)).or_default() += 1;
    }
    for n in 0..requests {
        for kind in ["question", "acknowledgement"] {
            assert_eq!(
                received.get(&(n, kind)).copied().unwrap_or(0),
                1,
                "requester r{n} got {kind}s: {received:?}"
            );
        }
    }
    assert!(
        !received.keys().any(|(_, kind)| *kind == "other"),
        "{received:?}"
    );
}
