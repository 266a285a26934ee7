//! Map a field path (`apps[0].tiers[1].cores`) to the line of the TOML source that holds it.
//!
//! Deserializers report *which* field is wrong but not always *where*: serde's buffering of
//! internally tagged enums and flattened structs drops the source spans. Walking the span-keeping
//! `toml_edit` parse tree by path recovers the line in every case, so it is the primary source of
//! line numbers for input errors; spans reported by the deserializer are only a fallback.
//!
//! The path syntax is shared with error messages and `--set` arguments: keys separated by dots,
//! array indices in brackets (`points[1][0]`), keys that are not bare TOML keys quoted
//! (`demands."View Item"`). A purely numeric dotted segment (`apps.0`) is an index too, which is
//! why a key made only of digits is always rendered quoted.

use std::fmt::Write as _;
use std::ops::Range;

use toml_edit::{Array, ArrayOfTables, ImDocument, InlineTable, Item, Table, Value};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// A key of a table or inline table.
    Key(String),
    /// An index into an array or array of tables.
    Index(usize),
}

/// Split a path such as `apps[0].tiers[1].cores`, `apps.0.name` or `demands."View Item"` into
/// segments.
///
/// Errors are plain sentences (no source or line), for the caller to wrap in an `InputError`.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let path = path.trim();
    if path.is_empty() {
        return Err("the field path is empty".to_string());
    }
    let chars: Vec<char> = path.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    // `true` when a key is required next: at the start and right after a dot.
    let mut need_key = true;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            let close = chars[i + 1..]
                .iter()
                .position(|&c| c == ']')
                .map(|p| p + i + 1)
                .ok_or_else(|| format!("unclosed `[` in field path `{path}`"))?;
            let inner: String = chars[i + 1..close].iter().collect();
            let index = parse_index(inner.trim()).ok_or_else(|| {
                format!("`[{inner}]` in field path `{path}` is not an array index")
            })?;
            if need_key && segments.is_empty() {
                return Err(format!(
                    "field path `{path}` starts with an index; it must start with a key"
                ));
            }
            if need_key {
                return Err(format!(
                    "field path `{path}` has an index right after a dot"
                ));
            }
            segments.push(Segment::Index(index));
            i = close + 1;
        } else if c == '.' {
            if need_key {
                return Err(format!("field path `{path}` has an empty key"));
            }
            need_key = true;
            i += 1;
        } else {
            if !need_key {
                return Err(format!(
                    "field path `{path}` needs a dot or `[` before `{}`",
                    chars[i..].iter().collect::<String>()
                ));
            }
            if c == '"' || c == '\'' {
                let (key, next) = parse_quoted(&chars, i)
                    .ok_or_else(|| format!("unclosed quote in field path `{path}`"))?;
                segments.push(Segment::Key(key));
                i = next;
                // Only whitespace may separate a quoted key from what follows.
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
            } else {
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '.' || c == '[' || c == ']')
                    .map_or(chars.len(), |p| p + i);
                if chars.get(end) == Some(&']') {
                    return Err(format!("unmatched `]` in field path `{path}`"));
                }
                let bare: String = chars[i..end].iter().collect();
                let bare = bare.trim();
                if bare.is_empty() {
                    return Err(format!("field path `{path}` has an empty key"));
                }
                if bare.contains('"') || bare.contains('\'') {
                    return Err(format!("misplaced quote in field path `{path}`"));
                }
                match parse_index(bare) {
                    Some(index) if !segments.is_empty() => segments.push(Segment::Index(index)),
                    _ => segments.push(Segment::Key(bare.to_string())),
                }
                i = end;
            }
            need_key = false;
        }
    }
    if need_key {
        return Err(format!("field path `{path}` ends with a dot"));
    }
    Ok(segments)
}

/// A purely decimal segment. Signs and spaces are not indices.
fn parse_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Read a quoted key starting at `chars[start]` (`"` with `\"`/`\\` escapes, or a literal `'`).
/// Returns the key and the index just past the closing quote.
fn parse_quoted(chars: &[char], start: usize) -> Option<(String, usize)> {
    let quote = chars[start];
    let mut key = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Some((key, i + 1));
        }
        if quote == '"' && c == '\\' {
            let next = *chars.get(i + 1)?;
            key.push(match next {
                'n' => '\n',
                't' => '\t',
                other => other,
            });
            i += 2;
        } else {
            key.push(c);
            i += 1;
        }
    }
    None
}

/// Render segments in the canonical syntax: `apps[0].tiers[1].cores`, `demands."View Item"`.
pub fn render_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => push_key(&mut out, key),
            Segment::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    out
}

