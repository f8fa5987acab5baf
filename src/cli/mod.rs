//! The `patdesk` command line: argument definitions, dispatch and exit codes. Each command's
//! work lives in its own module; none of them holds business rules.

mod check_config;
mod parse;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

use crate::config::{Config, ConfigError, DEFAULT_CONFIG_PATH};

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    /// The command could not do its work (an unreadable file, say).
    pub const FAILURE: u8 = 1;
    /// The command line itself was wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The config file is missing, unreadable or invalid.
    pub const CONFIG: u8 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "patdesk",
    version,
    about = "Reviews GitHub fine-grained personal access token requests from the team mailbox",
    max_term_width = 100
)]
pub struct Cli {
    /// Config file [default: /etc/patdesk/patdesk.toml]
    #[arg(long, global = true, env = "PATDESK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Classify one mail (an .eml file, or - for standard input) and show what patdesk reads from it
    Parse(parse::ParseArgs),
    /// Validate the config file and read every secret it names, without showing them
    CheckConfig,
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

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Failure::runtime(error)
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Help and --version are "errors" to clap too; it knows their exit code (0).
            let _ = error.print();
            if error.kind() == ErrorKind::InvalidSubcommand {
                let commands: Vec<String> = Cli::command()
                    .get_subcommands()
                    .map(|command| command.get_name().to_string())
                    .collect();
                eprintln!("\nThe commands are: {}", commands.join(", "));
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(exit::USAGE));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("patdesk: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Parse(args) => {
            // `parse` is a tool for looking at mail: it reads a config only when told to.
            let config = cli.config.as_deref().map(Config::load).transpose()?;
            parse::run(&args, config.as_ref())
        }
        Command::CheckConfig => {
            let path = cli
                .config
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_PATH));
            check_config::run(&path)
        }
    }
}
