//! `patdesk audit verify` and `patdesk audit head`.

use anyhow::anyhow;
use clap::Subcommand;
use serde_json::json;

use super::{Context, Failure, exit};
use crate::store::ChainHead;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit log, recomputing every hash; name the first broken event
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
            let head = context.store.chain_head()?;
            if context.json {
                println!("{}", json!({ "head": head }));
            } else {
                match head {
                    Some(head) => println!("{head}"),
                    None => println!("the audit log is empty"),
                }
            }
            Ok(())
        }
        AuditCommand::Verify { head } => {
            let verification = context.store.verify_chain(head.as_ref())?;
            if context.json {
                println!(
                    "{}",
                    serde_json::to_string(&verification).unwrap_or_default()
                );
            }
            match &verification.first_break {
                None => {
                    if !context.json {
                        let head = verification
                            .head
                            .as_ref()
                            .map_or_else(|| "none".to_string(), ToString::to_string);
                        println!(
                            "audit log intact: {} event(s), head {head}",
                            verification.events
                        );
                    }
                    Ok(())
                }
                Some(broken) => Err(Failure {
                    code: exit::AUDIT_BROKEN,
                    error: anyhow!(
                        "audit log broken at event {}: {}",
                        broken.seq,
                        broken.problem
                    ),
                }),
            }
        }
    }
}
