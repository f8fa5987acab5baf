//! Mail intake against the project's Dovecot: `scripts/mailserver start && cargo bench --bench imap`.
//!
//! 1. Catch-up of 10,000 mails: patdesk's whole intake (fetch, analyse, store with its audit
//!    event, move) against a bare `UID FETCH` of the same mails by the same IMAP client, in the
//!    same batches; each the median of five rounds. Target (issue 5): at most 1.5x. The CPU used by the whole machine during
//!    each run is printed beside it: with Dovecot on the same cores, it bounds what any client
//!    could do. Two more references show what the acknowledgement alone costs: the same bare
//!    fetch, with the mails moved (or flagged) on a second session as they are read, and
//!    nothing stored.
//! 2. Delay from SMTP delivery to the stored record while IDLE, over 100 mails: p50 and p99.
//!    Target: p99 < 1 s.

#[path = "../tests/common/mailserver.rs"]
#[allow(dead_code)]
mod mailserver;
// The mail server's configs name the test engineers' control socket group.
#[path = "../tests/common/users.rs"]
#[allow(dead_code)]
mod users;

use std::path::Path;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use jiff::Timestamp;
use mailserver::{TestFolder, append, create, team_session};
use patdesk::imap::{ImapSession, MailboxWatch, PROCESSED_KEYWORD};
use patdesk::mail::MailPolicy;
use patdesk::store::Store;

const BACKLOG: usize = 10_000;
const DELIVERIES: usize = 100;
/// Rounds of each catch-up; the median is reported, since the machine is noisy.
const ROUNDS: usize = 5;

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

    // Bare: the same client fetching the same mails in the same batches, nothing else; the
    // median of five rounds, since it is the yardstick.
    let mut bare_rounds = Vec::new();
    for _ in 0..ROUNDS {
        bare_rounds.push(bare_fetch(&folder.name, Mark::Nothing).await);
    }
    let bare = median("bare fetch", bare_rounds);

    // The same fetch, each thousand mails moved to Processed as they are read: what a
    // catch-up that stored nothing would take.
    create(&mut admin, &folder.processed()).await;
    let mut bare_move_rounds = Vec::new();
    for _ in 0..ROUNDS {
        let mark = Mark::Move(folder.processed());
        bare_move_rounds.push(bare_fetch(&folder.name, mark).await);
        move_back(&mut admin, &folder.processed(), &folder.name).await;
    }
    let bare_move = median("bare fetch + move", bare_move_rounds);

    // The intake, also the median of five rounds: each on a fresh database, with the mails
    // moved back after each move-mode round and the keyword taken off after each flag-mode one.
    let mut moved_rounds = Vec::new();
    for round in 0..ROUNDS {
        forget_database(&folder.db());
        let mut intake = folder.intake(MailPolicy::default());
        moved_rounds.push(timed_catch_up(&mut intake).await);
        if round + 1 < ROUNDS {
            move_back(&mut admin, &folder.processed(), &folder.name).await;
        }
    }
    let moved = median("intake", moved_rounds);

    // Flag mode on the same mails, now in Processed: the acknowledgement is a keyword instead
    // of a move.
    let flagged = TestFolder::new("bench-flag");
    let config = flagged.config_file("acknowledge = \"flag\"\n");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen(
        &format!("folder = \"{}\"", flagged.name),
        &format!("folder = \"{}\"", folder.processed()),
        1,
    );
    std::fs::write(&config, text).expect("config");
    let mut flag_rounds = Vec::new();
    for _ in 0..ROUNDS {
        forget_database(&flagged.db());
        let mut intake = flagged.intake_from(&config, MailPolicy::default());
        flag_rounds.push(timed_catch_up(&mut intake).await);
        unflag(&mut admin, &folder.processed()).await;
    }
    let flag = median("intake, flag mode", flag_rounds);
    let mut bare_flag_rounds = Vec::new();
    for _ in 0..ROUNDS {
        bare_flag_rounds.push(bare_fetch(&folder.processed(), Mark::Flag).await);
        unflag(&mut admin, &folder.processed()).await;
    }
    let bare_flag = median("bare fetch + keyword", bare_flag_rounds);

    println!();
    println!(
        "{:<46} {:>8} {:>9} {:>13} {:>12}",
        "catch-up of 10,000 mails, median of 5",
        "seconds",
        "mails/s",
        "machine CPU s",
        "patdesk CPU s"
    );
    for (name, spent) in [
        ("bare UID FETCH (sizes and bodies)", bare),
        ("bare UID FETCH + MOVE, nothing stored", bare_move),
        ("bare UID FETCH + keyword, nothing stored", bare_flag),
        ("patdesk intake (fetch, store, move)", moved),
        ("patdesk intake, flag mode (fetch, store, flag)", flag),
    ] {
        println!(
            "{name:<46} {:>8.2} {:>9.0} {:>13.2} {:>12.2}",
            spent.wall,
            BACKLOG as f64 / spent.wall,
            spent.machine,
            spent.own
        );
    }
    println!(
        "ratio (intake / bare)                          {:>8.2}   (target ≤ 1.50)",
        moved.wall / bare.wall
    );
    println!(
        "ratio, flag mode (intake / bare)               {:>8.2}",
        flag.wall / bare.wall
    );
    println!(
        "ratio, nothing stored (bare + MOVE / bare)     {:>8.2}   (the acknowledgement alone)",
        bare_move.wall / bare.wall
    );
    println!(
        "ratio, nothing stored (bare + keyword / bare)  {:>8.2}",
        bare_flag.wall / bare.wall
    );
    println!(
        "storing's share (intake / bare + MOVE)         {:>8.2}",
        moved.wall / bare_move.wall
    );
    println!(
        "storing's share, flag mode (/ bare + keyword)  {:>8.2}",
        flag.wall / bare_flag.wall
    );
    println!(
        "(machine CPU: every process and the kernel, on {} cores; the machine's floor for a run is its CPU / cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}

/// One catch-up of the whole backlog by `intake`, timed.
async fn timed_catch_up(intake: &mut MailboxWatch) -> Spent {
    let mut session = intake.imap.open_session().await.expect("session");
    let clock = Clock::start();
    let report = intake.catch_up(&mut session).await.expect("catch up");
    let spent = clock.stop();
    assert_eq!(report.ingested, BACKLOG);
    assert_eq!(report.recognised, 0, "a fresh database recognises nothing");
    spent
}

/// Removes a database with its WAL, so the next round starts with none.
fn forget_database(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        match std::fs::remove_file(&path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                panic!("remove {}: {error}", Path::new(&path).display())
            }
            _ => {}
        }
    }
}

