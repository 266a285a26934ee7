//! Validation of the fault model against theory: a tier of k replicas whose servers crash after
//! exponential times (rate λ each while running) and are repaired in place after exponential
//! times (rate μ per repair crew) is a birth-death chain on the number of replicas down; its
//! stationary distribution gives the tier's availability exactly (P[at least one up]), for one
//! repair crew and for k crews (`scenarios/validation/availability.toml`).
//!
//! Each case runs over independent seeds; the tolerance is the seeds' 99.9% confidence interval
//! (Student t), so it is derived from the run length, and the test also checks that this
//! interval is within 1% of the exact value: agreement within 1% is then not luck.

mod common;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Steady-state availability of k replicas, crash rate `lambda` each while up, repair rate `mu`
/// per crew, `crews` crews: the stationary law of the birth-death chain on n (replicas down),
/// birth rate (k − n)·λ, death rate min(n, crews)·μ; availability = 1 − π_k.
fn birth_death_availability(k: u32, lambda: f64, mu: f64, crews: u32) -> f64 {
    let mut weights = vec![1.0];
    for n in 0..k {
        let birth = f64::from(k - n) * lambda;
        let death = f64::from((n + 1).min(crews)) * mu;
        let w = weights[n as usize] * birth / death;
        weights.push(w);
    }
    let total: f64 = weights.iter().sum();
    1.0 - weights[k as usize] / total
}

#[test]
fn chain_reference_values() {
    // One replica: availability μ / (λ + μ) whatever the crews.
    let a = birth_death_availability(1, 1.0 / 1000.0, 1.0 / 500.0, 1);
    assert!((a - 2.0 / 3.0).abs() < 1e-12);
    // k crews: replicas independent, unavailability (λ/(λ+μ))^k.
    let a = birth_death_availability(3, 1.0 / 1000.0, 1.0 / 500.0, 3);
    assert!((a - (1.0 - 1.0 / 27.0)).abs() < 1e-12);
    // One crew, k = 3, ρ = 1/2: weights 1, 3ρ, 6ρ², 6ρ³ = 1, 1.5, 1.5, 0.75.
    let a = birth_death_availability(3, 1.0 / 1000.0, 1.0 / 500.0, 1);
    assert!((a - (1.0 - 0.75 / 4.75)).abs() < 1e-12);
}

/// Simulated availability of the validation scenario over `seeds`, with `crews` (0: as many as
/// needed).
fn simulated(crews: u32, seeds: &[u64]) -> Vec<f64> {
    seeds
        .par_iter()
        .map(|&seed| {
            let sets = [
                format!("seed={seed}"),
                format!("faults.replicas[0].repair_crews={crews}"),
            ];
            let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
            let loaded = common::load_with("scenarios/validation/availability.toml", &sets);
            let out = common::run(&loaded);
            let s = out.summary;
            let tier = s
                .faults
                .tier_availability
                .as_ref()
                .expect("faults reported")["svc.app"];
            // One application of one tier: all three figures are the same.
            assert_eq!(s.users.availability, Some(tier));
            assert_eq!(s.apps["svc"].availability, Some(tier));
            // Every crash is a row of failures.csv; repairs are the crashes repaired.
            let rows = out.failures.expect("failures.csv");
            assert_eq!(s.faults.failures, Some(rows.len() as u64));
            assert!(s.faults.repairs.unwrap() + 3 >= rows.len() as u64);
            tier
        })
        .collect()
}

fn check(crews: u32, k_crews: u32) {
    let (k, lambda, mu) = (3, 1.0 / 1000.0, 1.0 / 500.0);
    let exact = birth_death_availability(k, lambda, mu, k_crews);
    let seeds: Vec<u64> = (1..=12).collect();
    let xs = simulated(crews, &seeds);
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.9995);
    let half_width = t * (var / n).sqrt();
    eprintln!(
        "crews = {k_crews}: simulated {mean:.5} ± {half_width:.5} (99.9%), Markov chain {exact:.5}"
    );
    assert!(
        half_width < 0.01 * exact,
        "the runs are too short to test 1%: ±{half_width}"
    );
    assert!(
        (mean - exact).abs() <= half_width,
        "simulated availability {mean} (±{half_width}) differs from the chain's {exact}"
    );
    assert!((mean - exact).abs() < 0.01 * exact);
}

#[test]
fn one_repair_crew_matches_the_birth_death_chain() {
    check(1, 1);
}

#[test]
fn k_repair_crews_match_the_birth_death_chain() {
    // 0: as many crews as crashed replicas, here k = 3.
    check(0, 3);
}
