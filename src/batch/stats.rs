//! The statistics of a sweep: streaming mean and standard deviation, 95% confidence intervals of
//! a mean (used for paired per-seed differences too), and Welch's interval of a difference of two
//! independent means. Student's t quantiles come from the `statrs` crate, checked here against
//! published tables.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Mean and sample variance accumulated one value at a time (Welford's algorithm), so a sweep
/// aggregates any number of runs in constant memory and without the cancellation of the naive
/// sum-of-squares formula.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Welford {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Welford {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one observation. Non-finite values are ignored: a summary writes NaN as `null`
    /// (e.g. a mean response time with no request), which is "no value", not a value.
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    /// The mean, or NaN with no observation.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }

    /// The sample standard deviation (n − 1 in the denominator), NaN below two observations.
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            f64::NAN
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0).sqrt()
        }
    }

    /// The 95% confidence interval of the mean (Student t with n − 1 degrees of freedom), NaN
    /// bounds below two observations.
    pub fn ci95(&self) -> (f64, f64) {
        ci95(self.n, self.mean(), self.sd())
    }
}

/// The 95% confidence interval of a mean from `n` observations of sample standard deviation
/// `sd` (two-sided, Student t with n − 1 degrees of freedom). NaN bounds when n < 2.
pub fn ci95(n: u64, mean: f64, sd: f64) -> (f64, f64) {
    if n < 2 || !sd.is_finite() || !mean.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    let half = t_quantile(0.975, (n - 1) as f64) * sd / (n as f64).sqrt();
    (mean - half, mean + half)
}

/// Welch's 95% confidence interval of `mean_b − mean_a` for two independent samples given by
/// their size, mean and sample standard deviation, with the Welch–Satterthwaite degrees of
/// freedom. Returns `(difference, low, high)`; NaN bounds when either sample has fewer than two
/// values. When both deviations are zero the interval is the difference itself (the runs are
/// deterministic, so no spread means no noise).
pub fn welch_diff_ci95(
    (n_a, mean_a, sd_a): (u64, f64, f64),
    (n_b, mean_b, sd_b): (u64, f64, f64),
) -> (f64, f64, f64) {
    let diff = mean_b - mean_a;
    if n_a < 2 || n_b < 2 || !sd_a.is_finite() || !sd_b.is_finite() {
        return (diff, f64::NAN, f64::NAN);
    }
    let va = sd_a * sd_a / n_a as f64;
    let vb = sd_b * sd_b / n_b as f64;
    let se2 = va + vb;
    if se2 == 0.0 {
        return (diff, diff, diff);
    }
    let df = se2 * se2
        / (va * va / (n_a - 1) as f64 + vb * vb / (n_b - 1) as f64).max(f64::MIN_POSITIVE);
    let half = t_quantile(0.975, df) * se2.sqrt();
    (diff, diff - half, diff + half)
}

/// Above this many degrees of freedom the t quantile is the normal one. statrs 0.19's inverse
/// t CDF loses accuracy there (t(0.975, 10^7) comes out as 1.83 instead of 1.95996), while the
/// normal quantile is within 1.3e-5 (relative) of t(0.975, 10^5) and closer beyond.
pub const NORMAL_ABOVE_DF: f64 = 1e5;

