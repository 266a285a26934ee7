//! `--set dotted.path=value` overrides, applied to the parsed scenario before it is deserialized.
//!
//! Overrides edit the `toml_edit` document rather than the deserialized structs so that every
//! field, including defaults that the file does not write, can be overridden with no per-field
//! code, and so that the result goes through exactly the same deserialization and validation as
//! the file itself. Each applied override is remembered (`Override`) so that an error in a value
//! that came from the command line can name the `--set` argument instead of a file line
//! (`covering`).

use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

use super::error::InputError;
use super::locate::{parse_path, render_path, Segment};

/// An override that has been applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The argument as given: `path=value`.
    pub arg: String,
    /// The path in canonical form: `apps[0].tiers[1].cores`.
    pub path: String,
}

/// Apply one `--set` argument (`path=value`) to `doc`.
///
/// The path may use dots or brackets for indices (`apps.0.cores`, `apps[0].cores`); a purely
/// numeric segment always indexes an array (quote it, `"0"`, to mean a key). The value is a TOML
/// value (`4`, `2.5`, `true`, `"text"`, `[1, 2]`, `{ kind = "constant", value = 5 }`) or, when it
/// does not parse as one, a bare string, so `apps[0].name=shop` works. A value that starts like a
/// string, array or inline table but does not parse is an error rather than a surprising string.
///
/// Missing keys in tables and inline tables are created (as tables), so values the file leaves
/// to their defaults can be set. Array indices must exist: an override cannot grow a list.
/// Errors have source `--set <arg>`.
pub fn apply_set(doc: &mut DocumentMut, arg: &str) -> Result<Override, InputError> {
    let source = format!("--set {arg}");
    let error = |message: String| InputError::new(source.clone(), message);
    let (path_text, value_text) = split_assignment(arg).ok_or_else(|| {
        error("expected `path=value`, e.g. `apps[0].tiers[1].cores=4`".to_string())
    })?;
    let segments = parse_path(path_text).map_err(error)?;
    let path = render_path(&segments);
    let value = parse_value(value_text).map_err(|m| error(m).field(path.as_str()))?;
    set_in_table(doc.as_table_mut(), &segments, 0, value)
        .map_err(|m| error(m).field(path.as_str()))?;
    Ok(Override {
        arg: arg.to_string(),
        path,
    })
}

/// The override that set `field_path` or one of its ancestors, preferring the most specific
/// (longest path) and, among equal paths, the last one given (the one that took effect).
///
/// `field_path` is in canonical form (as `InputError::field` and `Override::path` are); an
/// override covers it when its path equals it or is a prefix ending at a segment boundary, so
/// `apps[1]` covers `apps[1].name` and `apps[1].points[0]` but not `apps[10].name`.
pub fn covering<'a>(overrides: &'a [Override], field_path: &str) -> Option<&'a Override> {
    overrides
        .iter()
        .filter(|o| {
            field_path
                .strip_prefix(o.path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
        // `max_by_key` returns the last of equal maxima, i.e. the override that took effect.
        .max_by_key(|o| o.path.len())
}

/// Split at the first `=` that is not inside a quoted key (`demands."a=b"=3`).
pub fn split_assignment(arg: &str) -> Option<(&str, &str)> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in arg.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '=' => return Some((&arg[..i], &arg[i + 1..])),
            None => {}
        }
    }
    None
}

/// A TOML value, or the text itself as a string.
fn parse_value(text: &str) -> Result<Value, String> {
    let text = text.trim();
    match text.parse::<Value>() {
        Ok(mut value) => {
            value.decor_mut().clear();
            Ok(value)
        }
        Err(e) if text.starts_with(['"', '\'', '[', '{']) => Err(format!(
            "`{text}` is not a valid TOML value: {}",
            e.message()
                .lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("; ")
        )),
        Err(_) if is_integer_text(text) => Err(format!(
            "`{text}` is out of range: TOML integers are from {} to {}",
            i64::MIN,
            i64::MAX
        )),
        Err(_) => Ok(Value::from(text)),
    }
}

