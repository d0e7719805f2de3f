//! The convention table (`docs/conventions.md`, and the module docs of
//! `boltzmax::softmax`), row by row, in both precisions, through every
//! form of the API: each kernel table, `_with`, `_into`, `_in_place`,
//! `_masked` (all kept, and with masked-out junk around the row), the n-d
//! functions (contiguous and strided), the weighted logsumexp with unit
//! weights and the streaming accumulator.
//!
//! The row names in the comments (`[empty]`, `[one +inf]`, ...) are the
//! ones the table in `docs/conventions.md` points to.

use boltzmax::kernel::{Kernels, available_f32, available_f64};
use boltzmax::nd::{self, Par};
use boltzmax::softmax::{log_softmax_into_using, logsumexp_using, softmax_into_using};
use boltzmax::stream::LogSumExp;
use boltzmax::{Params, Real, UndefinedRows};
use ndarray::{Array2, Axis};

/// softmax and log-softmax (None where a form has none) and logsumexp.
type Answers<F> = (Option<Vec<F>>, Option<Vec<F>>, F);

/// One way of calling the library.
type Run<F> = dyn Fn(&[F], &Params<F>) -> Answers<F>;
type Form<F> = Box<Run<F>>;

fn forms<F: Real>(tables: Vec<&'static Kernels<F>>) -> Vec<(String, Form<F>)> {
    let mut v: Vec<(String, Form<F>)> = Vec::new();
    for k in tables {
        v.push((
            format!("table {}", k.name),
            Box::new(move |x: &[F], p: &Params<F>| {
                let mut s = vec![F::ZERO; x.len()];
                let mut l = vec![F::ZERO; x.len()];
                softmax_into_using(k, &mut s, x, p).unwrap();
                log_softmax_into_using(k, &mut l, x, p).unwrap();
                (Some(s), Some(l), logsumexp_using(k, x, p))
            }),
        ));
    }
    v.push((
        "_with".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            (
                Some(boltzmax::softmax_with(x, p)),
                Some(boltzmax::log_softmax_with(x, p)),
                boltzmax::logsumexp_with(x, p),
            )
        }),
    ));
    v.push((
        "_into".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let mut s = vec![F::NAN; x.len()];
            let mut l = vec![F::NAN; x.len()];
            boltzmax::softmax_into(&mut s, x, p).unwrap();
            boltzmax::log_softmax_into(&mut l, x, p).unwrap();
            (Some(s), Some(l), boltzmax::logsumexp_with(x, p))
        }),
    ));
    v.push((
        "_in_place".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let mut s = x.to_vec();
            let mut l = x.to_vec();
            boltzmax::softmax_in_place(&mut s, p);
            boltzmax::log_softmax_in_place(&mut l, p);
            (Some(s), Some(l), boltzmax::logsumexp_with(x, p))
        }),
    ));
    v.push((
        "_masked, all kept".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let m = vec![true; x.len()];
            (
                Some(boltzmax::softmax_masked(x, &m, p).unwrap()),
                Some(boltzmax::log_softmax_masked(x, &m, p).unwrap()),
                boltzmax::logsumexp_masked(x, &m, p).unwrap(),
            )
        }),
    ));
    v.push((
        "_masked_into, junk masked out around the row".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            // Every other slot holds junk (NaN, +-inf, huge) masked out.
            let junk = [F::NAN, F::INFINITY, F::NEG_INFINITY, F::from_f64(1e30)];
            let mut xs = Vec::new();
            let mut mask = Vec::new();
            for (i, &v) in x.iter().enumerate() {
                xs.push(junk[i % 4]);
                mask.push(false);
                xs.push(v);
                mask.push(true);
            }
            xs.push(F::NAN);
            mask.push(false);
            let mut s = vec![F::NAN; xs.len()];
            let mut l = vec![F::NAN; xs.len()];
            boltzmax::softmax_masked_into(&mut s, &xs, &mask, p).unwrap();
            boltzmax::log_softmax_masked_into(&mut l, &xs, &mask, p).unwrap();
            // Masked-out slots hold 0 / -inf, except in a row without an
            // answer, which is NaN in every slot.
            for (i, keep) in mask.iter().enumerate() {
                if !keep && !s.iter().all(|v| v.is_nan()) {
                    assert_eq!(s[i], F::ZERO, "masked-out softmax");
                }
                if !keep && !l.iter().all(|v| v.is_nan()) {
                    assert_eq!(l[i], F::NEG_INFINITY, "masked-out log_softmax");
                }
            }
            let kept = |v: Vec<F>| -> Vec<F> {
                v.into_iter()
                    .zip(&mask)
                    .filter(|(_, k)| **k)
                    .map(|(a, _)| a)
                    .collect()
            };
            let z = boltzmax::logsumexp_masked(&xs, &mask, p).unwrap();
            (Some(kept(s)), Some(kept(l)), z)
        }),
    ));
    v.push((
        "nd, axis -1 (contiguous)".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let a = Array2::from_shape_fn((2, x.len()), |(_, j)| x[j]);
            let s = nd::softmax(a.view(), -1, p, Par::Seq).unwrap();
            let l = nd::log_softmax(a.view(), -1, p, Par::Threads(2)).unwrap();
            let z = nd::logsumexp(a.view(), -1, p, Par::Seq).unwrap();
            assert!(s.row(0).iter().zip(s.row(1)).all(|(a, b)| same(*a, *b)));
            (Some(s.row(1).to_vec()), Some(l.row(0).to_vec()), z[1])
        }),
    ));
    v.push((
        "nd, axis 0 (strided), masked".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let a = Array2::from_shape_fn((x.len(), 3), |(i, _)| x[i]);
            let m = Array2::from_elem((x.len(), 3), true);
            let s = nd::softmax_masked(a.view(), m.view(), 0, p, Par::Seq).unwrap();
            let l = nd::log_softmax(a.view(), 0, p, Par::Seq).unwrap();
            let z = nd::logsumexp_masked(a.view(), m.view(), 0, p, Par::Seq).unwrap();
            (
                Some(s.index_axis(Axis(1), 2).to_vec()),
                Some(l.index_axis(Axis(1), 0).to_vec()),
                z[1],
            )
        }),
    ));
    v.push((
        "nd, axis 0, lanes side by side (vertical passes)".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            // Nine equal lanes in the columns of a C-ordered array: enough
            // for the vertical passes, on one thread and split by rows.
            let a = Array2::from_shape_fn((x.len(), 9), |(i, _)| x[i]);
            let s = nd::softmax(a.view(), 0, p, Par::Seq).unwrap();
            let l = nd::log_softmax(a.view(), 0, p, Par::Threads(2)).unwrap();
            let z = nd::logsumexp(a.view(), 0, p, Par::Seq).unwrap();
            for j in 1..9 {
                assert!(
                    s.column(0)
                        .iter()
                        .zip(s.column(j))
                        .all(|(a, b)| same(*a, *b))
                );
            }
            (Some(s.column(4).to_vec()), Some(l.column(8).to_vec()), z[5])
        }),
    ));
    v.push((
        "logsumexp_weighted, unit weights (slice and nd)".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let b = vec![F::ONE; x.len()];
            let r = boltzmax::logsumexp_weighted(x, &b, p).unwrap();
            let a = Array2::from_shape_fn((1, x.len()), |(_, j)| x[j]);
            let bb = Array2::from_elem((1, x.len()), F::ONE);
            let w = nd::logsumexp_weighted(a.view(), bb.view(), 1, p, Par::Seq).unwrap();
            assert!(same(w.log_abs[0], r.log_abs) && same(w.sign[0], r.sign));
            // The sign is +1 for a positive sum, 0 for an empty one.
            if r.log_abs.is_nan() {
                assert!(r.sign.is_nan());
            } else if r.log_abs == F::NEG_INFINITY {
                assert_eq!(r.sign, F::ZERO);
            } else {
                assert_eq!(r.sign, F::ONE);
            }
            (None, None, r.log_abs)
        }),
    ));
    v.push((
        "stream::LogSumExp (push, push_slice, merge)".into(),
        Box::new(|x: &[F], p: &Params<F>| {
            let mut a = LogSumExp::with_params(p);
            x.iter().for_each(|&v| a.push(v));
            let h = x.len() / 2;
            let mut b = LogSumExp::with_params(p);
            b.push_slice(&x[..h]);
            let mut c = LogSumExp::with_params(p);
            c.push_slice(&x[h..]);
            b.merge(&c).unwrap();
            assert!(same(a.value(), b.value()) || close(a.value(), b.value()));
            (None, None, b.value())
        }),
    ));
    v
}

