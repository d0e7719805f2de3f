//! Backward passes: vector-Jacobian products of softmax and log-softmax,
//! and the fused softmax cross-entropy.
//!
//! - [`softmax_vjp_into`]: given the softmax output `y` and an upstream
//!   gradient `g`, `dx = y * (g - <g, y>)` (times `1/T` or `beta`).
//! - [`log_softmax_vjp_into`]: given the log-softmax output `l` and `g`,
//!   `dx = g - exp(l) * sum(g)` (times `1/T` or `beta`).
//! - [`softmax_cross_entropy`]: mean cross-entropy of row-major logits
//!   against integer labels, with torch's label smoothing and ignore-index,
//!   and its gradient with respect to the logits, in one call.
//!
//! The reductions (`<g, y>`, `sum(g)`, the loss) are accumulated in `f64`
//! whatever the element type, and every `f32` result is rounded once.
//!
//! ```
//! use boltzmax::backward::{softmax_cross_entropy, CrossEntropyOptions};
//! // Two rows of three classes.
//! let logits = [2.0_f64, 0.0, 0.0, 0.0, 0.0, 0.0];
//! let mut grad = [0.0; 6];
//! let loss = softmax_cross_entropy(&logits, &[0, 2], 3, &CrossEntropyOptions::default(), Some(&mut grad)).unwrap();
//! let l0 = (2f64.exp() + 2.0).ln() - 2.0;
//! let l1 = 3f64.ln();
//! assert!((loss - (l0 + l1) / 2.0).abs() < 1e-15);
//! // The gradient of each row sums to zero.
//! assert!(grad[..3].iter().sum::<f64>().abs() < 1e-16);
//! ```

use crate::error::{Error, Result};
use crate::kernel::Scaling;
use crate::params::Params;
use crate::real::Real;
use crate::softmax::{log_softmax_into_using, softmax_into_using};

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<()> {
    if got == expected {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            got,
            expected,
        })
    }
}

/// Multiplies a derivative with respect to the scaled logits by the chain
/// rule factor `1/T` or `beta` (divided, never `1/T` precomputed, so a
/// subnormal T does not overflow early).
#[inline(always)]
fn chain<F: Real>(scaling: Scaling<F>, v: f64) -> f64 {
    match scaling {
        Scaling::One => v,
        Scaling::Div(t) => v / t.to_f64(),
        Scaling::Mul(b) => v * b.to_f64(),
        Scaling::Uniform => 0.0 * v,
    }
}

fn dot<F: Real>(a: &[F], b: &[F]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&u, &v)| u.to_f64() * v.to_f64())
        .sum()
}

/// Vector-Jacobian product of softmax at temperature 1:
/// `dx = y * (g - <g, y>)`, where `y = softmax(x)` and `g = dL/dy`.
///
/// ```
/// let y = boltzmax::softmax(&[1.0_f64, 2.0, 3.0]);
/// let dx = boltzmax::backward::softmax_vjp(&y, &[1.0, 0.0, 0.0]).unwrap();
/// // d y_0 / d x_j = y_0 (delta_0j - y_j)
/// assert!((dx[0] - y[0] * (1.0 - y[0])).abs() < 1e-16);
/// assert!((dx[1] + y[0] * y[1]).abs() < 1e-16);
/// ```
pub fn softmax_vjp<F: Real>(y: &[F], g: &[F]) -> Result<Vec<F>> {
    let mut out = vec![F::ZERO; y.len()];
    softmax_vjp_into(&mut out, y, g, &Params::default())?;
    Ok(out)
}

/// Vector-Jacobian product of `y = softmax_with(x, params)` into `out`:
/// `dx = scale * y * (g - <g, y>)` with `scale = 1/T` or `beta`.
///
/// Entries where `y` is 0 (masked out, or underflowed) get 0 for any
/// finite `g`; a NaN in `y` or `g` propagates.
pub fn softmax_vjp_into<F: Real>(
    out: &mut [F],
    y: &[F],
    g: &[F],
    params: &Params<F>,
) -> Result<()> {
    check_len("out", out.len(), y.len())?;
    check_len("g", g.len(), y.len())?;
    let scaling = params.scale.scaling();
    let d = dot(y, g);
    for ((o, &yi), &gi) in out.iter_mut().zip(y).zip(g) {
        *o = F::from_f64(chain(scaling, yi.to_f64() * (gi.to_f64() - d)));
    }
    Ok(())
}

/// [`softmax_vjp_into`] overwriting the upstream gradient `g` with `dx`.
pub fn softmax_vjp_in_place<F: Real>(g: &mut [F], y: &[F], params: &Params<F>) -> Result<()> {
    check_len("g", g.len(), y.len())?;
    let scaling = params.scale.scaling();
    let d = dot(y, g);
    for (gi, &yi) in g.iter_mut().zip(y) {
        *gi = F::from_f64(chain(scaling, yi.to_f64() * (gi.to_f64() - d)));
    }
    Ok(())
}

