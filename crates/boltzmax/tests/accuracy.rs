//! Accuracy of softmax, log-softmax and logsumexp on every kernel table,
//! against a double-double reference, with the per-element bound derived
//! in `docs/accuracy.md`.
//!
//! `cargo test --release --test accuracy -- --nocapture` prints the worst
//! errors seen (in ulp, and as a fraction of the bound) per function,
//! precision and table.

mod dd;

use boltzmax::kernel::{Kernels, available_f32, available_f64};
use boltzmax::softmax::{log_softmax_into_using, logsumexp_using, softmax_into_using};
use boltzmax::{Params, Real};
use dd::{Dd, ldexp};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Unit roundoff `u = 2^-p` of `F`, and of the f64 accumulators.
fn unit<F: Real>() -> f64 {
    ldexp(1.0, -(F::MANTISSA_DIGITS as i32))
}
const UA: f64 = 1.1102230246251565e-16;

/// Exponent of the smallest normal number of `F`.
fn emin<F: Real>() -> i32 {
    if F::MANTISSA_DIGITS == 24 {
        -126
    } else {
        -1022
    }
}

/// Binary exponent of a nonzero finite f64: `|x|` in `[2^e, 2^(e+1))`.
fn exponent(x: f64) -> i32 {
    let x = x.abs();
    let e = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if e == 0 {
        // Subnormal f64 (only in the f32 tests' scaled values: rare).
        exponent(x * 2f64.powi(600)) - 600
    } else {
        e - 1023
    }
}

/// `ulp` of a value `v * 2^k` in `F`, as a power of two exponent.
fn ulp_exp<F: Real>(v: f64, k: i32) -> i32 {
    let e = if v == 0.0 {
        emin::<F>()
    } else {
        exponent(v) + k
    };
    e.max(emin::<F>()) - (F::MANTISSA_DIGITS as i32 - 1)
}

/// The reference for one row at temperature `t`.
struct Reference {
    /// Exact `z_i = (x_i - m) / t`.
    z: Vec<Dd>,
    /// `e^(z_i) / S` as `(mantissa, k)`, `None` below e^-2000.
    softmax: Vec<Option<(Dd, i32)>>,
    /// `z_i - ln S`.
    log_softmax: Vec<Dd>,
    /// `m / t + ln S`.
    lse: Dd,
    /// `s = S - 1`.
    s: f64,
    /// `sum over z_j != 0 of e^(z_j) (2 |z_j| + 4)`: the weight of the
    /// errors of the terms in `s`.
    term_err: f64,
}

fn reference<F: Real>(x: &[F], t: F) -> Reference {
    let xs: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let td = Dd::from(t.to_f64());
    let z: Vec<Dd> = xs
        .iter()
        .map(|&v| (Dd::from(v) - Dd::from(m)) / td)
        .collect();
    let e: Vec<Option<(Dd, i32)>> = z.iter().map(|z| z.exp_scaled()).collect();
    let mut big_s = Dd::ZERO;
    let mut term_err = 0.0;
    for (zi, ei) in z.iter().zip(&e) {
        if let Some((mant, k)) = ei
            && *k > -1100
        {
            let v = mant.ldexp(*k);
            big_s = big_s + v;
            if zi.hi != 0.0 {
                term_err += v.to_f64() * (2.0 * zi.hi.abs() + 4.0);
            }
        }
    }
    let ln_s = big_s.ln();
    Reference {
        softmax: e
            .iter()
            .map(|ei| ei.map(|(mant, k)| (mant / big_s, k)))
            .collect(),
        log_softmax: z.iter().map(|&zi| zi - ln_s).collect(),
        lse: Dd::from(m) / td + ln_s,
        s: (big_s - Dd::ONE).to_f64(),
        term_err,
        z,
    }
}

/// Worst errors of one (function, precision, table): in ulp, and as a
/// fraction of the bound.
#[derive(Default, Clone, Copy)]
struct Worst {
    ulp: f64,
    ratio: f64,
    /// Absolute error at the worst ulp.
    err_at_worst: f64,
}