fn same<F: Real>(a: F, b: F) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn close<F: Real>(a: F, b: F) -> bool {
    (a - b).abs() <= F::from_f64(4.0) * F::EPSILON * (F::ONE + b.abs())
}

/// Every row of the table through one form.
fn table_rows<F: Real>(name: &str, run: &Run<F>) {
    let d = Params::<F>::default();
    let inf = F::INFINITY;
    let nan = F::NAN;
    let f = F::from_f64;
    let all_nan = |v: &Option<Vec<F>>| v.as_ref().is_none_or(|v| v.iter().all(|x| x.is_nan()));
    let eq = |got: &Option<Vec<F>>, want: &[F], row: &str| {
        if let Some(g) = got {
            assert!(
                g.len() == want.len() && g.iter().zip(want).all(|(a, b)| same(*a, *b)),
                "{name} [{row}] {}: {g:?} vs {want:?}",
                F::NAME
            );
        }
    };

    // [empty]
    let (s, l, z) = run(&[], &d);
    eq(&s, &[], "empty");
    eq(&l, &[], "empty");
    assert_eq!(z, -inf, "{name} [empty]");

    // [one element]
    let (s, l, z) = run(&[f(3.5)], &d);
    eq(&s, &[F::ONE], "one element");
    eq(&l, &[F::ZERO], "one element");
    assert_eq!(z, f(3.5), "{name} [one element]");
    let (s, _, z) = run(&[f(3.5)], &Params::temperature(f(0.5)).unwrap());
    eq(&s, &[F::ONE], "one element");
    assert_eq!(z, f(7.0), "{name} [one element] T");

    // [some -inf]
    let (s, l, z) = run(&[-inf, F::ZERO, -inf], &d);
    eq(&s, &[F::ZERO, F::ONE, F::ZERO], "some -inf");
    eq(&l, &[-inf, F::ZERO, -inf], "some -inf");
    assert_eq!(z, F::ZERO, "{name} [some -inf]");

    // [all -inf]
    let (s, l, z) = run(&[-inf, -inf], &d);
    assert!(all_nan(&s) && all_nan(&l), "{name} [all -inf]");
    assert_eq!(z, -inf, "{name} [all -inf]");
    let zeros = d.with_undefined_rows(UndefinedRows::Zeros);
    let (s, l, z) = run(&[-inf, -inf], &zeros);
    eq(&s, &[F::ZERO; 2], "all -inf, Zeros policy");
    eq(&l, &[-inf; 2], "all -inf, Zeros policy");
    assert_eq!(z, -inf);

    // [one +inf]
    let (s, l, z) = run(&[f(1.0), inf, f(-2.0), -inf], &d);
    eq(&s, &[F::ZERO, F::ONE, F::ZERO, F::ZERO], "one +inf");
    eq(&l, &[-inf, F::ZERO, -inf, -inf], "one +inf");
    assert_eq!(z, inf, "{name} [one +inf]");

    // [two +inf]
    let (s, l, z) = run(&[inf, f(1.0), inf], &d);
    assert!(all_nan(&s) && all_nan(&l), "{name} [two +inf]");
    assert_eq!(z, inf, "{name} [two +inf]");

    // [NaN]
    for row in [
        vec![f(1.0), nan, f(2.0)],
        vec![inf, nan],
        vec![nan, -inf],
        vec![nan],
    ] {
        let (s, l, z) = run(&row, &d);
        assert!(all_nan(&s) && all_nan(&l), "{name} [NaN] {row:?}");
        assert!(z.is_nan(), "{name} [NaN] {row:?}");
    }

    // [ties]
    let tiny = if F::NAME == "f32" {
        f(1e-44)
    } else {
        f(1e-310)
    };
    for t in [f(1.0), f(1e-3), tiny] {
        let p = Params::temperature(t).unwrap();
        let (s, l, _) = run(&[f(2.0), f(1.0), f(2.0)], &p);
        if t != F::ONE {
            eq(&s, &[f(0.5), F::ZERO, f(0.5)], "ties, T -> 0");
            // log-softmax: -ln 2 at the maxima, (1 - 2)/T - ln 2 elsewhere
            // (-inf once that overflows).
            let low = f(-1.0) / t - f(2f64.ln());
            eq(&l, &[-f(2f64.ln()), low, -f(2f64.ln())], "ties, T -> 0");
        } else {
            let s = s.unwrap_or(vec![F::ZERO; 3]);
            assert_eq!(s[0], s[2], "{name} [ties]");
        }
    }
    // [T -> 0]: logsumexp -> m/T, which overflows for a subnormal T.
    let (_, _, z) = run(&[f(2.0), f(1.0)], &Params::temperature(f(1e-3)).unwrap());
    assert_eq!(z, f(2.0 / f(1e-3).to_f64()), "{name} [T -> 0]");
    let (_, _, z) = run(&[f(2.0), f(1.0)], &Params::temperature(tiny).unwrap());
    assert_eq!(z, inf, "{name} [T -> 0]");

    // [T -> inf]: nearly uniform; beta = 0: exactly uniform.
    let big = if F::NAME == "f32" { f(1e30) } else { f(1e300) };
    let (s, _, z) = run(
        &[f(1.0), f(3.0), f(-2.0)],
        &Params::temperature(big).unwrap(),
    );
    eq(&s, &[f(1.0 / 3.0); 3], "T -> inf");
    assert!(close(z, f(3f64.ln())), "{name} [T -> inf]: {z}");
    let b0 = Params::beta(F::ZERO).unwrap();
    let (s, l, z) = run(&[f(1.0), f(100.0), f(-5.0), f(0.0)], &b0);
    eq(&s, &[f(0.25); 4], "beta = 0");
    eq(&l, &[f(-(4f64.ln())); 4], "beta = 0");
    assert_eq!(z, f(4f64.ln()), "{name} [beta = 0]");
    // beta = 0 counts entries even at +-inf; NaN still wins.
    let (s, _, z) = run(&[inf, f(1.0)], &b0);
    eq(&s, &[f(0.5); 2], "beta = 0");
    assert_eq!(z, f(2f64.ln()));
    let (_, _, z) = run(&[nan, f(1.0)], &b0);
    assert!(z.is_nan(), "{name} [beta = 0] NaN");

    // [negative beta]: favours the minimum; -inf is the top.
    let neg = Params::beta(f(-1.0)).unwrap();
    let (s, l, z) = run(&[f(0.0), -inf], &neg);
    eq(&s, &[F::ZERO, F::ONE], "negative beta");
    eq(&l, &[-inf, F::ZERO], "negative beta");
    assert_eq!(z, inf, "{name} [negative beta]");
    let (s, _, z) = run(&[f(1.0), f(2.0)], &neg);
    let (r, _, zr) = run(&[f(-1.0), f(-2.0)], &d);
    assert_eq!(s, r, "{name} [negative beta]");
    assert_eq!(z, zr, "{name} [negative beta]");
    let (s, _, z) = run(&[f(1.0), inf], &neg);
    eq(&s, &[F::ONE, F::ZERO], "negative beta: +inf is the bottom");
    assert_eq!(z, f(-1.0));

    // [subnormal outputs]
    let (x, want) = if F::NAME == "f32" {
        (f(-100.0), (-100.0f64).exp())
    } else {
        (f(-720.0), (-720.0f64).exp())
    };
    let (s, _, _) = run(&[F::ZERO, x], &d);
    if let Some(s) = s {
        assert!(s[1] > F::ZERO, "{name} [subnormal outputs] flushed");
        assert!(
            (s[1].to_f64() - want).abs() <= want * 0.02,
            "{name}: {:e}",
            s[1]
        );
    }

    // [small terms kept]
    let (_, l, z) = run(&[F::ZERO, f(-40.0)], &d);
    if let Some(l) = l {
        assert!(l[0] < F::ZERO, "{name}: {}", l[0]);
    }
    assert!(z > F::ZERO, "{name}: logsumexp([0, -40]) = {z}");
}

