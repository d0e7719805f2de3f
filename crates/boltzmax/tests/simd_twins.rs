//! Every SIMD table against its scalar twin, kernel by kernel, on random
//! rows whose lengths straddle every vector width and block boundary.
//!
//! Tolerances, derived from the exp bound (`E = 2` ulp, measured < 1.06 in
//! `simd_exp.rs`) with `eps` the element type's machine epsilon and
//! `u = eps / 2` (relative bounds, valid across binades):
//!
//! - `max`, `min`, `log_store`: identical (both form `z` with the same
//!   operations; `z - c` rounds once either way).
//! - `exp_store`: the SIMD value is `exp(z)` (within `E` ulp, i.e.
//!   `E eps` relative) times the reciprocal `1/denom` rounded to the
//!   element type (`u`), rounded (`u`); the scalar one is libm's exp
//!   (< 1 ulp) divided in f64 and rounded (`u`). Difference at most
//!   `(E + 1 + 1.5) eps` relative, plus 2 units of the smallest subnormal
//!   (the two exps' absolute errors there).
//! - `exp_sum`: ties identical; the sums, of positive terms, differ by at
//!   most `(E + 1) eps` (the exps) plus the summation errors: the SIMD
//!   lanes add at most `BLOCK / (2 LANES) <= 128` terms in the element
//!   type, then blocks in f64; the scalar sum adds `n` terms in f64.
//! - whole functions: the sum's error moves `1 + s` and `log1p(s)` by at
//!   most the same relative amount, on top of the store bounds.

use boltzmax::kernel::{Kernels, Scaling, available_f32, available_f64, scalar};
use boltzmax::softmax::{log_softmax_into_using, logsumexp_using, softmax_into_using};
use boltzmax::{Params, Real};
use proptest::prelude::*;

const E_ULP: f64 = 2.0;

fn simd_tables<F: Real>(all: Vec<&'static Kernels<F>>) -> Vec<&'static Kernels<F>> {
    all.into_iter().filter(|k| k.name != "scalar").collect()
}

fn eps<F: Real>() -> f64 {
    F::EPSILON.to_f64()
}

fn tiny<F: Real>() -> f64 {
    // The smallest subnormal.
    if F::NAME == "f32" {
        2f64.powi(-149)
    } else {
        2f64.powi(-1074)
    }
}

fn same<F: Real>(a: F, b: F) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![
        0..=65usize,
        127..=129usize,
        255..=257usize,
        1023..=1025usize,
        Just(1000usize),
        Just(2048usize),
        Just(4097usize),
    ]
}

/// A raw entry: a finite value of magnitude up to `spread`, or (rarely)
/// +-inf or NaN.
#[derive(Debug, Clone, Copy)]
enum Entry {
    Finite(f64),
    NegInf,
    PosInf,
    Nan,
}

fn entries(n: usize) -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec(
        prop_oneof![
            90 => (-1.0f64..1.0).prop_map(Entry::Finite),
            6 => Just(Entry::NegInf),
            2 => Just(Entry::PosInf),
            2 => Just(Entry::Nan),
        ],
        n,
    )
}

/// Spreads from 1e-6 to 1e38 (f32 rows overflow `x - m` near the top).
fn spreads() -> impl Strategy<Value = f64> {
    (-6.0f64..38.0).prop_map(|e| 10f64.powf(e))
}

#[derive(Debug, Clone, Copy)]
enum Sc {
    One,
    Div(f64),
    Mul(f64),
}

fn scalings() -> impl Strategy<Value = Sc> {
    prop_oneof![
        Just(Sc::One),
        (-3.0f64..3.0).prop_map(|e| Sc::Div(10f64.powf(e))),
        (-3.0f64..3.0).prop_map(|e| Sc::Mul(10f64.powf(e))),
        (-3.0f64..3.0).prop_map(|e| Sc::Mul(-(10f64.powf(e)))),
    ]
}

fn to_scaling<F: Real>(s: Sc) -> Scaling<F> {
    match s {
        Sc::One => Scaling::One,
        Sc::Div(t) => Scaling::Div(F::from_f64(t)),
        Sc::Mul(b) => Scaling::Mul(F::from_f64(b)),
    }
}

