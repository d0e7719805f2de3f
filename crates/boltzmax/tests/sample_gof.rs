//! Chi-square goodness of fit of every sampler against exact probabilities
//! computed independently in f64 (fixed seeds; each check has false-alarm
//! probability 1e-6, see `sample_common::ALPHA`).

mod sample_common;

use boltzmax::Params;
use boltzmax::sample::{
    AliasTable, Categorical, GumbelSoftmax, exponential_race, exponential_race_weights, gumbel_max,
    stream_rng,
};
use rand::distr::Distribution;
use sample_common::{assert_fits, reference_probs};

const NEG: f64 = f64::NEG_INFINITY;

/// Logit rows covering the cases that matter: peaked, flat, ties at the
/// top, -inf entries, a wide range, a single entry.
fn cases() -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("peaked", vec![5.0, 1.0, 0.5, 0.0, -1.0, -3.0, 2.0, 4.5]),
        ("flat", vec![0.25; 12]),
        ("ties", vec![3.0, 1.0, 3.0, -2.0, 3.0, 0.0]),
        ("masked", vec![NEG, 1.0, NEG, 0.0, 2.0, NEG]),
        ("wide", (0..40).map(|i| -0.35 * i as f64).collect()),
        ("one", vec![-7.0]),
    ]
}

fn draw_counts(n: usize, draws: usize, mut f: impl FnMut() -> usize) -> Vec<u64> {
    let mut counts = vec![0u64; n];
    for _ in 0..draws {
        counts[f()] += 1;
    }
    counts
}

#[test]
fn categorical_fits_softmax_f64_and_f32() {
    for (ci, (name, x)) in cases().into_iter().enumerate() {
        for (ti, t) in [0.4, 1.0, 2.5].into_iter().enumerate() {
            let exact = reference_probs(&x, t);
            let stream = (ci * 10 + ti) as u64;
            let mut rng = stream_rng(11, stream);
            let c = Categorical::new(&x, &Params::temperature(t).unwrap()).unwrap();
            let counts = draw_counts(x.len(), 100_000, || c.sample(&mut rng));
            assert_fits(&format!("categorical f64 {name} T={t}"), &counts, &exact);

            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let c = Categorical::new(&x32, &Params::temperature(t as f32).unwrap()).unwrap();
            let counts = draw_counts(x.len(), 100_000, || c.sample(&mut rng));
            assert_fits(&format!("categorical f32 {name} T={t}"), &counts, &exact);
        }
    }
}

#[test]
fn gumbel_max_fits_softmax_f64_and_f32() {
    for (ci, (name, x)) in cases().into_iter().enumerate() {
        for (ti, t) in [0.4, 1.0, 2.5].into_iter().enumerate() {
            let exact = reference_probs(&x, t);
            let mut rng = stream_rng(12, (ci * 10 + ti) as u64);
            let p = Params::temperature(t).unwrap();
            let counts = draw_counts(x.len(), 60_000, || gumbel_max(&x, &p, &mut rng).unwrap());
            assert_fits(&format!("gumbel f64 {name} T={t}"), &counts, &exact);

            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let p = Params::temperature(t as f32).unwrap();
            let counts = draw_counts(x.len(), 60_000, || gumbel_max(&x32, &p, &mut rng).unwrap());
            assert_fits(&format!("gumbel f32 {name} T={t}"), &counts, &exact);
        }
    }
}

#[test]
fn beta_forms_fit_negative_zero_and_large() {
    let x = [0.0, 0.5, 1.0, -0.5, 2.0];
    for (k, beta) in [-1.5, 0.0, 0.7, 3.0].into_iter().enumerate() {
        // softmax(beta x) = softmax(x / (1/beta)), or uniform at beta = 0.
        let exact: Vec<f64> = if beta == 0.0 {
            vec![0.2; 5]
        } else {
            let y: Vec<f64> = x.iter().map(|v| v * beta).collect();
            reference_probs(&y, 1.0)
        };
        let p = Params::beta(beta).unwrap();
        let mut rng = stream_rng(13, k as u64);
        let c = Categorical::new(&x, &p).unwrap();
        let counts = draw_counts(5, 100_000, || c.sample(&mut rng));
        assert_fits(&format!("categorical beta={beta}"), &counts, &exact);
        let counts = draw_counts(5, 60_000, || gumbel_max(&x, &p, &mut rng).unwrap());
        assert_fits(&format!("gumbel beta={beta}"), &counts, &exact);
    }
}

/// Tied logits must stay equally likely even where the temperature is so
/// small that `x / T + g` would round the noise away (`x = 1e6`, `T = 1e-300`).
#[test]
fn gumbel_max_splits_exact_ties_at_tiny_temperature() {
    let x = [1e6, 1e6 - 1.0, 1e6, 1e6];
    let exact = [1.0 / 3.0, 0.0, 1.0 / 3.0, 1.0 / 3.0];
    for t in [1e-300, 1e-6] {
        let p = Params::temperature(t).unwrap();
        let mut rng = stream_rng(14, 0);
        let counts = draw_counts(4, 30_000, || gumbel_max(&x, &p, &mut rng).unwrap());
        assert_fits(&format!("gumbel ties T={t}"), &counts, &exact);
    }
    // Huge temperature on huge logits: nearly uniform, no overflow.
    let p = Params::temperature(1e300).unwrap();
    let x = [1e300, -1e300];
    let exact = reference_probs(&x, 1e300);
    let mut rng = stream_rng(14, 1);
    let counts = draw_counts(2, 30_000, || gumbel_max(&x, &p, &mut rng).unwrap());
    assert_fits("gumbel huge T", &counts, &exact);
}

