//! The sweep tables, built from the run folders after the runs: `runs.csv` (a row per run),
//! `runs-long.csv` (a row per run and metric: `config, seed, metric, value`), `aggregate.csv` (a
//! row per configuration), each with a Parquet twin (`runs.parquet`, ...) of the same typed
//! columns.
//!
//! Built from the folders, not from results kept in memory: memory does not grow with the number
//! of runs (two streaming passes over the summaries, plus one baseline configuration's values at
//! a time), a resumed sweep aggregates the runs of earlier invocations exactly like its own, and
//! every file is written atomically at the end, so a kill never leaves a torn row. Rows follow
//! the configuration and seed order, never the completion order, so the files are identical
//! whatever the number of threads or of cluster tasks.

use super::files::{remove_stale_temporaries, typed_numeric_keys, NumKey};
use super::spec::{RunKey, SweepSpec};
use super::stats::Welford;
use super::table::{Cell, ColType, TableWriter};
use crate::report::output::{PROVENANCE_KEY, WALL_CLOCK_KEYS};
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a run folder holds.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// `summary.json` is there: its numeric keys.
    Done(Vec<NumKey>),
    /// `error.txt` is there (or the summary is unreadable): the error, one line.
    Failed(String),
    /// Neither: not run yet, or interrupted.
    Missing,
}

/// Summary keys left out of the sweep tables: the machine-dependent wall-clock keys and the
/// provenance (so the files are identical on every machine, for every `-j` and number of
/// tasks; they stay in each `summary.json`) and `seed`, which is already a column.
pub const SKIPPED_KEYS: [&str; 4] = [
    WALL_CLOCK_KEYS[0],
    WALL_CLOCK_KEYS[1],
    PROVENANCE_KEY,
    "seed",
];

/// The files [`collect`] writes, in a sweep folder.
pub const TABLE_FILES: [&str; 6] = [
    "runs.csv",
    "runs.parquet",
    "runs-long.csv",
    "runs-long.parquet",
    "aggregate.csv",
    "aggregate.parquet",
];

/// The folder of run `id` in sweep folder `dir`.
pub fn run_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(id)
}

/// Reads the state of one run folder.
pub fn read_run(dir: &Path, id: &str) -> RunState {
    let d = run_dir(dir, id);
    match fs::read_to_string(d.join("summary.json")) {
        Ok(text) => match typed_numeric_keys(&text, &SKIPPED_KEYS) {
            Ok(keys) => RunState::Done(keys),
            Err(e) => RunState::Failed(format!("unreadable summary.json: {e}")),
        },
        Err(_) => match fs::read_to_string(d.join("error.txt")) {
            Ok(e) => RunState::Failed(e.split_whitespace().collect::<Vec<_>>().join(" ")),
            Err(_) => RunState::Missing,
        },
    }
}

/// One run's values, in the order of the key columns (`None`: no value).
type DenseRow = Vec<Option<f64>>;

/// Counts of what the collection found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub ok: u64,
    pub failed: u64,
    pub missing: u64,
}

