//! Errors in what a user gave us: scenario files, traces, transition tables, `--set` arguments.
//!
//! Each names where the problem is (file, line, field) and what it is, on one line, so that the
//! CLI can print it and exit with code 2.

use std::fmt;

/// A problem with user input: a scenario, a trace, a table, a command-line argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file (as the user named it) or the argument (e.g. `--set apps[0].name=x`).
    pub source: String,
    /// 1-based line in `source`, when known.
    pub line: Option<usize>,
    /// The field, as a dotted path with indices (`apps[0].tiers[1].cores`) or a column name.
    pub field: Option<String>,
    /// What is wrong, in plain words.
    pub message: String,
}

impl InputError {
    pub fn new(source: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            source: source.into(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        let f = field.into();
        self.field = if f.is_empty() { None } else { Some(f) };
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        // Keep the message on one line whatever the underlying parser produced.
        let message = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        write!(f, ": {message}")
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_field_on_one_line() {
        let e = InputError::new("s.toml", "must be greater than 0\n(got 0)")
            .at_line(Some(12))
            .field("apps[0].tiers[1].cores");
        assert_eq!(
            e.to_string(),
            "s.toml:12: field `apps[0].tiers[1].cores`: must be greater than 0 (got 0)"
        );
        assert_eq!(InputError::new("x", "bad").to_string(), "x: bad");
    }
}
