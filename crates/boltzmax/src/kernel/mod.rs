//! The hot loops, one table of function pointers per instruction set.
//!
//! Each table holds the passes a softmax row is built from. The driver in
//! [`crate::softmax`](mod@crate::softmax) handles every edge case (empty rows, infinities,
//! NaN, masks, `beta = 0`) and calls a kernel only on a *regular* row: the
//! shift `m` is finite and is the row's maximum (its minimum for a
//! negative beta), so every `z_i = scale(x_i - m)` is `<= 0` or NaN, and at
//! least one `z_i` is exactly 0.
//!
//! The scalar table is the reference: every SIMD table is tested against
//! it on random input (`tests/simd_twins.rs`). The SIMD tables are written
//! once over a vector type (`simd.rs`) and instantiated per instruction
//! set, each for f32 and f64:
//!
//! - x86_64: `avx512` (AVX-512F + DQ) and `avx2` (AVX2 + FMA), chosen by
//!   run-time detection (`x86_64/`);
//! - aarch64: `neon` (Advanced SIMD, part of the aarch64 baseline, so
//!   always available there; `aarch64.rs`). Its correctness and exp
//!   accuracy are tested under `qemu-aarch64`; its speed has not been
//!   measured on ARM hardware.
//!
//! Every SIMD table's exp is within 2 ulp on the kernels' domain,
//! subnormal results included, and every table keeps the edge-case
//! contract above (the driver handles the edge cases; the kernels only
//! see regular rows). [`detected_f32`] and [`detected_f64`] pick the best
//! table for the running CPU once (the first of [`available_f32`] /
//! [`available_f64`]); the environment variable `BOLTZMAX_KERNEL`
//! (`scalar`, or a table's name: `avx512`, `avx2`, `neon`) forces one, for
//! tests and benchmarks; a name the CPU cannot run is ignored.

use std::marker::PhantomData;
use std::sync::OnceLock;

use ndarray::{ArrayView2, ArrayViewMut2};

pub use crate::params::Scaling;

// NEON is baseline on aarch64; the module is compiled only where the
// crate is built with it (the default), which is what makes its tables
// sound without run-time detection.
#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod aarch64;
pub mod scalar;
#[cfg(any(
    target_arch = "x86_64",
    all(target_arch = "aarch64", target_feature = "neon")
))]
mod simd;
#[cfg(target_arch = "x86_64")]
mod x86_64;

/// The sum a softmax row is normalised by, split as the accurate
/// formulas need it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpSum {
    /// Sum of `exp(z_i)` over every entry but the `ties` left out (NaN
    /// included), accumulated in f64 whatever the element type.
    pub sum: f64,
    /// Number of entries with `z_i == 0` (maxima) left out of `sum`: at
    /// least 1 in a regular row. The scalar table leaves out every
    /// maximum; the SIMD tables only those in the first register holding
    /// one, and add any later maximum to `sum` as an exp of exactly 1
    /// (which spares the rest of the row a compare per register; `sum`
    /// is then at least 1, so its accuracy does not suffer). Either way
    /// [`ExpSum::rest`] is the same quantity.
    pub ties: usize,
}

impl ExpSum {
    /// `s = sum over i != argmax of exp(z_i)`: the other maxima count 1 each.
    #[inline]
    pub fn rest(self) -> f64 {
        self.sum + self.ties.saturating_sub(1) as f64
    }
}

/// Dense rows at least this long (in bytes) find their maximum and sum in
/// one pass over memory ([`Kernels::max_exp_sum`]) instead of two.
///
/// A row cannot tell whether it sits in cache, so the size is chosen
/// where the one pass loses little when it does: on a row in L1 the
/// AVX-512 one pass costs what the two passes cost (min-of-N, 4096 f32:
/// 0.259 against 0.042 + 0.220 ns/elem), the AVX2 one about 0.07
/// ns/elem more. A row streamed from memory (a batch of 16 KiB rows:
/// (4096, 4096) f32) saves the separate max pass, whose memory time
/// otherwise adds to the exp time instead of overlapping it: logsumexp
/// went from 0.39 to 0.26 ns/elem there (min-of-N; `docs/benchmarks.md`).
/// Rows of at most 1024 elements (one block of the SIMD kernels) get
/// bitwise the two-pass answer either way.
pub const FUSED_MIN_BYTES: usize = 16 * 1024;

