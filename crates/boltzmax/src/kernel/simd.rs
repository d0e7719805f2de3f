//! The kernel bodies, written once over a vector type.
//!
//! Each instruction set implements [`Vector`] for its f32 and f64
//! registers (`x86_64/` for AVX-512 and AVX2, `aarch64.rs` for NEON); its
//! table then instantiates the generic bodies below inside functions
//! compiled with that instruction set's features. The trait's methods are `#[inline(always)]`, so after
//! inlining every body is straight-line code over that instruction set's
//! registers, with no calls left in the loops.
//!
//! The bodies compute `z_i` exactly as [`Scaling::apply`] does (the same
//! operations in the same order, the overflow fallback included), so the
//! log-space kernels give bitwise the scalar table's answers and the
//! exponential kernels differ from it only by the vector exp's rounding.
//!
//! ## The vector exp
//!
//! Every [`Vector::exp`] follows one algorithm, with the constants in
//! [`consts`]. `e^z = 2^n e^r` with `n = round(z log2 e)` and
//! `r = z - n ln 2` (Cody and Waite, with `ln 2` split in two: `LN2_HI` is
//! `ln 2` rounded to the element type, so `z - n LN2_HI` is exact under
//! FMA for every `z` the kernels see). `n` comes from one FMA,
//! `z log2 e + 1.5 * 2^(p-1)`, whose rounding to an integer is the
//! rounding we want. Then `e^r = 1 + r q(r)` on `|r| <= ln 2 / 2`,
//! Horner's rule, with `q` a Chebyshev fit of `(e^r - 1)/r` (mpmath
//! `chebyfit`; exp polynomial of degree 6 for f32, 11 for f64: fit errors
//! 2.4e-8 and 3.3e-17 relative, a fifth of an ulp). `z` is first clamped
//! to `Z_MIN`, below which `e^z` rounds to 0, which also maps -inf to 0
//! while NaN passes through the clamp. The scaling by `2^n` must be exact
//! for normal results and round once for subnormal ones; each instruction
//! set says how it does that.
//!
//! AVX-512's f32 exp takes a table variant of the same reduction: `z log2
//! e` is rounded to a multiple `t` of 1/16, `2^(t - floor t)` comes from
//! a sixteen-entry table held in one register, and `e^r` on `|r| <= ln 2
//! / 32` needs only a cubic (the method of Tang, 1989, with the table
//! lookup a single `vpermps`). It saves two of the FMA-unit operations
//! that bound the exp's throughput (see `x86_64/avx512.rs`).

use super::{ExpSum, Scaling};
use crate::real::Real;

/// A SIMD register of `LANES` elements of type `F`, with the operations
/// the kernels need.
///
/// # Safety
///
/// Implementations use instruction-set intrinsics; every method may be
/// called only from code running on a CPU that has the implementation's
/// features (the tables are handed out only after run-time detection).
pub(crate) unsafe trait Vector: Copy {
    /// The element type.
    type F: Real;
    /// A per-lane boolean.
    type Mask: Copy;
    /// Number of elements.
    const LANES: usize;

    /// Unaligned load of `LANES` elements.
    ///
    /// # Safety
    /// `p` must be valid for reading `LANES` elements.
    unsafe fn load(p: *const Self::F) -> Self;
    /// Unaligned store of `LANES` elements.
    ///
    /// # Safety
    /// `p` must be valid for writing `LANES` elements.
    unsafe fn store(self, p: *mut Self::F);
    /// Every lane `v`.
    fn splat(v: Self::F) -> Self;
    /// Lane-wise `self + o`.
    fn add(self, o: Self) -> Self;
    /// Lane-wise `self - o`.
    fn sub(self, o: Self) -> Self;
    /// Lane-wise `self * o`.
    fn mul(self, o: Self) -> Self;
    /// Lane-wise `self / o`.
    fn div(self, o: Self) -> Self;
    /// Lane-wise maximum; which operand a NaN lane gives is unspecified
    /// (callers track NaN with [`Vector::nan`]).
    fn max(self, o: Self) -> Self;
    /// Lane-wise minimum, NaN as for [`Vector::max`].
    fn min(self, o: Self) -> Self;
    /// Lanes that are NaN.
    fn nan(self) -> Self::Mask;
    /// Lanes where `a` or `b` is NaN: x86 has it as one unordered
    /// compare, which halves the NaN checks of the max pass.
    #[inline(always)]
    fn nan2(a: Self, b: Self) -> Self::Mask {
        Self::or(a.nan(), b.nan())
    }
    /// Lanes equal to zero (either sign).
    fn is_zero(self) -> Self::Mask;
    /// Lanes holding +inf or -inf.
    fn is_inf(self) -> Self::Mask;
    /// `a | b`.
    fn or(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// `a & !b`.
    fn and_not(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    /// The empty mask.
    fn none() -> Self::Mask;
    /// True if any lane is set.
    fn any(m: Self::Mask) -> bool;
    /// Number of lanes set.
    fn count(m: Self::Mask) -> usize;
    /// `m ? a : b`, lane-wise.
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;
    /// `self + e` in the lanes not in `m`, `self` in those in `m` (the
    /// sums that leave the ties out). By default a select and an add;
    /// AVX-512 has it as one masked add.
    #[inline(always)]
    fn add_unless(self, m: Self::Mask, e: Self) -> Self {
        self.add(Self::select(m, Self::splat(<Self::F as Real>::ZERO), e))
    }
    /// `e^self`, within 2 ulp for `self <= 0`; -inf gives 0, NaN gives NaN;
    /// subnormal results are kept.
    fn exp(self) -> Self;
    /// Largest lane (NaN lanes: unspecified).
    fn reduce_max(self) -> Self::F;
    /// Smallest lane (NaN lanes: unspecified).
    fn reduce_min(self) -> Self::F;
    /// Sum of the lanes, each converted exactly to f64 and added in f64.
    fn sum_f64(self) -> f64;

    /// The `k < LANES` elements at `p` in the first lanes, `fill` in the
    /// others. By default through a buffer; instruction sets with masked
    /// loads override it (a row's tail is loaded in every pass, and the
    /// buffer copies cost tens of nanoseconds per short row).
    ///
    /// # Safety
    /// `p` must be valid for reading `k` elements.
    #[inline(always)]
    unsafe fn load_partial(p: *const Self::F, k: usize, fill: Self::F) -> Self {
        let mut buf = [fill; 16];
        // SAFETY: `k < LANES <= 16`; `p` readable for `k` (caller).
        unsafe {
            std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), k);
            Self::load(buf.as_ptr())
        }
    }
    /// Stores the first `k < LANES` lanes at `p` (by default through a
    /// buffer, as [`Vector::load_partial`]).
    ///
    /// # Safety
    /// `p` must be valid for writing `k` elements.
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut Self::F, k: usize) {
        let mut buf = [<Self::F as Real>::ZERO; 16];
        // SAFETY: `k < LANES <= 16`; `p` writable for `k` (caller).
        unsafe {
            self.store(buf.as_mut_ptr());
            std::ptr::copy_nonoverlapping(buf.as_ptr(), p, k);
        }
    }
}

