//! Batched `ln` and `exp` for the per-step work of the bandit policies:
//! the Gumbel draws `-ln E` of Boltzmann-Gumbel exploration and the K
//! exponentials of annealed Boltzmann, the gradient bandit and the
//! weight rebuilds of fixed-T Boltzmann and EXP3; also UCB's K bonuses.
//!
//! Calling libm once per arm costs 5-20 ns a call and cannot be
//! vectorised; these are musl's (fdlibm's) `log` and `exp` algorithms,
//! accurate to within 1 ulp, and [`exp_weight`], a division-free
//! exponential within 3 ulp for the per-step softmax weights (latency
//! matters there more than the last ulp), written without branches on
//! the restricted domains the policies need, so that a fixed-size block
//! of 8 lanes compiles to straight-line vector code. The blocks are instantiated
//! under AVX2 and AVX-512 when the CPU has them. No fused multiply-add is
//! used anywhere (Rust never contracts `a * b + c`), so every path gives
//! bitwise the same answer as the portable one: results for a seed do not
//! depend on the CPU.

// The polynomial constants are written as fdlibm publishes them (17+
// significant digits); each rounds to the intended double.
#![allow(clippy::excessive_precision)]

/// Lanes per block: one AVX-512 register of `f64`, two AVX2 ones. (Blocks
/// of 4 and 16 measured the same on the 10-armed testbed.)
const LANES: usize = 8;

/// `ln x` for positive, normal, finite `x` (musl `log`, < 1 ulp). Other
/// inputs give unspecified values; callers guarantee the domain.
#[inline(always)]
pub(crate) fn ln_pos(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LG1: f64 = 6.666_666_666_666_735_130e-1;
    const LG2: f64 = 3.999_999_999_940_941_908e-1;
    const LG3: f64 = 2.857_142_874_366_239_149e-1;
    const LG4: f64 = 2.222_219_843_214_978_396e-1;
    const LG5: f64 = 1.818_357_216_161_805_012e-1;
    const LG6: f64 = 1.531_383_769_920_937_332e-1;
    const LG7: f64 = 1.479_819_860_511_658_591e-1;
    let bits = x.to_bits();
    // Reduce x into [sqrt(2)/2, sqrt(2)) times 2^k.
    let top = (bits >> 32) + (0x3ff0_0000 - 0x3fe6_a09e);
    let k = (top >> 20) as i64 - 0x3ff;
    let top = (top & 0x000f_ffff) + 0x3fe6_a09e;
    let m = f64::from_bits((top << 32) | (bits & 0xffff_ffff));
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    let dk = int_to_f64(k);
    s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI
}

/// `1.5 * 2^52`: adding it rounds a small float to an integer held in the
/// low mantissa bits.
const SHIFT: f64 = 6_755_399_441_055_744.0;

/// `k as f64` for `|k| < 2^51` by integer arithmetic on the mantissa, which
/// vectorises on AVX2 (it has no packed `i64 -> f64` conversion). Exact.
#[inline(always)]
fn int_to_f64(k: i64) -> f64 {
    f64::from_bits(SHIFT.to_bits().wrapping_add(k as u64)) - SHIFT
}

/// `2^j` for `-1022 <= j <= 1023`.
#[inline(always)]
fn pow2(j: i64) -> f64 {
    f64::from_bits(((j + 1023) as u64) << 52)
}

