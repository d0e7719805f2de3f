//! The exponential race: the first of independent exponential clocks.

use rand::Rng;

use super::check::diagnose;
use super::rng::exponential;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::real::Real;
use crate::softmax::softmax_into;

/// One draw from `softmax(logits / T)` as the winner of an exponential
/// race: entry `i` finishes at `E_i / p_i` with `E_i` standard exponential,
/// and the first to finish is a draw with probability `p_i` (the minimum
/// of independent exponentials). Equivalent in law to
/// [`super::gumbel_max`] (`-ln E_i` is Gumbel), but it works on
/// probabilities, so it is the form to use where they are at hand
/// ([`exponential_race_weights`]), and its clocks generalise to sampling
/// without replacement (the k first finishers).
///
/// The probabilities come from the core softmax; validation as
/// [`super::Categorical::new`]. Randomness: one `u64` per entry, in index
/// order (entries of probability 0 consume theirs and never win). Exact
/// ties of finishing times go to the lowest index.
///
/// ```
/// use boltzmax::Params;
/// use boltzmax::sample::{exponential_race, stream_rng};
/// let mut rng = stream_rng(5, 0);
/// let i = exponential_race(&[0.0_f32, 1.0, f32::NEG_INFINITY], &Params::default(), &mut rng).unwrap();
/// assert!(i < 2);
/// ```
pub fn exponential_race<F: Real, R: Rng + ?Sized>(
    logits: &[F],
    params: &Params<F>,
    rng: &mut R,
) -> Result<usize> {
    let mut p = vec![F::ZERO; logits.len()];
    softmax_into(&mut p, logits, params)?;
    if p.is_empty() || p.iter().any(|q| q.is_nan()) {
        return Err(diagnose(logits, None, params.scale.scaling()));
    }
    Ok(race(p.iter().map(|q| q.to_f64()), rng).expect("softmax has positive mass"))
}

/// [`exponential_race`] on nonnegative finite weights (not necessarily
/// normalised).
///
/// ```
/// use boltzmax::sample::{exponential_race_weights, stream_rng};
/// let mut rng = stream_rng(5, 0);
/// assert_eq!(exponential_race_weights(&[0.0, 2.0, 0.0], &mut rng), Ok(1));
/// assert!(exponential_race_weights(&[0.0, 0.0], &mut rng).is_err());
/// ```
pub fn exponential_race_weights<R: Rng + ?Sized>(weights: &[f64], rng: &mut R) -> Result<usize> {
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
    race(weights.iter().copied(), rng).ok_or_else(|| Error::NothingToSample {
        reason: if weights.is_empty() {
            "the row is empty".into()
        } else {
            "every weight is 0".into()
        },
    })
}

fn race<R: Rng + ?Sized>(w: impl Iterator<Item = f64>, rng: &mut R) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, wi) in w.enumerate() {
        let e = exponential(rng);
        if wi > 0.0 {
            let t = e / wi;
            if best.is_none_or(|(_, b)| t < b) {
                best = Some((i, t));
            }
        }
    }
    best.map(|(i, _)| i)
}
