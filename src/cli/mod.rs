//! The `patdesk` command line: argument definitions, dispatch and exit codes. Each command's
//! work lives in its own module; none of them holds business rules.

/// `println!` for a command's output, through [`emit`]: a reader that went away
/// (`patdesk list | head -1`) ends the command quietly.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::emit(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod audit;
mod backup;
mod check_config;
mod decide;
mod export;
mod manual;
mod outbox;
mod output;
mod parse;
mod policy;
mod records;
mod status;
mod sync;
mod table;
mod when;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};
use crate::control::client::ClientError;
use crate::control::protocol::{ErrorKind as Refused, Reply, Request};
use crate::lifecycle::Member;
use crate::shown;
use crate::store::StoreError;

/// Exit codes, documented in docs/operations.md and the man page.
pub mod exit {
    pub const OK: u8 = 0;
    /// The command could not do its work (an unreadable file, say).
    pub const FAILURE: u8 = 1;
    /// The command line itself was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The config file is missing, unreadable or invalid.
    pub const CONFIG: u8 = 3;
    /// No request (or outbox mail) with that id.
    pub const NOT_FOUND: u8 = 4;
    /// Refused: wrong state (of a request, or of mail to resend), not a team member, or the
    /// token's owner.
    pub const REFUSED: u8 = 5;
    /// `audit verify` found the audit log broken.
    pub const AUDIT_BROKEN: u8 = 6;
    /// `status`: the daemon is not running, or intake or a sync has been failing too long.
    pub const UNHEALTHY: u8 = 7;
    /// The daemon is not running (or its socket cannot be reached): commands go through it.
    pub const NO_DAEMON: u8 = 8;
}

/// The heading under which every command's `--help` lists the options all commands take,
/// apart from the command's own.
const GLOBAL: &str = "Global options";

#[derive(Debug, Parser)]
#[command(
    name = "patdesk",
    version,
    about = "Reviews GitHub fine-grained personal access token requests from the team mailbox",
    max_term_width = 100
)]
pub struct Cli {
    /// Config file [default: /etc/patdesk/patdesk.toml]
    #[arg(long, global = true, env = "PATDESK_CONFIG", value_name = "FILE", help_heading = GLOBAL)]
    config: Option<PathBuf>,

    /// Print JSON instead of the readable form
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,

    /// root only, with the daemon stopped: open the database directly instead of asking the
    /// daemon; changes are recorded as break-glass:root
    #[arg(long, global = true, help_heading = GLOBAL)]
    break_glass: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Classify one mail (an .eml file, or - for standard input) and show what patdesk reads from it
    Parse(parse::ParseArgs),
    /// Validate the config file and read every secret it names, without showing them
    CheckConfig(check_config::CheckConfigArgs),
    /// Read a policy file (Rego) and run it on requests, the floor beneath it included
    Policy(policy::PolicyArgs),
    /// List requests, newest first
    List(records::ListArgs),
    /// Show a request: its record, findings, conversation, GitHub actions and audit events
    Show(records::ShowArgs),
    /// Approve a request (a team member other than the token's owner)
    Approve(decide::ApproveArgs),
    /// Deny a request; the reason is sent to the requester and to GitHub
    Deny(decide::DenyArgs),
    /// Revoke an approved token
    Revoke(decide::RevokeArgs),
    /// Add a note to a request's record
    Note(decide::NoteArgs),
    /// Record a purpose given another way (Slack, a call), and review the request again
    Purpose(decide::PurposeArgs),
    /// Give the address of a requester patdesk could not find, and ask them for the purpose
    Contact(decide::ContactArgs),
    /// Run the service: mail intake, GitHub sync, the outbox and alerts, until SIGTERM or Ctrl-C (SIGHUP reloads)
    Run(RunArgs),
    /// Read every configured organisation from GitHub now, and carry queued decisions back
    Sync(sync::SyncArgs),
    /// Write the records sheet: every request, its decision, and the audit event behind it
    Export(export::ExportArgs),
    /// List mail that could not be tied to a request, for a person to look at; accept an unverified answer
    Triage(records::TriageArgs),
    /// How the service is doing: each part's health, queues, triage, breaker, audit head (exit 7 when unhealthy)
    Status,
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to standard output
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to standard output, which the package installs as patdesk(1)
    Man,
    /// Copy the database while the service runs (as root or the service's user), and audit the copy
    Backup(backup::BackupArgs),
    /// Check or record the tamper-evident audit log
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Print audit events as they happen, like `journalctl -f` (Ctrl-C stops)
    Watch(audit::WatchArgs),
    /// See mail not yet sent, and send again what did not arrive
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// How to log: the journal when systemd runs patdesk (auto), readable lines, or JSON lines
    #[arg(long, value_enum, default_value = "auto", env = "PATDESK_LOG_FORMAT")]
    log_format: crate::daemon::LogFormat,
}

