//! Deserialize TOML into our types, turning every failure into one `InputError` that names the
//! file, the line and the field.
//!
//! `toml` alone reports a byte span (sometimes none, and a wrong one inside internally tagged
//! enums, whose contents serde buffers without spans) and a multi-line message with a source
//! snippet; `serde_path_to_error` alone reports the field path but no location. We combine them:
//! the path comes from `serde_path_to_error`, the line from walking the span-keeping parse tree
//! along that path (`locate::line_of`), and the toml span is only the fallback.

use serde::de::DeserializeOwned;
use toml_edit::{DocumentMut, ImDocument, TomlError};

use super::error::InputError;
use super::locate::{self, line_of, line_of_offset, Segment};

/// Deserialize the TOML `src` (read from `source`, the name shown to the user) into `T`.
///
/// Syntax errors carry the line of the offending text and no field. Data errors carry the field
/// path (`apps[0].tiers[1].cores`) and the line of that field in `src`: for an unknown key, the
/// path and line of that key; for a missing key, the path it should have had and the line of the
/// table that lacks it.
pub fn from_toml_str<T: DeserializeOwned>(src: &str, source: &str) -> Result<T, InputError> {
    // Check the syntax first so that syntax errors are never mistaken for data errors and get
    // `toml_edit`'s precise span.
    ImDocument::parse(src).map_err(|e| syntax_error(src, source, &e))?;
    serde_path_to_error::deserialize(toml::Deserializer::new(src))
        .map_err(|e| data_error(src, source, e.path(), e.inner()))
}

/// Parse `src` into an editable document (for `--set` overrides), reporting syntax errors with
/// their line.
pub fn parse_document(src: &str, source: &str) -> Result<DocumentMut, InputError> {
    src.parse::<DocumentMut>()
        .map_err(|e| syntax_error(src, source, &e))
}

/// A TOML syntax error: the line from its span, no field. Some parser errors come without a
/// message (a control character in a comment): say what is at the spot instead.
fn syntax_error(src: &str, source: &str, e: &TomlError) -> InputError {
    let at = e.span().map(|s| s.start);
    let mut message = one_line(e.message());
    if message.is_empty() {
        message = describe_position(src, at);
    }
    InputError::new(source, message).at_line(at.map(|a| line_of_offset(src, a)))
}

/// What is at byte `at` of `src`, for a parser error that says nothing: a control character is
/// named by its code point, since it is invisible in an editor.
fn describe_position(src: &str, at: Option<usize>) -> String {
    let Some(at) = at.filter(|&a| a <= src.len() && src.is_char_boundary(a)) else {
        return "invalid TOML".to_string();
    };
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    let column = src[line_start..at].chars().count() + 1;
    match src[at..].chars().next() {
        Some(c) if c.is_control() => format!(
            "invalid TOML: control character U+{:04X} at column {column} (not allowed, even in \
             a comment)",
            c as u32
        ),
        Some(c) => format!("invalid TOML: unexpected `{c}` at column {column}"),
        None => "invalid TOML: unexpected end of file".to_string(),
    }
}

/// Scenario text from raw bytes: invalid UTF-8 is reported with the line and column where it
/// starts.
pub fn text_of(bytes: Vec<u8>, source: &str) -> Result<String, InputError> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let line_start = bytes[..bad]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&bytes[line_start..bad])
            .chars()
            .count()
            + 1;
        let line = bytes[..bad].iter().filter(|&&b| b == b'\n').count() + 1;
        InputError::new(
            source,
            format!(
                "not valid UTF-8 text: byte 0x{:02X} at column {column} (save the file as UTF-8)",
                bytes[bad]
            ),
        )
        .at_line(Some(line))
    })
}

