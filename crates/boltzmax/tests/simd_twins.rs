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
//! - `max_exp_sum` (one pass): the same maximum; `1 + s` within the
//!   `exp_sum` bound plus `2 u sum_i e^{z_i} |z_i|`: an entry's exp is
//!   taken relative to the running maximum (`z'_i`, rounded in the element
//!   type) and moved to the final one by f64 factors, and the rounding of
//!   `z'_i` and of the factors' arguments together is at most
//!   `u (|z'_i| + |z_i - z'_i|) <= 2 u |z_i|` relative.
//! - whole functions: the sum's error moves `1 + s` and `log1p(s)` by at
//!   most the same relative amount, on top of the store bounds.

use boltzmax::kernel::{
    BLOCK, FUSED_MIN_BYTES, Kernels, Scaling, available_f32, available_f64, scalar,
};
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
        // Past FUSED_MIN_BYTES in both types: the driver's single pass.
        Just(20_000usize),
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

/// `2 u sum_i e^{z_i} |z_i| / (1 + s)`: the one-pass sum's extra
/// relative error (module docs), for rows the driver sends through it.
fn fused_extra<F: Real>(x: &[F], scaling: Scaling<F>) -> f64 {
    if std::mem::size_of_val(x) < FUSED_MIN_BYTES || scaling.shifts_by_min() {
        return 0.0;
    }
    let m = (scalar::max::<F>)(x);
    if !m.is_finite() {
        return 0.0;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for &v in x {
        let z = scaling.apply(v, m).to_f64();
        if z.is_finite() {
            let e = z.exp();
            num += e * z.abs();
            den += e;
        }
    }
    eps::<F>() * num / den.max(1.0)
}

/// Extra relative error of one softmax output on the one-pass path
/// (rows of more than one block): an entry of an earlier block has its
/// exp taken of `scale(x_i - m_b)`, `m_b` the running maximum then, and
/// is multiplied by `exp(scale(m_b - m))` afterwards, so its argument is
/// rounded differently from the scalar table's `scale(x_i - m)`: each
/// rounding is within `2u|z_i|` (docs/accuracy.md, step 1), the two
/// together `4u|z_i|` = `2 eps |z_i|`.
fn one_pass_extra<F: Real>(x: &[F], scaling: Scaling<F>) -> Vec<f64> {
    let none = vec![0.0; x.len()];
    if x.len() <= boltzmax::kernel::BLOCK || scaling.shifts_by_min() {
        return none;
    }
    let m = (scalar::max::<F>)(x);
    if !m.is_finite() {
        return none;
    }
    x.iter()
        .map(|&v| {
            let z = scaling.apply(v, m).to_f64();
            if z.is_finite() {
                2.0 * eps::<F>() * z.abs()
            } else {
                0.0
            }
        })
        .collect()
}

/// Extra absolute error of one log-softmax output on the one-pass path
/// (rows of at least [`FUSED_MIN_BYTES`]): an entry of an earlier block
/// is stored as `z'_i = scale(x_i - m_b)` and then has `d_b = scale(m -
/// m_b) + c` subtracted, where the scalar table subtracts `c` from
/// `scale(x_i - m)`. The two `z` differ in rounding by at most `4u|z_i|`
/// (as in [`one_pass_extra`]; `|z'_i| <= |z_i|`), and `d_b`, at most
/// `|z_i| + c` (the block's entries lie below `m_b`), adds one rounding:
/// `2 eps |z_i| + u (|z_i| + ln n)` in all (`c = log1p(s) <= ln n`).
fn log_one_pass_extra<F: Real>(x: &[F], scaling: Scaling<F>) -> Vec<f64> {
    let none = vec![0.0; x.len()];
    if std::mem::size_of_val(x) < FUSED_MIN_BYTES || scaling.shifts_by_min() {
        return none;
    }
    let m = (scalar::max::<F>)(x);
    if !m.is_finite() {
        return none;
    }
    let ln_n = (x.len() as f64).ln();
    x.iter()
        .map(|&v| {
            let z = scaling.apply(v, m).to_f64().abs();
            if z.is_finite() {
                2.0 * eps::<F>() * z + eps::<F>() / 2.0 * (z + ln_n)
            } else {
                0.0
            }
        })
        .collect()
}

/// Relative summation bound for `exp_sum` with `n` terms in table `k`.
fn sum_rel<F: Real>(k: &Kernels<F>, n: usize) -> f64 {
    let lanes = match (k.name, F::NAME) {
        ("avx512", "f32") => 16,
        ("avx512", _) => 8,
        ("avx2", "f32") => 8,
        ("neon", "f32") => 4,
        ("neon", _) => 2,
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
            if !by_min {
                let f = (k.max_exp_sum)(x, scaling);
                let g = (s.max_exp_sum)(x, scaling);
                prop_assert_eq!(f.is_some(), g.is_some(), "{} max_exp_sum regularity", name);
            }
            prop_assert!(same((k.min)(x), (s.min)(x)), "{name} min");
            // max_scale: the max, and bitwise the table's own scale, on
            // rows of equal and of different lengths.
            for cut in [0, n / 3, n] {
                let mut o1: Vec<F> = reg[..cut].to_vec();
                let mut o2 = o1.clone();
                let mx = (k.max_scale)(x, &mut o1, 3.0);
                (k.scale)(&mut o2, 3.0);
                prop_assert!(same(mx, (s.max)(x)), "{name} max_scale max");
                for i in 0..cut {
                    prop_assert!(same(o1[i], o2[i]), "{name} max_scale[{i}]");
                }
                let mut o3 = x.to_vec();
                let mx = (k.max_scale)(&x[..cut], &mut o3, 3.0);
                prop_assert!(
                    same(mx, (s.max)(&x[..cut])),
                    "{name} max_scale max (short x)"
                );
            }
        }
        // The regular row's kernels.
        let m = if by_min { (s.min)(&reg) } else { (s.max)(&reg) };
        if n > 0 && m.is_finite() {
            let a = (k.exp_sum)(&reg, m, scaling);
            let b = (s.exp_sum)(&reg, m, scaling);
            // The SIMD tables leave out the maxima of the first register
            // holding one and add later maxima as 1 each (see `ExpSum`):
            // the sum beside the maxima left out, `rest`, is the quantity
            // compared; with a single maximum the sums are compared as
            // they stand.
            prop_assert!(a.ties >= 1, "{name}: the shift is a maximum");
            prop_assert!(a.ties <= b.ties, "{name}: only maxima left out");
            let tol = sum_rel(k, n) * b.rest() + n as f64 * 2.0 * tiny::<F>();
            prop_assert!(
                (a.rest() - b.rest()).abs() <= tol,
                "{name} exp_sum rest {} vs {} (tol {tol})",
                a.rest(),
                b.rest()
            );
            if b.ties == 1 {
                prop_assert_eq!(a.ties, 1, "{} ties", name);
            }
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
            if !by_min {
                let f = (k.max_exp_sum)(&reg, scaling);
                let g = (s.max_exp_sum)(&reg, scaling);
                let ((fm, fe), (gm, ge)) = (f.unwrap(), g.unwrap());
                prop_assert!(same(fm, gm) && same(gm, m), "{name} max_exp_sum max");
                let z2 = {
                    let mut t = 0.0;
                    for &v in &reg {
                        let z = scaling.apply(v, m).to_f64();
                        if z.is_finite() {
                            t += z.exp() * z.abs();
                        }
                    }
                    t
                };
                let tol = sum_rel(k, n) * (1.0 + ge.rest())
                    + eps::<F>() * z2
                    + n as f64 * 2.0 * tiny::<F>();
                prop_assert!(
                    (fe.rest() - ge.rest()).abs() <= tol,
                    "{name} max_exp_sum {} vs {} (tol {tol})",
                    fe.rest(),
                    ge.rest()
                );
            }
            // exp_sum_store: the same sums as exp_sum, bit for bit; the exps
            // as exp_store's before the division; then scale.
            let mut o1 = vec![F::ZERO; n];
            let mut o2 = vec![F::ZERO; n];
            let mut o3 = reg.clone();
            let e1 = (k.exp_sum_store)(&mut o1, &reg, m, scaling);
            let e2 = (s.exp_sum_store)(&mut o2, &reg, m, scaling);
            let e3 = (k.exp_sum_store_in_place)(&mut o3, m, scaling);
            prop_assert_eq!(e1, a, "{} exp_sum_store sums", name);
            prop_assert_eq!(e3, a, "{} exp_sum_store_in_place sums", name);
            prop_assert_eq!(e2, b, "scalar exp_sum_store sums");
            for i in 0..n {
                let (p, q) = (o1[i].to_f64(), o2[i].to_f64());
                let tol = (E_ULP + 1.0) * eps::<F>() * q.abs() + 2.0 * tiny::<F>();
                prop_assert!((p - q).abs() <= tol, "{name} exp_sum_store[{i}] {p} vs {q}");
                prop_assert!(same(o1[i], o3[i]), "{name} exp_sum_store_in_place[{i}]");
            }
            let mut o3 = o2.clone();
            (k.scale)(&mut o3, denom);
            (s.scale)(&mut o2, denom);
            for i in 0..n {
                let (p, q) = (o3[i].to_f64(), o2[i].to_f64());
                let tol = 1.5 * eps::<F>() * q.abs() + tiny::<F>();
                prop_assert!((p - q).abs() <= tol, "{name} scale[{i}] {p} vs {q}");
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
            // max_z_sum_store: the maximum and sums of max_exp_sum bit for
            // bit; each block holds z relative to its recorded shift (as
            // the scalar table forms it); shift_blocks is the scalar
            // table's bit for bit, and log_store's where the shift is m.
            if !by_min {
                let blocks = n.div_ceil(BLOCK);
                let mut shifts = vec![F::ZERO; blocks];
                let mut oz = vec![F::ZERO; n];
                let g = (k.max_z_sum_store)(&mut oz, &reg, scaling, &mut shifts);
                prop_assert_eq!(
                    g,
                    (k.max_exp_sum)(&reg, scaling),
                    "{} max_z_sum_store",
                    name
                );
                for (i, (&v, &xi)) in oz.iter().zip(&reg).enumerate() {
                    let sh = shifts[i / BLOCK];
                    let want = if sh == F::NEG_INFINITY {
                        F::NEG_INFINITY
                    } else {
                        scaling.apply(xi, sh)
                    };
                    prop_assert!(same(v, want), "{name} max_z_sum_store[{i}] {v} vs {want}");
                }
                let mut o5 = oz.clone();
                let mut o6 = oz.clone();
                (k.shift_blocks)(&mut o5, &shifts, m, scaling, c);
                (s.shift_blocks)(&mut o6, &shifts, m, scaling, c);
                for i in 0..n {
                    prop_assert!(same(o5[i], o6[i]), "{name} shift_blocks[{i}]");
                    if shifts[i / BLOCK] == m {
                        prop_assert!(same(o5[i], o1[i]), "{name} shift_blocks[{i}] vs log_store");
                    }
                }
            }
            // max_log_store: bitwise log_store, and the max of the other row.
            for next in [&raw, &reg] {
                let mut o4 = vec![F::ZERO; n];
                let mx = (k.max_log_store)(next, &mut o4, &reg, m, scaling, c);
                prop_assert!(same(mx, (s.max)(next)), "{name} max_log_store max");
                for i in 0..n {
                    prop_assert!(same(o4[i], o1[i]), "{name} max_log_store[{i}]");
                }
            }
        }
        // Whole functions, edge cases included, on both rows.
        let p = params::<F>(sc);
        for x in [&raw, &reg] {
            let mut a = vec![F::ZERO; n];
            let mut b = vec![F::ZERO; n];
            let rel = sum_rel(k, n) + fused_extra(x, scaling);
            softmax_into_using(k, &mut a, x, &p).unwrap();
            softmax_into_using(s, &mut b, x, &p).unwrap();
            let extras = one_pass_extra(x, scaling);
            for i in 0..n {
                let (u, v) = (a[i].to_f64(), b[i].to_f64());
                let extra = extras[i];
                let tol =
                    ((E_ULP + 2.5) * eps::<F>() + 2.0 * rel + extra) * v.abs() + 2.0 * tiny::<F>();
                prop_assert!(
                    same(a[i], b[i]) || (u - v).abs() <= tol,
                    "{name} softmax[{i}] {u} vs {v}"
                );
            }
            log_softmax_into_using(k, &mut a, x, &p).unwrap();
            log_softmax_into_using(s, &mut b, x, &p).unwrap();
            let extras = log_one_pass_extra(x, scaling);
            for i in 0..n {
                let (u, v) = (a[i].to_f64(), b[i].to_f64());
                let tol =
                    2.0 * rel + 2.0 * eps::<F>() * (v.abs() + (n as f64).ln() + 1.0) + extras[i];
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
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn f32_tables_match_scalar((e, spread, sc) in case()) {
        check_tables::<f32>(available_f32(), &e, spread, sc)?;
    }

    #[test]
    fn f64_tables_match_scalar((e, spread, sc) in case()) {
        check_tables::<f64>(available_f64(), &e, spread, sc)?;
    }
}

/// `detected_*` is the table `BOLTZMAX_KERNEL` names when this CPU has
/// it, else the best one; scalar comes last; on aarch64 NEON is always
/// there, first. (Run with `BOLTZMAX_KERNEL=scalar`, `neon`, ... to check
/// the forcing.)
#[test]
fn detected_is_forced_or_best() {
    fn check<F: Real>(all: Vec<&'static Kernels<F>>, detected: &'static Kernels<F>) {
        let forced = std::env::var("BOLTZMAX_KERNEL").ok();
        let want = forced
            .as_deref()
            .and_then(|n| all.iter().find(|k| k.name == n))
            .unwrap_or(&all[0]);
        assert_eq!(detected.name, want.name);
        assert_eq!(all.last().map(|k| k.name), Some("scalar"));
        if cfg!(all(target_arch = "aarch64", target_feature = "neon")) {
            assert_eq!(all[0].name, "neon");
        }
    }
    check::<f32>(available_f32(), boltzmax::kernel::detected_f32());
    check::<f64>(available_f64(), boltzmax::kernel::detected_f64());
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
        // 1049 maxima: compared as `rest` (see `ExpSum`).
        let rel = (a.rest() - b.rest()).abs() / b.rest();
        assert!(rel <= sum_rel(k, n), "{}: relative error {rel:e}", k.name);
        assert!(rel < 1e-6, "{}: relative error {rel:e}", k.name);
    }
}

/// Long rows (the driver's one-pass path) on every convention-table
/// case, and the one pass's worst case: a maximum that grows in every
/// block.
#[test]
fn long_rows_one_pass_conventions() {
    fn check<F: Real>(tables: Vec<&'static Kernels<F>>) {
        let n = 40_000;
        let f = F::from_f64;
        let base: Vec<F> = (0..n)
            .map(|i| f(((i * 7919) % 1000) as f64 * 0.01))
            .collect();
        let ramp: Vec<F> = (0..n).map(|i| f(i as f64 * 1e-3)).collect();
        let mut one_inf = base.clone();
        one_inf[37_000] = F::INFINITY;
        let mut two_inf = one_inf.clone();
        two_inf[3] = F::INFINITY;
        let mut nan = base.clone();
        nan[n - 1] = F::NAN;
        let all_neg = vec![F::NEG_INFINITY; n];
        let mut lone = all_neg.clone();
        lone[25_000] = f(-3.0);
        let p = (Params::<F>::default(), Scaling::One);
        let t = (Params::temperature(f(0.3)).unwrap(), Scaling::Div(f(0.3)));
        let s = scalar_table::<F>();
        for k in tables {
            for (x, (params, scaling)) in [
                (&base, p),
                (&ramp, p),
                (&ramp, t),
                (&one_inf, p),
                (&two_inf, p),
                (&nan, p),
                (&all_neg, p),
                (&lone, p),
            ] {
                let mut a = vec![F::ZERO; n];
                let mut b = vec![F::ZERO; n];
                softmax_into_using(k, &mut a, x, &params).unwrap();
                softmax_into_using(s, &mut b, x, &params).unwrap();
                let rel = sum_rel(k, n) + fused_extra(x, scaling);
                let extras = one_pass_extra(x, scaling);
                for i in 0..n {
                    let (u, v) = (a[i].to_f64(), b[i].to_f64());
                    let extra = extras[i];
                    let tol = ((E_ULP + 2.5) * eps::<F>() + 2.0 * rel + extra) * v.abs()
                        + 2.0 * tiny::<F>();
                    assert!(
                        same(a[i], b[i]) || (u - v).abs() <= tol,
                        "{} softmax[{i}] {u} vs {v}",
                        k.name
                    );
                }
                let (u, v) = (
                    logsumexp_using(k, x, &params),
                    logsumexp_using(s, x, &params),
                );
                let tol = 2.0 * rel + 2.0 * eps::<F>() * v.to_f64().abs();
                assert!(
                    same(u, v) || (u.to_f64() - v.to_f64()).abs() <= tol,
                    "{} lse {u} vs {v}",
                    k.name
                );
            }
            let p = p.0;
            let mut a = vec![F::ZERO; n];
            softmax_into_using(k, &mut a, &one_inf, &p).unwrap();
            assert_eq!(a[37_000], F::ONE);
            assert_eq!(a.iter().filter(|v| **v == F::ZERO).count(), n - 1);
            softmax_into_using(k, &mut a, &lone, &p).unwrap();
            assert_eq!(a[25_000], F::ONE);
            for x in [&two_inf, &nan, &all_neg] {
                softmax_into_using(k, &mut a, x, &p).unwrap();
                assert!(a.iter().all(|v| v.is_nan()), "{}", k.name);
            }
        }
    }
    check::<f32>(available_f32());
    check::<f64>(available_f64());
}

/// The in-place forms give the out-of-place answers bit for bit, on every
/// path of the driver (short rows, one-pass long rows, edge cases).
#[test]
fn in_place_matches_out_of_place() {
    fn check<F: Real>() {
        let f = F::from_f64;
        for n in [0usize, 1, 17, 1000, 70_000] {
            let mut rows: Vec<Vec<F>> = vec![
                (0..n)
                    .map(|i| f(((i * 31) % 97) as f64 * 0.3 - 10.0))
                    .collect(),
            ];
            if n > 0 {
                let mut r = rows[0].clone();
                r[n / 2] = F::INFINITY;
                rows.push(r);
                let mut r = rows[0].clone();
                r[n - 1] = F::NAN;
                rows.push(r);
            }
            for x in rows {
                for p in [
                    Params::<F>::default(),
                    Params::temperature(f(0.7)).unwrap(),
                    Params::beta(f(-1.5)).unwrap(),
                ] {
                    let mut a = vec![F::ZERO; n];
                    boltzmax::softmax_into(&mut a, &x, &p).unwrap();
                    let mut b = x.clone();
                    boltzmax::softmax_in_place(&mut b, &p);
                    assert!(a.iter().zip(&b).all(|(u, v)| same(*u, *v)), "softmax n={n}");
                    boltzmax::log_softmax_into(&mut a, &x, &p).unwrap();
                    let mut b = x.clone();
                    boltzmax::log_softmax_in_place(&mut b, &p);
                    assert!(
                        a.iter().zip(&b).all(|(u, v)| same(*u, *v)),
                        "log_softmax n={n}"
                    );
                }
            }
        }
    }
    check::<f32>();
    check::<f64>();
}

/// The one-pass softmax scales an earlier block by `exp(scale(m_b - m)) /
/// (1 + s)`: a block 735 below the maximum (f64) has that factor near the
/// bottom of the subnormals, where `denom / factor` would overflow and
/// zero the block. Its probabilities (about 2e-322) must survive.
#[test]
fn one_pass_block_far_below_the_maximum() {
    let n = 2 * boltzmax::kernel::BLOCK;
    let mut x = vec![-735.0f64; n];
    for (i, v) in x.iter_mut().enumerate().skip(boltzmax::kernel::BLOCK) {
        *v = -((i % 7) as f64);
    }
    let p = Params::<f64>::default();
    let s = scalar_table::<f64>();
    let mut b = vec![0.0; n];
    softmax_into_using(s, &mut b, &x, &p).unwrap();
    assert!(
        b[0] > 0.0,
        "the reference keeps the subnormal probabilities"
    );
    for k in simd_tables(available_f64()) {
        let mut a = vec![0.0; n];
        softmax_into_using(k, &mut a, &x, &p).unwrap();
        for i in 0..n {
            let tol = 1e-6 * b[i] + 4.0 * f64::from_bits(1);
            assert!(
                (a[i] - b[i]).abs() <= tol,
                "{} softmax[{i}] {} vs {}",
                k.name,
                a[i],
                b[i]
            );
        }
    }
}
