//! `patdesk sync`: asks the daemon to read every configured org (or one) from GitHub now and
//! carry queued decisions back. The daemon does the same on a timer; this runs it now.

use anyhow::anyhow;
use clap::Args;

use super::{Context, Failure, exit, say};
use crate::config::ConfigError;
use crate::control::protocol::Request;
use crate::github::GithubClient;
use crate::sync::{SyncOptions, round};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this organisation (one of github.orgs)
    #[arg(long, value_name = "LOGIN")]
    org: Option<String>,
}

pub fn run(context: &Context, args: SyncArgs) -> Result<(), Failure> {
    let answer = if context.break_glass {
        here(context, &args)?
    } else {
        context.ask(Request::Sync { org: args.org })?
    };
    print_round(context, answer)
}

/// Prints a round's answer (its lines, or the rest as JSON) and fails when a part did.
fn print_round(context: &Context, mut answer: serde_json::Value) -> Result<(), Failure> {
    let lines = answer
        .as_object_mut()
        .and_then(|fields| fields.remove("lines"))
        .unwrap_or_default();
    if context.json {
        out!("{answer}");
    } else {
        for line in lines.as_array().into_iter().flatten() {
            say(&format!("{}\n", line.as_str().unwrap_or_default()));
        }
    }
    let errors: Vec<&str> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|error| error.as_str())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure {
            code: exit::FAILURE,
            error: anyhow!("sync failed for {}", errors.join("; ")),
        })
    }
}

/// `sync --break-glass`: root, with the daemon stopped (its lock held), syncs in this process.
fn here(context: &Context, args: &SyncArgs) -> Result<serde_json::Value, Failure> {
    let _lock = context.take_the_daemons_place()?;
    let config = context.config()?;
    let mut store = crate::store::Store::open_existing(&config.store.path, &context.clock)?
        .keyed(crate::daemon::chain_key(config)?);
    let github = config.github.as_ref().ok_or_else(|| Failure {
        code: exit::CONFIG,
        error: anyhow!(
            "github is not configured: add a [github] section (patdesk.example.toml shows one)"
        ),
    })?;
    let key = github
        .private_key
        .read()
        .map_err(|problem| ConfigError::Invalid {
            path: config.source.clone(),
            problems: vec![problem],
        })?;
    let orgs: Vec<String> = match &args.org {
        Some(org) => {
            let configured: Vec<String> = github.orgs.iter().map(|org| org.login.clone()).collect();
            crate::config::check_org(&configured, org).map_err(|why| Failure {
                code: exit::USAGE,
                error: anyhow!(why),
            })?;
            vec![org.clone()]
        }
        None => github.orgs.iter().map(|org| org.login.clone()).collect(),
    };
    let options = SyncOptions::from_config(config, github).map_err(|error| Failure {
        code: exit::CONFIG,
        error: anyhow!(error),
    })?;
    let client =
        GithubClient::for_config(github, &key, context.clock.clone()).map_err(|error| Failure {
            code: exit::CONFIG,
            error: error.into(),
        })?;

    let deciders = crate::sync::Deciders::of(config).map_err(|error| Failure {
        code: exit::CONFIG,
        error: anyhow!(error),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| anyhow!("cannot start the async runtime: {error}"))?;
    let orgs = orgs.iter().map(String::as_str);
    let round = runtime.block_on(round(&client, &mut store, orgs, &options, &deciders));
    Ok(round.answer())
}
