//! Every sampler returns an error, never a NaN draw or a panic, on rows it
//! cannot sample; and the special rows it can sample have one answer.

use boltzmax::sample::{Categorical, gumbel_max, stream_rng};
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
    let c = Categorical::from_weights(&[0.0, 3.0, 1.0]).unwrap();
    assert_eq!(c.probabilities(), vec![0.0, 0.75, 0.25]);
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
