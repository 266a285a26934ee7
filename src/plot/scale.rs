//! Value axes: linear or logarithmic, their ticks at round values, and tick labels without
//! float noise or negative zeros.
//!
//! Charts are drawn in "coordinate space": the value itself on a linear axis, its base-10
//! logarithm on a log axis, so that plotters only ever sees linear coordinates and every
//! figure kind supports both scales through the same code.

/// How values map to positions along an axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

/// The scale the user asks for (`reconf plot --scale`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ScaleChoice {
    /// Logarithmic when the values are positive and span more than two decades.
    #[default]
    Auto,
    Linear,
    /// Logarithmic wherever the values are all positive (linear elsewhere).
    Log,
}

/// Decades that positive values must span for `auto` to choose a log scale: bars of 95 ms next
/// to one of 6.5 s are flat on a linear scale.
pub const AUTO_LOG_DECADES: f64 = 2.0;

impl ScaleChoice {
    /// The scale for these values (non-finite ones ignored).
    pub fn pick(self, values: impl IntoIterator<Item = f64>) -> Scale {
        if self == ScaleChoice::Linear {
            return Scale::Linear;
        }
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        let mut any = false;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            if v <= 0.0 {
                return Scale::Linear;
            }
            lo = lo.min(v);
            hi = hi.max(v);
            any = true;
        }
        if !any {
            return Scale::Linear;
        }
        match self {
            ScaleChoice::Log => Scale::Log,
            _ if (hi / lo).log10() > AUTO_LOG_DECADES => Scale::Log,
            _ => Scale::Linear,
        }
    }
}

/// An axis: its range in coordinate space and its ticks.
#[derive(Clone, Debug)]
pub struct Axis {
    pub scale: Scale,
    /// The range, in coordinate space.
    pub lo: f64,
    pub hi: f64,
    /// Labelled ticks, in coordinate space.
    pub major: Vec<f64>,
    /// Unlabelled grid lines (log axes: 2..9 of each decade), in coordinate space.
    pub minor: Vec<f64>,
    /// The distance between linear ticks (for their number of decimals).
    step: f64,
}

/// The least "round" step (1, 2 or 5 times a power of ten; whole numbers if `integer`) that
/// cuts `span` into at most `max_ticks` intervals.
fn round_step(span: f64, max_ticks: usize, integer: bool) -> f64 {
    let raw = span / max_ticks.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * p);
    if integer {
        step.max(1.0).round()
    } else {
        step
    }
}

impl Axis {
    /// A linear axis over the values `lo..hi`: its ends are extended to the ticks around them
    /// (the frame then never cuts a line), from zero when `from_zero`.
    pub fn linear(lo: f64, hi: f64, from_zero: bool, integer: bool) -> Axis {
        let (mut lo, mut hi) = if from_zero {
            (lo.min(0.0), hi.max(0.0))
        } else {
            (lo, hi)
        };
        if (hi - lo).is_nan() || hi - lo <= 1e-12 * hi.abs().max(lo.abs()).max(1e-300) {
            // One value: a range around it (from zero when asked).
            let w = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
            hi += w;
            if !(from_zero && lo == 0.0) {
                lo -= w;
            }
        }
        // A little room beyond the data, so that no line runs along the frame.
        let room = 0.02 * (hi - lo);
        hi += room;
        if !(from_zero && lo == 0.0) {
            lo -= room;
        }
        let step = round_step(hi - lo, 8, integer);
        // Ends on the ticks at or around the values (a value a hair past a tick, from float
        // noise, does not add a tick).
        let first = (lo / step + 1e-9).floor();
        let last = (hi / step - 1e-9).ceil();
        let major: Vec<f64> = (0..=((last - first) as i64))
            .map(|k| clean((first + k as f64) * step, step))
            .collect();
        Axis {
            scale: Scale::Linear,
            lo: first * step,
            hi: last * step,
            major,
            minor: Vec::new(),
            step,
        }
    }

    /// A linear axis over a fixed range (e.g. fractions, 0..1), ticks inside it.
    pub fn fixed(lo: f64, hi: f64) -> Axis {
        let step = round_step(hi - lo, 6, false);
        let first = (lo / step - 1e-9).ceil() as i64;
        let last = (hi / step + 1e-9).floor() as i64;
        Axis {
            scale: Scale::Linear,
            lo,
            hi,
            major: (first..=last)
                .map(|k| clean(k as f64 * step, step))
                .collect(),
            minor: Vec::new(),
            step,
        }
    }