/// A regular row's maximum and [`ExpSum`], or `None` (see
/// [`Kernels::max_exp_sum`]).
pub type MaxExpSum<F> = Option<(F, ExpSum)>;

/// [`Kernels::max_exp_sum_store`]: `(out, x, scaling, shifts)`.
pub type MaxExpSumStore<F> =
    fn(out: &mut [F], x: &[F], scaling: Scaling<F>, shifts: &mut [F]) -> MaxExpSum<F>;

/// [`Kernels::scale_blocks`]: `(out, shifts, m, scaling, denom)`.
pub type ScaleBlocks<F> = fn(out: &mut [F], shifts: &[F], m: F, scaling: Scaling<F>, denom: f64);

/// [`Kernels::shift_blocks`]: `(out, shifts, m, scaling, c)`.
pub type ShiftBlocks<F> = fn(out: &mut [F], shifts: &[F], m: F, scaling: Scaling<F>, c: F);

/// Entries per block of the one-pass kernels ([`Kernels::max_exp_sum`],
/// [`Kernels::max_exp_sum_store`]).
pub const BLOCK: usize = 1024;

/// [`Kernels::max_log_store`]: `(next, out, x, m, scaling, c) -> max(next)`.
pub type MaxLogStore<F> =
    fn(next: &[F], out: &mut [F], x: &[F], m: F, scaling: Scaling<F>, c: F) -> F;

/// A block of lanes laid side by side, read by the vertical kernels
/// ([`Kernels::cols_exp_sum`], [`Kernels::cols_exp_times`],
/// [`Kernels::cols_minus`]): `rows` rows of `width` lanes, lane `j` of
/// row `i` at `i * stride + j` from the block's first element. Built from
/// an ndarray view whose second axis has unit stride (so each row is a
/// slice), it is how a softmax along a non-last axis of a C-ordered
/// array is computed many lanes per instruction.
#[derive(Debug, Clone, Copy)]
pub struct Lanes<'a, F> {
    ptr: *const F,
    block: Block,
    _view: PhantomData<&'a [F]>,
}

/// Rows, lanes and row stride of a [`Lanes`] or [`LanesMut`] block.
#[derive(Debug, Clone, Copy)]
struct Block {
    stride: isize,
    rows: usize,
    width: usize,
}

impl Block {
    /// The block of a 2-d view of shape `dim` and `strides`, if its rows
    /// are contiguous (unit stride along the second axis, or one column).
    fn of((rows, width): (usize, usize), strides: &[isize]) -> Option<Block> {
        (width <= 1 || strides[1] == 1).then_some(Block {
            stride: strides[0],
            rows,
            width,
        })
    }
}

impl<'a, F> Lanes<'a, F> {
    /// The view's lanes (its columns), or `None` unless its rows are
    /// contiguous (unit stride along the second axis, or one column).
    pub fn new(v: ArrayView2<'a, F>) -> Option<Self> {
        Some(Lanes {
            block: Block::of(v.dim(), v.strides())?,
            ptr: v.as_ptr(),
            _view: PhantomData,
        })
    }
    /// `(pointer, row stride, rows, width)`: every `ptr + i * stride + j`
    /// with `i < rows`, `j < width` is readable while `'a` lasts.
    pub(crate) fn raw(&self) -> (*const F, isize, usize, usize) {
        let b = self.block;
        (self.ptr, b.stride, b.rows, b.width)
    }
}

/// The writable counterpart of [`Lanes`].
#[derive(Debug)]
pub struct LanesMut<'a, F> {
    ptr: *mut F,
    block: Block,
    _view: PhantomData<&'a mut [F]>,
}

impl<'a, F> LanesMut<'a, F> {
    /// As [`Lanes::new`], for writing.
    pub fn new(mut v: ArrayViewMut2<'a, F>) -> Option<Self> {
        Some(LanesMut {
            block: Block::of(v.dim(), v.strides())?,
            ptr: v.as_mut_ptr(),
            _view: PhantomData,
        })
    }
    /// As [`Lanes::raw`]: every `ptr + i * stride + j` is writable (and
    /// disjoint from any [`Lanes`] alive, which a `&mut` view guarantees).
    pub(crate) fn raw(&mut self) -> (*mut F, isize, usize, usize) {
        let b = self.block;
        (self.ptr, b.stride, b.rows, b.width)
    }
}

