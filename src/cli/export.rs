//! `patdesk export`: the records sheet, every request with its decision and the audit event
//! behind it, and every revocation of a token no request accounts for, as CSV for a
//! spreadsheet or as typed JSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::{Context, Failure};
use crate::control::protocol::Request;
use crate::request::RequestState;
use crate::store::{ExportRow, OutsideRevocation, format_time};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    format: ExportFormat,
    /// Write here instead of standard output: a new file, readable by its owner only
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace FILE if it exists (without it, an existing file is never overwritten)
    #[arg(long, requires = "out")]
    force: bool,
}

/// The records sheet's columns, as the runbook's spreadsheet kept them.
const SHEET_COLUMNS: &[&str] = &[
    "id",
    "grant",
    "org",
    "token_name",
    "purpose",
    "purpose_from",
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
    "approved_until",
    "revoked_at",
    "revoked_by",
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

/// Why a token was revoked, with the engineer's note.
fn revoked_why(reason: Option<&str>, note: Option<&str>) -> Cell {
    match (reason, note) {
        (Some(reason), Some(note)) => Cell::Text(format!("{reason}: {note}")),
        (Some(reason), None) => Cell::Text(reason.to_string()),
        _ => Cell::Absent,
    }
}

/// A token approved outside patdesk and revoked by a member: what GitHub's listing said of
/// it, and the revocation's event. No request, so no purpose, review or approver.
fn outside_row(revocation: &OutsideRevocation) -> Vec<Cell> {
    vec![
        Cell::Absent,
        Cell::Number(revocation.grant_id),
        Cell::Text(revocation.org.clone()),
        Cell::maybe(revocation.token_name.as_deref()),
        Cell::Absent,
        Cell::Absent,
        Cell::Absent,
        Cell::Absent,
        Cell::maybe(revocation.access_granted_at.map(format_time).as_deref()),
        Cell::Text(revocation.owner_login.clone()),
        Cell::Absent,
        Cell::List(Vec::new()),
        Cell::Absent,
        Cell::Text(RequestState::Revoked.to_string()),
        Cell::Absent,
        Cell::Absent,
        Cell::Absent,
        Cell::Text(format_time(revocation.revoked_at)),
        Cell::Text(revocation.revoked_by.clone()),
        revoked_why(Some(&revocation.reason), revocation.note.as_deref()),
        Cell::Number(revocation.event_seq),
        Cell::Text(revocation.event_hash.clone()),
    ]
}

fn request_row(row: &ExportRow) -> Vec<Cell> {
    let record = &row.record;
    let request = &record.request;
    let findings: Vec<String> = record
        .findings
        .iter()
        .map(|finding| finding.code.clone())
        .collect();
    let (purpose, purpose_from) = record.purpose_and_source();
    vec![
        Cell::Id(record.id),
        record.grant_id.map_or(Cell::Absent, Cell::Number),
        Cell::Text(request.org.clone()),
        Cell::maybe(request.token_name.as_deref()),
        Cell::maybe(purpose),
        Cell::maybe(purpose_from),
        Cell::Text(record.scope()),
        Cell::Text(request.permissions.summary()),
        Cell::Text(request.requested_at.to_string()),
        Cell::Text(request.owner_login.clone()),
        Cell::Text(record.risk.as_str().to_string()),
        Cell::List(findings),
        Cell::maybe(record.decided_by.as_deref()),
        Cell::Text(record.state.to_string()),
        Cell::maybe(record.decided_at.map(format_time).as_deref()),
        Cell::maybe(record.decision_reason.as_deref()),
        Cell::maybe(record.grant_until.map(format_time).as_deref()),
        Cell::maybe(record.revoked_at.map(format_time).as_deref()),
        Cell::maybe(record.revoked_by.as_deref()),
        revoked_why(
            record.revoke_reason.as_deref(),
            record.revoke_note.as_deref(),
        ),
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

/// `path` opened for the sheet: created readable by its owner only (it holds every decision),
/// and an existing file refused unless `force` says to replace it: a mistyped path must not
/// overwrite the daemon's config or a backup.
fn new_file(path: &std::path::Path, force: bool) -> Result<std::fs::File, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options.open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists => Failure {
            code: super::exit::FAILURE,
            error: anyhow::anyhow!(
                "{} exists: export writes a new file (--force replaces it)",
                path.display()
            ),
        },
        _ => Failure::from(
            anyhow::Error::new(error).context(format!("cannot create {}", path.display())),
        ),
    })
}

