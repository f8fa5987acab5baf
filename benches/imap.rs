//! Mail intake against the project's Dovecot: `scripts/mailserver start && cargo bench --bench imap`.
//!
//! 1. Catch-up of 10,000 mails: patdesk's whole intake (fetch, analyse, store with its audit
//!    event, move) against a bare `UID FETCH` of the same mails by the same IMAP client, in the
//!    same batches. Target (issue 5): at most 1.5x.
//! 2. Delay from SMTP delivery to the stored record while IDLE, over 100 mails: p50 and p99.
//!    Target: p99 < 1 s.

#[path = "../tests/common/mailserver.rs"]
#[allow(dead_code)]
mod mailserver;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use jiff::Timestamp;
use mailserver::{TestFolder, append, create, team_session};
use patdesk::mail::MailPolicy;
use patdesk::store::Store;

const BACKLOG: usize = 10_000;
const DELIVERIES: usize = 100;

fn main() {
    mailserver::require();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(catch_up());
    runtime.block_on(delivery_delay());
}

/// A mail of a realistic size (about 2 KB: a reply with its quote).
fn mail(n: usize, tag: &str) -> Vec<u8> {
    let quote = "> What will the token be used for? It asks for issues read on acme-corp/api.\r\n"
        .repeat(20);
    format!(
        "From: Carol <carol@example.org>\r\nTo: team@example.org\r\nSubject: Re: [PAT-{n}] purpose\r\n\
         Message-ID: <{tag}-{n}@example.org>\r\nIn-Reply-To: <pat-{n}.question@patdesk.example.org>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         It reads issues of acme-corp/api for the weekly report ({n}).\r\n\r\n\
         On Tue, 24 Nov 2026 at 17:30, PAT desk <team@example.org> wrote:\r\n{quote}"
    )
    .into_bytes()
}

async fn catch_up() {
    let folder = TestFolder::new("bench");
    let mut admin = team_session().await;
    create(&mut admin, &folder.name).await;
    let filled = Instant::now();
    for n in 0..BACKLOG {
        append(&mut admin, &folder.name, &mail(n, &folder.name)).await;
    }
    let bytes: usize = (0..BACKLOG).map(|n| mail(n, &folder.name).len()).sum();
    println!(
        "filled {} with {BACKLOG} mails ({:.1} MB) in {:.1} s",
        folder.name,
        bytes as f64 / 1e6,
        filled.elapsed().as_secs_f64()
    );

    // Bare: the same client fetching the same mails in the same batches, nothing else.
    let mut bare = team_session().await;
    bare.select(&folder.name).await.expect("select");
    let started = Instant::now();
    let uids: Vec<u32> = {
        let mut uids: Vec<u32> = bare
            .uid_search("ALL")
            .await
            .expect("search")
            .into_iter()
            .collect();
        uids.sort_unstable();
        uids
    };
    let mut fetched = 0usize;
    for batch in uids.chunks(100) {
        let set = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let stream = bare
            .uid_fetch(&set, "(UID RFC822.SIZE)")
            .await
            .expect("sizes");
        let _sizes: Vec<_> = stream.try_collect().await.expect("sizes");
        let stream = bare
            .uid_fetch(&set, "(UID BODY.PEEK[])")
            .await
            .expect("bodies");
        let bodies: Vec<_> = stream.try_collect().await.expect("bodies");
        fetched += bodies.len();
    }
    let bare_time = started.elapsed();
    assert_eq!(fetched, BACKLOG);
    drop(bare);

    let mut intake = folder.intake(MailPolicy::default());
    let mut session = intake.imap.open_session().await.expect("session");
    let started = Instant::now();
    let report = intake.catch_up(&mut session).await.expect("catch up");
    let intake_time = started.elapsed();
    assert_eq!(report.ingested, BACKLOG);

    println!();
    println!(
        "{:<44} {:>10} {:>12}",
        "catch-up of 10,000 mails", "seconds", "mails/s"
    );
    for (name, time) in [
        ("bare UID FETCH (sizes and bodies)", bare_time),
        ("patdesk intake (fetch, store, move)", intake_time),
    ] {
        println!(
            "{name:<44} {:>10.2} {:>12.0}",
            time.as_secs_f64(),
            BACKLOG as f64 / time.as_secs_f64()
        );
    }
    println!(
        "{:<44} {:>10.2}   (target ≤ 1.50)",
        "ratio (intake / bare)",
        intake_time.as_secs_f64() / bare_time.as_secs_f64()
    );

    // Flag mode on the same mails, now in Processed, with a fresh database: the acknowledgement
    // is a keyword instead of a move.
    let flagged = TestFolder::new("bench-flag");
    let config = flagged.config_file("acknowledge = \"flag\"\n");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen(
        &format!("folder = \"{}\"", flagged.name),
        &format!("folder = \"{}\"", folder.processed()),
        1,
    );
    std::fs::write(&config, text).expect("config");
    let mut intake = flagged.intake_from(&config, MailPolicy::default());
    let mut session = intake.imap.open_session().await.expect("session");
    let started = Instant::now();
    let report = intake.catch_up(&mut session).await.expect("catch up");
    let flag_time = started.elapsed();
    assert_eq!(report.ingested, BACKLOG);
    println!(
        "{:<44} {:>10.2} {:>12.0}",
        "patdesk intake, flag mode (fetch, store, flag)",
        flag_time.as_secs_f64(),
        BACKLOG as f64 / flag_time.as_secs_f64()
    );
    println!(
        "{:<44} {:>10.2}",
        "ratio, flag mode (intake / bare)",
        flag_time.as_secs_f64() / bare_time.as_secs_f64()
    );
}

async fn delivery_delay() {
    let folder = TestFolder::new("delay");
    create(&mut team_session().await, &folder.name).await;
    let intake = folder.intake(MailPolicy::default());
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(intake.run(shutdown));
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut sent = Vec::new();
    for n in 0..DELIVERIES {
        let raw = mail(n, &folder.name);
        let to = format!("team+{}@example.org", folder.name);
        let at = Timestamp::now();
        tokio::task::spawn_blocking(move || mailserver::send(&to, &raw))
            .await
            .expect("send");
        sent.push((format!("{}-{n}@example.org", folder.name), at));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let store = Store::open(&folder.db()).expect("store");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut delays = Vec::new();
    for (message_id, at) in &sent {
        let received = loop {
            let found: Option<String> = store
                .connection()
                .query_row(
                    "SELECT received_at FROM messages WHERE message_id = ?1",
                    [message_id],
                    |row| row.get(0),
                )
                .ok();
            if let Some(found) = found {
                break found;
            }
            assert!(Instant::now() < deadline, "{message_id} never arrived");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let received: Timestamp = received.parse().expect("time");
        delays.push(received.duration_since(*at).as_secs_f64() * 1000.0);
    }
    let _ = stop.send(true);
    let _ = task.await;
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    println!();
    println!("delivery (SMTP) to stored record while IDLE, {DELIVERIES} mails");
    println!("  p50 {:>7.0} ms", at(0.5));
    println!("  p99 {:>7.0} ms   (target < 1000 ms)", at(0.99));
    println!("  max {:>7.0} ms", at(1.0));
}