/// Digits with an optional sign: an integer, whatever its size (so a too large one is an error,
/// not silently the string of its digits).
fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `walked` renders the first `depth` segments, for messages.
fn walked(segments: &[Segment], depth: usize) -> String {
    render_path(&segments[..depth])
}

fn elements(n: usize) -> String {
    if n == 1 {
        "1 element".to_string()
    } else {
        format!("{n} elements")
    }
}

fn out_of_range(segments: &[Segment], depth: usize, len: usize, index: usize) -> String {
    format!(
        "{} has {}, index {index} is out of range",
        walked(segments, depth),
        elements(len)
    )
}

/// Indexing a table: numeric segments are indices, so hint at quoting for a numeric key.
fn not_an_array(segments: &[Segment], depth: usize, index: usize) -> String {
    let at = walked(segments, depth);
    let at = if at.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{at}`")
    };
    format!("{at} is a table, not an array, so it has no element [{index}] (to use `{index}` as a key, quote it: \"{index}\")")
}

fn key_in_array(segments: &[Segment], depth: usize, key: &str) -> String {
    let at = walked(segments, depth);
    format!("`{at}` is an array; select an element before `{key}`, e.g. `{at}[0].{key}`")
}

/// Keep the formatting (spacing, trailing comment) of the value being replaced.
fn with_decor_of(mut value: Value, old: &Value) -> Value {
    *value.decor_mut() = old.decor().clone();
    value
}

fn set_in_table(
    t: &mut Table,
    segments: &[Segment],
    depth: usize,
    value: Value,
) -> Result<(), String> {
    match &segments[depth] {
        Segment::Index(i) => Err(not_an_array(segments, depth, *i)),
        Segment::Key(k) => {
            if depth + 1 == segments.len() {
                match t.get_mut(k) {
                    Some(Item::Value(old)) => *old = with_decor_of(value, old),
                    Some(item) => *item = Item::Value(value),
                    None => {
                        t.insert(k, Item::Value(value));
                    }
                }
                return Ok(());
            }
            let missing = match t.get(k) {
                None => true,
                Some(item) => item.is_none(),
            };
            if missing {
                // A dotted table (`k.rest = value`) stays inside this table's section instead
                // of adding a `[header]` at the end of the document.
                let mut created = Table::new();
                created.set_dotted(true);
                t.insert(k, Item::Table(created));
            }
            let child = t.get_mut(k).expect("just checked or inserted");
            set_in_item(child, segments, depth + 1, value)
        }
    }
}

fn set_in_item(
    item: &mut Item,
    segments: &[Segment],
    depth: usize,
    value: Value,
) -> Result<(), String> {
    match item {
        Item::Table(t) => set_in_table(t, segments, depth, value),
        Item::ArrayOfTables(a) => set_in_array_of_tables(a, segments, depth, value),
        Item::Value(v) => set_in_value(v, segments, depth, value),
        Item::None => Err(format!("`{}` has no value", walked(segments, depth))),
    }
}

fn set_in_array_of_tables(
    a: &mut ArrayOfTables,
    segments: &[Segment],
    depth: usize,
    value: Value,
) -> Result<(), String> {
    match &segments[depth] {
        Segment::Key(k) => Err(key_in_array(segments, depth, k)),
        Segment::Index(i) => {
            let len = a.len();
            let Some(table) = a.get_mut(*i) else {
                return Err(out_of_range(segments, depth, len, *i));
            };
            if depth + 1 < segments.len() {
                return set_in_table(table, segments, depth + 1, value);
            }
            // An element of an array of tables must stay a table.
            match value {
                Value::InlineTable(inline) => {
                    let position = table.position();
                    let decor = table.decor().clone();
                    *table = inline.into_table();
                    if let Some(position) = position {
                        table.set_position(position);
                    }
                    *table.decor_mut() = decor;
                    Ok(())
                }
                other => Err(format!(
                    "`{}` is a table in an array of tables; it can only be replaced by an inline table such as `{{ name = \"x\" }}`, not by {} {}",
                    walked(segments, depth + 1),
                    article(other.type_name()),
                    other.type_name()
                )),
            }
        }
    }
}