/// A well-formed document that does not fit `T`.
fn data_error(
    src: &str,
    source: &str,
    path: &serde_path_to_error::Path,
    e: &toml::de::Error,
) -> InputError {
    let message = one_line(e.message());
    let segments: Vec<Segment> = path
        .iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            // In TOML an externally tagged variant is written as a key.
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect();
    let path = locate::render_path(&segments);
    let span_line = e.span().map(|s| line_of_offset(src, s.start));
    let mut field = path.clone();
    let line;
    if let Some(unknown) = quoted_after(&message, "unknown field") {
        // The path already ends with the key when the deserializer saw it directly; inside
        // buffered content (internally tagged enums) it stops at the table: add the key.
        if segments.last() != Some(&Segment::Key(unknown.clone())) {
            locate::push_key(&mut field, &unknown);
        }
        line = line_of(src, &field).or(span_line);
        // An old name without its unit (`boot` for `boot_s`): say which key replaced it rather
        // than list every valid one.
        if let Some(hint) = unit_hint(&unknown, &message) {
            return InputError::new(source, hint).at_line(line).field(field);
        }
    } else if let Some(missing) = quoted_after(&message, "missing field") {
        // The key is not in the file: point at the table that should hold it. A key missing at
        // the top level belongs before the first table: point at line 1 and say so.
        locate::push_key(&mut field, &missing);
        if path.is_empty() {
            line = Some(1);
            return InputError::new(
                source,
                format!(
                    "missing key `{missing}`: it is required at the top level of the file \
                     (before the first [table])"
                ),
            )
            .at_line(line)
            .field(field);
        }
        line = line_of(src, &path).or(span_line);
    } else if let Some(variant) = quoted_after(&message, "unknown variant") {
        // Point at the tag holding the unknown variant (`kind = "..."`) when there is one.
        if let Some(key) = locate::variant_key(src, &path, &variant) {
            locate::push_key(&mut field, &key);
        }
        line = line_of(src, &field).or(span_line);
    } else {
        line = line_of(src, &path).or(span_line);
    }
    InputError::new(source, message).at_line(line).field(field)
}

/// Unit suffixes of scenario keys (convention: every duration, size and rate key carries its
/// unit), with the unit in words.
const UNIT_SUFFIXES: &[(&str, &str)] = &[
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("mb", "MB, 10^6 bytes"),
    ("mbps", "Mbit/s"),
    ("mb_per_s", "MB/s"),
    ("mb_per_cpu_s", "MB per CPU-second"),
    ("w", "watts"),
];

/// When `unknown` is a valid key of this table minus its unit suffix, the message naming the
/// key to use instead: "`boot` has no unit in its name: use `boot_s` (seconds)".
fn unit_hint(unknown: &str, message: &str) -> Option<String> {
    let expected = message.split_once("expected")?.1;
    let with_units: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|key| {
            let suffix = key.strip_prefix(unknown)?.strip_prefix('_')?;
            let (_, words) = UNIT_SUFFIXES.iter().find(|(s, _)| *s == suffix)?;
            Some(format!("`{key}` ({words})"))
        })
        .collect();
    if with_units.is_empty() {
        return None;
    }
    Some(format!(
        "`{unknown}` has no unit in its name: use {} (every duration, size and rate key carries \
         its unit)",
        with_units.join(" or ")
    ))
}