/// How `z` is formed from `x - m` inside a loop: resolved once per call so
/// that the loops carry no branch on the scaling.
pub(crate) trait Zs<V: Vector>: Copy {
    /// `scaling.apply(x, m)`, lane-wise, bit for bit.
    fn z(self, x: V, m: V) -> V;
    /// An `x` whose `z` is -inf (so `exp(z) = 0`): the padding of a row's
    /// last register.
    fn bottom(self) -> V::F {
        V::F::NEG_INFINITY
    }
}

#[derive(Clone, Copy)]
pub(crate) struct One;
#[derive(Clone, Copy)]
pub(crate) struct DivBy<V>(V);
#[derive(Clone, Copy)]
pub(crate) struct MulBy<V: Vector>(V, V::F);

impl<V: Vector> Zs<V> for One {
    #[inline(always)]
    fn z(self, x: V, m: V) -> V {
        x.sub(m)
    }
}

/// Lanes where `x - m` overflowed although `x` is finite (`m` is finite
/// in a regular row): there [`Scaling::apply`] scales before subtracting.
#[inline(always)]
fn overflowed<V: Vector>(d: V, x: V) -> V::Mask {
    V::and_not(d.is_inf(), x.is_inf())
}

impl<V: Vector> Zs<V> for DivBy<V> {
    #[inline(always)]
    fn z(self, x: V, m: V) -> V {
        let d = x.sub(m);
        let z = d.div(self.0);
        let o = overflowed(d, x);
        if V::any(o) {
            V::select(o, x.div(self.0).sub(m.div(self.0)), z)
        } else {
            z
        }
    }
}

impl<V: Vector> Zs<V> for MulBy<V> {
    #[inline(always)]
    fn bottom(self) -> V::F {
        // A negative beta shifts by the minimum: +inf is its bottom.
        if self.1 < V::F::ZERO {
            V::F::INFINITY
        } else {
            V::F::NEG_INFINITY
        }
    }
    #[inline(always)]
    fn z(self, x: V, m: V) -> V {
        let d = x.sub(m);
        let z = d.mul(self.0);
        let o = overflowed(d, x);
        if V::any(o) {
            V::select(o, x.mul(self.0).sub(m.mul(self.0)), z)
        } else {
            z
        }
    }
}

/// Runs `$body` with `$s` bound to the loop form of `$scaling`.
macro_rules! with_zs {
    ($V:ty, $scaling:expr, |$s:ident| $body:expr) => {
        match $scaling {
            Scaling::One | Scaling::Uniform => {
                let $s = One;
                $body
            }
            Scaling::Div(t) => {
                let $s = DivBy(<$V>::splat(t));
                $body
            }
            Scaling::Mul(b) => {
                let $s = MulBy(<$V>::splat(b), b);
                $body
            }
        }
    };
}

/// Loads the last `x.len() < LANES` elements into a register, the other
/// lanes holding `fill`.
#[inline(always)]
fn load_tail<V: Vector>(x: &[V::F], fill: V::F) -> V {
    debug_assert!(x.len() < V::LANES);
    // SAFETY: `x` is readable for its length.
    unsafe { V::load_partial(x.as_ptr(), x.len(), fill) }
}

/// Stores the first `out.len() < LANES` lanes of `v`.
#[inline(always)]
fn store_tail<V: Vector>(out: &mut [V::F], v: V) {
    debug_assert!(out.len() < V::LANES);
    // SAFETY: `out` is writable for its length.
    unsafe { v.store_partial(out.as_mut_ptr(), out.len()) }
}

#[inline(always)]
fn pick<V: Vector, const MAX: bool>(a: V, b: V) -> V {
    if MAX { a.max(b) } else { a.min(b) }
}

/// Maximum (`MAX`) or minimum (`!MAX`) of `x`; NaN if any entry is NaN.
///
/// (No closures in these bodies: a closure would not inherit the target
/// features of the function the body is inlined into.)
#[inline(always)]
pub(crate) fn extremum<V: Vector, const MAX: bool>(x: &[V::F]) -> V::F {
    let w = V::LANES;
    let start = if MAX {
        V::F::NEG_INFINITY
    } else {
        V::F::INFINITY
    };
    let mut acc = [V::splat(start); 4];
    let mut nan = V::none();
    let mut chunks = x.chunks_exact(4 * w);
    for c in &mut chunks {
        // SAFETY: `c` holds 4 * LANES elements.
        let v = unsafe {
            let p = c.as_ptr();
            [
                V::load(p),
                V::load(p.add(w)),
                V::load(p.add(2 * w)),
                V::load(p.add(3 * w)),
            ]
        };
        for (a, v) in acc.iter_mut().zip(v) {
            *a = pick::<V, MAX>(*a, v);
        }
        nan = V::or(nan, V::or(V::nan2(v[0], v[1]), V::nan2(v[2], v[3])));
    }
    let mut rest = chunks.remainder().chunks_exact(w);
    for c in &mut rest {
        // SAFETY: `c` holds LANES elements.
        let v = unsafe { V::load(c.as_ptr()) };
        acc[0] = pick::<V, MAX>(acc[0], v);
        nan = V::or(nan, v.nan());
    }
    let tail = rest.remainder();
    if !tail.is_empty() {
        let v = load_tail::<V>(tail, start);
        acc[0] = pick::<V, MAX>(acc[0], v);
        nan = V::or(nan, v.nan());
    }
    if V::any(nan) {
        return V::F::NAN;
    }
    let a = pick::<V, MAX>(
        pick::<V, MAX>(acc[0], acc[1]),
        pick::<V, MAX>(acc[2], acc[3]),
    );
    if MAX { a.reduce_max() } else { a.reduce_min() }
}

/// Elements per block whose lane sums are formed in `F` before being
/// added to the f64 total: short enough that an f32 row's sum does not
/// degrade with its length (each lane adds at most
/// `BLOCK / (2 * LANES)` terms in f32).
pub(crate) const BLOCK: usize = super::BLOCK;

/// What [`exp_sum_block`] and the one pass store per entry: nothing,
/// `exp(z_i)` (softmax), or `z_i` itself (log-softmax).
const NONE: u8 = 0;
/// See [`NONE`].
const EXPS: u8 = 1;
/// See [`NONE`].
const ZS: u8 = 2;

