//! Aligned columns for the terminal. A table fits the terminal's width (or `COLUMNS`): the
//! widest columns give way first, their cells cut at a word with an ellipsis; `--json` has
//! the whole values.

/// No cell is wider than this, whatever the terminal: a long purpose is read with `show`.
const MAX_CELL: usize = 48;
/// Narrower than this, a column says nothing; the table runs wider instead.
const MIN_CELL: usize = 8;
/// A column whose cells are all this short (ids, times, states, logins) is kept whole: the
/// long text columns give way instead.
const SHORT_COLUMN: usize = 24;
const GAP: &str = "  ";

pub struct Table {
    headers: Vec<&'static str>,
    /// Each cell on one line, with anything that would act on the terminal written out.
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.iter().map(|cell| one_line(cell)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table, as wide as the terminal allows.
    pub fn render(&self) -> String {
        self.render_within(terminal_width())
    }

    /// The table in at most `limit` characters a line, where the columns can be narrowed
    /// that far; with no limit, each column is at most `MAX_CELL` wide.
    fn render_within(&self, limit: Option<usize>) -> String {
        let widths = self.widths(limit);
        let line_width = widths.iter().sum::<usize>() + GAP.len() * widths.len();
        let mut out = String::with_capacity((self.rows.len() + 1) * (line_width + 1));
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let start = out.len();
            for (i, (cell, &width)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    out.push_str(GAP);
                }
                let cell = fit(cell, width);
                out.push_str(&cell);
                let pad = width.saturating_sub(cell.chars().count());
                out.extend(std::iter::repeat_n(' ', pad));
            }
            // The last column's padding, and an empty cell's gap, end the line.
            let kept = out[start..].trim_end().len();
            out.truncate(start + kept);
            out.push('\n');
        };
        line(&mut self.headers.iter().copied());
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }

    /// Each column's width: its widest cell up to `MAX_CELL`, then, while the line is longer
    /// than `limit`, the widest column of long text narrowed by one, down to `MIN_CELL` or its
    /// header.
    fn widths(&self, limit: Option<usize>) -> Vec<usize> {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|header| header.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count().min(MAX_CELL));
            }
        }
        let Some(limit) = limit else {
            return widths;
        };
        let floors: Vec<usize> = self
            .headers
            .iter()
            .zip(&widths)
            .map(|(header, &width)| match width {
                0..=SHORT_COLUMN => width,
                _ => header.chars().count().max(MIN_CELL),
            })
            .collect();
        let gaps = GAP.len() * widths.len().saturating_sub(1);
        while widths.iter().sum::<usize>() + gaps > limit {
            let narrowable = widths
                .iter()
                .zip(&floors)
                .enumerate()
                .filter(|(_, (width, floor))| width > floor)
                .max_by_key(|(i, (width, _))| (**width, std::cmp::Reverse(*i)));
            match narrowable {
                Some((i, _)) => widths[i] -= 1,
                None => break,
            }
        }
        widths
    }
}

/// The width to fit: `COLUMNS` when set (as shells and `watch` set it), else the terminal's
/// when standard output is one; none when the output goes to a file or a pipe.
fn terminal_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&columns| columns > 0)
    {
        return Some(columns);
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a `winsize` into the one given, which lives for the call; on
    // anything but a terminal it fails and leaves it alone.
    let asked = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (asked == 0 && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// The cell on one line, with anything that would act on the terminal written out.
fn one_line(cell: &str) -> String {
    let shown = crate::shown::line(cell);
    // Most cells (ids, logins, states, times) have no run of spaces to fold: kept as they are.
    let folded = shown.starts_with(' ')
        || shown.ends_with(' ')
        || shown.contains("  ")
        || shown.chars().any(|c| c.is_whitespace() && c != ' ');
    if !folded {
        return shown.into_owned();
    }
    shown.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The cell in at most `width` characters: cut at a word with an ellipsis when it is longer.
fn fit(cell: &str, width: usize) -> std::borrow::Cow<'_, str> {
    if cell.len() <= width || cell.chars().count() <= width {
        return std::borrow::Cow::Borrowed(cell);
    }
    let cut: String = cell.chars().take(width.saturating_sub(1)).collect();
    // At a word, when one ends in the last third: "read the issu…" reads worse.
    let at_word = cut
        .rfind(' ')
        .filter(|&space| cut[..space].chars().count() >= width * 2 / 3)
        .map_or(cut.as_str(), |space| &cut[..space]);
    std::borrow::Cow::Owned(format!("{at_word}…"))
}

#[cfg(test)]
mod tests {
    use super::{MAX_CELL, Table, fit};

    #[test]
    fn a_long_cell_is_cut_at_a_word_with_an_ellipsis() {
        let long = "Reads the issues of acme-corp/api every night for the weekly report";
        let cut = fit(long, MAX_CELL);
        assert_eq!(cut, "Reads the issues of acme-corp/api every night…");
        assert!(cut.chars().count() <= MAX_CELL);
        // One long word is cut where it must be.
        let word = "x".repeat(60);
        assert_eq!(fit(&word, MAX_CELL).chars().count(), MAX_CELL);
        assert_eq!(fit("short", MAX_CELL), "short");
    }

    fn triage_like() -> Table {
        let mut table = Table::new(&["MAIL", "RECEIVED", "FROM", "SUBJECT", "WHY"]);
        table.row(vec![
            "7".into(),
            "2026-11-02 09:14".into(),
            "someone.outside@example.net".into(),
            "Re: [acme] A fine-grained personal access token wants access".into(),
            "the sender is not the requester of any open request, so nothing was changed".into(),
        ]);
        table.row(vec![
            "8".into(),
            "2026-11-02 09:15".into(),
            "x@y.z".into(),
            "hi".into(),
            "not understood".into(),
        ]);
        table
    }

    #[test]
    fn a_table_fits_the_width_it_is_given_narrowing_the_widest_columns() {
        let table = triage_like();
        for limit in [80, 100, 120] {
            let text = table.render_within(Some(limit));
            for line in text.lines() {
                assert!(
                    line.chars().count() <= limit,
                    "{} > {limit}: {line}",
                    line.chars().count()
                );
            }
            // The short columns are whole; the long ones cut with an ellipsis.
            assert!(text.contains("2026-11-02 09:14"), "{text}");
            assert!(text.contains("not understood"), "{text}");
            assert!(text.contains('…'), "{text}");
        }
        // Wide enough, nothing is cut below MAX_CELL.
        let wide = table.render_within(Some(400));
        assert!(wide.contains("someone.outside@example.net"), "{wide}");
        assert_eq!(wide, table.render_within(None));
    }

    #[test]
    fn a_width_too_narrow_for_every_header_leaves_the_headers_whole() {
        let text = triage_like().render_within(Some(20));
        let header = text.lines().next().unwrap_or_default();
        for name in ["MAIL", "RECEIVED", "FROM", "SUBJECT", "WHY"] {
            assert!(header.contains(name), "{header}");
        }
    }
}
