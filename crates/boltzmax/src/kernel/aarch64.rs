//! aarch64 kernel tables: NEON (Advanced SIMD), 4 f32 or 2 f64 lanes.
//!
//! NEON is part of the aarch64 baseline (every aarch64 CPU a Rust target
//! runs on has it, and the `neon` target feature is on by default), so the
//! tables need no run-time detection: this module is compiled only where
//! `target_feature = "neon"` is enabled for the whole crate, and that is
//! what makes the intrinsics below, and the safe function pointers in the
//! tables, sound. The tables are still listed before the scalar one in
//! [`available_f32`](super::available_f32) and
//! [`available_f64`](super::available_f64), and `BOLTZMAX_KERNEL=neon`
//! (or `scalar`) selects one.
//!
//! ## The vector exp
//!
//! The algorithm and constants of `simd.rs` ("The vector exp"), with NEON's
//! fused multiply-adds (`vfmaq`, `vfmsq`). NEON has no `scalef`, so the
//! scaling by `2^n` is AVX2's: where every lane's result is normal it adds
//! `n` to the exponent bits of `e^r` (exact); where a lane's result may be
//! subnormal (`z` below `Z_NORMAL`, a rare branch) it multiplies by
//! `2^(n - h)` and then `2^h` with `h = floor(n / 2)`: both factors are
//! normal, the first product is exact and the second rounds once, so
//! subnormal results are kept and rounded once, never flushed. (aarch64
//! Linux runs with flush-to-zero off, as Rust requires.)
//!
//! Measured under `qemu-aarch64` by `tests/simd_exp.rs` (the same
//! arguments as on x86_64): worst 0.90 ulp in f32 and 0.90 ulp in f64;
//! the tests assert 2. Speed has not been measured: no aarch64 machine
//! was available (qemu's timings say nothing about hardware).

use std::arch::aarch64::*;

use super::simd::consts::*;
use super::simd::{self, Vector};
use super::{ExpSum, Kernels, Scaling};

/// `2^k` for integral `k` in [-126, 127]: `k + 2^23 + 127` has `k + 127`
/// in its low mantissa bits, which the shift moves into the exponent.
#[inline(always)]
fn pow2_f32(k: float32x4_t) -> float32x4_t {
    // SAFETY: NEON is enabled for the whole crate (module docs).
    unsafe {
        let b = vreinterpretq_u32_f32(vaddq_f32(k, vdupq_n_f32(8_388_735.0)));
        vreinterpretq_f32_u32(vshlq_n_u32::<23>(b))
    }
}

/// `2^k` for integral `k` in [-1022, 1023], as [`pow2_f32`] with
/// `k + 2^52 + 1023`.
#[inline(always)]
fn pow2_f64(k: float64x2_t) -> float64x2_t {
    // SAFETY: as for `pow2_f32`.
    unsafe {
        let b = vreinterpretq_u64_f64(vaddq_f64(k, vdupq_n_f64(4_503_599_627_371_519.0)));
        vreinterpretq_f64_u64(vshlq_n_u64::<52>(b))
    }
}

/// Four f32 lanes; masks are all-ones lanes.
#[derive(Clone, Copy)]
pub(crate) struct F32x4(float32x4_t);

/// Two f64 lanes; masks are all-ones lanes.
#[derive(Clone, Copy)]
pub(crate) struct F64x2(float64x2_t);

