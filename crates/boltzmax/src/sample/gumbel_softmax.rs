//! Gumbel-softmax (the Concrete distribution): a differentiable relaxation
//! of a categorical draw, with the straight-through hard option.

use rand::Rng;

use super::check::diagnose;
use super::rng::gumbel;
use crate::backward::softmax_vjp_into;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::real::Real;
use crate::softmax::softmax_into;

/// One Gumbel-softmax sample (Jang, Gu and Poole 2017; Maddison, Mnih and
/// Teh 2017): `y = softmax((logits + g) / tau)` with `g_i` standard Gumbel
/// noise, kept for the backward pass.
///
/// `argmax y` is an exact draw from `softmax(logits)` at every `tau` (the
/// Gumbel-max trick); `tau` only sets how soft `y` is. With `hard`, the
/// forward output is the one-hot vector of that argmax and the backward
/// pass is the soft one's (the straight-through estimator, as torch's
/// `gumbel_softmax(hard=True)`).
///
/// `tau` must be finite and > 0: `tau = 0` is an error (torch returns
/// NaN), and so are a NaN logit, an empty row, a row of only -inf, and two
/// +inf logits.
///
/// ```
/// use boltzmax::sample::{GumbelSoftmax, stream_rng};
/// let mut rng = stream_rng(8, 0);
/// let s = GumbelSoftmax::sample(&[1.0_f64, 2.0, 0.5], 0.5, true, &mut rng).unwrap();
/// let y = s.output();
/// assert_eq!(y.iter().sum::<f64>(), 1.0);
/// assert_eq!(y[s.index()], 1.0);
/// let dx = s.backward(&[1.0, 0.0, 0.0]).unwrap();
/// assert!(dx.iter().sum::<f64>().abs() < 1e-15);
/// assert!(GumbelSoftmax::sample(&[1.0_f64, 2.0], 0.0, false, &mut rng).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct GumbelSoftmax<F> {
    soft: Vec<F>,
    index: usize,
    params: Params<F>,
    hard: bool,
}

impl<F: Real> GumbelSoftmax<F> {
    /// Draws the noise (one `u64` per logit, in index order, through the
    /// 53-bit open-interval uniform, so no noise is infinite) and runs the
    /// forward pass.
    pub fn sample<R: Rng + ?Sized>(logits: &[F], tau: F, hard: bool, rng: &mut R) -> Result<Self> {
        let noise: Vec<F> = logits.iter().map(|_| F::from_f64(gumbel(rng))).collect();
        Self::with_noise(logits, &noise, tau, hard)
    }

    /// The forward pass for given noise `g` (deterministic: for tests and
    /// for frameworks that draw their own noise).
    pub fn with_noise(logits: &[F], noise: &[F], tau: F, hard: bool) -> Result<Self> {
        if noise.len() != logits.len() {
            return Err(Error::LengthMismatch {
                what: "noise",
                got: noise.len(),
                expected: logits.len(),
            });
        }
        let params = Params::temperature(tau)?;
        if let Some(index) = logits.iter().position(|v| v.is_nan()) {
            return Err(Error::NanLogit { index });
        }
        if let Some(index) = noise.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "noise",
                reason: format!("entry {index} is {}; noise must be finite", noise[index]),
            });
        }
        let z: Vec<F> = logits.iter().zip(noise).map(|(&x, &g)| x + g).collect();
        let mut soft = vec![F::ZERO; z.len()];
        softmax_into(&mut soft, &z, &params)?;
        if soft.is_empty() || soft.iter().any(|v| v.is_nan()) {
            return Err(diagnose(logits, None, params.scale.scaling()));
        }
        // Argmax of the perturbed logits (lowest index among exact ties);
        // the same as argmax of `soft` without its underflow ties.
        let mut index = 0;
        for (i, v) in z.iter().enumerate() {
            if *v > z[index] {
                index = i;
            }
        }
        Ok(GumbelSoftmax {
            soft,
            index,
            params,
            hard,
        })
    }

    /// The relaxed sample `softmax((logits + g) / tau)`.
    pub fn soft(&self) -> &[F] {
        &self.soft
    }

    /// The argmax of the perturbed logits: a draw from `softmax(logits)`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The forward output: one-hot at [`Self::index`] if `hard`, else
    /// [`Self::soft`].
    pub fn output(&self) -> Vec<F> {
        if self.hard {
            let mut y = vec![F::ZERO; self.soft.len()];
            y[self.index] = F::ONE;
            y
        } else {
            self.soft.clone()
        }
    }

    /// The gradient with respect to the logits given `grad = dL/dy`:
    /// `(1/tau) y (grad - <grad, y>)` with `y` the soft sample, for both
    /// the soft and the straight-through hard output.
    pub fn backward(&self, grad: &[F]) -> Result<Vec<F>> {
        let mut dx = vec![F::ZERO; self.soft.len()];
        softmax_vjp_into(&mut dx, &self.soft, grad, &self.params)?;
        Ok(dx)
    }
}
