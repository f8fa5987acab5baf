//! The sync at scale: `cargo bench --bench sync`. The GitHub stand-in serves 10 orgs with 2,000
//! pending requests and 20,000 approved tokens between them; one client and one database sync
//! every org, as the daemon does, three times:
//!
//! 1. a first sync (every request new: its repositories, its requester's standing);
//! 2. an unchanged re-sync (target: only conditional calls, all answered 304, no rate limit
//!    spent, under 1 s);
//! 3. a re-sync after 10 new requests in one org (target: the calls grow with the new
//!    requests and their repositories, not with the 2,000 and 20,000).
//!
//! For each: the time, the GitHub calls by endpoint (and how many were 304), the calls that
//! count against the rate limit (GitHub counts every call an installation token makes except
//! a 304), and the process's peak resident memory since the phase began. First sync target:
//! under 30 s.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use patdesk::config::Config;
use patdesk::github::{ClientOptions, GithubClient};
use patdesk::store::Store;
use patdesk::sync::{SyncOptions, sync_org};
use serde_json::{Value, json};

use common::standin::{APP_ID, Standin, grant_for, keys_dir, pending, repositories_for};

const ORGS: i64 = 10;
const PENDING_PER_ORG: i64 = 200;
const GRANTS_PER_ORG: i64 = 2_000;
const NEW_REQUESTS: i64 = 10;

fn org_login(org: i64) -> String {
    format!("bench-org-{org}")
}

/// Org `org`'s pending requests (`extra` more than the usual), half with a usable reason.
fn pending_of(org: i64, extra: i64) -> Vec<Value> {
    (0..PENDING_PER_ORG + extra)
        .map(|n| {
            let id = org * 100_000 + n + 1;
            let reason =
                (n % 2 == 0).then_some("Reads the api repository's issues for the weekly report");
            pending(
                id,
                &format!("dev-{org}-{n}"),
                &format!("issue-reader {org}-{n}"),
                reason,
            )
        })
        .collect()
}

fn org_state(org: i64, extra: i64, used: &str) -> Value {
    let requests = pending_of(org, extra);
    let grants: Vec<Value> = (0..GRANTS_PER_ORG)
        .map(|n| {
            let id = org * 100_000 + 50_000 + n;
            let mut grant = grant_for(
                &pending(
                    id,
                    &format!("holder-{org}-{n}"),
                    &format!("deployer {org}-{n}"),
                    None,
                ),
                id,
                "2027-06-01T00:00:00Z",
            );
            grant["token_last_used_at"] = json!(used);
            grant
        })
        .collect();
    json!({
        "pending": requests,
        "repositories": repositories_for(&requests, &org_login(org)),
        "verified_emails": {},
        "grants": grants,
    })
}

/// The stand-in's calls so far, by endpoint: (calls, of them 304).
fn calls(standin: &Standin) -> BTreeMap<String, (u64, u64)> {
    standin.stats()["endpoints"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(endpoint, count)| {
            (
                endpoint.clone(),
                (
                    count["calls"].as_u64().unwrap_or(0),
                    count["not_modified"].as_u64().unwrap_or(0),
                ),
            )
        })
        .collect()
}

