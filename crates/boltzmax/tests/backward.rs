//! Backward passes against finite differences and direct formulas.
#![allow(clippy::needless_range_loop)] // finite differences index x, dx and g together

use boltzmax::backward::{
    CrossEntropyOptions, log_softmax_vjp, log_softmax_vjp_in_place, log_softmax_vjp_into,
    softmax_cross_entropy, softmax_cross_entropy_in_place, softmax_vjp, softmax_vjp_into,
};
use boltzmax::{Error, Params, log_softmax_with, softmax_with};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

fn random_vec(r: &mut impl Rng, n: usize, spread: f64) -> Vec<f64> {
    (0..n).map(|_| r.random_range(-spread..spread)).collect()
}

/// Central finite difference of `f` at `x` along coordinate `i`.
fn fd(f: &dyn Fn(&[f64]) -> f64, x: &[f64], i: usize, h: f64) -> f64 {
    let mut a = x.to_vec();
    let mut b = x.to_vec();
    a[i] += h;
    b[i] -= h;
    (f(&a) - f(&b)) / (2.0 * h)
}

#[test]
fn softmax_vjp_matches_finite_differences() {
    let mut r = rng(1);
    for n in [1, 2, 3, 7, 16] {
        for t in [1.0, 0.3, 4.0] {
            let p = Params::temperature(t).unwrap();
            let x = random_vec(&mut r, n, 3.0);
            let g = random_vec(&mut r, n, 1.0);
            let y = softmax_with(&x, &p);
            let mut dx = vec![0.0; n];
            softmax_vjp_into(&mut dx, &y, &g, &p).unwrap();
            let gc = g.clone();
            let f = move |x: &[f64]| -> f64 {
                let y = softmax_with(x, &p);
                y.iter().zip(&gc).map(|(a, b)| a * b).sum()
            };
            for i in 0..n {
                let want = fd(&f, &x, i, 1e-5);
                assert!(
                    (dx[i] - want).abs() < 1e-8,
                    "n={n} T={t} i={i}: {} vs {want}",
                    dx[i]
                );
            }
        }
    }
}

#[test]
fn log_softmax_vjp_matches_finite_differences() {
    let mut r = rng(2);
    for n in [1, 2, 5, 16] {
        for beta in [1.0, -0.7, 2.5] {
            let p = Params::beta(beta).unwrap();
            let x = random_vec(&mut r, n, 3.0);
            let g = random_vec(&mut r, n, 1.0);
            let l = log_softmax_with(&x, &p);
            let mut dx = vec![0.0; n];
            log_softmax_vjp_into(&mut dx, &l, &g, &p).unwrap();
            let gc = g.clone();
            let f = move |x: &[f64]| -> f64 {
                let l = log_softmax_with(x, &p);
                l.iter().zip(&gc).map(|(a, b)| a * b).sum()
            };
            for i in 0..n {
                let want = fd(&f, &x, i, 1e-5);
                assert!((dx[i] - want).abs() < 1e-8, "n={n} beta={beta} i={i}");
            }
            let mut gi = g.clone();
            log_softmax_vjp_in_place(&mut gi, &l, &p).unwrap();
            assert_eq!(gi, dx);
        }
    }
}

