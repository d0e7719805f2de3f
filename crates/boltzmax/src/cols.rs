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

use ndarray::{ArrayView2, ArrayViewMut2, s};

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
/// stream through memory, each row's segment a few pages long (so the
/// prefetchers follow it), and recompute the exps in the last pass.
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
pub(crate) fn run<F: Real>(
    k: &Kernels<F>,
    what: Vertical,
    x: ArrayView2<'_, F>,
    mut out: ArrayViewMut2<'_, F>,
    params: &Params<F>,
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
    } else if n * 1024 * size <= IN_CACHE_BYTES {
        ((IN_CACHE_BYTES / (n * size)) / 16 * 16, true)
    } else {
        (STREAM_WIDTH.min(c), false)
    };
    let mut irregular = Vec::new();
    let mut lane = Sums::new(width.min(c));
    let mut j0 = 0;
    while j0 < c {
        let w = width.min(c - j0);
        let xb = x.slice(s![.., j0..j0 + w]);
        lane.reset(w);
        (k.cols_max)(
            Lanes::new(xb).expect("contiguous rows"),
            &mut lane.m,
            &mut lane.nan,
        );
        let store = in_cache && what == Vertical::Softmax;
        let mut ob = (what != Vertical::Logsumexp).then(|| out.slice_mut(s![.., j0..j0 + w]));
        // The sums, in blocks of ROWS rows (with the exps stored when the
        // block stays in cache for the scaling pass).
        let mut i0 = 0;
        let mut blocks = 0;
        while i0 < n {
            let i1 = (i0 + ROWS).min(n);
            let xs = Lanes::new(xb.slice(s![i0..i1, ..])).expect("contiguous rows");
            let os = match (&mut ob, store) {
                (Some(o), true) => {
                    Some(LanesMut::new(o.slice_mut(s![i0..i1, ..])).expect("contiguous rows"))
                }
                _ => None,
            };
            (k.cols_exp_sum)(os, xs, &lane.m, scaling, &mut lane.acc, &mut lane.ties);
            lane.flush();
            blocks += 1;
            if blocks % GROUPS == 0 {
                lane.close_group();
            }
            i0 = i1;
        }
        lane.close_group();
        for j in 0..w {
            if !lane.regular(j) {
                irregular.push(j0 + j);
            }
        }
        match what {
            Vertical::Softmax => {
                let r: Vec<F> = (0..w)
                    .map(|j| F::from_f64(1.0 / (1.0 + lane.rest(j))))
                    .collect();
                let ob = ob.expect("an output block");
                if store {
                    let mut ob = ob;
                    for mut row in ob.rows_mut() {
                        let row = row.as_slice_mut().expect("contiguous rows");
                        for (o, &r) in row.iter_mut().zip(&r) {
                            *o *= r;
                        }
                    }
                } else {
                    let os = LanesMut::new(ob).expect("contiguous rows");
                    (k.cols_exp_times)(
                        os,
                        Lanes::new(xb).expect("contiguous rows"),
                        &lane.m,
                        scaling,
                        &r,
                    );
                }
            }
            Vertical::LogSoftmax => {
                let cs: Vec<F> = (0..w).map(|j| F::from_f64(lane.rest(j).ln_1p())).collect();
                let os = LanesMut::new(ob.expect("an output block")).expect("contiguous rows");
                (k.cols_minus)(
                    os,
                    Lanes::new(xb).expect("contiguous rows"),
                    &lane.m,
                    scaling,
                    &cs,
                );
            }
            Vertical::Logsumexp => {
                for j in 0..w {
                    out[[0, j0 + j]] =
                        F::from_f64(shift_f64(scaling, lane.m[j]) + lane.rest(j).ln_1p());
                }
            }
        }
        j0 += w;
    }
    irregular
}

/// Per-lane state of a block: maxima, NaN flags (a NaN where the lane
/// holds one), and the sums at their
/// three levels (`acc` in `F` over at most [`ROWS`] rows, `group` in f64
/// over at most [`GROUPS`] blocks, `total`), with the maxima left out of
/// them counted in `ties` (per block, in `F`) and `tie_count`.
struct Sums<F> {
    m: Vec<F>,
    nan: Vec<F>,
    acc: Vec<F>,
    ties: Vec<F>,
    group: Vec<f64>,
    total: Vec<f64>,
    tie_count: Vec<f64>,
}

impl<F: Real> Sums<F> {
    fn new(w: usize) -> Self {
        Sums {
            m: vec![F::NEG_INFINITY; w],
            nan: vec![F::ZERO; w],
            acc: vec![F::ZERO; w],
            ties: vec![F::ZERO; w],
            group: vec![0.0; w],
            total: vec![0.0; w],
            tie_count: vec![0.0; w],
        }
    }

    fn reset(&mut self, w: usize) {
        self.m.clear();
        self.m.resize(w, F::NEG_INFINITY);
        for v in [&mut self.acc, &mut self.ties, &mut self.nan] {
            v.clear();
            v.resize(w, F::ZERO);
        }
        for v in [&mut self.group, &mut self.total, &mut self.tie_count] {
            v.clear();
            v.resize(w, 0.0);
        }
    }

    /// Moves the block sums (`acc`, `ties`) to f64.
    fn flush(&mut self) {
        for (g, a) in self.group.iter_mut().zip(self.acc.iter_mut()) {
            *g += a.to_f64();
            *a = F::ZERO;
        }
        for (c, t) in self.tie_count.iter_mut().zip(self.ties.iter_mut()) {
            *c += t.to_f64();
            *t = F::ZERO;
        }
    }

    /// Adds the group's sums to the totals.
    fn close_group(&mut self) {
        for (t, g) in self.total.iter_mut().zip(self.group.iter_mut()) {
            *t += *g;
            *g = 0.0;
        }
    }

    /// Lane `j` has an ordinary answer: no NaN, a finite maximum.
    fn regular(&self, j: usize) -> bool {
        !self.nan[j].is_nan() && self.m[j].is_finite()
    }

    /// `s` of lane `j`: the sum of `exp(z)` over all entries but one
    /// maximum (as [`crate::kernel::ExpSum::rest`]).
    fn rest(&self, j: usize) -> f64 {
        self.total[j] + (self.tie_count[j] - 1.0).max(0.0)
    }
}
