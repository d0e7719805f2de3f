//! Vose's alias method: O(n) setup, O(1) draws from one fixed distribution.

use rand::Rng;
use rand::distr::Distribution;

use super::check::diagnose;
use crate::error::{Error, Result};
use crate::params::Params;
use crate::real::Real;
use crate::softmax::softmax_into;

/// An alias table (Walker 1977, with Vose's 1991 numerically stable
/// construction) for many draws from one categorical distribution.
///
/// A draw takes one `u64` `x` from the generator: the column is the high
/// word of the 128-bit product `x * n` (Lemire's multiply-shift, no
/// division), and the low word is the coin that chooses between the
/// column and its alias, compared with the column's threshold stored as a
/// 64-bit fixed-point number. Both steps are exact up to 2^-64 per
/// column and `n * 2^-64` overall, far below any statistical test.
/// Entries of probability 0 are never drawn.
///
/// Value stability: for a given generator state and table the draw is
/// fixed across platforms and boltzmax 0.x releases (pinned in
/// `tests/sample_stability.rs`).
///
/// ```
/// use boltzmax::Params;
/// use boltzmax::sample::{AliasTable, stream_rng};
/// use rand::distr::Distribution;
///
/// let table = AliasTable::new(&[0.0_f64, 1.0, 2.0], &Params::default()).unwrap();
/// let mut rng = stream_rng(3, 0);
/// let counts = table.sample_iter(&mut rng).take(1000).fold([0; 3], |mut c, i| { c[i] += 1; c });
/// assert!(counts[2] > counts[1] && counts[1] > counts[0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AliasTable {
    /// Column `i` returns `i` when the coin is below `threshold[i]`.
    threshold: Vec<u64>,
    /// ... and `alias[i]` otherwise.
    alias: Vec<u32>,
}

impl AliasTable {
    /// The table for `softmax(logits / T)`; validates as
    /// [`super::Categorical::new`] does.
    pub fn new<F: Real>(logits: &[F], params: &Params<F>) -> Result<Self> {
        let mut p = vec![F::ZERO; logits.len()];
        softmax_into(&mut p, logits, params)?;
        if p.iter().any(|q| q.is_nan()) || p.is_empty() {
            return Err(diagnose(logits, None, params.scale.scaling()));
        }
        let w: Vec<f64> = p.iter().map(|q| q.to_f64()).collect();
        Self::from_weights(&w)
    }

    /// The table for weights proportional to nonnegative finite `weights`.
    pub fn from_weights(weights: &[f64]) -> Result<Self> {
        let n = weights.len();
        if n > u32::MAX as usize {
            return Err(Error::InvalidParameter {
                name: "weights",
                reason: format!("{n} entries; at most 2^32 - 1 are supported"),
            });
        }
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
        // Scaled by the largest weight first so that the sum cannot
        // overflow (it is at most n).
        let max = weights.iter().copied().fold(0.0, f64::max);
        if max == 0.0 {
            return Err(Error::NothingToSample {
                reason: if n == 0 {
                    "the row is empty".into()
                } else {
                    "every weight is 0".into()
                },
            });
        }
        // Scaled so that the average column holds exactly 1.
        let total: f64 = weights.iter().map(|w| w / max).sum();
        let mut q: Vec<f64> = weights.iter().map(|w| w / max / total * n as f64).collect();
        let mut small = Vec::new();
        let mut large = Vec::new();
        for (i, &v) in q.iter().enumerate() {
            if v < 1.0 {
                small.push(i as u32);
            } else {
                large.push(i as u32);
            }
        }
        let mut threshold = vec![u64::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            let (s, l) = (s as usize, l as usize);
            threshold[s] = to_fixed(q[s]);
            alias[s] = l as u32;
            // Vose: subtract what `s` borrowed as (q_l + q_s) - 1, which
            // keeps the error from accumulating.
            q[l] = (q[l] + q[s]) - 1.0;
            if q[l] < 1.0 {
                large.pop();
                small.push(l as u32);
            }
        }
        // What is left holds 1 up to rounding: full columns (threshold
        // MAX and alias = itself, so the coin cannot matter).
        Ok(AliasTable { threshold, alias })
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.alias.len()
    }

    /// Always false: a validated table has a category.
    pub fn is_empty(&self) -> bool {
        self.alias.is_empty()
    }

    /// The probability of each category as the table encodes it (for
    /// checks: it matches the input within about 1e-15 per entry).
    pub fn probabilities(&self) -> Vec<f64> {
        let n = self.len();
        let mut p = vec![0.0; n];
        let scale = 2f64.powi(-64) / n as f64;
        for (i, (&t, &a)) in self.threshold.iter().zip(&self.alias).enumerate() {
            let keep = if t == u64::MAX && a as usize == i {
                1.0 / n as f64
            } else {
                t as f64 * scale
            };
            p[i] += keep;
            p[a as usize] += 1.0 / n as f64 - keep;
        }
        p
    }
}

/// `v` in [0, 1] as a 64-bit fixed-point threshold (`v * 2^64`, saturating).
fn to_fixed(v: f64) -> u64 {
    let t = v.clamp(0.0, 1.0) * 18_446_744_073_709_551_616.0;
    if t >= 18_446_744_073_709_551_615.0 {
        u64::MAX
    } else {
        t as u64
    }
}

impl Distribution<usize> for AliasTable {
    #[inline]
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let x = rng.next_u64();
        let prod = x as u128 * self.alias.len() as u128;
        let col = (prod >> 64) as usize;
        let coin = prod as u64;
        // SAFETY-free: `col < n` because `x < 2^64`.
        if coin < self.threshold[col] {
            col
        } else {
            self.alias[col] as usize
        }
    }
}