fn all_forms<F: Real>(tables: Vec<&'static Kernels<F>>) {
    for (name, run) in forms::<F>(tables) {
        table_rows::<F>(&name, &*run);
    }
}

#[test]
fn convention_table_every_form_f32() {
    all_forms::<f32>(available_f32());
}

#[test]
fn convention_table_every_form_f64() {
    all_forms::<f64>(available_f64());
}

/// [invalid T] [invalid beta]
#[test]
fn invalid_temperatures_are_errors() {
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0] {
        assert!(Params::temperature(t).is_err(), "T = {t}");
        assert!(Params::temperature(t as f32).is_err(), "T = {t}");
    }
    for b in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(Params::beta(b).is_err(), "beta = {b}");
        assert!(Params::beta(b as f32).is_err(), "beta = {b}");
    }
    assert!(Params::temperature(f64::MIN_POSITIVE / 1e10).is_ok());
    assert!(Params::temperature(1e-44_f32).is_ok());
}

fn masks<F: Real>() {
    let d = Params::<F>::default();
    let f = F::from_f64;
    let inf = F::INFINITY;
    // [masked entries ignored]: NaN and +inf under the mask do nothing.
    let x = [f(0.0), F::NAN, f(0.0), inf];
    let m = [true, false, true, false];
    let s = boltzmax::softmax_masked(&x, &m, &d).unwrap();
    assert_eq!(s, vec![f(0.5), F::ZERO, f(0.5), F::ZERO]);
    let l = boltzmax::log_softmax_masked(&x, &m, &d).unwrap();
    assert_eq!(l[1], -inf);
    assert_eq!(l[3], -inf);
    assert_eq!(
        boltzmax::logsumexp_masked(&x, &m, &d).unwrap(),
        f(2f64.ln())
    );
    // [fully masked]: undefined (NaN, or the Zeros policy), logsumexp -inf.
    let none = [false; 4];
    let s = boltzmax::softmax_masked(&x, &none, &d).unwrap();
    assert!(s.iter().all(|v| v.is_nan()));
    let l = boltzmax::log_softmax_masked(&x, &none, &d).unwrap();
    assert!(l.iter().all(|v| v.is_nan()));
    let zeros = d.with_undefined_rows(UndefinedRows::Zeros);
    assert_eq!(
        boltzmax::softmax_masked(&x, &none, &zeros).unwrap(),
        vec![F::ZERO; 4]
    );
    assert_eq!(
        boltzmax::log_softmax_masked(&x, &none, &zeros).unwrap(),
        vec![-inf; 4]
    );
    assert_eq!(boltzmax::logsumexp_masked(&x, &none, &d).unwrap(), -inf);
    // The same through nd, along a strided axis, with the Zeros policy.
    let a = Array2::from_shape_fn((4, 2), |(i, _)| x[i]);
    let mm = Array2::from_shape_fn((4, 2), |(i, j)| j == 0 && m[i]);
    let s = nd::softmax_masked(a.view(), mm.view(), 0, &zeros, Par::Seq).unwrap();
    assert_eq!(s.column(0).to_vec(), vec![f(0.5), F::ZERO, f(0.5), F::ZERO]);
    assert_eq!(s.column(1).to_vec(), vec![F::ZERO; 4]);
    let z = nd::logsumexp_masked(a.view(), mm.view(), 0, &d, Par::Seq).unwrap();
    assert_eq!(z.to_vec(), vec![f(2f64.ln()), -inf]);
    // [mask length]: an error naming the mask.
    assert!(boltzmax::softmax_masked(&x, &m[..3], &d).is_err());
}

