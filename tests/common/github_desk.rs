//! A patdesk set up against the GitHub stand-in: its config, database and the App's key in
//! a temporary folder, for the tests of the client, the sync and the pushes.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::Duration;

use patdesk::config::Config;
use patdesk::github::{ClientOptions, GithubClient};
use patdesk::review::ReviewPolicy;
use patdesk::store::Store;
use patdesk::sync::SyncOptions;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::standin::{APP_ID, Standin, keys_dir, pending, repositories_for};

/// A config, a database and the App's key in a temporary folder, pointed at a stand-in.
pub struct Desk {
    pub dir: TempDir,
    /// Started by the first command an engineer runs as themselves.
    daemon: std::cell::OnceCell<super::control::Daemon>,
}

impl Desk {
    pub fn new(standin: &Standin, orgs: &[(&str, u64)], key: &str, extra: &str) -> Desk {
        let dir = TempDir::new().expect("temp dir");
        // A fresh clone gives the key file 0644; patdesk rightly refuses that, so copy it.
        let key_path = dir.path().join("app.pem");
        std::fs::copy(keys_dir().join(key), &key_path).expect("copy key");
        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let mut config = format!(
            "[store]\npath = \"patdesk.db\"\n{}\
             [github]\napp_id = {APP_ID}\nprivate_key = {{ file = \"app.pem\" }}\napi_url = \"{}\"\n",
            super::users::team_and_control(),
            standin.url
        );
        for (org, installation) in orgs {
            config.push_str(&format!(
                "[[github.orgs]]\nlogin = \"{org}\"\ninstallation_id = {installation}\n"
            ));
        }
        config.push_str(extra);
        std::fs::write(dir.path().join("patdesk.toml"), config).expect("write config");
        // Only `patdesk run` creates the database; stand in for its first start.
        Store::open(
            &dir.path().join("patdesk.db"),
            &patdesk::clock::Clock::system(),
        )
        .expect("create the store");
        Desk {
            dir,
            daemon: std::cell::OnceCell::new(),
        }
    }

    pub fn config(&self) -> Config {
        Config::load(&self.dir.path().join("patdesk.toml")).expect("config")
    }

    pub fn store(&self) -> Store {
        Store::open(
            &self.dir.path().join("patdesk.db"),
            &patdesk::clock::Clock::system(),
        )
        .expect("store")
    }

    /// A client with short backoffs, so retry tests stay quick.
    pub fn client(&self) -> GithubClient {
        self.client_with(ClientOptions {
            timeout: Duration::from_secs(5),
            backoff: Duration::from_millis(50),
            ..ClientOptions::default()
        })
    }

    pub fn client_with(&self, options: ClientOptions) -> GithubClient {
        let config = self.config();
        let github = config.github.as_ref().expect("github");
        let key = github.private_key.read().expect("key");
        GithubClient::new(github, &key, options, patdesk::clock::Clock::system()).expect("client")
    }

    pub fn options(&self) -> SyncOptions {
        SyncOptions {
            policy: ReviewPolicy::default(),
            directory: Default::default(),
            allowed_domains: vec!["example.org".to_string()],
            expiry_warning_days: 7,
        }
    }

    /// Runs a command: through the daemon as alice once one runs, else as root with the daemon
    /// down (--break-glass), which syncs in the command's own process.
    pub fn patdesk(&self, args: &[&str]) -> Output {
        if self.daemon.get().is_some() {
            return self.patdesk_as("alice", args);
        }
        Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(args)
            .arg("--break-glass")
            .arg("--config")
            .arg(self.dir.path().join("patdesk.toml"))
            .output()
            .expect("runs")
    }

    /// Runs a command as the team member `login`, through the daemon (started if need be).
    pub fn patdesk_as(&self, login: &str, args: &[&str]) -> Output {
        let config = self.dir.path().join("patdesk.toml");
        self.daemon
            .get_or_init(|| super::control::Daemon::start(&config));
        super::control::patdesk_as(super::control::os_user_of(login), &config, args)
    }

    pub fn events(&self) -> i64 {
        self.store()
            .connection()
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .expect("count")
    }

    pub fn record_by_github_id(&self, github_id: i64) -> patdesk::store::RequestRecord {
        let store = self.store();
        let id: i64 = store
            .connection()
            .query_row(
                "SELECT id FROM requests WHERE github_request_id = ?1",
                [github_id],
                |row| row.get(0),
            )
            .expect("recorded");
        store.request(id).expect("request")
    }
}

impl Desk {
    /// A desk on a stand-in that holds `org` as acme-corp (installation 11), with `emails` as
    /// the requesters' public addresses and `extra` added to the config, synced once.
    pub fn synced(org: Value, emails: Value, extra: &str) -> (Standin, Desk) {
        let standin = Standin::start(&[("acme-corp", 11, org)], emails);
        let desk = Desk::new(&standin, &[("acme-corp", 11)], "app-test-key.pem", extra);
        assert_eq!(desk.patdesk(&["sync"]).status.code(), Some(0));
        (standin, desk)
    }
}

/// The messages of `store`'s alerts of `kind`, oldest first.
pub fn alerts_of(store: &Store, kind: &str) -> Vec<String> {
    store
        .alerts()
        .expect("alerts")
        .into_iter()
        .filter(|alert| alert.kind == kind)
        .map(|alert| alert.message)
        .collect()
}

/// `owner`'s request to read acme-corp/api's issues, its purpose given, as GitHub lists it.
pub fn reads(id: i64, owner: &str) -> Value {
    pending(
        id,
        owner,
        &format!("issue-reader {owner}"),
        Some("Reads issues of acme-corp/api for the weekly report"),
    )
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn org_with(pending_requests: &[Value], org: &str) -> Value {
    json!({
        "pending": pending_requests,
        "repositories": repositories_for(pending_requests, org),
        "verified_emails": {},
    })
}

pub fn many(org_offset: i64, count: i64) -> Vec<Value> {
    (1..=count)
        .map(|n| {
            pending(
                org_offset + n,
                &format!("dev-{n}"),
                &format!("issue-reader {n}"),
                None,
            )
        })
        .collect()
}