fn params<F: Real>(s: Sc) -> Params<F> {
    match s {
        Sc::One => Params::default(),
        Sc::Div(t) => Params::temperature(F::from_f64(t)).unwrap(),
        Sc::Mul(b) => Params::beta(F::from_f64(b)).unwrap(),
    }
}

/// The row, with infinities kept only at the bottom of the scaled range
/// (`regular`) or as drawn.
fn row<F: Real>(e: &[Entry], spread: f64, by_min: bool, regular: bool) -> Vec<F> {
    let bottom = if by_min { F::INFINITY } else { F::NEG_INFINITY };
    e.iter()
        .map(|&v| match v {
            Entry::Finite(u) => F::from_f64(u * spread),
            _ if regular => bottom,
            Entry::NegInf => F::NEG_INFINITY,
            Entry::PosInf => F::INFINITY,
            Entry::Nan => F::NAN,
        })
        .collect()
}

/// Relative summation bound for `exp_sum` with `n` terms in table `k`.
fn sum_rel<F: Real>(k: &Kernels<F>, n: usize) -> f64 {
    let lanes = match (k.name, F::NAME) {
        ("avx512", "f32") => 16,
        ("avx512", _) => 8,
        ("avx2", "f32") => 8,
        _ => 4,
    };
    let u = eps::<F>() / 2.0;
    let u64 = f64::EPSILON / 2.0;
    let in_block = (1024 / (2 * lanes)) as f64;
    (E_ULP + 1.0) * eps::<F>() + in_block * u + (n as f64 / 1024.0 + 2.0) * u64 + n as f64 * u64
}

fn check_tables<F: Real>(
    tables: Vec<&'static Kernels<F>>,
    e: &[Entry],
    spread: f64,
    sc: Sc,
) -> Result<(), TestCaseError> {
    let s = scalar_table::<F>();
    let scaling = to_scaling::<F>(sc);
    let by_min = scaling.shifts_by_min();
    let raw = row::<F>(e, spread, by_min, false);
    let reg = row::<F>(e, spread, by_min, true);
    let n = raw.len();
    for k in simd_tables(tables) {
        let name = k.name;
        // max / min: identical, NaN included.
        for x in [&raw, &reg] {
            prop_assert!(same((k.max)(x), (s.max)(x)), "{name} max");
            prop_assert!(same((k.min)(x), (s.min)(x)), "{name} min");
        }
        // The regular row's kernels.
        let m = if by_min { (s.min)(&reg) } else { (s.max)(&reg) };
        if n > 0 && m.is_finite() {
            let a = (k.exp_sum)(&reg, m, scaling);
            let b = (s.exp_sum)(&reg, m, scaling);
            prop_assert_eq!(a.ties, b.ties, "{} ties", name);
            prop_assert!(a.ties >= 1, "{name}: the shift is a maximum");
            let tol = sum_rel(k, n) * b.sum + n as f64 * 2.0 * tiny::<F>();
            prop_assert!(
                (a.sum - b.sum).abs() <= tol,
                "{name} exp_sum {} vs {} (tol {tol})",
                a.sum,
                b.sum
            );
            let denom = 1.0 + b.rest();
            let mut o1 = vec![F::ZERO; n];
            let mut o2 = vec![F::ZERO; n];
            (k.exp_store)(&mut o1, &reg, m, scaling, denom);
            (s.exp_store)(&mut o2, &reg, m, scaling, denom);
            let mut o3 = reg.clone();
            (k.exp_store_in_place)(&mut o3, m, scaling, denom);
            for i in 0..n {
                let (p, q) = (o1[i].to_f64(), o2[i].to_f64());
                let tol = (E_ULP + 2.5) * eps::<F>() * q.abs() + 2.0 * tiny::<F>();
                prop_assert!((p - q).abs() <= tol, "{name} exp_store[{i}] {p} vs {q}");
                prop_assert!(same(o1[i], o3[i]), "{name} exp_store_in_place[{i}]");
            }
            let c = F::from_f64(b.rest().ln_1p());
            (k.log_store)(&mut o1, &reg, m, scaling, c);
            (s.log_store)(&mut o2, &reg, m, scaling, c);
            let mut o3 = reg.clone();
            (k.log_store_in_place)(&mut o3, m, scaling, c);
            for i in 0..n {
                prop_assert!(
                    same(o1[i], o2[i]),
                    "{name} log_store[{i}] {} vs {}",
                    o1[i],
                    o2[i]
                );
                prop_assert!(same(o1[i], o3[i]), "{name} log_store_in_place[{i}]");
            }
        }
        // Whole functions, edge cases included, on both rows.
        let p = params::<F>(sc);
        for x in [&raw, &reg] {
            let mut a = vec![F::ZERO; n];
            let mut b = vec![F::ZERO; n];
            let rel = sum_rel(k, n);
            softmax_into_using(k, &mut a, x, &p).unwrap();
            softmax_into_using(s, &mut b, x, &p).unwrap();
            for i in 0..n {
                let (u, v) = (a[i].to_f64(), b[i].to_f64());
                let tol = ((E_ULP + 2.5) * eps::<F>() + 2.0 * rel) * v.abs() + 2.0 * tiny::<F>();
                prop_assert!(
                    same(a[i], b[i]) || (u - v).abs() <= tol,
                    "{name} softmax[{i}] {u} vs {v}"
                );
            }
            log_softmax_into_using(k, &mut a, x, &p).unwrap();
            log_softmax_into_using(s, &mut b, x, &p).unwrap();
            for i in 0..n {
                let (u, v) = (a[i].to_f64(), b[i].to_f64());
                let tol = 2.0 * rel + 2.0 * eps::<F>() * (v.abs() + (n as f64).ln() + 1.0);
                prop_assert!(
                    same(a[i], b[i]) || (u - v).abs() <= tol,
                    "{name} log_softmax[{i}] {u} vs {v}"
                );
            }
            let (u, v) = (logsumexp_using(k, x, &p), logsumexp_using(s, x, &p));
            let tol = 2.0 * rel + 2.0 * eps::<F>() * v.to_f64().abs();
            prop_assert!(
                same(u, v) || (u.to_f64() - v.to_f64()).abs() <= tol,
                "{name} logsumexp {u} vs {v}"
            );
        }
    }
    Ok(())
}

