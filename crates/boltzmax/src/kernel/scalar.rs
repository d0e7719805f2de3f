//! The scalar reference kernels: plain loops, the twin every SIMD kernel
//! is tested against.

use super::{ExpSum, Kernels, Lanes, LanesMut, Scaling, cols_args};
use crate::real::Real;

/// Scalar f32 kernels.
pub static F32: Kernels<f32> = table::<f32>();
/// Scalar f64 kernels.
pub static F64: Kernels<f64> = table::<f64>();

const fn table<F: Real>() -> Kernels<F> {
    Kernels {
        name: "scalar",
        max: max::<F>,
        min: min::<F>,
        exp_sum: exp_sum::<F>,
        max_exp_sum: max_exp_sum::<F>,
        exp_sum_store: exp_sum_store::<F>,
        exp_sum_store_in_place: exp_sum_store_in_place::<F>,
        scale: scale::<F>,
        max_scale: max_scale::<F>,
        max_exp_sum_store: max_exp_sum_store::<F>,
        scale_blocks: scale_blocks::<F>,
        max_z_sum_store: max_z_sum_store::<F>,
        shift_blocks: shift_blocks::<F>,
        exp_store: exp_store::<F>,
        exp_store_in_place: exp_store_in_place::<F>,
        log_store: log_store::<F>,
        max_log_store: max_log_store::<F>,
        log_store_in_place: log_store_in_place::<F>,
        cols_max: cols_max::<F>,
        cols_exp_sum: cols_exp_sum::<F>,
        cols_exp_times: cols_exp_times::<F>,
        cols_minus: cols_minus::<F>,
    }
}

/// Maximum; NaN if any entry is NaN; -inf for an empty slice.
pub fn max<F: Real>(x: &[F]) -> F {
    let mut m = F::NEG_INFINITY;
    for &v in x {
        if v.is_nan() {
            return v;
        }
        if v > m {
            m = v;
        }
    }
    m
}

/// Minimum; NaN if any entry is NaN; +inf for an empty slice.
pub fn min<F: Real>(x: &[F]) -> F {
    let mut m = F::INFINITY;
    for &v in x {
        if v.is_nan() {
            return v;
        }
        if v < m {
            m = v;
        }
    }
    m
}

/// Terms per partial sum. A row's sum is the f64 sum of its block sums, so
/// its rounding error grows like `sqrt(1024) + sqrt(n / 1024)` units, not
/// `sqrt(n)`: on a 100 000-long f64 row the large probabilities stay within
/// a few ulp, as on the SIMD tables (which sum blocks of 1024 too).
const SUM_BLOCK: usize = 1024;

/// Sum of `exp(z_i)` over `z_i != 0` in f64, and the count of `z_i == 0`.
///
/// Every term is added in f64 (to its block's sum, see `SUM_BLOCK`), so the
/// rounding error of an f32 row does not grow at f32 precision.
pub fn exp_sum<F: Real>(x: &[F], m: F, scaling: Scaling<F>) -> ExpSum {
    let mut sum = 0.0f64;
    let mut ties = 0usize;
    for block in x.chunks(SUM_BLOCK) {
        let mut part = 0.0f64;
        for &v in block {
            let z = scaling.apply(v, m);
            if z == F::ZERO {
                ties += 1;
            } else {
                part += z.exp().to_f64();
            }
        }
        sum += part;
    }
    ExpSum { sum, ties }
}

/// `out_i = exp(z_i)`, and the [`ExpSum`] of the row as [`exp_sum`].
pub fn exp_sum_store<F: Real>(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>) -> ExpSum {
    let mut sum = 0.0f64;
    let mut ties = 0usize;
    for (ob, xb) in out.chunks_mut(SUM_BLOCK).zip(x.chunks(SUM_BLOCK)) {
        let mut part = 0.0f64;
        for (o, &v) in ob.iter_mut().zip(xb) {
            let z = scaling.apply(v, m);
            let e = z.exp();
            *o = e;
            if z == F::ZERO {
                ties += 1;
            } else {
                part += e.to_f64();
            }
        }
        sum += part;
    }
    ExpSum { sum, ties }
}

