//! RUBiS transition tables: parsing the tab-separated text format of RUBiS 1.4.3's client
//! emulator (`default_transitions_7.txt`, `browse_only_transitions_7.txt`) and drawing the next
//! row of a column exactly as `TransitionTable.nextState` does.
//!
//! # Format
//!
//! Tab-separated, one record per physical line, except that a cell starting with `"` is quoted and
//! may span lines (the header cell `"To >>>\nFrom vvvv  "` does):
//!
//! 1. title: `RUBiS Transition Table<TAB>table name`;
//! 2. blank lines (cells may be empty) are skipped wherever they appear before the last row;
//! 3. header: a corner cell, then one column name per state, then the waiting-time column name;
//!    the number of states `n` is the number of header cells minus two (trailing empty cells
//!    are ignored);
//! 4. `n` state rows: name, `n` probabilities (one per column), waiting time in ms;
//! 5. the `Back probability` row, then the `End of Session` row: name, `n` probabilities, and
//!    optionally a waiting time that is ignored.
//!
//! Everything after the `End of Session` row is ignored (the real files hold notes there).
//!
//! # Semantics
//!
//! The *current* state indexes the column; the next state is the row drawn from that column (see
//! [`TransitionTable::next_row`]). Columns need not sum to 1: RUBiS's real tables have columns
//! summing to 0.97..0.998 (the missing mass keeps the user on the same page) and columns summing
//! above 1 (their last rows are then partly or wholly unreachable).
//!
//! RUBiS stores probabilities as `float` and draws `Random.nextFloat()`; we use `f64` for both,
//! which changes the transition probabilities by less than 1e-7 each.

use super::mix::Interaction;
use crate::scenario::InputError;

/// Title expected in the first cell of the first line.
const TITLE: &str = "RUBiS Transition Table";
/// Name of the row holding, per column, the probability of going back to the previous page.
pub const BACK_ROW_NAME: &str = "Back probability";
/// Name of the row holding, per column, the probability of ending the session.
pub const END_ROW_NAME: &str = "End of Session";

/// Interactions that write to the database, by row name. `StoreBuyBow` is RUBiS's own spelling of
/// StoreBuyNow (both are accepted so that corrected tables keep their write flag).
pub const WRITE_INTERACTIONS: [&str; 6] = [
    "RegisterUser",
    "StoreBuyBow",
    "StoreBuyNow",
    "StoreBid",
    "StoreComment",
    "RegisterItem",
];

/// A parsed transition table: `n` interaction states plus the Back and End-of-Session rows.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitionTable {
    /// The table's name (second cell of the title line).
    name: String,
    /// The `n` states, in row order; state 0 is where sessions start (Home).
    interactions: Vec<Interaction>,
    /// Column names from the header, one per state (RUBiS abbreviates them: `Reg.`, `Br. Cat.`).
    column_names: Vec<String>,
    /// Column-major probabilities: `probabilities[from * rows + row]`, with `rows = n + 2`.
    probabilities: Vec<f64>,
    /// Column-major running sums of `probabilities`, accumulated in row order exactly as RUBiS
    /// does on each draw, so that a binary search finds the same row as RUBiS's linear scan.
    cumulative: Vec<f64>,
    /// Think time announced after each state, in milliseconds, one per state.
    waiting_ms: Vec<f64>,
}

impl TransitionTable {
    /// Parses the RUBiS text format. `source` is the file name, used in errors.
    ///
    /// Never panics: every malformed input gives an [`InputError`] naming the physical line
    /// (1-based) and, where it applies, the column or row.
    pub fn parse(text: &str, source: &str) -> Result<Self, InputError> {
        Parser {
            records: Records {
                rest: text,
                line: 1,
                source,
            },
            source,
        }
        .table()
    }

    /// RUBiS's bidding mix (`default_transitions_7.txt`, 7 s think times; about 9.2% of requests
    /// write to the database).
    pub fn bidding() -> Self {
        Self::parse(
            include_str!("../../data/rubis/default_transitions_7.txt"),
            "default_transitions_7.txt",
        )
        .expect("the embedded bidding table parses")
    }

