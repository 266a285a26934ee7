//! Files of a sweep folder: a streaming atomic writer, and `summary.json` read back as an
//! ordered list of numeric keys.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file written in a temporary next to its final name, synced and renamed over it by
/// [`AtomicFile::commit`]; dropped uncommitted, the temporary is removed. Unlike
/// `report::atomic::write_atomic` it streams, so `runs.csv` of any size is written in constant
/// memory, and a kill at any point leaves either the old file or the new one, never a torn row.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let out = BufWriter::new(File::create(&tmp)?);
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
            out: Some(out),
        })
    }

    pub fn commit(mut self) -> io::Result<()> {
        let out = self.out.take().expect("committed once");
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&self.tmp, &self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

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

fn flatten(key: &str, v: &Value, out: &mut Vec<(String, Option<f64>)>) {
    match v {
        Value::Number(n) => out.push((key.to_string(), n.as_f64())),
        Value::Null => out.push((key.to_string(), None)),
        Value::Object(map) => {
            for (k, sub) in map {
                flatten(&format!("{key}.{k}"), sub, out);
            }
        }
        _ => {}
    }
}

/// A float in the sweep CSVs: Rust's shortest round-trip form (deterministic, no exponent),
/// empty for "no value" (NaN or infinite).
pub fn fmt_f(x: f64) -> String {
    if x == 0.0 {
        // Also -0.0, which a sum of nothing can give.
        "0".to_string()
    } else if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
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

    #[test]
    fn atomic_file_commits_or_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runs.csv");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"a,b\n").unwrap();
        drop(f);
        assert!(!p.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"a,b\n").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a,b\n");
        assert_eq!(fmt_f(0.1), "0.1");
        assert_eq!(fmt_f(3.0), "3");
        assert_eq!(fmt_f(-0.0), "0");
        assert_eq!(fmt_f(f64::NAN), "");
    }
}
