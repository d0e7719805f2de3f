//! AVX-512 (F + DQ) registers: 16 f32 or 8 f64 lanes, mask registers,
//! and `vscalefps/pd` for an exp whose subnormal results are rounded once.
//!
//! SAFETY (every `unsafe` block in this file): the intrinsics need
//! AVX-512F/DQ, and these methods run only inside the `avx512` table's
//! `#[target_feature(enable = "avx512f,avx512dq,popcnt")]` functions, which are
//! reachable only after the features were detected.

use std::arch::x86_64::*;

use super::consts::*;
use super::kernels;
use crate::kernel::simd::Vector;

/// `vfpclass` categories +inf (0x08) and -inf (0x10).
const INF_CLASS: i32 = 0x18;

#[derive(Clone, Copy)]
pub(crate) struct F32x16(__m512);

#[derive(Clone, Copy)]
pub(crate) struct F64x8(__m512d);

macro_rules! common {
    ($ty:ident, $reg:ty, $F:ty, $mask:ty, $lanes:literal, $s:ident) => {
        type F = $F;
        type Mask = $mask;
        const LANES: usize = $lanes;

        #[inline(always)]
        unsafe fn load(p: *const $F) -> Self {
            // SAFETY: the caller guarantees `p` is readable.
            unsafe { $ty(paste_loadu!($s, p)) }
        }
        #[inline(always)]
        fn splat(v: $F) -> Self {
            unsafe { $ty(paste_op!($s, set1, v)) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, add, self.0, o.0)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, sub, self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, mul, self.0, o.0)) }
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, div, self.0, o.0)) }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, max, self.0, o.0)) }
        }
        #[inline(always)]
        fn min(self, o: Self) -> Self {
            unsafe { $ty(paste_op!($s, min, self.0, o.0)) }
        }
        #[inline(always)]
        fn or(a: $mask, b: $mask) -> $mask {
            a | b
        }
        #[inline(always)]
        fn and_not(a: $mask, b: $mask) -> $mask {
            a & !b
        }
        #[inline(always)]
        fn none() -> $mask {
            0
        }
        #[inline(always)]
        fn any(m: $mask) -> bool {
            m != 0
        }
        #[inline(always)]
        fn count(m: $mask) -> usize {
            m.count_ones() as usize
        }
    };
}

macro_rules! paste_loadu {
    (ps, $p:expr) => {
        _mm512_loadu_ps($p)
    };
    (pd, $p:expr) => {
        _mm512_loadu_pd($p)
    };
}

macro_rules! paste_op {
    (ps, set1, $($a:expr),*) => { _mm512_set1_ps($($a),*) };
    (pd, set1, $($a:expr),*) => { _mm512_set1_pd($($a),*) };
    (ps, add, $($a:expr),*) => { _mm512_add_ps($($a),*) };
    (pd, add, $($a:expr),*) => { _mm512_add_pd($($a),*) };
    (ps, sub, $($a:expr),*) => { _mm512_sub_ps($($a),*) };
    (pd, sub, $($a:expr),*) => { _mm512_sub_pd($($a),*) };
    (ps, mul, $($a:expr),*) => { _mm512_mul_ps($($a),*) };
    (pd, mul, $($a:expr),*) => { _mm512_mul_pd($($a),*) };
    (ps, div, $($a:expr),*) => { _mm512_div_ps($($a),*) };
    (pd, div, $($a:expr),*) => { _mm512_div_pd($($a),*) };
    (ps, max, $($a:expr),*) => { _mm512_max_ps($($a),*) };
    (pd, max, $($a:expr),*) => { _mm512_max_pd($($a),*) };
    (ps, min, $($a:expr),*) => { _mm512_min_ps($($a),*) };
    (pd, min, $($a:expr),*) => { _mm512_min_pd($($a),*) };
}

