//! Temperature scaling against an independent brute-force minimisation,
//! metrics against hand-computed cases, vector and matrix scaling.

use boltzmax::learn::calibrate::{
    Binning, Calibrator, Metrics, ScalingOptions, fit_matrix_scaling, fit_temperature,
    fit_vector_scaling, logits_from_probabilities, reliability, temperature_objective,
};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Synthetic logits: the true class gets `signal`, every class noise of
/// size `noise`, all multiplied by `sharpness` (> 1: overconfident).
fn synthetic(
    n: usize,
    k: usize,
    signal: f64,
    noise: f64,
    sharpness: f64,
    seed: u64,
) -> (Vec<f64>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut z = Vec::with_capacity(n * k);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let label = rng.random_range(0..k);
        for j in 0..k {
            // Sum of uniforms: roughly normal, no extra dependency.
            let e: f64 = (0..4).map(|_| rng.random::<f64>() - 0.5).sum();
            let s = if j == label { signal } else { 0.0 };
            z.push(sharpness * (s + noise * e));
        }
        y.push(label);
    }
    (z, y)
}

/// NLL(beta) written the plain way (no shift: the logits here are small),
/// and its derivative, independently of the library.
fn naive(z: &[f64], k: usize, y: &[usize], beta: f64) -> (f64, f64) {
    let (mut f, mut g) = (0.0, 0.0);
    for (row, &label) in z.chunks_exact(k).zip(y) {
        let w: Vec<f64> = row.iter().map(|v| (beta * v).exp()).collect();
        let s: f64 = w.iter().sum();
        let mean: f64 = w.iter().zip(row).map(|(a, b)| a * b).sum::<f64>() / s;
        f += s.ln() - beta * row[label];
        g += mean - row[label];
    }
    (f / y.len() as f64, g / y.len() as f64)
}

/// Brute force: the minimum of a convex function is the root of its
/// derivative; scan a grid for the sign change, then bisect to adjacent
/// floats.
fn brute_force_beta(z: &[f64], k: usize, y: &[usize]) -> f64 {
    let grid: Vec<f64> = (0..=400)
        .map(|i| 10f64.powf(-2.0 + i as f64 / 100.0))
        .collect();
    let i = grid
        .windows(2)
        .position(|w| naive(z, k, y, w[0]).1 < 0.0 && naive(z, k, y, w[1]).1 >= 0.0)
        .unwrap();
    let (mut lo, mut hi) = (grid[i], grid[i + 1]);
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            return lo;
        }
        if naive(z, k, y, mid).1 < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
}

/// Golden-section search on NLL itself: a second, derivative-free brute
/// force. NLL is flat at its minimum, so values pin beta only to about
/// sqrt(eps) relative.
fn golden_beta(z: &[f64], k: usize, y: &[usize], mut a: f64, mut b: f64) -> f64 {
    let r = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..200 {
        let c = b - r * (b - a);
        let d = a + r * (b - a);
        if naive(z, k, y, c).0 < naive(z, k, y, d).0 {
            b = d;
        } else {
            a = c;
        }
    }
    0.5 * (a + b)
}

#[test]
fn temperature_equals_brute_force_minimisation() {
    // Overconfident (T > 1), underconfident (T < 1) and near-calibrated.
    for (sharpness, seed) in [(3.0, 1), (0.3, 2), (1.0, 3)] {
        let k = 10;
        let (z, y) = synthetic(2000, k, 2.0, 2.0, sharpness, seed);
        let fit = fit_temperature(&z, k, &y).unwrap();
        let beta = brute_force_beta(&z, k, &y);
        let t_ref = 1.0 / beta;
        let rel = (fit.temperature - t_ref).abs() / t_ref;
        assert!(
            rel <= 1e-9,
            "sharpness {sharpness}: T {} vs brute force {t_ref}, rel {rel:e}",
            fit.temperature
        );
        let golden = golden_beta(&z, k, &y, 0.01, 100.0);
        assert!(
            (fit.beta - golden).abs() / golden < 1e-6,
            "golden {golden} vs {}",
            fit.beta
        );
        // Its NLL is the naive NLL there, and no worse than at T = 1.
        assert!((fit.nll - naive(&z, k, &y, fit.beta).0).abs() < 1e-13);
        assert!(fit.nll <= fit.nll_before);
        eprintln!(
            "sharpness {sharpness}: T {} (brute force {t_ref}, rel {rel:e}), {} evaluations",
            fit.temperature, fit.evaluations
        );
        assert!(fit.evaluations <= 12, "{} evaluations", fit.evaluations);
        if sharpness > 1.0 {
            assert!(fit.temperature > 1.0);
        } else if sharpness < 1.0 {
            assert!(fit.temperature < 1.0);
        }
    }
}