fn set_in_value(
    v: &mut Value,
    segments: &[Segment],
    depth: usize,
    value: Value,
) -> Result<(), String> {
    match v {
        Value::InlineTable(t) => set_in_inline_table(t, segments, depth, value),
        Value::Array(a) => match &segments[depth] {
            Segment::Key(k) => Err(key_in_array(segments, depth, k)),
            Segment::Index(i) => {
                let len = a.len();
                if *i >= len {
                    return Err(out_of_range(segments, depth, len, *i));
                }
                if depth + 1 == segments.len() {
                    a.replace(*i, value);
                    return Ok(());
                }
                let element = a.get_mut(*i).expect("index checked");
                set_in_value(element, segments, depth + 1, value)
            }
        },
        scalar => Err(format!(
            "`{}` is {} {}, not a table or an array, so it has no field `{}`",
            walked(segments, depth),
            article(scalar.type_name()),
            scalar.type_name(),
            render_path(&segments[depth..]).trim_start_matches('.')
        )),
    }
}

fn set_in_inline_table(
    t: &mut InlineTable,
    segments: &[Segment],
    depth: usize,
    value: Value,
) -> Result<(), String> {
    match &segments[depth] {
        Segment::Index(i) => Err(not_an_array(segments, depth, *i)),
        Segment::Key(k) => {
            if depth + 1 == segments.len() {
                match t.get_mut(k) {
                    Some(old) => *old = with_decor_of(value, old),
                    None => {
                        t.insert(k, value);
                    }
                }
                return Ok(());
            }
            if t.get(k).is_none() {
                t.insert(k, Value::InlineTable(InlineTable::new()));
            }
            let child = t.get_mut(k).expect("just checked or inserted");
            set_in_value(child, segments, depth + 1, value)
        }
    }
}

fn article(type_name: &str) -> &'static str {
    if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"name = "shop"
seed = 7 # the seed

[engine]
horizon_s = 3600

[[apps]]
name = "web"
points = [[0, 1], [60, 5]]
arrival = { kind = "constant", value = 5 }

[[apps.tiers]]
cores = 2