    /// RUBiS's browsing mix (`browse_only_transitions_7.txt`, 7 s think times; no writes).
    pub fn browsing() -> Self {
        Self::parse(
            include_str!("../../data/rubis/browse_only_transitions_7.txt"),
            "browse_only_transitions_7.txt",
        )
        .expect("the embedded browsing table parses")
    }

    /// The table's name, from its title line.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interaction states, in row order (state 0 = Home, where sessions start).
    pub fn interactions(&self) -> &[Interaction] {
        &self.interactions
    }

    /// Number of interaction states (27 for RUBiS's tables).
    pub fn states(&self) -> usize {
        self.interactions.len()
    }

    /// Row index of the Back row (`states()`).
    pub fn back_row(&self) -> usize {
        self.states()
    }

    /// Row index of the End-of-Session row (`states() + 1`).
    pub fn end_row(&self) -> usize {
        self.states() + 1
    }

    /// Column names from the header, one per state.
    pub fn column_names(&self) -> &[String] {
        &self.column_names
    }

    /// The table entry at `row` of column `from`: the probability that the row is drawn when the
    /// current state is `from`. `row` ranges over the states, then Back, then End of Session.
    pub fn probability(&self, from: usize, row: usize) -> f64 {
        self.probabilities[from * self.rows() + row]
    }

    /// Probability of going back from `state`; 0 also means entering `state` clears the history.
    pub fn back_probability(&self, state: usize) -> f64 {
        self.probability(state, self.back_row())
    }

    /// Probability of ending the session after a request to `state` (if that row is reached).
    pub fn end_probability(&self, state: usize) -> f64 {
        self.probability(state, self.end_row())
    }

    /// Think time announced after a request to `state`, in milliseconds.
    pub fn waiting_ms(&self, state: usize) -> f64 {
        self.waiting_ms[state]
    }

    /// The row drawn from column `from` for a uniform `u` in [0, 1): the first row whose running
    /// sum (in row order) exceeds `u`, or `None` when the whole column sums to `u` or less (the
    /// user then stays on the same page).
    pub fn next_row(&self, from: usize, u: f64) -> Option<usize> {
        let rows = self.rows();
        let column = &self.cumulative[from * rows..(from + 1) * rows];
        // Running sums are non-decreasing (entries are >= 0), so the first `u < sum` is a
        // partition point.
        let row = column.partition_point(|&sum| sum <= u);
        (row < rows).then_some(row)
    }

    /// Rows per column: the states, Back, End of Session.
    fn rows(&self) -> usize {
        self.states() + 2
    }
}

/// One cell, with the physical line it starts on.
#[derive(Debug)]
struct Cell {
    text: String,
    line: usize,
}

impl Cell {
    fn trimmed(&self) -> &str {
        self.text.trim()
    }
}

/// Splits the text into records of tab-separated cells, lazily, so that junk after the last row
/// that matters (an unterminated quote in the notes, say) is never looked at.
struct Records<'a> {
    /// Text not yet read.
    rest: &'a str,
    /// Physical line (1-based) at the start of `rest`.
    line: usize,
    source: &'a str,
}

