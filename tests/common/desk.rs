//! A whole patdesk installation for daemon tests: a folder of a test mailbox, the GitHub
//! stand-in serving one org's pending requests, a people directory, a signing key, SMTP, and
//! `patdesk run` started (and restarted) on that config.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use patdesk::store::Store;
use serde_json::{Value, json};

use super::KillOnDrop;
use super::mailserver::{SMTP_PORT, TestFolder, create, session};
use super::standin::{APP_ID, Standin, keys_dir, repositories_for};

pub const SIGNING_KEY: &str = "a signing key for the daemon tests";

pub struct Desk {
    pub folder: TestFolder,
    pub standin: Standin,
    pub config: PathBuf,
    /// How many times the daemon was started: each start logs to its own file.
    starts: std::cell::Cell<usize>,
}

/// What a desk is set up with; `..DeskSetup::default()` fills in the rest.
pub struct DeskSetup {
    /// acme-corp's pending requests at the stand-in.
    pub pending: Vec<Value>,
    /// GitHub logins and their addresses.
    pub people: Vec<(String, String)>,
    /// Where patdesk submits mail: the project's Postfix, or a proxy in front of it.
    pub smtp_port: u16,
    /// The timed sync; long when a test wants GitHub's mail to be what starts it.
    pub sync_seconds: u64,
    /// Appended to the config file (whole sections, such as `[alerts]`).
    pub extra: String,
    /// Added to the `[github]` section (`sync_debounce_seconds = 1`, say).
    pub github_extra: String,
    /// Added to the `[smtp]` section (`timeout_seconds = 3`, say).
    pub smtp_extra: String,
    /// The `[intervals]` section: short by default, so a test waits for what it is about
    /// rather than for the daemon's production pace.
    pub intervals: String,
    /// The `[team.members]` section, when not alice and bob as the OS knows them alone.
    pub team: Option<String>,
}

/// How often the tests' daemon looks again: a few times a second, where production looks
/// every few seconds (every 30 for the outbox).
/// The daemon's log filter in the tests: info, and the rounds of the alerts and GitHub tasks.
const ROUNDS_LOGGED: &str =
    "info,patdesk::daemon::alerts_task=debug,patdesk::daemon::github_task=debug";
const ALERT_ROUND: &str = "alerts round done";
const GITHUB_IDLE_ROUND: &str = "github task idle round";

pub const SHORT_INTERVALS: &str = "[intervals]\noutbox_seconds = 1\nlook_for_commits_seconds = 0.2\n\
     alerts_seconds = 0.25\nstatus_seconds = 1\n";

impl Default for DeskSetup {
    fn default() -> DeskSetup {
        DeskSetup {
            pending: Vec::new(),
            people: vec![("dave".to_string(), "dave@example.org".to_string())],
            smtp_port: SMTP_PORT,
            sync_seconds: 1,
            extra: String::new(),
            github_extra: String::new(),
            smtp_extra: String::new(),
            intervals: SHORT_INTERVALS.to_string(),
            team: None,
        }
    }
}

impl Desk {
    pub fn new(folder: TestFolder, setup: DeskSetup) -> Desk {
        super::mailserver::require();
        super::runtime().block_on(async {
            create(&mut session(folder.user).await, &folder.name).await;
        });
        let standin = Standin::start(&[("acme-corp", 11, org_state(&setup.pending))], json!({}));
        let config = folder.config_file("");
        let dir = config.parent().expect("config folder").to_path_buf();
        private(
            &dir.join("app.pem"),
            &std::fs::read(keys_dir().join("app-test-key.pem")).expect("key"),
        );
        private(&dir.join("signing-key"), SIGNING_KEY.as_bytes());
        let directory: String = setup
            .people
            .iter()
            .map(|(login, email)| format!("{login},{email}\n"))
            .collect();
        std::fs::write(dir.join("people.csv"), format!("login,email\n{directory}"))
            .expect("directory");
        let mailbox = std::fs::read_to_string(&config).expect("config");
        let user = folder.user;
        std::fs::write(
            &config,
            format!(
                "{mailbox}{}[people]\ndirectory = \"people.csv\"\n\
                 [signing]\nkey = {{ file = \"signing-key\" }}\n\
                 [smtp]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plaintext\"\n\
                 from = \"Platform team <{user}@example.org>\"\n{}\
                 [github]\napp_id = {APP_ID}\nprivate_key = {{ file = \"app.pem\" }}\napi_url = \"{}\"\n\
                 sync_interval_seconds = {}\n{}\
                 [[github.orgs]]\nlogin = \"acme-corp\"\ninstallation_id = 11\n{}{}",
                setup.team.clone().unwrap_or_else(super::users::team_section),
                setup.smtp_port,
                setup.smtp_extra,
                standin.url,
                setup.sync_seconds,
                setup.github_extra,
                setup.intervals,
                setup.extra
            ),
        )
        .expect("config");
        Desk {
            folder,
            standin,
            config,
            starts: std::cell::Cell::new(0),
        }
    }

    /// Writes a secret file (mode 0600) beside the config, for the config to name.
    pub fn write_secret(&self, name: &str, contents: &str) {
        private(&self.dir().join(name), contents.as_bytes());
    }

