//! Utilisation traces of trace-driven VMs: one utilisation series per VM, read from a CSV file
//! in one of two layouts.
//!
//! - `planetlab` (wide): a header `vm,u0,u1,...,u{n-1}`, then one row per VM: its name and its
//!   CPU utilisation in percent (0-100) at regular intervals — CloudSim's PlanetLab traces, one
//!   day of 288 samples every 300 s per VM, repacked as in `data/planetlab/`.
//! - `long`: a header `vm,time_s,cpu_fraction`, then one row per sample: a VM's rows in strictly
//!   increasing time (rows of different VMs may interleave), utilisation as a fraction (0-1) —
//!   the shape Azure, Google or Alibaba exports reduce to.
//!
//! VMs keep the order of the file (first appearance). Every problem is one `InputError` naming
//! the file, the line and the column: a missing `vm` column, a ragged row, a non-numeric or
//! out-of-range utilisation, a VM named twice, times out of order.

use crate::scenario::InputError;

/// The utilisation series of a set of VMs.
#[derive(Clone, Debug, PartialEq)]
pub struct VmTraceSet {
    /// The VMs' names, in file order.
    pub names: Vec<String>,
    pub series: Vec<Series>,
}

/// One VM's utilisation (fractions of its capacity) over time.
#[derive(Clone, Debug, PartialEq)]
pub enum Series {
    /// A sample every `interval_s` from time 0.
    Regular { interval_s: f64, values: Vec<f64> },
    /// Samples at the given times (increasing).
    Points { times_s: Vec<f64>, values: Vec<f64> },
}

