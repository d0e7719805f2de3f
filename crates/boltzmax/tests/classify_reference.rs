//! Softmax regression against scikit-learn's `LogisticRegression` on the
//! shipped data (`data/`, splits in `data/splits/`).
//!
//! The reference optima and test accuracies were computed by
//! `benches/peers/classify_reference.py` (scikit-learn 1.9.1, lbfgs at
//! tol 1e-10): fit on train + valid (75 %), C = 1; digits / 16, iris raw,
//! wine standardised on the fit rows. They are issue 7's numbers.

use boltzmax::learn::classify::{SoftmaxRegression, Standardizer, TrainOptions, train};

struct Data {
    x: Vec<f64>,
    y: Vec<usize>,
    d: usize,
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

fn load(name: &str) -> Data {
    let text = std::fs::read_to_string(root().join(format!("{name}.csv"))).unwrap();
    let mut lines = text.lines();
    let d = lines.next().unwrap().split(',').count() - 1;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for line in lines {
        let mut f: Vec<&str> = line.split(',').collect();
        y.push(f.pop().unwrap().parse().unwrap());
        x.extend(f.iter().map(|v| v.parse::<f64>().unwrap()));
    }
    Data { x, y, d }
}

fn split(name: &str, part: &str) -> Vec<usize> {
    std::fs::read_to_string(root().join(format!("splits/{name}_{part}.txt")))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

fn take(data: &Data, rows: &[usize]) -> (Vec<f64>, Vec<usize>) {
    let mut x = Vec::new();
    for &i in rows {
        x.extend_from_slice(&data.x[i * data.d..(i + 1) * data.d]);
    }
    (x, rows.iter().map(|&i| data.y[i]).collect())
}

/// Fits C = 1 on train + valid and returns the model, the objective and
/// the number of right predictions on test.
fn fit(name: &str) -> (SoftmaxRegression, f64, usize, usize) {
    let data = load(name);
    let mut fit_rows = split(name, "train");
    fit_rows.extend(split(name, "valid"));
    fit_rows.sort_unstable();
    let test_rows = split(name, "test");
    let (mut xf, yf) = take(&data, &fit_rows);
    let (mut xt, yt) = take(&data, &test_rows);
    match name {
        "digits" => {
            xf.iter_mut().chain(xt.iter_mut()).for_each(|v| *v /= 16.0);
        }
        "wine" => {
            let s = Standardizer::fit(&xf, data.d).unwrap();
            xf = s.transform(&xf).unwrap();
            xt = s.transform(&xt).unwrap();
        }
        _ => {}
    }
    let (model, report) = train(&xf, data.d, &yf, &TrainOptions::default()).unwrap();
    assert!(report.converged, "{name}: {report:?}");
    // The objective is recomputed from the returned weights, independently
    // of the solver's bookkeeping.
    let objective = model.objective(&xf, &yf, 1.0).unwrap();
    assert!((objective - report.objective).abs() <= 1e-14 * objective);
    let pred = model.predict(&xt).unwrap();
    let right = pred.iter().zip(&yt).filter(|(p, y)| p == y).count();
    (model, objective, right, yt.len())
}

fn check(name: &str, optimum: f64, sklearn_right: usize, test_rows: usize) {
    let (_, objective, right, n) = fit(name);
    let rel = (objective - optimum) / optimum;
    eprintln!(
        "{name}: objective {objective:.12}, relative to scikit-learn {rel:e}, test {right}/{n}"
    );
    // The reference is printed to 10 decimals: half a unit there is 5e-11,
    // well inside 1e-9 relative.
    assert!(
        rel.abs() <= 1e-9,
        "{name}: objective {objective:.12} vs scikit-learn {optimum}, relative {rel:e}"
    );
    assert_eq!(n, test_rows);
    assert_eq!(
        right, sklearn_right,
        "{name}: test accuracy {right}/{n}, scikit-learn {sklearn_right}/{n}"
    );
}

#[test]
fn digits_matches_scikit_learn() {
    check("digits", 0.2240350001, 436, 450);
}

#[test]
fn iris_matches_scikit_learn() {
    check("iris", 0.2225670970, 38, 38);
}

#[test]
fn wine_standardised_matches_scikit_learn() {
    check("wine", 0.0839747418, 45, 45);
}

#[test]
fn gradient_matches_finite_differences() {
    // The objective's gradient, seen through the solver: after training,
    // nudging any single weight must not lower the objective by more than
    // second order (the optimum is stationary), and with a nonzero start
    // the objective must fall: a wrong gradient sign would stall it.
    let data = load("iris");
    let rows: Vec<usize> = (0..150).collect();
    let (x, y) = take(&data, &rows);
    let (model, _) = train(&x, 4, &y, &TrainOptions::default()).unwrap();
    let f0 = model.objective(&x, &y, 1.0).unwrap();
    for i in 0..model.weights.len() {
        for h in [1e-4, -1e-4] {
            let mut m = model.clone();
            m.weights[i] += h;
            let f = m.objective(&x, &y, 1.0).unwrap();
            // Stationary: f - f0 = O(h^2) with curvature at most ~ max x^2.
            assert!(f - f0 > -1e-12, "weight {i}, step {h}: {f} < {f0}");
            assert!(
                f - f0 < 100.0 * h * h,
                "weight {i}, step {h}: rise {}",
                f - f0
            );
        }
    }
}

#[test]
fn predictions_at_any_temperature() {
    let (model, ..) = fit("iris");
    let data = load("iris");
    let x = &data.x[..4 * 10];
    let classes = model.predict(x).unwrap();
    for t in [0.25, 1.0, 4.0] {
        let p = model
            .predict_proba(x, &boltzmax::Params::temperature(t).unwrap())
            .unwrap();
        let z = model.logits(x).unwrap();
        for ((pi, zi), &c) in p.chunks_exact(3).zip(z.chunks_exact(3)).zip(&classes) {
            assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-15);
            // Same argmax at every temperature; p = softmax(z / T).
            let best = (0..3).max_by(|&a, &b| pi[a].total_cmp(&pi[b])).unwrap();
            assert_eq!(best, c);
            let lse = zi.iter().map(|v| (v / t).exp()).sum::<f64>().ln();
            for j in 0..3 {
                assert!((pi[j] - (zi[j] / t - lse).exp()).abs() < 1e-13);
            }
        }
    }
}