/// A vertical kernel's block as raw parts, its lengths checked: for `i <
/// rows`, `j < width`, `x + i * sx + j` is readable and (unless `out` is
/// null) `out + i * so + j` writable, the two disjoint.
#[derive(Clone, Copy)]
pub(crate) struct ColsArgs<F> {
    pub out: *mut F,
    pub so: isize,
    pub x: *const F,
    pub sx: isize,
    pub rows: usize,
    pub width: usize,
}

/// [`ColsArgs`] of a vertical kernel's arguments, after checking that
/// `out` has `x`'s shape and that every per-lane slice covers the width.
pub(crate) fn cols_args<F>(
    out: Option<LanesMut<F>>,
    x: Lanes<F>,
    per_lane: &[usize],
) -> ColsArgs<F> {
    let (xp, sx, rows, width) = x.raw();
    assert!(
        per_lane.iter().all(|&l| l >= width),
        "per-lane slices shorter than the block"
    );
    let (out, so) = match out {
        Some(mut o) => {
            let (p, so, r, w) = o.raw();
            assert!(r == rows && w == width, "out and x differ in shape");
            (p, so)
        }
        None => (std::ptr::null_mut(), 0),
    };
    ColsArgs {
        out,
        so,
        x: xp,
        sx,
        rows,
        width,
    }
}

/// [`Kernels::cols_exp_sum`]: `(out, x, m, scaling, acc, ties)`.
pub type ColsExpSum<F> = fn(
    out: Option<LanesMut<F>>,
    x: Lanes<F>,
    m: &[F],
    scaling: Scaling<F>,
    acc: &mut [F],
    ties: &mut [F],
);

/// [`Kernels::cols_exp_times`], [`Kernels::cols_minus`]: `(out, x, m,
/// scaling, k)`.
pub type ColsMap<F> = fn(out: LanesMut<F>, x: Lanes<F>, m: &[F], scaling: Scaling<F>, k: &[F]);