/// Stores two registers' exps (`STORE` = [`EXPS`]) or `z` values
/// ([`ZS`]) at `out` and `out + w`; nothing for [`NONE`].
///
/// # Safety
/// Unless `STORE` is [`NONE`], `out` writable for `2 w` elements.
#[inline(always)]
unsafe fn store_pair<V: Vector, const STORE: u8>(out: *mut V::F, w: usize, z: (V, V), e: (V, V)) {
    let (a, b) = match STORE {
        EXPS => e,
        ZS => z,
        _ => return,
    };
    // SAFETY: caller.
    unsafe {
        a.store(out);
        b.store(out.add(w));
    }
}

/// One block's lane sums (of `n <= BLOCK` elements at `x`), added to
/// `total` in f64; with `STORE` = [`EXPS`] (or [`ZS`]), `exp(z_i)` (or
/// `z_i`) written to `out` (which may
/// equal `x`).
///
/// The sum must leave out one entry with `z == 0` (a maximum: `1 + s` is
/// formed in f64, and `s` alone must keep its relative accuracy when it
/// is tiny). While `*ties == 0` every register is checked; the zero lanes
/// of the first register that has any are left out and counted in
/// `ties`. After that nothing is checked: any later maximum is added as
/// an ordinary exp of exactly 1, which costs the sum no accuracy (it is
/// then at least 1), and the loop runs without the compare and the count,
/// which cost about an eighth of its time on AVX-512 (the FMA pipes bound
/// it, and they also do the compares).
///
/// # Safety
/// `x` readable for `n` elements; unless `STORE` is [`NONE`], `out`
/// writable for `n` elements, equal to `x` if they overlap.
#[inline(always)]
unsafe fn exp_sum_block<V: Vector, S: Zs<V>, const STORE: u8>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    s: S,
    total: &mut f64,
    ties: &mut usize,
) {
    let w = V::LANES;
    let mv = V::splat(m);
    let mut a0 = V::splat(V::F::ZERO);
    let mut a1 = V::splat(V::F::ZERO);
    let mut i = 0;
    // SAFETY (the loads and stores below): in bounds by the loop
    // conditions and the caller's guarantees (`out` is dereferenced only
    // with `STORE`; `wrapping_add` keeps a null `out` well defined).
    // Two registers a step, one per accumulator, as in the loop below:
    // each lane of a block then adds the same number of terms whatever
    // the maximum's position (`BLOCK / (2 * LANES)`, the bound the tests
    // state).
    while *ties == 0 && i + 2 * w <= n {
        let (z0, z1) = unsafe { (s.z(V::load(x.add(i)), mv), s.z(V::load(x.add(i + w)), mv)) };
        let (e0, e1) = (z0.exp(), z1.exp());
        unsafe { store_pair::<V, STORE>(out.wrapping_add(i), w, (z0, z1), (e0, e1)) };
        i += 2 * w;
        let (k0, k1) = (z0.is_zero(), z1.is_zero());
        if V::any(V::or(k0, k1)) {
            a0 = a0.add_unless(k0, e0);
            a1 = a1.add_unless(k1, e1);
            *ties = V::count(k0) + V::count(k1);
        } else {
            a0 = a0.add(e0);
            a1 = a1.add(e1);
        }
    }
    while i + 2 * w <= n {
        unsafe {
            let z0 = s.z(V::load(x.add(i)), mv);
            let z1 = s.z(V::load(x.add(i + w)), mv);
            let (e0, e1) = (z0.exp(), z1.exp());
            store_pair::<V, STORE>(out.wrapping_add(i), w, (z0, z1), (e0, e1));
            a0 = a0.add(e0);
            a1 = a1.add(e1);
        }
        i += 2 * w;
    }
    if i + w <= n {
        let z = s.z(unsafe { V::load(x.add(i)) }, mv);
        let e = z.exp();
        match STORE {
            EXPS => unsafe { e.store(out.wrapping_add(i)) },
            ZS => unsafe { z.store(out.wrapping_add(i)) },
            _ => {}
        }
        if *ties == 0 {
            let zero = z.is_zero();
            a0 = a0.add_unless(zero, e);
            *ties = V::count(zero);
        } else {
            a0 = a0.add(e);
        }
        i += w;
    }
    if i < n {
        let k = n - i;
        // The padding lanes hold the bottom, so their exp is 0 and not a
        // tie.
        let v = load_tail::<V>(
            unsafe { std::slice::from_raw_parts(x.add(i), k) },
            s.bottom(),
        );
        let z = s.z(v, mv);
        let e = z.exp();
        match STORE {
            EXPS => unsafe { e.store_partial(out.wrapping_add(i), k) },
            ZS => unsafe { z.store_partial(out.wrapping_add(i), k) },
            _ => {}
        }
        if *ties == 0 {
            let zero = z.is_zero();
            a1 = a1.add_unless(zero, e);
            *ties = V::count(zero);
        } else {
            a1 = a1.add(e);
        }
    }
    *total += a0.sum_f64() + a1.sum_f64();
}

#[inline(always)]
fn exp_sum_with<V: Vector, S: Zs<V>>(x: &[V::F], m: V::F, s: S) -> ExpSum {
    let mut total = 0.0f64;
    let mut ties = 0usize;
    for b in x.chunks(BLOCK) {
        // SAFETY: `b` is readable; nothing is stored.
        unsafe {
            exp_sum_block::<V, S, NONE>(
                std::ptr::null_mut(),
                b.as_ptr(),
                b.len(),
                m,
                s,
                &mut total,
                &mut ties,
            )
        };
    }
    ExpSum { sum: total, ties }
}

#[inline(always)]
unsafe fn exp_sum_store_with<V: Vector, S: Zs<V>>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    s: S,
) -> ExpSum {
    let mut total = 0.0f64;
    let mut ties = 0usize;
    let mut i = 0;
    while i < n {
        let k = BLOCK.min(n - i);
        // SAFETY: elements `i..i + k` are in bounds (caller).
        unsafe {
            exp_sum_block::<V, S, EXPS>(out.add(i), x.add(i), k, m, s, &mut total, &mut ties)
        };
        i += k;
    }
    ExpSum { sum: total, ties }
}

/// `out_i = exp(z_i)` and the row's [`ExpSum`]; the sums are those of
/// [`exp_sum`] bit for bit.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn exp_sum_store<V: Vector>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    scaling: Scaling<V::F>,
) -> ExpSum {
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        exp_sum_store_with::<V, _>(out, x, n, m, s)
    })
}

/// The maximum of `x` (as [`extremum`], NaN included) while `out_i *=
/// 1/denom` (as [`scale`], bit for bit), in one loop: a batch's scaling
/// of one row overlapped with the max pass of the next.
#[inline(always)]
pub(crate) fn max_scale<V: Vector>(x: &[V::F], out: &mut [V::F], denom: f64) -> V::F {
    let r = V::splat(recip::<V::F>(denom));
    let p = out.as_mut_ptr();
    // SAFETY: `out` is read and written in place, for its length; `x` is
    // a shared slice, so it does not overlap `out`.
    unsafe { max_map::<V, Raw>(x, p, p, out.len(), V::F::ZERO, Raw, Times(r)) }
}

