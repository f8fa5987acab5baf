//! `patdesk parse FILE`: what patdesk reads from one mail.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::Failure;
use crate::config::Config;
use crate::mail::{Analysis, analyze};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// The raw mail (RFC 5322, as an .eml file), or - to read standard input
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Trust Authentication-Results headers from this authserv-id (repeatable; added to the
    /// config's mail.trusted_authserv_ids)
    #[arg(long = "trusted-authserv-id", value_name = "ID")]
    trusted_authserv_ids: Vec<String>,
}

pub fn run(args: &ParseArgs, config: Option<&Config>, json: bool) -> Result<(), Failure> {
    let raw = read_input(&args.file)?;
    let mut policy = config.map(|config| config.mail.clone()).unwrap_or_default();
    policy
        .trusted_authserv_ids
        .extend(args.trusted_authserv_ids.iter().cloned());

    let analysis = analyze(&raw, &policy);
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &analysis).context("cannot write JSON")?;
        writeln!(out).context("cannot write to standard output")?;
    } else {
        // The summary quotes the mail: shown, not obeyed.
        write!(out, "{}", crate::shown::block(&summary(&analysis)))
            .context("cannot write to standard output")?;
    }
    Ok(())
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, Failure> {
    let mut raw = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("cannot read the mail from standard input")?;
    } else {
        raw = std::fs::read(file)
            .with_context(|| format!("cannot read mail file {}", file.display()))?;
    }
    Ok(raw)
}

/// The readable form: one labelled line per field that says something.
fn summary(analysis: &Analysis) -> String {
    let mut lines: Vec<(&str, String)> = vec![("kind", analysis.kind.as_str().to_string())];
    let mut field = |label, value: Option<String>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            lines.push((label, value));
        }
    };
    let list = |values: &[String]| (!values.is_empty()).then(|| values.join(", "));
    field("message-id", analysis.message_id.clone());
    field("from", analysis.from.clone());
    field("subject", analysis.subject.clone());
    field(
        "authenticity",
        Some(format!("{:?}", analysis.authenticity).to_lowercase()),
    );
    field("org login", analysis.org_login.clone());
    field("org name", analysis.org_name.clone());
    field("review url", analysis.review_url.clone());
    field("tokens", list(&analysis.token_names));
    field(
        "expires in",
        analysis
            .expires_in_days
            .map(|days| format!("{days} day(s)")),
    );
    field(
        "decision",
        analysis.decision.map(|d| format!("{d:?}").to_lowercase()),
    );
    field("decision reason", analysis.decision_reason.clone());
    field("in reply to", analysis.in_reply_to.clone());
    field("references", list(&analysis.references));
    field("automatic", analysis.automatic_reason.clone());
    field("failed recipients", list(&analysis.failed_recipients));
    field("bounced message", analysis.original_message_id.clone());
    if analysis.body_skipped {
        field(
            "note",
            Some("over the size cap: only the headers were read".to_string()),
        );
    }

    let width = lines
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (label, value) in lines {
        out.push_str(&format!("{label:width$}  {value}\n"));
    }
    if let Some(reply) = &analysis.reply_text {
        out.push_str("reply text:\n");
        for line in reply.lines() {
            out.push_str(format!("  | {line}").trim_end());
            out.push('\n');
        }
    }
    out
}