// SAFETY: see the module docs; every method uses AVX-512F/DQ only.
unsafe impl Vector for F32x16 {
    common!(F32x16, __m512, f32, __mmask16, 16, ps);

    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { _mm512_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, k: usize, fill: f32) -> Self {
        // Masked-out lanes are not read (no fault past the slice).
        let m = ((1u32 << k) - 1) as __mmask16;
        // SAFETY: the caller guarantees the `k` lanes are readable.
        unsafe { Self(_mm512_mask_loadu_ps(_mm512_set1_ps(fill), m, p)) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f32, k: usize) {
        let m = ((1u32 << k) - 1) as __mmask16;
        // SAFETY: the caller guarantees the `k` lanes are writable.
        unsafe { _mm512_mask_storeu_ps(p, m, self.0) }
    }
    #[inline(always)]
    fn nan(self) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn nan2(a: Self, b: Self) -> Self::Mask {
        unsafe { _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a.0, b.0) }
    }
    #[inline(always)]
    fn is_zero(self) -> __mmask16 {
        unsafe { _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(self.0, _mm512_setzero_ps()) }
    }
    #[inline(always)]
    fn is_inf(self) -> __mmask16 {
        unsafe { _mm512_fpclass_ps_mask::<INF_CLASS>(self.0) }
    }
    #[inline(always)]
    fn select(m: __mmask16, a: Self, b: Self) -> Self {
        unsafe { F32x16(_mm512_mask_blend_ps(m, b.0, a.0)) }
    }
    #[inline(always)]
    fn add_unless(self, m: __mmask16, e: Self) -> Self {
        unsafe { F32x16(_mm512_mask_add_ps(self.0, !m, self.0, e.0)) }
    }
    /// The table variant of the module's exp (see `consts::EXP2_16_F32`):
    /// `e^z = 2^t e^r` with `t` a multiple of 1/16, `2^t = 2^floor(t)
    /// 2^(j/16)`, the sixteen `2^(j/16)` held in one register and picked
    /// by `vpermps`, and `e^r` on `|r| <= ln 2 / 32` a cubic. Seven
    /// FMA-unit operations and a `vscalefps` instead of the polynomial
    /// route's nine and one: the exp is what bounds the in-cache kernels,
    /// and the FMA pipes are what bound the exp. Measured over every f32
    /// in [-104, 0]: at most 0.9998 ulp.
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            // max(lo, z) returns z when z is NaN (the second operand).
            let z = _mm512_max_ps(_mm512_set1_ps(Z_MIN_F32), self.0);
            // a = big + t, t = z log2 e rounded to a multiple of 1/16 (the
            // ulp of `big`): the low four bits of a's representation are
            // 16 (t - floor t), the table index, which vpermps reads.
            let big = _mm512_set1_ps(ROUND16_F32);
            let a = _mm512_fmadd_ps(z, _mm512_set1_ps(LOG2E_F32), big);
            let t = _mm512_sub_ps(a, big);
            let r = _mm512_fnmadd_ps(t, _mm512_set1_ps(LN2_HI_F32), z);
            let r = _mm512_fnmadd_ps(t, _mm512_set1_ps(LN2_LO_F32), r);
            let q = _mm512_fmadd_ps(_mm512_set1_ps(Q16_F32[2]), r, _mm512_set1_ps(Q16_F32[1]));
            let q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(Q16_F32[0]));
            let p = _mm512_permutexvar_ps(
                _mm512_castps_si512(a),
                _mm512_loadu_ps(EXP2_16_F32.as_ptr()),
            );
            // 2^(j/16) e^r = p + (p r) q(r), one rounding at the end.
            let y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), q, p);
            // vscalefps multiplies by 2^floor(t), rounding subnormal
            // results once.
            F32x16(_mm512_scalef_ps(y, t))
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        unsafe { _mm512_reduce_max_ps(self.0) }
    }
    #[inline(always)]
    fn reduce_min(self) -> f32 {
        unsafe { _mm512_reduce_min_ps(self.0) }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe {
            let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(self.0));
            let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(self.0),
            )));
            _mm512_reduce_add_pd(_mm512_add_pd(lo, hi))
        }
    }
}