/// `z = x` (no shift): [`max_scale`]'s in-place pass through [`max_map`].
#[derive(Clone, Copy)]
pub(crate) struct Raw;

impl<V: Vector> Zs<V> for Raw {
    #[inline(always)]
    fn z(self, x: V, _m: V) -> V {
        x
    }
}

/// `out_i *= 1/denom` (the reciprocal rounded to the element type).
#[inline(always)]
pub(crate) fn scale<V: Vector>(out: &mut [V::F], denom: f64) {
    let r = V::splat(recip::<V::F>(denom));
    let w = V::LANES;
    let mut chunks = out.chunks_exact_mut(2 * w);
    for c in &mut chunks {
        // SAFETY: `c` holds 2 * LANES elements.
        unsafe {
            let p = c.as_mut_ptr();
            let (a, b) = (V::load(p), V::load(p.add(w)));
            a.mul(r).store(p);
            b.mul(r).store(p.add(w));
        }
    }
    let rest = chunks.into_remainder();
    let mut rest = rest.chunks_exact_mut(w);
    for c in &mut rest {
        // SAFETY: `c` holds LANES elements.
        unsafe { V::load(c.as_ptr()).mul(r).store(c.as_mut_ptr()) };
    }
    let tail = rest.into_remainder();
    if !tail.is_empty() {
        let v = load_tail::<V>(tail, V::F::ZERO).mul(r);
        store_tail(tail, v);
    }
}

/// [`ExpSum`] of a regular row.
#[inline(always)]
pub(crate) fn exp_sum<V: Vector>(x: &[V::F], m: V::F, scaling: Scaling<V::F>) -> ExpSum {
    with_zs!(V, scaling, |s| exp_sum_with::<V, _>(x, m, s))
}

/// `exp(scale(old - new))` in f64: the factor that moves a sum taken
/// relative to the shift `old` to the larger shift `new`.
#[inline(always)]
pub(crate) fn rescale<F: Real>(scaling: Scaling<F>, old: F, new: F) -> f64 {
    scaling.apply_f64(old, new).exp()
}

/// The one pass of [`max_exp_sum`]; with `STORE` = [`EXPS`] (or [`ZS`])
/// it also writes each block's exps (or `z` values), relative to the
/// running maximum at that block, recorded in `shifts[block]`, to `out`,
/// which may equal `x`.
///
/// # Safety
/// Unless `STORE` is [`NONE`], `out` writable for `x.len()` elements (equal to `x` if
/// they overlap) and `shifts` at least `x.len().div_ceil(BLOCK)` long.
#[inline(always)]
unsafe fn max_exp_sum_with<V: Vector, S: Zs<V>, const STORE: u8>(
    out: *mut V::F,
    x: &[V::F],
    scaling: Scaling<V::F>,
    s: S,
    shifts: &mut [V::F],
) -> Option<(V::F, ExpSum)> {
    let mut m = V::F::NEG_INFINITY;
    let mut total = 0.0f64;
    let mut ties = 0usize;
    for (j, b) in x.chunks(BLOCK).enumerate() {
        // The block is re-read from L1 by the sum below: one pass over
        // memory in all.
        let bm = extremum::<V, true>(b);
        if bm.is_nan() || bm == V::F::INFINITY {
            return None;
        }
        let o = out.wrapping_add(j * BLOCK);
        if bm == V::F::NEG_INFINITY {
            // Every entry is -inf: nothing to add, exps of 0.
            if STORE != NONE {
                // Exps of 0, or the z of -inf entries.
                let v = if STORE == EXPS {
                    V::F::ZERO
                } else {
                    V::F::NEG_INFINITY
                };
                // SAFETY: the block lies within `out` (caller).
                unsafe { std::slice::from_raw_parts_mut(o, b.len()) }.fill(v);
                shifts[j] = V::F::NEG_INFINITY;
            }
            continue;
        }
        if bm > m {
            if m != V::F::NEG_INFINITY {
                // The old maxima stop being ties.
                total = (total + ties as f64) * rescale(scaling, m, bm);
                ties = 0;
            }
            m = bm;
        }
        if STORE != NONE {
            shifts[j] = m;
        }
        // SAFETY: `b` is readable; with `STORE` its block of `out` is
        // writable (caller).
        unsafe {
            exp_sum_block::<V, S, STORE>(o, b.as_ptr(), b.len(), m, s, &mut total, &mut ties)
        };
    }
    if m == V::F::NEG_INFINITY {
        None
    } else {
        Some((m, ExpSum { sum: total, ties }))
    }
}

/// The maximum and the [`ExpSum`] of a row in one pass over memory (the
/// online normaliser of Milakov and Gimelshein, 2018, per block of
/// [`BLOCK`] elements: a block's maximum is found first, the running sum
/// is rescaled in f64 when it grows, then the block's exps are summed
/// from L1). `None` when the row is not regular: empty, all -inf, a NaN
/// or a +inf. `scaling` must not shift by the minimum.
#[inline(always)]
pub(crate) fn max_exp_sum<V: Vector>(x: &[V::F], scaling: Scaling<V::F>) -> Option<(V::F, ExpSum)> {
    // SAFETY: nothing is stored.
    with_zs!(V, scaling, |s| unsafe {
        max_exp_sum_with::<V, _, NONE>(std::ptr::null_mut(), x, scaling, s, &mut [])
    })
}

/// [`max_exp_sum`] that also stores each block's exps to `out`, relative
/// to the running maximum at that block, recorded in `shifts` (one entry
/// per block of [`BLOCK`]); [`scale_blocks`] then finishes the softmax.
/// One pass over `x`: for rows that stream from memory the separate max
/// pass is what keeps the exps from overlapping the loads.
///
/// # Safety
/// `out` writable for `x.len()` elements, equal to `x` if they overlap;
/// `shifts` at least `x.len().div_ceil(BLOCK)` long.
#[inline(always)]
pub(crate) unsafe fn max_exp_sum_store<V: Vector>(
    out: *mut V::F,
    x: &[V::F],
    scaling: Scaling<V::F>,
    shifts: &mut [V::F],
) -> Option<(V::F, ExpSum)> {
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        max_exp_sum_with::<V, _, EXPS>(out, x, scaling, s, shifts)
    })
}

