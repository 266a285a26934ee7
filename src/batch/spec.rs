//! What a sweep runs: scenarios × the cartesian product of `--set` axes × seeds, described on the
//! command line or in a sweep file, with stable run ids.
//!
//! Configurations are numbered in mixed radix, the scenario most significant and the last axis
//! fastest, so the numbering (and therefore every run id, row order and file) depends only on
//! the arguments, never on the number of threads or the order in which runs finish.

use crate::scenario::deserialize::from_toml_str;
use crate::scenario::locate::{parse_path, render_path};
use crate::scenario::overrides::split_assignment;
use crate::scenario::InputError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The column under which the scenario of a run is recorded, and the name of the implicit axis
/// when a sweep has several scenario files.
pub const SCENARIO_COLUMN: &str = "scenario";

/// A scenario file of the sweep.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ScenarioRef {
    /// How rows and figures name it: the file stem (`rubis` for `rubis.toml`), or the path as
    /// given when two files share a stem.
    pub label: String,
    pub path: PathBuf,
}

/// One swept key: a scenario path and the values it takes, in the order given.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Axis {
    /// The key in canonical form (`apps[0].tiers[1].replicas`): the column name in the CSVs.
    pub column: String,
    /// The values as TOML text (`2`, `"sticky"`, `{ kind = "constant", value = 5 }`), passed to
    /// the loader as `column=value`.
    pub values: Vec<String>,
}

impl Axis {
    /// The last key of the path (`replicas`), for labels on figures.
    pub fn short_name(&self) -> &str {
        short_name(&self.column)
    }
}

/// The last key of a dotted path, without indices or quotes.
pub fn short_name(column: &str) -> &str {
    let last = column.rsplit('.').next().unwrap_or(column);
    let last = last.split('[').next().unwrap_or(last);
    let last = last.trim_matches('"');
    if last.is_empty() {
        column
    } else {
        last
    }
}

/// The seeds of a sweep: `first..=first + count - 1`, the same for every configuration (common
/// random numbers: configuration A's seed 3 and configuration B's seed 3 face the very same
/// users).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Seeds {
    pub first: u64,
    pub count: u64,
}

impl Seeds {
    /// Seeds 1..=count.
    pub fn count(count: u64) -> Self {
        Seeds { first: 1, count }
    }

    pub fn last(&self) -> u64 {
        self.first + (self.count - 1)
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> {
        let first = self.first;
        (0..self.count).map(move |i| first + i)
    }

    /// The position of `seed` among the seeds (0 for the first).
    pub fn position(&self, seed: u64) -> usize {
        (seed - self.first) as usize
    }

    /// `N` (seeds 1..=N) or `FIRST..LAST` (both included, e.g. `11..20`: ten seeds).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let number = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{}` is not a whole number >= 0", t.trim()))
        };
        let seeds = match text.split_once("..") {
            None => Seeds {
                first: 1,
                count: number(text)?,
            },
            Some((a, b)) => {
                let (first, last) = (number(a)?, number(b.strip_prefix('=').unwrap_or(b))?);
                if last < first {
                    return Err(format!(
                        "`{text}`: the last seed is below the first (a range is FIRST..LAST, both \
included)"
                    ));
                }
                let count = (last - first)
                    .checked_add(1)
                    .ok_or_else(|| format!("`{text}`: too many seeds"))?;
                Seeds { first, count }
            }
        };
        if seeds.count == 0 {
            return Err("must be at least 1 (N, or a range FIRST..LAST)".into());
        }
        Ok(seeds)
    }

    /// `10` for 1..=10, else `11..20`.
    pub fn text(&self) -> String {
        if self.first == 1 {
            self.count.to_string()
        } else {
            format!("{}..{}", self.first, self.last())
        }
    }
}