impl Series {
    /// Number of samples.
    pub fn len(&self) -> usize {
        match self {
            Series::Regular { values, .. } | Series::Points { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Utilisation at time `t_s`, the series read `shift` samples later (wrapping around at its
    /// end; without a shift the last sample holds after the end), as a step function or
    /// interpolated linearly between samples. Before the first sample of a `Points` series its
    /// first value holds.
    pub fn at(&self, t_s: f64, shift: usize, linear: bool) -> f64 {
        match self {
            Series::Regular { interval_s, values } => {
                let n = values.len();
                let k = (t_s / interval_s).floor().max(0.0) as usize;
                let index = |i: usize| {
                    if shift > 0 {
                        values[(i + shift) % n]
                    } else {
                        values[i.min(n - 1)]
                    }
                };
                let here = index(k);
                if !linear {
                    return here;
                }
                // As CloudSim's UtilizationModelPlanetLabInMemory: d[k] + (d[k+1] − d[k]) ·
                // (t − interval·k) / interval, the last sample repeated after the end.
                let frac = (t_s - interval_s * k as f64) / interval_s;
                if frac <= 0.0 {
                    here
                } else {
                    here + (index(k + 1) - here) * frac
                }
            }
            Series::Points { times_s, values } => {
                let n = values.len();
                // Index of the last sample at or before t (shifted, wrapping).
                let i = times_s.partition_point(|&x| x <= t_s);
                if i == 0 {
                    return values[shift % n];
                }
                let k = i - 1;
                let at = |j: usize| {
                    if shift > 0 {
                        values[(j + shift) % n]
                    } else {
                        values[j.min(n - 1)]
                    }
                };
                let here = at(k);
                if !linear || k + 1 >= n {
                    return here;
                }
                let frac = (t_s - times_s[k]) / (times_s[k + 1] - times_s[k]);
                here + (at(k + 1) - here) * frac
            }
        }
    }
}

/// The two layouts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// `vm,u0,...`: percent at a regular interval (seconds).
    Planetlab { interval_s: f64 },
    /// `vm,time_s,cpu_fraction`.
    Long,
}

/// Parses trace contents in `layout`; `shown` names the file in errors.
pub fn parse_vm_traces(
    bytes: &[u8],
    shown: &str,
    layout: Layout,
) -> Result<VmTraceSet, InputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(bytes);
    let error = |line: Option<u64>, message: String| {
        InputError::new(shown, message).at_line(line.map(|l| l as usize))
    };
    let header = reader
        .byte_headers()
        .map_err(|e| {
            error(
                e.position().map(|p| p.line()),
                format!("cannot read CSV: {e}"),
            )
        })?
        .clone();
    let header_line = header.position().map(|p| p.line());
    if header.is_empty() || header.get(0) != Some(b"vm") {
        let found = String::from_utf8_lossy(header.get(0).unwrap_or_default()).into_owned();
        return Err(error(
            header_line.or(Some(1)),
            format!("the first column must be `vm`, found `{found}`"),
        )
        .field("vm"));
    }
    match layout {
        Layout::Planetlab { interval_s } => {
            let n = header.len() - 1;
            if n == 0 {
                return Err(error(
                    header_line,
                    "no utilisation columns after `vm`".into(),
                ));
            }
            for (i, h) in header.iter().enumerate().skip(1) {
                let expected = format!("u{}", i - 1);
                if h != expected.as_bytes() {
                    return Err(error(
                        header_line,
                        format!(
                            "column {} must be `{expected}`, found `{}`",
                            i + 1,
                            String::from_utf8_lossy(h)
                        ),
                    )
                    .field(expected));
                }
            }
            let mut set = VmTraceSet {
                names: Vec::new(),
                series: Vec::new(),
            };
            let mut seen = std::collections::HashMap::new();
            let mut record = csv::ByteRecord::new();
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        return Err(error(
                            e.position().map(|p| p.line()),
                            format!("cannot read CSV: {e}"),
                        ))
                    }
                }
                let line = record.position().map(|p| p.line());
                if record.len() == 1 && record[0].is_empty() {
                    continue;
                }
                if record.len() != n + 1 {
                    return Err(error(
                        line,
                        format!(
                            "expected {} fields (vm,u0..u{}), found {}",
                            n + 1,
                            n - 1,
                            record.len()
                        ),
                    ));
                }
                let name = vm_name(&record[0], line, &error)?;
                if let Some(first) = seen.insert(name.clone(), line) {
                    return Err(error(
                        line,
                        format!(
                            "VM `{name}` appears twice (first on line {})",
                            first.unwrap_or(0)
                        ),
                    )
                    .field("vm"));
                }
                let mut values = Vec::with_capacity(n);
                for i in 1..=n {
                    let pct = number(&record[i], line, &format!("u{}", i - 1), &error)?;
                    if !(0.0..=100.0).contains(&pct) {
                        return Err(error(
                            line,
                            format!("utilisation must be a percentage in 0..=100, got {pct}"),
                        )
                        .field(format!("u{}", i - 1)));
                    }
                    values.push(pct / 100.0);
                }
                set.names.push(name);
                set.series.push(Series::Regular { interval_s, values });
            }
            if set.names.is_empty() {
                return Err(error(None, "the trace has no VM rows".into()));
            }
            Ok(set)
        }
        Layout::Long => {
            let columns = ["vm", "time_s", "cpu_fraction"];
            if header.len() != 3 || header.iter().zip(columns).any(|(h, c)| h != c.as_bytes()) {
                let found: Vec<String> = header
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).into_owned())
                    .collect();
                let wrong = (0..3)
                    .find(|&i| header.get(i) != Some(columns[i].as_bytes()))
                    .unwrap_or(0);
                return Err(error(
                    header_line,
                    format!(
                        "expected the header `vm,time_s,cpu_fraction`, found `{}`",
                        found.join(",")
                    ),
                )
                .field(columns[wrong]));
            }
            let mut index = std::collections::HashMap::new();
            let mut names: Vec<String> = Vec::new();
            let mut times: Vec<Vec<f64>> = Vec::new();
            let mut values: Vec<Vec<f64>> = Vec::new();
            let mut record = csv::ByteRecord::new();
            loop {
                match reader.read_byte_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        return Err(error(
                            e.position().map(|p| p.line()),
                            format!("cannot read CSV: {e}"),
                        ))
                    }
                }
                let line = record.position().map(|p| p.line());
                if record.len() == 1 && record[0].is_empty() {
                    continue;
                }
                if record.len() != 3 {
                    return Err(error(
                        line,
                        format!(
                            "expected 3 fields (vm,time_s,cpu_fraction), found {}",
                            record.len()
                        ),
                    ));
                }
                let name = vm_name(&record[0], line, &error)?;
                let t = number(&record[1], line, "time_s", &error)?;
                if t < 0.0 {
                    return Err(
                        error(line, format!("must not be negative, got {t}")).field("time_s")
                    );
                }
                let u = number(&record[2], line, "cpu_fraction", &error)?;
                if !(0.0..=1.0).contains(&u) {
                    return Err(error(
                        line,
                        format!("utilisation must be a fraction in 0..=1, got {u}"),
                    )
                    .field("cpu_fraction"));
                }
                let k = *index.entry(name.clone()).or_insert_with(|| {
                    names.push(name.clone());
                    times.push(Vec::new());
                    values.push(Vec::new());
                    names.len() - 1
                });
                if let Some(&last) = times[k].last() {
                    if t <= last {
                        return Err(error(
                            line,
                            format!(
                                "times of VM `{name}` must be strictly increasing: {t} s follows {last} s"
                            ),
                        )
                        .field("time_s"));
                    }
                }
                times[k].push(t + 0.0);
                values[k].push(u + 0.0);
            }
            if names.is_empty() {
                return Err(error(None, "the trace has no rows".into()));
            }
            Ok(VmTraceSet {
                names,
                series: times
                    .into_iter()
                    .zip(values)
                    .map(|(times_s, values)| Series::Points { times_s, values })
                    .collect(),
            })
        }
    }
}