    /// A log axis over positive values `lo..hi`, from the decade below to the decade above.
    pub fn log(lo: f64, hi: f64) -> Axis {
        let d0 = lo.log10().floor();
        let d1 = hi.log10().ceil().max(d0 + 1.0);
        let decades = (d1 - d0) as i64;
        // Few decades: 1, 2 and 5 of each are labelled; many: the powers of ten only.
        let labelled: &[f64] = if decades <= 2 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut major = Vec::new();
        let mut minor = Vec::new();
        for d in 0..=decades {
            let base = d0 + d as f64;
            for m in 1..10 {
                let c = base + (m as f64).log10();
                if c > d1 + 1e-9 {
                    break;
                }
                if labelled.contains(&(m as f64)) {
                    major.push(c);
                } else {
                    minor.push(c);
                }
            }
        }
        Axis {
            scale: Scale::Log,
            lo: d0,
            hi: d1,
            major,
            minor,
            step: 0.0,
        }
    }

    /// An axis of the given scale over the values (log needs them positive; the caller
    /// chose the scale with [`ScaleChoice::pick`]).
    pub fn of(scale: Scale, lo: f64, hi: f64, from_zero: bool, integer: bool) -> Axis {
        match scale {
            Scale::Log if lo > 0.0 => Axis::log(lo, hi),
            _ => Axis::linear(lo, hi, from_zero, integer),
        }
    }

    /// A value in coordinate space (log axes: values at or below zero go to the axis start).
    pub fn coord(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log if v > 0.0 => v.log10(),
            Scale::Log => self.lo,
        }
    }

    /// A coordinate back to its value.
    pub fn value(&self, c: f64) -> f64 {
        match self.scale {
            Scale::Linear => c,
            Scale::Log => 10f64.powf(c),
        }
    }

    /// The label of a tick at coordinate `c`.
    pub fn label(&self, c: f64) -> String {
        match self.scale {
            Scale::Linear => fmt_step(c, self.step),
            Scale::Log => fmt_sig(self.value(c), 3),
        }
    }

    /// The start of bars (zero, or the axis start on a log axis).
    pub fn base(&self) -> f64 {
        match self.scale {
            Scale::Linear => 0.0f64.clamp(self.lo, self.hi),
            Scale::Log => self.lo,
        }
    }
}

/// `v` rounded to a multiple of `step`'s last digit (no float noise from `k * step`).
fn clean(v: f64, step: f64) -> f64 {
    let digits = decimals(step) as i32;
    let f = 10f64.powi(digits);
    let r = (v * f).round() / f;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// The decimals that show a multiple of `step` exactly.
fn decimals(step: f64) -> usize {
    if step.is_nan() || step <= 0.0 {
        return 0;
    }
    let mut d = 0usize;
    let mut s = step;
    while d < 12 && (s - s.round()).abs() > 1e-9 * s.abs().max(1.0) {
        s *= 10.0;
        d += 1;
    }
    d
}

/// A tick of a linear axis with ticks `step` apart: plain decimals, or scientific notation
/// when they would be too long; never `-0`.
pub fn fmt_step(v: f64, step: f64) -> String {
    if v.abs() < step * 1e-6 || v == 0.0 {
        return "0".into();
    }
    let d = decimals(step);
    if d > 4 || v.abs() >= 1e6 {
        // As many significant digits as the step needs.
        let sig = (v.abs().log10().floor() - step.log10().floor()) as usize + 1;
        return fmt_sig(v, sig.clamp(1, 6));
    }
    no_negative_zero(format!("{v:.d$}"))
}

/// `v` with `sig` significant digits, trailing zeros dropped: plain for 0.001..1e6,
/// scientific (`2.5e-7`) outside; never `-0`.
pub fn fmt_sig(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_finite() {
            "0".into()
        } else {
            format!("{v}")
        };
    }
    let sig = sig.max(1);
    let a = v.abs();
    let s = if (1e-3..1e6).contains(&a) {
        let mag = a.log10().floor() as i32;
        let d = (sig as i32 - 1 - mag).max(0) as usize;
        trim_zeros(format!("{v:.d$}"))
    } else {
        let s = format!("{:.*e}", sig - 1, v);
        match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim_zeros(m.to_string())),
            None => s,
        }
    };
    no_negative_zero(s)
}