#[test]
fn vjp_direct_formulas_and_edges() {
    // Jacobian rows: dy_i/dx_j = y_i (delta_ij - y_j).
    let y = softmax_with(&[0.5_f64, -1.0, 2.0, 0.0], &Params::default());
    for i in 0..4 {
        let mut g = [0.0; 4];
        g[i] = 1.0;
        let dx = softmax_vjp(&y, &g).unwrap();
        for j in 0..4 {
            let want = y[i] * (if i == j { 1.0 } else { 0.0 } - y[j]);
            assert!((dx[j] - want).abs() < 1e-16);
        }
    }
    // beta = 0: softmax is constant, the gradient is 0.
    let b0 = Params::beta(0.0_f64).unwrap();
    let mut dx = [1.0; 2];
    softmax_vjp_into(&mut dx, &[0.5, 0.5], &[1.0, -3.0], &b0).unwrap();
    assert_eq!(dx, [0.0, 0.0]);
    // Masked-out entries (y = 0) get no gradient.
    let dx = softmax_vjp(&[0.0_f32, 1.0], &[5.0, 2.0]).unwrap();
    assert_eq!(dx, vec![0.0, 0.0]);
    // Tiny probabilities are kept: from log-softmax, exp(l) is exact.
    let l = log_softmax_with(&[0.0_f64, -700.0], &Params::default());
    let dx = log_softmax_vjp(&l, &[1.0, 0.0]).unwrap();
    assert_eq!(dx[0], 0.0);
    let want = -(-700.0_f64).exp();
    assert!((dx[1] - want).abs() <= 1e-14 * want.abs(), "{}", dx[1]);
    // Lengths.
    assert!(matches!(
        softmax_vjp(&[0.5_f64, 0.5], &[1.0]),
        Err(Error::LengthMismatch { what: "g", .. })
    ));
    let mut out = [0.0_f64; 3];
    assert!(softmax_vjp_into(&mut out, &[0.5, 0.5], &[1.0, 1.0], &Params::default()).is_err());
    // f32 matches f64 computed on the same inputs.
    let yf: Vec<f32> = softmax_with(&[0.1_f32, 0.7, -2.0], &Params::default());
    let gf = [0.3_f32, -1.0, 2.0];
    let d32 = softmax_vjp(&yf, &gf).unwrap();
    let y64: Vec<f64> = yf.iter().map(|&v| v as f64).collect();
    let g64: Vec<f64> = gf.iter().map(|&v| v as f64).collect();
    let d64 = softmax_vjp(&y64, &g64).unwrap();
    for (a, b) in d32.iter().zip(&d64) {
        assert_eq!(*a, *b as f32);
    }
}

/// Direct formula: -sum_j q_j ln softmax_j in f64, mean over kept rows.
fn direct_ce(logits: &[f64], labels: &[usize], k: usize, opts: &CrossEntropyOptions) -> f64 {
    let mut total = 0.0;
    let mut n = 0;
    for (r, &y) in labels.iter().enumerate() {
        if opts.ignore_index == Some(y) {
            continue;
        }
        n += 1;
        let x = &logits[r * k..(r + 1) * k];
        let lse = x.iter().map(|v| v.exp()).sum::<f64>().ln();
        for (j, &v) in x.iter().enumerate() {
            let q = (1.0 - opts.label_smoothing) * (j == y) as u8 as f64
                + opts.label_smoothing / k as f64;
            total += q * (lse - v);
        }
    }
    total / n as f64
}

#[test]
fn cross_entropy_matches_direct_formula_and_finite_differences() {
    let mut r = rng(3);
    for &(n, k) in &[(1, 1), (1, 2), (3, 5), (4, 17), (2, 64)] {
        for eps in [0.0, 0.1, 1.0] {
            for ignore in [None, Some(0)] {
                let opts = CrossEntropyOptions {
                    label_smoothing: eps,
                    ignore_index: ignore,
                };
                let logits = random_vec(&mut r, n * k, 4.0);
                let mut labels: Vec<usize> = (0..n).map(|_| r.random_range(0..k)).collect();
                if ignore.is_some() {
                    labels[0] = 0;
                    if n > 1 {
                        labels[n - 1] = k - 1;
                    }
                }
                let mut grad = vec![f64::NAN; n * k];
                let loss =
                    softmax_cross_entropy(&logits, &labels, k, &opts, Some(&mut grad)).unwrap();
                let want = direct_ce(&logits, &labels, k, &opts);
                if labels.iter().all(|&y| ignore == Some(y)) {
                    assert!(loss.is_nan() && want.is_nan());
                    assert!(grad.iter().all(|&g| g == 0.0));
                    continue;
                }
                assert!(
                    (loss - want).abs() <= 1e-14 * want.abs().max(1.0),
                    "n={n} k={k} eps={eps}: {loss} vs {want}"
                );
                let lab = labels.clone();
                let f = move |x: &[f64]| direct_ce(x, &lab, k, &opts);
                for i in 0..n * k {
                    let want = fd(&f, &logits, i, 1e-5);
                    assert!(
                        (grad[i] - want).abs() < 1e-8,
                        "n={n} k={k} eps={eps} i={i}: {} vs {want}",
                        grad[i]
                    );
                }
                // Without a gradient buffer the loss is the same.
                let l2 = softmax_cross_entropy(&logits, &labels, k, &opts, None).unwrap();
                assert_eq!(l2, loss);
                // In place: the same loss and the same gradient, bitwise.
                let mut z = logits.clone();
                let l3 = softmax_cross_entropy_in_place(&mut z, &labels, k, &opts).unwrap();
                assert_eq!(l3.to_bits(), loss.to_bits());
                assert!(z.iter().zip(&grad).all(|(a, b)| a.to_bits() == b.to_bits()));
                // f32 agrees with f64 on the same (rounded) inputs.
                let l32: Vec<f32> = logits.iter().map(|&v| v as f32).collect();
                let l64: Vec<f64> = l32.iter().map(|&v| v as f64).collect();
                let mut g32 = vec![0.0_f32; n * k];
                let a = softmax_cross_entropy(&l32, &labels, k, &opts, Some(&mut g32)).unwrap();
                let mut g64 = vec![0.0_f64; n * k];
                let b = softmax_cross_entropy(&l64, &labels, k, &opts, Some(&mut g64)).unwrap();
                assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-3), "{a} vs {b}");
                for (x, y) in g32.iter().zip(&g64) {
                    assert!((*x as f64 - y).abs() <= 2e-7 * (1.0 + y.abs()));
                }
            }
        }
    }
}