/// The `p` quantile of Student's t distribution with `df` degrees of freedom (`df` > 0, real),
/// for p in (0, 1), from `statrs` (the normal quantile above [`NORMAL_ABOVE_DF`]).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && df > 0.0, "t_quantile({p}, {df})");
    if df > NORMAL_ABOVE_DF {
        return Normal::standard().inverse_cdf(p);
    }
    StudentsT::new(0.0, 1.0, df)
        .expect("df > 0 was checked")
        .inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_match_published_tables() {
        // Two-sided 95% critical values (p = 0.975), from standard t tables.
        let table = [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (3.0, 3.1824),
            (4.0, 2.7764),
            (5.0, 2.5706),
            (9.0, 2.2622),
            (10.0, 2.2281),
            (19.0, 2.0930),
            (29.0, 2.0452),
            (30.0, 2.0423),
            (60.0, 2.0003),
            (120.0, 1.9799),
        ];
        for (df, t) in table {
            let q = t_quantile(0.975, df);
            assert!(close(q, t, 5e-4), "df {df}: {q} vs {t}");
        }
        // Other levels, and the normal limit.
        assert!(close(t_quantile(0.95, 10.0), 1.8125, 5e-4));
        assert!(close(t_quantile(0.995, 5.0), 4.0321, 5e-4));
        assert!(close(t_quantile(0.975, 1e7), 1.95996, 1e-4));
        // Either side of the switch to the normal quantile: t(0.975, df) ≈ z + (z³ + z) / 4df.
        let z = 1.959_963_985;
        for df in [5e4, 1e5, 2e5, 1e6] {
            let approx = z + (z * z * z + z) / (4.0 * df);
            assert!(close(t_quantile(0.975, df), approx, 3e-5), "df {df}");
        }
        // More published two-sided 95% and 99% values.
        assert!(close(t_quantile(0.975, 7.0), 2.3646, 5e-4));
        assert!(close(t_quantile(0.975, 15.0), 2.1314, 5e-4));
        assert!(close(t_quantile(0.995, 10.0), 3.1693, 5e-4));
        assert!(close(t_quantile(0.995, 30.0), 2.7500, 5e-4));
        assert!(close(t_quantile(0.025, 9.0), -2.2622, 5e-4));
        assert_eq!(t_quantile(0.5, 3.0), 0.0);
        // df = 1 is the Cauchy distribution: t(p) = tan(π(p − 1/2)) exactly.
        let exact = (std::f64::consts::PI * (0.9 - 0.5)).tan();
        assert!(close(t_quantile(0.9, 1.0), exact, 1e-9));
    }

    #[test]
    fn mean_sd_and_interval_on_known_numbers() {
        let mut w = Welford::new();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            w.push(x);
        }
        assert_eq!(w.n(), 8);
        assert!(close(w.mean(), 5.0, 1e-12));
        // Sample sd: sqrt(32 / 7).
        assert!(close(w.sd(), (32.0f64 / 7.0).sqrt(), 1e-12));
        let (lo, hi) = w.ci95();
        let half = 2.364_624_251_6 * (32.0f64 / 7.0).sqrt() / 8f64.sqrt(); // t(0.975, 7)
        assert!(
            close(lo, 5.0 - half, 1e-6) && close(hi, 5.0 + half, 1e-6),
            "{lo} {hi}"
        );
        // Non-finite values are "no value".
        w.push(f64::NAN);
        assert_eq!(w.n(), 8);
    }

    #[test]
    fn too_few_values_give_no_interval() {
        let mut w = Welford::new();
        assert!(w.mean().is_nan());
        w.push(3.0);
        assert_eq!(w.mean(), 3.0);
        assert!(w.sd().is_nan());
        assert!(w.ci95().0.is_nan());
    }

    #[test]
    fn welch_interval_on_known_numbers() {
        // Equal sizes and deviations: df = 2(n − 1) = 18, se = sd·sqrt(2/n).
        let (d, lo, hi) = welch_diff_ci95((10, 100.0, 5.0), (10, 110.0, 5.0));
        assert_eq!(d, 10.0);
        let half = 2.1009 * 5.0 * (0.2f64).sqrt(); // t(0.975, 18)
        assert!(close(lo, 10.0 - half, 1e-3) && close(hi, 10.0 + half, 1e-3));
        // No spread at all: the interval is the point.
        assert_eq!(
            welch_diff_ci95((5, 1.0, 0.0), (5, 1.5, 0.0)),
            (0.5, 0.5, 0.5)
        );
        assert!(welch_diff_ci95((1, 1.0, f64::NAN), (5, 1.0, 0.1))
            .1
            .is_nan());
    }
}