/// Finishes [`max_exp_sum_store`]: block `j` is multiplied by
/// `exp(scale(shifts[j] - m)) / denom` rounded to `F`, which is exactly
/// [`scale`]'s `1/denom` for the blocks stored relative to `m` itself.
#[inline(always)]
pub(crate) fn scale_blocks<V: Vector>(
    out: &mut [V::F],
    shifts: &[V::F],
    m: V::F,
    scaling: Scaling<V::F>,
    denom: f64,
) {
    for (b, &sh) in out.chunks_mut(BLOCK).zip(shifts) {
        if sh == m {
            scale::<V>(b, denom);
        } else {
            // The factor itself, not `1 / (denom / f)`: for a block far
            // below the maximum `f` is tiny and `denom / f` overflows. It
            // may round to a subnormal or 0; the block's exps are at most
            // 1, so the products are then as small and keep an absolute
            // error within an ulp. (0 for an all -inf block.)
            let r = V::splat(V::F::from_f64(rescale(scaling, sh, m) / denom));
            let p = b.as_mut_ptr();
            // SAFETY: in place, `b.len()` elements.
            unsafe { map::<V, Raw>(p, p, b.len(), V::F::ZERO, Raw, Times(r)) };
        }
    }
}

/// [`max_exp_sum_store`] that stores `z` (relative to each block's
/// running maximum) instead of its exp; [`shift_blocks`] then finishes
/// the log-softmax. One pass over `x`, as for softmax: the last pass then
/// works on `out` in cache instead of reading `x` again while it waits
/// for the output's memory.
///
/// # Safety
/// As for [`max_exp_sum_store`].
#[inline(always)]
pub(crate) unsafe fn max_z_sum_store<V: Vector>(
    out: *mut V::F,
    x: &[V::F],
    scaling: Scaling<V::F>,
    shifts: &mut [V::F],
) -> Option<(V::F, ExpSum)> {
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        max_exp_sum_with::<V, _, ZS>(out, x, scaling, s, shifts)
    })
}

/// Finishes [`max_z_sum_store`]: block `j` minus `scale(m - shifts[j]) +
/// c` (formed in f64, rounded to `F`), which is exactly `c` for the
/// blocks stored relative to `m` itself (then bit for bit [`log_store`]).
/// All -inf blocks (shift -inf) are left as they are.
#[inline(always)]
pub(crate) fn shift_blocks<V: Vector>(
    out: &mut [V::F],
    shifts: &[V::F],
    m: V::F,
    scaling: Scaling<V::F>,
    c: V::F,
) {
    for (b, &sh) in out.chunks_mut(BLOCK).zip(shifts) {
        let d = if sh == m {
            c
        } else if sh == V::F::NEG_INFINITY {
            continue;
        } else {
            V::F::from_f64(c.to_f64() - scaling.apply_f64(sh, m))
        };
        let p = b.as_mut_ptr();
        // SAFETY: in place, `b.len()` elements.
        unsafe { map::<V, Raw>(p, p, b.len(), V::F::ZERO, Raw, Minus(V::splat(d))) };
    }
}

/// The rounded reciprocal `1 / denom` the stores multiply by.
#[inline(always)]
pub(crate) fn recip<F: Real>(denom: f64) -> F {
    F::from_f64(1.0 / denom)
}

/// What a store kernel writes for each `z`.
pub(crate) trait Op<V>: Copy {
    fn apply(self, z: V) -> V;
}

/// `exp(z) * r`.
#[derive(Clone, Copy)]
pub(crate) struct ExpTimes<V>(V);

impl<V: Vector> Op<V> for ExpTimes<V> {
    #[inline(always)]
    fn apply(self, z: V) -> V {
        z.exp().mul(self.0)
    }
}

/// `z * r`.
#[derive(Clone, Copy)]
pub(crate) struct Times<V>(V);

impl<V: Vector> Op<V> for Times<V> {
    #[inline(always)]
    fn apply(self, z: V) -> V {
        z.mul(self.0)
    }
}

/// `z - c`.
#[derive(Clone, Copy)]
pub(crate) struct Minus<V>(V);

impl<V: Vector> Op<V> for Minus<V> {
    #[inline(always)]
    fn apply(self, z: V) -> V {
        z.sub(self.0)
    }
}

/// What a vertical store writes per lane: `f(z, k)` with the lane's own
/// operand `k`.
pub(crate) trait LaneOp<V>: Copy {
    fn apply(self, z: V, k: V) -> V;
}

/// `exp(z) * k`.
#[derive(Clone, Copy)]
pub(crate) struct ExpTimesLane;

impl<V: Vector> LaneOp<V> for ExpTimesLane {
    #[inline(always)]
    fn apply(self, z: V, k: V) -> V {
        z.exp().mul(k)
    }
}

/// `z - k`.
#[derive(Clone, Copy)]
pub(crate) struct MinusLane;

impl<V: Vector> LaneOp<V> for MinusLane {
    #[inline(always)]
    fn apply(self, z: V, k: V) -> V {
        z.sub(k)
    }
}

/// The vertical maxima of [`super::Kernels::cols_max`].
///
/// # Safety
/// As [`super::ColsArgs`] states (`out` unused), with `m` and `nan` valid
/// for `a.width` elements and disjoint from the block and each other.
#[inline(always)]
pub(crate) unsafe fn cols_max<V: Vector>(a: super::ColsArgs<V::F>, m: *mut V::F, nan: *mut V::F) {
    // Four rows per load and store of the lanes' state (which otherwise
    // costs as much as the rows' own loads).
    let mut i = 0;
    // SAFETY: rows `i..i + R` are in the block (caller).
    unsafe {
        while i + 4 <= a.rows {
            cols_max_rows::<V, 4>(rows::<V, 4>(&a, i), a.width, m, nan);
            i += 4;
        }
        while i < a.rows {
            cols_max_rows::<V, 1>(rows::<V, 1>(&a, i), a.width, m, nan);
            i += 1;
        }
    }
}

/// The input rows `i..i + R` of a vertical block.
///
/// # Safety
/// `i + R <= a.rows`.
#[inline(always)]
unsafe fn rows<V: Vector, const R: usize>(a: &super::ColsArgs<V::F>, i: usize) -> [*const V::F; R] {
    // SAFETY: in the block (caller).
    std::array::from_fn(|r| unsafe { a.x.offset((i + r) as isize * a.sx) })
}

/// The output rows `i..i + R` of a vertical block (null where `out` is).
#[inline(always)]
fn out_rows<V: Vector, const R: usize>(a: &super::ColsArgs<V::F>, i: usize) -> [*mut V::F; R] {
    std::array::from_fn(|r| a.out.wrapping_offset((i + r) as isize * a.so))
}