#[test]
fn masks_f32() {
    masks::<f32>();
}

#[test]
fn masks_f64() {
    masks::<f64>();
}

fn weights<F: Real>() {
    let d = Params::<F>::default();
    let f = F::from_f64;
    let inf = F::INFINITY;
    let w = |x: &[F], b: &[F]| {
        let r = boltzmax::logsumexp_weighted(x, b, &d).unwrap();
        let a = Array2::from_shape_fn((x.len(), 1), |(i, _)| x[i]);
        let bb = Array2::from_shape_fn((x.len(), 1), |(i, _)| b[i]);
        let n = nd::logsumexp_weighted(a.view(), bb.view(), 0, &d, Par::Seq).unwrap();
        assert!(same(n.log_abs[0], r.log_abs) && same(n.sign[0], r.sign));
        (r.log_abs, r.sign)
    };
    // [weights b = 0 ignored] whatever x holds.
    assert_eq!(
        w(&[f(0.0), F::NAN, inf], &[f(1.0), F::ZERO, F::ZERO]),
        (F::ZERO, F::ONE)
    );
    // [negative sum]: sign -1.
    assert_eq!(w(&[f(0.0), f(0.0)], &[f(1.0), f(-2.0)]), (F::ZERO, -F::ONE));
    // [zero sum]: (-inf, 0); empty and all b = 0 too.
    assert_eq!(w(&[f(1.0), f(1.0)], &[f(1.0), f(-1.0)]), (-inf, F::ZERO));
    assert_eq!(w(&[], &[]), (-inf, F::ZERO));
    assert_eq!(w(&[f(5.0)], &[F::ZERO]), (-inf, F::ZERO));
    // [+inf with weights]: +inf with the weights' sign; cancelling: NaN.
    assert_eq!(w(&[inf, f(1.0)], &[f(-3.0), f(1.0)]), (inf, -F::ONE));
    let (a, s) = w(&[inf, inf], &[f(1.0), f(-1.0)]);
    assert!(a.is_nan() && s.is_nan());
    // [NaN in kept x or b]: NaN, NaN.
    let (a, s) = w(&[F::NAN, f(1.0)], &[f(1.0), f(1.0)]);
    assert!(a.is_nan() && s.is_nan());
    let (a, s) = w(&[f(0.0), f(1.0)], &[F::NAN, f(1.0)]);
    assert!(a.is_nan() && s.is_nan());
    // Weights scale: ln(2 e^0 + 3 e^0) = ln 5.
    let (a, s) = w(&[f(0.0), f(0.0)], &[f(2.0), f(3.0)]);
    assert!((a.to_f64() - 5f64.ln()).abs() < 4.0 * F::EPSILON.to_f64());
    assert_eq!(s, F::ONE);
    // [weights length]
    assert!(boltzmax::logsumexp_weighted(&[f(0.0)], &[], &d).is_err());
}