/// Vector-Jacobian product of log-softmax at temperature 1:
/// `dx = g - exp(l) * sum(g)`, where `l = log_softmax(x)` and `g = dL/dl`.
///
/// Working from the log-softmax output keeps tiny probabilities exact
/// (`exp(l)` is recomputed, not read from a rounded softmax).
///
/// ```
/// let l = boltzmax::log_softmax(&[0.0_f64, 0.0]);
/// let dx = boltzmax::backward::log_softmax_vjp(&l, &[1.0, 0.0]).unwrap();
/// assert_eq!(dx, vec![0.5, -0.5]);
/// ```
pub fn log_softmax_vjp<F: Real>(l: &[F], g: &[F]) -> Result<Vec<F>> {
    let mut out = vec![F::ZERO; l.len()];
    log_softmax_vjp_into(&mut out, l, g, &Params::default())?;
    Ok(out)
}

/// Vector-Jacobian product of `l = log_softmax_with(x, params)` into
/// `out`: `dx = scale * (g - exp(l) * sum(g))`, `scale = 1/T` or `beta`.
///
/// At an entry with `l = -inf` (a -inf logit, or masked out) this gives
/// `scale * g`, the derivative of `x - logsumexp(x)` there; a caller that
/// masked entries out and wants no gradient there sets `g` to 0 there.
pub fn log_softmax_vjp_into<F: Real>(
    out: &mut [F],
    l: &[F],
    g: &[F],
    params: &Params<F>,
) -> Result<()> {
    check_len("out", out.len(), l.len())?;
    check_len("g", g.len(), l.len())?;
    let scaling = params.scale.scaling();
    let s: f64 = g.iter().map(|v| v.to_f64()).sum();
    for ((o, &li), &gi) in out.iter_mut().zip(l).zip(g) {
        *o = F::from_f64(chain(scaling, gi.to_f64() - li.to_f64().exp() * s));
    }
    Ok(())
}

/// [`log_softmax_vjp_into`] overwriting the upstream gradient `g` with `dx`.
pub fn log_softmax_vjp_in_place<F: Real>(g: &mut [F], l: &[F], params: &Params<F>) -> Result<()> {
    check_len("g", g.len(), l.len())?;
    let scaling = params.scale.scaling();
    let s: f64 = g.iter().map(|v| v.to_f64()).sum();
    for (gi, &li) in g.iter_mut().zip(l) {
        *gi = F::from_f64(chain(scaling, gi.to_f64() - li.to_f64().exp() * s));
    }
    Ok(())
}

/// Options of [`softmax_cross_entropy`] (torch semantics).
#[derive(Debug, Clone, Copy, Default)]
pub struct CrossEntropyOptions {
    /// `eps` in `[0, 1]`: the target is `(1 - eps) * onehot(label) + eps / k`.
    pub label_smoothing: f64,
    /// Rows whose label equals this contribute no loss and no gradient,
    /// and are not counted in the mean.
    pub ignore_index: Option<usize>,
}

