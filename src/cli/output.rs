//! What several commands print and parse alike: request ids as people write them, JSON on
//! standard output, a dash for nothing, a request's purpose and where it came from.

use std::io::Write;

use anyhow::Context as _;

use super::Failure;

/// `12` or `PAT-12`, as the subject tag shows it.
pub(super) fn parse_request_id(text: &str) -> Result<i64, String> {
    let digits = text
        .strip_prefix("PAT-")
        .or_else(|| text.strip_prefix("pat-"))
        .unwrap_or(text);
    digits
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            format!("{text:?} is not a request id: expected a number such as 12 or PAT-12")
        })
}

/// One line of JSON, as every command's `--json` prints (`jq` makes it pretty).
pub(super) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value).context("cannot write JSON")?;
    writeln!(out).context("cannot write to standard output")?;
    Ok(())
}

/// The value, or a dash where there is none (an empty one is none too).
pub(super) fn or_dash(value: Option<&str>) -> String {
    value
        .filter(|value| !value.is_empty())
        .unwrap_or("-")
        .to_string()
}
