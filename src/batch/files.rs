//! Files of a sweep folder: stale temporaries, and `summary.json` read back as an ordered list
//! of numeric keys.

pub use crate::report::atomic::AtomicFile;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::fs;
use std::path::Path;

/// Removes temporaries (`.name.PID.tmp`) that a killed process left in `dir`.
pub fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The top-level keys of a JSON object in file order.
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The numeric keys of a `summary.json`, in file order, nested objects flattened with a dot
/// (`tier_utilisation.rubis.app`). `null` (how JSON writes NaN) is `None`; strings are skipped.
/// Keys in `skip` (the machine-dependent wall-clock keys) are left out, so that a sweep's CSVs
/// are the same on every machine and for every `-j`.
///
/// Reading the file's own key list rather than a fixed one means a key added to the summary
/// later appears in sweeps, aggregates and comparisons with no change here.
pub fn numeric_keys(json: &str, skip: &[&str]) -> Result<Vec<(String, Option<f64>)>, String> {
    Ok(typed_numeric_keys(json, skip)?
        .into_iter()
        .map(|k| (k.key, k.value))
        .collect())
}

/// A numeric key of a summary, with whether JSON wrote it as an integer (`12`, a count) rather
/// than a float (`12.0`): the sweep tables type their columns by it.
#[derive(Clone, Debug, PartialEq)]
pub struct NumKey {
    pub key: String,
    pub value: Option<f64>,
    pub integer: bool,
}

/// [`numeric_keys`] with the integer flag of each key (`null` counts as a float).
pub fn typed_numeric_keys(json: &str, skip: &[&str]) -> Result<Vec<NumKey>, String> {
    let Ordered(entries) = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (k, v) in entries {
        if skip.contains(&k.as_str()) {
            continue;
        }
        flatten(&k, &v, &mut out);
    }
    Ok(out)
}

fn flatten(key: &str, v: &Value, out: &mut Vec<NumKey>) {
    match v {
        Value::Number(n) => out.push(NumKey {
            key: key.to_string(),
            value: n.as_f64(),
            integer: n.is_u64() || n.is_i64(),
        }),
        Value::Null => out.push(NumKey {
            key: key.to_string(),
            value: None,
            integer: false,
        }),
        Value::Object(map) => {
            for (k, sub) in map {
                flatten(&format!("{key}.{k}"), sub, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_keep_file_order_and_flatten() {
        let json = r#"{"scenario":"x","seed":3,"wall_seconds":0.1,"b":null,
            "a":2.5,"tier_utilisation":{"r.web":0.5,"r.app":0.25}}"#;
        let keys = numeric_keys(json, &["wall_seconds"]).unwrap();
        let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "seed",
                "b",
                "a",
                "tier_utilisation.r.app",
                "tier_utilisation.r.web"
            ]
        );
        assert_eq!(keys[0].1, Some(3.0));
        assert_eq!(keys[1].1, None);
        assert!(numeric_keys("[1]", &[]).is_err());
        assert!(numeric_keys("{", &[]).is_err());
    }
}