/// Writes the sheet a page of rows at a time, as the daemon answers them: the requests by
/// id, then the revocations of tokens no request accounts for, oldest first.
pub fn export(context: &Context, args: &ExportArgs) -> Result<(), Failure> {
    let output: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(new_file(path, args.force)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // `--json` asks every command for JSON; here it picks the format.
    let format = if context.json {
        ExportFormat::Json
    } else {
        args.format
    };
    let mut sheet = SheetWriter::start(output, format)?;
    let requests = context.ask_pages(
        |_, last: Option<&ExportRow>| Request::Export {
            after: last.map_or(0, |row| row.record.id),
        },
        |page| page.iter().try_for_each(|row| sheet.row(&request_row(row))),
    )?;
    let outside = context.ask_pages(
        |_, last: Option<&OutsideRevocation>| Request::OutsideRevocations {
            after: last.map_or(0, |revocation| revocation.event_seq),
        },
        |page| {
            page.iter()
                .try_for_each(|revocation| sheet.row(&outside_row(revocation)))
        },
    )?;
    sheet.finish()?;
    if let Some(path) = &args.out {
        let outside = match outside {
            0 => String::new(),
            count => format!(" and {count} revoked token(s) no request accounted for"),
        };
        eprintln!("wrote {requests} request(s){outside} to {}", path.display());
    }
    Ok(())
}

/// The sheet as it is written, a row at a time.
enum SheetWriter {
    Json { output: Box<dyn Write>, rows: usize },
    Csv(Box<csv::Writer<Box<dyn Write>>>),
}

impl SheetWriter {
    fn start(mut output: Box<dyn Write>, format: ExportFormat) -> Result<SheetWriter, Failure> {
        match format {
            ExportFormat::Json => {
                output.write_all(b"[").context("cannot write the export")?;
                Ok(SheetWriter::Json { output, rows: 0 })
            }
            ExportFormat::Csv => {
                // RFC 4180: CRLF line ends, quotes where needed; UTF-8 with a byte-order mark
                // so spreadsheet programs do not guess another charset.
                output
                    .write_all("\u{feff}".as_bytes())
                    .context("cannot write the export")?;
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(output);
                writer
                    .write_record(SHEET_COLUMNS)
                    .context("cannot write the export")?;
                Ok(SheetWriter::Csv(Box::new(writer)))
            }
        }
    }

    fn row(&mut self, cells: &[Cell]) -> Result<(), Failure> {
        match self {
            SheetWriter::Json { output, rows } => {
                let object: serde_json::Map<String, serde_json::Value> = SHEET_COLUMNS
                    .iter()
                    .zip(cells)
                    .map(|(column, cell)| (column.to_string(), cell.json()))
                    .collect();
                if *rows > 0 {
                    output.write_all(b",").context("cannot write the export")?;
                }
                serde_json::to_writer(&mut *output, &object).context("cannot write the export")?;
                *rows += 1;
            }
            SheetWriter::Csv(writer) => writer
                .write_record(
                    cells
                        .iter()
                        .map(|cell| neutralise_formula(&cell.csv()).into_owned()),
                )
                .context("cannot write the export")?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Failure> {
        let mut output = match self {
            SheetWriter::Json { mut output, .. } => {
                output
                    .write_all(b"]\n")
                    .context("cannot write the export")?;
                output
            }
            SheetWriter::Csv(writer) => (*writer)
                .into_inner()
                .map_err(|error| anyhow::anyhow!("cannot write the export: {error}"))?,
        };
        output.flush().context("cannot write the export")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both kinds of row fill every column: a cell short would shift the rest of the row.
    #[test]
    fn an_outside_revocation_fills_every_column() {
        let revocation = OutsideRevocation {
            org: "acme".to_string(),
            grant_id: 4711,
            owner_login: "old-bot".to_string(),
            token_name: Some("deployer".to_string()),
            access_granted_at: None,
            revoked_by: "alice".to_string(),
            revoked_at: "2026-12-03T10:00:00Z".parse().expect("time"),
            reason: "no-longer-required".to_string(),
            note: Some("gone".to_string()),
            event_seq: 9,
            event_hash: "ab".to_string(),
        };
        let row = outside_row(&revocation);
        assert_eq!(row.len(), SHEET_COLUMNS.len());
        let cell = |name: &str| {
            let at = SHEET_COLUMNS.iter().position(|column| *column == name);
            row[at.expect("a column")].csv()
        };
        assert_eq!(cell("grant"), "4711");
        assert_eq!(cell("status"), "revoked");
        assert_eq!(cell("revoked_by"), "alice");
        assert_eq!(cell("revoked_why"), "no-longer-required: gone");
        assert_eq!(cell("event_seq"), "9");
    }
}
