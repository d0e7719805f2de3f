//! softmax, log-softmax and logsumexp along any axis of an n-dimensional
//! array (ndarray views), sequential or on several threads.
//!
//! Every function takes the array, an `axis` (negative counts from the
//! end: `-1` is the last), the [`Params`] and a [`Par`], and applies the
//! slice function of [`crate::softmax`](mod@crate::softmax) to every lane along the axis, so
//! the convention table and the accuracy are those of the slice API.
//! softmax and log-softmax keep the shape; logsumexp removes the axis
//! (keeping it as length 1 is the caller's business:
//! `.insert_axis(Axis(axis))`).
//!
//! Three paths, chosen per call:
//! - contiguous: the axis is the last one and every array is in standard
//!   (C) layout, so each lane is a slice handed to the kernels as is;
//! - side by side: another axis, with the lanes' neighbours contiguous in
//!   memory (any non-last axis of a C-ordered array: rows of lanes), at
//!   least eight lanes, no mask or weights, and a positive scale. The
//!   passes run along those rows, one vector of lanes at a time, as numpy
//!   reduces along axis 0 (`crate::cols`, with the per-instruction-set
//!   kernels [`Kernels::cols_max`](crate::kernel::Kernels::cols_max) & co.):
//!   no copies. A lane with an edge case (a NaN, a +inf, no finite entry)
//!   is handed to the slice function afterwards;
//! - strided: any other layout (or a mask, weights, a negative or zero
//!   beta). The lanes are walked in blocks of neighbouring lanes: a block
//!   is gathered into a scratch buffer (reading memory in order, a few
//!   lanes' worth of each cache line at once), processed as slices and
//!   scattered back.
//!
//! Bits. The contiguous and strided paths give bitwise the slice
//! functions' answers. Lanes side by side differ from them only in the
//! order of each lane's sum of exps (row order, at most 16 terms in `F`
//! before the sum moves to f64, against the slice kernels' vector lanes
//! of up to 32-64 terms): the same exps, the same error bound, so the
//! same accuracy, but the last bits may differ (within the bound that
//! `tests/nd.rs` derives and checks, a few ulp in practice; on random f32
//! lanes the
//! worst errors against an f64 reference were those of the slice
//! functions, within 0.2 ulp). Every edge case keeps its one answer, and
//! results never depend on the thread count or on the other lanes of the
//! array; they may depend on the layout (a C- and an F-ordered copy of
//! the same array, reduced along axis 0, may differ in the last bits), as
//! numpy's sums do.
//!
//! Speed (2026-11-29, this 2-core Zen 4 VM, f32, one thread, ns per
//! element, `cargo run -p boltzmax --release --example min_of_n axis`,
//! min of N, 13:21): softmax along axis 0 of (4096, 4096), (16384, 1024),
//! (1024, 1000) and (65536, 64) C-ordered arrays went from 4.2-4.9,
//! 5.4, 1.6-1.8 and 5.6 through the copies to 1.1-1.2, 1.1-1.2, 0.6 and
//! 0.6, against 0.34-0.39 for a copy of the same bytes and 0.3-0.6 along
//! the last axis; from Python (numpy's arrays on huge pages) 1.6-6.7x
//! faster than numpy's shift-exp-normalise along axis 0 and faster than
//! every peer on 15 of 18 shape-function pairs
//! (`docs/benchmarks-python.md`, "Along axis 0"). Where speed matters,
//! still put the axis last.
//!
//! With [`Par::Threads`] the lanes are split into contiguous groups run on
//! rayon's global pool, only when the array holds at least
//! [`PAR_MIN_ELEMENTS`] elements (below that, waking threads costs more
//! than the work). Lanes side by side go to the threads in units of at
//! least 256 lanes; a tall block of fewer lanes splits its rows instead
//! (its sums by whole groups of 1024 rows, added in order). Every lane is
//! computed by the same arithmetic whatever the split, so results are
//! bitwise identical for any thread count.
//!
//! ```
//! use boltzmax::nd::{self, Par};
//! use boltzmax::Params;
//! use ndarray::array;
//!
//! let x = array![[1.0_f64, 2.0, 3.0], [0.0, 0.0, 0.0]];
//! // Along the last axis (rows): each row sums to 1.
//! let p = nd::softmax(x.view(), -1, &Params::default(), Par::Seq).unwrap();
//! assert!((p.row(0).sum() - 1.0).abs() < 1e-15);
//! // Along axis 0 (columns).
//! let q = nd::softmax(x.view(), 0, &Params::default(), Par::Seq).unwrap();
//! assert!((q[[0, 2]] + q[[1, 2]] - 1.0).abs() < 1e-15);
//! // logsumexp removes the axis.
//! let z = nd::logsumexp(x.view(), 1, &Params::default(), Par::Threads(0)).unwrap();
//! assert_eq!(z.shape(), &[2]);
//! assert!((z[1] - 3f64.ln()).abs() < 1e-15);
//! ```