#[test]
fn weights_f32() {
    weights::<f32>();
}

#[test]
fn weights_f64() {
    weights::<f64>();
}

fn stream_rows<F: Real>() {
    let f = F::from_f64;
    let inf = F::INFINITY;
    // [empty] [all -inf] [one +inf] [NaN] through merges of empty parts.
    let mut a = LogSumExp::<F>::new();
    assert_eq!(a.value(), -inf);
    a.merge(&LogSumExp::new()).unwrap();
    assert_eq!(a.value(), -inf);
    a.push(-inf);
    a.push_slice(&[-inf, -inf]);
    assert_eq!(a.value(), -inf);
    a.push(f(0.0));
    assert_eq!(a.value(), F::ZERO);
    let mut b = LogSumExp::new();
    b.push(inf);
    a.merge(&b).unwrap();
    assert_eq!(a.value(), inf);
    let mut c = LogSumExp::new();
    c.push_slice(&[f(1.0), F::NAN]);
    a.merge(&c).unwrap();
    assert!(a.value().is_nan());
    // [beta = 0]: ln n, n counted across merges.
    let b0 = Params::beta(F::ZERO).unwrap();
    let mut u = LogSumExp::with_params(&b0);
    u.push_slice(&[f(1.0), f(7.0)]);
    let mut v = LogSumExp::with_params(&b0);
    v.push(f(-3.0));
    u.merge(&v).unwrap();
    assert_eq!(u.value(), f(3f64.ln()));
    // [negative beta]: -inf is the top, +inf the bottom.
    let neg = Params::beta(f(-1.0)).unwrap();
    let mut n = LogSumExp::with_params(&neg);
    n.push(inf);
    assert_eq!(n.value(), -inf);
    n.push(f(2.0));
    assert_eq!(n.value(), f(-2.0));
    n.push(-inf);
    assert_eq!(n.value(), inf);
    // [T -> 0]: ties and the shift.
    let mut t = LogSumExp::with_params(&Params::temperature(f(1e-3)).unwrap());
    t.push_slice(&[f(2.0), f(1.0)]);
    assert_eq!(t.value(), f(2.0 / f(1e-3).to_f64()));
}

#[test]
fn stream_rows_f32() {
    stream_rows::<f32>();
}

#[test]
fn stream_rows_f64() {
    stream_rows::<f64>();
}
