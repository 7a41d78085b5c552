//! The sampling rules: reproducible from a seed, with the stated distributions.

use rand::SeedableRng;
use rand::rngs::StdRng;
use relax_core::*;

const DRAWS: usize = 100_000;

fn mean_var(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64)
}

/// Mean within 4 standard errors, variance within 4 standard errors of the sample variance
/// (`Var(s²) ≈ σ⁴(2 + κ)/n` for excess kurtosis κ).
#[track_caller]
fn assert_moments(what: &str, v: &[f64], mean: f64, var: f64, kurtosis: f64) {
    let n = v.len() as f64;
    let (m, s2) = mean_var(v);
    assert!((m - mean).abs() < 4.0 * (var / n).sqrt(), "{what}: mean {m}, expected {mean}");
    assert!((s2 - var).abs() < 4.0 * var * ((2.0 + kurtosis) / n).sqrt(), "{what}: variance {s2}, expected {var}");
}

#[test]
fn seeded_runs_are_reproducible() {
    let draw = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        let z: f64 = normal_noise(&mut rng);
        let g: [f64; 4] = gumbel_noise(&mut rng);
        (z, g, categorical_sample([0.1, 0.2, 0.3], &mut rng), normal_rsample(1.0, 2.0, &mut rng))
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[test]
fn normal_rsample_has_mean_mu_and_variance_sigma_squared() {
    let mut rng = StdRng::seed_from_u64(1);
    let (mu, sigma) = (1.5, 0.7);
    let v: Vec<f64> = (0..DRAWS).map(|_| normal_rsample(mu, sigma, &mut rng)).collect();
    assert_moments("normal_rsample", &v, mu, sigma * sigma, 0.0);
    let v32: Vec<f64> = (0..DRAWS).map(|_| f64::from(normal_noise::<f32>(&mut rng))).collect();
    assert_moments("normal_noise::<f32>", &v32, 0.0, 1.0, 0.0);
}

#[test]
fn gumbel_noise_has_the_gumbel_moments() {
    let mut rng = StdRng::seed_from_u64(2);
    let v: Vec<f64> = (0..DRAWS / 10).flat_map(|_| gumbel_noise::<f64, 10>(&mut rng)).collect();
    let euler_gamma = 0.577_215_664_901_532_9;
    assert_moments("gumbel_noise", &v, euler_gamma, core::f64::consts::PI.powi(2) / 6.0, 2.4);
}

/// Gumbel-max frequencies against softmax(logits): Pearson's chi-square with 4 degrees of freedom
/// stays below 18.47 (the 0.999 quantile).
#[test]
fn categorical_sample_frequencies_match_softmax() {
    let logits = [0.5, -1.0, 2.0, 0.0, 1.2];
    let p = softmax(logits, 1.0);
    let mut rng = StdRng::seed_from_u64(3);
    let mut counts = [0usize; 5];
    for _ in 0..DRAWS {
        counts[categorical_sample(logits, &mut rng)] += 1;
    }
    let chi2: f64 = (0..5)
        .map(|i| {
            let expected = p[i] * DRAWS as f64;
            (counts[i] as f64 - expected).powi(2) / expected
        })
        .sum();
    assert!(chi2 < 18.47, "chi-square {chi2} for counts {counts:?} against {p:?}");
}