use ndarray::{
    Array, ArrayView, ArrayView2, ArrayViewD, ArrayViewMut, ArrayViewMut2, ArrayViewMutD, Axis,
    Dimension, Ix2, RemoveAxis, s,
};

use crate::cols::{self, Vertical};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::real::Real;
use crate::softmax as slice;

/// How many threads a batched call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Par {
    /// On the calling thread.
    #[default]
    Seq,
    /// Split into at most `n` groups of lanes run on rayon's global pool
    /// (`0` = as many as the pool has threads). Arrays smaller than
    /// [`PAR_MIN_ELEMENTS`] run sequentially.
    Threads(usize),
}

/// Arrays with fewer elements than this run on the calling thread even
/// under [`Par::Threads`]. Handing work to the pool costs a few to tens of
/// microseconds (more when other processes hold the cores); softmax takes
/// about 0.5 ns per element on one core, so below 2^18 elements (130 us)
/// the split could cost more than it saves. Measured on the shared 2-core
/// machine under load: f32 (64, 1024) and (128, 1024) took 0.69 and 0.61
/// ns per element on two threads against 0.50 on one, (256, 32000) 1.37
/// against 1.65.
pub const PAR_MIN_ELEMENTS: usize = 1 << 18;

/// The result of [`logsumexp_weighted`]: `sign * exp(log_abs)` per lane.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedLogs<F, D: Dimension> {
    /// `ln |sum_i b_i exp(x_i / T)|` per lane.
    pub log_abs: Array<F, D>,
    /// The sign of the sum: -1, 0 or +1 (NaN where `log_abs` is NaN).
    pub sign: Array<F, D>,
}

/// Resolves a possibly negative axis.
fn resolve_axis(axis: isize, ndim: usize) -> Result<usize> {
    let a = if axis < 0 { axis + ndim as isize } else { axis };
    if a < 0 || a as usize >= ndim {
        return Err(Error::AxisOutOfRange { axis, ndim });
    }
    Ok(a as usize)
}

fn check_shape(what: &'static str, got: &[usize], expected: &[usize]) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            what,
            got: got.to_vec(),
            expected: expected.to_vec(),
        })
    }
}

fn reduced_shape(shape: &[usize], ax: usize) -> Vec<usize> {
    let mut s = shape.to_vec();
    s.remove(ax);
    s
}

/// The per-lane work: `(out, out2, x, mask, b)`. `out` has the lane's
/// length (softmax) or length 1 (logsumexp), as has `out2` when present.
type LaneFn<'f, F> =
    dyn Fn(&mut [F], Option<&mut [F]>, &[F], Option<&[bool]>, Option<&[F]>) + Sync + 'f;

/// Every array of one call, as n-d views of the same rank; the outputs of
/// a reduction have length 1 along the axis.
struct Parts<'a, F> {
    x: ArrayViewD<'a, F>,
    mask: Option<ArrayViewD<'a, bool>>,
    b: Option<ArrayViewD<'a, F>>,
    out: ArrayViewMutD<'a, F>,
    out2: Option<ArrayViewMutD<'a, F>>,
}

/// A 2-d piece: the axis first (length n, or 1 for reduction outputs),
/// neighbouring lanes second.
struct Panel<'a, F> {
    x: ArrayView2<'a, F>,
    mask: Option<ArrayView2<'a, bool>>,
    b: Option<ArrayView2<'a, F>>,
    out: ArrayViewMut2<'a, F>,
    out2: Option<ArrayViewMut2<'a, F>>,
    /// Takes the vertical passes (lanes side by side): decided once per
    /// panel before any split between threads (so a lane's path, and its
    /// bits, do not depend on the thread count); see [`Panel::side_by_side`].
    side_by_side: bool,
}

fn two_d<'a, T>(v: ArrayViewD<'a, T>) -> ArrayView2<'a, T> {
    v.into_dimensionality::<Ix2>().expect("rank 2")
}

fn two_d_mut<'a, T>(v: ArrayViewMutD<'a, T>) -> ArrayViewMut2<'a, T> {
    v.into_dimensionality::<Ix2>().expect("rank 2")
}

impl<'a, F: Real> Parts<'a, F> {
    fn permuted(self, perm: &[usize]) -> Self {
        Parts {
            x: self.x.permuted_axes(perm.to_vec()),
            mask: self.mask.map(|m| m.permuted_axes(perm.to_vec())),
            b: self.b.map(|m| m.permuted_axes(perm.to_vec())),
            out: self.out.permuted_axes(perm.to_vec()),
            out2: self.out2.map(|m| m.permuted_axes(perm.to_vec())),
        }
    }