/// A whole sweep (serialized in `DIR/slurm/spec.json` for the cluster tasks).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct SweepSpec {
    pub scenarios: Vec<ScenarioRef>,
    /// Overrides applied to every run before the axes (a sweep file's `set`).
    pub fixed_sets: Vec<String>,
    pub axes: Vec<Axis>,
    pub seeds: Seeds,
    /// Per scenario, per axis: whether the axis applies (its key exists in that scenario). An
    /// axis that does not apply is "n/a" in that scenario's configurations, which then run once
    /// rather than once per value (a static baseline has no `policy.params.for_s`).
    pub applies: Vec<Vec<bool>>,
    /// The baseline: for each listed axis (or `scenario`), the index of its baseline value. The
    /// baseline of a configuration is that configuration with these axes set to these values,
    /// the other axes unchanged.
    pub baseline: Vec<(usize, usize)>,
}

/// A configuration: one scenario and one value of each axis that applies to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub index: usize,
    pub scenario: usize,
    /// Per axis, the index of its value; `None` where the axis does not apply.
    pub values: Vec<Option<usize>>,
}

/// How the CSVs write the value of an axis that does not apply to a configuration.
pub const NOT_APPLICABLE: &str = "n/a";

/// One run: a configuration and a seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunKey {
    pub config: usize,
    pub seed: u64,
}

impl RunKey {
    /// The run's folder name under `DIR/runs/`: `c007-s012`.
    pub fn id(&self) -> String {
        format!("c{:03}-s{:03}", self.config, self.seed)
    }

    /// The inverse of [`RunKey::id`].
    pub fn parse(id: &str) -> Option<RunKey> {
        let (c, s) = id.strip_prefix('c')?.split_once("-s")?;
        Some(RunKey {
            config: c.parse().ok()?,
            seed: s.parse().ok()?,
        })
    }
}

impl SweepSpec {
    /// Whether `axis` applies to `scenario`.
    pub fn axis_applies(&self, scenario: usize, axis: usize) -> bool {
        self.applies
            .get(scenario)
            .and_then(|a| a.get(axis))
            .copied()
            .unwrap_or(true)
    }

    /// The number of configurations of one scenario: the product of the sizes of the axes that
    /// apply to it.
    fn scenario_config_count(&self, scenario: usize) -> usize {
        self.axes
            .iter()
            .enumerate()
            .filter(|(i, _)| self.axis_applies(scenario, *i))
            .map(|(_, a)| a.values.len())
            .product()
    }

    /// The number of configurations: over scenarios, the product of the applicable axis sizes.
    pub fn config_count(&self) -> usize {
        (0..self.scenarios.len())
            .map(|s| self.scenario_config_count(s))
            .sum()
    }

    pub fn run_count(&self) -> u64 {
        (self.config_count() as u64).saturating_mul(self.seeds.count)
    }

    /// The configuration numbered `index`: scenarios in order, then mixed radix over the axes
    /// that apply, the last axis fastest.
    pub fn config(&self, index: usize) -> Config {
        let mut rest = index;
        let mut scenario = 0;
        while scenario + 1 < self.scenarios.len() && rest >= self.scenario_config_count(scenario) {
            rest -= self.scenario_config_count(scenario);
            scenario += 1;
        }
        let mut values = vec![None; self.axes.len()];
        for (i, axis) in self.axes.iter().enumerate().rev() {
            if self.axis_applies(scenario, i) {
                values[i] = Some(rest % axis.values.len());
                rest /= axis.values.len();
            }
        }
        Config {
            index,
            scenario,
            values,
        }
    }

    /// The number of a configuration (the inverse of [`SweepSpec::config`]); the values of
    /// axes that do not apply to `scenario` are ignored. `None` when an axis that applies has no
    /// value.
    pub fn index_of(&self, scenario: usize, values: &[Option<usize>]) -> Option<usize> {
        let mut index = 0;
        for (i, (axis, v)) in self.axes.iter().zip(values).enumerate() {
            if self.axis_applies(scenario, i) {
                index = index * axis.values.len() + (*v)?;
            }
        }
        let offset: usize = (0..scenario).map(|s| self.scenario_config_count(s)).sum();
        Some(offset + index)
    }