#[test]
fn masked_categorical_fits() {
    let x = [1.0, f64::NAN, 0.0, f64::INFINITY, -1.0];
    let mask = [true, false, true, false, true];
    let exact = reference_probs(&[1.0, NEG, 0.0, NEG, -1.0], 1.0);
    let c = Categorical::new_masked(&x, &mask, &Params::default()).unwrap();
    let mut rng = stream_rng(15, 0);
    let counts = draw_counts(5, 100_000, || c.sample(&mut rng));
    assert_fits("masked categorical", &counts, &exact);
}

/// The check has power: draws at T = 1 are rejected against the
/// probabilities at T = 1.1 (a 10% temperature error), and a sampler with
/// one category's mass moved by 1% of the total is caught.
#[test]
fn goodness_of_fit_detects_small_errors() {
    let x = [5.0, 1.0, 0.5, 0.0, -1.0, -3.0, 2.0, 4.5];
    let c = Categorical::new(&x, &Params::default()).unwrap();
    let mut rng = stream_rng(16, 0);
    let counts = draw_counts(8, 100_000, || c.sample(&mut rng));
    let wrong = reference_probs(&x, 1.1);
    let (pv, _, _) = sample_common::chi2_pvalue(&counts, &wrong);
    assert!(pv < sample_common::ALPHA, "p-value {pv}");

    let mut moved = reference_probs(&x, 1.0);
    moved[0] -= 0.01;
    moved[1] += 0.01;
    let (pv, _, _) = sample_common::chi2_pvalue(&counts, &moved);
    assert!(pv < sample_common::ALPHA, "p-value {pv}");
}

#[test]
fn alias_race_and_gumbel_softmax_fit_softmax() {
    for (ci, (name, x)) in cases().into_iter().enumerate() {
        for (ti, t) in [0.4, 1.0, 2.5].into_iter().enumerate() {
            let exact = reference_probs(&x, t);
            let p = Params::temperature(t).unwrap();
            let mut rng = stream_rng(17, (ci * 10 + ti) as u64);
            let a = AliasTable::new(&x, &p).unwrap();
            for (got, want) in a.probabilities().iter().zip(&exact) {
                assert!((got - want).abs() < 1e-14, "{name}: {got} vs {want}");
            }
            let counts = draw_counts(x.len(), 200_000, || a.sample(&mut rng));
            assert_fits(&format!("alias {name} T={t}"), &counts, &exact);

            let counts = draw_counts(x.len(), 60_000, || {
                exponential_race(&x, &p, &mut rng).unwrap()
            });
            assert_fits(&format!("race {name} T={t}"), &counts, &exact);
            let w: Vec<f64> = exact.iter().map(|q| q * 3.5).collect();
            let counts = draw_counts(x.len(), 60_000, || {
                exponential_race_weights(&w, &mut rng).unwrap()
            });
            assert_fits(&format!("race weights {name} T={t}"), &counts, &exact);

            // The argmax of a Gumbel-softmax sample at any tau is a draw
            // from softmax(logits): scale the logits by 1/T first.
            let xt: Vec<f64> = x.iter().map(|v| v / t).collect();
            let counts = draw_counts(x.len(), 40_000, || {
                GumbelSoftmax::sample(&xt, 0.3, false, &mut rng)
                    .unwrap()
                    .index()
            });
            assert_fits(
                &format!("gumbel-softmax argmax {name} T={t}"),
                &counts,
                &exact,
            );
        }
    }
}

/// Alias tables on a large skewed distribution with zeros, and the f32
/// path.
#[test]
fn alias_large_and_f32() {
    let n = 3000;
    let w: Vec<f64> = (0..n)
        .map(|i| {
            if i % 7 == 0 {
                0.0
            } else {
                1.0 / (1 + i) as f64
            }
        })
        .collect();
    let total: f64 = w.iter().sum();
    let exact: Vec<f64> = w.iter().map(|v| v / total).collect();
    let a = AliasTable::from_weights(&w).unwrap();
    let mut rng = stream_rng(18, 0);
    let counts = draw_counts(n, 2_000_000, || a.sample(&mut rng));
    assert_fits("alias large", &counts, &exact);

    let x32 = [1.0_f32, -2.0, 0.5, f32::NEG_INFINITY, 3.0];
    let exact = reference_probs(&x32.map(|v| v as f64), 1.0);
    let a = AliasTable::new(&x32, &Params::default()).unwrap();
    let counts = draw_counts(5, 200_000, || a.sample(&mut rng));
    assert_fits("alias f32", &counts, &exact);
}