/// Peak resident memory (VmHWM, MB) since the last reset.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts a new peak for VmHWM (Linux: `5` to clear_refs), from what the process holds once
/// the memory the bench itself freed (the scenario's JSON) is back with the system.
fn reset_peak_rss() {
    // SAFETY: malloc_trim only returns free memory to the system.
    unsafe {
        libc::malloc_trim(0);
    }
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Phase {
    name: &'static str,
    elapsed: Duration,
    calls: BTreeMap<String, (u64, u64)>,
    peak_mb: f64,
}

fn main() {
    // The tokens were last used yesterday, in every phase: a use between two syncs would
    // change its page (as it does at GitHub).
    let used =
        (patdesk::clock::Clock::system().now() - jiff::SignedDuration::from_hours(24)).to_string();
    let states: Vec<(String, u64, Value)> = (0..ORGS)
        .map(|org| (org_login(org), 100 + org as u64, org_state(org, 0, &used)))
        .collect();
    let refs: Vec<(&str, u64, Value)> = states
        .iter()
        .map(|(login, installation, state)| (login.as_str(), *installation, state.clone()))
        .collect();
    let standin = Standin::start(&refs, json!({}));
    drop(refs);
    drop(states);

    let dir = tempfile::TempDir::new().expect("temp dir");
    let key = dir.path().join("app.pem");
    std::fs::copy(keys_dir().join("app-test-key.pem"), &key).expect("key");
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let directory: String = (0..ORGS)
        .flat_map(|org| {
            (0..PENDING_PER_ORG + NEW_REQUESTS)
                .map(move |n| format!("dev-{org}-{n},dev-{org}-{n}@example.org\n"))
        })
        .collect();
    std::fs::write(
        dir.path().join("people.csv"),
        format!("login,email\n{directory}"),
    )
    .expect("directory");
    let mut config = format!(
        "[people]\ndirectory = \"people.csv\"\n\
         [github]\napp_id = {APP_ID}\nprivate_key = {{ file = \"app.pem\" }}\napi_url = \"{}\"\n",
        standin.url
    );
    for org in 0..ORGS {
        config.push_str(&format!(
            "[[github.orgs]]\nlogin = \"{}\"\ninstallation_id = {}\n",
            org_login(org),
            100 + org
        ));
    }
    std::fs::write(dir.path().join("patdesk.toml"), config).expect("config");
    let config = Config::load(&dir.path().join("patdesk.toml")).expect("config");
    let github = config.github.as_ref().expect("github");
    let secret = github.private_key.read().expect("key");
    let client = GithubClient::new(
        github,
        &secret,
        ClientOptions::default(),
        patdesk::clock::Clock::system(),
    )
    .expect("client");
    let options = SyncOptions::from_config(&config, github).expect("options");
    let mut store = Store::open(
        &dir.path().join("patdesk.db"),
        &patdesk::clock::Clock::system(),
    )
    .expect("store");
    let runtime = common::runtime();

    let mut phase = |name: &'static str| {
        let before = calls(&standin);
        reset_peak_rss();
        let started = Instant::now();
        for org in 0..ORGS {
            runtime
                .block_on(sync_org(&client, &mut store, &org_login(org), &options))
                .expect("sync");
        }
        let elapsed = started.elapsed();
        let peak_mb = peak_rss_mb();
        let after = calls(&standin);
        let calls = after
            .into_iter()
            .map(|(endpoint, (calls, not_modified))| {
                let (was, was_304) = before.get(&endpoint).copied().unwrap_or_default();
                (endpoint, (calls - was, not_modified - was_304))
            })
            .filter(|(_, (calls, _))| *calls > 0)
            .collect();
        Phase {
            name,
            elapsed,
            calls,
            peak_mb,
        }
    };
    let first = phase("first sync");
    let unchanged = phase("unchanged re-sync");
    standin.replace_org(&org_login(0), org_state(0, NEW_REQUESTS, &used));
    let ten_new = phase("re-sync, 10 new requests");
    let recorded: i64 = store
        .connection()
        .query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0))
        .expect("count");

    println!(
        "{ORGS} orgs, {} pending requests, {} approved tokens; {recorded} requests recorded\n",
        ORGS * PENDING_PER_ORG,
        ORGS * GRANTS_PER_ORG
    );
    println!(
        "| phase | time | GitHub calls (304) | counted against the rate limit | peak RSS | target |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (phase, target) in [
        (&first, "< 30 s"),
        (&unchanged, "only 304s, none counted, < 1 s"),
        (&ten_new, "grows with the 10 new, not the totals"),
    ] {
        let total: u64 = phase.calls.values().map(|(calls, _)| calls).sum();
        let not_modified: u64 = phase
            .calls
            .values()
            .map(|(_, not_modified)| not_modified)
            .sum();
        // The installation tokens are asked for with the App's JWT, not counted against the
        // installation's limit.
        let counted: u64 = phase
            .calls
            .iter()
            .filter(|(endpoint, _)| !endpoint.contains("/access_tokens"))
            .map(|(_, (calls, not_modified))| calls - not_modified)
            .sum();
        println!(
            "| {} | {:.2} s | {total} ({not_modified}) | {counted} | {:.1} MB | {target} |",
            phase.name,
            phase.elapsed.as_secs_f64(),
            phase.peak_mb
        );
    }
    for phase in [&first, &unchanged, &ten_new] {
        println!("\n{}: calls by endpoint (of them 304)", phase.name);
        for (endpoint, (calls, not_modified)) in &phase.calls {
            println!("  {endpoint}: {calls} ({not_modified})");
        }
    }
}
