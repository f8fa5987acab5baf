//! `patdesk outbox list` and `patdesk outbox resend`: the mail that has not certainly gone,
//! and sending again what a person checked did not arrive. The daemon never resends mail that
//! may have gone by itself; this is how a person decides it.

use clap::Subcommand;
use serde_json::json;

use super::output::{or_dash, print_json};
use super::table::Table;
use super::{Context, Failure, say};
use crate::control::protocol::Request;
use crate::decide::Resent;
use crate::store::OutboxMail;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Mail not yet sent: queued, being sent, uncertain (may have gone) or failed
    List {
        /// Exact times in UTC instead of "3 h ago"
        #[arg(long)]
        utc: bool,
    },
    /// Send an uncertain or failed mail again, with the same bytes and Message-ID
    Resend {
        /// The outbox mail's id, as `outbox list` shows it
        #[arg(value_name = "MAIL")]
        id: i64,
    },
}

pub fn run(context: &Context, command: OutboxCommand) -> Result<(), Failure> {
    match command {
        OutboxCommand::List { utc } => list(context, utc),
        OutboxCommand::Resend { id } => resend(context, id),
    }
}

fn list(context: &Context, utc: bool) -> Result<(), Failure> {
    let mails: Vec<OutboxMail> =
        context.ask_all(|_, last: Option<&OutboxMail>| Request::OutboxList {
            after: last.map_or(0, |mail| mail.id),
        })?;
    if context.json {
        return print_json(&mails);
    }
    if mails.is_empty() {
        out!("nothing waiting: every mail has gone");
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
    let now = context.clock.now();
    for mail in &mails {
        table.row(vec![
            mail.id.to_string(),
            mail.request_id
                .map_or_else(|| "-".to_string(), |id| format!("PAT-{id}")),
            mail.kind.to_string(),
            mail.recipient.clone(),
            mail.state.to_string(),
            mail.attempts.to_string(),
            super::when::shown(mail.updated_at, utc, now),
            or_dash(mail.last_error.as_deref()),
        ]);
    }
    say(&table.render());
    Ok(())
}

fn resend(context: &Context, id: i64) -> Result<(), Failure> {
    let resent: Resent = context.ask_for(Request::Resend { mail: id })?;
    if context.json {
        out!(
            "{}",
            json!({ "mail": id, "was": resent.was, "state": "queued", "by": resent.by })
        );
    } else {
        say(&format!(
            "Mail {id} ({}) is queued again (by {}); the daemon sends it with the \
             same bytes and Message-ID.\n",
            resent.was, resent.by
        ));
    }
    Ok(())
}
