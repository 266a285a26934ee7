//! Host overload detection, CloudSim's five detectors (Beloglazov & Buyya, CCPE 2012) as its
//! 5.0 code decides:
//!
//! - **THR**: overloaded iff the current utilisation `U` (the VMs' requests summed, uncapped,
//!   over the host's capacity) is above a static threshold (strict `>`).
//! - **IQR** / **MAD**: adaptive threshold `1 − s·IQR` / `1 − s·MAD` of the host history
//!   (needs 12 values), `U` above it.
//! - **LR**: ordinary least squares on the 10 newest history values (x = 1…10, oldest first),
//!   predicted at `x = 10 + ⌈T_mig / interval⌉`, scaled by the safety parameter: overloaded iff
//!   the prediction is `≥ 1` (non-strict). CloudSim computes tricube weights but applies them
//!   only when 40 % are ≤ 0, which never happens: the fit is plain OLS.
//! - **LRR**: CloudSim's robust variant re-weights by the residuals under the same 40 % rule,
//!   which never fires either (a zero weight needs six exactly-zero residuals, and then its
//!   weighted fit overflows and falls back to the first pass): it decides as LR does.
//!
//! The adaptive detectors answer with a static threshold of 0.7 (CloudSim's fallback) while the
//! host history is shorter than they need.

/// Threshold of the fallback used while a history is too short (CloudSim's runner: 0.7).
pub const DEFAULT_FALLBACK_THRESHOLD: f64 = 0.7;

/// Values IQR and MAD need; values LR and LRR need (and fit on).
pub const IQR_MAD_MIN_HISTORY: usize = 12;
pub const LR_WINDOW: usize = 10;

/// A host overload detector with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Detector {
    Thr {
        threshold: f64,
    },
    Iqr {
        safety: f64,
        fallback: f64,
    },
    Mad {
        safety: f64,
        fallback: f64,
    },
    Lr {
        safety: f64,
        interval_s: f64,
        fallback: f64,
    },
    Lrr {
        safety: f64,
        interval_s: f64,
        fallback: f64,
    },
}

impl Detector {
    /// Whether it reads the host history (THR does not: it need not be built).
    pub fn needs_history(&self) -> bool {
        !matches!(self, Detector::Thr { .. })
    }

    /// Whether a host is overloaded: `u` its current utilisation (requests over capacity, may
    /// exceed 1), `history` its utilisation history (newest first, oldest zeros trimmed; empty
    /// for THR), `max_migration_s` the longest migration time of its VMs (LR, LRR).
    pub fn overloaded(&self, u: f64, history: &[f64], max_migration_s: f64) -> bool {
        match *self {
            Detector::Thr { threshold } => u > threshold,
            Detector::Iqr { safety, fallback } => {
                if history.len() < IQR_MAD_MIN_HISTORY {
                    return u > fallback;
                }
                u > 1.0 - safety * iqr(history)
            }
            Detector::Mad { safety, fallback } => {
                if history.len() < IQR_MAD_MIN_HISTORY {
                    return u > fallback;
                }
                u > 1.0 - safety * mad(history)
            }
            Detector::Lr {
                safety,
                interval_s,
                fallback,
            }
            | Detector::Lrr {
                safety,
                interval_s,
                fallback,
            } => {
                if history.len() < LR_WINDOW {
                    return u > fallback;
                }
                let (a, b) = ols_window(history);
                let steps = (max_migration_s / interval_s).ceil();
                let predicted = a + b * (LR_WINDOW as f64 + steps);
                safety * predicted >= 1.0
            }
        }
    }
}

/// Inter-quartile range as CloudSim's `MathUtil.iqr`: sorted ascending, `q1` at index
/// `round(0.25·(n+1)) − 1`, `q3` at `round(0.75·(n+1)) − 1` (Java rounding, half up).
pub fn iqr(data: &[f64]) -> f64 {
    let mut s = data.to_vec();
    s.sort_by(f64::total_cmp);
    let (q1, q3) = quartile_indices(s.len());
    s[q3] - s[q1]
}