/// Append `.key` (or `key` at the start), quoting keys that are not bare TOML keys or that are
/// made only of digits (which would otherwise read as an index).
pub fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !key.bytes().all(|b| b.is_ascii_digit());
    if bare {
        out.push_str(key);
    } else {
        out.push('"');
        for c in key.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// 1-based line of a byte offset into `src`. Offsets past the end give the last line.
pub fn line_of_offset(src: &str, byte_offset: usize) -> usize {
    let end = byte_offset.min(src.len());
    src.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A node of the parse tree, whichever of `toml_edit`'s types holds it.
#[derive(Clone, Copy)]
enum Node<'a> {
    Table(&'a Table),
    InlineTable(&'a InlineTable),
    Array(&'a Array),
    ArrayOfTables(&'a ArrayOfTables),
    Scalar,
}

impl<'a> Node<'a> {
    fn of_item(item: &'a Item) -> Self {
        match item {
            Item::Table(t) => Node::Table(t),
            Item::ArrayOfTables(a) => Node::ArrayOfTables(a),
            Item::Value(v) => Node::of_value(v),
            Item::None => Node::Scalar,
        }
    }

    fn of_value(value: &'a Value) -> Self {
        match value {
            Value::InlineTable(t) => Node::InlineTable(t),
            Value::Array(a) => Node::Array(a),
            _ => Node::Scalar,
        }
    }

    /// The child at `segment`, with the span that best locates it (its key, else its value).
    fn child(self, segment: &Segment) -> Option<(Node<'a>, Option<Range<usize>>)> {
        match (self, segment) {
            (Node::Table(t), Segment::Key(k)) => {
                let (key, item) = t.get_key_value(k)?;
                Some((Node::of_item(item), key.span().or_else(|| item.span())))
            }
            (Node::InlineTable(t), Segment::Key(k)) => {
                let (key, item) = t.get_key_value(k)?;
                Some((Node::of_item(item), key.span().or_else(|| item.span())))
            }
            (Node::ArrayOfTables(a), Segment::Index(i)) => {
                let table = a.get(*i)?;
                Some((Node::Table(table), table.span()))
            }
            (Node::Array(a), Segment::Index(i)) => {
                let value = a.get(*i)?;
                Some((Node::of_value(value), value.span()))
            }
            _ => None,
        }
    }
}

/// 1-based line of the deepest existing item along `path` in the TOML `src`.
///
/// The line is that of the item's key when the parser kept its span, else of its value, else of
/// its table header. Returns `None` when the source is not valid TOML, the path does not parse,
/// or not even the first segment exists. Never panics.
pub fn line_of(src: &str, path: &str) -> Option<usize> {
    let segments = parse_path(path).ok()?;
    let doc = ImDocument::parse(src).ok()?;
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for segment in &segments {
        let Some((child, span)) = node.child(segment) else {
            break;
        };
        if let Some(span) = span {
            best = Some(line_of_offset(src, span.start));
        }
        node = child;
    }
    best
}

/// In the table at `path`, the key that names enum variant `variant`: the key itself (externally
/// tagged enums, `arrival = { constant = { .. } }`) or the tag key whose string value is the
/// variant (internally tagged enums, `kind = "constant"`).
///
/// Serde reports an unknown variant at the enum's path; this lets the error point at the tag that
/// holds the typo rather than at the enclosing table.
pub fn variant_key(src: &str, path: &str, variant: &str) -> Option<String> {
    let segments = parse_path(path).ok()?;
    let doc = ImDocument::parse(src).ok()?;
    let mut node = Node::Table(doc.as_table());
    for segment in &segments {
        node = node.child(segment)?.0;
    }
    let is_variant = |v: Option<&Value>| v.and_then(Value::as_str) == Some(variant);
    match node {
        Node::Table(t) => {
            if t.contains_key(variant) {
                return Some(variant.to_string());
            }
            t.iter()
                .find(|(_, item)| is_variant(item.as_value()))
                .map(|(k, _)| k.to_string())
        }
        Node::InlineTable(t) => {
            if t.contains_key(variant) {
                return Some(variant.to_string());
            }
            t.iter()
                .find(|(_, v)| is_variant(Some(v)))
                .map(|(k, _)| k.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"# a scenario
name = "shop"
seed = 7

[engine]
horizon_s = 3600
warmup.seconds = 60

[[apps]]
name = "web"
demands = { "View Item" = 2.5, Browse = 1 }
points = [[0, 1], [60, 5]]

[[apps.tiers]]
cores = 2

[[apps.tiers]]
cores = 4
arrival = { kind = "constant", value = 5 }

[[apps]]
name = "db"
curve = [
  [0, 1],
  [60, 5],
]

[apps.limits]
max = 3
"#;

    #[test]
    fn parses_and_renders_paths() {
        use Segment::*;
        let k = |s: &str| Key(s.to_string());
        assert_eq!(
            parse_path("apps[0].tiers[1].cores").unwrap(),
            vec![k("apps"), Index(0), k("tiers"), Index(1), k("cores")]
        );
        assert_eq!(
            parse_path("apps.0.tiers.1.cores").unwrap(),
            vec![k("apps"), Index(0), k("tiers"), Index(1), k("cores")]
        );
        assert_eq!(
            parse_path(r#"demands."View Item""#).unwrap(),
            vec![k("demands"), k("View Item")]
        );
        assert_eq!(
            parse_path(r#"a."x\"y".'0'"#).unwrap(),
            vec![k("a"), k("x\"y"), k("0")]
        );
        assert_eq!(
            parse_path("points[1][0]").unwrap(),
            vec![k("points"), Index(1), Index(0)]
        );
        // A numeric first segment can only be a key: the root is a table.
        assert_eq!(parse_path("0").unwrap(), vec![k("0")]);
        for bad in [
            "", "a..b", "a.", ".a", "[0]", "a[x]", "a[0", "a]", "a.\"b", "a[0]b", "a.[0]",
        ] {
            assert!(parse_path(bad).is_err(), "{bad:?} should not parse");
        }
        let segments = parse_path(r#"apps[0].demands."View Item".x"#).unwrap();
        assert_eq!(render_path(&segments), r#"apps[0].demands."View Item".x"#);
        assert_eq!(render_path(&[k("a"), k("7"), Index(7)]), r#"a."7"[7]"#);
        assert_eq!(
            render_path(&parse_path(r#"a."7"[7]"#).unwrap()),
            r#"a."7"[7]"#
        );
    }

    #[test]
    fn line_of_offset_is_one_based() {
        let src = "a = 1\nb = 2\n";
        assert_eq!(line_of_offset(src, 0), 1);
        assert_eq!(line_of_offset(src, 5), 1);
        assert_eq!(line_of_offset(src, 6), 2);
        assert_eq!(line_of_offset(src, 1000), 3);
        assert_eq!(line_of_offset("", 3), 1);
    }

    #[test]
    fn finds_keys_in_root_and_tables() {
        assert_eq!(line_of(DOC, "name"), Some(2));
        assert_eq!(line_of(DOC, "seed"), Some(3));
        assert_eq!(line_of(DOC, "engine"), Some(5));
        assert_eq!(line_of(DOC, "engine.horizon_s"), Some(6));
        assert_eq!(line_of(DOC, "engine.warmup.seconds"), Some(7));
    }

    #[test]
    fn finds_items_in_arrays_of_tables() {
        assert_eq!(line_of(DOC, "apps"), Some(9));
        assert_eq!(line_of(DOC, "apps[0]"), Some(9));
        assert_eq!(line_of(DOC, "apps[0].name"), Some(10));
        assert_eq!(line_of(DOC, "apps[0].tiers[0]"), Some(14));
        assert_eq!(line_of(DOC, "apps[0].tiers[1].cores"), Some(18));
        assert_eq!(line_of(DOC, "apps.0.tiers.1.cores"), Some(18));
        assert_eq!(line_of(DOC, "apps[1]"), Some(21));
        assert_eq!(line_of(DOC, "apps[1].name"), Some(22));
        assert_eq!(line_of(DOC, "apps[1].limits.max"), Some(29));
    }

    #[test]
    fn finds_items_in_inline_tables_and_arrays() {
        assert_eq!(line_of(DOC, r#"apps[0].demands."View Item""#), Some(11));
        assert_eq!(line_of(DOC, "apps[0].demands.Browse"), Some(11));
        assert_eq!(line_of(DOC, "apps[0].points[1][0]"), Some(12));
        assert_eq!(line_of(DOC, "apps[0].tiers[1].arrival.kind"), Some(19));
        assert_eq!(line_of(DOC, "apps[1].curve"), Some(23));
        assert_eq!(line_of(DOC, "apps[1].curve[1]"), Some(25));
        assert_eq!(line_of(DOC, "apps[1].curve[1][1]"), Some(25));
    }

    #[test]
    fn falls_back_to_the_deepest_existing_item() {
        assert_eq!(line_of(DOC, "apps[0].tiers[1].missing"), Some(17));
        assert_eq!(line_of(DOC, "apps[0].tiers[7].cores"), Some(14));
        assert_eq!(line_of(DOC, "apps[5]"), Some(9));
        assert_eq!(line_of(DOC, "engine.horizon_s.deeper"), Some(6));
        assert_eq!(line_of(DOC, "apps[0].points[9]"), Some(12));
        assert_eq!(line_of(DOC, "engine[0]"), Some(5));
        assert_eq!(line_of(DOC, "nothing.here"), None);
        assert_eq!(line_of(DOC, ""), None);
    }

    #[test]
    fn finds_the_key_naming_a_variant() {
        let src = "[a]\nkind = \"constnt\"\nrate = 1\n[b]\nconstnt = { rate = 1 }\n";
        assert_eq!(variant_key(src, "a", "constnt").as_deref(), Some("kind"));
        assert_eq!(variant_key(src, "b", "constnt").as_deref(), Some("constnt"));
        assert_eq!(variant_key(src, "a", "other"), None);
        assert_eq!(variant_key(src, "a.kind", "constnt"), None);
        assert_eq!(variant_key(src, "zzz", "constnt"), None);
        let inline = "x = { kind = \"steps\", points = [] }";
        assert_eq!(variant_key(inline, "x", "steps").as_deref(), Some("kind"));
    }

    #[test]
    fn invalid_toml_gives_none() {
        assert_eq!(line_of("a = = 1", "a"), None);
        assert_eq!(line_of("[a\nb = 1", "a.b"), None);
        assert_eq!(line_of("", "a"), None);
    }
}