    fn insert_last(self) -> Self {
        let ax = Axis(self.x.ndim());
        Parts {
            x: self.x.insert_axis(ax),
            mask: self.mask.map(|m| m.insert_axis(ax)),
            b: self.b.map(|m| m.insert_axis(ax)),
            out: self.out.insert_axis(ax),
            out2: self.out2.map(|m| m.insert_axis(ax)),
        }
    }

    /// Splits rank > 2 parts along their first axis, down to panels.
    fn into_panels(self, acc: &mut Vec<Panel<'a, F>>) {
        if self.x.ndim() == 2 {
            acc.push(Panel {
                x: two_d(self.x),
                mask: self.mask.map(two_d),
                b: self.b.map(two_d),
                out: two_d_mut(self.out),
                out2: self.out2.map(two_d_mut),
                side_by_side: false,
            });
            return;
        }
        let len = self.x.shape()[0];
        let mut xs = self.x.into_outer_iter();
        let mut ms = self.mask.map(|m| m.into_outer_iter());
        let mut bs = self.b.map(|m| m.into_outer_iter());
        let mut os = self.out.into_outer_iter_mut();
        let mut o2s = self.out2.map(|m| m.into_outer_iter_mut());
        for _ in 0..len {
            Parts {
                x: xs.next().expect("same length"),
                mask: ms.as_mut().map(|it| it.next().expect("same length")),
                b: bs.as_mut().map(|it| it.next().expect("same length")),
                out: os.next().expect("same length"),
                out2: o2s.as_mut().map(|it| it.next().expect("same length")),
            }
            .into_panels(acc);
        }
    }
}

impl<'a, F: Real> Panel<'a, F> {
    fn lanes(&self) -> usize {
        self.x.ncols()
    }