#[test]
fn cross_entropy_keeps_tiny_losses_and_gradients() {
    // Naive lse - x_y gives exactly 0 here; the true loss is log1p(e^-40).
    let mut g = [0.0_f64; 2];
    let loss = softmax_cross_entropy(
        &[0.0_f64, -40.0],
        &[0],
        2,
        &CrossEntropyOptions::default(),
        Some(&mut g),
    )
    .unwrap();
    assert_eq!(loss, 4.248354255291589e-18);
    // d/dx_0 = p_0 - 1 = -e^-40 / (1 + e^-40), not 0.
    assert!((g[0] + 4.248354255291589e-18).abs() < 1e-32, "{}", g[0]);
    assert!((g[1] - 4.248354255291589e-18).abs() < 1e-32);
    let mut g = [0.0_f32; 2];
    let loss = softmax_cross_entropy(
        &[0.0_f32, -20.0],
        &[0],
        2,
        &CrossEntropyOptions::default(),
        Some(&mut g),
    )
    .unwrap();
    // f32 exp: a relative error of a few f32 ulp, not an absolute one.
    assert!((loss / 2.061153620314381e-9 - 1.0).abs() < 3e-7, "{loss}");
    assert!(
        (g[0] as f64 / -2.0611536181902033e-9 - 1.0).abs() < 3e-7,
        "{}",
        g[0]
    );
}

