//! `patdesk export`: the records sheet, every request with its decision and the audit event
//! behind it, as CSV for a spreadsheet or as typed JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::records::scope_of;
use super::{Context, Failure};
use crate::control::protocol::Request;
use crate::store::ExportRow;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// Write here instead of standard output
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The records sheet's columns, as the runbook's spreadsheet kept them.
const SHEET_COLUMNS: &[&str] = &[
    "id",
    "org",
    "token_name",
    "purpose",
    "scope_of_access",
    "permissions",
    "date_of_creation",
    "owner",
    "risk",
    "risks",
    "approver",
    "status",
    "decided_at",
    "decision_reason",
    "revoked_at",
    "revoked_why",
    "event_seq",
    "event_hash",
];

/// One cell of the records sheet, typed: the CSV writes each as text, the JSON as what it is.
enum Cell {
    /// A request's id: `PAT-12` in the sheet, `12` in JSON.
    Id(i64),
    Text(String),
    Number(i64),
    /// Several values: comma-separated in the sheet, a list in JSON.
    List(Vec<String>),
    /// Nothing there: an empty cell, `null` in JSON.
    Absent,
}

impl Cell {
    fn maybe(text: Option<&str>) -> Cell {
        text.filter(|text| !text.is_empty())
            .map_or(Cell::Absent, |text| Cell::Text(text.to_string()))
    }

    fn csv(&self) -> String {
        match self {
            Cell::Id(id) => format!("PAT-{id}"),
            Cell::Text(text) => text.clone(),
            Cell::Number(number) => number.to_string(),
            Cell::List(items) => items.join(", "),
            Cell::Absent => String::new(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Cell::Id(number) | Cell::Number(number) => serde_json::Value::from(*number),
            Cell::Text(text) => serde_json::Value::from(text.as_str()),
            Cell::List(items) => serde_json::Value::from(items.clone()),
            Cell::Absent => serde_json::Value::Null,
        }
    }
}

fn sheet_row(row: &ExportRow) -> Vec<Cell> {
    let record = &row.record;
    let request = &record.request;
    let findings: Vec<String> = record
        .findings
        .iter()
        .map(|finding| finding.code.clone())
        .collect();
    let revoked_why = match (&record.revoke_reason, &record.revoke_note) {
        (Some(reason), Some(note)) => Cell::Text(format!("{reason}: {note}")),
        (Some(reason), None) => Cell::Text(reason.clone()),
        _ => Cell::Absent,
    };
    vec![
        Cell::Id(record.id),
        Cell::Text(request.org.clone()),
        Cell::maybe(request.token_name.as_deref()),
        Cell::maybe(
            request
                .purpose
                .as_deref()
                .or(request.github_reason.as_deref()),
        ),
        Cell::Text(scope_of(record)),
        Cell::Text(request.permissions.summary()),
        Cell::Text(request.requested_at.to_string()),
        Cell::Text(request.owner_login.clone()),
        Cell::Text(record.risk.as_str().to_string()),
        Cell::List(findings),
        Cell::maybe(record.decided_by.as_deref()),
        Cell::Text(record.state.to_string()),
        Cell::maybe(record.decided_at.as_deref()),
        Cell::maybe(record.decision_reason.as_deref()),
        Cell::maybe(record.revoked_at.as_deref()),
        revoked_why,
        row.event_seq.map_or(Cell::Absent, Cell::Number),
        Cell::maybe(row.event_hash.as_deref()),
    ]
}

/// A spreadsheet runs a cell starting with = + - @ (or a tab or carriage return that hides
/// one) as a formula. A leading apostrophe makes it text, as OWASP recommends.
pub fn neutralise_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

pub fn export(context: &Context, args: &ExportArgs) -> Result<(), Failure> {
    let rows: Vec<ExportRow> = context.ask_for(Request::Export)?;
    let mut output: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // `--json` asks every command for JSON; here it picks the format.
    let format = if context.json {
        ExportFormat::Json
    } else {
        args.format
    };
    match format {
        ExportFormat::Json => {
            let sheet: Vec<serde_json::Map<String, serde_json::Value>> = rows
                .iter()
                .map(|row| {
                    SHEET_COLUMNS
                        .iter()
                        .zip(sheet_row(row))
                        .map(|(column, cell)| (column.to_string(), cell.json()))
                        .collect()
                })
                .collect();
            serde_json::to_writer(&mut output, &sheet).context("cannot write the export")?;
            writeln!(output).context("cannot write the export")?;
        }
        ExportFormat::Csv => {
            // RFC 4180: CRLF line ends, quotes where needed; UTF-8 with a byte-order mark so
            // spreadsheet programs do not guess another charset.
            output
                .write_all("\u{feff}".as_bytes())
                .context("cannot write the export")?;
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(&mut output);
            writer
                .write_record(SHEET_COLUMNS)
                .context("cannot write the export")?;
            for row in &rows {
                let cells = sheet_row(row);
                writer
                    .write_record(
                        cells
                            .iter()
                            .map(|cell| neutralise_formula(&cell.csv()).into_owned()),
                    )
                    .context("cannot write the export")?;
            }
            writer.flush().context("cannot write the export")?;
        }
    }
    output.flush().context("cannot write the export")?;
    if let Some(path) = &args.out {
        eprintln!("wrote {} request(s) to {}", rows.len(), path.display());
    }
    Ok(())
}