impl Worst {
    fn add(&mut self, ulps: f64, err: f64, bound: f64, what: &str) {
        if ulps > self.ulp {
            self.ulp = ulps;
            self.err_at_worst = err;
        }
        let r = err / bound;
        self.ratio = self.ratio.max(r);
        assert!(
            err <= bound,
            "{what}: error {err:e} ({ulps:.2} ulp) above the bound {bound:e}"
        );
    }
}

#[derive(Default)]
struct Tally {
    softmax: Worst,
    log_softmax: Worst,
    lse: Worst,
    /// Worst ulp of softmax and log-softmax where `|z_i| <= 1` (the
    /// large probabilities, where the `|z|` term of the bound is small).
    softmax_near: f64,
    log_softmax_near: f64,
}

/// Relative error bound of `1 + s` (see docs/accuracy.md).
fn rel_denominator<F: Real>(r: &Reference, n: usize) -> f64 {
    let u = unit::<F>();
    let n_f = n as f64;
    // Lane sums in F over at most 64 terms (SIMD tables), then f64.
    let sum_rel = if F::MANTISSA_DIGITS == 24 {
        3.0 * n_f.min(64.0).sqrt() * u + 3.0 * n_f.sqrt() * UA
    } else {
        3.0 * n_f.sqrt() * UA
    };
    // Terms that are subnormal in F carry an absolute error instead.
    let tiny = n_f * ldexp(1.0, emin::<F>() - F::MANTISSA_DIGITS as i32 + 1);
    (r.term_err * u + r.s * sum_rel + tiny) / (1.0 + r.s)
}

fn check_row<F: Real>(k: &Kernels<F>, x: &[F], t: F, r: &Reference, tally: &mut Tally) {
    let n = x.len();
    let p = Params::temperature(t).unwrap();
    let u = unit::<F>();
    let rel_s = rel_denominator::<F>(r, n);
    let ctx = |f: &str, i: usize| format!("{} {} {f} n={n} T={t} i={i}", F::NAME, k.name);

    let mut out = vec![F::ZERO; n];
    softmax_into_using(k, &mut out, x, &p).unwrap();
    for (i, (&c, rs)) in out.iter().zip(&r.softmax).enumerate() {
        let c = c.to_f64();
        let zi = r.z[i].hi.abs();
        // exp of a z rounded twice: (2|z| + 4) u; normalisation 2u; the
        // denominator; the last rounding (1 ulp, also covering results
        // that are subnormal in F).
        let rel = (2.0 * zi + 6.0) * u + rel_s + UA;
        let (err_ulps, bound_ulps) = match rs {
            Some((q, kk)) => {
                let ue = ulp_exp::<F>(q.hi, *kk);
                let err_scaled = (Dd::from(ldexp(c, -kk)) - *q).abs().hi;
                let err_ulps = ldexp(err_scaled, kk - ue);
                let bound_ulps = rel * ldexp(q.hi.abs(), kk - ue) + 1.0;
                (err_ulps, bound_ulps)
            }
            None => {
                let ue = ulp_exp::<F>(0.0, 0);
                (ldexp(c.abs(), -ue), 1.0)
            }
        };
        tally
            .softmax
            .add(err_ulps, err_ulps, bound_ulps, &ctx("softmax", i));
        if zi <= 1.0 {
            tally.softmax_near = tally.softmax_near.max(err_ulps);
        }
    }

    log_softmax_into_using(k, &mut out, x, &p).unwrap();
    let log1p_s = r.s.ln_1p();
    for (i, (&c, &rl)) in out.iter().zip(&r.log_softmax).enumerate() {
        let err = (Dd::from(c.to_f64()) - rl).abs().hi;
        let zi = r.z[i].hi.abs();
        // z: 2u|z|; log1p(s): the denominator's error plus its own and
        // the rounding of the constant to F; the last subtraction.
        let bound = 2.0 * u * zi + rel_s + (u + UA) * log1p_s + u * rl.hi.abs();
        let ue = ulp_exp::<F>(rl.hi, 0);
        // Bound at least half an ulp of the result (a correctly rounded
        // answer always passes).
        let bound = bound.max(ldexp(0.5, ue));
        tally
            .log_softmax
            .add(ldexp(err, -ue), err, bound, &ctx("log_softmax", i));
        if zi <= 1.0 {
            tally.log_softmax_near = tally.log_softmax_near.max(ldexp(err, -ue));
        }
    }

    let c = logsumexp_using(k, x, &p).to_f64();
    let err = (Dd::from(c) - r.lse).abs().hi;
    let shift = (r.lse.hi - log1p_s).abs();
    // The shift m/T and log1p(s), each in f64; the sum's rounding to F.
    let bound = UA * (shift + log1p_s) + rel_s + u * r.lse.hi.abs();
    let ue = ulp_exp::<F>(r.lse.hi, 0);
    let bound = bound.max(ldexp(0.5, ue));
    tally
        .lse
        .add(ldexp(err, -ue), err, bound, &ctx("logsumexp", 0));
}