    fn split(self, at: usize) -> (Self, Self) {
        let ax = Axis(1);
        let (x1, x2) = self.x.split_at(ax, at);
        let (m1, m2) = split_opt(self.mask, at);
        let (b1, b2) = split_opt(self.b, at);
        let (o1, o2) = self.out.split_at(ax, at);
        let (p1, p2) = match self.out2 {
            Some(v) => {
                let (a, b) = v.split_at(ax, at);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        (
            Panel {
                x: x1,
                mask: m1,
                b: b1,
                out: o1,
                out2: p1,
                side_by_side: self.side_by_side,
            },
            Panel {
                x: x2,
                mask: m2,
                b: b2,
                out: o2,
                out2: p2,
                side_by_side: self.side_by_side,
            },
        )
    }

    /// Whether the vertical passes can compute `what` here: at least
    /// [`VERTICAL_MIN_LANES`] lanes of a non-empty axis, each row of them
    /// contiguous in `x` (and in `out`, but for logsumexp), no mask or
    /// weights, and a shift by the maximum ([`cols::applies`]).
    fn side_by_side(&self, what: Vertical, params: &Params<F>) -> bool {
        let unit = |s: &[isize]| self.lanes() <= 1 || s[1] == 1;
        self.x.nrows() > 0
            && self.lanes() >= VERTICAL_MIN_LANES
            && self.mask.is_none()
            && self.b.is_none()
            && self.out2.is_none()
            && cols::applies(params)
            && unit(self.x.strides())
            && (what == Vertical::Logsumexp || unit(self.out.strides()))
    }

    /// Runs `lane` on every lane of the panel, or the vertical passes
    /// (`vertical`: which function, with its parameters) where they apply.
    fn run(mut self, lane: &LaneFn<F>, vertical: Option<(Vertical, &Params<F>)>, threads: usize) {
        let (n, c) = self.x.dim();
        let n_out = self.out.nrows();
        // Lanes that are slices already: no copies.
        let contiguous = |s: &[isize], len: usize| len <= 1 || s[0] == 1;
        if contiguous(self.x.strides(), n)
            && self
                .mask
                .as_ref()
                .is_none_or(|m| contiguous(m.strides(), n))
            && self.b.as_ref().is_none_or(|m| contiguous(m.strides(), n))
            && contiguous(self.out.strides(), n_out)
            && self
                .out2
                .as_ref()
                .is_none_or(|m| contiguous(m.strides(), n_out))
        {
            for j in 0..c {
                let x = self.x.column(j);
                let mask = self.mask.as_ref().map(|m| m.column(j));
                let b = self.b.as_ref().map(|m| m.column(j));
                let mut out2 = self.out2.as_mut().map(|m| m.column_mut(j));
                lane(
                    self.out.column_mut(j).into_slice().expect("contiguous"),
                    out2.as_mut().map(|v| v.as_slice_mut().expect("contiguous")),
                    x.to_slice().expect("contiguous"),
                    mask.as_ref().map(|v| v.to_slice().expect("contiguous")),
                    b.as_ref().map(|v| v.to_slice().expect("contiguous")),
                );
            }
            return;
        }
        // Rows of neighbouring lanes side by side: the vertical passes
        // (no copies), every lane with an edge case left to `lane`.
        if let Some((what, params)) = vertical
            && self.side_by_side
        {
            let irregular = cols::run(
                F::kernels(),
                what,
                self.x.view(),
                self.out.view_mut(),
                params,
                threads,
            );
            for j in irregular {
                let x = self.x.column(j).to_vec();
                let mut o = vec![F::ZERO; n_out];
                lane(&mut o, None, &x, None, None);
                for (d, v) in self.out.column_mut(j).iter_mut().zip(o) {
                    *d = v;
                }
            }
            return;
        }
        // Blocks of neighbouring lanes: at least a cache line's worth of
        // them (8), at most 64, with the input and output copies within
        // L2 (64k elements each: 64 lanes for columns of up to 1024).
        let block = if n >= 4096 {
            8
        } else {
            (BLOCK_ELEMS / n.max(1)).clamp(8, 64)
        }
        .min(c.max(1));
        // Each lane's copy starts PAD elements after the previous one's
        // end: with a stride of exactly `n` (a power of two, often) the
        // lanes' copies map to the same cache sets and the transposing
        // copies evict each other.
        let sx = n + PAD;
        let so = n_out.max(1) + PAD;
        let mut xs = vec![F::ZERO; block * sx];
        let mut ms = self.mask.as_ref().map(|_| vec![false; block * sx]);
        let mut bs = self.b.as_ref().map(|_| vec![F::ZERO; block * sx]);
        let mut os = vec![F::ZERO; block * so];
        let mut o2s = self.out2.as_ref().map(|_| vec![F::ZERO; block]);
        let mut c0 = 0;
        while c0 < c {
            let w = block.min(c - c0);
            gather(&self.x, c0, w, sx, &mut xs);
            if let (Some(m), Some(s)) = (&self.mask, &mut ms) {
                gather(m, c0, w, sx, s);
            }
            if let (Some(m), Some(s)) = (&self.b, &mut bs) {
                gather(m, c0, w, sx, s);
            }
            for k in 0..w {
                lane(
                    &mut os[k * so..k * so + n_out],
                    o2s.as_mut().map(|s| &mut s[k..k + 1]),
                    &xs[k * sx..k * sx + n],
                    ms.as_ref().map(|s| &s[k * sx..k * sx + n]),
                    bs.as_ref().map(|s| &s[k * sx..k * sx + n]),
                );
            }
            scatter(&mut self.out, c0, w, so, &os);
            if let (Some(m), Some(s)) = (&mut self.out2, &o2s) {
                scatter(m, c0, w, 1, s);
            }
            c0 += w;
        }
    }
}

fn split_opt<'a, T>(
    v: Option<ArrayView2<'a, T>>,
    at: usize,
) -> (Option<ArrayView2<'a, T>>, Option<ArrayView2<'a, T>>) {
    match v {
        Some(v) => {
            let (a, b) = v.split_at(Axis(1), at);
            (Some(a), Some(b))
        }
        None => (None, None),
    }
}

/// Fewest lanes side by side for the vertical passes ([`crate::cols`]);
/// fewer go through the copies, whose long lanes fill whole vectors.
const VERTICAL_MIN_LANES: usize = 8;

/// Fewest lanes per thread's unit for lanes side by side (see `drive`).
const VERTICAL_MIN_SPLIT: usize = 256;

/// Scratch elements per block of lanes in the strided path.
const BLOCK_ELEMS: usize = 65536;
/// Padding between the lanes' copies in the strided path's scratch (a
/// cache line of f32).
const PAD: usize = 16;

/// `buf[k * n + i] = v[i, c0 + k]` for `k < w` (`n`: the copies' stride):
/// reads rows in order.
fn gather<T: Copy>(v: &ArrayView2<T>, c0: usize, w: usize, n: usize, buf: &mut [T]) {
    let block = v.slice(s![.., c0..c0 + w]);
    for (i, row) in block.rows().into_iter().enumerate() {
        for (k, &val) in row.iter().enumerate() {
            buf[k * n + i] = val;
        }
    }
}

/// `v[i, c0 + k] = buf[k * n + i]` for `k < w` (`n`: the copies' stride):
/// writes rows in order.
fn scatter<T: Copy>(v: &mut ArrayViewMut2<T>, c0: usize, w: usize, n: usize, buf: &[T]) {
    let mut block = v.slice_mut(s![.., c0..c0 + w]);
    for (i, mut row) in block.rows_mut().into_iter().enumerate() {
        for (k, val) in row.iter_mut().enumerate() {
            *val = buf[k * n + i];
        }
    }
}

fn thread_count(par: Par, elements: usize) -> usize {
    match par {
        Par::Seq => 1,
        _ if elements < PAR_MIN_ELEMENTS => 1,
        Par::Threads(0) => rayon::current_num_threads(),
        Par::Threads(n) => n,
    }
}

/// Runs `f` on every unit, in `groups` contiguous groups on the pool.
fn run_units<T: Send>(units: Vec<T>, groups: usize, f: &(dyn Fn(T) + Sync)) {
    if groups <= 1 || units.len() <= 1 {
        units.into_iter().for_each(f);
        return;
    }
    let per = units.len().div_ceil(groups);
    let mut it = units.into_iter().peekable();
    rayon::scope(|s| {
        while it.peek().is_some() {
            let group: Vec<T> = it.by_ref().take(per).collect();
            s.spawn(move |_| group.into_iter().for_each(f));
        }
    });
}

/// The engine behind every function of this module. `parts` are views of
/// equal rank; `ax` is resolved; shapes are checked.
fn drive<F: Real>(
    parts: Parts<'_, F>,
    ax: usize,
    par: Par,
    lane: &LaneFn<F>,
    vertical: Option<(Vertical, &Params<F>)>,
) {
    let n = parts.x.shape()[ax];
    let elements = parts.x.len();
    let threads = thread_count(par, elements);
    let ndim = parts.x.ndim();
    let standard = parts.x.is_standard_layout()
        && parts.mask.as_ref().is_none_or(|m| m.is_standard_layout())
        && parts.b.as_ref().is_none_or(|m| m.is_standard_layout())
        && parts.out.is_standard_layout()
        && parts.out2.as_ref().is_none_or(|m| m.is_standard_layout());
    if ax == ndim - 1 && standard && n > 0 {
        contiguous_rows(parts, n, threads, lane);
        return;
    }
    // Strided path: the axis second to last, and last the other axis with
    // the smallest stride in x (the one whose neighbours share cache lines).
    let parts = if ndim == 1 {
        parts.insert_last()
    } else {
        let strides = parts.x.strides();
        let shape = parts.x.shape();
        let inner = (0..ndim)
            .filter(|&a| a != ax)
            .min_by_key(|&a| {
                if shape[a] <= 1 {
                    usize::MAX
                } else {
                    strides[a].unsigned_abs()
                }
            })
            .expect("ndim >= 2");
        let mut perm: Vec<usize> = (0..ndim).filter(|&a| a != ax && a != inner).collect();
        perm.push(ax);
        perm.push(inner);
        parts.permuted(&perm)
    };
    let mut panels = Vec::new();
    parts.into_panels(&mut panels);
    if let Some((what, params)) = vertical {
        for p in &mut panels {
            p.side_by_side = p.side_by_side(what, params);
        }
    }
    if threads > 1 {
        // Enough units for every thread: split wide panels along the lanes.
        let lanes: usize = panels.iter().map(|p| p.lanes()).sum();
        let target = (lanes / (threads * 4)).max(8);
        // Lanes side by side read rows of the lanes they are given: a
        // unit's rows must stay long (narrow units stream memory poorly,
        // and several of them re-read the same cache lines), so they are
        // split only into one unit per thread of at least
        // VERTICAL_MIN_SPLIT lanes each ((65536, 64) f32 along axis 0 on
        // two threads took 8.7 ns/elem as eight units of 8 lanes, 0.6 on
        // one thread).
        let wide_target = lanes.div_ceil(threads).max(VERTICAL_MIN_SPLIT);
        let mut split = Vec::new();
        for mut p in panels {
            let target = if p.side_by_side { wide_target } else { target };
            while p.lanes() > target {
                let (a, b) = p.split(target);
                split.push(a);
                p = b;
            }
            split.push(p);
        }
        panels = split;
    }
    // Fewer units than threads (tall blocks of few lanes side by side):
    // the vertical passes split their rows between the threads instead.
    let row_threads = if panels.len() < threads { threads } else { 1 };
    run_units(panels, threads, &|p: Panel<F>| {
        p.run(lane, vertical, row_threads)
    });
}

/// Fast path: every array in standard layout, the axis last.
fn contiguous_rows<F: Real>(parts: Parts<'_, F>, n: usize, threads: usize, lane: &LaneFn<F>) {
    let x = parts.x.to_slice().expect("standard layout");
    let mask = parts.mask.map(|m| m.to_slice().expect("standard layout"));
    let b = parts.b.map(|m| m.to_slice().expect("standard layout"));
    let out = parts.out.into_slice().expect("standard layout");
    let out2 = parts.out2.map(|m| m.into_slice().expect("standard layout"));
    let rows = x.len() / n;
    if rows == 0 {
        return;
    }
    let n_out = out.len() / rows;
    // Units of whole rows: about 4 per thread for balance.
    let per_unit = if threads > 1 {
        rows.div_ceil(threads * 4)
    } else {
        rows
    };
    let mut units = Vec::new();
    let mut o_rest = out;
    let mut o2_rest = out2;
    let mut r0 = 0;
    while r0 < rows {
        let r = per_unit.min(rows - r0);
        let (o, rest) = o_rest.split_at_mut(r * n_out);
        o_rest = rest;
        let o2 = match o2_rest.take() {
            Some(s) => {
                let (a, rest) = s.split_at_mut(r);
                o2_rest = Some(rest);
                Some(a)
            }
            None => None,
        };
        let span = r0 * n..(r0 + r) * n;
        units.push((
            o,
            o2,
            &x[span.clone()],
            mask.map(|m| &m[span.clone()]),
            b.map(|m| &m[span.clone()]),
        ));
        r0 += r;
    }
    type Unit<'u, F> = (
        &'u mut [F],
        Option<&'u mut [F]>,
        &'u [F],
        Option<&'u [bool]>,
        Option<&'u [F]>,
    );
    run_units(units, threads, &|(o, mut o2, x, m, b): Unit<F>| {
        let count = x.len() / n;
        for i in 0..count {
            let span = i * n..(i + 1) * n;
            lane(
                &mut o[i * n_out..(i + 1) * n_out],
                o2.as_deref_mut().map(|s| &mut s[i..i + 1]),
                &x[span.clone()],
                m.map(|m| &m[span.clone()]),
                b.map(|m| &m[span.clone()]),
            );
        }
    });
}

