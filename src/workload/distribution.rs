//! Random durations (think times, service demands) ready to sample, in seconds.

use crate::engine::Rng;
use crate::scenario::schema::Distribution;
use rand_distr::{Distribution as _, Exp1, StandardNormal};

/// A distribution prepared for sampling: parameters converted to seconds once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    Exponential {
        mean_s: f64,
    },
    Deterministic {
        value_s: f64,
    },
    /// exp(mu + sigma·Z), Z standard normal.
    Lognormal {
        mu: f64,
        sigma: f64,
    },
}

impl Sampler {
    pub fn new(d: &Distribution) -> Self {
        match *d {
            Distribution::Exponential { mean_ms } => Sampler::Exponential {
                mean_s: mean_ms / 1000.0,
            },
            Distribution::Deterministic { mean_ms } => Sampler::Deterministic {
                value_s: mean_ms / 1000.0,
            },
            Distribution::Lognormal { mean_ms, cv } => {
                // Mean m and coefficient of variation c: sigma² = ln(1 + c²), mu = ln m − sigma²/2.
                let sigma2 = (1.0 + cv * cv).ln();
                Sampler::Lognormal {
                    mu: (mean_ms / 1000.0).ln() - sigma2 / 2.0,
                    sigma: sigma2.sqrt(),
                }
            }
        }
    }

    pub fn mean_s(&self) -> f64 {
        match *self {
            Sampler::Exponential { mean_s } => mean_s,
            Sampler::Deterministic { value_s } => value_s,
            Sampler::Lognormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
        }
    }

    /// Whether every sample is 0 (a tier that this interaction does not visit).
    pub fn is_zero(&self) -> bool {
        self.mean_s() == 0.0
    }

    /// One sample, in seconds.
    #[inline]
    pub fn sample_s(&self, rng: &mut Rng) -> f64 {
        match *self {
            Sampler::Exponential { mean_s } => {
                let e: f64 = Exp1.sample(rng);
                mean_s * e
            }
            Sampler::Deterministic { value_s } => value_s,
            Sampler::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn moments(s: Sampler, n: usize) -> (f64, f64) {
        let mut rng = stream(3, "test", 0, 0, 0);
        let xs: Vec<f64> = (0..n).map(|_| s.sample_s(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var)
    }

    #[test]
    fn exponential_has_its_mean_and_unit_cv() {
        let n = 200_000;
        let (mean, var) = moments(
            Sampler::new(&Distribution::Exponential { mean_ms: 20.0 }),
            n,
        );
        // Standard error of the mean: sd / sqrt(n) = 0.02 / 447 ≈ 4.5e-5; allow 4 of them.
        assert!(
            (mean - 0.02).abs() < 4.0 * 0.02 / (n as f64).sqrt(),
            "{mean}"
        );
        assert!((var.sqrt() / mean - 1.0).abs() < 0.01);
    }

    #[test]
    fn lognormal_has_its_mean_and_cv() {
        let n = 400_000;
        let s = Sampler::new(&Distribution::Lognormal {
            mean_ms: 50.0,
            cv: 0.5,
        });
        assert!((s.mean_s() - 0.05).abs() < 1e-12);
        let (mean, var) = moments(s, n);
        assert!(
            (mean - 0.05).abs() < 4.0 * 0.025 / (n as f64).sqrt(),
            "{mean}"
        );
        assert!((var.sqrt() / mean - 0.5).abs() < 0.01);
    }

    #[test]
    fn deterministic_is_exact() {
        let s = Sampler::new(&Distribution::Deterministic { mean_ms: 5.0 });
        let mut rng = stream(3, "test", 0, 0, 0);
        assert_eq!(s.sample_s(&mut rng), 0.005);
        assert!(Sampler::new(&Distribution::Deterministic { mean_ms: 0.0 }).is_zero());
    }
}
