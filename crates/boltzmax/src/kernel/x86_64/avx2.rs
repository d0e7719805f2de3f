//! AVX2 + FMA registers: 8 f32 or 4 f64 lanes, masks as all-ones lanes.
//!
//! AVX2 has no `vscalef`: the exp adds `n` to the exponent bits of
//! `e^r`, which is exact while the result is normal. Where a lane's result
//! may be subnormal (`z` below `Z_NORMAL`, a rare branch) it scales in two
//! steps instead, `p * 2^(n - h) * 2^h` with `h = floor(n / 2)`: both
//! factors are normal, the first product is exact and the second rounds
//! once, so subnormal results are kept.
//!
//! SAFETY (every `unsafe` block in this file): the intrinsics need AVX,
//! AVX2 and FMA, and these methods run only inside the `avx2` table's
//! `#[target_feature(enable = "avx2,fma,popcnt")]` functions, which are
//! reachable only after the features were detected.

use std::arch::x86_64::*;

use super::consts::*;
use super::kernels;
use crate::kernel::simd::Vector;

const FLOOR: i32 = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;

/// `2^k` for integral `k` in [-126, 127]: `k + 2^23 + 127` has `k + 127`
/// in its low mantissa bits, which the shift moves into the exponent.
#[inline(always)]
fn pow2_ps(k: __m256) -> __m256 {
    unsafe {
        let b = _mm256_castps_si256(_mm256_add_ps(k, _mm256_set1_ps(8_388_735.0)));
        _mm256_castsi256_ps(_mm256_slli_epi32::<23>(b))
    }
}

/// `2^k` for integral `k` in [-1022, 1023], as [`pow2_ps`] with
/// `k + 2^52 + 1023`.
#[inline(always)]
fn pow2_pd(k: __m256d) -> __m256d {
    unsafe {
        let b = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(4_503_599_627_371_519.0)));
        _mm256_castsi256_pd(_mm256_slli_epi64::<52>(b))
    }
}

#[derive(Clone, Copy)]
pub(crate) struct F32x8(__m256);

#[derive(Clone, Copy)]
pub(crate) struct F64x4(__m256d);