    /// Every run in order: configuration, then seed.
    pub fn runs(&self) -> impl Iterator<Item = RunKey> + '_ {
        (0..self.config_count())
            .flat_map(move |config| self.seeds.iter().map(move |seed| RunKey { config, seed }))
    }

    /// The `--set` arguments of a configuration (fixed overrides first, then one per axis).
    pub fn sets(&self, config: &Config) -> Vec<String> {
        let mut sets = self.fixed_sets.clone();
        for (axis, v) in self.axes.iter().zip(&config.values) {
            if let Some(v) = v {
                sets.push(format!("{}={}", axis.column, axis.values[*v]));
            }
        }
        sets
    }

    /// The baseline configuration of `config`, if the sweep has a baseline.
    pub fn baseline_of(&self, config: &Config) -> Option<usize> {
        if self.baseline.is_empty() {
            return None;
        }
        let mut scenario = config.scenario;
        let mut values = config.values.clone();
        for &(axis, value) in &self.baseline {
            if axis == usize::MAX {
                scenario = value;
            } else {
                values[axis] = Some(value);
            }
        }
        // An axis that does not apply to the configuration but does to its baseline scenario,
        // and that the baseline does not set, leaves the baseline undefined.
        self.index_of(scenario, &values)
    }

    /// The column names that identify a configuration: `scenario` and each axis.
    pub fn key_columns(&self) -> Vec<String> {
        let mut cols = vec![SCENARIO_COLUMN.to_string()];
        cols.extend(self.axes.iter().map(|a| a.column.clone()));
        cols
    }

    /// The values of [`SweepSpec::key_columns`] for a configuration.
    pub fn key_values(&self, config: &Config) -> Vec<String> {
        let mut vals = vec![self.scenarios[config.scenario].label.clone()];
        for (axis, v) in self.axes.iter().zip(&config.values) {
            vals.push(match v {
                Some(v) => axis.values[*v].clone(),
                None => NOT_APPLICABLE.to_string(),
            });
        }
        vals
    }

    /// A short human label: the scenario (when there are several) and `name=value` for each axis
    /// of more than one value, e.g. `scripted-restart, replicas=2`.
    pub fn label(&self, config: &Config) -> String {
        let mut parts = Vec::new();
        if self.scenarios.len() > 1 {
            parts.push(self.scenarios[config.scenario].label.clone());
        }
        for (axis, v) in self.axes.iter().zip(&config.values) {
            if let (true, Some(v)) = (axis.values.len() > 1, v) {
                parts.push(format!("{}={}", axis.short_name(), axis.values[*v]));
            }
        }
        if parts.is_empty() {
            self.scenarios[config.scenario].label.clone()
        } else {
            parts.join(", ")
        }
    }

    /// Sets the baseline from `AXIS=VALUE` arguments (`AXIS` a column name as written in the
    /// CSVs, its path as given, its short name when unambiguous, or `scenario`).
    pub fn set_baseline(&mut self, args: &[String]) -> Result<(), InputError> {
        let mut baseline = Vec::new();
        for arg in args {
            let err = |m: String| InputError::new(format!("--baseline {arg}"), m);
            let (axis_text, value_text) = arg.split_once('=').ok_or_else(|| {
                err("expected `AXIS=VALUE`, e.g. `--baseline scenario=rubis`".into())
            })?;
            let (axis_text, value_text) = (axis_text.trim(), value_text.trim());
            if axis_text == SCENARIO_COLUMN {
                let pos = self
                    .scenarios
                    .iter()
                    .position(|s| s.label == value_text)
                    .ok_or_else(|| {
                        err(format!(
                            "no scenario labelled `{value_text}`; the scenarios are: {}",
                            self.scenarios
                                .iter()
                                .map(|s| s.label.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    })?;
                baseline.push((usize::MAX, pos));
                continue;
            }
            let canonical = parse_path(axis_text)
                .map(|s| render_path(&s))
                .unwrap_or_else(|_| axis_text.to_string());
            let mut matches: Vec<usize> = (0..self.axes.len())
                .filter(|&i| self.axes[i].column == canonical)
                .collect();
            if matches.is_empty() {
                matches = (0..self.axes.len())
                    .filter(|&i| self.axes[i].short_name() == axis_text)
                    .collect();
            }
            let axis = match matches.as_slice() {
                [one] => *one,
                [] => {
                    return Err(err(format!(
                        "`{axis_text}` is not an axis of this sweep; the axes are: {}",
                        self.key_columns().join(", ")
                    )))
                }
                _ => {
                    return Err(err(format!(
                        "`{axis_text}` names several axes; give the full path"
                    )))
                }
            };
            let values = &self.axes[axis].values;
            let pos = values.iter().position(|v| v == value_text).ok_or_else(|| {
                err(format!(
                    "`{value_text}` is not a value of `{}`; its values are: {}",
                    self.axes[axis].column,
                    values.join(", ")
                ))
            })?;
            baseline.push((axis, pos));
        }
        self.baseline = baseline;
        Ok(())
    }

    /// The baseline as `AXIS=VALUE` text, for the manifest.
    pub fn baseline_text(&self) -> Vec<String> {
        self.baseline
            .iter()
            .map(|&(axis, v)| {
                if axis == usize::MAX {
                    format!("{SCENARIO_COLUMN}={}", self.scenarios[v].label)
                } else {
                    format!("{}={}", self.axes[axis].column, self.axes[axis].values[v])
                }
            })
            .collect()
    }
}

/// Labels for scenario files: their stems, or their paths when stems collide.
pub fn scenario_refs(paths: &[PathBuf]) -> Vec<ScenarioRef> {
    let stem = |p: &PathBuf| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = paths.iter().map(stem).collect();
    paths
        .iter()
        .zip(&stems)
        .map(|(p, s)| ScenarioRef {
            label: if stems.iter().filter(|t| *t == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            },
            path: p.clone(),
        })
        .collect()
}

/// Parses a `--set PATH=V1,V2,...` axis. The values are split on top-level commas only: commas
/// inside brackets, braces or quotes belong to the value, so
/// `--set 'profile={kind="constant", value=5},{kind="constant", value=9}'` has two values.
pub fn parse_axis(arg: &str) -> Result<Axis, InputError> {
    let err = |m: String| InputError::new(format!("--set {arg}"), m);
    let (path, values) = split_assignment(arg).ok_or_else(|| {
        err("expected `path=value[,value...]`, e.g. `apps[0].tiers[1].replicas=1,2,3`".into())
    })?;
    let column = render_path(&parse_path(path).map_err(err)?);
    let values = split_top_level(values).map_err(|m| err(m).field(column.as_str()))?;
    Ok(Axis { column, values })
}

/// Splits `text` on commas that are outside `[]`, `{}`, `"…"` (with `\` escapes) and `'…'`.
/// Each part is trimmed; an empty part, an unclosed quote or an unbalanced bracket is an error.
pub fn split_top_level(text: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut depth: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' => depth.push(c),
            ']' | '}' => {
                let open = if c == ']' { '[' } else { '{' };
                if depth.pop() != Some(open) {
                    return Err(format!("unbalanced `{c}` at character {}", i + 1));
                }
            }
            ',' if depth.is_empty() => {
                parts.push(text[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(format!("unclosed quote {q}"));
    }
    if let Some(open) = depth.last() {
        return Err(format!("unclosed `{open}`"));
    }
    parts.push(text[start..].trim().to_string());
    if let Some(pos) = parts.iter().position(String::is_empty) {
        return Err(format!(
            "value {} of the list is empty (values are separated by top-level commas)",
            pos + 1
        ));
    }
    Ok(parts)
}

/// A sweep file: `[sweep]` with the scenario(s), seeds, fixed overrides, axes and baseline.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: SweepTable,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepTable {
    /// What the sweep is for (free text).
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    /// Scenario files, relative to the sweep file.
    scenarios: Vec<String>,
    /// `N` (seeds 1..=N) or `"FIRST..LAST"`.
    #[serde(default)]
    seeds: Option<SeedsValue>,
    /// `path=value` overrides applied to every run.
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    axes: Vec<AxisTable>,
    /// `AXIS=VALUE` (or `scenario=LABEL`).
    #[serde(default)]
    baseline: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedsValue {
    Count(u64),
    Range(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisTable {
    path: String,
    values: Vec<toml::Value>,
}

/// What a sweep file says, before the command line adds to it.
#[derive(Clone, Debug)]
pub struct SweepFileSpec {
    pub scenarios: Vec<PathBuf>,
    pub seeds: Option<Seeds>,
    pub fixed_sets: Vec<String>,
    pub axes: Vec<Axis>,
    pub baseline: Vec<String>,
}

/// Whether `path` is a sweep file (a TOML file with a top-level `[sweep]` table) rather than a
/// scenario. A file that cannot be read or parsed is not one: the scenario loader then reports
/// the problem with its line.
pub fn is_sweep_file(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|t| t.contains_key("sweep"))
}

/// Reads a sweep file. Errors name the file, line and field.
pub fn read_sweep_file(path: &Path) -> Result<SweepFileSpec, InputError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(&shown, format!("cannot read sweep file: {e}")))?;
    let file: SweepFile = from_toml_str(&text, &shown)?;
    let t = file.sweep;
    let line_of = |field: &str| crate::scenario::locate::line_of(&text, field);
    if t.scenarios.is_empty() {
        return Err(InputError::new(&shown, "list at least one scenario file")
            .at_line(line_of("sweep.scenarios"))
            .field("sweep.scenarios"));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut axes = Vec::new();
    for (i, a) in t.axes.iter().enumerate() {
        let field = format!("sweep.axes[{i}]");
        let at = |m: String, sub: &str| {
            let f = format!("{field}.{sub}");
            InputError::new(&shown, m).at_line(line_of(&f)).field(f)
        };
        let column = render_path(&parse_path(&a.path).map_err(|m| at(m, "path"))?);
        if a.values.is_empty() {
            return Err(at("an axis needs at least one value".into(), "values"));
        }
        let values = a.values.iter().map(toml_text).collect();
        axes.push(Axis { column, values });
    }
    let seeds = match &t.seeds {
        None => None,
        Some(v) => {
            let text = match v {
                SeedsValue::Count(n) => n.to_string(),
                SeedsValue::Range(r) => r.clone(),
            };
            Some(Seeds::parse(&text).map_err(|m| {
                InputError::new(&shown, m)
                    .at_line(line_of("sweep.seeds"))
                    .field("sweep.seeds")
            })?)
        }
    };
    Ok(SweepFileSpec {
        scenarios: t.scenarios.iter().map(|s| base.join(s)).collect(),
        seeds,
        fixed_sets: t.set,
        axes,
        baseline: t.baseline,
    })
}

/// A TOML value as the text `--set` takes (strings quoted, tables inline).
fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, v)| {
                    let mut key = String::new();
                    crate::scenario::locate::push_key(&mut key, k);
                    format!("{key} = {}", toml_text(v))
                })
                .collect();
            format!("{{ {} }}", inner.join(", "))
        }
        toml::Value::Array(a) => {
            format!(
                "[{}]",
                a.iter().map(toml_text).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Builds and checks a sweep: at least one scenario and one seed, no axis given twice.
pub fn build(
    scenarios: Vec<PathBuf>,
    fixed_sets: Vec<String>,
    axes: Vec<Axis>,
    seeds: Seeds,
    baseline: &[String],
) -> Result<SweepSpec, InputError> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.column == a.column) {
            return Err(InputError::new(
                format!("--set {}", a.column),
                "this key is swept twice; give all its values in one `--set path=v1,v2`",
            ));
        }
        if a.column == SCENARIO_COLUMN {
            return Err(InputError::new(
                format!("--set {}", a.column),
                "`scenario` is not a scenario key; to sweep scenarios, list several files",
            ));
        }
    }
    let scenarios = scenario_refs(&scenarios);
    let applies = applicability(&scenarios, &fixed_sets, &axes)?;
    let mut spec = SweepSpec {
        scenarios,
        fixed_sets,
        axes,
        seeds,
        applies,
        baseline: Vec::new(),
    };
    spec.set_baseline(baseline)?;
    Ok(spec)
}

