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
//! The algorithm and its constants are shared (see `simd.rs`, "The vector
//! exp"); what differs is the scaling by `2^n`, exact for normal results
//! and rounded once for subnormal ones: AVX-512 uses `vscalefps/pd`; AVX2
//! adds `n` to the exponent bits, and where a lane's result may be
//! subnormal multiplies by `2^(n - n/2)` and then `2^(n/2)`, both normal.
//! AVX-512's exps are table variants: f32 takes `2^(j/16)` from one
//! `vpermps` and a cubic on `|r| <= ln 2 / 32`, two FMA-unit operations
//! shorter; f64 takes it from two registers (`vpermt2pd`) and a degree-6
//! polynomial on the same range instead of degree 11 on `|r| <= ln 2 / 2`,
//! four shorter (the rounded table entry costs up to half an ulp).
//!
//! Measured by `tests/simd_exp.rs` (3.8 million f32 arguments covering
//! [-104, 0], 0.88 million f64 ones covering [-746, 0], both including the
//! subnormal range and the reductions' switch points): worst 0.90 ulp in
//! f32 on AVX2 and 0.99 on AVX-512 (0.9998 over every f32 in [-104, 0]),
//! 0.90 ulp in f64 on AVX2 and 0.81 on AVX-512 (1.22 before its table
//! entries' rounding errors were added back), 0.88-1.05 ulp where the
//! result is subnormal; the tests assert 2.
//!
//! The stores multiply by `1/denom` rounded to the element type instead
//! of dividing: one extra rounding, so a stored probability is within
//! about `E + 1` ulp (`E` the exp's error) of `exp(z)/denom`, and not
//! always within 0.5 ulp of libm's `exp(z)` divided in f64 as in the
//! scalar table (`tests/simd_twins.rs` states and checks the bound).

mod avx2;
mod avx512;

