//! `patdesk backup --out FILE`: an online copy of the database, audited. It reads the database
//! file itself (not through the daemon, which may not write where the admin wants the copy),
//! so it runs as root or as the service's user; the daemon keeps running meanwhile.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use serde_json::json;

use super::{Context, Failure, exit, say};

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The copy to write: a new file (an existing one is never overwritten)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(context: &Context, args: &BackupArgs) -> Result<(), Failure> {
    let audit = crate::store::backup(&context.config()?.store.path, &args.out, &context.clock)?;
    let head = audit.chain.head.as_ref();
    if context.json {
        say(&format!(
            "{}\n",
            json!({ "out": args.out, "intact": audit.intact(), "audit": audit })
        ));
    } else if audit.intact() {
        say(&format!(
            "backed up to {}: {} event(s), head {}; the copy's audit log is intact\n",
            args.out.display(),
            audit.chain.events,
            head.map_or_else(|| "none".to_string(), ToString::to_string)
        ));
    }
    if audit.intact() {
        Ok(())
    } else {
        Err(Failure {
            code: exit::AUDIT_BROKEN,
            error: anyhow!(
                "the copy at {} does not pass the audit (run `patdesk audit verify` on the database): {}",
                args.out.display(),
                audit
                    .chain
                    .first_break
                    .as_ref()
                    .map(|broken| format!("broken at event {}: {}", broken.seq, broken.problem))
                    .into_iter()
                    .chain(audit.mismatches.iter().map(|m| m.problem.clone()))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        })
    }
}
