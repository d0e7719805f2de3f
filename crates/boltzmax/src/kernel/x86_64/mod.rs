//! x86_64 kernel tables: AVX-512 (F, DQ) and AVX2 + FMA, for f32 and f64.
//!
//! Both implement [`Vector`](super::simd::Vector) for their registers and
//! instantiate the generic bodies of [`super::simd`] inside functions
//! compiled with their features. The tables are private: they are handed
//! out only by [`tables_f32`] and [`tables_f64`], after
//! `is_x86_feature_detected!` has confirmed the features, which is what
//! makes their safe function pointers sound.
//!
//! ## The vector exp
//!
//! `e^z = 2^n e^r` with `n = round(z log2 e)` and `r = z - n ln 2`
//! (Cody and Waite, with `ln 2` split in two: `LN2_HI` is `ln 2` rounded to
//! the element type, so `z - n LN2_HI` is exact under FMA for every `z`
//! the kernels see). `n` comes from one FMA, `z log2 e + 1.5 * 2^(p-1)`,
//! whose rounding to an integer is the rounding we want. Then
//! `e^r = 1 + r q(r)` on `|r| <= ln 2 / 2`, Horner's rule, with `q` a
//! Chebyshev fit of `(e^r - 1)/r` (mpmath `chebyfit`; exp polynomial of
//! degree 6 for f32, 11 for f64: fit errors 2.4e-8 and 3.3e-17
//! relative, a fifth of an ulp). `z` is first clamped to `Z_MIN`, below
//! which `e^z` rounds to 0, which also maps -inf to 0 while NaN passes
//! through the clamp. The scaling by `2^n` is exact for normal results
//! and rounds once for subnormal ones: AVX-512 uses `vscalefps/pd`; AVX2
//! adds `n` to the exponent bits, and where a lane's result may be
//! subnormal multiplies by `2^(n - n/2)` and then `2^(n/2)`, both normal.
//!
//! Measured by `tests/simd_exp.rs` (3.8 million f32 arguments covering
//! [-104, 0], 0.8 million f64 ones covering [-746, 0], both including the
//! subnormal range): worst 0.90 ulp in f32 (0.91 over a denser 12.4
//! million-argument sweep) and 0.90 ulp in f64, 0.88 and 0.90 ulp where
//! the result is subnormal; the tests assert 2.
//!
//! The stores multiply by `1/denom` rounded to the element type instead
//! of dividing: one extra rounding, so a stored probability is within
//! about `E + 1` ulp (`E` the exp's error) of `exp(z)/denom`, and not
//! always within 0.5 ulp of libm's `exp(z)` divided in f64 as in the
//! scalar table (`tests/simd_twins.rs` states and checks the bound).

mod avx2;
mod avx512;