/// [`cols_max`] over the `R` rows at `xr`.
///
/// # Safety
/// Each row readable for `width` elements; `m`, `nan` valid for `width`.
#[inline(always)]
unsafe fn cols_max_rows<V: Vector, const R: usize>(
    xr: [*const V::F; R],
    width: usize,
    m: *mut V::F,
    nan: *mut V::F,
) {
    let w = V::LANES;
    let mut j = 0;
    // SAFETY: `j + LANES <= width` (or the masked tail of `r` lanes).
    unsafe {
        while j + w <= width {
            let mut mv = V::load(m.add(j));
            let mut f = V::load(nan.add(j));
            for x in xr {
                let v = V::load(x.add(j));
                mv = mv.max(v);
                f = V::select(v.nan(), v, f);
            }
            mv.store(m.add(j));
            f.store(nan.add(j));
            j += w;
        }
        if j < width {
            let r = width - j;
            let lo = V::F::NEG_INFINITY;
            let mut mv = V::load_partial(m.add(j), r, lo);
            let mut f = V::load_partial(nan.add(j), r, V::F::ZERO);
            for x in xr {
                let v = V::load_partial(x.add(j), r, lo);
                mv = mv.max(v);
                f = V::select(v.nan(), v, f);
            }
            mv.store_partial(m.add(j), r);
            f.store_partial(nan.add(j), r);
        }
    }
}

/// The vertical sums of [`super::Kernels::cols_exp_sum`] (`out` null: no
/// store).
///
/// # Safety
/// As [`super::ColsArgs`] states, with `m`, `acc` and `ties` valid for
/// `a.width` elements and disjoint from the block and from each other.
#[inline(always)]
pub(crate) unsafe fn cols_exp_sum<V: Vector>(
    a: super::ColsArgs<V::F>,
    m: *const V::F,
    scaling: Scaling<V::F>,
    acc: *mut V::F,
    ties: *mut V::F,
) {
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        if a.out.is_null() {
            cols_exp_sum_z::<V, _, false>(a, m, s, acc, ties)
        } else {
            cols_exp_sum_z::<V, _, true>(a, m, s, acc, ties)
        }
    })
}

#[inline(always)]
unsafe fn cols_exp_sum_z<V: Vector, S: Zs<V>, const STORE: bool>(
    a: super::ColsArgs<V::F>,
    m: *const V::F,
    s: S,
    acc: *mut V::F,
    ties: *mut V::F,
) {
    // Row after row, each lane's sum kept in memory (`acc`, in L1) between
    // pairs of rows: one or two streams through the block, and each lane
    // adds its terms in row order whatever the block's width (so the
    // answer does not depend on how the lanes are split).
    let mut i = 0;
    // SAFETY: rows `i..i + R` are in the block (caller).
    unsafe {
        while i + 2 <= a.rows {
            cols_exp_sum_rows::<V, S, STORE, 2>(
                rows::<V, 2>(&a, i),
                out_rows::<V, 2>(&a, i),
                a.width,
                m,
                s,
                acc,
                ties,
            );
            i += 2;
        }
        if i < a.rows {
            cols_exp_sum_rows::<V, S, STORE, 1>(
                rows::<V, 1>(&a, i),
                out_rows::<V, 1>(&a, i),
                a.width,
                m,
                s,
                acc,
                ties,
            );
        }
    }
}

/// [`cols_exp_sum`] over the `R` rows at `xr` (and `or`), in row order.
///
/// # Safety
/// Each row readable (and, with `STORE`, each output row writable) for
/// `width` elements; `m`, `acc`, `ties` valid for `width`.
#[inline(always)]
unsafe fn cols_exp_sum_rows<V: Vector, S: Zs<V>, const STORE: bool, const R: usize>(
    xr: [*const V::F; R],
    or: [*mut V::F; R],
    width: usize,
    m: *const V::F,
    s: S,
    acc: *mut V::F,
    ties: *mut V::F,
) {
    let w = V::LANES;
    let zero = V::splat(V::F::ZERO);
    let one = V::splat(V::F::ONE);
    let mut j = 0;
    // SAFETY: `j + LANES <= width` (or the masked tail of `r` lanes).
    unsafe {
        while j + w <= width {
            let mv = V::load(m.add(j));
            let mut av = V::load(acc.add(j));
            let mut tv = V::load(ties.add(j));
            for r in 0..R {
                let z = s.z(V::load(xr[r].add(j)), mv);
                let e = z.exp();
                if STORE {
                    e.store(or[r].add(j));
                }
                let k = z.is_zero();
                av = av.add_unless(k, e);
                tv = tv.add(V::select(k, one, zero));
            }
            av.store(acc.add(j));
            tv.store(ties.add(j));
            j += w;
        }
        if j < width {
            let n = width - j;
            let f = V::F::ZERO;
            let mv = V::load_partial(m.add(j), n, f);
            let mut av = V::load_partial(acc.add(j), n, f);
            let mut tv = V::load_partial(ties.add(j), n, f);
            for r in 0..R {
                let z = s.z(V::load_partial(xr[r].add(j), n, f), mv);
                let e = z.exp();
                if STORE {
                    e.store_partial(or[r].add(j), n);
                }
                let k = z.is_zero();
                av = av.add_unless(k, e);
                tv = tv.add(V::select(k, one, zero));
            }
            av.store_partial(acc.add(j), n);
            tv.store_partial(ties.add(j), n);
        }
    }
}

/// `out[i][j] = op(z, k[j])` over a block of lanes
/// ([`super::Kernels::cols_exp_times`], [`super::Kernels::cols_minus`]).
///
/// # Safety
/// As [`super::ColsArgs`] states (`out` not null), with `m` and `k`
/// valid for `a.width` elements.
#[inline(always)]
pub(crate) unsafe fn cols_map<V: Vector, O: LaneOp<V>>(
    a: super::ColsArgs<V::F>,
    m: *const V::F,
    scaling: Scaling<V::F>,
    k: *const V::F,
    op: O,
) {
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        cols_map_z::<V, _, O>(a, m, s, k, op)
    })
}

#[inline(always)]
unsafe fn cols_map_z<V: Vector, S: Zs<V>, O: LaneOp<V>>(
    a: super::ColsArgs<V::F>,
    m: *const V::F,
    s: S,
    k: *const V::F,
    op: O,
) {
    let mut i = 0;
    // SAFETY: rows `i..i + R` are in the block (caller).
    unsafe {
        while i + 2 <= a.rows {
            cols_map_rows::<V, S, O, 2>(
                rows::<V, 2>(&a, i),
                out_rows::<V, 2>(&a, i),
                a.width,
                m,
                s,
                k,
                op,
            );
            i += 2;
        }
        if i < a.rows {
            cols_map_rows::<V, S, O, 1>(
                rows::<V, 1>(&a, i),
                out_rows::<V, 1>(&a, i),
                a.width,
                m,
                s,
                k,
                op,
            );
        }
    }
}