#[test]
fn temperature_objective_derivatives_are_consistent() {
    let k = 5;
    let (z, y) = synthetic(300, k, 1.5, 1.0, 2.0, 7);
    for beta in [0.0, 0.3, 1.0, 2.5] {
        let o = temperature_objective(&z, k, &y, beta).unwrap();
        let (f, g) = naive(&z, k, &y, beta);
        assert!((o.nll - f).abs() < 1e-13 && (o.derivative - g).abs() < 1e-13);
        if beta == 0.0 {
            continue;
        }
        // Central differences of the derivative give the second derivative
        // (truncation error ~ h^2, rounding ~ 1e-16 / h).
        let h = 1e-5;
        let gp = temperature_objective(&z, k, &y, beta + h)
            .unwrap()
            .derivative;
        let gm = temperature_objective(&z, k, &y, beta - h)
            .unwrap()
            .derivative;
        let fd = (gp - gm) / (2.0 * h);
        assert!(
            (o.second_derivative - fd).abs() < 1e-8 * o.second_derivative,
            "{} vs {fd}",
            o.second_derivative
        );
    }
}

#[test]
fn temperature_fit_refuses_what_has_no_answer() {
    // Every label the unique argmax: NLL falls forever as T -> 0.
    let sep = [2.0, 0.0, 0.0, 1.0];
    let e = fit_temperature(&sep, 2, &[0, 1]).unwrap_err().to_string();
    assert!(e.contains("T -> 0"), "{e}");
    // Logits pointing away from the labels: best at T = inf.
    let away = [2.0, 0.0, 0.0, 1.0];
    let e = fit_temperature(&away, 2, &[1, 0]).unwrap_err().to_string();
    assert!(e.contains("no information"), "{e}");
    // Bad input, each named.
    assert!(
        fit_temperature(&[0.0, 1.0], 2, &[2])
            .unwrap_err()
            .to_string()
            .contains("label 2")
    );
    assert!(
        fit_temperature(&[0.0, f64::NAN], 2, &[0])
            .unwrap_err()
            .to_string()
            .contains("column 1")
    );
    assert!(fit_temperature(&[0.0, f64::INFINITY], 2, &[0]).is_err());
    assert!(fit_temperature(&[0.0, 1.0, 2.0], 2, &[0]).is_err());
    assert!(fit_temperature(&[0.0, 1.0], 2, &[0, 1]).is_err());
}

#[test]
fn probabilities_with_zeros_are_masked_classes() {
    // A zero probability is a -inf logit: the class never gets mass, and
    // the fit matches the same data with that class removed.
    let p = [
        0.7, 0.3, 0.0, 0.4, 0.6, 0.0, 0.8, 0.2, 0.0, 0.1, 0.9, 0.0, 0.6, 0.4, 0.0,
    ];
    let y = [0, 1, 1, 1, 0];
    let z3 = logits_from_probabilities(&p, 3).unwrap();
    let z2: Vec<f64> = z3.chunks_exact(3).flat_map(|r| r[..2].to_vec()).collect();
    let (a, b) = (
        fit_temperature(&z3, 3, &y).unwrap(),
        fit_temperature(&z2, 2, &y).unwrap(),
    );
    assert_eq!(a.beta, b.beta);
    assert_eq!(a.nll, b.nll);
    // Every derivative the fit steps with, the third (Halley's) included:
    // 0 * -inf made it NaN for masked classes once.
    for beta in [0.3, 1.0, 2.5] {
        let (o3, o2) = (
            temperature_objective(&z3, 3, &y, beta).unwrap(),
            temperature_objective(&z2, 2, &y, beta).unwrap(),
        );
        assert_eq!(
            (
                o3.nll,
                o3.derivative,
                o3.second_derivative,
                o3.third_derivative
            ),
            (
                o2.nll,
                o2.derivative,
                o2.second_derivative,
                o2.third_derivative
            ),
            "beta {beta}"
        );
    }
}