/// The round with the median wall time, after printing the range of the rounds.
fn median(what: &str, mut rounds: Vec<Spent>) -> Spent {
    rounds.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let walls: Vec<String> = rounds.iter().map(|r| format!("{:.2}", r.wall)).collect();
    println!("{what} rounds (s): {}", walls.join(" "));
    rounds[rounds.len() / 2]
}

/// What a bare fetch does with the mails it has read, as intake's acknowledgement would.
enum Mark {
    Nothing,
    /// Moved to this folder.
    Move(String),
    /// Given intake's keyword.
    Flag,
}

/// Mails acknowledged in one command, as intake's `ACK_BATCH`.
const ACK_SET: usize = 1000;

/// Fetches every mail of `folder` as intake does (sizes, then bodies, 100 at a time) and
/// nothing else; with a `mark`, a second session marks each thousand mails read meanwhile,
/// as intake acknowledges what it has committed.
async fn bare_fetch(folder: &str, mark: Mark) -> Spent {
    let mut bare = team_session().await;
    bare.select(folder).await.expect("select");
    let clock = Clock::start();
    let mut uids: Vec<u32> = bare
        .uid_search("ALL")
        .await
        .expect("search")
        .into_iter()
        .collect();
    uids.sort_unstable();
    let (read_tx, read) = tokio::sync::mpsc::unbounded_channel();
    let reading = async {
        let mut fetched = 0usize;
        for batch in uids.chunks(100) {
            let set = uid_list(batch);
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
            // Changes made by the other session (flags set) come in among the bodies.
            fetched += bodies.iter().filter(|fetch| fetch.body().is_some()).count();
            // Nobody listens when nothing is marked.
            let _ = read_tx.send(batch.to_vec());
        }
        drop(read_tx);
        fetched
    };
    let (fetched, ()) = tokio::join!(reading, mark_as_read(folder, mark, read));
    let spent = clock.stop();
    assert_eq!(fetched, BACKLOG);
    spent
}

