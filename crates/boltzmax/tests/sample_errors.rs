//! Every sampler returns an error, never a NaN draw or a panic, on rows it
//! cannot sample; and the special rows it can sample have one answer.

use boltzmax::sample::{
    AliasTable, Categorical, GumbelSoftmax, exponential_race, gumbel_max, stream_rng,
};
use boltzmax::{Error, Params};
use rand::distr::Distribution;

fn check_errors<F: boltzmax::Real>(nan: F, inf: F) {
    let p = Params::<F>::default();
    let mut rng = stream_rng(0, 0);
    let z = F::ZERO;
    let rows: Vec<(Vec<F>, &str)> = vec![
        (vec![], "empty"),
        (vec![-inf, -inf], "-inf"),
        (vec![z, inf, z, inf], "both"),
    ];
    for (row, needle) in rows {
        for e in [
            Categorical::new(&row, &p).unwrap_err(),
            gumbel_max(&row, &p, &mut rng).unwrap_err(),
            AliasTable::new(&row, &p).unwrap_err(),
            exponential_race(&row, &p, &mut rng).unwrap_err(),
            GumbelSoftmax::sample(&row, F::ONE, false, &mut rng).unwrap_err(),
        ] {
            match &e {
                Error::NothingToSample { reason } => assert!(reason.contains(needle), "{e}"),
                other => panic!("{row:?}: {other}"),
            }
        }
    }
    let row = vec![z, z, nan, nan];
    assert_eq!(
        Categorical::new(&row, &p).unwrap_err(),
        Error::NanLogit { index: 2 }
    );
    assert_eq!(
        gumbel_max(&row, &p, &mut rng).unwrap_err(),
        Error::NanLogit { index: 2 }
    );
    // NaN beats everything else, including +inf.
    let row = vec![inf, nan];
    assert_eq!(
        Categorical::new(&row, &p).unwrap_err(),
        Error::NanLogit { index: 1 }
    );
    assert_eq!(
        gumbel_max(&row, &p, &mut rng).unwrap_err(),
        Error::NanLogit { index: 1 }
    );
    // Masks: all masked out is an error, a masked NaN is not.
    assert!(matches!(
        Categorical::new_masked(&[z, z], &[false, false], &p),
        Err(Error::NothingToSample { .. })
    ));
    assert!(Categorical::new_masked(&[nan, z], &[false, true], &p).is_ok());
    assert!(matches!(
        Categorical::new_masked(&[z], &[true, false], &p),
        Err(Error::LengthMismatch { .. })
    ));

    // One +inf is drawn every time; -inf entries never.
    let row = vec![z, -inf, inf, z];
    let c = Categorical::new(&row, &p).unwrap();
    for _ in 0..100 {
        assert_eq!(c.sample(&mut rng), 2);
        assert_eq!(gumbel_max(&row, &p, &mut rng), Ok(2));
    }
    // With a negative beta the roles of +inf and -inf swap.
    let neg = Params::beta(F::from_f64(-1.0)).unwrap();
    let row = vec![z, inf, -inf, z];
    assert_eq!(Categorical::new(&row, &neg).unwrap().sample(&mut rng), 2);
    assert_eq!(gumbel_max(&row, &neg, &mut rng), Ok(2));
    let row = vec![inf, inf];
    assert!(Categorical::new(&row, &neg).is_err());
    assert!(gumbel_max(&row, &neg, &mut rng).is_err());
}

#[test]
fn errors_f64() {
    check_errors(f64::NAN, f64::INFINITY);
}

#[test]
fn errors_f32() {
    check_errors(f32::NAN, f32::INFINITY);
}

#[test]
fn invalid_temperature_is_an_error_before_sampling() {
    assert!(Params::temperature(0.0_f64).is_err());
    assert!(Params::temperature(-1.0_f32).is_err());
    assert!(Params::temperature(f64::NAN).is_err());
}

