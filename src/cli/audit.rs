//! `patdesk audit verify` and `patdesk audit head`.

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;

use super::{Context, Failure, exit};
use crate::control::protocol::Request;
use crate::store::{Audit, ChainHead};

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
                    out!(
                        "audit log intact: {} event(s), head {head}; every request and push agrees with it",
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