/// Marks what `read` brings, `ACK_SET` at a time, on a session of its own.
async fn mark_as_read(
    folder: &str,
    mark: Mark,
    mut read: tokio::sync::mpsc::UnboundedReceiver<Vec<u32>>,
) {
    if matches!(mark, Mark::Nothing) {
        return;
    }
    let mut second = team_session().await;
    second.select(folder).await.expect("select");
    let mut pending = Vec::new();
    while let Some(batch) = read.recv().await {
        pending.extend(batch);
        if pending.len() >= ACK_SET {
            mark_set(&mut second, &mark, &pending).await;
            pending.clear();
        }
    }
    if !pending.is_empty() {
        mark_set(&mut second, &mark, &pending).await;
    }
}

async fn mark_set(session: &mut ImapSession, mark: &Mark, uids: &[u32]) {
    let set = uid_list(uids);
    match mark {
        Mark::Nothing => {}
        Mark::Move(to) => session.uid_mv(&set, to).await.expect("move"),
        Mark::Flag => {
            let flag = format!("+FLAGS.SILENT ({PROCESSED_KEYWORD})");
            let stream = session.uid_store(&set, &flag).await.expect("flag");
            let _: Vec<_> = stream.try_collect().await.expect("flag");
        }
    }
}

fn uid_list(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Moves every mail of `from` back to `to`, for the next round.
async fn move_back(admin: &mut ImapSession, from: &str, to: &str) {
    admin.select(from).await.expect("select");
    admin.uid_mv("1:*", to).await.expect("move the mails back");
}

/// Takes intake's keyword off every mail of `folder`, for the next round.
async fn unflag(admin: &mut ImapSession, folder: &str) {
    admin.select(folder).await.expect("select");
    let unflag = format!("-FLAGS.SILENT ({PROCESSED_KEYWORD})");
    let stream = admin
        .uid_store("1:*", &unflag)
        .await
        .expect("take the keyword off");
    let _: Vec<_> = stream.try_collect().await.expect("unflag");
}

/// Wall time and CPU time of one run: CPU of the whole machine (patdesk, Dovecot, the
/// kernel), which shows what the cores allowed, and of this process alone.
#[derive(Debug, Clone, Copy)]
struct Spent {
    wall: f64,
    machine: f64,
    own: f64,
}

struct Clock {
    started: Instant,
    machine: f64,
    own: f64,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            started: Instant::now(),
            machine: machine_cpu_seconds(),
            own: own_cpu_seconds(),
        }
    }

    fn stop(&self) -> Spent {
        Spent {
            wall: self.started.elapsed().as_secs_f64(),
            machine: machine_cpu_seconds() - self.machine,
            own: own_cpu_seconds() - self.own,
        }
    }
}

/// Clock ticks per second of /proc's figures (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// Busy time of all CPUs since boot: user, nice, system, irq and softirq of /proc/stat.
fn machine_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .expect("cpu line")
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().expect("ticks"))
        .collect();
    (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / TICKS
}

/// User and system time of this process, all threads (fields 14 and 15 of /proc/self/stat).
fn own_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name may hold spaces; the fields after it start at "state".
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    let utime: f64 = fields[11].parse().expect("utime");
    let stime: f64 = fields[12].parse().expect("stime");
    (utime + stime) / TICKS
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
        let at = patdesk::clock::Clock::system().now();
        tokio::task::spawn_blocking(move || mailserver::send(&to, &raw))
            .await
            .expect("send");
        sent.push((format!("{}-{n}@example.org", folder.name), at));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let store = Store::open(&folder.db(), &patdesk::clock::Clock::system()).expect("store");
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