/// One instruction set's kernels for element type `F`.
///
/// All kernels take the shift `m` and the [`Scaling`]; `z_i` below means
/// `scaling.apply(x_i, m)`.
#[derive(Debug)]
pub struct Kernels<F: 'static> {
    /// The table's name: `"scalar"`, `"avx2"`, `"avx512"`, `"neon"`.
    pub name: &'static str,
    /// Maximum of a slice; NaN if any entry is NaN; -inf if empty.
    pub max: fn(&[F]) -> F,
    /// Minimum of a slice; NaN if any entry is NaN; +inf if empty.
    pub min: fn(&[F]) -> F,
    /// [`ExpSum`] of a regular row.
    pub exp_sum: fn(x: &[F], m: F, scaling: Scaling<F>) -> ExpSum,
    /// The row's maximum and its [`ExpSum`] together, in one pass over
    /// memory where the table can (for rows that leave cache); `None`
    /// unless the row is regular with the maximum as shift (empty, all
    /// -inf, a NaN or a +inf give `None`). Not for a negative beta (whose
    /// shift is the minimum) nor `beta = 0`.
    pub max_exp_sum: fn(x: &[F], scaling: Scaling<F>) -> MaxExpSum<F>,
    /// `max_exp_sum` that also stores each block's exps (of
    /// [`BLOCK`] entries) to `out`, relative to the running maximum at
    /// that block, recorded in `shifts` (at least one entry per block);
    /// with [`Kernels::scale_blocks`] after it, softmax in one pass over
    /// the input.
    pub max_exp_sum_store: MaxExpSumStore<F>,
    /// `out` block `j` times `exp(scale(shifts[j] - m)) / denom` (exactly
    /// `scale`'s factor where `shifts[j] == m`).
    pub scale_blocks: ScaleBlocks<F>,
    /// `max_exp_sum_store` that stores each block's `z` values (relative
    /// to the running maximum at that block, recorded in `shifts`)
    /// instead of their exps; with [`Kernels::shift_blocks`] after it,
    /// log-softmax in one pass over the input.
    pub max_z_sum_store: MaxExpSumStore<F>,
    /// `out` block `j` minus `scale(m - shifts[j]) + c` (formed in f64 and
    /// rounded: exactly `c` where `shifts[j] == m`); blocks whose shift is
    /// -inf (all -inf entries) are left as they are.
    pub shift_blocks: ShiftBlocks<F>,
    /// `out_i = exp(z_i)` and the row's [`ExpSum`] (as `exp_sum`), in one
    /// pass: with [`Kernels::scale`] after it, softmax takes one exp per
    /// entry.
    pub exp_sum_store: fn(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>) -> ExpSum,
    /// `x_i = exp(z_i)` in place, and the row's [`ExpSum`].
    pub exp_sum_store_in_place: fn(x: &mut [F], m: F, scaling: Scaling<F>) -> ExpSum,
    /// `out_i = out_i / denom` (SIMD tables: times `1/denom` rounded to
    /// `F`, one extra rounding).
    pub scale: fn(out: &mut [F], denom: f64),
    /// The maximum of `x` (as `max`) and, in the same loop, `out_i =
    /// out_i / denom` (as `scale`); `x` and `out` may differ in length.
    pub max_scale: fn(x: &[F], out: &mut [F], denom: f64) -> F,
    /// `out_i = exp(z_i) / denom`.
    pub exp_store: fn(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>, denom: f64),
    /// `x_i = exp(z_i) / denom`, in place.
    pub exp_store_in_place: fn(x: &mut [F], m: F, scaling: Scaling<F>, denom: f64),
    /// `out_i = z_i - c`.
    pub log_store: fn(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>, c: F),
    /// The maximum of `next` (as `max`) and, in the same loop, `out_i =
    /// z_i - c` for the row `x` (as `log_store`).
    pub max_log_store: MaxLogStore<F>,
    /// `x_i = z_i - c`, in place.
    pub log_store_in_place: fn(x: &mut [F], m: F, scaling: Scaling<F>, c: F),
    /// The vertical maxima: `m[j] = max(m[j], x[i][j])` over the rows of
    /// a [`Lanes`] block; `nan[j]` becomes NaN where lane `j` holds one
    /// (and is left as it is elsewhere; `m[j]` is then unspecified).
    pub cols_max: fn(x: Lanes<F>, m: &mut [F], nan: &mut [F]),
    /// The vertical sums (lane `j` of a [`Lanes`] block is one softmax
    /// lane; `z = scale(x[i][j] - m[j])`): for every row, `exp(z)` is
    /// added to `acc[j]`, except where `z == 0`, which adds 1 to `ties[j]`
    /// instead (as [`ExpSum`] leaves the maxima out); with `out`, `exp(z)`
    /// is also stored there. Rows are added in order, each to the lane's
    /// running `acc[j]` in `F`: callers move `acc` to f64 every few rows.
    /// `m`, `acc` and `ties` hold at least `width` entries.
    pub cols_exp_sum: ColsExpSum<F>,
    /// `out[i][j] = exp(z) * k[j]` (the vertical softmax store, with `k`
    /// the lanes' `1/(1 + s)` rounded to `F`).
    pub cols_exp_times: ColsMap<F>,
    /// `out[i][j] = z - k[j]`, bit for bit as [`Kernels::log_store`] with
    /// `m[j]` and `c = k[j]`.
    pub cols_minus: ColsMap<F>,
}

fn forced() -> Option<String> {
    std::env::var("BOLTZMAX_KERNEL").ok()
}

fn pick<F>(available: Vec<&'static Kernels<F>>) -> &'static Kernels<F> {
    // `available` is ordered best first and always ends with scalar.
    if let Some(name) = forced()
        && let Some(k) = available.iter().find(|k| k.name == name)
    {
        return k;
    }
    available[0]
}

/// Every f32 table this CPU can run, best first; the scalar table last.
pub fn available_f32() -> Vec<&'static Kernels<f32>> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static Kernels<f32>> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    v.extend(x86_64::tables_f32());
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    v.extend(aarch64::tables_f32());
    v.push(&scalar::F32);
    v
}

/// Every f64 table this CPU can run, best first; the scalar table last.
pub fn available_f64() -> Vec<&'static Kernels<f64>> {
    #[allow(unused_mut)]
    let mut v: Vec<&'static Kernels<f64>> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    v.extend(x86_64::tables_f64());
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    v.extend(aarch64::tables_f64());
    v.push(&scalar::F64);
    v
}

/// The f32 table used by default, chosen once per process.
pub fn detected_f32() -> &'static Kernels<f32> {
    static K: OnceLock<&'static Kernels<f32>> = OnceLock::new();
    K.get_or_init(|| pick(available_f32()))
}

/// The f64 table used by default, chosen once per process.
pub fn detected_f64() -> &'static Kernels<f64> {
    static K: OnceLock<&'static Kernels<f64>> = OnceLock::new();
    K.get_or_init(|| pick(available_f64()))
}
