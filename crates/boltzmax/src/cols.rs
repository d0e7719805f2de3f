//! softmax, log-softmax and logsumexp of many lanes side by side: the
//! lanes of a non-last axis of a C-ordered array, where each row of the
//! block (one position along the axis) holds neighbouring lanes
//! contiguously.
//!
//! Instead of copying each lane out (a transpose, which the strided rows
//! make slow) the passes run along the rows, one vector of lanes at a
//! time, as numpy reduces along axis 0: the maximum of every lane, then
//! the sums of exps ([`Kernels::cols_exp_sum`]), then the store
//! ([`Kernels::cols_exp_times`], [`Kernels::cols_minus`], or a scaling of
//! exps stored with the sums). Each lane's answer is the slice function's
//! but for the order of its sum: a lane adds its terms in row order, in
//! `F` for [`ROWS`] rows at a time, then in f64 (in groups of [`GROUPS`]
//! such blocks), where the slice kernels add blocks of vector lanes. The
//! bound on the sum's rounding error has the same form (at most `ROWS`
//! terms added in `F`, the rest in f64), so the accuracy is the slice
//! functions' ([`crate::nd`] states what differs in the last bits).
//!
//! Measured and dropped (2026-11-29, min_of_n axis, A/B in the same
//! minutes, load 2.6): one pass for the maxima and the sums together,
//! block of 16 rows by block, against running maxima (sums rescaled where
//! a block raises a lane's maximum), then the store pass recomputing the
//! exps: logsumexp along axis 0 of (4096, 4096) 0.76-0.78 -> 0.62-0.70
//! ns/elem and of (16384, 1024) 0.69-0.76 -> 0.56-0.61, but the arrays
//! whose blocks stay in cache lost their single exp per entry: softmax of
//! (1024, 1000) 0.49 -> 0.57-0.59, of (64, 65536) 0.83-1.04 -> 1.13-1.24.
//! The block's maxima, read from memory, and its exps, read from cache,
//! do not overlap, which is why the saved pass gained less than a pass.
//!
//! Only regular lanes (finite maximum, no NaN) take this path, and only
//! with a positive scale (temperature, or beta > 0); [`run`] returns the
//! other lanes, which the caller hands to the slice functions one by one,
//! so every edge case keeps its one documented answer.

use ndarray::{ArrayView2, ArrayViewMut2, Axis, s};

use crate::kernel::{Kernels, Lanes, LanesMut};
use crate::params::{Params, Scaling};
use crate::real::Real;
use crate::softmax::shift_f64;

/// Rows whose terms a lane adds in `F` before moving the sum to f64:
/// fewer than the slice kernels' `BLOCK / (2 * LANES)` (32 for AVX-512
/// f32), so the sum is at least as accurate.
pub(crate) const ROWS: usize = 16;

/// Blocks of [`ROWS`] rows whose f64 sums are added together before they
/// join the lane's total (pairwise in two levels: a long lane's sum does
/// not degrade with its length faster than the slice kernels' does).
pub(crate) const GROUPS: usize = 64;

/// Bytes of input (and as many of output) a block of lanes may span and
/// still take the in-cache passes (the exps stored with the sums, then
/// scaled): half of a small L2.
const IN_CACHE_BYTES: usize = 256 * 1024;

/// Lanes per block when the block cannot stay in cache: the passes then
/// stream through memory, each row's segment a page or more long (so the
/// prefetchers follow it) while the lanes' state stays in L1, and the
/// last pass recomputes the exps (the same bits as storing them and
/// scaling: `exp(z)` rounded to `F`, then times the lane's factor).
/// Widths of 256 to 4096 lanes were measured (2026-11-29, Python along
/// axis 0 of (4096, 4096), (16384, 1024), (1024, 4096), (64, 65536)):
/// 1024 was the best or within noise of it on each.
const STREAM_WIDTH: usize = 1024;

/// Which function the lanes compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Vertical {
    Softmax,
    LogSoftmax,
    Logsumexp,
}

/// True when `params` let regular lanes take this path: a shift by the
/// maximum and a scale that is not zero (a negative beta shifts by the
/// minimum, `beta = 0` gives uniform answers; both stay with the slice
/// functions).
pub(crate) fn applies<F: Real>(params: &Params<F>) -> bool {
    let scaling = params.scale.scaling();
    scaling != Scaling::Uniform && !scaling.shifts_by_min()
}