/// `e^x` for `x <= 0`, not NaN (musl `exp`, < 1 ulp for normal
/// results). `-inf` and everything below about -745 give 0.
#[inline(always)]
pub(crate) fn exp_nonpos(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    const P1: f64 = 1.666_666_666_666_660_190_37e-1;
    const P2: f64 = -2.777_777_777_701_559_338_42e-3;
    const P3: f64 = 6.613_756_321_437_934_361_17e-5;
    const P4: f64 = -1.653_390_220_546_525_153_90e-6;
    const P5: f64 = 4.138_136_797_057_238_460_39e-8;
    // Below -746 the result is 0 either way; clamping keeps k in range.
    let x = x.max(-746.0);
    // k = round(x / ln 2) (ties to even), read back from the mantissa.
    let t = x * INV_LN2 + SHIFT;
    let k = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    let kf = t - SHIFT;
    let hi = x - kf * LN2_HI;
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let rr = r * r;
    let c = r - rr * (P1 + rr * (P2 + rr * (P3 + rr * (P4 + rr * P5))));
    let y = 1.0 + (r * c / (2.0 - c) - lo + hi);
    // Scale by 2^k in two exact steps so that subnormal results round once
    // at most and k down to -1076 needs no branch.
    let k1 = k >> 1;
    y * pow2(k1) * pow2(k - k1)
}

/// `e^x` for `-700 <= x <= 700`: the softmax weights' exponential, for
/// short latency rather than the last ulp (a weight is compared with
/// sums of others; a few ulp are irrelevant there).
///
/// The same reduction as [`exp_nonpos`] (`x = k ln 2 + r`, `|r| <= 0.35`,
/// `ln 2` in two parts), then the degree-13 Taylor polynomial of `e^r`
/// (truncation below 5e-18) by Estrin's scheme, whose dependency chain is
/// about half as long as the rational form's with its division; the
/// result is scaled by one exact power of two (normal in this range).
/// Within 3 ulp of libm (tested).
#[inline(always)]
pub(crate) fn exp_weight(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // 1/n! for n = 2..13.
    const C: [f64; 12] = [
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40320.0,
        1.0 / 362880.0,
        1.0 / 3628800.0,
        1.0 / 39916800.0,
        1.0 / 479001600.0,
        1.0 / 6227020800.0,
    ];
    let t = x * INV_LN2 + SHIFT;
    let k = t.to_bits().wrapping_sub(SHIFT.to_bits()) as i64;
    let kf = t - SHIFT;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q0 = (1.0 + r) + r2 * (C[0] + r * C[1]);
    let q1 = (C[2] + r * C[3]) + r2 * (C[4] + r * C[5]);
    let q2 = (C[6] + r * C[7]) + r2 * (C[8] + r * C[9]);
    let q3 = C[10] + r * C[11];
    let y = (q0 + r4 * q1) + r8 * (q2 + r4 * q3);
    y * pow2(k)
}

/// The length of a buffer for `n` values that the batched functions take:
/// `n` rounded up to a whole number of blocks.
pub(crate) fn padded_len(n: usize) -> usize {
    n.next_multiple_of(LANES)
}

/// Runs `body` on each block of [`LANES`] entries of `xs`, whose length
/// is a multiple of `LANES` ([`padded_len`]: no remainder to copy). A
/// macro, not a function taking a closure, so that the body is inlined
/// into each instruction set's copy.
macro_rules! blocks {
    ($xs:expr, |$b:ident| $body:block) => {{
        let xs: &mut [f64] = $xs;
        assert!(xs.len() % LANES == 0, "buffer not padded to LANES");
        for c in xs.chunks_exact_mut(LANES) {
            let $b: &mut [f64; LANES] = c.try_into().expect("chunk of LANES");
            $body
        }
    }};
}

#[inline(always)]
fn neg_ln_body(u: &mut [f64]) {
    blocks!(u, |b| {
        for x in b.iter_mut() {
            *x = -ln_pos(*x);
        }
    });
}

#[inline(always)]
fn exp_shifted_body(z: &mut [f64], m: f64, beta: f64) {
    blocks!(z, |b| {
        for x in b.iter_mut() {
            *x = exp_nonpos((*x - m) * beta);
        }
    });
}

/// Sums the lanes of `acc` in a fixed tree order (the same on every
/// instruction set).
#[inline(always)]
fn tree_sum(acc: [f64; LANES]) -> f64 {
    let a = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    (a[0] + a[2]) + (a[1] + a[3])
}

