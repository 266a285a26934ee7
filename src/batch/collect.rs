//! `runs.csv` and `aggregate.csv`, built from the run folders after the runs.
//!
//! Built from the folders, not from results kept in memory: memory does not grow with the number
//! of runs (two streaming passes over the summaries, plus one baseline configuration's values at
//! a time), a resumed sweep aggregates the runs of earlier invocations exactly like its own, and
//! both files are written atomically at the end, so a kill never leaves a torn row. Rows follow
//! the configuration and seed order, never the completion order, so the files are identical
//! whatever the number of threads.

use super::files::{fmt_f, numeric_keys, remove_stale_temporaries, AtomicFile};
use super::spec::SweepSpec;
use super::stats::Welford;
use crate::report::output::WALL_CLOCK_KEYS;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a run folder holds.
#[derive(Clone, Debug, PartialEq)]
pub enum RunState {
    /// `summary.json` is there: its numeric keys.
    Done(Vec<(String, Option<f64>)>),
    /// `error.txt` is there (or the summary is unreadable): the error, one line.
    Failed(String),
    /// Neither: not run yet, or interrupted.
    Missing,
}

/// Summary keys left out of the sweep CSVs: the machine-dependent wall-clock keys (so the files
/// are identical on every machine and for every `-j`; they stay in each `summary.json`) and
/// `seed`, which is already a column.
pub const SKIPPED_KEYS: [&str; 3] = [WALL_CLOCK_KEYS[0], WALL_CLOCK_KEYS[1], "seed"];

/// The folder of run `id` in sweep folder `dir`.
pub fn run_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(id)
}

/// Reads the state of one run folder.
pub fn read_run(dir: &Path, id: &str) -> RunState {
    let d = run_dir(dir, id);
    match fs::read_to_string(d.join("summary.json")) {
        Ok(text) => match numeric_keys(&text, &SKIPPED_KEYS) {
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

/// Writes `DIR/runs.csv` and `DIR/aggregate.csv` from the run folders.
pub fn collect(spec: &SweepSpec, dir: &Path) -> io::Result<Collected> {
    remove_stale_temporaries(dir);
    // Pass 1: the union of the numeric keys, in first-seen order (deterministic: run order).
    let mut keys: Vec<String> = Vec::new();
    let mut key_index: HashMap<String, usize> = HashMap::new();
    for run in spec.runs() {
        if let RunState::Done(vals) = read_run(dir, &run.id()) {
            for (k, _) in vals {
                if !key_index.contains_key(&k) {
                    key_index.insert(k.clone(), keys.len());
                    keys.push(k);
                }
            }
        }
    }
    let dense = |vals: &[(String, Option<f64>)]| -> Vec<Option<f64>> {
        let mut row = vec![None; keys.len()];
        for (k, v) in vals {
            row[key_index[k]] = *v;
        }
        row
    };

    // Pass 2: runs.csv row by row, and the aggregate per configuration.
    let mut runs_csv = csv::Writer::from_writer(AtomicFile::create(&dir.join("runs.csv"))?);
    let mut header = vec!["id".to_string(), "config".to_string()];
    header.extend(spec.key_columns());
    header.extend(["seed", "status", "error"].map(String::from));
    header.extend(keys.iter().cloned());
    runs_csv.write_record(&header)?;

    let mut agg_csv = csv::Writer::from_writer(AtomicFile::create(&dir.join("aggregate.csv"))?);
    let has_baseline = !spec.baseline.is_empty();
    let mut header = vec!["config".to_string(), "label".to_string()];
    header.extend(spec.key_columns());
    if has_baseline {
        header.push("baseline".into());
    }
    header.extend(["runs", "runs_ok", "runs_failed"].map(String::from));
    for k in &keys {
        header.extend(STAT_SUFFIXES.iter().map(|s| format!("{k}.{s}")));
        if has_baseline {
            header.extend(DIFF_SUFFIXES.iter().map(|s| format!("{k}.{s}")));
        }
    }
    agg_csv.write_record(&header)?;

    let mut counts = Collected::default();
    // The baseline configuration's values per seed, reloaded only when it changes.
    let mut baseline_cache: Option<(usize, Vec<Option<DenseRow>>)> = None;
    for c in 0..spec.config_count() {
        let config = spec.config(c);
        let key_values = spec.key_values(&config);
        let base = spec.baseline_of(&config);
        if let Some(b) = base {
            if baseline_cache.as_ref().map(|(i, _)| *i) != Some(b) {
                let vals = (1..=spec.seeds)
                    .map(|seed| {
                        let id = super::spec::RunKey { config: b, seed }.id();
                        match read_run(dir, &id) {
                            RunState::Done(v) => Some(dense(&v)),
                            _ => None,
                        }
                    })
                    .collect();
                baseline_cache = Some((b, vals));
            }
        }
        let mut stats = vec![Welford::new(); keys.len()];
        let mut diffs = vec![Welford::new(); keys.len()];
        let (mut ok, mut failed) = (0u64, 0u64);
        for seed in 1..=spec.seeds {
            let id = super::spec::RunKey { config: c, seed }.id();
            let mut rec = vec![id.clone(), c.to_string()];
            rec.extend(key_values.iter().cloned());
            rec.push(seed.to_string());
            match read_run(dir, &id) {
                RunState::Done(vals) => {
                    ok += 1;
                    let row = dense(&vals);
                    rec.extend(["ok".to_string(), String::new()]);
                    rec.extend(row.iter().map(|v| v.map(fmt_f).unwrap_or_default()));
                    let base_row = baseline_cache
                        .as_ref()
                        .and_then(|(_, b)| b[(seed - 1) as usize].as_ref());
                    for (i, v) in row.iter().enumerate() {
                        if let Some(x) = v {
                            stats[i].push(*x);
                            if let Some(Some(bx)) = base_row.map(|b| b[i]) {
                                diffs[i].push(x - bx);
                            }
                        }
                    }
                }
                RunState::Failed(e) => {
                    failed += 1;
                    rec.extend(["failed".to_string(), e]);
                    rec.extend(keys.iter().map(|_| String::new()));
                }
                RunState::Missing => {
                    counts.missing += 1;
                    rec.extend(["missing".to_string(), String::new()]);
                    rec.extend(keys.iter().map(|_| String::new()));
                }
            }
            runs_csv.write_record(&rec)?;
        }
        counts.ok += ok;
        counts.failed += failed;
        let mut rec = vec![c.to_string(), spec.label(&config)];
        rec.extend(key_values);
        if let Some(b) = base {
            rec.push(b.to_string());
        }
        rec.extend([spec.seeds.to_string(), ok.to_string(), failed.to_string()]);
        for i in 0..keys.len() {
            let s = &stats[i];
            let (lo, hi) = s.ci95();
            rec.extend([
                s.n().to_string(),
                fmt_f(s.mean()),
                fmt_f(s.sd()),
                fmt_f(lo),
                fmt_f(hi),
            ]);
            if has_baseline {
                let d = &diffs[i];
                let (lo, hi) = d.ci95();
                rec.extend([d.n().to_string(), fmt_f(d.mean()), fmt_f(lo), fmt_f(hi)]);
            }
        }
        agg_csv.write_record(&rec)?;
    }
    let finish = |w: csv::Writer<AtomicFile>| -> io::Result<()> {
        w.into_inner().map_err(|e| e.into_error())?.commit()
    };
    finish(runs_csv)?;
    finish(agg_csv)?;
    Ok(counts)
}