/// Mean cross-entropy over the rows whose label is not ignored, of row-major logits (n x k),
/// and (if grad is Some, same length as logits) the gradient of that mean with respect to the logits,
/// in one pass per row. Errors: lengths, label >= k (naming the row and value), smoothing outside `[0, 1]`.
///
/// Row `r` with label `y` and target `q = (1 - eps) onehot(y) + eps / k`
/// contributes `-sum_j q_j log_softmax(x)_j
/// = (1 - eps) (lse - x_y) + eps (lse - mean_j x_j)`, computed as
/// `(m - x_y) + log1p(s)` with `m` the row's maximum and
/// `s = sum over j != argmax of exp(x_j - m)` (no cancellation between
/// `lse` and `x_y`), accumulated in `f64`. Its gradient is
/// `(softmax(x) - q) / n_valid`.
///
/// Answers at the edges (follow the convention table of
/// [`crate::softmax`](mod@crate::softmax)):
/// - every row ignored, or `n = 0`: the loss is NaN (0/0, as torch) and
///   the gradient is all zeros (no row contributes);
/// - ignored rows: gradient rows of zeros;
/// - a row holding NaN: NaN loss and NaN gradient row;
/// - a row with exactly one +inf: loss 0 if it is at the label (with
///   `eps = 0`), +inf otherwise; two or more +inf, or all -inf: NaN;
/// - a -inf logit at the label: loss +inf; with `eps > 0` any -inf logit
///   gives +inf (its target mass is `eps / k > 0`).
///
/// ```
/// use boltzmax::backward::{softmax_cross_entropy, CrossEntropyOptions};
/// let opts = CrossEntropyOptions { label_smoothing: 0.1, ignore_index: Some(7) };
/// let logits = [0.0_f32, 0.0, 5.0, 1.0];
/// let mut grad = [0.0_f32; 4];
/// // The second row is ignored: the mean is over the first row only.
/// let loss = softmax_cross_entropy(&logits, &[1, 7], 2, &opts, Some(&mut grad)).unwrap();
/// assert!((loss - 2f64.ln()).abs() < 1e-7);
/// assert_eq!(&grad[2..], &[0.0, 0.0]);
/// assert!(softmax_cross_entropy(&logits, &[1, 2], 2, &opts, None).is_err());
/// ```
pub fn softmax_cross_entropy<F: Real>(
    logits: &[F],
    labels: &[usize],
    k: usize,
    opts: &CrossEntropyOptions,
    grad: Option<&mut [F]>,
) -> Result<f64> {
    let n_valid = validate(logits.len(), labels, k, opts)?;
    let mut grad = grad;
    if let Some(g) = grad.as_deref() {
        check_len("grad", g.len(), logits.len())?;
    }
    let ignored = |y: usize| opts.ignore_index == Some(y);
    if n_valid == 0 {
        if let Some(g) = grad {
            g.fill(F::ZERO);
        }
        return Ok(f64::NAN);
    }
    let kernels = F::kernels();
    let nv = n_valid as f64;
    let eps = opts.label_smoothing;
    let mut total = 0.0f64;
    for (r, &label) in labels.iter().enumerate() {
        let x = &logits[r * k..(r + 1) * k];
        let g_row = grad.as_deref_mut().map(|g| &mut g[r * k..(r + 1) * k]);
        if ignored(label) {
            if let Some(g) = g_row {
                g.fill(F::ZERO);
            }
            continue;
        }
        let Some(row) = RowStats::of(x, label, eps) else {
            // NaN, +inf or an all -inf row: follow the convention table.
            total += irregular_row(x, label, eps, g_row, nv);
            continue;
        };
        total += row.loss;
        if let Some(g) = g_row {
            // softmax / n_valid in one kernel pass, then subtract q / n_valid.
            (kernels.exp_store)(g, x, row.m, Scaling::One, (1.0 + row.s) * nv);
            row.finish_grad(g, label, eps, nv);
        }
    }
    Ok(total / nv)
}

/// [`softmax_cross_entropy`] that overwrites the logits with the gradient
/// (of the mean loss), for training loops that no longer need them: the
/// same loss, and a gradient bit for bit equal to the one written to a
/// separate buffer.
///
/// ```
/// use boltzmax::backward::{softmax_cross_entropy_in_place, CrossEntropyOptions};
/// let mut z = [0.0_f64, 0.0];
/// let loss = softmax_cross_entropy_in_place(&mut z, &[1], 2, &CrossEntropyOptions::default()).unwrap();
/// assert_eq!(loss, 2f64.ln());
/// assert_eq!(z, [0.5, -0.5]);
/// ```
pub fn softmax_cross_entropy_in_place<F: Real>(
    logits: &mut [F],
    labels: &[usize],
    k: usize,
    opts: &CrossEntropyOptions,
) -> Result<f64> {
    let n_valid = validate(logits.len(), labels, k, opts)?;
    if n_valid == 0 {
        logits.fill(F::ZERO);
        return Ok(f64::NAN);
    }
    let kernels = F::kernels();
    let nv = n_valid as f64;
    let eps = opts.label_smoothing;
    let mut total = 0.0f64;
    for (r, &label) in labels.iter().enumerate() {
        let x = &mut logits[r * k..(r + 1) * k];
        if opts.ignore_index == Some(label) {
            x.fill(F::ZERO);
            continue;
        }
        let Some(row) = RowStats::of(x, label, eps) else {
            let copy = x.to_vec();
            total += irregular_row(&copy, label, eps, Some(x), nv);
            continue;
        };
        total += row.loss;
        (kernels.exp_store_in_place)(x, row.m, Scaling::One, (1.0 + row.s) * nv);
        row.finish_grad(x, label, eps, nv);
    }
    Ok(total / nv)
}

/// Checks lengths, smoothing and labels; returns the number of rows not
/// ignored.
fn validate(len: usize, labels: &[usize], k: usize, opts: &CrossEntropyOptions) -> Result<usize> {
    let n = labels.len();
    let expected = n.checked_mul(k).ok_or(Error::LengthMismatch {
        what: "logits",
        got: len,
        expected: usize::MAX,
    })?;
    check_len("logits", len, expected)?;
    let eps = opts.label_smoothing;
    if !(0.0..=1.0).contains(&eps) {
        return Err(Error::InvalidParameter {
            name: "label_smoothing",
            reason: format!("must be in [0, 1], got {eps}"),
        });
    }
    let ignored = |y: usize| opts.ignore_index == Some(y);
    for (row, &label) in labels.iter().enumerate() {
        if !ignored(label) && label >= k {
            return Err(Error::LabelOutOfRange {
                row,
                label,
                classes: k,
            });
        }
    }
    Ok(labels.iter().filter(|&&y| !ignored(y)).count())
}

