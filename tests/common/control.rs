//! A `patdesk run` serving a config's control socket, and the CLI run as the test engineers:
//! every command goes through the daemon, which knows the caller by their uid.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::KillOnDrop;
use super::users::{ALICE, BOB, MALLORY, command_as, let_through, os_user, patdesk_binary};

/// The daemon of one config, with its log beside the config.
pub struct Daemon {
    pub process: KillOnDrop,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `patdesk run --config CONFIG` and waits until its socket answers (the config's
    /// `control.socket`, `control.sock` beside it in the tests).
    pub fn start(config: &Path) -> Daemon {
        for user in [ALICE, BOB, MALLORY] {
            os_user(user);
        }
        let dir = config.parent().expect("config folder");
        let_through(dir);
        let log = dir.join(format!("daemon-{}.log", super::unique_suffix()));
        let mut process = KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_patdesk"))
                .args(["run", "--log-format", "text", "--config"])
                .arg(config)
                .env_remove("PATDESK_CONFIG")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"))
                .spawn()
                .expect("start the daemon"),
        );
        let socket = dir.join("control.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if let Ok(Some(status)) = process.try_wait() {
                panic!(
                    "the daemon exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no control socket after 30 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Daemon { process, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Writes `name` in `dir`: a config with the store `patdesk.db` beside it, the test team and
/// the control socket, and nothing else (a daemon of it serves the records only).
pub fn records_only_config(dir: &Path, name: &str) -> PathBuf {
    let config = dir.join(name);
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"patdesk.db\"\n{}",
            super::users::team_and_control()
        ),
    )
    .expect("config");
    config
}

/// Runs `patdesk ARGS --config CONFIG` as the OS user `user`.
pub fn patdesk_as(user: &'static str, config: &Path, args: &[&str]) -> Output {
    patdesk_as_in(user, config, args, None)
}

/// Runs `patdesk ARGS --config CONFIG` as the OS user `user`, its tables fitted to `columns`
/// (as a terminal of that width would); with none, a test reads them whole whatever its own
/// environment says.
pub fn patdesk_as_in(
    user: &'static str,
    config: &Path,
    args: &[&str],
    columns: Option<usize>,
) -> Output {
    let mut command = command_as(os_user(user), patdesk_binary());
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("PATDESK_CONFIG");
    match columns {
        Some(columns) => command.env("COLUMNS", columns.to_string()),
        None => command.env_remove("COLUMNS"),
    };
    command.output().expect("patdesk runs")
}

/// The OS user of a test's member login (`alice`, `bob`), or a stranger's.
pub fn os_user_of(login: &str) -> &'static str {
    match login {
        "alice" => ALICE,
        "bob" => BOB,
        _ => MALLORY,
    }
}