fn lengths() -> Vec<usize> {
    let mut v: Vec<usize> = (1..=70).collect();
    v.extend([127, 128, 129, 255, 256, 257, 1000, 4097]);
    v
}

const SPREADS: [f64; 5] = [1e-6, 1e-2, 1.0, 30.0, 1e4];
const TEMPERATURES: [f64; 6] = [1e-3, 0.1, 1.0, 7.3, 100.0, 1e3];

fn random_row<F: Real>(r: &mut impl Rng, n: usize, spread: f64) -> Vec<F> {
    let center = r.random_range(-3.0..3.0) * spread;
    (0..n)
        .map(|_| F::from_f64(center + spread * r.random_range(-1.0..1.0)))
        .collect()
}

fn run_grid<F: Real>(tables: Vec<&'static Kernels<F>>, seed: u64) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut tallies: Vec<Tally> = tables.iter().map(|_| Tally::default()).collect();
    let mut cases: Vec<(usize, f64, f64)> = Vec::new();
    for n in lengths() {
        for &spread in &SPREADS {
            // Every length meets every spread; temperatures are sampled
            // (two per pair, all of them for a few lengths).
            if n <= 4 || n == 257 {
                for &t in &TEMPERATURES {
                    cases.push((n, spread, t));
                }
            } else {
                for _ in 0..2 {
                    cases.push((n, spread, TEMPERATURES[rng.random_range(0..6)]));
                }
            }
        }
    }
    // Long rows, sparingly: a wide spread and a flat one (s ~ n).
    cases.push((100_000, 30.0, 1.0));
    cases.push((100_000, 1e-6, 1e3));
    for (n, spread, t) in cases {
        let x = random_row::<F>(&mut rng, n, spread);
        let t = F::from_f64(t);
        let r = reference(&x, t);
        for (k, tally) in tables.iter().zip(&mut tallies) {
            check_row(k, &x, t, &r, tally);
        }
    }
    for (k, t) in tables.iter().zip(&tallies) {
        println!(
            "{} {:7} worst ulp (fraction of bound): softmax {:.2} ({:.3}), log_softmax {:.2} ({:.3}, absolute error there {:.1e}), logsumexp {:.2} ({:.3}); where |z| <= 1: softmax {:.2}, log_softmax {:.2}",
            F::NAME,
            k.name,
            t.softmax.ulp,
            t.softmax.ratio,
            t.log_softmax.ulp,
            t.log_softmax.ratio,
            t.log_softmax.err_at_worst,
            t.lse.ulp,
            t.lse.ratio,
            t.softmax_near,
            t.log_softmax_near,
        );
    }
}

#[test]
fn double_double_reference_is_sound() {
    dd::self_check();
}

#[test]
fn grid_f32_every_table() {
    run_grid::<f32>(available_f32(), 32);
}

#[test]
fn grid_f64_every_table() {
    run_grid::<f64>(available_f64(), 64);
}

#[test]
fn log_softmax_keeps_the_small_term() {
    // -log1p(e^-40) = -4.248354255291589e-18, not 0.
    for k in available_f64() {
        let mut out = [0.0; 2];
        log_softmax_into_using(k, &mut out, &[0.0, -40.0], &Params::default()).unwrap();
        assert_eq!(out[0], -4.248354255291589e-18, "{}", k.name);
        assert_eq!(out[1], -40.0 - 4.248354255291589e-18);
    }
    for k in available_f32() {
        let mut out = [0.0_f32; 2];
        log_softmax_into_using(k, &mut out, &[0.0, -20.0], &Params::default()).unwrap();
        assert_eq!(out[0], -2.0611537e-9, "{}", k.name);
    }
}