/// The indices of the first and third quartiles of `n` sorted values (CloudSim's).
pub fn quartile_indices(n: usize) -> (usize, usize) {
    let at = |p: f64| ((p * (n as f64 + 1.0) + 0.5).floor() as usize).clamp(1, n) - 1;
    (at(0.25), at(0.75))
}

/// Median as Apache commons-math's `Percentile(50)` (default estimation): position (n+1)/2,
/// interpolated between the two values around it.
pub fn median(data: &[f64]) -> f64 {
    let mut s = data.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = (n as f64 + 1.0) / 2.0;
    if pos < 1.0 {
        return s[0];
    }
    if pos >= n as f64 {
        return s[n - 1];
    }
    let fpos = pos.floor();
    let d = pos - fpos;
    let lower = s[fpos as usize - 1];
    let upper = s[fpos as usize];
    lower + d * (upper - lower)
}

/// Median absolute deviation (CloudSim's `MathUtil.mad`): median of `|x − median(x)|`.
pub fn mad(data: &[f64]) -> f64 {
    let m = median(data);
    let dev: Vec<f64> = data.iter().map(|x| (x - m).abs()).collect();
    median(&dev)
}

/// Intercept and slope of the OLS line through the [`LR_WINDOW`] newest values of `history`
/// (newest first), at x = 1…10 from the oldest to the newest.
pub fn ols_window(history: &[f64]) -> (f64, f64) {
    let n = LR_WINDOW;
    let y = |j: usize| history[n - j]; // j = 1..=n
    let mean_x = (n as f64 + 1.0) / 2.0;
    let mean_y = (1..=n).map(y).sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for j in 1..=n {
        let dx = j as f64 - mean_x;
        sxy += dx * (y(j) - mean_y);
        sxx += dx * dx;
    }
    let b = sxy / sxx;
    (mean_y - b * mean_x, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FB: f64 = DEFAULT_FALLBACK_THRESHOLD;

    #[test]
    fn thr_is_strictly_above_the_threshold() {
        let d = Detector::Thr { threshold: 0.8 };
        assert!(!d.overloaded(0.8, &[], 0.0));
        assert!(d.overloaded(0.800001, &[], 0.0));
    }

    #[test]
    fn quartile_indices_follow_cloudsim() {
        assert_eq!(quartile_indices(12), (2, 9));
        assert_eq!(quartile_indices(13), (3, 10));
        assert_eq!(quartile_indices(30), (7, 22));
    }

    #[test]
    fn iqr_thresholds_on_a_crafted_history() {
        // 12 values 0.1, 0.2, ..., 1.2 shuffled: sorted index 2 is 0.3, index 9 is 1.0.
        let h = [0.5, 1.2, 0.1, 0.9, 0.3, 0.7, 1.1, 0.2, 0.6, 1.0, 0.4, 0.8];
        assert_eq!(iqr(&h), 1.0 - 0.3);
        let d = Detector::Iqr {
            safety: 0.5,
            fallback: FB,
        };
        let t = 1.0 - 0.5 * (1.0 - 0.3);
        assert!(!d.overloaded(t, &h, 0.0));
        assert!(d.overloaded(t + 1e-9, &h, 0.0));
        // 11 values: the 0.7 fallback.
        assert!(!d.overloaded(0.7, &h[..11], 0.0));
        assert!(d.overloaded(0.71, &h[..11], 0.0));
    }

    #[test]
    fn mad_thresholds_on_a_crafted_history() {
        // Median of 1..=12 (×0.05) is 6.5×0.05; deviations 0.275, 0.225, ..., median 3×0.05.
        let h: Vec<f64> = (1..=12).map(|k| k as f64 * 0.05).collect();
        assert!((median(&h) - 0.325).abs() < 1e-15);
        assert!((mad(&h) - 0.15).abs() < 1e-15);
        let d = Detector::Mad {
            safety: 2.5,
            fallback: FB,
        };
        let t = 1.0 - 2.5 * mad(&h);
        assert!(!d.overloaded(t, &h, 0.0));
        assert!(d.overloaded(t + 1e-9, &h, 0.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn lr_predicts_with_a_closed_form_ols_line() {
        // Newest first: y(x) = 0.3 + 0.04 x at x = 10 (newest) ... 1 (oldest), plus 5 older
        // values the window ignores. Slope 0.04, intercept 0.3: at x = 11, 0.74; ×1.2 = 0.888.
        let mut h: Vec<f64> = (1..=10).rev().map(|x| 0.3 + 0.04 * x as f64).collect();
        h.extend([9.0; 5]);
        let (a, b) = ols_window(&h);
        assert!(
            (a - 0.3).abs() < 1e-12 && (b - 0.04).abs() < 1e-12,
            "{a} {b}"
        );
        let lr = |s: f64| Detector::Lr {
            safety: s,
            interval_s: 300.0,
            fallback: FB,
        };
        // 27.84 s of migration: one interval ahead (x = 11).
        assert!(!lr(1.2).overloaded(0.0, &h, 27.84));
        assert!(lr(1.0 / 0.74 + 1e-9).overloaded(0.0, &h, 27.84));
        // 301 s of migration: two intervals (x = 12: 0.78).
        assert!(lr(1.0 / 0.78 + 1e-9).overloaded(0.0, &h, 301.0));
        assert!(!lr(1.0 / 0.78 - 1e-6).overloaded(0.0, &h, 301.0));
        // A noisy history against the textbook formula b = Σ(x−x̄)(y−ȳ)/Σ(x−x̄)².
        let noisy = [0.61, 0.40, 0.55, 0.32, 0.47, 0.29, 0.35, 0.18, 0.22, 0.1];
        let ys: Vec<f64> = noisy.iter().rev().copied().collect(); // x = 1..10
        let ybar = ys.iter().sum::<f64>() / 10.0;
        let b: f64 = ys
            .iter()
            .enumerate()
            .map(|(i, y)| (i as f64 + 1.0 - 5.5) * (y - ybar))
            .sum::<f64>()
            / 82.5;
        let (a2, b2) = ols_window(&noisy);
        assert!((b2 - b).abs() < 1e-15 && (a2 - (ybar - 5.5 * b)).abs() < 1e-15);
        // Constant history c: overloaded iff 1.2 c >= 1.
        // Constant history c: p = 1.2 c, overloaded iff c >= 1/1.2 = 0.8333...
        assert!(lr(1.2).overloaded(0.0, &[0.84; 10], 10.0));
        assert!(!lr(1.2).overloaded(0.0, &[0.83; 10], 10.0));
        // Exactly at the limit (p = 1 exactly: 0.5 × 2): the test is non-strict.
        assert!(lr(2.0).overloaded(0.0, &[0.5; 10], 10.0));
        // Fewer than 10 values: the 0.7 fallback on the current utilisation.
        assert!(lr(1.2).overloaded(0.71, &h[..9], 27.84));
        assert!(!lr(1.2).overloaded(0.7, &h[..9], 27.84));
    }

    #[test]
    fn lrr_decides_as_lr() {
        let h: Vec<f64> = (0..30)
            .map(|k| 0.5 + 0.3 * ((k * 7 % 11) as f64 / 11.0))
            .collect();
        for s in [0.9, 1.2, 1.5, 2.0] {
            for n in [9, 10, 17, 30] {
                let lr = Detector::Lr {
                    safety: s,
                    interval_s: 300.0,
                    fallback: FB,
                };
                let lrr = Detector::Lrr {
                    safety: s,
                    interval_s: 300.0,
                    fallback: FB,
                };
                assert_eq!(
                    lr.overloaded(0.75, &h[..n], 13.92),
                    lrr.overloaded(0.75, &h[..n], 13.92)
                );
            }
        }
    }
}