/// The text between the first pair of backticks in `message`, if it starts with `prefix`
/// (serde's "unknown field `x`, expected ...", "missing field `y`").
fn quoted_after(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

/// Parser messages may span lines ("invalid string\nexpected ..."); join them into one.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Scenario {
        name: String,
        #[serde(default)]
        seed: u64,
        engine: Engine,
        apps: Vec<App>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Engine {
        horizon_s: f64,
        #[serde(default)]
        warmup_s: f64,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct App {
        name: String,
        tiers: Vec<Tier>,
        #[serde(default)]
        demands: BTreeMap<String, f64>,
        arrival: Arrival,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Tier {
        cores: u32,
        #[serde(default)]
        points: Vec<(f64, f64)>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
    enum Arrival {
        Constant { rate: f64 },
        Steps { points: Vec<(f64, f64)> },
    }

    const VALID: &str = r#"name = "shop"
seed = 3

[engine]
horizon_s = 3600.0

[[apps]]
name = "web"
demands = { "View Item" = 2.5, Browse = 1.0 }
arrival = { kind = "constant", rate = 5.0 }

[[apps.tiers]]
cores = 2

[[apps.tiers]]
cores = 4
points = [[0, 1], [60, 5]]

[[apps]]
name = "db"
tiers = [{ cores = 1 }]

[apps.arrival]
kind = "steps"
points = [[0.0, 1.0], [60.0, 5.0]]
"#;

    /// Deserialize `VALID` with one line replaced, expecting an error.
    fn error_with(line: usize, replacement: &str) -> InputError {
        let src: Vec<&str> = VALID.lines().collect();
        let mut edited: Vec<&str> = src.clone();
        edited[line - 1] = replacement;
        let text = edited.join("\n") + "\n";
        match from_toml_str::<Scenario>(&text, "s.toml") {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    fn assert_at(e: &InputError, line: Option<usize>, field: Option<&str>) {
        assert_eq!(e.source, "s.toml", "{e}");
        assert_eq!(e.line, line, "{e}");
        assert_eq!(e.field.as_deref(), field, "{e}");
        assert!(!e.message.contains('\n'), "{e:?}");
        assert!(!e.message.is_empty(), "{e:?}");
    }

    #[test]
    fn valid_document_deserializes() {
        let s: Scenario = from_toml_str(VALID, "s.toml").unwrap();
        assert_eq!(s.name, "shop");
        assert_eq!(s.apps.len(), 2);
        assert_eq!(s.apps[0].tiers[1].points, vec![(0.0, 1.0), (60.0, 5.0)]);
        assert_eq!(s.apps[0].demands["View Item"], 2.5);
        assert_eq!(s.apps[0].arrival, Arrival::Constant { rate: 5.0 });
        assert_eq!(
            s.apps[1].arrival,
            Arrival::Steps {
                points: vec![(0.0, 1.0), (60.0, 5.0)]
            }
        );
    }

    #[test]
    fn wrong_types_name_the_field_and_its_line() {
        let e = error_with(16, "cores = \"four\"");
        assert_at(&e, Some(16), Some("apps[0].tiers[1].cores"));
        assert!(e.message.contains("invalid type"), "{e}");
        assert_eq!(
            e.to_string(),
            format!("s.toml:16: field `apps[0].tiers[1].cores`: {}", e.message)
        );

        let e = error_with(5, "horizon_s = true");
        assert_at(&e, Some(5), Some("engine.horizon_s"));

        let e = error_with(1, "name = 5");
        assert_at(&e, Some(1), Some("name"));

        let e = error_with(16, "cores = -4");
        assert_at(&e, Some(16), Some("apps[0].tiers[1].cores"));

        let e = error_with(9, r#"demands = { "View Item" = "x", Browse = 1.0 }"#);
        assert_at(&e, Some(9), Some(r#"apps[0].demands."View Item""#));

        let e = error_with(17, "points = [[0, 1], [60, \"x\"]]");
        assert_at(&e, Some(17), Some("apps[0].tiers[1].points[1][1]"));

        let e = error_with(21, "tiers = [{ cores = 1 }, { cores = 1.5 }]");
        assert_at(&e, Some(21), Some("apps[1].tiers[1].cores"));

        let e = error_with(2, "seed = \"x\"");
        assert_at(&e, Some(2), Some("seed"));
    }

    #[test]
    fn errors_inside_internally_tagged_enums_point_at_the_enum() {
        // Serde buffers the enum's contents, so the path stops at the enum; the line is still
        // right because it comes from the path, not from the (lost) span.
        let e = error_with(25, "points = [[0.0, 1.0], [60.0, \"x\"]]");
        assert_at(&e, Some(23), Some("apps[1].arrival"));

        let e = error_with(10, r#"arrival = { kind = "constant", rate = "fast" }"#);
        assert_at(&e, Some(10), Some("apps[0].arrival"));
    }

    #[test]
    fn unknown_keys_name_the_key_and_its_line() {
        let e = error_with(13, "coress = 2");
        assert_at(&e, Some(13), Some("apps[0].tiers[0].coress"));
        assert!(e.message.starts_with("unknown field `coress`"), "{e}");

        let e = error_with(2, "sed = 3");
        assert_at(&e, Some(2), Some("sed"));

        let e = error_with(5, "horizon = 3600.0");
        assert_at(&e, Some(5), Some("engine.horizon"));

        // Inside an internally tagged enum, found through the path of the enum.
        let e = error_with(25, "pointz = [[0.0, 1.0]]");
        assert_at(&e, Some(25), Some("apps[1].arrival.pointz"));

        let e = error_with(
            10,
            r#"arrival = { kind = "constant", rate = 5.0, burst = 2 }"#,
        );
        assert_at(&e, Some(10), Some("apps[0].arrival.burst"));

        let e = error_with(21, "tiers = [{ cores = 1, spare = true }]");
        assert_at(&e, Some(21), Some("apps[1].tiers[0].spare"));
    }

    #[test]
    fn missing_keys_name_the_key_and_the_table_line() {
        let e = error_with(16, "");
        assert_at(&e, Some(15), Some("apps[0].tiers[1].cores"));
        assert!(e.message.starts_with("missing field `cores`"), "{e}");

        let e = error_with(5, "");
        assert_at(&e, Some(4), Some("engine.horizon_s"));

        let e = error_with(1, "");
        assert_at(&e, Some(1), Some("name"));
        assert_eq!(
            e.message,
            "missing key `name`: it is required at the top level of the file (before the first \
             [table])"
        );

        let e = error_with(21, "tiers = [{ points = [] }]");
        assert_at(&e, Some(21), Some("apps[1].tiers[0].cores"));

        let e = error_with(10, r#"arrival = { kind = "constant" }"#);
        assert_at(&e, Some(10), Some("apps[0].arrival.rate"));

        let e = error_with(10, r#"arrival = { rate = 5.0 }"#);
        assert_at(&e, Some(10), Some("apps[0].arrival.kind"));

        let e = error_with(10, "");
        assert_at(&e, Some(7), Some("apps[0].arrival"));
    }

    #[test]
    fn unknown_variants_point_at_the_tag() {
        let e = error_with(24, "kind = \"stepz\"");
        assert_at(&e, Some(24), Some("apps[1].arrival.kind"));
        assert!(e.message.starts_with("unknown variant `stepz`"), "{e}");

        let e = error_with(10, r#"arrival = { kind = "constnt", rate = 5.0 }"#);
        assert_at(&e, Some(10), Some("apps[0].arrival.kind"));
    }

    #[test]
    fn syntax_errors_give_the_line_and_no_field() {
        let e = error_with(16, "cores = ");
        assert_at(&e, Some(16), None);

        let e = error_with(12, "[[apps.tiers]");
        assert_at(&e, Some(12), None);

        let e = error_with(9, "demands = { \"View Item = 2.5 }");
        assert_at(&e, Some(9), None);

        // A duplicate key is a syntax error in TOML.
        let e = error_with(2, "name = \"again\"");
        assert_at(&e, Some(2), None);
        assert!(e.message.contains("duplicate"), "{e}");

        let e = parse_document("a = 1\nb = [1,\n", "x.toml").unwrap_err();
        assert_eq!(e.source, "x.toml");
        assert_eq!(e.field, None);
        assert_eq!(e.line, Some(3), "{e}");
        assert!(!e.message.contains('\n'));
    }

    #[test]
    fn messageless_parser_errors_say_what_is_at_the_spot() {
        let e = from_toml_str::<Scenario>("# a \u{1} comment\nname = 1\n", "s.toml").unwrap_err();
        assert_at(&e, Some(1), None);
        assert_eq!(
            e.message,
            "invalid TOML: control character U+0001 at column 5 (not allowed, even in a comment)"
        );
        let e = parse_document("a = 1\n# \u{7f}\n", "s.toml").unwrap_err();
        assert_at(&e, Some(2), None);
        assert!(e.message.contains("U+007F"), "{e}");
        assert_eq!(
            describe_position("ab", Some(2)),
            "invalid TOML: unexpected end of file"
        );
        assert_eq!(describe_position("ab", None), "invalid TOML");
    }

    #[test]
    fn invalid_utf8_names_its_line_and_column() {
        let e = text_of(b"a = 1\nname = \"\xc3\xa9\xff\"\n".to_vec(), "s.toml").unwrap_err();
        assert_at(&e, Some(2), None);
        assert_eq!(
            e.message,
            "not valid UTF-8 text: byte 0xFF at column 10 (save the file as UTF-8)"
        );
        assert_eq!(text_of(b"ok".to_vec(), "s.toml").unwrap(), "ok");
    }

    #[test]
    fn parse_document_keeps_the_document() {
        let doc = parse_document(VALID, "s.toml").unwrap();
        assert_eq!(doc["name"].as_str(), Some("shop"));
        assert_eq!(doc.to_string(), VALID);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            quoted_after("unknown field `x`, expected `a`", "unknown field").as_deref(),
            Some("x")
        );
        assert_eq!(
            quoted_after("missing field `y`", "missing field").as_deref(),
            Some("y")
        );
        assert_eq!(quoted_after("missing field y", "missing field"), None);
        assert_eq!(quoted_after("other", "missing field"), None);
        assert_eq!(
            one_line("invalid string\n  expected `\"`\n"),
            "invalid string; expected `\"`"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
            let _ = from_toml_str::<Scenario>(&src, "p.toml");
            let _ = from_toml_str::<toml::Value>(&src, "p.toml");
            let _ = parse_document(&src, "p.toml");
        }

        #[test]
        fn tomlish_text_never_panics(src in "[a-z\\[\\]{}=,.\"' \n0-9#-]{0,200}") {
            let _ = from_toml_str::<Scenario>(&src, "p.toml");
            let _ = parse_document(&src, "p.toml");
        }

        #[test]
        fn mutated_documents_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)
        ) {
            let mut bytes = VALID.as_bytes().to_vec();
            for (at, byte, op) in edits {
                let i = at.index(bytes.len().max(1));
                match op {
                    0 if i < bytes.len() => bytes[i] = byte,
                    1 => bytes.insert(i.min(bytes.len()), byte),
                    _ if i < bytes.len() => { bytes.remove(i); }
                    _ => {}
                }
            }
            let src = String::from_utf8_lossy(&bytes);
            let result = from_toml_str::<Scenario>(&src, "p.toml");
            if let Err(e) = result {
                prop_assert!(!e.message.contains('\n'));
                if let Some(line) = e.line {
                    prop_assert!(line >= 1 && line <= src.lines().count() + 1);
                }
            }
        }
    }
}