// SAFETY: see the module docs; every method uses AVX/AVX2/FMA only.
unsafe impl Vector for F32x8 {
    type F = f32;
    type Mask = __m256;
    const LANES: usize = 8;

    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { F32x8(_mm256_loadu_ps(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { _mm256_storeu_ps(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f32) -> Self {
        unsafe { F32x8(_mm256_set1_ps(v)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_add_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_sub_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_mul_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_div_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_max_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        unsafe { F32x8(_mm256_min_ps(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan(self) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn nan2(a: Self, b: Self) -> Self::Mask {
        unsafe { _mm256_cmp_ps::<_CMP_UNORD_Q>(a.0, b.0) }
    }
    #[inline(always)]
    fn is_zero(self) -> __m256 {
        unsafe { _mm256_cmp_ps::<_CMP_EQ_OQ>(self.0, _mm256_setzero_ps()) }
    }
    #[inline(always)]
    fn is_inf(self) -> __m256 {
        unsafe {
            let abs = _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0);
            _mm256_cmp_ps::<_CMP_EQ_OQ>(abs, _mm256_set1_ps(f32::INFINITY))
        }
    }
    #[inline(always)]
    fn or(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_or_ps(a, b) }
    }
    #[inline(always)]
    fn and_not(a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_andnot_ps(b, a) }
    }
    #[inline(always)]
    fn none() -> __m256 {
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    fn any(m: __m256) -> bool {
        unsafe { _mm256_movemask_ps(m) != 0 }
    }
    #[inline(always)]
    fn count(m: __m256) -> usize {
        unsafe { _mm256_movemask_ps(m).count_ones() as usize }
    }
    #[inline(always)]
    fn select(m: __m256, a: Self, b: Self) -> Self {
        unsafe { F32x8(_mm256_blendv_ps(b.0, a.0, m)) }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            // max(lo, z) returns z when z is NaN (the second operand).
            let z = _mm256_max_ps(_mm256_set1_ps(Z_MIN_F32), self.0);
            let big = _mm256_set1_ps(ROUND_F32);
            let t = _mm256_fmadd_ps(z, _mm256_set1_ps(LOG2E_F32), big);
            let n = _mm256_sub_ps(t, big);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_HI_F32), z);
            let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO_F32), r);
            let mut q = _mm256_set1_ps(Q_F32[5]);
            for c in Q_F32[..5].iter().rev() {
                q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(*c));
            }
            let e = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0));
            let low = _mm256_cmp_ps::<_CMP_LT_OQ>(z, _mm256_set1_ps(Z_NORMAL_F32));
            if _mm256_movemask_ps(low) == 0 {
                // Every result normal: add n to the exponent. The low bits
                // of t are n (plus 2^22, which the shift pushes out).
                let nb = _mm256_slli_epi32::<23>(_mm256_castps_si256(t));
                F32x8(_mm256_castsi256_ps(_mm256_add_epi32(
                    _mm256_castps_si256(e),
                    nb,
                )))
            } else {
                // n in [-150, 0]: h = floor(n/2) and n - h are in [-75, 0].
                let h = _mm256_round_ps::<FLOOR>(_mm256_mul_ps(n, _mm256_set1_ps(0.5)));
                let g = _mm256_sub_ps(n, h);
                // NaN lanes: e is NaN, and NaN times anything stays NaN.
                F32x8(_mm256_mul_ps(_mm256_mul_ps(e, pow2_ps(g)), pow2_ps(h)))
            }
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f32 {
        unsafe {
            let m = _mm_max_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps::<1>(self.0),
            );
            let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
            let m = _mm_max_ss(m, _mm_movehdup_ps(m));
            _mm_cvtss_f32(m)
        }
    }
    #[inline(always)]
    fn reduce_min(self) -> f32 {
        unsafe {
            let m = _mm_min_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps::<1>(self.0),
            );
            let m = _mm_min_ps(m, _mm_movehl_ps(m, m));
            let m = _mm_min_ss(m, _mm_movehdup_ps(m));
            _mm_cvtss_f32(m)
        }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe {
            let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(self.0));
            let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(self.0));
            F64x4(_mm256_add_pd(lo, hi)).sum_f64()
        }
    }
}

// SAFETY: see the module docs; every method uses AVX/AVX2/FMA only.
unsafe impl Vector for F64x4 {
    type F = f64;
    type Mask = __m256d;
    const LANES: usize = 4;