use super::Kernels;

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
/// Builds a private `Kernels` table from a vector type whose methods need
/// the features `$feat`.
macro_rules! kernels {
    ($table:ident, $name:literal, $feat:literal, $V:ty, $F:ty) => {
        pub(super) static $table: $crate::kernel::Kernels<$F> = {
            use $crate::kernel::simd;
            use $crate::kernel::{ExpSum, Scaling};

            #[target_feature(enable = $feat)]
            fn max_tf(x: &[$F]) -> $F {
                simd::extremum::<$V, true>(x)
            }
            #[target_feature(enable = $feat)]
            fn min_tf(x: &[$F]) -> $F {
                simd::extremum::<$V, false>(x)
            }
            #[target_feature(enable = $feat)]
            fn exp_sum_tf(x: &[$F], m: $F, s: Scaling<$F>) -> ExpSum {
                simd::exp_sum::<$V>(x, m, s)
            }
            #[target_feature(enable = $feat)]
            fn max_exp_sum_tf(x: &[$F], s: Scaling<$F>) -> Option<($F, ExpSum)> {
                simd::max_exp_sum::<$V>(x, s)
            }
            #[target_feature(enable = $feat)]
            unsafe fn exp_sum_store_tf(
                out: *mut $F,
                x: *const $F,
                n: usize,
                m: $F,
                s: Scaling<$F>,
            ) -> ExpSum {
                // SAFETY: forwarded from the caller.
                unsafe { simd::exp_sum_store::<$V>(out, x, n, m, s) }
            }
            #[target_feature(enable = $feat)]
            fn scale_tf(out: &mut [$F], d: f64) {
                simd::scale::<$V>(out, d)
            }
            #[target_feature(enable = $feat)]
            unsafe fn exp_store_tf(
                out: *mut $F,
                x: *const $F,
                n: usize,
                m: $F,
                s: Scaling<$F>,
                d: f64,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { simd::exp_store::<$V>(out, x, n, m, s, d) }
            }
            #[target_feature(enable = $feat)]
            unsafe fn log_store_tf(
                out: *mut $F,
                x: *const $F,
                n: usize,
                m: $F,
                s: Scaling<$F>,
                c: $F,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { simd::log_store::<$V>(out, x, n, m, s, c) }
            }

            // SAFETY (every function below): this table is reachable only
            // through `tables_f32`/`tables_f64`, which return it only after
            // detecting `$feat` on the running CPU.
            fn max(x: &[$F]) -> $F {
                unsafe { max_tf(x) }
            }
            fn min(x: &[$F]) -> $F {
                unsafe { min_tf(x) }
            }
            fn exp_sum(x: &[$F], m: $F, s: Scaling<$F>) -> ExpSum {
                unsafe { exp_sum_tf(x, m, s) }
            }
            fn max_exp_sum(x: &[$F], s: Scaling<$F>) -> Option<($F, ExpSum)> {
                unsafe { max_exp_sum_tf(x, s) }
            }
            fn exp_sum_store(out: &mut [$F], x: &[$F], m: $F, s: Scaling<$F>) -> ExpSum {
                assert_eq!(out.len(), x.len());
                // SAFETY: both slices hold `x.len()` elements (features: see above).
                unsafe { exp_sum_store_tf(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s) }
            }
            fn exp_sum_store_in_place(x: &mut [$F], m: $F, s: Scaling<$F>) -> ExpSum {
                let p = x.as_mut_ptr();
                // SAFETY: in place, `x.len()` elements (features: see above).
                unsafe { exp_sum_store_tf(p, p, x.len(), m, s) }
            }
            fn scale(out: &mut [$F], d: f64) {
                unsafe { scale_tf(out, d) }
            }
            fn exp_store(out: &mut [$F], x: &[$F], m: $F, s: Scaling<$F>, d: f64) {
                assert_eq!(out.len(), x.len());
                // SAFETY: both slices hold `x.len()` elements (features: see above).
                unsafe { exp_store_tf(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, d) }
            }
            fn exp_store_in_place(x: &mut [$F], m: $F, s: Scaling<$F>, d: f64) {
                let p = x.as_mut_ptr();
                // SAFETY: in place, `x.len()` elements (features: see above).
                unsafe { exp_store_tf(p, p, x.len(), m, s, d) }
            }
            fn log_store(out: &mut [$F], x: &[$F], m: $F, s: Scaling<$F>, c: $F) {
                assert_eq!(out.len(), x.len());
                // SAFETY: both slices hold `x.len()` elements (features: see above).
                unsafe { log_store_tf(out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, c) }
            }
            fn log_store_in_place(x: &mut [$F], m: $F, s: Scaling<$F>, c: $F) {
                let p = x.as_mut_ptr();
                // SAFETY: in place, `x.len()` elements (features: see above).
                unsafe { log_store_tf(p, p, x.len(), m, s, c) }
            }
            $crate::kernel::Kernels {
                name: $name,
                max,
                min,
                exp_sum,
                max_exp_sum,
                exp_sum_store,
                exp_sum_store_in_place,
                scale,
                exp_store,
                exp_store_in_place,
                log_store,
                log_store_in_place,
            }
        };
    };
}
pub(crate) use kernels;

fn has_avx512() -> bool {
    is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("popcnt")
}

fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("popcnt")
}

/// The x86_64 f32 tables this CPU runs, best first.
pub(super) fn tables_f32() -> Vec<&'static Kernels<f32>> {
    let mut v: Vec<&'static Kernels<f32>> = Vec::new();
    if has_avx512() {
        v.push(&avx512::F32);
    }
    if has_avx2() {
        v.push(&avx2::F32);
    }
    v
}

/// The x86_64 f64 tables this CPU runs, best first.
pub(super) fn tables_f64() -> Vec<&'static Kernels<f64>> {
    let mut v: Vec<&'static Kernels<f64>> = Vec::new();
    if has_avx512() {
        v.push(&avx512::F64);
    }
    if has_avx2() {
        v.push(&avx2::F64);
    }
    v
}