/// `x_i = exp(z_i)` in place, and the [`ExpSum`] of the row.
pub fn exp_sum_store_in_place<F: Real>(x: &mut [F], m: F, scaling: Scaling<F>) -> ExpSum {
    let mut sum = 0.0f64;
    let mut ties = 0usize;
    for block in x.chunks_mut(SUM_BLOCK) {
        let mut part = 0.0f64;
        for v in block.iter_mut() {
            let z = scaling.apply(*v, m);
            let e = z.exp();
            *v = e;
            if z == F::ZERO {
                ties += 1;
            } else {
                part += e.to_f64();
            }
        }
        sum += part;
    }
    ExpSum { sum, ties }
}

/// `out_i = out_i / denom`, divided in f64 and rounded once.
pub fn scale<F: Real>(out: &mut [F], denom: f64) {
    for o in out.iter_mut() {
        *o = F::from_f64(o.to_f64() / denom);
    }
}

/// [`max`] of `next` and [`log_store`] of the row `x`: the scalar twin of
/// the SIMD tables' fused loop.
pub fn max_log_store<F: Real>(
    next: &[F],
    out: &mut [F],
    x: &[F],
    m: F,
    scaling: Scaling<F>,
    c: F,
) -> F {
    log_store(out, x, m, scaling, c);
    max(next)
}

/// The scalar twin of the SIMD tables' one-pass store: here [`max`],
/// [`exp_sum_store`] relative to it, and every block's shift the maximum
/// (so [`scale_blocks`] is [`scale`]).
pub fn max_exp_sum_store<F: Real>(
    out: &mut [F],
    x: &[F],
    scaling: Scaling<F>,
    shifts: &mut [F],
) -> Option<(F, ExpSum)> {
    let m = max(x);
    if !m.is_finite() {
        return None;
    }
    shifts[..x.len().div_ceil(super::BLOCK)].fill(m);
    Some((m, exp_sum_store(out, x, m, scaling)))
}

/// Block `j` of `out` divided by `denom / exp(scale(shifts[j] - m))`.
pub fn scale_blocks<F: Real>(out: &mut [F], shifts: &[F], m: F, scaling: Scaling<F>, denom: f64) {
    for (b, &sh) in out.chunks_mut(super::BLOCK).zip(shifts) {
        let f = if sh == m {
            1.0
        } else {
            scaling.apply(sh, m).to_f64().exp()
        };
        for o in b.iter_mut() {
            *o = F::from_f64(o.to_f64() * f / denom);
        }
    }
}

/// The scalar twin of the SIMD tables' one-pass store of `z` values: here
/// [`max`], `out_i = z_i` relative to it, [`exp_sum`], and every block's
/// shift the maximum (so [`shift_blocks`] is [`log_store`]'s subtraction).
pub fn max_z_sum_store<F: Real>(
    out: &mut [F],
    x: &[F],
    scaling: Scaling<F>,
    shifts: &mut [F],
) -> Option<(F, ExpSum)> {
    let (m, e) = max_exp_sum(x, scaling)?;
    shifts[..x.len().div_ceil(super::BLOCK)].fill(m);
    for (o, &v) in out.iter_mut().zip(x) {
        *o = scaling.apply(v, m);
    }
    Some((m, e))
}

/// Block `j` of `out` minus `scale(m - shifts[j]) + c` (in f64, rounded
/// once); blocks shifted by -inf left alone.
pub fn shift_blocks<F: Real>(out: &mut [F], shifts: &[F], m: F, scaling: Scaling<F>, c: F) {
    for (b, &sh) in out.chunks_mut(super::BLOCK).zip(shifts) {
        let d = if sh == m {
            c
        } else if sh == F::NEG_INFINITY {
            continue;
        } else {
            F::from_f64(c.to_f64() - scaling.apply_f64(sh, m))
        };
        for o in b.iter_mut() {
            *o -= d;
        }
    }
}

/// [`max`] of `x` and [`scale`] of `out`: the scalar twin of the SIMD
/// tables' fused loop.
pub fn max_scale<F: Real>(x: &[F], out: &mut [F], denom: f64) -> F {
    scale(out, denom);
    max(x)
}

/// The maximum and [`ExpSum`] of a row, or `None` if the row is not
/// regular (empty, all -inf, a NaN or a +inf). The scalar twin of the
/// SIMD tables' single pass: here simply [`max`] then [`exp_sum`].
pub fn max_exp_sum<F: Real>(x: &[F], scaling: Scaling<F>) -> Option<(F, ExpSum)> {
    let m = max(x);
    if m.is_finite() {
        Some((m, exp_sum(x, m, scaling)))
    } else {
        None
    }
}