/// Which element-wise function a lane computes.
#[derive(Clone, Copy)]
enum Elementwise {
    Softmax,
    LogSoftmax,
}

fn elementwise_into<F: Real, D: Dimension>(
    what: Elementwise,
    out: ArrayViewMut<'_, F, D>,
    x: ArrayView<'_, F, D>,
    mask: Option<ArrayView<'_, bool, D>>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    let ax = resolve_axis(axis, x.ndim())?;
    check_shape("out", out.shape(), x.shape())?;
    if let Some(m) = &mask {
        check_shape("mask", m.shape(), x.shape())?;
    }
    let mut out = out;
    if mask.is_none()
        && ax + 1 == x.ndim()
        && thread_count(par, x.len()) == 1
        && let (Some(xs), Some(os)) = (x.as_slice(), out.as_slice_mut())
    {
        // Sequential rows of C-contiguous arrays: the slice functions one
        // row after the other, as the driver's lanes would run them (so
        // bitwise the same), without its set-up (~0.1 us per call);
        // softmax with each row's scaling pass deferred past the next
        // row's exps.
        let n = x.shape()[ax];
        if n > 0 {
            match what {
                Elementwise::Softmax => {
                    slice::softmax_rows_into_using(F::kernels(), os, xs, n, params)
                }
                Elementwise::LogSoftmax => {
                    slice::log_softmax_rows_into_using(F::kernels(), os, xs, n, params)
                }
            }
        }
        return Ok(());
    }
    let parts = Parts {
        x: x.into_dyn(),
        mask: mask.map(|m| m.into_dyn()),
        b: None,
        out: out.into_dyn(),
        out2: None,
    };
    let lane =
        |out: &mut [F], _: Option<&mut [F]>, x: &[F], mask: Option<&[bool]>, _: Option<&[F]>| {
            let r = match (what, mask) {
                (Elementwise::Softmax, None) => slice::softmax_into(out, x, params),
                (Elementwise::Softmax, Some(m)) => slice::softmax_masked_into(out, x, m, params),
                (Elementwise::LogSoftmax, None) => slice::log_softmax_into(out, x, params),
                (Elementwise::LogSoftmax, Some(m)) => {
                    slice::log_softmax_masked_into(out, x, m, params)
                }
            };
            r.expect("lane lengths are checked above");
        };
    let vertical = match what {
        Elementwise::Softmax => Vertical::Softmax,
        Elementwise::LogSoftmax => Vertical::LogSoftmax,
    };
    drive(parts, ax, par, &lane, Some((vertical, params)));
    Ok(())
}