#[test]
fn from_weights_validates() {
    assert!(Categorical::from_weights(&[]).is_err());
    assert!(Categorical::from_weights(&[f64::NAN, 1.0]).is_err());
    assert!(Categorical::from_weights(&[f64::INFINITY]).is_err());
    // Weights whose sum overflows still work.
    let big = Categorical::from_weights(&[f64::MAX, 0.0, f64::MAX]).unwrap();
    assert_eq!(big.probabilities(), vec![0.5, 0.0, 0.5]);
    let big = AliasTable::from_weights(&[f64::MAX, 0.0, f64::MAX]).unwrap();
    assert_eq!(big.probabilities(), vec![0.5, 0.0, 0.5]);
    let c = Categorical::from_weights(&[0.0, 3.0, 1.0]).unwrap();
    // Differences of running sums: exact up to rounding of the sums.
    for (a, b) in c.probabilities().iter().zip([0.0, 0.75, 0.25]) {
        assert!((a - b).abs() < 1e-15, "{a} vs {b}");
    }
}

#[test]
fn invert_never_returns_a_zero_probability_category() {
    let c = Categorical::from_weights(&[0.0, 1.0, 0.0, 1.0, 0.0]).unwrap();
    let eps = f64::EPSILON / 2.0;
    assert_eq!(c.invert(eps), 1);
    assert_eq!(c.invert(0.5), 3);
    assert_eq!(c.invert(1.0 - eps), 3);
    // u = 1 never comes from `open01`, but rounding to the total must not
    // select the trailing zero.
    assert_eq!(c.invert(1.0), 3);
}

#[test]
fn alias_from_weights_validates() {
    assert!(AliasTable::from_weights(&[]).is_err());
    assert!(AliasTable::from_weights(&[0.0, 0.0]).is_err());
    assert!(AliasTable::from_weights(&[1.0, f64::NAN]).is_err());
    assert!(AliasTable::from_weights(&[1.0, -1.0]).is_err());
    let a = AliasTable::from_weights(&[0.0, 5.0, 0.0]).unwrap();
    let mut rng = stream_rng(1, 1);
    for _ in 0..1000 {
        assert_eq!(a.sample(&mut rng), 1);
    }
}

/// Gumbel-softmax backward against central finite differences of the
/// forward pass with the noise held fixed, f64; hard (straight-through)
/// uses the same gradient.
#[test]
fn gumbel_softmax_backward_matches_finite_differences() {
    let x = [0.3_f64, -1.2, 2.0, 0.7];
    let g = [0.1_f64, -0.4, 0.25, 1.3];
    let up = [0.5_f64, -1.0, 2.0, 0.25];
    for tau in [0.2, 1.0, 3.0] {
        let s = GumbelSoftmax::with_noise(&x, &g, tau, false).unwrap();
        let dx = s.backward(&up).unwrap();
        let hard = GumbelSoftmax::with_noise(&x, &g, tau, true).unwrap();
        assert_eq!(hard.backward(&up).unwrap(), dx);
        let y = hard.output();
        assert_eq!(y.iter().filter(|v| **v == 1.0).count(), 1);
        let h = 1e-6;
        for j in 0..4 {
            let f = |d: f64| {
                let mut xp = x;
                xp[j] += d;
                let y = GumbelSoftmax::with_noise(&xp, &g, tau, false).unwrap();
                y.soft().iter().zip(&up).map(|(a, b)| a * b).sum::<f64>()
            };
            let fd = (f(h) - f(-h)) / (2.0 * h);
            assert!(
                (fd - dx[j]).abs() < 1e-7 * (1.0 + fd.abs()),
                "tau {tau} j {j}: {fd} vs {}",
                dx[j]
            );
        }
        // Forward by hand.
        let z: Vec<f64> = x.iter().zip(&g).map(|(a, b)| (a + b) / tau).collect();
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = z.iter().map(|v| (v - m).exp()).sum();
        for (a, v) in s.soft().iter().zip(&z) {
            assert!((a - (v - m).exp() / sum).abs() < 1e-15);
        }
    }
}