    /// GitHub now has `pending` for acme-corp, and nothing else.
    pub fn set_pending(&self, pending: &[Value]) {
        self.standin.replace_org("acme-corp", org_state(pending));
    }

    /// The address that delivers into the watched folder.
    pub fn address(&self) -> String {
        format!("{}+{}@example.org", self.folder.user, self.folder.name)
    }

    fn dir(&self) -> &Path {
        self.config.parent().expect("config folder")
    }

    /// Starts `patdesk run`; killed when the returned handle drops.
    pub fn start_daemon(&self) -> KillOnDrop {
        self.start_daemon_with(&[])
    }

    /// As `start_daemon`, with `env` set for the daemon (systemd's variables, say).
    pub fn start_daemon_with(&self, env: &[(&str, &str)]) -> KillOnDrop {
        self.launch(
            std::process::Command::new(env!("CARGO_BIN_EXE_patdesk")),
            env,
        )
    }

    /// As `start_daemon`, under the systemd unit's memory, task and open-file limits.
    pub fn start_daemon_limited(&self, limits: &super::limits::UnitLimits) -> KillOnDrop {
        self.launch(
            limits.command(Path::new(env!("CARGO_BIN_EXE_patdesk"))),
            &[],
        )
    }

    /// Runs `patdesk` as `command` starts it, with `run --config` and the test's log.
    fn launch(&self, mut command: std::process::Command, env: &[(&str, &str)]) -> KillOnDrop {
        let start = self.starts.get() + 1;
        self.starts.set(start);
        // The socket's group, and a way through the folder for the engineers' commands.
        for user in [
            super::users::ALICE,
            super::users::BOB,
            super::users::MALLORY,
        ] {
            super::users::os_user(user);
        }
        super::users::let_through(self.dir());
        let log = std::fs::File::create(self.dir().join(format!("daemon-{start}.log")))
            .expect("log file");
        KillOnDrop(
            command
                .args(["run", "--config"])
                .arg(&self.config)
                // The tasks' rounds are logged, for `wait_for_alert_rounds` and its kin.
                .env("PATDESK_LOG", ROUNDS_LOGGED)
                .envs(env.iter().copied())
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start the daemon"),
        )
    }

    /// Waits until the alerts task has gone round `rounds` more times: the evidence that
    /// whatever it would do again (post an alert twice, say) it has had the chance to.
    pub fn wait_for_alert_rounds(&self, rounds: usize) {
        self.wait_for_more(ALERT_ROUND, rounds);
    }

    /// Waits until the GitHub task has found nothing to do `rounds` more times: the evidence
    /// that no sync was asked for (by a webhook delivery it should have refused, say).
    pub fn wait_for_idle_github_rounds(&self, rounds: usize) {
        self.wait_for_more(GITHUB_IDLE_ROUND, rounds);
    }

    fn wait_for_more(&self, line: &str, more: usize) {
        let count = || self.log().matches(line).count();
        let seen = count();
        wait_for(60, || (count() >= seen + more).then_some(()))
            .unwrap_or_else(|| panic!("no more {line:?} in the log\n{}", self.log()));
    }

    /// What every start of the daemon has logged so far.
    pub fn log(&self) -> String {
        (1..=self.starts.get())
            .map(|start| {
                let text = std::fs::read_to_string(self.dir().join(format!("daemon-{start}.log")))
                    .unwrap_or_default();
                format!("--- daemon start {start} ---\n{text}")
            })
            .collect()
    }

    pub fn store(&self) -> Store {
        Store::open(&self.folder.db(), &patdesk::clock::Clock::system()).expect("store")
    }

    /// patdesk's id of the request GitHub knows as `github_id`, once the sync recorded it.
    pub fn request_id(&self, github_id: i64) -> Option<i64> {
        self.store()
            .connection()
            .query_row(
                "SELECT id FROM requests WHERE github_request_id = ?1",
                [github_id],
                |row| row.get(0),
            )
            .ok()
    }

    /// Runs `patdesk ARGS --config CONFIG` as the team member `login`'s OS account (through the
    /// running daemon).
    pub fn patdesk_as(&self, login: &str, args: &[&str]) -> std::process::Output {
        super::control::patdesk_as(super::control::os_user_of(login), &self.config, args)
    }

    /// Runs `patdesk ARGS --config CONFIG` as root and returns its output.
    pub fn patdesk(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_patdesk"))
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("run patdesk")
    }
}

/// Sends `signal` (`TERM`, `HUP`, …) to the daemon.
pub fn signal(daemon: &KillOnDrop, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &daemon.id().to_string()])
        .status();
}

/// Sends SIGTERM and waits for the daemon to stop.
pub fn stop(daemon: &mut KillOnDrop) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    daemon.wait().expect("the daemon stops")
}

fn org_state(pending: &[Value]) -> Value {
    json!({
        "pending": pending,
        "repositories": repositories_for(pending, "acme-corp"),
        "verified_emails": {},
    })
}

fn private(path: &Path, contents: &[u8]) {
    std::fs::write(path, contents).expect("write secret");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// Polls `check` every 200 ms until it gives a value or `seconds` pass.
pub fn wait_for<T>(seconds: u64, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