/// `y_i = exp((x_i - shift) beta)` and their sum (lane-wise partial sums
/// added in a fixed tree), with the maximum of `x` found in the same pass;
/// returns `(sum, max)`. The exponentials do not wait for the maximum (it
/// only decides afterwards whether the shift was usable: see
/// [`softmax_weights`]), which takes the reduction off the step's
/// critical path. The exponential is [`exp_weight`] (within 3 ulp, half
/// the latency). Exponents are floored at -700 (a weight of 1e-304 at
/// least) so that no lane ends in a subnormal, which costs a microcode
/// assist on x86; padding lanes (`-inf` in `x`, and nothing else may be)
/// are zeroed by a multiplication (a select would not vectorise).
#[inline(always)]
fn exp_sum_max_body(x: &[f64], y: &mut [f64], shift: f64, beta: f64) -> (f64, f64) {
    assert!(x.len().is_multiple_of(LANES), "buffer not padded to LANES");
    assert_eq!(x.len(), y.len());
    let mut mx = [f64::NEG_INFINITY; LANES];
    let mut acc = [0.0; LANES];
    for (cx, cy) in x.chunks_exact(LANES).zip(y.chunks_exact_mut(LANES)) {
        for (((&v, w), a), m) in cx.iter().zip(cy.iter_mut()).zip(&mut acc).zip(&mut mx) {
            // Not f64::max: no NaN handling needed, so this is one vmaxpd.
            *m = if v > *m { v } else { *m };
            let keep = f64::from(u8::from(v != f64::NEG_INFINITY));
            *w = exp_weight(((v - shift) * beta).max(-700.0)) * keep;
            *a += *w;
        }
    }
    let m = mx
        .iter()
        .fold(f64::NEG_INFINITY, |a, &b| if b > a { b } else { a });
    (tree_sum(acc), m)
}

/// Unnormalised softmax weights `y_i = exp((x_i - shift) beta)` of the
/// padded logits `x` (padding `-inf`, weight 0), returning their sum.
///
/// `shift` is the maximum of an earlier call: while the current maximum's
/// exponent `(max - shift) beta` stays in [-100, 600] the weights are
/// finite, the largest at least e^-100, and the -700 floor is a relative
/// error below e^-600 beside it; otherwise the pass is redone around the
/// current maximum, which becomes the new `shift`. Logits change a little
/// per step, so the redo is rare.
#[inline]
pub(crate) fn softmax_weights(x: &[f64], y: &mut [f64], shift: &mut f64, beta: f64) -> f64 {
    let (total, m) = exp_sum_max(x, y, *shift, beta);
    let e = (m - *shift) * beta;
    if (-100.0..=600.0).contains(&e) {
        return total;
    }
    *shift = m;
    exp_sum_max(x, y, m, beta).0
}

#[inline(always)]
fn ucb_scores_body(s: &mut [f64], q: &[f64], n: &[u64], c: f64, ln_t: f64) {
    for ((s, &qi), &ni) in s.iter_mut().zip(q).zip(n) {
        // Branch-free (the untried arms' NaN or inf is discarded by the
        // select), so that the divisions and square roots vectorise.
        let b = qi + c * (ln_t / ni as f64).sqrt();
        *s = if ni == 0 { f64::INFINITY } else { b };
    }
}