fn vm_name(
    field: &[u8],
    line: Option<u64>,
    error: &impl Fn(Option<u64>, String) -> InputError,
) -> Result<String, InputError> {
    let name = std::str::from_utf8(field)
        .map_err(|_| error(line, "the VM name is not valid UTF-8".into()).field("vm"))?;
    if name.is_empty() {
        return Err(error(line, "the VM name is empty".into()).field("vm"));
    }
    Ok(name.to_string())
}

fn number(
    field: &[u8],
    line: Option<u64>,
    column: &str,
    error: &impl Fn(Option<u64>, String) -> InputError,
) -> Result<f64, InputError> {
    let text = std::str::from_utf8(field).unwrap_or("");
    if text.is_empty() {
        return Err(error(line, "is empty, expected a number".into()).field(column));
    }
    let x: f64 = text
        .parse()
        .map_err(|_| error(line, format!("`{text}` is not a number")).field(column))?;
    if !x.is_finite() {
        return Err(error(line, format!("must be a finite number, got `{text}`")).field(column));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide(text: &str) -> Result<VmTraceSet, InputError> {
        parse_vm_traces(
            text.as_bytes(),
            "t.csv",
            Layout::Planetlab { interval_s: 300.0 },
        )
    }

    #[test]
    fn planetlab_rows_are_percentages_at_regular_intervals() {
        let set = wide("vm,u0,u1,u2\na,10,20,40\nb,0,100,50\n").unwrap();
        assert_eq!(set.names, ["a", "b"]);
        let a = &set.series[0];
        assert_eq!(a.at(0.0, 0, false), 0.1);
        assert_eq!(a.at(299.0, 0, false), 0.1);
        assert_eq!(a.at(300.0, 0, false), 0.2);
        assert_eq!(a.at(10_000.0, 0, false), 0.4, "the last sample holds");
        // Linear, as CloudSim: halfway between 0.2 and 0.4.
        assert!((a.at(450.0, 0, true) - 0.3).abs() < 1e-15);
        assert_eq!(
            a.at(900.0, 0, true),
            0.4,
            "past the end the last sample repeats"
        );
        // A shift of one sample reads the next one, wrapping around.
        assert_eq!(a.at(0.0, 1, false), 0.2);
        assert_eq!(a.at(600.0, 1, false), 0.1);
    }

    #[test]
    fn long_rows_interleave_and_keep_first_appearance_order() {
        let set = parse_vm_traces(
            b"vm,time_s,cpu_fraction\nx,0,0.5\ny,0,0.1\nx,60,0.7\n",
            "l.csv",
            Layout::Long,
        )
        .unwrap();
        assert_eq!(set.names, ["x", "y"]);
        assert_eq!(set.series[0].at(59.0, 0, false), 0.5);
        assert_eq!(set.series[0].at(60.0, 0, false), 0.7);
        assert!((set.series[0].at(30.0, 0, true) - 0.6).abs() < 1e-12);
        assert_eq!(set.series[1].at(1e6, 0, true), 0.1);
    }

    #[test]
    fn bad_traces_name_the_line_and_the_field() {
        let cases: &[(&str, Option<usize>, Option<&str>, &str)] = &[
            (
                "id,u0\na,1\n",
                Some(1),
                Some("vm"),
                "first column must be `vm`",
            ),
            ("vm,u0,u2\na,1,2\n", Some(1), Some("u1"), "must be `u1`"),
            ("vm,u0,u1\na,1,2\nb,1\n", Some(3), None, "expected 3 fields"),
            (
                "vm,u0,u1\na,1,x\n",
                Some(2),
                Some("u1"),
                "`x` is not a number",
            ),
            ("vm,u0,u1\na,1,101\n", Some(2), Some("u1"), "0..=100"),
            ("vm,u0,u1\na,1,-1\n", Some(2), Some("u1"), "0..=100"),
            (
                "vm,u0,u1\na,1,2\na,3,4\n",
                Some(3),
                Some("vm"),
                "appears twice",
            ),
            ("vm,u0,u1\n,1,2\n", Some(2), Some("vm"), "empty"),
            ("vm,u0\n", None, None, "no VM rows"),
        ];
        for (text, line, field, msg) in cases {
            let e = wide(text).unwrap_err();
            assert_eq!(e.line, *line, "{text}: {e}");
            assert_eq!(e.field.as_deref(), *field, "{text}: {e}");
            assert!(e.message.contains(msg), "{text}: {e}");
        }
        let e = parse_vm_traces(b"vm,time_s,cpu\n", "l.csv", Layout::Long).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("cpu_fraction"));
        let e = parse_vm_traces(
            b"vm,time_s,cpu_fraction\na,5,0.1\na,5,0.2\n",
            "l.csv",
            Layout::Long,
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(3), Some("time_s")));
        let e = parse_vm_traces(b"vm,time_s,cpu_fraction\na,5,1.5\n", "l.csv", Layout::Long)
            .unwrap_err();
        assert!(e.message.contains("0..=1"), "{e}");
    }
}
