//! `patdesk outbox list` and `patdesk outbox resend`: the mail that has not certainly gone,
//! and sending again what a person checked did not arrive. The daemon never resends mail that
//! may have gone by itself; this is how a person decides it.

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;

use super::records::{or_dash, print_json};
use super::table::Table;
use super::{Context, Failure, exit};
use crate::lifecycle::{Actor, team_member};
use crate::store::Resend;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Mail not yet sent: queued, being sent, uncertain (may have gone) or failed
    List,
    /// Send an uncertain or failed mail again, with the same bytes and Message-ID
    Resend {
        /// The outbox mail's id, as `outbox list` shows it
        #[arg(value_name = "MAIL")]
        id: i64,
        /// Your GitHub login; you must be in the config's team.members
        #[arg(long, value_name = "LOGIN")]
        by: String,
    },
}

pub fn run(context: &mut Context, command: &OutboxCommand) -> Result<(), Failure> {
    match command {
        OutboxCommand::List => list(context),
        OutboxCommand::Resend { id, by } => resend(context, *id, by),
    }
}

fn list(context: &Context) -> Result<(), Failure> {
    let mails = context.store.mail_not_sent()?;
    if context.json {
        return print_json(&mails);
    }
    if mails.is_empty() {
        println!("nothing waiting: every mail has gone");
        return Ok(());
    }
    let mut table = Table::new(&[
        "MAIL",
        "REQUEST",
        "KIND",
        "TO",
        "STATE",
        "TRIES",
        "SINCE",
        "LAST ERROR",
    ]);
    for mail in &mails {
        table.row(vec![
            mail.id.to_string(),
            mail.request_id
                .map_or_else(|| "-".to_string(), |id| format!("PAT-{id}")),
            mail.kind.clone(),
            mail.recipient.clone(),
            mail.state.clone(),
            mail.attempts.to_string(),
            mail.updated_at.clone(),
            or_dash(mail.last_error.as_deref()),
        ]);
    }
    print!("{}", table.render());
    Ok(())
}

fn resend(context: &mut Context, id: i64, by: &str) -> Result<(), Failure> {
    let team = context.config.team.members.clone();
    team_member(&Actor {
        login: by,
        team: &team,
    })?;
    let tx = context.store.transaction()?;
    let outcome = tx.resend_mail(id, by)?;
    tx.commit()?;
    match outcome {
        Resend::Queued { was } => {
            if context.json {
                println!(
                    "{}",
                    json!({ "mail": id, "was": was, "state": "queued", "by": by })
                );
            } else {
                println!(
                    "Mail {id} ({was}) is queued again (by {by}); the daemon sends it with the \
                     same bytes and Message-ID."
                );
            }
            Ok(())
        }
        Resend::Refused { state } => Err(Failure {
            code: exit::REFUSED,
            error: anyhow!(
                "refused: mail {id} is {state}; only uncertain or failed mail is sent again"
            ),
        }),
    }
}