impl Records<'_> {
    /// The next record, with trailing empty cells removed; `None` at the end of the text.
    fn next_record(&mut self) -> Result<Option<Vec<Cell>>, InputError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let mut cells = Vec::new();
        let mut text = String::new();
        let mut cell_line = self.line;
        let mut at_cell_start = true;
        let mut chars = self.rest.char_indices();
        // Byte offset just past this record's line end (or the end of the text).
        let mut end_of_record = self.rest.len();
        let mut ended_by_newline = false;
        while let Some((i, c)) = chars.next() {
            match c {
                '\t' => {
                    cells.push(Cell {
                        text: std::mem::take(&mut text),
                        line: cell_line,
                    });
                    cell_line = self.line;
                    at_cell_start = true;
                }
                '\n' => {
                    end_of_record = i + 1;
                    ended_by_newline = true;
                    break;
                }
                // Windows line ends, and stray carriage returns, carry no content.
                '\r' => {}
                '"' if at_cell_start => {
                    at_cell_start = false;
                    let opened_at = self.line;
                    loop {
                        match chars.next() {
                            None => {
                                return Err(InputError::new(
                                    self.source,
                                    "unterminated quoted cell: the file ends before the closing `\"`",
                                )
                                .at_line(Some(opened_at)));
                            }
                            Some((_, '"')) => {
                                if chars.as_str().starts_with('"') {
                                    chars.next();
                                    text.push('"');
                                } else {
                                    break;
                                }
                            }
                            Some((_, '\n')) => {
                                self.line += 1;
                                text.push('\n');
                            }
                            Some((_, ch)) => text.push(ch),
                        }
                    }
                }
                _ => {
                    at_cell_start = false;
                    text.push(c);
                }
            }
        }
        cells.push(Cell {
            text,
            line: cell_line,
        });
        if ended_by_newline {
            self.line += 1;
        }
        self.rest = &self.rest[end_of_record..];
        while cells.last().is_some_and(|c| c.trimmed().is_empty()) {
            cells.pop();
        }
        Ok(Some(cells))
    }

    /// The next record that has a non-empty cell.
    fn next_nonblank(&mut self) -> Result<Option<Vec<Cell>>, InputError> {
        while let Some(cells) = self.next_record()? {
            if !cells.is_empty() {
                return Ok(Some(cells));
            }
        }
        Ok(None)
    }
}

struct Parser<'a> {
    records: Records<'a>,
    source: &'a str,
}