/// [`cols_map`] over the `R` rows at `xr`, written to `or`.
///
/// # Safety
/// Each row readable and each output row writable for `width` elements;
/// `m`, `k` valid for `width`.
#[inline(always)]
unsafe fn cols_map_rows<V: Vector, S: Zs<V>, O: LaneOp<V>, const R: usize>(
    xr: [*const V::F; R],
    or: [*mut V::F; R],
    width: usize,
    m: *const V::F,
    s: S,
    k: *const V::F,
    op: O,
) {
    let w = V::LANES;
    let mut j = 0;
    // SAFETY: `j + LANES <= width` (or the masked tail of `n` lanes).
    unsafe {
        while j + w <= width {
            let (mv, kv) = (V::load(m.add(j)), V::load(k.add(j)));
            for r in 0..R {
                op.apply(s.z(V::load(xr[r].add(j)), mv), kv)
                    .store(or[r].add(j));
            }
            j += w;
        }
        if j < width {
            let n = width - j;
            let f = V::F::ZERO;
            let (mv, kv) = (
                V::load_partial(m.add(j), n, f),
                V::load_partial(k.add(j), n, f),
            );
            for r in 0..R {
                op.apply(s.z(V::load_partial(xr[r].add(j), n, f), mv), kv)
                    .store_partial(or[r].add(j), n);
            }
        }
    }
}

/// `out_i = f(z_i)` for `i < n`, reading `x` and writing `out`, which may
/// be the same pointer (in place).
///
/// # Safety
/// `x` must be valid for reading and `out` for writing `n` elements; if
/// they overlap they must be equal.
#[inline(always)]
unsafe fn map<V: Vector, S: Zs<V>>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    s: S,
    f: impl Op<V>,
) {
    let w = V::LANES;
    let mv = V::splat(m);
    let mut i = 0;
    while i + 2 * w <= n {
        // SAFETY: `i + 2 * LANES <= n` elements are in bounds of both.
        unsafe {
            let v0 = V::load(x.add(i));
            let v1 = V::load(x.add(i + w));
            f.apply(s.z(v0, mv)).store(out.add(i));
            f.apply(s.z(v1, mv)).store(out.add(i + w));
        }
        i += 2 * w;
    }
    while i + w <= n {
        // SAFETY: `i + LANES <= n`.
        unsafe { f.apply(s.z(V::load(x.add(i)), mv)).store(out.add(i)) };
        i += w;
    }
    if i < n {
        let k = n - i;
        // SAFETY: elements `i..n` are in bounds; the input is copied out
        // before the output is written, so equal pointers are fine.
        let v = load_tail::<V>(unsafe { std::slice::from_raw_parts(x.add(i), k) }, m);
        let y = f.apply(s.z(v, mv));
        store_tail(unsafe { std::slice::from_raw_parts_mut(out.add(i), k) }, y);
    }
}

/// `out_i = exp(z_i) * (1 / denom)`.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn exp_store<V: Vector>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    scaling: Scaling<V::F>,
    denom: f64,
) {
    let r = V::splat(recip::<V::F>(denom));
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        map::<V, _>(out, x, n, m, s, ExpTimes(r))
    })
}

/// `out_i = z_i - c`, bit for bit as the scalar table.
///
/// # Safety
/// As for [`map`].
#[inline(always)]
pub(crate) unsafe fn log_store<V: Vector>(
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    scaling: Scaling<V::F>,
    c: V::F,
) {
    let cv = V::splat(c);
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        map::<V, _>(out, x, n, m, s, Minus(cv))
    })
}

/// The maximum of `next` (as [`extremum`], NaN included) while `out_i =
/// z_i - c` for the row `x` (as [`log_store`], bit for bit), in one loop:
/// the log-softmax counterpart of [`max_scale`].
///
/// # Safety
/// `x` readable and `out` writable for `n` elements, equal if they
/// overlap; `next` must not overlap `out`.
#[inline(always)]
pub(crate) unsafe fn max_log_store<V: Vector>(
    next: &[V::F],
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    scaling: Scaling<V::F>,
    c: V::F,
) -> V::F {
    let cv = V::splat(c);
    // SAFETY: forwarded from the caller.
    with_zs!(V, scaling, |s| unsafe {
        max_map::<V, _>(next, out, x, n, m, s, Minus(cv))
    })
}

#[inline(always)]
unsafe fn max_map<V: Vector, S: Zs<V>>(
    next: &[V::F],
    out: *mut V::F,
    x: *const V::F,
    n: usize,
    m: V::F,
    s: S,
    f: impl Op<V>,
) -> V::F {
    let w = V::LANES;
    let mv = V::splat(m);
    let both = next.len().min(n) / (4 * w) * (4 * w);
    let mut acc = [V::splat(V::F::NEG_INFINITY); 4];
    let mut nan = V::none();
    let mut i = 0;
    while i < both {
        // SAFETY: `i + 4 * LANES <= both`: in bounds of `next`, `x` and
        // `out` (caller).
        unsafe {
            let p = next.as_ptr().add(i);
            let v = [
                V::load(p),
                V::load(p.add(w)),
                V::load(p.add(2 * w)),
                V::load(p.add(3 * w)),
            ];
            for (a, v) in acc.iter_mut().zip(v) {
                *a = a.max(v);
            }
            nan = V::or(nan, V::or(V::nan2(v[0], v[1]), V::nan2(v[2], v[3])));
            for j in 0..4 {
                let k = i + j * w;
                f.apply(s.z(V::load(x.add(k)), mv)).store(out.add(k));
            }
        }
        i += 4 * w;
    }
    // SAFETY: elements `both..n` are in bounds (caller).
    unsafe { map::<V, S>(out.add(both), x.add(both), n - both, m, s, f) };
    let rest = extremum::<V, true>(&next[both..]);
    if V::any(nan) || rest.is_nan() {
        return V::F::NAN;
    }
    let a = acc[0].max(acc[1]).max(acc[2].max(acc[3])).reduce_max();
    if rest > a { rest } else { a }
}

/// `log2 e`, and `ln 2` split as `LN2_HI + LN2_LO`.
pub(super) mod consts {
    pub const LOG2E_F32: f32 = std::f32::consts::LOG2_E;
    pub const LN2_HI_F32: f32 = std::f32::consts::LN_2;
    pub const LN2_LO_F32: f32 = -1.904_654_2e-9;
    /// Below this `e^z < 2^-150` rounds to 0 in f32.
    pub const Z_MIN_F32: f32 = -104.0;
    /// Above this every f32 result is normal (`n >= -125`).
    pub const Z_NORMAL_F32: f32 = -86.0;
    /// `1.5 * 2^23`: adding it rounds to an integer.
    pub const ROUND_F32: f32 = 12_582_912.0;
    /// `q(r) ~ (e^r - 1)/r`, coefficients of `r^0 ..= r^5`.
    pub const Q_F32: [f32; 6] = [
        1.0,
        0.5,
        0.166_665_05,
        0.041_666_467,
        0.008_369_149,
        0.001_393_364_2,
    ];

