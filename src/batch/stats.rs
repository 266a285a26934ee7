//! The statistics of a sweep: streaming mean and standard deviation, Student t quantiles, 95%
//! confidence intervals of a mean, and Welch's interval of a difference of two means.
//!
//! Written here rather than pulled from a statistics crate because it is small, and because the
//! regression gate must give the same verdict on every machine: the t quantile is computed from
//! the regularized incomplete beta function to ~1e-10 and tested against published tables.

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

/// The `p` quantile of Student's t distribution with `df` degrees of freedom (`df` > 0, real).
/// For p in (0, 1); uses the symmetry t(1 − p) = −t(p).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    assert!(p > 0.0 && p < 1.0 && df > 0.0, "t_quantile({p}, {df})");
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // Upper tail probability q = 1 − p; P(T > t) = I_{df/(df+t²)}(df/2, 1/2) / 2.
    let q = 1.0 - p;
    let upper_tail = |t: f64| 0.5 * reg_inc_beta(df / 2.0, 0.5, df / (df + t * t));
    // Bracket then bisect: upper_tail decreases in t.
    let mut lo = 0.0_f64;
    let mut hi = 1.0_f64;
    while upper_tail(hi) > q {
        lo = hi;
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if upper_tail(mid) > q {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (modified
/// Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
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
