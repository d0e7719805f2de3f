//! The mean softmax cross-entropy of a batch of logits and its gradient,
//! fused in one pass per row.
//!
//! (The core's `boltzmax::backward::softmax_cross_entropy` is the public
//! face of this computation; this private copy keeps classification
//! working while that lands, and gives the same numbers: per row
//! `log_softmax`, loss `-log p_y`, gradient `(p - onehot(y)) / n`.)

use crate::error::Result;
use crate::params::Params;
use crate::softmax::log_softmax_into;

/// Mean over rows of `-log softmax(z_i)_{y_i}`; with `grad`, `z` is
/// overwritten with the gradient of that mean with respect to `z`.
/// Labels must already be checked to lie in `0..k`.
pub(crate) fn softmax_cross_entropy_mean(
    z: &mut [f64],
    labels: &[usize],
    k: usize,
    grad: bool,
) -> Result<f64> {
    let n = labels.len();
    let inv_n = 1.0 / n as f64;
    let params = Params::default();
    let mut lsm = vec![0.0; k];
    let mut loss = 0.0;
    for (zi, &y) in z.chunks_exact_mut(k).zip(labels) {
        log_softmax_into(&mut lsm, zi, &params)?;
        loss -= lsm[y];
        if grad {
            for (g, l) in zi.iter_mut().zip(&lsm) {
                *g = l.exp() * inv_n;
            }
            zi[y] -= inv_n;
        }
    }
    Ok(loss * inv_n)
}