/// The hand-computed case: five rows of two classes, given as
/// probabilities. See the comments for each number.
#[test]
fn metrics_equal_a_hand_computed_case() {
    let p = [
        0.9, 0.1, // label 0: confidence 0.9, right
        0.9, 0.1, // label 1: confidence 0.9, wrong
        0.25, 0.75, // label 1: confidence 0.75, right
        0.75, 0.25, // label 1: confidence 0.75, wrong
        0.55, 0.45, // label 0: confidence 0.55, right
    ];
    let y = [0, 1, 1, 1, 0];
    let z = logits_from_probabilities(&p, 2).unwrap();
    let m = Metrics::compute(&z, 2, &y, 15).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() < 1e-14;
    // 15 equal-width bins: 0.9 in (13/15, 14/15], 0.75 in (11/15, 12/15],
    // 0.55 in (8/15, 9/15]. Gaps |acc - conf|: 0.4 (2 rows), 0.25 (2 rows),
    // 0.45 (1 row). ECE = (2 0.4 + 2 0.25 + 0.45) / 5 = 0.35, MCE = 0.45.
    assert!(close(m.ece, 0.35), "{}", m.ece);
    assert!(close(m.mce, 0.45), "{}", m.mce);
    // 2 equal-mass bins: sorted 0.55, 0.75 (row 2), | 0.75 (row 3), 0.9, 0.9.
    // First: conf 0.65, acc 1; second: conf 0.85, acc 1/3.
    // ECE = 2/5 0.35 + 3/5 (0.85 - 1/3) = 0.45.
    let mass = Metrics::compute(&z, 2, &y, 2).unwrap();
    assert!(close(mass.ece_equal_mass, 0.45), "{}", mass.ece_equal_mass);
    // Brier: 0.02 + 1.62 + 0.125 + 1.125 + 0.405 = 3.295, / 5.
    assert!(close(m.brier, 0.659), "{}", m.brier);
    assert!(close(m.accuracy, 0.6));
    let nll = -(0.9f64.ln() + 0.1f64.ln() + 0.75f64.ln() + 0.25f64.ln() + 0.55f64.ln()) / 5.0;
    assert!(close(m.nll, nll));
    // Classwise, class 0: bins {0.9 x2: freq 1/2}, {0.25: 0}, {0.75: 0},
    // {0.55: 1}: (2 0.4 + 0.25 + 0.75 + 0.45) / 5 = 0.45; class 1 by
    // symmetry of the gaps also 0.45.
    assert!(close(m.classwise_ece, 0.45), "{}", m.classwise_ece);

    let bins = reliability(&z, 2, &y, Binning::EqualWidth { bins: 15 }).unwrap();
    let filled: Vec<usize> = (0..15).filter(|&b| bins[b].count > 0).collect();
    assert_eq!(filled, vec![8, 11, 13]);
    for b in &bins {
        assert_eq!(b.count == 0, b.confidence.is_none());
        assert_eq!(b.count == 0, b.accuracy.is_none());
    }
    assert!(close(bins[13].confidence.unwrap(), 0.9));
    assert_eq!(bins[13].accuracy, Some(0.5));
    assert!(close(bins[13].lower, 13.0 / 15.0) && close(bins[13].upper, 14.0 / 15.0));
}

#[test]
fn temperature_lowers_held_out_nll_on_overconfident_logits() {
    let k = 10;
    let (zv, yv) = synthetic(3000, k, 2.0, 2.0, 3.0, 11);
    let (zt, yt) = synthetic(3000, k, 2.0, 2.0, 3.0, 12);
    let fit = fit_temperature(&zv, k, &yv).unwrap();
    let before = Metrics::compute(&zt, k, &yt, 15).unwrap();
    let after = Metrics::compute(&fit.calibrator().apply(&zt, k).unwrap(), k, &yt, 15).unwrap();
    assert!(after.nll < before.nll);
    assert!(after.ece < before.ece);
    // Temperature never changes the argmax.
    assert_eq!(after.accuracy, before.accuracy);
}

#[test]
fn vector_and_matrix_scaling_nest() {
    // The three families are nested, so on the fitting data their optimal
    // NLLs are ordered: matrix <= vector <= temperature.
    let k = 4;
    let (z, y) = synthetic(1500, k, 1.5, 2.0, 2.5, 5);
    let t = fit_temperature(&z, k, &y).unwrap();
    let (v, vr) = fit_vector_scaling(&z, k, &y, &ScalingOptions::default()).unwrap();
    let (m, mr) = fit_matrix_scaling(&z, k, &y, &ScalingOptions::default()).unwrap();
    assert!(vr.converged && mr.converged, "{vr:?} {mr:?}");
    let nll_of = |c: &Calibrator| {
        Metrics::compute(&c.apply(&z, k).unwrap(), k, &y, 15)
            .unwrap()
            .nll
    };
    let (nt, nv, nm) = (t.nll, nll_of(&v), nll_of(&m));
    assert!((nv - vr.objective).abs() < 1e-13 && (nm - mr.objective).abs() < 1e-13);
    assert!(nv <= nt + 1e-12 && nm <= nv + 1e-12, "{nt} {nv} {nm}");
    // Vector scaling's optimum is stationary: no single weight or bias
    // nudged either way improves it.
    if let Calibrator::Vector { weights, biases } = &v {
        for j in 0..2 * k {
            for h in [1e-5, -1e-5] {
                let (mut w, mut b) = (weights.clone(), biases.clone());
                if j < k {
                    w[j] += h
                } else {
                    b[j - k] += h
                }
                let nudged = nll_of(&Calibrator::Vector {
                    weights: w,
                    biases: b,
                });
                assert!(nudged >= nv - 1e-13);
            }
        }
    } else {
        panic!("not a vector calibrator");
    }
    // Matrix and vector maps reject other class counts and -inf logits.
    assert!(m.apply(&z[..6], 3).is_err());
    assert!(
        fit_vector_scaling(
            &[0.0, f64::NEG_INFINITY],
            2,
            &[0],
            &ScalingOptions::default()
        )
        .is_err()
    );
}