// SAFETY: see the module docs; every method uses AVX-512F/DQ only.
unsafe impl Vector for F64x8 {
    common!(F64x8, __m512d, f64, __mmask8, 8, pd);

    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { _mm512_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    unsafe fn load_partial(p: *const f64, k: usize, fill: f64) -> Self {
        // Masked-out lanes are not read (no fault past the slice).
        let m = ((1u32 << k) - 1) as __mmask8;
        // SAFETY: the caller guarantees the `k` lanes are readable.
        unsafe { Self(_mm512_mask_loadu_pd(_mm512_set1_pd(fill), m, p)) }
    }
    #[inline(always)]
    unsafe fn store_partial(self, p: *mut f64, k: usize) {
        let m = ((1u32 << k) - 1) as __mmask8;
        // SAFETY: the caller guarantees the `k` lanes are writable.
        unsafe { _mm512_mask_storeu_pd(p, m, self.0) }
    }
    #[inline(always)]
    fn nan(self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn nan2(a: Self, b: Self) -> Self::Mask {
        unsafe { _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a.0, b.0) }
    }
    #[inline(always)]
    fn is_zero(self) -> __mmask8 {
        unsafe { _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(self.0, _mm512_setzero_pd()) }
    }
    #[inline(always)]
    fn is_inf(self) -> __mmask8 {
        unsafe { _mm512_fpclass_pd_mask::<INF_CLASS>(self.0) }
    }
    #[inline(always)]
    fn select(m: __mmask8, a: Self, b: Self) -> Self {
        unsafe { F64x8(_mm512_mask_blend_pd(m, b.0, a.0)) }
    }
    #[inline(always)]
    fn add_unless(self, m: __mmask8, e: Self) -> Self {
        unsafe { F64x8(_mm512_mask_add_pd(self.0, !m, self.0, e.0)) }
    }
    /// The table variant, as for f32 (see `consts::EXP2_16_F64`): `t` a
    /// multiple of 1/16, `2^(j/16)` from two registers by `vpermt2pd`,
    /// `e^r` on `|r| <= ln 2 / 32` as `1 + r q(r)` with `q` of degree 5
    /// (against degree 10 on `|r| <= ln 2 / 2`); the entry's rounding
    /// error comes from a second table (`EXP2_16_LO_F64`, one more
    /// `vpermt2pd`) and is added back before the last rounding: eleven
    /// FMA-unit operations instead of fourteen, within about 0.6 ulp
    /// (without the second table the entry's half ulp made it 1.22, worse
    /// than libm's exp, which made some outputs an ulp worse than numpy's).
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            // max(lo, z) returns z when z is NaN (the second operand).
            let z = _mm512_max_pd(_mm512_set1_pd(Z_MIN_F64), self.0);
            // a = big + t, t = z log2 e rounded to a multiple of 1/16: the
            // low four bits of a's representation are the table index.
            let big = _mm512_set1_pd(ROUND16_F64);
            let a = _mm512_fmadd_pd(z, _mm512_set1_pd(LOG2E_F64), big);
            let t = _mm512_sub_pd(a, big);
            let r = _mm512_fnmadd_pd(t, _mm512_set1_pd(LN2_HI_F64), z);
            let r = _mm512_fnmadd_pd(t, _mm512_set1_pd(LN2_LO_F64), r);
            let mut q = _mm512_set1_pd(Q16_F64[5]);
            for c in Q16_F64[..5].iter().rev() {
                q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(*c));
            }
            let p = _mm512_permutex2var_pd(
                _mm512_loadu_pd(EXP2_16_F64.as_ptr()),
                _mm512_castpd_si512(a),
                _mm512_loadu_pd(EXP2_16_F64.as_ptr().add(8)),
            );
            let pl = _mm512_permutex2var_pd(
                _mm512_loadu_pd(EXP2_16_LO_F64.as_ptr()),
                _mm512_castpd_si512(a),
                _mm512_loadu_pd(EXP2_16_LO_F64.as_ptr().add(8)),
            );
            // 2^(j/16) e^r = (p + pl)(1 + r q(r)) = p + ((p r) q(r) + pl)
            // (pl r q(r), below 2^-58 of the result, dropped).
            let y = _mm512_add_pd(p, _mm512_fmadd_pd(_mm512_mul_pd(p, r), q, pl));
            F64x8(_mm512_scalef_pd(y, t))
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f64 {
        unsafe { _mm512_reduce_max_pd(self.0) }
    }
    #[inline(always)]
    fn reduce_min(self) -> f64 {
        unsafe { _mm512_reduce_min_pd(self.0) }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe { _mm512_reduce_add_pd(self.0) }
    }
}

kernels!(F32, "avx512", "avx512f,avx512dq,popcnt", F32x16, f32);
kernels!(F64, "avx512", "avx512f,avx512dq,popcnt", F64x8, f64);