#[inline(always)]
fn exp_over<F: Real>(z: F, denom: f64) -> F {
    // The quotient is formed in f64 so that an f32 result is rounded once.
    F::from_f64(z.exp().to_f64() / denom)
}

/// `out_i = exp(z_i) / denom`.
pub fn exp_store<F: Real>(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>, denom: f64) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = exp_over(scaling.apply(v, m), denom);
    }
}

/// `x_i = exp(z_i) / denom`, in place.
pub fn exp_store_in_place<F: Real>(x: &mut [F], m: F, scaling: Scaling<F>, denom: f64) {
    for v in x.iter_mut() {
        *v = exp_over(scaling.apply(*v, m), denom);
    }
}

/// `out_i = z_i - c`.
pub fn log_store<F: Real>(out: &mut [F], x: &[F], m: F, scaling: Scaling<F>, c: F) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = scaling.apply(v, m) - c;
    }
}

/// `x_i = z_i - c`, in place.
pub fn log_store_in_place<F: Real>(x: &mut [F], m: F, scaling: Scaling<F>, c: F) {
    for v in x.iter_mut() {
        *v = scaling.apply(*v, m) - c;
    }
}

/// Vertical maxima (see [`Kernels::cols_max`]).
pub fn cols_max<F: Real>(x: Lanes<F>, m: &mut [F], nan: &mut [F]) {
    let a = cols_args(None, x, &[m.len(), nan.len()]);
    for i in 0..a.rows {
        for j in 0..a.width {
            // SAFETY: `i < rows`, `j < width`: in the block (`cols_args`).
            let v = unsafe { *a.x.offset(i as isize * a.sx).add(j) };
            if v.is_nan() {
                nan[j] = v;
            } else if v > m[j] {
                m[j] = v;
            }
        }
    }
}

/// Vertical sums (see [`Kernels::cols_exp_sum`]): row after row, each
/// lane's `acc` in `F`, the maxima counted in `ties`.
pub fn cols_exp_sum<F: Real>(
    out: Option<LanesMut<F>>,
    x: Lanes<F>,
    m: &[F],
    scaling: Scaling<F>,
    acc: &mut [F],
    ties: &mut [F],
) {
    let a = cols_args(out, x, &[m.len(), acc.len(), ties.len()]);
    for i in 0..a.rows {
        for j in 0..a.width {
            let o = i as isize;
            // SAFETY: `i < rows`, `j < width`: in the block (`cols_args`).
            let v = unsafe { *a.x.offset(o * a.sx).add(j) };
            let z = scaling.apply(v, m[j]);
            let e = z.exp();
            if !a.out.is_null() {
                // SAFETY: as above, for `out`.
                unsafe { *a.out.offset(o * a.so).add(j) = e };
            }
            if z == F::ZERO {
                ties[j] += F::ONE;
            } else {
                acc[j] += e;
            }
        }
    }
}

fn cols_map<F: Real>(out: LanesMut<F>, x: Lanes<F>, m: &[F], k: &[F], f: impl Fn(F, F, F) -> F) {
    let a = cols_args(Some(out), x, &[m.len(), k.len()]);
    for i in 0..a.rows {
        for j in 0..a.width {
            let o = i as isize;
            // SAFETY: `i < rows`, `j < width`: in the block (`cols_args`).
            unsafe {
                let v = *a.x.offset(o * a.sx).add(j);
                *a.out.offset(o * a.so).add(j) = f(v, m[j], k[j]);
            }
        }
    }
}

/// `out[i][j] = exp(z) * k[j]` (see [`Kernels::cols_exp_times`]).
pub fn cols_exp_times<F: Real>(
    out: LanesMut<F>,
    x: Lanes<F>,
    m: &[F],
    scaling: Scaling<F>,
    k: &[F],
) {
    cols_map(out, x, m, k, |v, m, k| scaling.apply(v, m).exp() * k)
}

/// `out[i][j] = z - k[j]` (see [`Kernels::cols_minus`]).
pub fn cols_minus<F: Real>(out: LanesMut<F>, x: Lanes<F>, m: &[F], scaling: Scaling<F>, k: &[F]) {
    cols_map(out, x, m, k, |v, m, k| scaling.apply(v, m) - k)
}
