//! `patdesk audit verify`, `patdesk audit head`, and `patdesk watch`, which follows the log.

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;

use super::{Context, Failure, exit};
use crate::control::protocol::Request;
use crate::shown;
use crate::store::{Audit, ChainHead, EventRecord};

/// How often `watch` asks the daemon for new events.
const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// Events asked for at once; a long backlog comes in several rounds.
const WATCH_BATCH: u32 = 500;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Start after this event (its SEQ) instead of now: what happened since, then what happens
    #[arg(long, value_name = "SEQ")]
    from: Option<i64>,
}

/// Prints each new event, one line each (`--json`: one object each), until Ctrl-C.
pub fn watch(context: &Context, args: &WatchArgs) -> Result<(), Failure> {
    let mut after = match args.from {
        Some(seq) => seq,
        None => context
            .ask_for::<Option<ChainHead>>(Request::AuditHead)?
            .map_or(0, |head| head.seq),
    };
    // On standard error, so the events alone are on standard output (for `--json` readers).
    eprintln!("patdesk: watching the audit log after event {after}; Ctrl-C to stop");
    loop {
        let events: Vec<EventRecord> = context.ask_for(Request::EventsAfter {
            seq: after,
            limit: WATCH_BATCH,
        })?;
        for event in &events {
            if context.json {
                out!("{}", serde_json::to_string(event).unwrap_or_default());
            } else {
                out!("{}", watch_line(event));
            }
        }
        match events.last() {
            Some(last) => after = last.seq,
            None => std::thread::sleep(WATCH_INTERVAL),
        }
    }
}

/// "SEQ AT ACTOR KIND PAT-n detail", the detail (outside text among it) on the same line.
fn watch_line(event: &EventRecord) -> String {
    let request = event
        .request_id
        .map_or_else(|| "-".to_string(), |id| format!("PAT-{id}"));
    shown::line(&format!(
        "{} {} {} {} {} {}",
        event.seq, event.at, event.actor, event.kind, request, event.detail
    ))
    .into_owned()
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit log, recomputing every hash, and check every request's state and
    /// every GitHub push against it; name what is broken
    Verify {
        /// A head recorded earlier (SEQ:HASH from `audit head`): it must still be in the log
        #[arg(long, value_name = "SEQ:HASH", value_parser = |text: &str| text.parse::<ChainHead>())]
        head: Option<ChainHead>,
    },
    /// Print the newest event's number and hash (SEQ:HASH), to record somewhere else
    Head,
}

pub fn run(context: &Context, command: &AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Head => {
            let head: Option<ChainHead> = context.ask_for(Request::AuditHead)?;
            if context.json {
                out!("{}", json!({ "head": head }));
            } else {
                match head {
                    Some(head) => out!("{head}"),
                    None => out!("the audit log is empty"),
                }
            }
            Ok(())
        }
        AuditCommand::Verify { head } => {
            let audit: Audit = context.ask_for(Request::AuditVerify { head: head.clone() })?;
            if context.json {
                out!("{}", serde_json::to_string(&audit).unwrap_or_default());
            }
            if audit.intact() {
                if !context.json {
                    let head = audit
                        .chain
                        .head
                        .as_ref()
                        .map_or_else(|| "none".to_string(), ToString::to_string);
                    let macs = match (audit.chain.macs_checked, audit.chain.keyed_from) {
                        (true, Some(from)) => {
                            format!("every event from {from} carries patdesk's MAC")
                        }
                        (true, None) => "no event carries a MAC yet".to_string(),
                        (false, _) => {
                            "MACs not checked: the daemon's config has no [signing] key".to_string()
                        }
                    };
                    out!(
                        "audit log intact: {} event(s), head {head}; {macs}; every request and push agrees with it",
                        audit.chain.events
                    );
                }
                return Ok(());
            }
            let mut problems = Vec::new();
            if let Some(broken) = &audit.chain.first_break {
                problems.push(format!(
                    "audit log broken at event {}: {}",
                    broken.seq, broken.problem
                ));
            }
            problems.extend(
                audit
                    .mismatches
                    .iter()
                    .map(|mismatch| mismatch.problem.clone()),
            );
            Err(Failure {
                code: exit::AUDIT_BROKEN,
                error: anyhow!("{}", problems.join("; ")),
            })
        }
    }
}