use super::Kernels;
use super::simd::consts;

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
            unsafe fn max_exp_sum_store_tf(
                out: *mut $F,
                x: &[$F],
                s: Scaling<$F>,
                shifts: &mut [$F],
            ) -> Option<($F, ExpSum)> {
                // SAFETY: forwarded from the caller.
                unsafe { simd::max_exp_sum_store::<$V>(out, x, s, shifts) }
            }
            #[target_feature(enable = $feat)]
            unsafe fn max_z_sum_store_tf(
                out: *mut $F,
                x: &[$F],
                s: Scaling<$F>,
                shifts: &mut [$F],
            ) -> Option<($F, ExpSum)> {
                // SAFETY: forwarded from the caller.
                unsafe { simd::max_z_sum_store::<$V>(out, x, s, shifts) }
            }
            #[target_feature(enable = $feat)]
            fn shift_blocks_tf(out: &mut [$F], shifts: &[$F], m: $F, s: Scaling<$F>, c: $F) {
                simd::shift_blocks::<$V>(out, shifts, m, s, c)
            }
            #[target_feature(enable = $feat)]
            fn scale_blocks_tf(out: &mut [$F], shifts: &[$F], m: $F, s: Scaling<$F>, d: f64) {
                simd::scale_blocks::<$V>(out, shifts, m, s, d)
            }
            #[target_feature(enable = $feat)]
            fn scale_tf(out: &mut [$F], d: f64) {
                simd::scale::<$V>(out, d)
            }
            #[target_feature(enable = $feat)]
            fn max_scale_tf(x: &[$F], out: &mut [$F], d: f64) -> $F {
                simd::max_scale::<$V>(x, out, d)
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

            #[target_feature(enable = $feat)]
            unsafe fn max_log_store_tf(
                next: &[$F],
                out: *mut $F,
                x: *const $F,
                n: usize,
                m: $F,
                s: Scaling<$F>,
                c: $F,
            ) -> $F {
                // SAFETY: forwarded from the caller.
                unsafe { simd::max_log_store::<$V>(next, out, x, n, m, s, c) }
            }

            #[target_feature(enable = $feat)]
            unsafe fn cols_max_tf(a: $crate::kernel::ColsArgs<$F>, m: *mut $F, nan: *mut $F) {
                // SAFETY: forwarded from the caller.
                unsafe { simd::cols_max::<$V>(a, m, nan) }
            }
            #[target_feature(enable = $feat)]
            unsafe fn cols_exp_sum_tf(
                a: $crate::kernel::ColsArgs<$F>,
                m: *const $F,
                s: Scaling<$F>,
                acc: *mut $F,
                ties: *mut $F,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { simd::cols_exp_sum::<$V>(a, m, s, acc, ties) }
            }
            #[target_feature(enable = $feat)]
            unsafe fn cols_map_tf<O: simd::LaneOp<$V>>(
                a: $crate::kernel::ColsArgs<$F>,
                m: *const $F,
                s: Scaling<$F>,
                k: *const $F,
                op: O,
            ) {
                // SAFETY: forwarded from the caller.
                unsafe { simd::cols_map::<$V, O>(a, m, s, k, op) }
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
            fn max_exp_sum_store(
                out: &mut [$F],
                x: &[$F],
                s: Scaling<$F>,
                shifts: &mut [$F],
            ) -> Option<($F, ExpSum)> {
                assert_eq!(out.len(), x.len());
                assert!(shifts.len() >= x.len().div_ceil($crate::kernel::BLOCK));
                // SAFETY: `out` holds `x.len()` elements and, as a `&mut`,
                // does not overlap `x` (features: see above).
                unsafe { max_exp_sum_store_tf(out.as_mut_ptr(), x, s, shifts) }
            }
            fn scale_blocks(out: &mut [$F], shifts: &[$F], m: $F, s: Scaling<$F>, d: f64) {
                unsafe { scale_blocks_tf(out, shifts, m, s, d) }
            }
            fn max_z_sum_store(
                out: &mut [$F],
                x: &[$F],
                s: Scaling<$F>,
                shifts: &mut [$F],
            ) -> Option<($F, ExpSum)> {
                assert_eq!(out.len(), x.len());
                assert!(shifts.len() >= x.len().div_ceil($crate::kernel::BLOCK));
                // SAFETY: `out` holds `x.len()` elements and, as a `&mut`,
                // does not overlap `x` (features: see above).
                unsafe { max_z_sum_store_tf(out.as_mut_ptr(), x, s, shifts) }
            }
            fn shift_blocks(out: &mut [$F], shifts: &[$F], m: $F, s: Scaling<$F>, c: $F) {
                unsafe { shift_blocks_tf(out, shifts, m, s, c) }
            }
            fn max_scale(x: &[$F], out: &mut [$F], d: f64) -> $F {
                unsafe { max_scale_tf(x, out, d) }
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
            fn max_log_store(
                next: &[$F],
                out: &mut [$F],
                x: &[$F],
                m: $F,
                s: Scaling<$F>,
                c: $F,
            ) -> $F {
                assert_eq!(out.len(), x.len());
                // SAFETY: `out` and `x` hold `x.len()` elements; `next` is a
                // shared slice, so it cannot overlap `out` (features: see above).
                unsafe { max_log_store_tf(next, out.as_mut_ptr(), x.as_ptr(), x.len(), m, s, c) }
            }
            fn log_store_in_place(x: &mut [$F], m: $F, s: Scaling<$F>, c: $F) {
                let p = x.as_mut_ptr();
                // SAFETY: in place, `x.len()` elements (features: see above).
                unsafe { log_store_tf(p, p, x.len(), m, s, c) }
            }
            fn cols_max(x: $crate::kernel::Lanes<$F>, m: &mut [$F], nan: &mut [$F]) {
                let a = $crate::kernel::cols_args(None, x, &[m.len(), nan.len()]);
                // SAFETY: as in `cols_exp_sum`.
                unsafe { cols_max_tf(a, m.as_mut_ptr(), nan.as_mut_ptr()) }
            }
            fn cols_exp_sum(
                out: Option<$crate::kernel::LanesMut<$F>>,
                x: $crate::kernel::Lanes<$F>,
                m: &[$F],
                s: Scaling<$F>,
                acc: &mut [$F],
                ties: &mut [$F],
            ) {
                let a = $crate::kernel::cols_args(out, x, &[m.len(), acc.len(), ties.len()]);
                // SAFETY: the block's elements are valid (`Lanes`,
                // `LanesMut`), the per-lane slices cover its width and, as
                // `&`/`&mut` slices, overlap neither it nor each other
                // (features: see above).
                unsafe { cols_exp_sum_tf(a, m.as_ptr(), s, acc.as_mut_ptr(), ties.as_mut_ptr()) }
            }
            fn cols_map<O: simd::LaneOp<$V>>(
                out: $crate::kernel::LanesMut<$F>,
                x: $crate::kernel::Lanes<$F>,
                m: &[$F],
                s: Scaling<$F>,
                k: &[$F],
                op: O,
            ) {
                let a = $crate::kernel::cols_args(Some(out), x, &[m.len(), k.len()]);
                // SAFETY: as in `cols_exp_sum`.
                unsafe { cols_map_tf(a, m.as_ptr(), s, k.as_ptr(), op) }
            }
            fn cols_exp_times(
                out: $crate::kernel::LanesMut<$F>,
                x: $crate::kernel::Lanes<$F>,
                m: &[$F],
                s: Scaling<$F>,
                k: &[$F],
            ) {
                cols_map(out, x, m, s, k, simd::ExpTimesLane)
            }
            fn cols_minus(
                out: $crate::kernel::LanesMut<$F>,
                x: $crate::kernel::Lanes<$F>,
                m: &[$F],
                s: Scaling<$F>,
                k: &[$F],
            ) {
                cols_map(out, x, m, s, k, simd::MinusLane)
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
                max_scale,
                max_exp_sum_store,
                scale_blocks,
                max_z_sum_store,
                shift_blocks,
                exp_store,
                exp_store_in_place,
                log_store,
                max_log_store,
                log_store_in_place,
                cols_max,
                cols_exp_sum,
                cols_exp_times,
                cols_minus,
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