// SAFETY: every method uses NEON only, which is enabled for the whole
// crate wherever this module is compiled (module docs). The same holds
// for every `unsafe` block in the two impls below.
unsafe impl Vector for F32x4 {
    type F = f32;
    type Mask = uint32x4_t;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { F32x4(vld1q_f32(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { vst1q_f32(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        unsafe { F32x4(vdupq_n_f32(v)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { F32x4(vaddq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        unsafe { F32x4(vsubq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        unsafe { F32x4(vmulq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        unsafe { F32x4(vdivq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        // `fmax`: a NaN operand gives NaN.
        unsafe { F32x4(vmaxq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        unsafe { F32x4(vminq_f32(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan(self) -> uint32x4_t {
        unsafe { vmvnq_u32(vceqq_f32(self.0, self.0)) }
    }
    #[inline(always)]
    fn is_zero(self) -> uint32x4_t {
        unsafe { vceqzq_f32(self.0) }
    }
    #[inline(always)]
    fn is_inf(self) -> uint32x4_t {
        unsafe { vceqq_f32(vabsq_f32(self.0), vdupq_n_f32(f32::INFINITY)) }
    }
    #[inline(always)]
    fn or(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        unsafe { vorrq_u32(a, b) }
    }
    #[inline(always)]
    fn and_not(a: uint32x4_t, b: uint32x4_t) -> uint32x4_t {
        // `bic`: a & !b.
        unsafe { vbicq_u32(a, b) }
    }
    #[inline(always)]
    fn none() -> uint32x4_t {
        unsafe { vdupq_n_u32(0) }
    }
    #[inline(always)]
    fn any(m: uint32x4_t) -> bool {
        unsafe { vmaxvq_u32(m) != 0 }
    }
    #[inline(always)]
    fn count(m: uint32x4_t) -> usize {
        // Each set lane is all ones: its top bit counts 1.
        unsafe { vaddvq_u32(vshrq_n_u32::<31>(m)) as usize }
    }
    #[inline(always)]
    fn select(m: uint32x4_t, a: Self, b: Self) -> Self {
        unsafe { F32x4(vbslq_f32(m, a.0, b.0)) }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            // `fmax` gives NaN for a NaN lane: NaN passes the clamp.
            let z = vmaxq_f32(vdupq_n_f32(Z_MIN_F32), self.0);
            let big = vdupq_n_f32(ROUND_F32);
            // vfmaq(a, b, c) = a + b c, vfmsq(a, b, c) = a - b c, fused.
            let t = vfmaq_f32(big, z, vdupq_n_f32(LOG2E_F32));
            let n = vsubq_f32(t, big);
            let r = vfmsq_f32(z, n, vdupq_n_f32(LN2_HI_F32));
            let r = vfmsq_f32(r, n, vdupq_n_f32(LN2_LO_F32));
            let mut q = vdupq_n_f32(Q_F32[5]);
            for c in Q_F32[..5].iter().rev() {
                q = vfmaq_f32(vdupq_n_f32(*c), q, r);
            }
            let e = vfmaq_f32(vdupq_n_f32(1.0), q, r);
            let low = vcltq_f32(z, vdupq_n_f32(Z_NORMAL_F32));
            if vmaxvq_u32(low) == 0 {
                // Every result normal: add n to the exponent. The low bits
                // of t are n (plus 2^22, which the shift pushes out).
                let nb = vshlq_n_s32::<23>(vreinterpretq_s32_f32(t));
                F32x4(vreinterpretq_f32_s32(vaddq_s32(
                    vreinterpretq_s32_f32(e),
                    nb,
                )))
            } else {
                // n in [-150, 0]: h = floor(n/2) and n - h are in [-75, 0].
                let h = vrndmq_f32(vmulq_f32(n, vdupq_n_f32(0.5)));
                let g = vsubq_f32(n, h);
                // NaN lanes: e is NaN, and NaN times anything stays NaN.
                F32x4(vmulq_f32(vmulq_f32(e, pow2_f32(g)), pow2_f32(h)))
            }
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        unsafe { vmaxvq_f32(self.0) }
    }
    #[inline(always)]
    fn reduce_min(self) -> f32 {
        unsafe { vminvq_f32(self.0) }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe {
            let lo = vcvt_f64_f32(vget_low_f32(self.0));
            let hi = vcvt_high_f64_f32(self.0);
            vaddvq_f64(vaddq_f64(lo, hi))
        }
    }
}

/// The all-ones-lanes mask as 32-bit lanes, for the across-lane ops
/// NEON has only for 32-bit elements.
#[inline(always)]
fn u32s(m: uint64x2_t) -> uint32x4_t {
    unsafe { vreinterpretq_u32_u64(m) }
}

// SAFETY: as for `F32x4`.
unsafe impl Vector for F64x2 {
    type F = f64;
    type Mask = uint64x2_t;
    const LANES: usize = 2;

    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { F64x2(vld1q_f64(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { vst1q_f64(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f64) -> Self {
        unsafe { F64x2(vdupq_n_f64(v)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { F64x2(vaddq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        unsafe { F64x2(vsubq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        unsafe { F64x2(vmulq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        unsafe { F64x2(vdivq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        unsafe { F64x2(vmaxq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        unsafe { F64x2(vminq_f64(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan(self) -> uint64x2_t {
        unsafe { vreinterpretq_u64_u32(vmvnq_u32(u32s(vceqq_f64(self.0, self.0)))) }
    }
    #[inline(always)]
    fn is_zero(self) -> uint64x2_t {
        unsafe { vceqzq_f64(self.0) }
    }
    #[inline(always)]
    fn is_inf(self) -> uint64x2_t {
        unsafe { vceqq_f64(vabsq_f64(self.0), vdupq_n_f64(f64::INFINITY)) }
    }
    #[inline(always)]
    fn or(a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
        unsafe { vorrq_u64(a, b) }
    }
    #[inline(always)]
    fn and_not(a: uint64x2_t, b: uint64x2_t) -> uint64x2_t {
        unsafe { vbicq_u64(a, b) }
    }
    #[inline(always)]
    fn none() -> uint64x2_t {
        unsafe { vdupq_n_u64(0) }
    }
    #[inline(always)]
    fn any(m: uint64x2_t) -> bool {
        unsafe { vmaxvq_u32(u32s(m)) != 0 }
    }
    #[inline(always)]
    fn count(m: uint64x2_t) -> usize {
        unsafe { vaddvq_u64(vshrq_n_u64::<63>(m)) as usize }
    }
    #[inline(always)]
    fn select(m: uint64x2_t, a: Self, b: Self) -> Self {
        unsafe { F64x2(vbslq_f64(m, a.0, b.0)) }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            let z = vmaxq_f64(vdupq_n_f64(Z_MIN_F64), self.0);
            let big = vdupq_n_f64(ROUND_F64);
            let t = vfmaq_f64(big, z, vdupq_n_f64(LOG2E_F64));
            let n = vsubq_f64(t, big);
            let r = vfmsq_f64(z, n, vdupq_n_f64(LN2_HI_F64));
            let r = vfmsq_f64(r, n, vdupq_n_f64(LN2_LO_F64));
            let mut q = vdupq_n_f64(Q_F64[10]);
            for c in Q_F64[..10].iter().rev() {
                q = vfmaq_f64(vdupq_n_f64(*c), q, r);
            }
            let e = vfmaq_f64(vdupq_n_f64(1.0), q, r);
            let low = vcltq_f64(z, vdupq_n_f64(Z_NORMAL_F64));
            if vmaxvq_u32(u32s(low)) == 0 {
                // Every result normal: add n (the low bits of t) to the
                // exponent.
                let nb = vshlq_n_s64::<52>(vreinterpretq_s64_f64(t));
                F64x2(vreinterpretq_f64_s64(vaddq_s64(
                    vreinterpretq_s64_f64(e),
                    nb,
                )))
            } else {
                // n in [-1077, 0]: h = floor(n/2) and n - h are in [-539, 0].
                let h = vrndmq_f64(vmulq_f64(n, vdupq_n_f64(0.5)));
                let g = vsubq_f64(n, h);
                F64x2(vmulq_f64(vmulq_f64(e, pow2_f64(g)), pow2_f64(h)))
            }
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f64 {
        unsafe { vmaxvq_f64(self.0) }
    }
    #[inline(always)]
    fn reduce_min(self) -> f64 {
        unsafe { vminvq_f64(self.0) }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe { vaddvq_f64(self.0) }
    }
}

fn max<V: Vector>(x: &[V::F]) -> V::F {
    simd::extremum::<V, true>(x)
}
fn min<V: Vector>(x: &[V::F]) -> V::F {
    simd::extremum::<V, false>(x)
}
fn exp_sum<V: Vector>(x: &[V::F], m: V::F, s: Scaling<V::F>) -> ExpSum {
    simd::exp_sum::<V>(x, m, s)
}
fn max_exp_sum<V: Vector>(x: &[V::F], s: Scaling<V::F>) -> Option<(V::F, ExpSum)> {
    simd::max_exp_sum::<V>(x, s)
}
fn exp_sum_store<V: Vector>(out: &mut [V::F], x: &[V::F], m: V::F, s: Scaling<V::F>) -> ExpSum {
    assert_eq!(out.len(), x.len());
    // SAFETY: both slices hold `x.len()` elements and do not overlap.
    unsafe { simd::exp_sum_store::<V>(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s) }
}
fn exp_sum_store_in_place<V: Vector>(x: &mut [V::F], m: V::F, s: Scaling<V::F>) -> ExpSum {
    let p = x.as_mut_ptr();
    // SAFETY: in place, `x.len()` elements.
    unsafe { simd::exp_sum_store::<V>(p, p, x.len(), m, s) }
}
fn scale<V: Vector>(out: &mut [V::F], d: f64) {
    simd::scale::<V>(out, d)
}
fn max_exp_sum_store<V: Vector>(
    out: &mut [V::F],
    x: &[V::F],
    s: Scaling<V::F>,
    shifts: &mut [V::F],
) -> Option<(V::F, ExpSum)> {
    assert_eq!(out.len(), x.len());
    assert!(shifts.len() >= x.len().div_ceil(super::BLOCK));
    // SAFETY: `out` holds `x.len()` elements and does not overlap `x`.
    unsafe { simd::max_exp_sum_store::<V>(out.as_mut_ptr(), x, s, shifts) }
}
fn scale_blocks<V: Vector>(out: &mut [V::F], shifts: &[V::F], m: V::F, s: Scaling<V::F>, d: f64) {
    simd::scale_blocks::<V>(out, shifts, m, s, d)
}
fn max_z_sum_store<V: Vector>(
    out: &mut [V::F],
    x: &[V::F],
    s: Scaling<V::F>,
    shifts: &mut [V::F],
) -> Option<(V::F, ExpSum)> {
    assert_eq!(out.len(), x.len());
    assert!(shifts.len() >= x.len().div_ceil(super::BLOCK));
    // SAFETY: `out` holds `x.len()` elements and does not overlap `x`.
    unsafe { simd::max_z_sum_store::<V>(out.as_mut_ptr(), x, s, shifts) }
}
fn shift_blocks<V: Vector>(out: &mut [V::F], shifts: &[V::F], m: V::F, s: Scaling<V::F>, c: V::F) {
    simd::shift_blocks::<V>(out, shifts, m, s, c)
}
fn max_scale<V: Vector>(x: &[V::F], out: &mut [V::F], d: f64) -> V::F {
    simd::max_scale::<V>(x, out, d)
}
fn exp_store<V: Vector>(out: &mut [V::F], x: &[V::F], m: V::F, s: Scaling<V::F>, d: f64) {
    assert_eq!(out.len(), x.len());
    // SAFETY: both slices hold `x.len()` elements and do not overlap.
    unsafe { simd::exp_store::<V>(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, d) }
}
fn exp_store_in_place<V: Vector>(x: &mut [V::F], m: V::F, s: Scaling<V::F>, d: f64) {
    let p = x.as_mut_ptr();
    // SAFETY: in place, `x.len()` elements.
    unsafe { simd::exp_store::<V>(p, p, x.len(), m, s, d) }
}
fn log_store<V: Vector>(out: &mut [V::F], x: &[V::F], m: V::F, s: Scaling<V::F>, c: V::F) {
    assert_eq!(out.len(), x.len());
    // SAFETY: both slices hold `x.len()` elements and do not overlap.
    unsafe { simd::log_store::<V>(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, c) }
}
fn max_log_store<V: Vector>(
    next: &[V::F],
    out: &mut [V::F],
    x: &[V::F],
    m: V::F,
    s: Scaling<V::F>,
    c: V::F,
) -> V::F {
    assert_eq!(out.len(), x.len());
    // SAFETY: `out` and `x` hold `x.len()` elements; `next` is shared, so
    // it does not overlap `out`.
    unsafe { simd::max_log_store::<V>(next, out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, c) }
}
fn log_store_in_place<V: Vector>(x: &mut [V::F], m: V::F, s: Scaling<V::F>, c: V::F) {
    let p = x.as_mut_ptr();
    // SAFETY: in place, `x.len()` elements.
    unsafe { simd::log_store::<V>(p, p, x.len(), m, s, c) }
}

fn cols_max<V: Vector>(x: super::Lanes<V::F>, m: &mut [V::F], nan: &mut [V::F]) {
    let a = super::cols_args(None, x, &[m.len(), nan.len()]);
    // SAFETY: as in `cols_exp_sum`.
    unsafe { simd::cols_max::<V>(a, m.as_mut_ptr(), nan.as_mut_ptr()) }
}
fn cols_exp_sum<V: Vector>(
    out: Option<super::LanesMut<V::F>>,
    x: super::Lanes<V::F>,
    m: &[V::F],
    s: Scaling<V::F>,
    acc: &mut [V::F],
    ties: &mut [V::F],
) {
    let a = super::cols_args(out, x, &[m.len(), acc.len(), ties.len()]);
    // SAFETY: the block's elements are valid (`Lanes`, `LanesMut`); the
    // per-lane slices cover its width and overlap neither it nor each other.
    unsafe { simd::cols_exp_sum::<V>(a, m.as_ptr(), s, acc.as_mut_ptr(), ties.as_mut_ptr()) }
}
fn cols_map<V: Vector, O: simd::LaneOp<V>>(
    out: super::LanesMut<V::F>,
    x: super::Lanes<V::F>,
    m: &[V::F],
    s: Scaling<V::F>,
    k: &[V::F],
    op: O,
) {
    let a = super::cols_args(Some(out), x, &[m.len(), k.len()]);
    // SAFETY: as in `cols_exp_sum`.
    unsafe { simd::cols_map::<V, O>(a, m.as_ptr(), s, k.as_ptr(), op) }
}
fn cols_exp_times<V: Vector>(
    out: super::LanesMut<V::F>,
    x: super::Lanes<V::F>,
    m: &[V::F],
    s: Scaling<V::F>,
    k: &[V::F],
) {
    cols_map::<V, _>(out, x, m, s, k, simd::ExpTimesLane)
}
fn cols_minus<V: Vector>(
    out: super::LanesMut<V::F>,
    x: super::Lanes<V::F>,
    m: &[V::F],
    s: Scaling<V::F>,
    k: &[V::F],
) {
    cols_map::<V, _>(out, x, m, s, k, simd::MinusLane)
}

/// The table of vector type `V`. Plain functions, no `#[target_feature]`
/// wrappers as on x86_64: NEON is enabled for the whole crate here, so the
/// generic bodies compile to NEON code as they are.
const fn table<V: Vector>() -> Kernels<V::F> {
    Kernels {
        name: "neon",
        max: max::<V>,
        min: min::<V>,
        exp_sum: exp_sum::<V>,
        max_exp_sum: max_exp_sum::<V>,
        exp_sum_store: exp_sum_store::<V>,
        exp_sum_store_in_place: exp_sum_store_in_place::<V>,
        scale: scale::<V>,
        max_scale: max_scale::<V>,
        max_exp_sum_store: max_exp_sum_store::<V>,
        scale_blocks: scale_blocks::<V>,
        max_z_sum_store: max_z_sum_store::<V>,
        shift_blocks: shift_blocks::<V>,
        exp_store: exp_store::<V>,
        exp_store_in_place: exp_store_in_place::<V>,
        log_store: log_store::<V>,
        max_log_store: max_log_store::<V>,
        log_store_in_place: log_store_in_place::<V>,
        cols_max: cols_max::<V>,
        cols_exp_sum: cols_exp_sum::<V>,
        cols_exp_times: cols_exp_times::<V>,
        cols_minus: cols_minus::<V>,
    }
}

static F32: Kernels<f32> = table::<F32x4>();
static F64: Kernels<f64> = table::<F64x2>();

/// The aarch64 f32 tables, best first: NEON, always present.
pub(super) fn tables_f32() -> Vec<&'static Kernels<f32>> {
    vec![&F32]
}

/// The aarch64 f64 tables, best first: NEON, always present.
pub(super) fn tables_f64() -> Vec<&'static Kernels<f64>> {
    vec![&F64]
}