    #[inline(always)]
    unsafe fn load(p: *const f64) -> Self {
        // SAFETY: the caller guarantees `p` is readable.
        unsafe { F64x4(_mm256_loadu_pd(p)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64) {
        // SAFETY: the caller guarantees `p` is writable.
        unsafe { _mm256_storeu_pd(p, self.0) }
    }
    #[inline(always)]
    fn splat(v: f64) -> Self {
        unsafe { F64x4(_mm256_set1_pd(v)) }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_add_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_sub_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_mul_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_div_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_max_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn min(self, o: Self) -> Self {
        unsafe { F64x4(_mm256_min_pd(self.0, o.0)) }
    }
    #[inline(always)]
    fn nan(self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_UNORD_Q>(self.0, self.0) }
    }
    #[inline(always)]
    fn nan2(a: Self, b: Self) -> Self::Mask {
        unsafe { _mm256_cmp_pd::<_CMP_UNORD_Q>(a.0, b.0) }
    }
    #[inline(always)]
    fn is_zero(self) -> __m256d {
        unsafe { _mm256_cmp_pd::<_CMP_EQ_OQ>(self.0, _mm256_setzero_pd()) }
    }
    #[inline(always)]
    fn is_inf(self) -> __m256d {
        unsafe {
            let abs = _mm256_andnot_pd(_mm256_set1_pd(-0.0), self.0);
            _mm256_cmp_pd::<_CMP_EQ_OQ>(abs, _mm256_set1_pd(f64::INFINITY))
        }
    }
    #[inline(always)]
    fn or(a: __m256d, b: __m256d) -> __m256d {
        unsafe { _mm256_or_pd(a, b) }
    }
    #[inline(always)]
    fn and_not(a: __m256d, b: __m256d) -> __m256d {
        unsafe { _mm256_andnot_pd(b, a) }
    }
    #[inline(always)]
    fn none() -> __m256d {
        unsafe { _mm256_setzero_pd() }
    }
    #[inline(always)]
    fn any(m: __m256d) -> bool {
        unsafe { _mm256_movemask_pd(m) != 0 }
    }
    #[inline(always)]
    fn count(m: __m256d) -> usize {
        unsafe { _mm256_movemask_pd(m).count_ones() as usize }
    }
    #[inline(always)]
    fn select(m: __m256d, a: Self, b: Self) -> Self {
        unsafe { F64x4(_mm256_blendv_pd(b.0, a.0, m)) }
    }
    #[inline(always)]
    fn exp(self) -> Self {
        unsafe {
            let z = _mm256_max_pd(_mm256_set1_pd(Z_MIN_F64), self.0);
            let big = _mm256_set1_pd(ROUND_F64);
            let t = _mm256_fmadd_pd(z, _mm256_set1_pd(LOG2E_F64), big);
            let n = _mm256_sub_pd(t, big);
            let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_HI_F64), z);
            let r = _mm256_fnmadd_pd(n, _mm256_set1_pd(LN2_LO_F64), r);
            let mut q = _mm256_set1_pd(Q_F64[10]);
            for c in Q_F64[..10].iter().rev() {
                q = _mm256_fmadd_pd(q, r, _mm256_set1_pd(*c));
            }
            let e = _mm256_fmadd_pd(q, r, _mm256_set1_pd(1.0));
            let low = _mm256_cmp_pd::<_CMP_LT_OQ>(z, _mm256_set1_pd(Z_NORMAL_F64));
            if _mm256_movemask_pd(low) == 0 {
                // Every result normal: add n (the low bits of t) to the
                // exponent.
                let nb = _mm256_slli_epi64::<52>(_mm256_castpd_si256(t));
                F64x4(_mm256_castsi256_pd(_mm256_add_epi64(
                    _mm256_castpd_si256(e),
                    nb,
                )))
            } else {
                // n in [-1077, 0]: h = floor(n/2) and n - h are in [-539, 0].
                let h = _mm256_round_pd::<FLOOR>(_mm256_mul_pd(n, _mm256_set1_pd(0.5)));
                let g = _mm256_sub_pd(n, h);
                F64x4(_mm256_mul_pd(_mm256_mul_pd(e, pow2_pd(g)), pow2_pd(h)))
            }
        }
    }
    #[inline(always)]
    fn reduce_max(self) -> f64 {
        unsafe {
            let m = _mm_max_pd(
                _mm256_castpd256_pd128(self.0),
                _mm256_extractf128_pd::<1>(self.0),
            );
            _mm_cvtsd_f64(_mm_max_sd(m, _mm_unpackhi_pd(m, m)))
        }
    }
    #[inline(always)]
    fn reduce_min(self) -> f64 {
        unsafe {
            let m = _mm_min_pd(
                _mm256_castpd256_pd128(self.0),
                _mm256_extractf128_pd::<1>(self.0),
            );
            _mm_cvtsd_f64(_mm_min_sd(m, _mm_unpackhi_pd(m, m)))
        }
    }
    #[inline(always)]
    fn sum_f64(self) -> f64 {
        unsafe {
            let s = _mm_add_pd(
                _mm256_castpd256_pd128(self.0),
                _mm256_extractf128_pd::<1>(self.0),
            );
            _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
        }
    }
}

kernels!(F32, "avx2", "avx2,fma,popcnt", F32x8, f32);
kernels!(F64, "avx2", "avx2,fma,popcnt", F64x4, f64);
