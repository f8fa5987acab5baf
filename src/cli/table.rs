//! Aligned columns for the terminal. Long cells are cut at a word with an ellipsis; `--json`
//! has the whole values.

const MAX_CELL: usize = 48;

pub struct Table {
    headers: Vec<&'static str>,
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
            .push(cells.into_iter().map(|cell| fit(&cell)).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self
            .headers
            .iter()
            .map(|header| header.chars().count())
            .collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut text = String::new();
            for (i, (cell, width)) in cells.zip(&widths).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(cell);
                let pad = width.saturating_sub(cell.chars().count());
                text.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().copied());
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }
}

/// One line, at most `MAX_CELL` characters, with anything that would act on the terminal
/// written out.
fn fit(cell: &str) -> String {
    let one_line: String = crate::shown::line(cell)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if one_line.chars().count() <= MAX_CELL {
        one_line
    } else {
        let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
        // At a word, when one ends in the last third: "read the issu…" reads worse.
        let at_word = cut
            .rfind(' ')
            .filter(|&space| cut[..space].chars().count() >= MAX_CELL * 2 / 3)
            .map_or(cut.as_str(), |space| &cut[..space]);
        format!("{at_word}…")
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_CELL, fit};

    #[test]
    fn a_long_cell_is_cut_at_a_word_with_an_ellipsis() {
        let long = "Reads the issues of acme-corp/api every night for the weekly report";
        let cut = fit(long);
        assert_eq!(cut, "Reads the issues of acme-corp/api every night…");
        assert!(cut.chars().count() <= MAX_CELL);
        // One long word is cut where it must be.
        let word = "x".repeat(60);
        assert_eq!(fit(&word).chars().count(), MAX_CELL);
        assert_eq!(fit("short"), "short");
    }
}