fn scalar_table<F: Real>() -> &'static Kernels<F> {
    let k: &dyn std::any::Any = if F::NAME == "f32" {
        &scalar::F32
    } else {
        &scalar::F64
    };
    k.downcast_ref::<Kernels<F>>().expect("F is f32 or f64")
}

fn case() -> impl Strategy<Value = (Vec<Entry>, f64, Sc)> {
    (lengths(), spreads(), scalings()).prop_flat_map(|(n, s, sc)| (entries(n), Just(s), Just(sc)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn f32_tables_match_scalar((e, spread, sc) in case()) {
        check_tables::<f32>(available_f32(), &e, spread, sc)?;
    }

    #[test]
    fn f64_tables_match_scalar((e, spread, sc) in case()) {
        check_tables::<f64>(available_f64(), &e, spread, sc)?;
    }
}

#[test]
fn nan_anywhere_makes_max_and_min_nan() {
    fn check<F: Real>(tables: Vec<&'static Kernels<F>>) {
        for k in tables {
            for n in 1..=70 {
                for at in 0..n {
                    let mut x: Vec<F> = (0..n).map(|i| F::from_f64(i as f64)).collect();
                    x[at] = F::NAN;
                    assert!((k.max)(&x).is_nan(), "{} max n={n} at={at}", k.name);
                    assert!((k.min)(&x).is_nan(), "{} min n={n} at={at}", k.name);
                }
            }
        }
    }
    check::<f32>(available_f32());
    check::<f64>(available_f64());
}

#[test]
fn long_f32_row_sum_does_not_degrade() {
    // 2^20 entries: 16 f32 lanes alone lose ~5e-5 here; blocks summed in
    // f64 keep the error at the in-block bound.
    let n = 1 << 20;
    let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32) * -0.01).collect();
    let s = &scalar::F32;
    let m = (s.max)(&x);
    let b = (s.exp_sum)(&x, m, Scaling::One);
    for k in simd_tables(available_f32()) {
        let a = (k.exp_sum)(&x, m, Scaling::One);
        let rel = (a.sum - b.sum).abs() / b.sum;
        assert!(rel <= sum_rel(k, n), "{}: relative error {rel:e}", k.name);
        assert!(rel < 1e-6, "{}: relative error {rel:e}", k.name);
    }
}
