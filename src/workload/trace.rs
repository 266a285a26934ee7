//! Load traces: CSV files of (time in seconds, value) points, e.g. the number of clients over time.
//!
//! ```text
//! # clients measured on the production site, 2024-03-01
//! time_s,clients
//! 0,120
//! 60,150
//! 120,90
//! ```
//!
//! The header must be exactly `time_s,<value column>` so that a trace of one quantity (clients)
//! is not silently read as another (requests per second). Lines starting with `#` are comments;
//! fields are trimmed. Times must be finite, non-negative and strictly increasing; values finite
//! and non-negative. The first row must be at time 0: a trace that starts later would leave the
//! load before its first row unsaid, and holding the first value from 0 s silently made it up
//! (add a row `0,<value>` to say what it is). Each value holds until the next point.
//!
//! Every problem is one `InputError` naming the file as the user wrote it, the physical line and
//! the column, so bad traces fail fast with exit code 2 instead of skewing a simulation.

use std::path::Path;

use crate::scenario::InputError;

/// The name of the time column.
pub const TIME_COLUMN: &str = "time_s";

/// Read a trace from `path` (shown to the user as `shown_as`) whose value column is called
/// `value_column`. Returns the points in file order, which is strictly increasing time.
pub fn read_trace(
    path: &Path,
    shown_as: &str,
    value_column: &str,
) -> Result<Vec<(f64, f64)>, InputError> {
    let bytes = std::fs::read(path).map_err(|e| {
        InputError::new(
            shown_as,
            format!("cannot read trace {}: {e}", path.display()),
        )
    })?;
    parse_trace(&bytes, shown_as, value_column)
}

/// Parse trace contents; `read_trace` without the file system.
pub fn parse_trace(
    bytes: &[u8],
    shown_as: &str,
    value_column: &str,
) -> Result<Vec<(f64, f64)>, InputError> {
    let error =
        |line: Option<usize>, message: String| InputError::new(shown_as, message).at_line(line);
    let expected_header = format!("{TIME_COLUMN},{value_column}");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        // We check the number of fields ourselves to give a message naming the columns.
        .flexible(true)
        .from_reader(bytes);

    let header = reader
        .headers()
        .map_err(|e| csv_error(bytes, shown_as, &e))?
        .clone();
    let mut lines = LineCounter::new(bytes);
    let header_line = header.position().map(|p| lines.line_of(p));
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(error(
            None,
            format!("trace is empty: expected a header `{expected_header}` and data rows"),
        ));
    }
    let columns = [TIME_COLUMN, value_column];
    if header.len() != 2 || &header[0] != TIME_COLUMN || &header[1] != value_column {
        let found = header.iter().collect::<Vec<_>>().join(",");
        let mut e = error(
            header_line,
            format!("expected the header `{expected_header}`, found `{found}`"),
        );
        // Name the first column that is wrong, or the first extra one.
        let wrong = (0..header.len().max(2)).find(|&i| header.get(i) != columns.get(i).copied());
        if let Some(i) = wrong {
            e = e.field(
                columns
                    .get(i)
                    .copied()
                    .or(header.get(i))
                    .unwrap_or_default(),
            );
        }
        return Err(e);
    }

    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut previous_line = header_line;
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(bytes, shown_as, &e))?;
        let line = record.position().map(|p| lines.line_of(p));
        // A line of blanks reads as one empty field: skip it like an empty line.
        if record.len() == 1 && record[0].is_empty() {
            continue;
        }
        if record.len() != 2 {
            return Err(error(
                line,
                format!(
                    "expected 2 fields ({expected_header}), found {}",
                    record.len()
                ),
            ));
        }
        let mut row = [0.0; 2];
        for (i, column) in columns.iter().enumerate() {
            let text = &record[i];
            let field_error = |message: String| error(line, message).field(*column);
            if text.is_empty() {
                return Err(field_error("is empty, expected a number".to_string()));
            }
            let x: f64 = text
                .parse()
                .map_err(|_| field_error(format!("`{text}` is not a number")))?;
            if !x.is_finite() {
                return Err(field_error(format!(
                    "must be a finite number, got `{text}`"
                )));
            }
            if x < 0.0 {
                return Err(field_error(format!("must not be negative, got {text}")));
            }
            // Adding 0.0 turns -0 into 0.
            row[i] = x + 0.0;
        }
        let [time, value] = row;
        if points.is_empty() && time != 0.0 {
            return Err(error(
                line,
                format!(
                    "the first row is at {time} s, but a trace must start at 0 s: add a row \
                     `0,<{value_column}>` saying the load before {time} s"
                ),
            )
            .field(TIME_COLUMN));
        }
        if let Some(&(previous, _)) = points.last() {
            if time <= previous {
                let after = previous_line.map_or(String::new(), |l| format!(" on line {l}"));
                return Err(error(
                    line,
                    format!(
                        "times must be strictly increasing: {time} s follows {previous} s{after}"
                    ),
                )
                .field(TIME_COLUMN));
            }
        }
        points.push((time, value));
        previous_line = line;
    }
    if points.is_empty() {
        return Err(error(
            header_line,
            format!("trace has no data rows after the header `{expected_header}`"),
        ));
    }
    Ok(points)
}

