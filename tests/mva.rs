//! Validation against exact Mean Value Analysis.
//!
//! `scenarios/validation/mva.toml` is a closed product-form network (exponential think time,
//! processor-sharing single servers, exponential demands): exact MVA gives its throughput and
//! mean response time for every population N. The simulator must agree within 2%, from light
//! load to saturation. Each population is run over several seeds; the test also checks that the
//! seeds' 95% confidence interval is well inside the tolerance, so that agreement is not luck.

mod common;
use rayon::prelude::*;

/// Exact MVA: throughput (req/s) and mean response time (s) of N clients with think time z_s
/// and per-station demands d_s (single-server PS stations).
fn mva(n: u32, z_s: f64, d_s: &[f64]) -> (f64, f64) {
    let mut q = vec![0.0; d_s.len()];
    let (mut x, mut r) = (0.0, 0.0);
    for k in 1..=n {
        let rk: Vec<f64> = d_s.iter().zip(&q).map(|(d, qi)| d * (1.0 + qi)).collect();
        r = rk.iter().sum();
        x = f64::from(k) / (z_s + r);
        q = rk.iter().map(|ri| x * ri).collect();
    }
    (x, r)
}

#[test]
fn mva_reference_values() {
    // One station, one client: R = D, X = 1 / (Z + D).
    let (x, r) = mva(1, 1.0, &[0.02]);
    assert!((r - 0.02).abs() < 1e-15 && (x - 1.0 / 1.02).abs() < 1e-15);
    // Far past saturation the bottleneck caps throughput at 1 / D_max.
    let (x, _) = mva(1000, 1.0, &[0.005, 0.02, 0.01]);
    assert!((x - 50.0).abs() < 1e-6);
}

#[test]
fn simulation_matches_exact_mva_from_light_load_to_saturation() {
    const Z_S: f64 = 1.0;
    const D_S: [f64; 3] = [0.005, 0.020, 0.010];
    let populations = [1u32, 10, 30, 50, 80];
    let seeds: Vec<u64> = (1..=5).collect();
    let jobs: Vec<(u32, u64)> = populations
        .iter()
        .flat_map(|&n| seeds.iter().map(move |&s| (n, s)))
        .collect();
    let results: Vec<(u32, f64, f64)> = jobs
        .par_iter()
        .map(|&(n, seed)| {
            let value = format!("apps[0].clients.profile.value={n}");
            let seed = format!("seed={seed}");
            // About a million requests per run whatever the load, so that light loads are measured
            // as precisely as heavy ones.
            let duration = format!(
                "duration_s={:.0}",
                (1_000_000.0 / mva(n, Z_S, &D_S).0).max(4000.0)
            );
            let loaded =
                common::load_with("scenarios/validation/mva.toml", &[&value, &seed, &duration]);
            let s = common::run(&loaded).summary;
            (n, s.users.throughput_rps, s.users.mean_response_ms / 1000.0)
        })
        .collect();
    for &n in &populations {
        let xs: Vec<f64> = results.iter().filter(|r| r.0 == n).map(|r| r.1).collect();
        let rs: Vec<f64> = results.iter().filter(|r| r.0 == n).map(|r| r.2).collect();
        let (x_mva, r_mva) = mva(n, Z_S, &D_S);
        let (x, x_ci) = common::mean_ci95(&xs);
        let (r, r_ci) = common::mean_ci95(&rs);
        eprintln!(
            "N={n:3}: X sim {x:.4} ± {x_ci:.4} vs MVA {x_mva:.4}; R sim {:.2} ± {:.2} ms vs MVA {:.2} ms",
            r * 1e3,
            r_ci * 1e3,
            r_mva * 1e3
        );
        assert!(
            (x - x_mva).abs() / x_mva < 0.02,
            "N={n}: throughput {x} vs MVA {x_mva}"
        );
        assert!(
            (r - r_mva).abs() / r_mva < 0.02,
            "N={n}: response {r} vs MVA {r_mva}"
        );
        // The runs are long enough for the comparison to mean something.
        assert!(x_ci / x_mva < 0.01, "N={n}: throughput CI ±{x_ci} too wide");
        assert!(r_ci / r_mva < 0.01, "N={n}: response CI ±{r_ci} too wide");
    }
}