    /// `1.5 * 2^19`, whose ulp is 1/16: adding it rounds to a multiple
    /// of 1/16 (the table exp of AVX-512).
    #[cfg(target_arch = "x86_64")]
    pub const ROUND16_F32: f32 = 786_432.0;
    /// `2^(j/16)` for `j = 0..16`, each correctly rounded to f32 (mpmath).
    #[cfg(target_arch = "x86_64")]
    pub const EXP2_16_F32: [f32; 16] = [
        f32::from_bits(0x3f80_0000),
        f32::from_bits(0x3f85_aac3),
        f32::from_bits(0x3f8b_95c2),
        f32::from_bits(0x3f91_c3d3),
        f32::from_bits(0x3f98_37f0),
        f32::from_bits(0x3f9e_f532),
        f32::from_bits(0x3fa5_fed7),
        f32::from_bits(0x3fad_583f),
        f32::from_bits(0x3fb5_04f3),
        f32::from_bits(0x3fbd_08a4),
        f32::from_bits(0x3fc5_672a),
        f32::from_bits(0x3fce_248c),
        f32::from_bits(0x3fd7_44fd),
        f32::from_bits(0x3fe0_ccdf),
        f32::from_bits(0x3fea_c0c7),
        f32::from_bits(0x3ff5_257d),
    ];
    /// `q(r) ~ (e^r - 1)/r` on `|r| <= ln 2 / 32`, coefficients of
    /// `r^0 ..= r^2` (minimax of the relative error of `1 + r q(r)`,
    /// Lawson's algorithm in numpy: 1.6e-9, a fortieth of an ulp).
    #[cfg(target_arch = "x86_64")]
    pub const Q16_F32: [f32; 3] = [1.0, 0.500_016_2, 0.166_660_74];

    /// `1.5 * 2^48`, whose ulp is 1/16: adding it rounds to a multiple
    /// of 1/16 (the table exp of AVX-512, f64).
    #[cfg(target_arch = "x86_64")]
    pub const ROUND16_F64: f64 = 422_212_465_065_984.0;
    /// `2^(j/16)` for `j = 0..16`, each correctly rounded to f64 (mpmath,
    /// 60 digits).
    #[cfg(target_arch = "x86_64")]
    pub const EXP2_16_F64: [f64; 16] = [
        f64::from_bits(0x3ff0_0000_0000_0000),
        f64::from_bits(0x3ff0_b558_6cf9_890f),
        f64::from_bits(0x3ff1_72b8_3c7d_517b),
        f64::from_bits(0x3ff2_387a_6e75_6238),
        f64::from_bits(0x3ff3_06fe_0a31_b715),
        f64::from_bits(0x3ff3_dea6_4c12_3422),
        f64::from_bits(0x3ff4_bfda_d536_2a27),
        f64::from_bits(0x3ff5_ab07_dd48_5429),
        f64::from_bits(0x3ff6_a09e_667f_3bcd),
        f64::from_bits(0x3ff7_a114_73eb_0187),
        f64::from_bits(0x3ff8_ace5_422a_a0db),
        f64::from_bits(0x3ff9_c491_82a3_f090),
        f64::from_bits(0x3ffa_e89f_995a_d3ad),
        f64::from_bits(0x3ffc_199b_dd85_529c),
        f64::from_bits(0x3ffd_5818_dcfb_a487),
        f64::from_bits(0x3ffe_a4af_a2a4_90da),
    ];
    /// `2^(j/16) - EXP2_16_F64[j]`, the entries' rounding errors (mpmath,
    /// 60 digits, rounded to f64), added back by the AVX-512 f64 exp.
    #[cfg(target_arch = "x86_64")]
    pub const EXP2_16_LO_F64: [f64; 16] = [
        f64::from_bits(0x0000_0000_0000_0000),
        f64::from_bits(0x3c98_a62e_4adc_610b),
        f64::from_bits(0xbc81_9041_b9d7_8a76),
        f64::from_bits(0x3c99_b07e_b6c7_0573),
        f64::from_bits(0x3c86_f46a_d231_82e4),
        f64::from_bits(0x3c8a_da09_11f0_9ebc),
        f64::from_bits(0x3c7d_4397_afec_42e2),
        f64::from_bits(0x3c96_324c_0546_47ad),
        f64::from_bits(0xbc9b_dd34_13b2_6456),
        f64::from_bits(0xbc84_1577_ee04_992f),
        f64::from_bits(0x3c96_e9f1_5686_4b27),
        f64::from_bits(0x3c7c_7c46_b071_f2be),
        f64::from_bits(0x3c97_a1cd_345d_cc81),
        f64::from_bits(0x3c81_1065_8950_48dd),
        f64::from_bits(0x3c82_ed02_d75b_3707),
        f64::from_bits(0xbc9e_9c23_179c_2893),
    ];
    /// `q(r) ~ (e^r - 1)/r` on `|r| <= ln 2 / 32`, coefficients of `r^0
    /// ..= r^5`: `1 + r h(r)` with `h` interpolating `(e^r - 1 - r)/r^2`
    /// at the five Chebyshev nodes (mpmath, 60 digits); relative error of
    /// `1 + r q(r)` with these rounded coefficients 2.8e-17 (0.13 ulp).
    #[cfg(target_arch = "x86_64")]
    pub const Q16_F64: [f64; 6] = [
        1.0,
        0.5,
        0.166_666_666_653_016_9,
        0.041_666_666_664_960_45,
        0.008_333_449_701_253_456,
        0.001_388_903_434_859_946_4,
    ];
    pub const LOG2E_F64: f64 = std::f64::consts::LOG2_E;
    pub const LN2_HI_F64: f64 = std::f64::consts::LN_2;
    pub const LN2_LO_F64: f64 = 2.319_046_813_846_299_6e-17;
    /// Below this `e^z < 2^-1075` rounds to 0 in f64.
    pub const Z_MIN_F64: f64 = -746.0;
    /// Above this every f64 result is normal (`n >= -1021`).
    pub const Z_NORMAL_F64: f64 = -707.0;
    /// `1.5 * 2^52`: adding it rounds to an integer.
    pub const ROUND_F64: f64 = 6_755_399_441_055_744.0;
    /// `q(r) ~ (e^r - 1)/r`, coefficients of `r^0 ..= r^10`.
    pub const Q_F64: [f64; 11] = [
        1.0,
        0.500_000_000_000_000_6,
        0.166_666_666_666_666_7,
        0.041_666_666_666_573_14,
        0.008_333_333_333_326_141,
        0.001_388_888_893_248_86,
        0.000_198_412_698_748_004_93,
        2.480_150_434_699_768_6e-5,
        2.755_725_542_574_643_5e-6,
        2.762_635_724_144_722_3e-7,
        2.510_520_637_395_701e-8,
    ];
}