/// What a regular row (finite maximum) contributes, computed before its
/// gradient is written (possibly over the logits themselves).
struct RowStats<F> {
    m: F,
    /// `s = sum over j != argmax of exp(x_j - m)`.
    s: f64,
    loss: f64,
    /// `p_y - 1` at the label, without cancellation.
    p_minus_1: f64,
}

impl<F: Real> RowStats<F> {
    fn of(x: &[F], label: usize, eps: f64) -> Option<Self> {
        let kernels = F::kernels();
        let m = (kernels.max)(x);
        if !m.is_finite() {
            return None;
        }
        let e = (kernels.exp_sum)(x, m, Scaling::One);
        let s = e.rest();
        let log1p_s = s.ln_1p();
        let mf = m.to_f64();
        let mut loss = (1.0 - eps) * ((mf - x[label].to_f64()) + log1p_s);
        if eps > 0.0 {
            // Mean of m - x_j: a sum of non-negative terms.
            let gap: f64 = x.iter().map(|&v| mf - v.to_f64()).sum::<f64>() / x.len() as f64;
            loss += eps * (gap + log1p_s);
        }
        // At the label, p_y - 1 cancels when p_y is near 1 (the label is
        // the only maximum): use 1 - p_y = s / (1 + s) there.
        let p_minus_1 = if x[label] == m && e.ties == 1 {
            -s / (1.0 + s)
        } else {
            (x[label] - m).exp().to_f64() / (1.0 + s) - 1.0
        };
        Some(RowStats {
            m,
            s,
            loss,
            p_minus_1,
        })
    }

    /// `g` holds `softmax / n_valid`; subtracts `q / n_valid`.
    fn finish_grad(&self, g: &mut [F], label: usize, eps: f64, nv: f64) {
        let smooth = eps / g.len() as f64;
        if eps > 0.0 {
            for gj in g.iter_mut() {
                *gj = F::from_f64(gj.to_f64() - smooth / nv);
            }
        }
        g[label] = F::from_f64((self.p_minus_1 + eps - smooth) / nv);
    }
}

/// `g_j -= q_j / n_valid`, rounded once per entry.
fn subtract_target<F: Real>(g: &mut [F], label: usize, eps: f64, smooth: f64, nv: f64) {
    if eps > 0.0 {
        for (j, gj) in g.iter_mut().enumerate() {
            let q = if j == label {
                1.0 - eps + smooth
            } else {
                smooth
            };
            *gj = F::from_f64(gj.to_f64() - q / nv);
        }
    } else {
        g[label] = F::from_f64(g[label].to_f64() - 1.0 / nv);
    }
}

/// A row whose maximum is not finite: loss `-sum_j q_j log_softmax_j`
/// with `q_j = 0` terms skipped, gradient `(softmax - q) / n_valid`, both
/// from the convention table.
fn irregular_row<F: Real>(x: &[F], label: usize, eps: f64, g: Option<&mut [F]>, nv: f64) -> f64 {
    let k = x.len();
    let smooth = eps / k as f64;
    let p = Params::default();
    let mut l = vec![F::ZERO; k];
    log_softmax_into_using(F::kernels(), &mut l, x, &p).expect("lengths match");
    let mut loss = 0.0;
    for (j, &lj) in l.iter().enumerate() {
        let q = if j == label {
            1.0 - eps + smooth
        } else {
            smooth
        };
        if q != 0.0 {
            loss -= q * lj.to_f64();
        }
    }
    if let Some(g) = g {
        softmax_into_using(F::kernels(), g, x, &p).expect("lengths match");
        for gj in g.iter_mut() {
            *gj = F::from_f64(gj.to_f64() / nv);
        }
        subtract_target(g, label, eps, smooth, nv);
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vjp_scaling_by_temperature() {
        let x = [0.3_f64, -1.0, 2.0];
        let p = Params::temperature(0.5).unwrap();
        let y = crate::softmax_with(&x, &p);
        let g = [1.0, 2.0, -1.0];
        let mut dx = [0.0; 3];
        softmax_vjp_into(&mut dx, &y, &g, &p).unwrap();
        let d: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
        for ((dxi, yi), gi) in dx.iter().zip(&y).zip(&g) {
            assert!((dxi - yi * (gi - d) / 0.5).abs() < 1e-15);
        }
        let mut gi = g;
        softmax_vjp_in_place(&mut gi, &y, &p).unwrap();
        assert_eq!(gi, dx);
    }
}