/// A number for prose in figures (legends, titles): up to 4 significant digits.
pub fn fmt_num(v: f64) -> String {
    fmt_sig(v, 4)
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `-0`, `-0.0`, `-0.00` (a tiny negative value rounded away) lose their sign.
fn no_negative_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.chars().all(|c| c == '0' || c == '.') => rest.to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_cover_the_data() {
        let a = Axis::linear(3.0, 1234.0, true, false);
        assert_eq!(a.lo, 0.0);
        // From zero exactly: no tick below it.
        assert_eq!(Axis::linear(105.0, 900.0, true, false).major[0], 0.0);
        assert_eq!(Axis::linear(0.0, 990.0, true, false).hi, 1200.0);
        // Counts that reach a tick get one more above them.
        assert_eq!(Axis::linear(3.0, 4.0, true, true).hi, 5.0);
        assert!(a.hi >= 1234.0);
        assert_eq!(a.major.first(), Some(&0.0));
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert_eq!(
            labels,
            ["0", "200", "400", "600", "800", "1000", "1200", "1400"]
        );
        // Float noise never shows: 0.1 steps.
        let a = Axis::linear(0.0, 0.6, true, false);
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert_eq!(
            labels,
            ["0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7"]
        );
    }

    #[test]
    fn integer_axes_have_whole_ticks() {
        let a = Axis::linear(0.0, 2.5, true, true);
        assert!(a.major.iter().all(|v| v.fract() == 0.0), "{:?}", a.major);
        assert_eq!(a.major, [0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn ticks_across_zero_have_no_negative_zero() {
        let a = Axis::linear(-2.7, 12.4, false, false);
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert!(labels.contains(&"0".to_string()), "{labels:?}");
        assert!(labels.iter().all(|l| l != "-0" && !l.starts_with("-0.0")));
        // Values that round to zero.
        assert_eq!(fmt_step(-1e-17, 0.5), "0");
        assert_eq!(fmt_step(-0.0, 1.0), "0");
        assert_eq!(fmt_sig(-0.0, 3), "0");
        assert_eq!(fmt_num(-0.00001), "-1e-5");
        assert_eq!(no_negative_zero("-0.00".into()), "0.00");
        assert_eq!(no_negative_zero("-0".into()), "0");
        assert_eq!(no_negative_zero("-0.5".into()), "-0.5");
    }

    #[test]
    fn tiny_and_huge_steps_use_scientific_notation() {
        let a = Axis::linear(-2.4e-6, 1.1e-6, false, false);
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert!(labels.iter().any(|l| l == "-2e-6"), "{labels:?}");
        assert!(labels.iter().all(|l| l.len() <= 7), "{labels:?}");
        assert_eq!(fmt_step(2_500_000.0, 500_000.0), "2.5e6");
        assert_eq!(fmt_sig(0.30000000000000004, 3), "0.3");
        assert_eq!(fmt_sig(1200.0, 3), "1200");
    }

    #[test]
    fn log_axes_span_whole_decades() {
        // The paper's p95 bars: 63 ms to 6.5 s.
        let a = Axis::log(63.0, 6534.0);
        assert_eq!((a.lo, a.hi), (1.0, 4.0));
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert_eq!(labels, ["10", "100", "1000", "10000"]);
        assert_eq!(a.minor.len(), 8 * 3);
        // Two decades or fewer: 1, 2, 5 labelled.
        let a = Axis::log(3.0, 80.0);
        let labels: Vec<String> = a.major.iter().map(|&c| a.label(c)).collect();
        assert_eq!(labels, ["1", "2", "5", "10", "20", "50", "100"]);
        assert!((a.coord(100.0) - 2.0).abs() < 1e-12);
        assert_eq!(a.coord(0.0), a.lo);
    }

    #[test]
    fn auto_picks_log_beyond_two_decades_of_positive_values() {
        let auto = ScaleChoice::Auto;
        assert_eq!(auto.pick([95.0, 119.0, 63.0, 6534.0]), Scale::Log);
        assert_eq!(auto.pick([95.0, 119.0, 63.0, 6000.0]), Scale::Linear);
        assert_eq!(auto.pick([0.0, 1.0, 1000.0]), Scale::Linear);
        assert_eq!(auto.pick([f64::NAN, 1.0, 1000.0]), Scale::Log);
        assert_eq!(ScaleChoice::Log.pick([1.0, 2.0]), Scale::Log);
        assert_eq!(ScaleChoice::Log.pick([-1.0, 2.0]), Scale::Linear);
        assert_eq!(ScaleChoice::Linear.pick([1.0, 1e9]), Scale::Linear);
    }
}