/// Chooses the widest instruction set the CPU has for a body written
/// once; each version gives bitwise the same results (no FMA is used).
macro_rules! dispatch {
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*)) => {
        dispatch!($name, $body, ($($arg: $ty),*) -> ());
    };
    ($name:ident, $body:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[allow(clippy::missing_safety_doc, clippy::unused_unit)]
        mod $name {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq")]
            pub(super) unsafe fn avx512($($arg: $ty),*) -> $ret {
                super::$body($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            pub(super) unsafe fn avx2($($arg: $ty),*) -> $ret {
                super::$body($($arg),*)
            }
        }
        #[inline]
        #[allow(unreachable_code, clippy::unused_unit)]
        pub(crate) fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                {
                    // SAFETY: the features were just detected.
                    return unsafe { $name::avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the feature was just detected.
                    return unsafe { $name::avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

pub(crate) use dispatch;

// `neg_ln_in_place(x)`: `x_i <- -ln x_i` for positive, normal `x_i`
// (standard exponentials in, standard Gumbels out); `x.len()` a multiple
// of `LANES` (padding lanes must hold such values too).
dispatch!(neg_ln_in_place, neg_ln_body, (x: &mut [f64]));
// `exp_shifted_in_place(z, m, beta)`: `z_i <- exp((z_i - m) beta)` for
// `z_i <= m`, finite `beta > 0` (an inverse temperature: a multiplication
// per lane, not a division); `z.len()` a multiple of `LANES` (padding
// lanes must hold values <= m too).
dispatch!(exp_shifted_in_place, exp_shifted_body, (z: &mut [f64], m: f64, beta: f64));
// `exp_sum_max(x, y, shift, beta) -> (sum, max)`: see `exp_sum_max_body`
// and `softmax_weights`, which annealed Boltzmann and the gradient bandit
// call.
dispatch!(exp_sum_max, exp_sum_max_body, (x: &[f64], y: &mut [f64], shift: f64, beta: f64) -> (f64, f64));
// `ucb_scores(s, q, n, c, ln_t)`: `s_i <- q_i + c sqrt(ln_t / n_i)`, or
// `+inf` where `n_i = 0`.
dispatch!(ucb_scores, ucb_scores_body, (s: &mut [f64], q: &[f64], n: &[u64], c: f64, ln_t: f64));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{open01, stream_rng};
    use rand::RngCore;

    /// Distance in units in the last place between two positive or two
    /// zero floats.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn ln_is_within_one_ulp_of_libm() {
        let mut rng = stream_rng(11, 0);
        let mut worst = 0;
        for i in 0..400_000 {
            // Uniforms (the Gumbel inner log), exponentials (the outer
            // one) and random bit patterns over the whole normal range.
            let x = match i % 3 {
                0 => open01(rng.next_u64()),
                1 => -open01(rng.next_u64()).ln(),
                _ => f64::from_bits((rng.next_u64() >> 2) | 0x0010_0000_0000_0000),
            };
            if !x.is_normal() {
                continue;
            }
            worst = worst.max(ulps(ln_pos(x), x.ln()));
        }
        for x in [
            f64::MIN_POSITIVE,
            2f64.powi(-54),
            1.0 - 2f64.powi(-53),
            1.0,
            2.0,
            37.4,
        ] {
            worst = worst.max(ulps(ln_pos(x), x.ln()));
        }
        assert!(worst <= 1, "ln differs from libm by {worst} ulp");
        assert_eq!(ln_pos(1.0), 0.0);
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm() {
        let mut rng = stream_rng(12, 0);
        let mut worst = 0;
        for i in 0..400_000 {
            let u = open01(rng.next_u64());
            let x = match i % 3 {
                0 => -u,
                1 => -40.0 * u,
                _ => -708.0 * u,
            };
            worst = worst.max(ulps(exp_nonpos(x), x.exp()));
        }
        assert!(worst <= 1, "exp differs from libm by {worst} ulp");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(-0.0), 1.0);
        assert_eq!(exp_nonpos(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(-800.0), 0.0);
        // Subnormal results: within a few subnormal steps of libm.
        for x in [-710.0, -730.0, -744.0] {
            let (a, b) = (exp_nonpos(x), x.exp());
            assert!(
                (a - b).abs() <= 2.0 * 5e-324 + 1e-15 * b,
                "exp({x}) {a} vs {b}"
            );
        }
    }

    #[test]
    fn weight_exp_is_within_three_ulp_of_libm() {
        let mut rng = stream_rng(15, 0);
        let mut worst = 0;
        for i in 0..400_000 {
            let u = open01(rng.next_u64());
            let x = match i % 3 {
                0 => -u,
                1 => 80.0 * u - 40.0,
                _ => 1400.0 * u - 700.0,
            };
            worst = worst.max(ulps(exp_weight(x), x.exp()));
        }
        for x in [
            -700.0,
            -0.5 * std::f64::consts::LN_2,
            0.0,
            1e-300,
            600.0,
            700.0,
        ] {
            worst = worst.max(ulps(exp_weight(x), x.exp()));
        }
        assert!(worst <= 3, "exp_weight differs from libm by {worst} ulp");
        assert_eq!(exp_weight(0.0), 1.0);
    }

    #[test]
    fn every_instruction_set_gives_the_portable_bits() {
        let mut rng = stream_rng(13, 0);
        for n in [1, 7, 8, 10, 17] {
            let n = padded_len(n);
            let u: Vec<f64> = (0..n).map(|_| open01(rng.next_u64())).collect();
            let mut a = u.clone();
            neg_ln_in_place(&mut a);
            let mut b = u.clone();
            neg_ln_body(&mut b);
            assert_eq!(a, b);
            for (g, &ui) in a.iter().zip(&u) {
                assert!((g - -ui.ln()).abs() <= 2.3e-16 * g.abs());
            }
            let x: Vec<f64> = u.iter().map(|v| 3.0 * v - 2.0).collect();
            let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut a = x.clone();
            exp_shifted_in_place(&mut a, m, 1.0 / 0.3);
            let mut b = x.clone();
            exp_shifted_body(&mut b, m, 1.0 / 0.3);
            assert_eq!(a, b);
            assert!(a.contains(&1.0));
        }
    }

    #[test]
    fn padded_softmax_matches_the_core_softmax() {
        let mut rng = stream_rng(14, 0);
        for k in [1, 7, 8, 10, 17] {
            let n = padded_len(k);
            let mut x = vec![f64::NEG_INFINITY; n];
            for v in &mut x[..k] {
                *v = 6.0 * open01(rng.next_u64()) - 3.0;
            }
            // An estimate far below the rest: its exponent is floored at
            // -700, a weight of 1e-304 instead of 0.
            x[0] = -1e6;
            let max = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // Shifts that are used as they are (the first three) and
            // shifts that force the pass around the maximum (the last two).
            for (beta, shift) in [
                (1.0, 0.0),
                (2.5, max),
                (1e3, max + 0.5),
                (1.0, 700.0),
                (1e3, -3.0),
            ] {
                let mut a = vec![f64::NAN; n];
                let (sa, ma) = exp_sum_max(&x, &mut a, shift, beta);
                let mut b = vec![f64::NAN; n];
                // Every instruction set gives the portable bits.
                assert_eq!((sa, ma), exp_sum_max_body(&x, &mut b, shift, beta));
                assert_eq!(a, b);
                assert_eq!(ma, max);
                let mut s = shift;
                let total = softmax_weights(&x, &mut a, &mut s, beta);
                let e = (max - shift) * beta;
                assert_eq!(
                    s,
                    if (-100.0..=600.0).contains(&e) {
                        shift
                    } else {
                        max
                    }
                );
                assert!(a[k..].iter().all(|&v| v == 0.0), "padding");
                let sum: f64 = a[..k].iter().sum();
                assert!((sum - total).abs() <= 1e-15 * total);
                let p = crate::softmax_with(&x[..k], &crate::Params::beta(beta).unwrap());
                for (w, p) in a[..k].iter().zip(&p) {
                    let q = w / total;
                    assert!(
                        (q - p).abs() <= 1e-14 * p + 1e-250,
                        "{q} {p} beta {beta} shift {shift}"
                    );
                }
            }
        }
    }
}