/// `what` for every lane (column) of `x`, written to `out` (the same
/// shape; one row for [`Vertical::Logsumexp`]), for the regular lanes;
/// returns the others' indices, whose entries of `out` are left
/// unspecified for the caller to write. `x`'s rows (and, but for
/// logsumexp, `out`'s) must be contiguous, `x` at least one row long, and
/// `params` such that [`applies`] holds.
///
/// With `threads > 1` a tall block (at least two groups of
/// `GROUPS * ROWS` rows) is split by rows: the maxima by any rows, the
/// sums by whole groups (each group's sum is made alone and the groups
/// are added in order, as on one thread), the stores by rows; so the
/// bits do not depend on `threads`.
pub(crate) fn run<F: Real>(
    k: &Kernels<F>,
    what: Vertical,
    x: ArrayView2<'_, F>,
    mut out: ArrayViewMut2<'_, F>,
    params: &Params<F>,
    threads: usize,
) -> Vec<usize> {
    debug_assert!(applies(params));
    let scaling = params.scale.scaling();
    let (n, c) = x.dim();
    debug_assert!(n > 0);
    let size = std::mem::size_of::<F>();
    // The whole block in cache, else as many lanes as keep it there (if
    // that is at least a few pages of each row), else streaming.
    let (width, in_cache) = if n * c * size <= IN_CACHE_BYTES {
        (c, true)
    } else if n * STREAM_WIDTH * size <= IN_CACHE_BYTES {
        // Capped at STREAM_WIDTH lanes: wider blocks of few rows made each
        // lane's state a fresh allocation past the allocator's mmap
        // threshold, page faults on every call ((4, 262144) f32 softmax
        // along axis 0 took 2.1 ns/elem, numpy 1.2).
        (STREAM_WIDTH, true)
    } else {
        (STREAM_WIDTH.min(c), false)
    };
    // Row parts: whole groups each, at most one per thread.
    let groups = n.div_ceil(GROUP_ROWS);
    let parts = threads.min(groups).max(1);
    let part_rows = groups.div_ceil(parts) * GROUP_ROWS;
    let store = in_cache && what == Vertical::Softmax;
    let mut irregular = Vec::new();
    let mut j0 = 0;
    while j0 < c {
        let w = width.min(c - j0);
        let xb = x.slice(s![.., j0..j0 + w]);
        let mut ob = (what != Vertical::Logsumexp).then(|| out.slice_mut(s![.., j0..j0 + w]));
        // The rows' pieces, one per part (views: each pass reuses them).
        let xparts = row_chunks(xb, part_rows);
        // The maxima.
        let maxima = on_parts(xparts.clone(), |xp| {
            let mut m = vec![F::NEG_INFINITY; w];
            let mut nan = vec![F::ZERO; w];
            (k.cols_max)(Lanes::new(xp).expect("contiguous rows"), &mut m, &mut nan);
            (m, nan)
        });
        let mut maxima = maxima.into_iter();
        let (mut m, mut nan) = maxima.next().expect("at least one part");
        for (pm, pn) in maxima {
            for ((m, n), (pm, pn)) in m.iter_mut().zip(nan.iter_mut()).zip(pm.iter().zip(&pn)) {
                *m = if *pm > *m { *pm } else { *m };
                *n = if pn.is_nan() { *pn } else { *n };
            }
        }
        // The sums, group by group (with the exps stored when the block
        // stays in cache for the scaling pass).
        let outs: Vec<Option<ArrayViewMut2<'_, F>>> = match (&mut ob, store) {
            (Some(o), true) => row_chunks_mut(o.view_mut(), part_rows)
                .into_iter()
                .map(Some)
                .collect(),
            _ => xparts.iter().map(|_| None).collect(),
        };
        let work: Vec<_> = xparts.iter().copied().zip(outs).collect();
        let sums = on_parts(work, |(xp, op)| group_sums(k, xp, op, &m, scaling));
        let mut total = vec![0.0f64; w];
        let mut ties = vec![0.0f64; w];
        for (groups, t) in sums {
            for g in groups.chunks_exact(w) {
                for (a, b) in total.iter_mut().zip(g) {
                    *a += *b;
                }
            }
            for (a, b) in ties.iter_mut().zip(&t) {
                *a += *b;
            }
        }
        // (One vectorised test for the common case: every lane regular.)
        let regular = |(m, n): (&F, &F)| !n.is_nan() && m.is_finite();
        if !m.iter().zip(&nan).fold(true, |all, l| all & regular(l)) {
            for (j, l) in m.iter().zip(&nan).enumerate() {
                if !regular(l) {
                    irregular.push(j0 + j);
                }
            }
        }
        // `s` of each lane (as [`crate::kernel::ExpSum::rest`]).
        let sums: Vec<f64> = total.iter().zip(&ties).map(|(s, t)| rest(*s, *t)).collect();
        match what {
            Vertical::Softmax => {
                let r: Vec<F> = per_lane(&sums, Finish::Recip)
                    .into_iter()
                    .map(F::from_f64)
                    .collect();
                let ob = ob.expect("an output block");
                on_parts(row_pairs(&xparts, ob, part_rows), |(xp, mut op)| {
                    if store {
                        for mut row in op.rows_mut() {
                            let row = row.as_slice_mut().expect("contiguous rows");
                            for (o, &r) in row.iter_mut().zip(&r) {
                                *o *= r;
                            }
                        }
                    } else {
                        let os = LanesMut::new(op).expect("contiguous rows");
                        let xs = Lanes::new(xp).expect("contiguous rows");
                        (k.cols_exp_times)(os, xs, &m, scaling, &r);
                    }
                });
            }
            Vertical::LogSoftmax => {
                let cs: Vec<F> = per_lane(&sums, Finish::Ln1p)
                    .into_iter()
                    .map(F::from_f64)
                    .collect();
                let ob = ob.expect("an output block");
                on_parts(row_pairs(&xparts, ob, part_rows), |(xp, op)| {
                    let os = LanesMut::new(op).expect("contiguous rows");
                    let xs = Lanes::new(xp).expect("contiguous rows");
                    (k.cols_minus)(os, xs, &m, scaling, &cs);
                });
            }
            Vertical::Logsumexp => {
                let logs = per_lane(&sums, Finish::Ln1p);
                for (j, (m, l)) in m.iter().zip(&logs).enumerate() {
                    out[[0, j0 + j]] = F::from_f64(shift_f64(scaling, *m) + l);
                }
            }
        }
        j0 += w;
    }
    irregular
}