impl Parser<'_> {
    fn error(&self, line: usize, message: impl Into<String>) -> InputError {
        InputError::new(self.source, message).at_line(Some(line))
    }

    fn table(mut self) -> Result<TransitionTable, InputError> {
        // Title line.
        let title = match self.records.next_record()? {
            Some(cells) if !cells.is_empty() => cells,
            _ => {
                return Err(self.error(
                    1,
                    format!("line 1 is empty: expected the title line `{TITLE}<TAB>table name`"),
                ))
            }
        };
        if !title[0].trimmed().eq_ignore_ascii_case(TITLE) {
            return Err(self
                .error(
                    title[0].line,
                    format!(
                        "expected the title `{TITLE}` in the first cell, found `{}`",
                        shorten(title[0].trimmed())
                    ),
                )
                .field("title"));
        }
        let name = title
            .get(1)
            .map(|c| c.trimmed().to_string())
            .unwrap_or_default();

        // Header: corner cell, one name per state, waiting-time column.
        let header = self.records.next_nonblank()?.ok_or_else(|| {
            self.error(
                self.records.line,
                "the file ends before the header line (column names)",
            )
        })?;
        if header.len() < 3 {
            return Err(self
                .error(
                    header[0].line,
                    format!(
                        "the header has {} cells; expected a corner cell, one column name per \
                         state, then the waiting-time column",
                        header.len()
                    ),
                )
                .field("header"));
        }
        for cell in &header[1..] {
            let text = cell.trimmed();
            if text.is_empty() {
                return Err(self
                    .error(cell.line, "empty column name in the header")
                    .field("header"));
            }
            if text.parse::<f64>().is_ok() {
                return Err(self
                    .error(
                        cell.line,
                        format!(
                            "header cell `{}` is a number: the header line (column names) seems \
                             to be missing",
                            shorten(text)
                        ),
                    )
                    .field("header"));
            }
        }
        let n = header.len() - 2;
        let column_names: Vec<String> = header[1..=n]
            .iter()
            .map(|c| c.trimmed().to_string())
            .collect();
        let waiting_column = header[n + 1].trimmed().to_string();

        let rows = n + 2;
        // Row-major while reading, transposed at the end. Grown row by row rather than sized
        // from the header up front, so that a junk header with a huge number of cells cannot
        // make us allocate more than the text itself holds.
        let mut by_row: Vec<f64> = Vec::new();
        let mut interactions: Vec<Interaction> = Vec::new();
        let mut seen_names = std::collections::HashSet::new();
        let mut waiting_ms = Vec::new();

        for row in 0..rows {
            let expected = if row < n {
                format!("state row {} of {n}", row + 1)
            } else if row == n {
                format!("the `{BACK_ROW_NAME}` row")
            } else {
                format!("the `{END_ROW_NAME}` row")
            };
            let cells = self.records.next_nonblank()?.ok_or_else(|| {
                self.error(
                    self.records.line,
                    format!("the file ends before {expected} (the header names {n} states)"),
                )
            })?;
            let row_name = cells[0].trimmed().to_string();
            let line = cells[0].line;
            let is_back = row_name.eq_ignore_ascii_case(BACK_ROW_NAME);
            let is_end = row_name.eq_ignore_ascii_case(END_ROW_NAME);
            if row < n {
                if is_back || is_end {
                    return Err(self
                        .error(
                            line,
                            format!(
                                "found the `{row_name}` row after only {row} state rows, but the \
                                 header names {n} state columns"
                            ),
                        )
                        .field(row_name));
                }
                if row_name.is_empty() {
                    return Err(self.error(line, "state row without a name in its first cell"));
                }
                if !seen_names.insert(row_name.clone()) {
                    return Err(self
                        .error(line, format!("duplicate state row `{row_name}`"))
                        .field(row_name));
                }
            } else if (row == n && !is_back) || (row == n + 1 && !is_end) {
                return Err(self
                    .error(
                        line,
                        format!(
                            "expected {expected} after the {n} state rows (as many as header \
                             columns), found `{}`",
                            shorten(&row_name)
                        ),
                    )
                    .field(row_name));
            }

            // Probabilities, then the waiting time (required on state rows only).
            let values = cells.len() - 1;
            let too_few = values < n || (row < n && values == n);
            if too_few || values > n + 1 {
                let wanted = if row < n {
                    format!("{n} probabilities then the waiting time in ms")
                } else {
                    format!("{n} probabilities (and optionally a waiting time)")
                };
                let at = cells.last().map_or(line, |c| c.line);
                return Err(self
                    .error(
                        at,
                        format!("row `{row_name}` has {values} values after its name; expected {wanted}"),
                    )
                    .field(row_name));
            }
            for (col, cell) in cells[1..=n].iter().enumerate() {
                let p = self.number(cell, &row_name, &column_names[col], "probability")?;
                if p > 1.0 {
                    return Err(self
                        .error(
                            cell.line,
                            format!("row `{row_name}`: probability {p} is above 1"),
                        )
                        .field(column_names[col].clone()));
                }
                by_row.push(p);
            }
            if row < n {
                let wait =
                    self.number(&cells[n + 1], &row_name, &waiting_column, "waiting time")?;
                waiting_ms.push(wait);
                let write = WRITE_INTERACTIONS.contains(&row_name.as_str());
                interactions.push(Interaction {
                    name: row_name,
                    write,
                });
            }
        }

        let mut probabilities = vec![0.0; rows * n];
        let mut cumulative = vec![0.0; rows * n];
        for from in 0..n {
            let mut sum = 0.0;
            for row in 0..rows {
                let p = by_row[row * n + from];
                sum += p;
                probabilities[from * rows + row] = p;
                cumulative[from * rows + row] = sum;
            }
        }
        Ok(TransitionTable {
            name,
            interactions,
            column_names,
            probabilities,
            cumulative,
            waiting_ms,
        })
    }

    /// A finite, non-negative number from `cell`.
    fn number(&self, cell: &Cell, row: &str, column: &str, what: &str) -> Result<f64, InputError> {
        let text = cell.trimmed();
        let fail = |message: String| {
            Err(self
                .error(cell.line, format!("row `{row}`: {message}"))
                .field(column))
        };
        match text.parse::<f64>() {
            Err(_) if text.is_empty() => fail(format!("empty {what}")),
            Err(_) => fail(format!("{what} `{}` is not a number", shorten(text))),
            Ok(v) if !v.is_finite() => fail(format!("{what} `{}` is not finite", shorten(text))),
            Ok(v) if v < 0.0 => fail(format!("{what} {v} is negative")),
            Ok(v) => Ok(v),
        }
    }
}