#[test]
fn cross_entropy_edges() {
    let d = CrossEntropyOptions::default();
    let inf = f64::INFINITY;
    // One +inf at the label: loss 0, gradient 0; elsewhere: loss +inf.
    let mut g = [1.0; 3];
    let loss = softmax_cross_entropy(&[1.0, inf, 0.0], &[1], 3, &d, Some(&mut g)).unwrap();
    assert_eq!(loss, 0.0);
    assert_eq!(g, [0.0, 0.0, 0.0]);
    let loss = softmax_cross_entropy(&[1.0, inf, 0.0], &[0], 3, &d, Some(&mut g)).unwrap();
    assert_eq!(loss, inf);
    assert_eq!(g, [-1.0, 1.0, 0.0]);
    let mut z = [1.0, inf, 0.0];
    let loss = softmax_cross_entropy_in_place(&mut z, &[0], 3, &d).unwrap();
    assert_eq!((loss, z), (inf, [-1.0, 1.0, 0.0]));
    // Two +inf, all -inf, NaN: NaN.
    for row in [[inf, inf, 0.0], [-inf, -inf, -inf], [0.0, f64::NAN, 1.0]] {
        let loss = softmax_cross_entropy(&row, &[2], 3, &d, Some(&mut g)).unwrap();
        assert!(loss.is_nan(), "{row:?}");
        assert!(g.iter().all(|v| v.is_nan()));
        let mut z = row;
        assert!(
            softmax_cross_entropy_in_place(&mut z, &[2], 3, &d)
                .unwrap()
                .is_nan()
        );
        assert!(z.iter().all(|v| v.is_nan()));
    }
    // -inf at the label: +inf loss, gradient softmax - onehot.
    let loss = softmax_cross_entropy(&[-inf, 0.0], &[0], 2, &d, Some(&mut g[..2])).unwrap();
    assert_eq!(loss, inf);
    assert_eq!(&g[..2], &[-1.0, 1.0]);
    // With smoothing any -inf logit gives +inf.
    let s = CrossEntropyOptions {
        label_smoothing: 0.1,
        ignore_index: None,
    };
    let loss = softmax_cross_entropy(&[-inf, 0.0], &[1], 2, &s, None).unwrap();
    assert_eq!(loss, inf);
    // All ignored, or no rows: NaN loss, zero gradient.
    let ig = CrossEntropyOptions {
        label_smoothing: 0.0,
        ignore_index: Some(9),
    };
    let mut g = [f32::NAN; 4];
    let loss = softmax_cross_entropy(&[1.0_f32, 2.0, 3.0, 4.0], &[9, 9], 2, &ig, Some(&mut g));
    assert!(loss.unwrap().is_nan());
    assert_eq!(g, [0.0; 4]);
    let mut z = [1.0_f32, 2.0, 3.0, 4.0];
    assert!(
        softmax_cross_entropy_in_place(&mut z, &[9, 9], 2, &ig)
            .unwrap()
            .is_nan()
    );
    assert_eq!(z, [0.0; 4]);
    let mut z = [0.0_f64, 1.0, 5.0, 5.0];
    let a2 = softmax_cross_entropy_in_place(&mut z, &[1, 9], 2, &ig).unwrap();
    assert_eq!(&z[2..], &[0.0, 0.0]);
    assert!(
        softmax_cross_entropy::<f64>(&[], &[], 3, &d, None)
            .unwrap()
            .is_nan()
    );
    // Ignored rows are not counted in the mean.
    let a = softmax_cross_entropy(&[0.0_f64, 1.0, 5.0, 5.0], &[1, 9], 2, &ig, None).unwrap();
    let b = softmax_cross_entropy(&[0.0_f64, 1.0], &[1], 2, &d, None).unwrap();
    assert_eq!(a, b);
    assert_eq!(a2, a);
    assert!(softmax_cross_entropy_in_place(&mut [0.0_f64; 6], &[0, 3], 3, &d).is_err());
}

#[test]
fn cross_entropy_errors_name_the_value() {
    let d = CrossEntropyOptions::default();
    assert_eq!(
        softmax_cross_entropy(&[0.0_f64; 6], &[0, 3], 3, &d, None),
        Err(Error::LabelOutOfRange {
            row: 1,
            label: 3,
            classes: 3
        })
    );
    assert!(matches!(
        softmax_cross_entropy(&[0.0_f64; 5], &[0, 1], 3, &d, None),
        Err(Error::LengthMismatch {
            what: "logits",
            got: 5,
            expected: 6
        })
    ));
    let mut g = [0.0_f64; 5];
    assert!(matches!(
        softmax_cross_entropy(&[0.0_f64; 6], &[0, 1], 3, &d, Some(&mut g)),
        Err(Error::LengthMismatch { what: "grad", .. })
    ));
    for eps in [-0.1, 1.5, f64::NAN] {
        let o = CrossEntropyOptions {
            label_smoothing: eps,
            ignore_index: None,
        };
        assert!(matches!(
            softmax_cross_entropy(&[0.0_f64; 3], &[0], 3, &o, None),
            Err(Error::InvalidParameter {
                name: "label_smoothing",
                ..
            })
        ));
    }
    let msg = Error::LabelOutOfRange {
        row: 4,
        label: 10,
        classes: 10,
    }
    .to_string();
    assert!(msg.contains("row 4") && msg.contains("label 10"), "{msg}");
}
