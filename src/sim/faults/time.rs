//! Random times to failure and to repair, ready to sample, in seconds.

use crate::engine::Rng;
use crate::scenario::faults::FaultTime;
use rand_distr::{Distribution as _, Exp1, StandardNormal, Weibull};

/// A [`FaultTime`] prepared for sampling.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum FaultSampler {
    Exponential {
        mean_s: f64,
    },
    /// Scale λ and shape k: mean λ·Γ(1 + 1/k).
    Weibull {
        scale_s: f64,
        shape: f64,
    },
    /// exp(mu + sigma·Z), Z standard normal.
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Deterministic {
        value_s: f64,
    },
}

impl FaultSampler {
    /// The sampler of a validated fault time (means > 0, shape > 0, cv >= 0).
    pub fn new(t: &FaultTime) -> Self {
        match *t {
            FaultTime::Exponential { mean_s } => FaultSampler::Exponential { mean_s },
            FaultTime::Weibull { mean_s, shape } => FaultSampler::Weibull {
                scale_s: mean_s / statrs::function::gamma::gamma(1.0 + 1.0 / shape),
                shape,
            },
            FaultTime::Lognormal { mean_s, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                FaultSampler::Lognormal {
                    mu: mean_s.ln() - sigma2 / 2.0,
                    sigma: sigma2.sqrt(),
                }
            }
            FaultTime::Deterministic { mean_s } => FaultSampler::Deterministic { value_s: mean_s },
        }
    }

    /// One sample, in seconds.
    pub fn sample_s(&self, rng: &mut Rng) -> f64 {
        match *self {
            FaultSampler::Exponential { mean_s } => {
                let e: f64 = Exp1.sample(rng);
                mean_s * e
            }
            FaultSampler::Weibull { scale_s, shape } => Weibull::new(scale_s, shape)
                .expect("validated: scale and shape > 0")
                .sample(rng),
            FaultSampler::Lognormal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                (mu + sigma * z).exp()
            }
            FaultSampler::Deterministic { value_s } => value_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::stream;

    fn mean_of(t: FaultTime, n: usize) -> f64 {
        let s = FaultSampler::new(&t);
        let mut rng = stream(5, "test", 0, 0, 0);
        (0..n).map(|_| s.sample_s(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn samples_have_the_mean_asked_for() {
        let n = 200_000;
        // Weibull of shape 0.7: cv = sqrt(Γ(1+2/k)/Γ(1+1/k)² − 1) ≈ 1.46; 5 standard errors.
        let m = mean_of(
            FaultTime::Weibull {
                mean_s: 3600.0,
                shape: 0.7,
            },
            n,
        );
        assert!(
            (m / 3600.0 - 1.0).abs() < 5.0 * 1.46 / (n as f64).sqrt(),
            "{m}"
        );
        let m = mean_of(FaultTime::Exponential { mean_s: 10.0 }, n);
        assert!((m / 10.0 - 1.0).abs() < 5.0 / (n as f64).sqrt(), "{m}");
        let m = mean_of(
            FaultTime::Lognormal {
                mean_s: 600.0,
                cv: 1.0,
            },
            n,
        );
        assert!((m / 600.0 - 1.0).abs() < 5.0 / (n as f64).sqrt(), "{m}");
        assert_eq!(mean_of(FaultTime::Deterministic { mean_s: 7.0 }, 3), 7.0);
    }
}