/// The statistics columns of `aggregate.csv` for one key, in order.
pub const STAT_SUFFIXES: [&str; 5] = ["n", "mean", "sd", "ci_low", "ci_high"];
/// The paired-difference columns, present when the sweep has a baseline.
pub const DIFF_SUFFIXES: [&str; 4] = ["diff_n", "diff_mean", "diff_ci_low", "diff_ci_high"];

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Writes the sweep tables (see the module) from the run folders.
pub fn collect(spec: &SweepSpec, dir: &Path) -> io::Result<Collected> {
    remove_stale_temporaries(dir);
    // Pass 1: the union of the numeric keys, in first-seen order (deterministic: run order),
    // and their type: integer when every run wrote it as one.
    let mut keys: Vec<String> = Vec::new();
    let mut integer: Vec<bool> = Vec::new();
    let mut key_index: HashMap<String, usize> = HashMap::new();
    for run in spec.runs() {
        if let RunState::Done(vals) = read_run(dir, &run.id()) {
            for k in vals {
                match key_index.get(&k.key) {
                    Some(&i) => integer[i] &= k.integer || k.value.is_none(),
                    None => {
                        key_index.insert(k.key.clone(), keys.len());
                        keys.push(k.key);
                        integer.push(k.integer);
                    }
                }
            }
        }
    }
    let key_type = |i: usize| {
        if integer[i] {
            ColType::Int
        } else {
            ColType::Float
        }
    };
    let dense = |vals: &[NumKey]| -> DenseRow {
        let mut row = vec![None; keys.len()];
        for k in vals {
            row[key_index[&k.key]] = k.value;
        }
        row
    };
    let key_columns = spec.key_columns();

    // Pass 2: the run tables row by row, and the aggregate per configuration.
    let mut cols = vec![
        ("id".to_string(), ColType::Str),
        ("config".into(), ColType::Int),
    ];
    cols.extend(key_columns.iter().map(|k| (k.clone(), ColType::Str)));
    cols.extend([
        ("seed".to_string(), ColType::UInt),
        ("status".into(), ColType::Str),
        ("error".into(), ColType::Str),
    ]);
    cols.extend((0..keys.len()).map(|i| (keys[i].clone(), key_type(i))));
    let mut runs_t = TableWriter::create(
        &path(dir, "runs.csv"),
        Some(&path(dir, "runs.parquet")),
        cols,
    )?;
    let mut long_t = TableWriter::create(
        &path(dir, "runs-long.csv"),
        Some(&path(dir, "runs-long.parquet")),
        vec![
            ("config".into(), ColType::Int),
            ("seed".into(), ColType::UInt),
            ("metric".into(), ColType::Str),
            ("value".into(), ColType::Float),
        ],
    )?;

    let has_baseline = !spec.baseline.is_empty();
    let mut cols = vec![
        ("config".to_string(), ColType::Int),
        ("label".into(), ColType::Str),
    ];
    cols.extend(key_columns.iter().map(|k| (k.clone(), ColType::Str)));
    if has_baseline {
        cols.push(("baseline".into(), ColType::Int));
    }
    cols.extend(["runs", "runs_ok", "runs_failed"].map(|c| (c.to_string(), ColType::Int)));
    for k in &keys {
        for s in STAT_SUFFIXES {
            let ty = if s == "n" {
                ColType::Int
            } else {
                ColType::Float
            };
            cols.push((format!("{k}.{s}"), ty));
        }
        if has_baseline {
            for s in DIFF_SUFFIXES {
                let ty = if s == "diff_n" {
                    ColType::Int
                } else {
                    ColType::Float
                };
                cols.push((format!("{k}.{s}"), ty));
            }
        }
    }
    let mut agg_t = TableWriter::create(
        &path(dir, "aggregate.csv"),
        Some(&path(dir, "aggregate.parquet")),
        cols,
    )?;

    let mut counts = Collected::default();
    // The baseline configuration's values per seed, reloaded only when it changes.
    let mut baseline_cache: Option<(usize, Vec<Option<DenseRow>>)> = None;
    for c in 0..spec.config_count() {
        let config = spec.config(c);
        let key_values = spec.key_values(&config);
        let base = spec.baseline_of(&config);
        if let Some(b) = base {
            if baseline_cache.as_ref().map(|(i, _)| *i) != Some(b) {
                let vals = spec
                    .seeds
                    .iter()
                    .map(
                        |seed| match read_run(dir, &RunKey { config: b, seed }.id()) {
                            RunState::Done(v) => Some(dense(&v)),
                            _ => None,
                        },
                    )
                    .collect();
                baseline_cache = Some((b, vals));
            }
        }
        let mut stats = vec![Welford::new(); keys.len()];
        let mut diffs = vec![Welford::new(); keys.len()];
        let (mut ok, mut failed) = (0u64, 0u64);
        for seed in spec.seeds.iter() {
            let id = RunKey { config: c, seed }.id();
            let mut rec = vec![Cell::Str(id.clone()), Cell::Int(c as i64)];
            rec.extend(key_values.iter().cloned().map(Cell::Str));
            rec.push(Cell::UInt(seed));
            match read_run(dir, &id) {
                RunState::Done(vals) => {
                    ok += 1;
                    let row = dense(&vals);
                    rec.extend([Cell::Str("ok".into()), Cell::Null]);
                    rec.extend(
                        row.iter()
                            .enumerate()
                            .map(|(i, v)| Cell::number(key_type(i), *v)),
                    );
                    let base_row = baseline_cache
                        .as_ref()
                        .and_then(|(_, b)| b[spec.seeds.position(seed)].as_ref());
                    for (i, v) in row.iter().enumerate() {
                        if let Some(x) = v {
                            long_t.write_row(vec![
                                Cell::Int(c as i64),
                                Cell::UInt(seed),
                                Cell::Str(keys[i].clone()),
                                Cell::float(*x),
                            ])?;
                            stats[i].push(*x);
                            if let Some(Some(bx)) = base_row.map(|b| b[i]) {
                                diffs[i].push(x - bx);
                            }
                        }
                    }
                }
                RunState::Failed(e) => {
                    failed += 1;
                    rec.extend([Cell::Str("failed".into()), Cell::Str(e)]);
                    rec.extend(keys.iter().map(|_| Cell::Null));
                }
                RunState::Missing => {
                    counts.missing += 1;
                    rec.extend([Cell::Str("missing".into()), Cell::Null]);
                    rec.extend(keys.iter().map(|_| Cell::Null));
                }
            }
            runs_t.write_row(rec)?;
        }
        counts.ok += ok;
        counts.failed += failed;
        let mut rec = vec![Cell::Int(c as i64), Cell::Str(spec.label(&config))];
        rec.extend(key_values.into_iter().map(Cell::Str));
        if has_baseline {
            rec.push(base.map_or(Cell::Null, |b| Cell::Int(b as i64)));
        }
        rec.extend([spec.seeds.count, ok, failed].map(|x| Cell::Int(x as i64)));
        for i in 0..keys.len() {
            let s = &stats[i];
            let (lo, hi) = s.ci95();
            rec.extend([
                Cell::Int(s.n() as i64),
                Cell::float(s.mean()),
                Cell::float(s.sd()),
                Cell::float(lo),
                Cell::float(hi),
            ]);
            if has_baseline {
                let d = &diffs[i];
                let (lo, hi) = d.ci95();
                rec.extend([
                    Cell::Int(d.n() as i64),
                    Cell::float(d.mean()),
                    Cell::float(lo),
                    Cell::float(hi),
                ]);
            }
        }
        agg_t.write_row(rec)?;
    }
    runs_t.finish()?;
    long_t.finish()?;
    agg_t.finish()?;
    Ok(counts)
}