[[apps.tiers]]
cores = 4
"#;

    fn doc() -> DocumentMut {
        DOC.parse().unwrap()
    }

    fn set(doc: &mut DocumentMut, arg: &str) -> Override {
        apply_set(doc, arg).unwrap_or_else(|e| panic!("{arg}: {e}"))
    }

    fn set_err(arg: &str) -> InputError {
        let mut d = doc();
        let e = apply_set(&mut d, arg).expect_err(arg);
        assert_eq!(e.source, format!("--set {arg}"));
        assert_eq!(
            d.to_string(),
            DOC,
            "a failed override must not change the document"
        );
        e
    }

    /// The edited document must still be valid TOML, with the value where we put it.
    fn reparsed(doc: &DocumentMut) -> toml::Value {
        toml::from_str(&doc.to_string()).unwrap_or_else(|e| panic!("{e}\n{doc}"))
    }

    #[test]
    fn sets_existing_values_keeping_their_formatting() {
        let mut d = doc();
        let o = set(&mut d, "seed=11");
        assert_eq!(
            o,
            Override {
                arg: "seed=11".into(),
                path: "seed".into()
            }
        );
        assert!(d.to_string().contains("seed = 11 # the seed\n"), "{d}");
        set(&mut d, "engine.horizon_s=60.5");
        assert_eq!(reparsed(&d)["engine"]["horizon_s"].as_float(), Some(60.5));
        // Same number of lines: errors elsewhere keep their line numbers.
        assert_eq!(d.to_string().lines().count(), DOC.lines().count());
    }

    #[test]
    fn dotted_and_bracketed_indices_are_the_same_path() {
        let mut d = doc();
        let o = set(&mut d, "apps.0.tiers.1.cores=8");
        assert_eq!(o.path, "apps[0].tiers[1].cores");
        assert_eq!(
            reparsed(&d)["apps"][0]["tiers"][1]["cores"].as_integer(),
            Some(8)
        );
        let o = set(&mut d, "apps[0].tiers[1].cores=9");
        assert_eq!(o.path, "apps[0].tiers[1].cores");
        assert_eq!(o.arg, "apps[0].tiers[1].cores=9");
        assert_eq!(
            reparsed(&d)["apps"][0]["tiers"][1]["cores"].as_integer(),
            Some(9)
        );
    }

    #[test]
    fn integers_too_large_for_toml_are_errors_not_strings() {
        let e = set_err("seed=18446744073709551615");
        assert!(
            e.message
                .contains("`18446744073709551615` is out of range: TOML integers are from"),
            "{e}"
        );
        set_err("seed=-9223372036854775809");
        let mut d = doc();
        set(&mut d, "seed=9223372036854775807");
        assert_eq!(reparsed(&d)["seed"].as_integer(), Some(i64::MAX));
    }

    #[test]
    fn parses_toml_values_and_falls_back_to_strings() {
        let mut d = doc();
        set(&mut d, "a.int=4");
        set(&mut d, "a.float=2.5");
        set(&mut d, "a.bool=true");
        set(&mut d, "a.quoted=\"text with = sign\"");
        set(&mut d, "a.array=[1, 2]");
        set(&mut d, "a.table={ kind = \"constant\", value = 5 }");
        set(&mut d, "a.bare=shop");
        set(&mut d, "a.spaced= two words ");
        set(&mut d, "a.version=2.5.3");
        set(&mut d, "a.empty=");
        let v = reparsed(&d);
        let a = &v["a"];
        assert_eq!(a["int"].as_integer(), Some(4));
        assert_eq!(a["float"].as_float(), Some(2.5));
        assert_eq!(a["bool"].as_bool(), Some(true));
        assert_eq!(a["quoted"].as_str(), Some("text with = sign"));
        assert_eq!(a["array"].as_array().map(Vec::len), Some(2));
        assert_eq!(a["table"]["kind"].as_str(), Some("constant"));
        assert_eq!(a["table"]["value"].as_integer(), Some(5));
        assert_eq!(a["bare"].as_str(), Some("shop"));
        assert_eq!(a["spaced"].as_str(), Some("two words"));
        assert_eq!(a["version"].as_str(), Some("2.5.3"));
        assert_eq!(a["empty"].as_str(), Some(""));
        set(&mut d, "apps[0].name=shop");
        assert_eq!(reparsed(&d)["apps"][0]["name"].as_str(), Some("shop"));
    }

    #[test]
    fn malformed_structured_values_are_errors() {
        for arg in ["seed=[1, 2", "seed={ a = ", "seed=\"open", "seed='open"] {
            let e = set_err(arg);
            assert!(e.message.contains("is not a valid TOML value"), "{e}");
            assert_eq!(e.field.as_deref(), Some("seed"));
        }
    }

    #[test]
    fn creates_missing_tables() {
        let mut d = doc();
        set(&mut d, "engine.warmup_s=60");
        set(&mut d, "report.latency.percentile=99.9");
        set(&mut d, "apps[0].tiers[0].limits.max=3");
        let v = reparsed(&d);
        assert_eq!(v["engine"]["warmup_s"].as_integer(), Some(60));
        assert_eq!(v["report"]["latency"]["percentile"].as_float(), Some(99.9));
        assert_eq!(
            v["apps"][0]["tiers"][0]["limits"]["max"].as_integer(),
            Some(3)
        );
        assert_eq!(v["apps"][0]["tiers"][0]["cores"].as_integer(), Some(2));
    }

    #[test]
    fn edits_inline_arrays_and_tables() {
        let mut d = doc();
        set(&mut d, "apps[0].points[1][0]=30");
        set(&mut d, "apps.0.points.0=[0, 2]");
        set(&mut d, "apps[0].arrival.value=7");
        set(&mut d, "apps[0].arrival.burst.size=2");
        let v = reparsed(&d);
        let app = &v["apps"][0];
        assert_eq!(app["points"][1][0].as_integer(), Some(30));
        assert_eq!(app["points"][0][1].as_integer(), Some(2));
        assert_eq!(app["arrival"]["value"].as_integer(), Some(7));
        assert_eq!(app["arrival"]["kind"].as_str(), Some("constant"));
        assert_eq!(app["arrival"]["burst"]["size"].as_integer(), Some(2));
    }

    #[test]
    fn replaces_whole_tables_and_elements() {
        let mut d = doc();
        set(&mut d, "apps[0].tiers[1]={ cores = 16 }");
        set(&mut d, "engine={ horizon_s = 10 }");
        set(&mut d, "apps[0].arrival={ kind = \"poisson\", rate = 1.5 }");
        let v = reparsed(&d);
        assert_eq!(v["apps"][0]["tiers"][1]["cores"].as_integer(), Some(16));
        assert_eq!(v["apps"][0]["tiers"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["engine"]["horizon_s"].as_integer(), Some(10));
        assert_eq!(v["apps"][0]["arrival"]["kind"].as_str(), Some("poisson"));
        assert!(v["apps"][0]["arrival"].get("value").is_none());
    }

    #[test]
    fn quoted_keys_may_contain_dots_and_equals() {
        let mut d = doc();
        let o = set(&mut d, r#"demands."View Item"=2.5"#);
        assert_eq!(o.path, r#"demands."View Item""#);
        let o = set(&mut d, r#"demands."a=b.c"=1"#);
        assert_eq!(o.path, r#"demands."a=b.c""#);
        let o = set(&mut d, r#"demands."0"=3"#);
        assert_eq!(o.path, r#"demands."0""#);
        let v = reparsed(&d);
        assert_eq!(v["demands"]["View Item"].as_float(), Some(2.5));
        assert_eq!(v["demands"]["a=b.c"].as_integer(), Some(1));
        assert_eq!(v["demands"]["0"].as_integer(), Some(3));
    }

    #[test]
    fn indices_out_of_range_are_errors() {
        let e = set_err("apps[3].name=x");
        assert_eq!(e.message, "apps has 1 element, index 3 is out of range");
        assert_eq!(e.field.as_deref(), Some("apps[3].name"));
        assert_eq!(
            e.to_string(),
            "--set apps[3].name=x: field `apps[3].name`: apps has 1 element, index 3 is out of range"
        );
        let e = set_err("apps.0.tiers.2.cores=1");
        assert_eq!(
            e.message,
            "apps[0].tiers has 2 elements, index 2 is out of range"
        );
        let e = set_err("apps[0].points[2]=[1, 1]");
        assert_eq!(
            e.message,
            "apps[0].points has 2 elements, index 2 is out of range"
        );
        let e = set_err("apps[0].points[0][5]=1");
        assert_eq!(
            e.message,
            "apps[0].points[0] has 2 elements, index 5 is out of range"
        );
    }

    #[test]
    fn indexing_a_table_or_keying_an_array_are_errors() {
        let e = set_err("engine[0]=1");
        assert!(
            e.message.starts_with("`engine` is a table, not an array"),
            "{e}"
        );
        let e = set_err("engine.0=1");
        assert!(e.message.contains("quote it"), "{e}");
        let e = set_err("apps[0].arrival[1]=1");
        assert!(
            e.message
                .starts_with("`apps[0].arrival` is a table, not an array"),
            "{e}"
        );
        let e = set_err("apps.name=x");
        assert_eq!(
            e.message,
            "`apps` is an array; select an element before `name`, e.g. `apps[0].name`"
        );
        let e = set_err("apps[0].points.x=1");
        assert!(e.message.starts_with("`apps[0].points` is an array"), "{e}");
        let e = set_err("apps[0]=5");
        assert!(
            e.message
                .contains("can only be replaced by an inline table"),
            "{e}"
        );
        assert!(e.message.ends_with("not by an integer"), "{e}");
    }

    #[test]
    fn descending_into_a_scalar_is_an_error() {
        let e = set_err("seed.x=1");
        assert_eq!(
            e.message,
            "`seed` is an integer, not a table or an array, so it has no field `x`"
        );
        let e = set_err("apps[0].name.first.second=1");
        assert_eq!(
            e.message,
            "`apps[0].name` is a string, not a table or an array, so it has no field `first.second`"
        );
        let e = set_err("apps[0].points[0][1][0]=1");
        assert!(
            e.message
                .starts_with("`apps[0].points[0][1]` is an integer"),
            "{e}"
        );
    }

    #[test]
    fn malformed_arguments_are_errors() {
        let e = set_err("seed");
        assert!(e.message.starts_with("expected `path=value`"), "{e}");
        assert_eq!(e.field, None);
        let e = set_err("=3");
        assert_eq!(e.message, "the field path is empty");
        let e = set_err("a..b=3");
        assert!(e.message.contains("empty key"), "{e}");
        let e = set_err("apps[x]=3");
        assert!(e.message.contains("not an array index"), "{e}");
        let e = set_err(r#""unclosed=3"#);
        assert!(e.message.starts_with("expected `path=value`"), "{e}");
    }

    #[test]
    fn covering_finds_the_most_specific_override_at_a_segment_boundary() {
        let o = |path: &str, arg: &str| Override {
            arg: arg.into(),
            path: path.into(),
        };
        let list = vec![
            o("apps[0]", "apps[0]={..}"),
            o("apps[0].tiers[1].cores", "first"),
            o("seed", "seed=1"),
            o("apps[0].tiers[1].cores", "second"),
            o("apps[1", "bogus prefix"),
        ];
        assert_eq!(
            covering(&list, "seed").map(|o| o.arg.as_str()),
            Some("seed=1")
        );
        assert_eq!(covering(&list, "seeds"), None);
        assert_eq!(
            covering(&list, "apps[0].name").map(|o| o.arg.as_str()),
            Some("apps[0]={..}")
        );
        assert_eq!(
            covering(&list, "apps[0].tiers[1].cores").map(|o| o.arg.as_str()),
            Some("second")
        );
        assert_eq!(
            covering(&list, "apps[0].tiers[1]").map(|o| o.arg.as_str()),
            Some("apps[0]={..}")
        );
        assert_eq!(covering(&list, "apps[10].name"), None);
        assert_eq!(covering(&list, "apps"), None);
        assert_eq!(covering(&[], "apps"), None);
    }

    #[test]
    fn override_paths_match_error_fields() {
        // `covering` compares strings, so override paths must be in the same canonical form as
        // the fields of deserialization errors.
        #[derive(Debug, serde::Deserialize)]
        struct Tier {
            #[allow(dead_code)]
            cores: u32,
        }
        #[derive(Debug, serde::Deserialize)]
        struct App {
            #[allow(dead_code)]
            tiers: Vec<Tier>,
        }
        #[derive(Debug, serde::Deserialize)]
        struct Scenario {
            #[allow(dead_code)]
            apps: Vec<App>,
        }
        let mut d = doc();
        let over = vec![
            set(&mut d, "seed=1"),
            set(&mut d, "apps.0.tiers.1.cores=\"many\""),
        ];
        let text = d.to_string();
        let e = crate::scenario::deserialize::from_toml_str::<Scenario>(&text, "s.toml")
            .expect_err("cores is a string");
        let field = e.field.expect("a data error names its field");
        assert_eq!(field, "apps[0].tiers[1].cores");
        assert_eq!(
            covering(&over, &field).map(|o| o.arg.as_str()),
            Some("apps.0.tiers.1.cores=\"many\"")
        );
    }
}