/// A command's failure, with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    fn runtime(error: anyhow::Error) -> Self {
        Failure {
            code: exit::FAILURE,
            error,
        }
    }
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Failure {
            code: exit::CONFIG,
            error: error.into(),
        }
    }
}

impl Failure {
    /// A config that cannot be used, kept where the command may still go on without it.
    fn from_config(error: &ConfigError) -> Failure {
        Failure {
            code: exit::CONFIG,
            error: anyhow::anyhow!("{error}"),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::runtime(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        let code = match error {
            StoreError::NoSuchRequest(_)
            | StoreError::NoSuchMail(_)
            | StoreError::NoSuchGrant { .. } => exit::NOT_FOUND,
            _ => exit::FAILURE,
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let code = match error {
            ClientError::NotRunning { .. } | ClientError::Denied { .. } => exit::NO_DAEMON,
            ClientError::Broken { .. } => exit::FAILURE,
            ClientError::NotTheDaemon { .. } => exit::REFUSED,
        };
        Failure {
            code,
            error: error.into(),
        }
    }
}

/// The exit code of each way the daemon can refuse a request.
fn exit_code(kind: Refused) -> u8 {
    match kind {
        Refused::Invalid => exit::USAGE,
        Refused::NotFound => exit::NOT_FOUND,
        Refused::Refused => exit::REFUSED,
        Refused::NotConfigured => exit::CONFIG,
        Refused::AuditBroken => exit::AUDIT_BROKEN,
        Refused::Failure | Refused::Version | Refused::Busy => exit::FAILURE,
    }
}

/// What every command that works on the records needs: the daemon's socket, the config (for
/// the commands that act without the daemon) and how to reach the records.
struct Context {
    /// Where the daemon answers: read from the config even when the rest of it is broken, so
    /// that a typo in the file does not lock the team out of a daemon running on the config
    /// it loaded before.
    socket: PathBuf,
    config: Result<Config, ConfigError>,
    /// The system's clock: what relative times are shown against.
    clock: Clock,
    json: bool,
    break_glass: bool,
}

impl Context {
    fn open(
        config_path: Option<PathBuf>,
        clock: Clock,
        json: bool,
        break_glass: bool,
    ) -> Result<Context, Failure> {
        let path = config_path.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
        let config = Config::load(&path);
        let socket = match &config {
            Ok(config) => config.control.socket.clone(),
            // Unreadable: nothing to go on, and the caller may not be who they think.
            Err(error @ ConfigError::Read { .. }) => return Err(Failure::from_config(error)),
            Err(error) => {
                let socket = crate::config::control_socket_despite_errors(&path);
                eprintln!(
                    "patdesk: warning: {error}\npatdesk: going on with only its control socket, {}: a running daemon keeps the config it loaded; `patdesk check-config` checks the file",
                    socket.display()
                );
                socket
            }
        };
        Ok(Context {
            socket,
            config,
            clock,
            json,
            break_glass,
        })
    }

    /// The whole config, for a command that acts without the daemon; a broken file stops it.
    fn config(&self) -> Result<&Config, Failure> {
        self.config.as_ref().map_err(Failure::from_config)
    }

    /// Asks the daemon (or, with --break-glass, the database itself) and returns the answer.
    fn ask(&self, request: Request) -> Result<serde_json::Value, Failure> {
        self.ask_for(request)
    }

    /// `ask`, with the answer read as `T`.
    fn ask_for<T: serde::de::DeserializeOwned>(&self, request: Request) -> Result<T, Failure> {
        let reply = if self.break_glass {
            self.break_glass(request)?
        } else {
            crate::control::client::call(&self.socket, &request)?
        };
        match reply {
            Reply::Done(answer) => serde_json::from_str(answer.get()).map_err(|e| {
                Failure::runtime(anyhow::anyhow!("unexpected answer from the daemon: {e}"))
            }),
            Reply::Failed { error, message } => Err(Failure {
                code: exit_code(error),
                error: anyhow::anyhow!(message),
            }),
        }
    }

    /// Every row of a paged read, a page at a time: `request` makes the request for the page
    /// after the rows so far (how many, and the last of them); `each` takes each page. Returns
    /// how many rows there were.
    fn ask_pages<T: serde::de::DeserializeOwned>(
        &self,
        mut request: impl FnMut(usize, Option<&T>) -> Request,
        mut each: impl FnMut(Vec<T>) -> Result<(), Failure>,
    ) -> Result<usize, Failure> {
        let mut rows = 0;
        let mut asking = request(0, None);
        loop {
            let page_rows = asking.page_rows() as usize;
            let page: Vec<T> = self.ask_for(asking)?;
            rows += page.len();
            let next = (page.len() >= page_rows).then(|| request(rows, page.last()));
            each(page)?;
            match next {
                Some(next) => asking = next,
                None => return Ok(rows),
            }
        }
    }

    /// Every row of a paged read, gathered: for output that needs them all at once.
    fn ask_all<T: serde::de::DeserializeOwned>(
        &self,
        request: impl FnMut(usize, Option<&T>) -> Request,
    ) -> Result<Vec<T>, Failure> {
        let mut all = Vec::new();
        self.ask_pages(request, |page| {
            all.extend(page);
            Ok(())
        })?;
        Ok(all)
    }

    /// The guard of every break-glass command: root only, and the daemon's lock taken (the
    /// daemon is down, and cannot start while the command acts on the database).
    fn take_the_daemons_place(&self) -> Result<crate::daemon::DaemonLock, Failure> {
        if crate::control::peer::effective_uid() != 0 {
            return Err(Failure {
                code: exit::REFUSED,
                error: anyhow::anyhow!("--break-glass is for root, when the daemon is down"),
            });
        }
        crate::daemon::DaemonLock::acquire(&self.config()?.store.path).map_err(|error| Failure {
            code: exit::REFUSED,
            error: anyhow::anyhow!("{error}; --break-glass is only for when the daemon is down: without it, the command goes through the daemon"),
        })
    }

    /// root, with the daemon stopped and kept from starting meanwhile (its lock held), acts on
    /// the database directly; what it changes is recorded as break-glass:root.
    fn break_glass(&self, request: Request) -> Result<Reply, Failure> {
        let _lock = self.take_the_daemons_place()?;
        let member = request.writes().then(Member::break_glass);
        if member.is_some() {
            eprintln!(
                "patdesk: break-glass: acting on the database directly, recorded as {}",
                Member::BREAK_GLASS_ACTOR
            );
        }
        let config = self.config()?;
        let chain_key = crate::daemon::chain_key(config)?;
        Ok(crate::control::answer_directly(
            config,
            &self.clock,
            chain_key,
            request,
            member,
        ))
    }
}

/// Prints readable output (patdesk's words with outside text among them) through
/// [`shown::block`]: nothing a mail or GitHub wrote can act on the terminal. `text` carries
/// its own line ends.
pub(super) fn say(text: &str) {
    emit(&shown::block(text));
}

/// Writes `text` to standard output. When the reader has gone (`patdesk list | head -1`), the
/// command ends quietly with 0, as other Unix tools do: its work is done, and what is left
/// unprinted was not wanted.
pub(crate) fn emit(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(i32::from(exit::OK));
        }
        eprintln!("patdesk: cannot write to standard output: {error}");
        std::process::exit(i32::from(exit::FAILURE));
    }
}

/// Whether `error` comes down to a closed standard output: the reader went away.
fn reader_gone(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

pub fn main() -> ExitCode {
    crate::tls::install_crypto_provider();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = u8::try_from(error.exit_code()).unwrap_or(exit::USAGE);
            let asked_json = std::env::args_os().any(|arg| arg == "--json");
            let is_output = matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            );
            if asked_json && !is_output {
                // A mistyped command line, as one object too.
                let message = error.render().to_string();
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": message.trim_end(), "exit_code": code })
                );
                return ExitCode::from(code);
            }
            // Help and --version are "errors" to clap too; it knows their exit code (0).
            let _ = error.print();
            if error.kind() == ErrorKind::InvalidSubcommand {
                let commands: Vec<String> = Cli::command()
                    .get_subcommands()
                    .map(|command| command.get_name().to_string())
                    .collect();
                eprintln!("\nThe commands are: {}", commands.join(", "));
            }
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) if reader_gone(&failure.error) => ExitCode::from(exit::OK),
        Err(failure) => {
            let message = format!("{:#}", failure.error);
            if json {
                // One object a script can read, JSON-escaped (outside text included).
                eprintln!(
                    "{}",
                    serde_json::json!({ "error": message, "exit_code": failure.code })
                );
            } else {
                // An error may quote GitHub, a token endpoint or a mail.
                eprintln!("patdesk: {}", shown::block(&message));
            }
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let Cli {
        config,
        json,
        break_glass,
        command,
    } = cli;
    // The one clock of a command: the system's.
    let clock = Clock::system();
    let open = || Context::open(config.clone(), clock.clone(), json, break_glass);
    // These print what is not data (a script, a man page, a log), or nothing: --json would be
    // silently ignored, so it is refused.
    let no_json = match &command {
        Command::Completions { .. } => Some("completions (a shell script)"),
        Command::Man => Some("man (a roff page)"),
        Command::Run(_) => Some("run (its log format is --log-format json)"),
        _ => None,
    };
    if let (true, Some(what)) = (json, no_json) {
        return Err(Failure {
            code: exit::USAGE,
            error: anyhow::anyhow!("--json has no meaning for patdesk {what}"),
        });
    }
    match command {
        Command::Parse(args) => {
            // `parse` is a tool for looking at mail: it reads a config only when told to.
            let config = config.as_deref().map(Config::load).transpose()?;
            parse::run(&args, config.as_ref(), json)
        }
        Command::CheckConfig(args) => {
            let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
            check_config::run(&path, &args, &clock, json)
        }
        // A tool for the policy's author: only `backtest` reads records (through the daemon).
        Command::Policy(args) => policy::run(&args, json, open),
        Command::List(args) => records::list(&open()?, &args),
        Command::Show(args) => records::show(&open()?, &args),
        Command::Export(args) => export::export(&open()?, &args),
        Command::Triage(args) => records::triage(&open()?, &args),
        Command::Status => status::run(&open()?),
        Command::Watch(args) => audit::watch(&open()?, &args),
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics on a closed pipe.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "patdesk", &mut script);
            emit(&String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Man => {
            let page = manual::page()
                .map_err(|e| Failure::runtime(anyhow::anyhow!("cannot write the man page: {e}")))?;
            emit(&page);
            Ok(())
        }
        Command::Approve(args) => decide::approve(&open()?, args),
        Command::Deny(args) => decide::deny(&open()?, args),
        Command::Revoke(args) => decide::revoke(&open()?, args),
        Command::Note(args) => decide::note(&open()?, args),
        Command::Purpose(args) => decide::purpose(&open()?, args),
        Command::Audit(command) => audit::run(&open()?, &command),
        Command::Backup(args) => backup::run(&open()?, &args),
        Command::Outbox(command) => outbox::run(&open()?, command),
        Command::Contact(args) => decide::contact(&open()?, args),
        Command::Sync(args) => sync::run(&open()?, args),
        Command::Run(args) => {
            let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
            crate::daemon::init_logging(args.log_format);
            crate::daemon::run(Config::load(&path)?, clock).map_err(Failure::runtime)
        }
    }
}