/// Dividing by T before shifting (`x/T - max(x/T)`) loses thousands of
/// ulp on logits near 1e4 at T != 1; shifting first does not.
#[test]
fn temperature_does_not_cost_thousands_of_ulp() {
    let x: Vec<f64> = (0..64).map(|i| 10_000.0 + 0.37 * i as f64).collect();
    for t in [0.3, 3.0, 0.07] {
        let r = reference(&x, t);
        for k in available_f64() {
            let mut out = vec![0.0; x.len()];
            log_softmax_into_using(k, &mut out, &x, &Params::temperature(t).unwrap()).unwrap();
            for (c, rl) in out.iter().zip(&r.log_softmax) {
                let err = (Dd::from(*c) - *rl).abs().hi;
                let ulps = ldexp(err, -ulp_exp::<f64>(rl.hi, 0));
                assert!(ulps <= 4.0, "{} T={t}: {ulps} ulp", k.name);
            }
            // The naive order, for contrast: far worse on the same input.
            let naive: Vec<f64> = x.iter().map(|v| v / t).collect();
            let m = naive.iter().copied().fold(f64::MIN, f64::max);
            let lse = naive.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            let worst = naive
                .iter()
                .zip(&r.log_softmax)
                .map(|(v, rl)| {
                    let err = (Dd::from(v - m - lse) - *rl).abs().hi;
                    ldexp(err, -ulp_exp::<f64>(rl.hi, 0))
                })
                .fold(0.0, f64::max);
            assert!(worst > 100.0, "T={t}: naive order only {worst} ulp off");
        }
    }
}

#[test]
fn subnormal_temperature_splits_ties_evenly() {
    let p = Params::temperature(1e-310_f64).unwrap();
    for k in available_f64() {
        let mut out = [0.0; 4];
        softmax_into_using(k, &mut out, &[1.0, 2.0, 2.0, 0.0], &p).unwrap();
        assert_eq!(out, [0.0, 0.5, 0.5, 0.0], "{}", k.name);
        let mut out = [0.0; 3];
        softmax_into_using(k, &mut out, &[3.0, 3.0, 3.0], &p).unwrap();
        assert!(out.iter().all(|&v| v == 1.0 / 3.0), "{}", k.name);
    }
    let p = Params::temperature(1e-40_f32).unwrap();
    for k in available_f32() {
        let mut out = [0.0_f32; 4];
        softmax_into_using(k, &mut out, &[1.0, 2.0, 2.0, 0.0], &p).unwrap();
        assert_eq!(out, [0.0, 0.5, 0.5, 0.0], "{}", k.name);
    }
}

#[test]
fn subnormal_outputs_are_not_flushed() {
    // e^-720 = 2.0e-313 and e^-100 = 3.7e-44 are subnormal in f64 / f32.
    let x = [0.0, -720.0];
    let r = reference(&x, 1.0);
    let (q, kk) = r.softmax[1].unwrap();
    let want = ldexp(q.hi, kk);
    assert!(want > 0.0 && want < f64::MIN_POSITIVE);
    for k in available_f64() {
        let mut out = [0.0; 2];
        softmax_into_using(k, &mut out, &x, &Params::default()).unwrap();
        assert!(out[1] > 0.0, "{}: flushed", k.name);
        // Within one ulp of the smallest subnormal spacing.
        assert!(
            (out[1] - want).abs() <= 4.9e-324,
            "{}: {} vs {want}",
            k.name,
            out[1]
        );
    }
    let x32 = [0.0_f32, -100.0];
    let want = (-100.0_f64).exp() / (1.0 + (-100.0_f64).exp());
    for k in available_f32() {
        let mut out = [0.0_f32; 2];
        softmax_into_using(k, &mut out, &x32, &Params::default()).unwrap();
        assert!(out[1] > 0.0 && out[1] < f32::MIN_POSITIVE, "{}", k.name);
        assert!((out[1] as f64 - want).abs() <= 1.5e-45, "{}", k.name);
    }
}