/// What each lane's `s` becomes at the end: softmax's factor or the
/// logarithm of log-softmax and logsumexp.
#[derive(Clone, Copy)]
enum Finish {
    /// `1 / (1 + s)`.
    Recip,
    /// `ln(1 + s)` ([`ln_1p_sum`]).
    Ln1p,
}

/// `f(s)` of every lane, in f64, compiled for AVX-512 or AVX2 where the
/// CPU has them: with few rows these per-lane divisions and logarithms are
/// most of the work ((2, 1048576) f32 log-softmax along axis 0 spent half
/// its time there in SSE2 code). The bits do not depend on the instruction
/// set: only IEEE operations, no contraction into FMAs.
fn per_lane(sums: &[f64], f: Finish) -> Vec<f64> {
    let mut out = vec![0.0; sums.len()];
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            unsafe { per_lane_avx512(sums, &mut out, f) };
            return out;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { per_lane_avx2(sums, &mut out, f) };
            return out;
        }
    }
    per_lane_body(sums, &mut out, f);
    out
}

#[inline(always)]
fn per_lane_body(sums: &[f64], out: &mut [f64], f: Finish) {
    match f {
        Finish::Recip => {
            for (o, s) in out.iter_mut().zip(sums) {
                *o = 1.0 / (1.0 + s);
            }
        }
        Finish::Ln1p => {
            for (o, s) in out.iter_mut().zip(sums) {
                *o = ln_1p_sum(*s);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn per_lane_avx512(sums: &[f64], out: &mut [f64], f: Finish) {
    per_lane_body(sums, out, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn per_lane_avx2(sums: &[f64], out: &mut [f64], f: Finish) {
    per_lane_body(sums, out, f)
}

/// `s` of a lane from its total and tie count: the sum of `exp(z)` over
/// all entries but one maximum (as [`crate::kernel::ExpSum::rest`]).
#[inline(always)]
fn rest(total: f64, ties: f64) -> f64 {
    total + (ties - 1.0).max(0.0)
}

/// `ln(1 + s)` for a lane's sum `0 <= s < 2^53`, within 2 ulp of libm's
/// `ln_1p` in f64 (tested below), with no branch and no call (libm's per lane
/// cost 10 ns, most of a short lane's time: log-softmax of (2, 1048576)
/// along axis 0 took 7.5 ns/elem, numpy's 1.8), so that the loop over the
/// lanes vectorises. `1 + s = 2^e m` with `m` in `[1/sqrt 2, sqrt 2)`;
/// `ln m = 2 atanh(t)`, `t = (m - 1)/(m + 1)`, `|t| <= 0.1716`, by its
/// series to `t^23` (the next term is below 2^-60 of the sum); `e ln 2` in
/// two parts (`e LN2_HI` exact); and the rounding of `1 + s` corrected by
/// `(s - (u - 1)) / u`, which keeps tiny sums exact (`s < 2^-53` gives
/// `s`).
#[inline(always)]
fn ln_1p_sum(s: f64) -> f64 {
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76); // ln 2 - LN2_HI
    let u = 1.0 + s;
    let bits = u.to_bits();
    // The exponent as an f64 without an integer conversion (which SSE2
    // cannot vectorise): its bits placed in the mantissa of 2^52.
    let e =
        f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0);
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = if big { e + 1.0 } else { e };
    let f = m - 1.0;
    let t = f / (2.0 + f);
    let t2 = t * t;
    // 2 atanh(t) / t = 2 (1 + t^2/3 + t^4/5 + ...), Horner in t^2.
    // (Plain products and sums: `mul_add` without the FMA feature would be
    // a libm call per lane.)
    let mut p: f64 = 2.0 / 23.0;
    for k in (0..11).rev() {
        p = p * t2 + 2.0 / (2 * k + 1) as f64;
    }
    let corr = (s - (u - 1.0)) / u;
    e * LN2_HI + (t * p + (e * LN2_LO + corr))
}

/// Rows per group of blocks whose sums are made together in f64.
const GROUP_ROWS: usize = ROWS * GROUPS;

/// `x` cut into pieces of `rows` rows (the last may be shorter).
fn row_chunks<F>(mut x: ArrayView2<'_, F>, rows: usize) -> Vec<ArrayView2<'_, F>> {
    let mut v = Vec::new();
    while x.nrows() > rows {
        let (a, b) = x.split_at(Axis(0), rows);
        v.push(a);
        x = b;
    }
    v.push(x);
    v
}

/// `out` cut into pieces of `rows` rows (the last may be shorter).
fn row_chunks_mut<F>(mut out: ArrayViewMut2<'_, F>, rows: usize) -> Vec<ArrayViewMut2<'_, F>> {
    let mut v = Vec::new();
    while out.nrows() > rows {
        let (a, b) = out.split_at(Axis(0), rows);
        v.push(a);
        out = b;
    }
    v.push(out);
    v
}

/// `out` cut as `xparts` is (pieces of `rows` rows), paired with them.
fn row_pairs<'a, F>(
    xparts: &[ArrayView2<'a, F>],
    out: ArrayViewMut2<'a, F>,
    rows: usize,
) -> Vec<(ArrayView2<'a, F>, ArrayViewMut2<'a, F>)> {
    xparts
        .iter()
        .copied()
        .zip(row_chunks_mut(out, rows))
        .collect()
}

/// `f` of every item, in order: on the calling thread for one item,
/// else one rayon task per item.
fn on_parts<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync + Send) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    use rayon::prelude::*;
    items.into_par_iter().map(f).collect()
}

/// The sums of a run of whole groups of rows (the last group may be
/// short): each group's lane sums in f64 (its blocks of [`ROWS`] rows
/// summed in `F` and added in order), group after group in one vector of
/// `width` entries each, and the lanes' tie counts; with `out`, the exps
/// stored there.
fn group_sums<F: Real>(
    k: &Kernels<F>,
    x: ArrayView2<'_, F>,
    mut out: Option<ArrayViewMut2<'_, F>>,
    m: &[F],
    scaling: Scaling<F>,
) -> (Vec<f64>, Vec<f64>) {
    let (n, w) = x.dim();
    let mut acc = vec![F::ZERO; w];
    let mut block_ties = vec![F::ZERO; w];
    let mut ties = vec![0.0f64; w];
    let mut groups = vec![0.0f64; n.div_ceil(GROUP_ROWS) * w];
    let mut i0 = 0;
    for group in groups.chunks_exact_mut(w.max(1)) {
        let g1 = (i0 + GROUP_ROWS).min(n);
        while i0 < g1 {
            let i1 = (i0 + ROWS).min(g1);
            let xs = Lanes::new(x.slice(s![i0..i1, ..])).expect("contiguous rows");
            let os = out
                .as_mut()
                .map(|o| LanesMut::new(o.slice_mut(s![i0..i1, ..])).expect("contiguous rows"));
            (k.cols_exp_sum)(os, xs, m, scaling, &mut acc, &mut block_ties);
            for (g, a) in group.iter_mut().zip(acc.iter_mut()) {
                *g += a.to_f64();
                *a = F::ZERO;
            }
            for (t, b) in ties.iter_mut().zip(block_ties.iter_mut()) {
                *t += b.to_f64();
                *b = F::ZERO;
            }
            i0 = i1;
        }
    }
    (groups, ties)
}

#[cfg(test)]
mod tests {
    use super::{Finish, ln_1p_sum, per_lane, per_lane_body};

    /// The per-lane finishing gives the same bits whatever instruction set
    /// it was compiled for (`per_lane` takes AVX-512 or AVX2 here).
    #[test]
    fn per_lane_finishing_does_not_depend_on_the_instruction_set() {
        let sums: Vec<f64> = (0..1003)
            .map(|i| match i % 4 {
                0 => 0.0,
                1 => (i as f64 * 0.37).exp() * 1e-12,
                2 => i as f64 / 7.0,
                _ => (i * i) as f64,
            })
            .collect();
        for f in [Finish::Recip, Finish::Ln1p] {
            let mut plain = vec![0.0; sums.len()];
            per_lane_body(&sums, &mut plain, f);
            let got = per_lane(&sums, f);
            assert!(
                got.iter()
                    .zip(&plain)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }

    /// Error in ulp of `got` against `want` (both f64).
    fn ulps(got: f64, want: f64) -> f64 {
        let ulp = f64::from_bits(want.abs().to_bits() + 1) - want.abs();
        (got - want).abs() / ulp
    }

    /// Against libm's `ln_1p` (itself within 1 ulp) on 0, subnormal and
    /// tiny sums, every binade up to 2^52, and the reduction's switch
    /// points (1 + s near powers of two and near sqrt 2 times them).
    #[test]
    fn ln_1p_sum_is_within_an_ulp_or_two_of_libm() {
        let mut args = vec![
            0.0,
            5e-324,
            1e-300,
            1e-20,
            2f64.powi(-53),
            2f64.powi(-52),
            1e-10,
        ];
        let mut x = 1e-18;
        while x < 4.0e15 {
            args.push(x);
            x *= 1.037;
        }
        for k in 0..52 {
            let p = 2f64.powi(k);
            for d in [-3.0, -1.0, 0.0, 1.0, 3.0] {
                let ulp = f64::EPSILON * p;
                args.push((p - 1.0 + d * ulp).max(0.0));
                args.push((p * std::f64::consts::SQRT_2 - 1.0 + d * ulp).max(0.0));
            }
        }
        let mut worst: f64 = 0.0;
        for &s in &args {
            let (got, want) = (ln_1p_sum(s), s.ln_1p());
            if want == 0.0 {
                assert_eq!(got, 0.0, "{s}");
                continue;
            }
            worst = worst.max(ulps(got, want));
        }
        eprintln!(
            "ln_1p_sum: worst {worst:.3} ulp against libm over {} sums",
            args.len()
        );
        assert!(worst <= 2.0, "worst {worst} ulp");
        assert_eq!(ln_1p_sum(1e-300), 1e-300);
    }
}
