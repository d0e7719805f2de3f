//! The convention table of `boltzmax::softmax`, in both precisions and on
//! every kernel table this CPU can run.

use boltzmax::kernel::{Kernels, available_f32, available_f64};
use boltzmax::softmax::{log_softmax_into_using, logsumexp_using, softmax_into_using};
use boltzmax::{Params, Real, UndefinedRows};

fn check_all<F: Real>(tables: Vec<&'static Kernels<F>>) {
    for k in tables {
        let run = |x: &[F], p: &Params<F>| {
            let mut s = vec![F::ZERO; x.len()];
            let mut l = vec![F::ZERO; x.len()];
            softmax_into_using(k, &mut s, x, p).unwrap();
            log_softmax_into_using(k, &mut l, x, p).unwrap();
            (s, l, logsumexp_using(k, x, p))
        };
        let d = Params::<F>::default();
        let inf = F::INFINITY;
        let nan = F::NAN;
        let f = F::from_f64;

        // Empty.
        let (s, l, z) = run(&[], &d);
        assert!(s.is_empty() && l.is_empty());
        assert_eq!(z, -inf, "{}", k.name);

        // One element.
        let (s, l, z) = run(&[f(3.5)], &d);
        assert_eq!((s[0], l[0], z), (F::ONE, F::ZERO, f(3.5)));

        // All -inf: undefined (NaN by default, zeros on request), lse -inf.
        let (s, l, z) = run(&[-inf, -inf], &d);
        assert!(s.iter().chain(&l).all(|v| v.is_nan()));
        assert_eq!(z, -inf);
        let zeros = d.with_undefined_rows(UndefinedRows::Zeros);
        let (s, l, _) = run(&[-inf, -inf], &zeros);
        assert_eq!(s, vec![F::ZERO; 2]);
        assert_eq!(l, vec![-inf; 2]);

        // -inf entries get probability 0.
        let (s, l, z) = run(&[-inf, F::ZERO], &d);
        assert_eq!(s, vec![F::ZERO, F::ONE]);
        assert_eq!(l, vec![-inf, F::ZERO]);
        assert_eq!(z, F::ZERO);

        // Exactly one +inf: one-hot.
        let (s, l, z) = run(&[f(1.0), inf, f(-2.0)], &d);
        assert_eq!(s, vec![F::ZERO, F::ONE, F::ZERO], "{}", k.name);
        assert_eq!(l, vec![-inf, F::ZERO, -inf]);
        assert_eq!(z, inf);

        // Two +inf: NaN; lse +inf.
        let (s, l, z) = run(&[inf, f(1.0), inf], &d);
        assert!(s.iter().chain(&l).all(|v| v.is_nan()));
        assert_eq!(z, inf);

        // NaN anywhere: NaN everywhere.
        let (s, l, z) = run(&[f(1.0), nan, f(2.0)], &d);
        assert!(s.iter().chain(&l).all(|v| v.is_nan()), "{}", k.name);
        assert!(z.is_nan());
        let (s, _, z) = run(&[inf, nan], &d);
        assert!(s.iter().all(|v| v.is_nan()) && z.is_nan());

        // Ties share the mass, at every temperature, subnormal included.
        let tiny = if F::NAME == "f32" {
            f(1e-44)
        } else {
            f(1e-310)
        };
        for t in [f(1e-3), tiny] {
            let p = Params::temperature(t).unwrap();
            let (s, _, _) = run(&[f(2.0), f(1.0), f(2.0)], &p);
            assert_eq!(s, vec![f(0.5), F::ZERO, f(0.5)], "T = {t}");
        }
        let (s, _, _) = run(&[f(2.0), f(1.0), f(2.0)], &d);
        assert_eq!(s[0], s[2]);

        // beta = 0: uniform; negative beta favours the minimum.
        let b0 = Params::beta(F::ZERO).unwrap();
        let (s, l, z) = run(&[f(1.0), f(100.0), f(-5.0), f(0.0)], &b0);
        assert_eq!(s, vec![f(0.25); 4]);
        assert_eq!(l, vec![f(-(4f64.ln())); 4]);
        assert_eq!(z, f(4f64.ln()));
        let neg = Params::beta(f(-1.0)).unwrap();
        let (s, _, z) = run(&[f(0.0), -inf], &neg);
        assert_eq!(s, vec![F::ZERO, F::ONE]);
        assert_eq!(z, inf);
        let (s, _, _) = run(&[f(1.0), f(2.0)], &neg);
        let (r, _, _) = run(&[f(-1.0), f(-2.0)], &d);
        assert_eq!(s, r);

        // Small terms are not lost: log_softmax([0, -40]) != 0.
        let (_, l, _) = run(&[F::ZERO, f(-40.0)], &d);
        assert!(l[0] < F::ZERO, "{}: {}", k.name, l[0]);
    }
}

#[test]
fn convention_table_f32() {
    check_all::<f32>(available_f32());
}

#[test]
fn convention_table_f64() {
    check_all::<f64>(available_f64());
}

#[test]
fn invalid_temperatures_are_errors() {
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
        assert!(Params::temperature(t).is_err(), "T = {t}");
    }
    for b in [f64::NAN, f64::INFINITY] {
        assert!(Params::beta(b).is_err(), "beta = {b}");
    }
}
