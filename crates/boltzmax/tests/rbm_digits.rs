//! The RBM on the UCI digits shipped in `data/`, with scikit-learn's
//! hyper-parameters (see `benches/peers/rbm_sklearn.py` for the side by
//! side run).

use boltzmax::learn::rbm::{TrainConfig, train};
use ndarray::Array2;

/// All 1797 digits, pixels scaled from 0..16 to [0, 1].
fn digits() -> Array2<f64> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .take(64)
                .map(|t| t.parse::<f64>().unwrap() / 16.0)
                .collect()
        })
        .collect();
    Array2::from_shape_vec((rows.len(), 64), rows.concat()).unwrap()
}

#[test]
fn digits_pseudo_likelihood_with_sklearn_schedule() {
    let x = digits();
    assert_eq!(x.dim(), (1797, 64));
    let cfg = TrainConfig {
        learning_rate: 0.06,
        epochs: 20,
        ..TrainConfig::sklearn(64)
    };
    let rbm = train(x.view(), &cfg, &mut |_| {}).unwrap();
    let pl = rbm.pseudo_likelihood_exact(x.view()).unwrap();
    let pl_sk = rbm.pseudo_likelihood_sklearn(x.view(), 1).unwrap();
    eprintln!("64 hidden: exact PL {pl}, sklearn-style PL {pl_sk}");
    assert!(pl > -19.3, "{pl}");
}