/// Physical line numbers of records, counted incrementally: the csv reader hands out records in
/// file order, so each newline is counted once and reading a trace stays linear in its size
/// (counting from the start of the file for every record made a week at 1 s, 604,800 rows, take
/// many minutes).
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// A byte offset already counted up to, and the 1-based line it is on.
    at: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line on which the record at `position` starts.
    ///
    /// The csv reader reports where it *started reading* a record, which is before any comment
    /// or empty lines it skipped on the way; skip them the same way so that messages name the
    /// line the user sees. Positions must not go backwards (they do not: records come in order);
    /// one that does is counted from the start again, so the answer is right regardless.
    fn line_of(&mut self, position: &csv::Position) -> usize {
        let bytes = self.bytes;
        let start = usize::try_from(position.byte()).map_or(bytes.len(), |b| b.min(bytes.len()));
        let mut at = start;
        while at < bytes.len() {
            match bytes[at] {
                b'#' => {
                    at = memchr_newline(&bytes[at..]).map_or(bytes.len(), |p| at + p + 1);
                }
                b'\n' | b'\r' => at += 1,
                _ => break,
            }
        }
        let at = at.min(bytes.len());
        if at < self.at {
            self.at = 0;
            self.line = 1;
        }
        self.line += bytes[self.at..at].iter().filter(|&&b| b == b'\n').count();
        self.at = at;
        self.line
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// A CSV-level failure (invalid UTF-8, I/O), with its line when the reader knows it.
fn csv_error(bytes: &[u8], shown_as: &str, e: &csv::Error) -> InputError {
    let line = e.position().map(|p| LineCounter::new(bytes).line_of(p));
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => format!("not valid UTF-8 text: {err}"),
        csv::ErrorKind::Io(err) => format!("cannot read trace: {err}"),
        _ => format!("cannot read trace: {e}"),
    };
    InputError::new(shown_as, message).at_line(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn parse(text: &str) -> Result<Vec<(f64, f64)>, InputError> {
        parse_trace(text.as_bytes(), "t.csv", "clients")
    }

    fn err(text: &str) -> InputError {
        let e = parse(text).expect_err(text);
        assert_eq!(e.source, "t.csv");
        assert!(!e.message.contains('\n'));
        e
    }

    fn at(e: &InputError) -> (Option<usize>, Option<&str>) {
        (e.line, e.field.as_deref())
    }

    #[test]
    fn reads_a_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "# measured\ntime_s,clients\n0,120\n60,150.5\n").unwrap();
        let points = read_trace(file.path(), "trace.csv", "clients").unwrap();
        assert_eq!(points, vec![(0.0, 120.0), (60.0, 150.5)]);
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_trace(&dir.path().join("absent.csv"), "absent.csv", "clients").unwrap_err();
        assert_eq!(e.source, "absent.csv");
        assert_eq!(e.line, None);
        // The message shows the path that was looked for.
        let looked_for = dir.path().join("absent.csv").display().to_string();
        assert!(
            e.message
                .starts_with(&format!("cannot read trace {looked_for}: ")),
            "{e}"
        );
        assert!(
            e.to_string().starts_with("absent.csv: cannot read trace "),
            "{e}"
        );
    }

    #[test]
    fn accepts_comments_blanks_and_spaces() {
        let text = "# a comment\n\n time_s , clients \n# another\n0, 1\n\n  \n20 ,2.5\n1e2,0\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![(0.0, 1.0), (20.0, 2.5), (100.0, 0.0)]
        );
        assert_eq!(
            parse("time_s,clients\r\n0,1\r\n5,2\r\n").unwrap(),
            vec![(0.0, 1.0), (5.0, 2.0)]
        );
        assert_eq!(parse("time_s,clients\n0,1").unwrap(), vec![(0.0, 1.0)]);
    }

    #[test]
    fn value_column_name_comes_from_the_caller() {
        let points = parse_trace(b"time_s,rate\n0,3\n", "r.csv", "rate").unwrap();
        assert_eq!(points, vec![(0.0, 3.0)]);
        let e = parse_trace(b"time_s,clients\n0,3\n", "r.csv", "rate").unwrap_err();
        assert_eq!(
            e.to_string(),
            "r.csv:1: field `rate`: expected the header `time_s,rate`, found `time_s,clients`"
        );
    }

    #[test]
    fn empty_inputs_are_errors() {
        for text in ["", "\n\n", "# only a comment\n"] {
            let e = err(text);
            assert_eq!(at(&e), (None, None), "{text:?}");
            assert!(e.message.starts_with("trace is empty"), "{e}");
        }
        let e = err("# header only\ntime_s,clients\n# nothing\n");
        assert_eq!(at(&e), (Some(2), None));
        assert!(e.message.starts_with("trace has no data rows"), "{e}");
    }

    #[test]
    fn wrong_headers_are_errors() {
        let e = err("time,clients\n0,1\n");
        assert_eq!(at(&e), (Some(1), Some("time_s")));
        assert_eq!(
            e.message,
            "expected the header `time_s,clients`, found `time,clients`"
        );
        let e = err("# c\ntime_s,client\n0,1\n");
        assert_eq!(at(&e), (Some(2), Some("clients")));
        let e = err("time_s,clients,extra\n0,1,2\n");
        assert_eq!(at(&e), (Some(1), Some("extra")));
        let e = err("time_s\n0\n");
        assert_eq!(at(&e), (Some(1), Some("clients")));
        let e = err("Time_s,Clients\n0,1\n");
        assert_eq!(at(&e), (Some(1), Some("time_s")));
        // Data where the header should be.
        let e = err("0,1\n60,2\n");
        assert_eq!(at(&e), (Some(1), Some("time_s")));
    }

    #[test]
    fn wrong_numbers_of_fields_are_errors() {
        let e = err("time_s,clients\n0,1\n60,2,3\n");
        assert_eq!(at(&e), (Some(3), None));
        assert_eq!(e.message, "expected 2 fields (time_s,clients), found 3");
        let e = err("time_s,clients\n0\n");
        assert_eq!(at(&e), (Some(2), None));
        let e = err("time_s,clients\n0,1,\n");
        assert_eq!(at(&e), (Some(2), None));
    }

    #[test]
    fn bad_numbers_are_errors_naming_the_column() {
        let e = err("time_s,clients\n0,1\nsoon,2\n");
        assert_eq!(at(&e), (Some(3), Some("time_s")));
        assert_eq!(e.message, "`soon` is not a number");
        let e = err("time_s,clients\n0,many\n");
        assert_eq!(at(&e), (Some(2), Some("clients")));
        let e = err("time_s,clients\n0,\n");
        assert_eq!(at(&e), (Some(2), Some("clients")));
        assert_eq!(e.message, "is empty, expected a number");
        for bad in ["NaN", "inf", "-inf", "infinity", "1e999"] {
            let e = err(&format!("time_s,clients\n0,{bad}\n"));
            assert_eq!(at(&e), (Some(2), Some("clients")), "{bad}");
            assert!(e.message.starts_with("must be a finite number"), "{e}");
            let e = err(&format!("time_s,clients\n{bad},1\n"));
            assert_eq!(at(&e), (Some(2), Some("time_s")), "{bad}");
        }
    }

    #[test]
    fn negative_numbers_are_errors() {
        let e = err("time_s,clients\n-1,1\n");
        assert_eq!(at(&e), (Some(2), Some("time_s")));
        assert_eq!(e.message, "must not be negative, got -1");
        let e = err("time_s,clients\n0,1\n5,-0.5\n");
        assert_eq!(at(&e), (Some(3), Some("clients")));
        // Negative zero is zero.
        let points = parse("time_s,clients\n-0,-0\n").unwrap();
        assert!(points[0].0.is_sign_positive() && points[0].1.is_sign_positive());
    }

    #[test]
    fn a_trace_starting_after_0_s_is_refused() {
        let e = err("# c\ntime_s,clients\n\n60,5\n120,6\n");
        assert_eq!(at(&e), (Some(4), Some("time_s")));
        assert_eq!(
            e.message,
            "the first row is at 60 s, but a trace must start at 0 s: add a row `0,<clients>` \
             saying the load before 60 s"
        );
        let e = parse_trace(b"time_s,rate\n1e-9,3\n", "r.csv", "rate").unwrap_err();
        assert!(e.message.contains("`0,<rate>`"), "{e}");
    }

    #[test]
    fn line_numbers_stay_right_over_long_traces() {
        // Counting is incremental: check it against a direct count far into a file.
        let mut text = String::from("time_s,clients\n");
        for i in 0..5000 {
            if i % 7 == 0 {
                text.push_str("# comment\n\n");
            }
            text.push_str(&format!("{i},1\r\n"));
        }
        text.push_str("4999,1\n");
        let e = err(&text);
        assert_eq!(e.line, Some(text.lines().count()), "{e}");
        assert_eq!(e.field.as_deref(), Some("time_s"));
    }

    #[test]
    fn times_must_increase_strictly() {
        let e = err("time_s,clients\n0,1\n# c\n60,2\n60,3\n");
        assert_eq!(at(&e), (Some(5), Some("time_s")));
        assert_eq!(
            e.message,
            "times must be strictly increasing: 60 s follows 60 s on line 4"
        );
        let e = err("time_s,clients\n0,1\n60,2\n30,3\n");
        assert_eq!(at(&e), (Some(4), Some("time_s")));
        // Lines are physical lines, whatever the line endings and skipped lines.
        let e = err("time_s,clients\r\n\r\n0,1\r\n\r\n# c\r\n0,2\r\n");
        assert_eq!(at(&e), (Some(6), Some("time_s")));
        assert!(e.message.ends_with("on line 3"), "{e}");
    }

    #[test]
    fn invalid_utf8_is_an_error_with_its_line() {
        let e = parse_trace(b"time_s,clients\n0,1\n5,\xff\n", "t.csv", "clients").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.starts_with("not valid UTF-8"), "{e}");
    }
}
