//! The streaming accumulator against the batch logsumexp: any split, any
//! merge order, both precisions, several scales.

use boltzmax::stream::LogSumExp;
use boltzmax::{Params, Real, logsumexp_with};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// `|stream - batch|` in units of `eps * (1 + |batch|)`.
///
/// Both compute `scale(m) + log1p(s)` with the same rounded shift; they
/// differ only in `s`, whose terms the stream rescales when the maximum
/// moves. Each rescale multiplies by one more rounded `exp(scale(m - m'))`
/// whose argument carries a rounding of `F`, so the relative difference
/// of `s` is a few `eps` per rescale weighted by the mass rescaled, and
/// `log1p` passes it on times `s/(1+s) < 1`. The last rounding to `F`
/// adds half an ulp of the result. Observed: under 2 in both precisions.
fn gap<F: Real>(a: F, b: F) -> f64 {
    (a.to_f64() - b.to_f64()).abs() / (F::EPSILON.to_f64() * (1.0 + b.to_f64().abs()))
}

fn check<F: Real>(seed: u64) {
    let mut r = Xoshiro256PlusPlus::seed_from_u64(seed);
    let scales = [
        Params::default(),
        Params::temperature(F::from_f64(0.01)).unwrap(),
        Params::temperature(F::from_f64(100.0)).unwrap(),
        Params::beta(F::from_f64(-1.5)).unwrap(),
    ];
    let mut worst = 0.0f64;
    for p in &scales {
        for &n in &[1usize, 2, 17, 1000, 5000] {
            let spread = [1e-3, 1.0, 50.0][r.random_range(0..3)];
            // Increasing trend so the maximum moves often (many rescales).
            let x: Vec<F> = (0..n)
                .map(|i| F::from_f64(r.random_range(-spread..spread) + i as f64 * spread * 1e-3))
                .collect();
            let whole = logsumexp_with(&x, p);
            // One value at a time.
            let mut a = LogSumExp::with_params(p);
            a.extend(x.iter().copied());
            worst = worst.max(gap(a.value(), whole));
            // Random chunks, alternately pushed and merged, merged in a
            // random tree order.
            let mut parts = Vec::new();
            let mut i = 0;
            while i < n {
                let j = (i + r.random_range(1..=n.div_ceil(3))).min(n);
                let mut acc = LogSumExp::with_params(p);
                if r.random_bool(0.5) {
                    acc.push_slice(&x[i..j]);
                } else {
                    x[i..j].iter().for_each(|&v| acc.push(v));
                }
                parts.push(acc);
                i = j;
            }
            while parts.len() > 1 {
                let k = r.random_range(0..parts.len() - 1);
                let b = parts.remove(k + 1);
                parts[k].merge(&b).unwrap();
            }
            assert_eq!(parts[0].count(), n);
            worst = worst.max(gap(parts[0].value(), whole));
        }
    }
    assert!(worst <= 4.0, "{}: worst gap {worst}", F::NAME);
}

#[test]
fn merging_in_any_split_matches_the_batch_f32() {
    for seed in 0..4 {
        check::<f32>(seed);
    }
}

#[test]
fn merging_in_any_split_matches_the_batch_f64() {
    for seed in 0..4 {
        check::<f64>(seed);
    }
}

#[test]
fn mismatched_scales_do_not_merge() {
    let mut a = LogSumExp::<f64>::new();
    let b = LogSumExp::with_params(&Params::temperature(2.0).unwrap());
    assert!(a.merge(&b).is_err());
}