/// At most 40 characters of user text, for error messages.
fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BIDDING: &str = include_str!("../../data/rubis/default_transitions_7.txt");
    const BROWSING: &str = include_str!("../../data/rubis/browse_only_transitions_7.txt");

    const NAMES: [&str; 27] = [
        "Home",
        "Register",
        "RegisterUser",
        "Browse",
        "BrowseCategories",
        "SearchItemsInCategory",
        "BrowseRegions",
        "BrowseCategoriesInRegion",
        "SearchItemsInRegion",
        "ViewItem",
        "ViewUserInfo",
        "ViewBidHistory",
        "BuyNowAuth",
        "BuyNow",
        "StoreBuyBow",
        "PutBidAuth",
        "PutBid",
        "StoreBid",
        "PutCommentAuth",
        "PutComment",
        "StoreComment",
        "Sell",
        "SelectCategoryToSellItem",
        "SellItemForm",
        "RegisterItem",
        "AboutMe (auth form)",
        "AboutMe",
    ];

    fn err(text: &str) -> InputError {
        TransitionTable::parse(text, "t.txt").expect_err("should not parse")
    }

    /// A 2-state table in RUBiS format, with `rows` replacing the data rows when given.
    fn small(rows: &str) -> String {
        format!("RUBiS Transition Table\tsmall\n\t\t\t\n\"To >>>\nFrom vvvv  \"\tHome\tA\tTransition waiting time\n{rows}")
    }

    const SMALL_ROWS: &str = "Home\t0\t0.5\t100\nA\t0.9\t0\t200\nBack probability\t0\t0.25\nEnd of Session\t0.1\t0.25\t0\n";

    #[test]
    fn real_tables_parse_with_names_write_flags_and_waiting_times() {
        for (table, title) in [
            (TransitionTable::bidding(), "Default transition 7sec set"),
            (
                TransitionTable::browsing(),
                "Browse only transition 7sec set",
            ),
        ] {
            assert_eq!(table.name(), title);
            assert_eq!(table.states(), 27);
            let names: Vec<&str> = table
                .interactions()
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            assert_eq!(names, NAMES);
            let writes: Vec<&str> = table
                .interactions()
                .iter()
                .filter(|i| i.write)
                .map(|i| i.name.as_str())
                .collect();
            assert_eq!(
                writes,
                [
                    "RegisterUser",
                    "StoreBuyBow",
                    "StoreBid",
                    "StoreComment",
                    "RegisterItem"
                ]
            );
            assert!((0..27).all(|s| table.waiting_ms(s) == 7000.0));
            assert_eq!(table.column_names()[0], "Home");
            assert_eq!(table.column_names()[26], "About Me");
        }
        let bidding = TransitionTable::bidding();
        // Spot checks against the file: from Home (column 0) to Browse (row 3) is 0.7; Back from
        // ViewItem (column 9) is 0.5; End of Session from RegisterUser (column 2) is 0.2.
        assert_eq!(bidding.probability(0, 3), 0.7);
        assert_eq!(bidding.back_probability(9), 0.5);
        assert_eq!(bidding.end_probability(2), 0.2);
        assert_eq!(TransitionTable::browsing().back_probability(9), 0.74);
    }

    #[test]
    fn next_row_accumulates_rows_in_order_and_stays_past_the_column_sum() {
        let t = TransitionTable::parse(&small(SMALL_ROWS), "t").unwrap();
        // Column Home: [0, 0.9, 0(back), 0.1(end)]: sums 0, 0.9, 0.9, 1.0.
        assert_eq!(t.next_row(0, 0.0), Some(1));
        assert_eq!(t.next_row(0, 0.899), Some(1));
        assert_eq!(t.next_row(0, 0.9), Some(3));
        assert_eq!(t.next_row(0, 0.999), Some(3));
        // Column A: [0.5, 0, 0.25, 0.25]... sums 0.5, 0.5, 0.75, 1.0; Back is row 2.
        assert_eq!(t.next_row(1, 0.5), Some(2));
        assert_eq!(t.next_row(1, 0.8), Some(3));
        // A column summing below 1: no row beyond its sum.
        let t = TransitionTable::parse(
            &small(
                "Home\t0\t0.5\t1\nA\t0.6\t0\t1\nBack probability\t0\t0\nEnd of Session\t0.1\t0.2\n",
            ),
            "t",
        )
        .unwrap();
        assert_eq!(t.next_row(0, 0.65), Some(3));
        assert_eq!(t.next_row(0, 0.7), None);
        assert_eq!(t.next_row(1, 0.69), Some(3));
        assert_eq!(t.next_row(1, 0.7), None);
        assert_eq!(t.waiting_ms(1), 1.0);
    }

    #[test]
    fn crlf_and_blank_lines_are_accepted_and_notes_after_the_end_row_ignored() {
        let text = small(SMALL_ROWS).replace('\n', "\r\n") + "\r\nNotes\t\"unterminated\nx\ty\n";
        let t = TransitionTable::parse(&text, "t").unwrap();
        assert_eq!(t.interactions()[1].name, "A");
        assert_eq!(t.waiting_ms(1), 200.0);
    }

    #[test]
    fn errors_name_line_and_column() {
        // Non-numeric probability: line 5 (title, blank, 2 header lines, Home).
        let e = err(&small(
            "Home\t0\tx\t100\nA\t0.9\t0\t200\nBack probability\t0\t0\nEnd of Session\t0.1\t0\n",
        ));
        assert_eq!(e.line, Some(5));
        assert_eq!(e.field.as_deref(), Some("A"));
        assert!(e.message.contains("`x` is not a number"), "{e}");
        assert!(e.message.contains("Home"), "{e}");

        // Negative and above 1, on row A (line 6).
        let e = err(&small(
            "Home\t0\t0.5\t100\nA\t-0.1\t0\t200\nBack probability\t0\t0\nEnd of Session\t0.1\t0\n",
        ));
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("Home")));
        assert!(e.message.contains("negative"), "{e}");
        let e = err(&small(
            "Home\t0\t0.5\t100\nA\t0.1\t1.5\t200\nBack probability\t0\t0\nEnd of Session\t0.1\t0\n",
        ));
        assert_eq!((e.line, e.field.as_deref()), (Some(6), Some("A")));
        assert!(e.message.contains("above 1"), "{e}");
        let e = err(&small(
            "Home\t0\tNaN\t100\nA\t0.1\t1\t200\nBack probability\t0\t0\nEnd of Session\t0.1\t0\n",
        ));
        assert!(e.message.contains("not finite"), "{e}");

        // Wrong column counts.
        let e = err(&small("Home\t0\t0.5\t100\t7\nA\t0.9\t0\t200\n"));
        assert_eq!((e.line, e.field.as_deref()), (Some(5), Some("Home")));
        assert!(e.message.contains("has 4 values"), "{e}");
        let e = err(&small("Home\t0\t0.5\nA\t0.9\t0\t200\n"));
        assert_eq!(e.line, Some(5));
        assert!(e.message.contains("waiting time"), "{e}");
        let e = err(&small(
            "Home\t0\t0.5\t1\nA\t0.9\t0\t200\nBack probability\t0\nEnd of Session\t0.1\t0\n",
        ));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(7), Some("Back probability"))
        );

        // Bad waiting time.
        let e = err(&small("Home\t0\t0.5\tsoon\nA\t0.9\t0\t200\n"));
        assert_eq!(
            (e.line, e.field.as_deref()),
            (Some(5), Some("Transition waiting time"))
        );

        // Missing rows.
        let e = err(&small(
            "Home\t0\t0.5\t1\nA\t0.9\t0\t200\nEnd of Session\t0.1\t0\n",
        ));
        assert_eq!(e.line, Some(7));
        assert!(e.message.contains(BACK_ROW_NAME), "{e}");
        let e = err(&small(
            "Home\t0\t0.5\t1\nA\t0.9\t0\t200\nBack probability\t0\t0\n",
        ));
        assert!(
            e.message.contains("ends before the `End of Session` row"),
            "{e}"
        );
        let e = err(&small("Home\t0\t0.5\t1\nBack probability\t0\t0\n"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("after only 1 state rows"), "{e}");

        // Duplicate state names.
        let e = err(&small("Home\t0\t0.5\t1\nHome\t0.9\t0\t200\n"));
        assert_eq!(e.line, Some(6));
        assert!(e.message.contains("duplicate"), "{e}");

        // Empty file, wrong title, missing header, unterminated quote, binary junk.
        assert_eq!(err("").line, Some(1));
        assert_eq!(err("\n\n").line, Some(1));
        let e = err("Hello\tworld\n");
        assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("title")));
        let e = err("RUBiS Transition Table\tx\n\nHome\t0\t0.5\t1\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("header"), "{e}");
        let e = err("RUBiS Transition Table\tx\n\n\"To\nFrom\tHome\tw\nHome\t0\t1\n");
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unterminated"), "{e}");
        let e = err("\u{0}\u{1}\u{fffd}\t\u{7f}\n\u{0}");
        assert_eq!(e.line, Some(1));

        // A junk header with 200k columns: reported on the first row, without allocating
        // a 200k x 200k matrix.
        let wide = format!("{TITLE}\tx\nc{}\tw\nHome\t1\t5\n", "\tc".repeat(200_000));
        let e = err(&wide);
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("Home")));
    }

    #[test]
    fn error_lines_count_the_newline_inside_the_quoted_header() {
        // Corrupt ViewItem (state 9) in the real file: its row is on physical line 14.
        let text = BIDDING.replacen(
            "ViewItem\t0\t0\t0\t0\t0\t0.5",
            "ViewItem\t0\t0\t0\t0\t0\tabc",
            1,
        );
        let e = err(&text);
        assert_eq!(e.line, Some(14));
        assert_eq!(e.field.as_deref(), Some("Search Items Cat."));
        assert!(e
            .to_string()
            .starts_with("t.txt:14: field `Search Items Cat.`: row `ViewItem`"));
    }

    /// Applies edits (position, operation, payload) to the real file.
    fn mutate(base: &str, edits: &[(usize, u8, String)]) -> String {
        let mut text = base.to_string();
        for (pos, op, payload) in edits {
            let mut at = pos % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match op % 5 {
                0 => text.insert_str(at, payload),
                1 => {
                    let mut end = (at + payload.len() + 1).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                2 => {
                    let mut end = (at + 1 + payload.len() % 7).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, payload);
                }
                3 => text.truncate(at),
                _ => {
                    let special = ["\t", "\n", "\"", "\r", "-1", "2", "1e999", ""];
                    text.insert_str(at, special[payload.len() % special.len()]);
                }
            }
        }
        text
    }

    /// A parsed table must also be walkable without panicking.
    fn exercise(table: TransitionTable) {
        use super::super::mix::{Mix, Walker};
        let mix = Mix::Table(table);
        let mut rng = crate::engine::rng::stream(1, "test", 0, 0, 0);
        let mut w = Walker::default();
        for _ in 0..5 {
            let mut i = mix.begin(&mut w, &mut rng, 30);
            loop {
                assert!(i < mix.interactions().len());
                match mix.advance(&mut w, &mut rng) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_text(text in any::<String>()) {
            if let Ok(t) = TransitionTable::parse(&text, "p") { exercise(t) }
        }

        #[test]
        fn parse_never_panics_on_tab_and_quote_soup(text in "[\t\n\r\"0-9.a-zA-Z -]{0,300}") {
            let text = format!("RUBiS Transition Table\tx\n{text}");
            if let Ok(t) = TransitionTable::parse(&text, "p") { exercise(t) }
        }

        #[test]
        fn parse_never_panics_on_mutations_of_the_real_files(
            browsing in any::<bool>(),
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), ".{0,6}"), 1..6),
        ) {
            let text = mutate(if browsing { BROWSING } else { BIDDING }, &edits);
            if let Ok(t) = TransitionTable::parse(&text, "p") { exercise(t) }
        }
    }
}