/// Whether an error from loading a scenario with `column=value` says that the key does not
/// exist in that scenario (an unknown field or policy parameter, an index past the end of a
/// list), rather than that the value is bad.
fn is_missing_key(e: &InputError, column: &str) -> bool {
    let on_this_key = e.field.as_deref().is_some_and(|f| {
        let f = parse_path(f).map(|p| render_path(&p)).unwrap_or_default();
        column == f || column.starts_with(&format!("{f}.")) || column.starts_with(&format!("{f}["))
    });
    on_this_key
        && (e.message.starts_with("unknown field")
            || e.message.starts_with("unknown parameter")
            || e.message.contains("is out of range"))
}

/// Per scenario, per axis: whether the axis's key exists in that scenario, tried with the
/// axis's first value over the fixed overrides. An axis that exists in no scenario is a typo:
/// the error of the first scenario is returned (exit 2).
fn applicability(
    scenarios: &[ScenarioRef],
    fixed_sets: &[String],
    axes: &[Axis],
) -> Result<Vec<Vec<bool>>, InputError> {
    let mut applies = vec![vec![true; axes.len()]; scenarios.len()];
    for (a, axis) in axes.iter().enumerate() {
        let mut first_missing = None;
        for (s, scenario) in scenarios.iter().enumerate() {
            let mut sets = fixed_sets.to_vec();
            sets.push(format!("{}={}", axis.column, axis.values[0]));
            if let Err(e) = crate::scenario::load::load(&scenario.path, &sets) {
                if is_missing_key(&e, &axis.column) {
                    applies[s][a] = false;
                    first_missing.get_or_insert(e);
                }
            }
        }
        if applies.iter().all(|row| !row[a]) {
            if let Some(e) = first_missing {
                return Err(e);
            }
        }
    }
    Ok(applies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(axes: &[(&str, &[&str])], scenarios: usize, seeds: u64) -> SweepSpec {
        SweepSpec {
            scenarios: (0..scenarios)
                .map(|i| ScenarioRef {
                    label: format!("s{i}"),
                    path: PathBuf::from(format!("s{i}.toml")),
                })
                .collect(),
            fixed_sets: vec![],
            axes: axes
                .iter()
                .map(|(c, v)| Axis {
                    column: c.to_string(),
                    values: v.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            seeds: Seeds::count(seeds),
            applies: vec![vec![true; axes.len()]; scenarios],
            baseline: vec![],
        }
    }

    #[test]
    fn top_level_commas_only() {
        assert_eq!(split_top_level("1, 2,3").unwrap(), ["1", "2", "3"]);
        assert_eq!(
            split_top_level("[1, 2],[3,4]").unwrap(),
            ["[1, 2]", "[3,4]"]
        );
        assert_eq!(
            split_top_level(r#"{kind="constant", value=5},{kind="x,y", p=[[0,1],[2,3]]}"#).unwrap(),
            [
                r#"{kind="constant", value=5}"#,
                r#"{kind="x,y", p=[[0,1],[2,3]]}"#
            ]
        );
        assert_eq!(
            split_top_level(r#""a,b",'c,d',"e\",f""#).unwrap(),
            [r#""a,b""#, "'c,d'", r#""e\",f""#]
        );
        assert_eq!(split_top_level("sticky").unwrap(), ["sticky"]);
        assert!(split_top_level("1,,2").unwrap_err().contains("value 2"));
        assert!(split_top_level("1,").is_err());
        assert!(split_top_level("[1,2").unwrap_err().contains("unclosed"));
        assert!(split_top_level("[1,2}").unwrap_err().contains("unbalanced"));
        assert!(split_top_level("\"a,b").unwrap_err().contains("quote"));
    }

    #[test]
    fn axis_arguments_are_canonical_and_located() {
        let a = parse_axis("apps.0.tiers.1.replicas=1,2,3").unwrap();
        assert_eq!(a.column, "apps[0].tiers[1].replicas");
        assert_eq!(a.values, ["1", "2", "3"]);
        let e = parse_axis("duration_s").unwrap_err().to_string();
        assert!(e.starts_with("--set duration_s: expected"), "{e}");
        let e = parse_axis("x=[1").unwrap_err().to_string();
        assert!(e.contains("field `x`") && e.contains("unclosed"), "{e}");
    }

    #[test]
    fn product_numbering_is_mixed_radix_last_axis_fastest() {
        let s = spec(&[("a", &["1", "2"]), ("b", &["x", "y", "z"])], 2, 3);
        assert_eq!(s.config_count(), 12);
        assert_eq!(s.run_count(), 36);
        let c = s.config(5);
        assert_eq!((c.scenario, c.values.clone()), (0, vec![Some(1), Some(2)]));
        let c = s.config(7);
        assert_eq!((c.scenario, c.values.clone()), (1, vec![Some(0), Some(1)]));
        for i in 0..12 {
            let c = s.config(i);
            assert_eq!(s.index_of(c.scenario, &c.values), Some(i));
        }
        // Every combination exactly once.
        let mut seen: Vec<(usize, Vec<Option<usize>>)> = (0..12)
            .map(|i| {
                let c = s.config(i);
                (c.scenario, c.values)
            })
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 12);
        assert_eq!(s.sets(&s.config(5)), ["a=2", "b=z"]);
        assert_eq!(s.label(&s.config(7)), "s1, a=1, b=y");
    }

    #[test]
    fn runs_are_ordered_by_configuration_then_seed_and_share_seeds() {
        let s = spec(&[("a", &["1", "2"])], 1, 3);
        let ids: Vec<String> = s.runs().map(|r| r.id()).collect();
        assert_eq!(
            ids,
            [
                "c000-s001",
                "c000-s002",
                "c000-s003",
                "c001-s001",
                "c001-s002",
                "c001-s003"
            ]
        );
        // Paired: every configuration runs the same seeds.
        let seeds = |c: usize| {
            s.runs()
                .filter(|r| r.config == c)
                .map(|r| r.seed)
                .collect::<Vec<_>>()
        };
        assert_eq!(seeds(0), seeds(1));
    }

    #[test]
    fn baseline_keeps_the_other_axes() {
        let mut s = spec(&[("apps[0].x", &["1", "2"]), ("b", &["p", "q"])], 2, 1);
        s.set_baseline(&["x=2".into(), "scenario=s0".into()])
            .unwrap();
        // Config (s1, x=1, b=q) → its baseline is (s0, x=2, b=q).
        let c = s.config(s.index_of(1, &[Some(0), Some(1)]).unwrap());
        assert_eq!(s.baseline_of(&c), s.index_of(0, &[Some(1), Some(1)]));
        assert_eq!(s.baseline_text(), ["apps[0].x=2", "scenario=s0"]);
        let e = s.set_baseline(&["x=3".into()]).unwrap_err().to_string();
        assert!(e.contains("not a value") && e.contains("1, 2"), "{e}");
        let e = s.set_baseline(&["nope=1".into()]).unwrap_err().to_string();
        assert!(e.contains("not an axis"), "{e}");
        assert!(s.set_baseline(&["scenario=zz".into()]).is_err());
    }

    #[test]
    fn toml_values_render_as_set_text() {
        let v: toml::Table = r#"a = { kind = "constant", value = 5 }
b = "sticky"
c = [[0, 1], [2.5, 3]]"#
            .parse()
            .unwrap();
        assert_eq!(toml_text(&v["a"]), r#"{ kind = "constant", value = 5 }"#);
        assert_eq!(toml_text(&v["b"]), r#""sticky""#);
        assert_eq!(toml_text(&v["c"]), "[[0, 1], [2.5, 3]]");
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("apps[0].tiers[1].replicas"), "replicas");
        assert_eq!(short_name("duration_s"), "duration_s");
        assert_eq!(short_name("apps[0].profile"), "profile");
    }
}