fn elementwise<F: Real, D: Dimension>(
    what: Elementwise,
    x: ArrayView<'_, F, D>,
    mask: Option<ArrayView<'_, bool, D>>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D>> {
    let mut out = Array::from_elem(x.raw_dim(), F::ZERO);
    elementwise_into(what, out.view_mut(), x, mask, axis, params, par)?;
    Ok(out)
}

/// softmax along `axis` (negative counts from the end), into a new array.
///
/// Errors: [`Error::AxisOutOfRange`].
pub fn softmax<F: Real, D: Dimension>(
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D>> {
    elementwise(Elementwise::Softmax, x, None, axis, params, par)
}

/// softmax along `axis` into `out` (same shape as `x`, any layout).
///
/// ```
/// use boltzmax::nd::{self, Par};
/// use ndarray::{Array2, array};
/// let x = array![[0.0_f32, 0.0], [1.0, 1.0]];
/// let mut out = Array2::zeros((2, 2));
/// nd::softmax_into(out.view_mut(), x.view(), 0, &Default::default(), Par::Seq).unwrap();
/// assert_eq!(out[[0, 0]] + out[[1, 0]], 1.0);
/// ```
///
/// Errors: [`Error::AxisOutOfRange`], [`Error::ShapeMismatch`].
pub fn softmax_into<F: Real, D: Dimension>(
    out: ArrayViewMut<'_, F, D>,
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    elementwise_into(Elementwise::Softmax, out, x, None, axis, params, par)
}

/// softmax along `axis` over the entries where `mask` (same shape) is
/// true; 0 where it is false (masked entries are ignored whatever they
/// hold).
///
/// Errors: [`Error::AxisOutOfRange`], [`Error::ShapeMismatch`].
pub fn softmax_masked<F: Real, D: Dimension>(
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D>> {
    elementwise(Elementwise::Softmax, x, Some(mask), axis, params, par)
}

/// [`softmax_masked`] into `out`.
pub fn softmax_masked_into<F: Real, D: Dimension>(
    out: ArrayViewMut<'_, F, D>,
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    elementwise_into(Elementwise::Softmax, out, x, Some(mask), axis, params, par)
}

/// log-softmax along `axis`, into a new array.
pub fn log_softmax<F: Real, D: Dimension>(
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D>> {
    elementwise(Elementwise::LogSoftmax, x, None, axis, params, par)
}

/// log-softmax along `axis` into `out` (same shape as `x`).
pub fn log_softmax_into<F: Real, D: Dimension>(
    out: ArrayViewMut<'_, F, D>,
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    elementwise_into(Elementwise::LogSoftmax, out, x, None, axis, params, par)
}

/// log-softmax along `axis` over the entries where `mask` is true; -inf
/// where it is false.
pub fn log_softmax_masked<F: Real, D: Dimension>(
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D>> {
    elementwise(Elementwise::LogSoftmax, x, Some(mask), axis, params, par)
}

/// [`log_softmax_masked`] into `out`.
pub fn log_softmax_masked_into<F: Real, D: Dimension>(
    out: ArrayViewMut<'_, F, D>,
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    elementwise_into(
        Elementwise::LogSoftmax,
        out,
        x,
        Some(mask),
        axis,
        params,
        par,
    )
}

fn lse_into<F: Real, D: RemoveAxis>(
    out: ArrayViewMut<'_, F, D::Smaller>,
    x: ArrayView<'_, F, D>,
    mask: Option<ArrayView<'_, bool, D>>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    let ax = resolve_axis(axis, x.ndim())?;
    check_shape("out", out.shape(), &reduced_shape(x.shape(), ax))?;
    if let Some(m) = &mask {
        check_shape("mask", m.shape(), x.shape())?;
    }
    let mut out = out;
    if mask.is_none()
        && ax + 1 == x.ndim()
        && thread_count(par, x.len()) == 1
        && let (Some(xs), Some(os)) = (x.as_slice(), out.as_slice_mut())
    {
        // As in `elementwise_into`: sequential C-contiguous rows directly.
        let n = x.shape()[ax];
        if n == 0 {
            os.fill(F::NEG_INFINITY);
        } else {
            for (o, r) in os.iter_mut().zip(xs.chunks_exact(n)) {
                *o = slice::logsumexp_with(r, params);
            }
        }
        return Ok(());
    }
    let parts = Parts {
        x: x.into_dyn(),
        mask: mask.map(|m| m.into_dyn()),
        b: None,
        out: out.into_dyn().insert_axis(Axis(ax)),
        out2: None,
    };
    let lane = |o: &mut [F], _: Option<&mut [F]>, x: &[F], m: Option<&[bool]>, _: Option<&[F]>| {
        o[0] = match m {
            None => slice::logsumexp_with(x, params),
            Some(m) => slice::logsumexp_masked(x, m, params).expect("lengths are checked"),
        };
    };
    drive(parts, ax, par, &lane, Some((Vertical::Logsumexp, params)));
    Ok(())
}

/// logsumexp along `axis`: an array with that axis removed.
///
/// Errors: [`Error::AxisOutOfRange`].
pub fn logsumexp<F: Real, D: RemoveAxis>(
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D::Smaller>> {
    let ax = resolve_axis(axis, x.ndim())?;
    let mut out = Array::from_elem(x.raw_dim().remove_axis(Axis(ax)), F::ZERO);
    lse_into(out.view_mut(), x, None, axis, params, par)?;
    Ok(out)
}

/// logsumexp along `axis` into `out`, whose shape is `x`'s without the axis.
///
/// Errors: [`Error::AxisOutOfRange`], [`Error::ShapeMismatch`].
pub fn logsumexp_into<F: Real, D: RemoveAxis>(
    out: ArrayViewMut<'_, F, D::Smaller>,
    x: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    lse_into(out, x, None, axis, params, par)
}

/// logsumexp along `axis` over the entries where `mask` is true (-inf for
/// a lane with none).
pub fn logsumexp_masked<F: Real, D: RemoveAxis>(
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<Array<F, D::Smaller>> {
    let ax = resolve_axis(axis, x.ndim())?;
    let mut out = Array::from_elem(x.raw_dim().remove_axis(Axis(ax)), F::ZERO);
    lse_into(out.view_mut(), x, Some(mask), axis, params, par)?;
    Ok(out)
}

/// [`logsumexp_masked`] into `out`.
pub fn logsumexp_masked_into<F: Real, D: RemoveAxis>(
    out: ArrayViewMut<'_, F, D::Smaller>,
    x: ArrayView<'_, F, D>,
    mask: ArrayView<'_, bool, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    lse_into(out, x, Some(mask), axis, params, par)
}

/// logsumexp with weights `b` (same shape as `x`) along `axis`, as
/// `scipy.special.logsumexp(x, axis, b=b, return_sign=True)`: entries
/// with `b = 0` are ignored whatever `x` holds.
///
/// ```
/// use boltzmax::nd::{self, Par};
/// use ndarray::array;
/// let x = array![[0.0_f64, 0.0], [1.0, 1.0]];
/// let b = array![[1.0, -2.0], [1.0, 1.0]];
/// let r = nd::logsumexp_weighted(x.view(), b.view(), -1, &Default::default(), Par::Seq).unwrap();
/// assert_eq!(r.sign, array![-1.0, 1.0]);
/// assert_eq!(r.log_abs[0], 0.0);
/// ```
///
/// Errors: [`Error::AxisOutOfRange`], [`Error::ShapeMismatch`].
pub fn logsumexp_weighted<F: Real, D: RemoveAxis>(
    x: ArrayView<'_, F, D>,
    b: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<SignedLogs<F, D::Smaller>> {
    let ax = resolve_axis(axis, x.ndim())?;
    let dim = x.raw_dim().remove_axis(Axis(ax));
    let mut log_abs = Array::from_elem(dim.clone(), F::ZERO);
    let mut sign = Array::from_elem(dim, F::ZERO);
    logsumexp_weighted_into(log_abs.view_mut(), sign.view_mut(), x, b, axis, params, par)?;
    Ok(SignedLogs { log_abs, sign })
}

/// [`logsumexp_weighted`] into `log_abs` and `sign`, whose shapes are
/// `x`'s without the axis.
pub fn logsumexp_weighted_into<F: Real, D: RemoveAxis>(
    log_abs: ArrayViewMut<'_, F, D::Smaller>,
    sign: ArrayViewMut<'_, F, D::Smaller>,
    x: ArrayView<'_, F, D>,
    b: ArrayView<'_, F, D>,
    axis: isize,
    params: &Params<F>,
    par: Par,
) -> Result<()> {
    let ax = resolve_axis(axis, x.ndim())?;
    let reduced = reduced_shape(x.shape(), ax);
    check_shape("weights", b.shape(), x.shape())?;
    check_shape("log_abs", log_abs.shape(), &reduced)?;
    check_shape("sign", sign.shape(), &reduced)?;
    let parts = Parts {
        x: x.into_dyn(),
        mask: None,
        b: Some(b.into_dyn()),
        out: log_abs.into_dyn().insert_axis(Axis(ax)),
        out2: Some(sign.into_dyn().insert_axis(Axis(ax))),
    };
    let lane = |o: &mut [F], o2: Option<&mut [F]>, x: &[F], _: Option<&[bool]>, b: Option<&[F]>| {
        let r =
            slice::logsumexp_weighted(x, b.expect("weights"), params).expect("lengths are checked");
        o[0] = r.log_abs;
        o2.expect("sign")[0] = r.sign;
    };
    drive(parts, ax, par, &lane, None);
    Ok(())
}
