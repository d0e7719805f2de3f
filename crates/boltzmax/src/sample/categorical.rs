//! The inverse-CDF sampler: one O(n) setup, O(log n) draws.

use rand::Rng;
use rand::distr::Distribution;

use super::check::diagnose;
use super::rng::uniform;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::real::Real;
use crate::softmax::{softmax_into, softmax_masked_into};

/// A categorical distribution over `0..n`, sampled by inverting its
/// cumulative distribution function.
///
/// Built from logits and [`Params`] (temperature or beta) with the core
/// softmax, so it gives exactly the probabilities [`crate::softmax_with`]
/// gives; the cumulative sums are kept in `f64` for both precisions.
/// Each draw takes one `u64` from the generator, turns it into `u` in
/// (0, 1) with [`super::open01`], and returns the first index whose
/// cumulative sum exceeds `u * total`, by binary search: entries of
/// probability 0 are never drawn.
///
/// The constructor validates (never a NaN draw later): an empty row, a NaN
/// logit, a row whose every entry is -inf or masked, and two or more +inf
/// logits are errors. One +inf logit is drawn every time. With `beta = 0`
/// every kept entry is equally likely, whatever its logit, as in
/// [`crate::softmax_with`].
///
/// Value stability: for a given generator state and logits, the draws are
/// fixed across platforms and boltzmax 0.x releases (pinned in
/// `tests/sample_stability.rs`), up to the last-bit differences between
/// SIMD and scalar `exp`, which can move a draw only when `u` falls within
/// rounding of a cumulative boundary.
///
/// ```
/// use boltzmax::Params;
/// use boltzmax::sample::{Categorical, stream_rng};
/// use rand::distr::Distribution;
///
/// let c = Categorical::new(&[1.0_f32, 2.0, 3.0], &Params::temperature(0.5).unwrap()).unwrap();
/// let mut rng = stream_rng(7, 0);
/// let draws: Vec<usize> = c.sample_iter(&mut rng).take(5).collect();
/// assert!(draws.iter().all(|&i| i < 3));
///
/// assert!(Categorical::new(&[f64::NEG_INFINITY; 2], &Params::default()).is_err());
/// assert!(Categorical::new(&[0.0, f64::NAN], &Params::default()).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Categorical {
    /// Running sums of the probabilities, in f64.
    cdf: Vec<f64>,
    /// The last index with a positive probability: the answer when
    /// `u * total` rounds up to `total`.
    last: usize,
}

impl Categorical {
    /// The distribution `softmax(logits / T)` (or `softmax(beta logits)`).
    pub fn new<F: Real>(logits: &[F], params: &Params<F>) -> Result<Self> {
        let mut p = vec![F::ZERO; logits.len()];
        softmax_into(&mut p, logits, params)?;
        Self::from_softmax(&p).ok_or_else(|| diagnose(logits, None, params.scale.scaling()))
    }

    /// The distribution `softmax` over the entries where `mask` is true;
    /// masked-out entries are never drawn, whatever they hold.
    pub fn new_masked<F: Real>(logits: &[F], mask: &[bool], params: &Params<F>) -> Result<Self> {
        let mut p = vec![F::ZERO; logits.len()];
        softmax_masked_into(&mut p, logits, mask, params)?;
        Self::from_softmax(&p).ok_or_else(|| diagnose(logits, Some(mask), params.scale.scaling()))
    }

    /// The distribution proportional to nonnegative finite `weights` (not
    /// necessarily normalised), for callers that already hold
    /// probabilities.
    ///
    /// ```
    /// use boltzmax::sample::Categorical;
    /// assert!(Categorical::from_weights(&[0.2, 0.0, 0.8]).is_ok());
    /// assert!(Categorical::from_weights(&[0.0, 0.0]).is_err());
    /// assert!(Categorical::from_weights(&[1.0, -0.5]).is_err());
    /// ```
    pub fn from_weights(weights: &[f64]) -> Result<Self> {
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::InvalidParameter {
                name: "weights",
                reason: format!("weight {i} is {w}; weights must be finite and >= 0"),
            });
        }
        // Scaled by the largest weight so that the running sum cannot
        // overflow.
        let max = weights.iter().copied().fold(0.0, f64::max);
        let scaled: Vec<f64> = weights.iter().map(|w| w / max).collect();
        Self::from_softmax(&scaled).ok_or_else(|| Error::NothingToSample {
            reason: if weights.is_empty() {
                "the row is empty".into()
            } else {
                "every weight is 0".into()
            },
        })
    }

    /// Running sums of `p`; `None` when a NaN or no positive mass is found.
    fn from_softmax<F: Real>(p: &[F]) -> Option<Self> {
        let mut cdf = Vec::with_capacity(p.len());
        let mut acc = 0.0f64;
        let mut last = None;
        for (i, &q) in p.iter().enumerate() {
            let q = q.to_f64();
            if q.is_nan() {
                return None;
            }
            if q > 0.0 {
                last = Some(i);
            }
            acc += q;
            cdf.push(acc);
        }
        // `acc > 0` whenever `last` is set (a positive term was added).
        last.map(|last| Categorical { cdf, last })
    }

    /// From weights the caller guarantees finite, >= 0, with a positive
    /// sum that does not overflow (the chain's `exp(z - max) <= 1`).
    pub(crate) fn from_valid_weights(w: &[f64]) -> Self {
        Self::from_softmax(w).expect("valid weights")
    }

    /// Number of categories (including those of probability 0).
    pub fn len(&self) -> usize {
        self.cdf.len()
    }

    /// Always false: a validated distribution has a category.
    pub fn is_empty(&self) -> bool {
        self.cdf.is_empty()
    }

    /// The probability of each category, as the sampler sees it
    /// (differences of the normalised running sums).
    pub fn probabilities(&self) -> Vec<f64> {
        let total = self.cdf[self.cdf.len() - 1];
        let mut prev = 0.0;
        self.cdf
            .iter()
            .map(|&c| {
                let p = (c - prev) / total;
                prev = c;
                p
            })
            .collect()
    }

    /// The index for a uniform `u` in (0, 1): the first category whose
    /// running sum exceeds `u * total`.
    #[inline]
    pub fn invert(&self, u: f64) -> usize {
        let target = u * self.cdf[self.cdf.len() - 1];
        let i = self.cdf.partition_point(|&c| c <= target);
        i.min(self.last)
    }
}

impl Distribution<usize> for Categorical {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        self.invert(uniform(rng))
    }
}
